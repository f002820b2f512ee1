//! A one-line text field as drawn: a bold label, then the text being typed, escaped and cut to
//! one row around its cursor, and the cursor's column (the session picker's rename line, the
//! search screen's query).
//!
//! It owns only that arithmetic. It must not keep state, read keys or draw anywhere itself (its
//! callers place the line and the cursor), and the text it is given is untrusted: it reaches the
//! line only through `safe_line`.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::markdown::safe_line;

/// The field `label` + `text` with the cursor at byte `cursor`, cut to `width` columns, and the
/// cursor's column in it: the text before the cursor keeps its end (where the cursor is), the
/// text after it its start, whatever the text's length.
pub(super) fn line(
    label: &'static str,
    text: &str,
    cursor: usize,
    width: usize,
) -> (Line<'static>, usize) {
    let view = width.saturating_sub(label.len() + 1).max(1);
    let before = safe_line(&text[..cursor]);
    let mut start = 0;
    while cols(&before[start..]) > view {
        start += before[start..].chars().next().map_or(1, char::len_utf8);
    }
    let shown = &before[start..];
    let col = label.len() + cols(shown);
    let mut rest = width.saturating_sub(col);
    let mut after = String::new();
    for c in safe_line(&text[cursor..]).chars() {
        let w = cols(c.encode_utf8(&mut [0; 4]));
        if w > rest {
            break;
        }
        rest -= w;
        after.push(c);
    }
    let line = Line::from(vec![
        Span::styled(label, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("{shown}{after}")),
    ]);
    (line, col)
}

/// How many terminal columns `text` takes.
fn cols(text: &str) -> usize {
    Span::raw(text).width()
}
