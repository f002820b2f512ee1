//! The session picker (Ctrl+P): every session, the current one marked, archived ones said so.
//! Drawing only; which row is selected is the app's. Titles pass `safe_line` like all text.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::App;
use super::markdown::safe_line;
use super::style::dim;

pub(super) fn draw_picker(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let width = area.width.min(70);
    let height = u16::try_from(app.sessions().len() + 2)
        .unwrap_or(u16::MAX)
        .clamp(3, area.height.max(3))
        .min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Sessions (Enter open · Esc close) ");
    let rows = usize::from(block.inner(rect).height.max(1));
    let selected = app.picker().unwrap_or(0);
    let first = selected.saturating_sub(rows - 1);
    let lines: Vec<Line<'static>> = if app.sessions().is_empty() {
        vec![Line::styled("No sessions yet (Ctrl+N starts one).", dim())]
    } else {
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
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
