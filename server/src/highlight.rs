//! Syntax highlighting of code blocks in replies, done on the server so the browser's binary
//! carries no highlighter: a fenced block whose language syntect knows becomes flat spans of a
//! few `hl-` classes (`hl-keyword`, `hl-string`, `hl-comment`, ...), which the stylesheet
//! colours.
//!
//! It only produces markup for `markdown::render`, whose sanitiser then keeps nothing of it but
//! `span`s with `hl-` classes; the code's text is escaped here. Large blocks are left
//! plain (highlighting is linear but not free, and a reply can be megabytes). No I/O: the syntax
//! definitions are compiled into the binary and loaded once, on first use.

use std::sync::LazyLock;

use syntect::easy::ScopeRangeIterator;
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Every highlight class starts with this.
pub const CLASS_PREFIX: &str = "hl-";
/// Blocks longer than this (bytes) stay plain.
const MAX_CODE: usize = 64 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// The few kinds of token the stylesheet colours, by the scope names that mark them (the most
/// specific scope of a token decides). Everything else is plain text: flat spans of a handful
/// of classes keep a highlighted block close to the size of its code.
const KINDS: &[(&str, &str)] = &[
    ("comment", "hl-comment"),
    ("string", "hl-string"),
    ("constant.numeric", "hl-number"),
    ("constant.language", "hl-number"),
    ("constant.character", "hl-string"),
    ("keyword", "hl-keyword"),
    ("storage", "hl-keyword"),
    ("entity.name", "hl-name"),
    ("support", "hl-builtin"),
];

fn kind_of(stack: &ScopeStack) -> Option<&'static str> {
    stack.as_slice().iter().rev().find_map(|scope| {
        let name = scope.build_string();
        KINDS
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|(_, class)| *class)
    })
}

/// The highlighted HTML of `code` written in `language` (a fence's info word: `rust`, `py`,
/// `sh`, ...), or `None` when the language is unknown or the block too large (it is then shown
/// plain). Text is escaped by `app::text::escape_html`; spans are flat and never nest.
pub fn highlight(code: &str, language: &str) -> Option<String> {
    if code.len() > MAX_CODE || language.is_empty() {
        return None;
    }
    let syntax = SYNTAXES.find_syntax_by_token(language)?;
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut out = String::with_capacity(code.len() * 2);
    // The open span's class and its text so far: adjacent tokens of one kind share a span.
    let mut run: (Option<&'static str>, String) = (None, String::new());
    let flush = |out: &mut String, run: &mut (Option<&'static str>, String)| {
        let text = app::text::escape_html(&std::mem::take(&mut run.1));
        match run.0 {
            Some(class) if !text.is_empty() => {
                out.push_str(&format!(r#"<span class="{class}">{text}</span>"#))
            }
            _ => out.push_str(&text),
        }
    };
    for line in LinesWithEndings::from(code) {
        let ops = state.parse_line(line, &SYNTAXES).ok()?;
        for (range, op) in ScopeRangeIterator::new(&ops, line) {
            stack.apply(op).ok()?;
            if range.is_empty() {
                continue;
            }
            let kind = kind_of(&stack);
            if kind != run.0 {
                flush(&mut out, &mut run);
                run.0 = kind;
            }
            run.1.push_str(&line[range]);
        }
    }
    flush(&mut out, &mut run);
    Some(out)
}

/// `class` holds only highlight classes: space-separated `hl-` names of a narrow alphabet.
pub fn is_highlight_class(class: &str) -> bool {
    !class.is_empty()
        && class.split(' ').all(|name| {
            name.strip_prefix(CLASS_PREFIX).is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_become_classed_spans_and_unknown_ones_stay_plain() {
        let html = highlight("fn main() { let x = \"<b>\"; } // done\n", "rust").unwrap();
        assert!(
            html.starts_with(
                r#"<span class="hl-keyword">fn</span> <span class="hl-name">main</span>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="hl-string">&quot;&lt;b&gt;&quot;</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="hl-comment">// done"#),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;"),
            "the code's text is escaped: {html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert_eq!(highlight("x", "no-such-language"), None);
        assert_eq!(highlight(&"x".repeat(MAX_CODE + 1), "rust"), None);
    }

    #[test]
    fn only_prefixed_narrow_class_names_pass() {
        assert!(is_highlight_class("hl-keyword hl-control hl-rust"));
        assert!(!is_highlight_class("hl-keyword evil"));
        assert!(!is_highlight_class("hl-a\"b"));
        assert!(!is_highlight_class(""));
        assert!(!is_highlight_class("hl-"));
    }
}
