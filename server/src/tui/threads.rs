//! The Codex threads screen (Ctrl+O): the threads in Codex's own home that worked in a configured
//! workspace (`GET /api/v1/codex-threads`), each with its title, workspace and folder, and the
//! chosen one, which Enter opens in a session.
//!
//! It owns that state, its keys and its drawing, as pure functions, so a terminal opens what the
//! WebChat's `/codex-threads` page opens. It must not do I/O: the list arrives through
//! [`ThreadsScreen::listed`] (a failure through [`ThreadsScreen::failed`]); Enter on a thread
//! already open in a session is [`Action::Switch`], on any other [`Action::Open`], which the
//! terminal loop carries out (`POST /api/v1/codex-threads/{id}/open`) before the app switches to
//! the session it answers with. It must not import the app or the main rendering (they use it,
//! through `super::lookup`). Titles, folders and errors are untrusted and kept as received; they
//! are drawn through `safe_line` only.

use app::wire::{CodexThread, SessionKey};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::markdown::safe_line;
use super::style::{dim, fitted_height, overlay};

/// The screen's title: what it is and its keys.
pub(super) const TITLE: &str = " Codex threads (Enter open · ↑/↓ choose · Esc close) ";

/// What the screen says when Codex lists no thread.
pub const NONE_LISTED: &str = "No Codex threads worked in a configured workspace.";

/// What a key on the Codex threads screen comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Close,
    /// The thread is open in this session already: switch to it.
    Switch(SessionKey),
    /// Open the thread with this id in a session (the server answers with the session).
    Open(String),
}

/// The open Codex threads screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadsScreen {
    /// `None` while the list is being asked for.
    threads: Option<Vec<CodexThread>>,
    row: usize,
    /// A thread is being opened (Enter waits for it).
    opening: bool,
    /// Why the list or the opening failed.
    error: Option<String>,
}

impl ThreadsScreen {
    /// The list, once it arrived.
    pub fn threads(&self) -> Option<&[CodexThread]> {
        self.threads.as_deref()
    }

    /// The chosen row.
    pub fn row(&self) -> usize {
        self.row
    }

    pub fn is_opening(&self) -> bool {
        self.opening
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The server listed `threads`, most recently updated first.
    pub fn listed(&mut self, threads: Vec<CodexThread>) {
        self.row = self.row.min(threads.len().saturating_sub(1));
        self.threads = Some(threads);
        self.error = None;
    }

    /// Listing or opening failed: `message` says why.
    pub fn failed(&mut self, message: &str) {
        self.opening = false;
        self.error = Some(message.to_owned());
    }

    /// Handles a key: ↑/↓ choose, Enter opens the chosen thread (once: it waits for the answer),
    /// Esc closes.
    pub fn key(&mut self, key: &KeyEvent) -> Action {
        let threads = self.threads.as_deref().unwrap_or_default();
        match key.code {
            KeyCode::Esc => return Action::Close,
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(threads.len().saturating_sub(1)),
            KeyCode::Enter if !self.opening => {
                let Some(thread) = threads.get(self.row) else {
                    return Action::None;
                };
                if let Some(session) = &thread.session {
                    return Action::Switch(session.clone());
                }
                let id = thread.id.clone();
                self.opening = true;
                self.error = None;
                return Action::Open(id);
            }
            _ => {}
        }
        Action::None
    }
}

/// Draws the screen over `area`: one row per thread (its title, workspace and folder, and
/// whether a session has it open), scrolled so the chosen one shows, then what is going on (the
/// list or an opening under way, the error).
pub(super) fn draw(frame: &mut Frame<'_>, screen: &ThreadsScreen, area: Rect) {
    let width = area.width.min(96);
    let inner_width = width.saturating_sub(2);
    let footer = footer(screen);
    let footer = Paragraph::new(footer).wrap(Wrap { trim: false });
    let footer_rows = footer.line_count(inner_width);
    let listed = screen.threads.as_ref().map_or(0, Vec::len);
    let wanted = listed.max(1) + footer_rows + 2;
    let height = fitted_height(wanted, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .title(TITLE);
    let inner = overlay(frame, area, width, height, block);
    let footer_height = u16::try_from(footer_rows)
        .unwrap_or(u16::MAX)
        .min(inner.height);
    let list_area = Rect {
        height: inner.height - footer_height,
        ..inner
    };
    let footer_area = Rect {
        y: list_area.y + list_area.height,
        height: footer_height,
        ..inner
    };
    if list_area.height > 0 {
        frame.render_widget(Paragraph::new(rows(screen, list_area)), list_area);
    }
    frame.render_widget(footer, footer_area);
}

/// The visible rows of the list.
fn rows(screen: &ThreadsScreen, area: Rect) -> Vec<Line<'static>> {
    let Some(threads) = screen.threads.as_ref() else {
        if screen.error.is_some() {
            // The error under the list says why there is none.
            return Vec::new();
        }
        return vec![Line::styled("Asking Codex for its threads…", dim())];
    };
    if threads.is_empty() {
        return vec![Line::styled(NONE_LISTED, dim())];
    }
    let rows = usize::from(area.height.max(1));
    let first = screen.row.saturating_sub(rows - 1);
    threads
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, t)| {
            let mut style = Style::default();
            if i == screen.row {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Line::from(vec![
                Span::styled(if t.session.is_some() { "● " } else { "  " }, style),
                Span::styled(safe_line(&t.title), style.add_modifier(Modifier::BOLD)),
                Span::styled(
                    format!(
                        "  {} · {}{}",
                        safe_line(&t.workspace),
                        safe_line(&t.cwd),
                        if t.session.is_some() { " · open" } else { "" }
                    ),
                    style.fg(Color::DarkGray),
                ),
            ])
        })
        .collect()
}

/// The lines under the list: an opening under way, the error.
fn footer(screen: &ThreadsScreen) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if screen.opening {
        lines.push(Line::styled("Opening the thread in a session…", dim()));
    }
    if let Some(error) = &screen.error {
        lines.push(Line::styled(
            format!("error: {}", safe_line(error)),
            Style::default().fg(Color::Red),
        ));
    }
    lines
}
