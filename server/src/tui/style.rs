//! The terminal client's shared styles: one definition each, for every screen that draws.

use ratatui::style::{Color, Style};

/// Secondary text: hints, keys, metadata.
pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}
