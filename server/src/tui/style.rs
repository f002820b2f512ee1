//! The terminal client's shared styles: one definition each, for every screen that draws.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Clear};
use ratatui::Frame;

/// Secondary text: hints, keys, metadata.
pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

/// The height of a box that wants `rows` rows (its border included), fitted to `area`.
pub fn fitted_height(rows: usize, area: Rect) -> u16 {
    u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .clamp(3, area.height.max(3))
        .min(area.height)
}

/// Draws `block` as a box of `width` × `height` centred over `area` (a picker, the search, the
/// Codex threads), clearing what is under it; returns its inside.
pub fn overlay(
    frame: &mut Frame<'_>,
    area: Rect,
    width: u16,
    height: u16,
    block: Block<'_>,
) -> Rect {
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    inner
}
