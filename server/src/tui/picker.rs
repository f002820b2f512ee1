//! The session picker (Ctrl+P): every session, the current one marked, archived ones said so,
//! its keys in its title, and under the list the prompt it shows (the rename line with its
//! cursor, or "Delete <title>? y/n") and the last error (a refused rename or deletion).
//! Drawing only; the selected row and the prompt are `super::picker_state`'s. Titles, the text
//! being typed and errors pass `safe_line` like all text.

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::app::App;
use super::field;
use super::markdown::safe_line;
use super::picker_state::{Picker, Prompt};
use super::style::{dim, fitted_height, overlay};

/// The picker's title: what it is and its keys.
pub(super) const TITLE: &str =
    " Sessions (Enter open · r rename · a archive · d delete · Esc close) ";

const RENAME_LABEL: &str = "Rename: ";

pub(super) fn draw_picker(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(picker) = app.picker() else { return };
    // Wide enough for the title and its keys.
    let width = area.width.min(72);
    let inner_width = width.saturating_sub(2);
    let (footer, cursor) = footer(app, picker, usize::from(inner_width));
    // A long question or error wraps; the rename line is cut to fit one row.
    let footer = Paragraph::new(footer).wrap(Wrap { trim: false });
    let footer_rows = footer.line_count(inner_width);
    let wanted = app.sessions().len().max(1) + footer_rows + 2;
    let height = fitted_height(wanted, area);
    let block = Block::default().borders(Borders::ALL).title(TITLE);
    let inner = overlay(frame, area, width, height, block);
    // The prompt is what is being answered: it keeps its rows, the list gets the rest.
    let footer_height = u16::try_from(footer_rows)
        .unwrap_or(u16::MAX)
        .min(inner.height);
    let [list_area, footer_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(footer_height)]).areas(inner);
    if list_area.height > 0 {
        frame.render_widget(Paragraph::new(list(app, picker, list_area)), list_area);
    }
    frame.render_widget(footer, footer_area);
    if let Some(col) = cursor {
        if footer_area.height > 0 && footer_area.width > 0 {
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            let x = footer_area.x + col.min(footer_area.width - 1);
            frame.set_cursor_position(Position::new(x, footer_area.y));
        }
    }
}

/// The visible rows of the list, scrolled so the selected one shows.
fn list(app: &App, picker: &Picker, area: Rect) -> Vec<Line<'static>> {
    if app.sessions().is_empty() {
        return vec![Line::styled("No sessions yet (Ctrl+N starts one).", dim())];
    }
    let rows = usize::from(area.height.max(1));
    let selected = picker.row();
    let first = selected.saturating_sub(rows - 1);
    app.sessions()
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, s)| {
            let current = app.session() == Some(&s.key);
            let mut style = Style::default();
            if i == selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Line::from(vec![
                Span::styled(if current { "● " } else { "  " }, style),
                Span::styled(safe_line(&s.title), style.add_modifier(Modifier::BOLD)),
                Span::styled(
                    format!(
                        "  {} · {}{}",
                        s.key,
                        s.mode,
                        if s.archived { " · archived" } else { "" }
                    ),
                    style.fg(Color::DarkGray),
                ),
            ])
        })
        .collect()
}

/// The lines under the list, `width` columns wide: the prompt, then the error; and the rename
/// line's cursor column when it is open (it is the first line).
fn footer(app: &App, picker: &Picker, width: usize) -> (Vec<Line<'static>>, Option<usize>) {
    let mut lines = Vec::new();
    let mut cursor = None;
    match picker.prompt() {
        Prompt::None => {}
        Prompt::Rename { input, .. } => {
            let (line, col) = field::line(RENAME_LABEL, input.text(), input.cursor(), width);
            lines.push(line);
            cursor = Some(col);
        }
        Prompt::Delete { title, .. } => lines.push(Line::styled(
            format!("Delete {}? y/n", safe_line(title)),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )),
    }
    if let Some(error) = app.error() {
        lines.push(Line::styled(
            format!("error: {}", safe_line(error)),
            Style::default().fg(Color::Red),
        ));
    }
    (lines, cursor)
}
