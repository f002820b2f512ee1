//! HTML fragments the server builds by hand (not through Leptos): the one escaping step for
//! their text and attribute values. Used for search results (`web::organise`), which the page
//! inserts as they come, so the browser's binary carries no view for them.

/// `text` safe as an HTML text node and inside a double- or single-quoted attribute value:
/// `&`, `<`, `>`, `"` and `'` become character references; NUL becomes U+FFFD, as a parser
/// would make it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_references() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&amp;\0</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;\u{FFFD}&lt;/a&gt;"
        );
        assert_eq!(escape("plain ünïcödé"), "plain ünïcödé");
    }
}
