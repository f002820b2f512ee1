//! Text we do not control, on its way into the page: the two functions every such string passes
//! through before it reaches HTML, so a server render and a live browser update show the same
//! characters.
//!
//! Escaping itself is Leptos' job for text nodes and attribute values (it escapes on the server
//! and sets DOM text in the browser). Two things it does not cover live here:
//! - [`for_html`]: the HTML parser changes some characters a DOM text node keeps (NUL is
//!   dropped, CR becomes LF), so a page rendered by the server would differ from the same entry
//!   added live. Normalising before either side sees the text makes them identical.
//! - [`escape_title`]: `leptos_meta` 0.8.7 writes `<Title>` text into `<head>` without escaping
//!   it during SSR (`docs/SECURITY.md`, "Upstream"), so `</title>` in a session name would close
//!   the element and the rest would be live markup. The root `<Title formatter>` applies this on
//!   the server only; the browser sets `document.title`, which takes text as is.
//!
//! - [`escape_html`]: the escape for the few HTML fragments built as strings rather than views.
//!
//! Nothing here makes markup; nothing here is for Markdown, which the server sanitises.

use std::borrow::Cow;

/// The text as an HTML parser would hand it back from a server render: NUL becomes U+FFFD,
/// CR LF and lone CR become LF. Borrowed when nothing changes (the usual case).
pub fn for_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['\0', '\r']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`for_html`], owned: for views that take a `String`.
pub fn html_text(text: String) -> String {
    match for_html(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(normalised) => normalised,
    }
}

/// [`html_text`] for the text directly inside a `<pre>`: an HTML parser drops a line break right
/// after `<pre>`, so the server render doubles a leading one (the browser's live view sets the
/// text itself and keeps it as is).
pub fn pre_text(text: String) -> String {
    let text = html_text(text);
    if cfg!(feature = "ssr") && text.starts_with('\n') {
        format!("\n{text}")
    } else {
        text
    }
}

/// The title text as it must appear between `<title>` and `</title>` in server-rendered HTML:
/// `<title>` holds escapable raw text, so `&` and `<` are escaped (and `>` for readers); the text
/// is normalised as [`for_html`] does first.
pub fn escape_title(text: &str) -> String {
    let text = for_html(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` for HTML built as a string (the few fragments no view renders: the sign-in panel, the
/// server's search results), safe as a text node and inside a quoted attribute value: normalised
/// as [`for_html`] does, then `&`, `<`, `>`, `"` and `'` become character references.
pub fn escape_html(text: &str) -> String {
    let text = for_html(text);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A session's name as every view shows it: trimmed, normalised as [`for_html`] does, and
/// "Untitled session" while it has none yet (it still needs something to click).
pub fn display_title(title: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        "Untitled session".to_owned()
    } else {
        for_html(title).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_turns_markup_and_quotes_into_references() {
        assert_eq!(
            escape_html("<a href=\"x\" onclick='y'>&amp;\0</a>\r\n"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;\u{FFFD}&lt;/a&gt;\n"
        );
        assert_eq!(escape_html("plain ünïcödé"), "plain ünïcödé");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        assert!(matches!(for_html("héllo <b> & \n\t"), Cow::Borrowed(_)));
    }

    #[test]
    fn nul_and_carriage_returns_become_what_a_parser_would_make_of_them() {
        assert_eq!(for_html("a\0b"), "a\u{FFFD}b");
        assert_eq!(for_html("a\r\nb\rc\r"), "a\nb\nc\n");
        assert_eq!(html_text("x\r\r\ny".to_owned()), "x\n\ny");
    }

    #[test]
    fn a_title_cannot_close_its_element() {
        assert_eq!(
            escape_title(r#"</title><meta http-equiv=refresh content="0;url=/pwned">"#),
            r#"&lt;/title&gt;&lt;meta http-equiv=refresh content="0;url=/pwned"&gt;"#
        );
        assert_eq!(escape_title("a & b"), "a &amp; b");
        assert_eq!(escape_title("&lt;"), "&amp;lt;");
    }
}
