//! Model-written Markdown to the HTML that the browser shows: must never panic, and whatever the
//! input, the sanitised output has no script-capable element, no event-handler attribute and no
//! `javascript:` URL. (Text is escaped, so every `<` outside a tag opens a real tag; inside a
//! quoted attribute value it does not, which is why tags are parsed rather than split.)
#![no_main]

use libfuzzer_sys::fuzz_target;

const FORBIDDEN_TAGS: [&str; 6] = ["script", "style", "iframe", "object", "embed", "svg"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = codex_webchat::markdown::render(text);
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        rest = check_tag(&rest[open + 1..], &html);
    }
});

/// Checks one tag, given the text after its `<`; returns the text after the tag. html5ever's
/// serializer double-quotes every attribute value and escapes `"` inside it, which is what this
/// small parser relies on.
fn check_tag<'h>(tag: &'h str, html: &str) -> &'h str {
    let tag = tag.trim_start_matches('/');
    let name_end = tag
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let name = tag[..name_end].to_ascii_lowercase();
    assert!(
        !FORBIDDEN_TAGS.contains(&name.as_str()),
        "<{name}> in {html}"
    );
    let mut rest = &tag[name_end..];
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return rest;
        }
        if let Some(after) = rest.strip_prefix('>') {
            return after;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
            .unwrap_or(rest.len());
        if end == 0 {
            // A stray `=` without a name: step over it rather than loop on it.
            rest = &rest[1..];
            continue;
        }
        let attr = rest[..end].to_ascii_lowercase();
        assert!(!attr.starts_with("on"), "event handler {attr} in {html}");
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("=\"") {
            let close = after.find('"').unwrap_or(after.len());
            let value = after[..close].trim().to_ascii_lowercase();
            if matches!(attr.as_str(), "href" | "src" | "action" | "formaction") {
                assert!(
                    !value.starts_with("javascript:"),
                    "javascript: URL in {html}"
                );
            }
            rest = after.get(close + 1..).unwrap_or("");
        }
    }
}
