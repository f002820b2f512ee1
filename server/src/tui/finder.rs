//! The search screen (Ctrl+F): a one-line query, what the server found for it (each hit's
//! session title and its snippet, the matched words marked), and the chosen hit.
//!
//! It owns that state, its keys and its drawing, as pure functions, so a terminal finds what the
//! WebChat's sidebar search finds (`GET /api/v1/search`). It must not do I/O: Enter on a query
//! not searched yet becomes [`Action::Search`], which the terminal loop carries out; the hits come
//! back through [`Finder::found`] (a refusal through [`Finder::failed`]), and Enter on a hit is
//! [`Action::Open`], which the app carries out by switching sessions. It must not import the app
//! or the main rendering (they use it, through `super::lookup`). The query, titles, snippets and
//! errors are untrusted and kept as received; they are drawn through `safe_line` only.

use app::wire::{SearchHit, Seq, SessionKey};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::composer::Composer;
use super::field;
use super::markdown::safe_line;
use super::style::{dim, overlay};

/// The screen's title: what it is and its keys.
pub(super) const TITLE: &str = " Search (Enter search, then open · ↑/↓ choose · Esc close) ";

const QUERY_LABEL: &str = "Search: ";

/// What a key on the search screen comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Close,
    /// Search for these words (trimmed, as typed: the server judges their length).
    Search(String),
    /// Open the hit's session (the entry that matched is `seq`).
    Open {
        session: SessionKey,
        seq: Seq,
    },
}

/// What the screen shows under the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Results {
    /// Nothing searched for yet.
    Idle,
    /// Waiting for the server's answer to this query.
    Searching(String),
    /// The server's hits for this query, best first (none: "No matches").
    Found { query: String, hits: Vec<SearchHit> },
    /// The search failed; why (the server's words for a refusal).
    Failed(String),
}

/// The open search screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finder {
    input: Composer,
    results: Results,
    /// The chosen hit.
    row: usize,
}

impl Default for Finder {
    fn default() -> Finder {
        Finder {
            input: Composer::default(),
            results: Results::Idle,
            row: 0,
        }
    }
}

impl Finder {
    /// The query as typed.
    pub fn query(&self) -> &str {
        self.input.text()
    }

    pub fn results(&self) -> &Results {
        &self.results
    }

    /// The chosen hit's index.
    pub fn row(&self) -> usize {
        self.row
    }

    /// The server answered `query` with `hits`; an answer to an earlier query is ignored.
    pub fn found(&mut self, query: String, hits: Vec<SearchHit>) {
        if self.results == Results::Searching(query.clone()) {
            self.results = Results::Found { query, hits };
            self.row = 0;
        }
    }

    /// The search under way failed: `message` says why.
    pub fn failed(&mut self, message: &str) {
        if matches!(self.results, Results::Searching(_)) {
            self.results = Results::Failed(message.to_owned());
        }
    }

    /// Handles a key: editing keys edit the query, ↑/↓ choose a hit, Enter searches for a query
    /// not searched yet or opens the chosen hit of the one shown, Esc closes.
    pub fn key(&mut self, key: &KeyEvent) -> Action {
        let hits = match &self.results {
            Results::Found { hits, .. } => hits.as_slice(),
            _ => &[],
        };
        match key.code {
            KeyCode::Esc => return Action::Close,
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(hits.len().saturating_sub(1)),
            KeyCode::Enter => {
                let query = self.input.text().trim().to_owned();
                let shown = match &self.results {
                    Results::Found { query: q, .. } | Results::Searching(q) => Some(q),
                    _ => None,
                };
                if shown == Some(&query) {
                    // The hits shown are this query's: Enter opens the chosen one.
                    return match hits.get(self.row) {
                        Some(hit) => Action::Open {
                            session: hit.session.clone(),
                            seq: hit.seq,
                        },
                        None => Action::None,
                    };
                }
                if query.is_empty() {
                    return Action::None;
                }
                self.results = Results::Searching(query.clone());
                self.row = 0;
                return Action::Search(query);
            }
            _ if key.modifiers.contains(KeyModifiers::CONTROL) => {}
            _ => {
                self.input.edit(key);
            }
        }
        Action::None
    }

    /// Pasted text goes into the query, as one line.
    pub fn paste(&mut self, text: &str) {
        for c in text.chars() {
            self.input
                .insert(if matches!(c, '\n' | '\r') { ' ' } else { c });
        }
    }
}

/// Draws the search screen over `area`: the query line with its cursor, a status line (the
/// keys, "searching…", "No matches", the error), then the hits, two rows each (the title, the
/// snippet with its matched pieces reversed), scrolled so the chosen one shows.
pub(super) fn draw(frame: &mut Frame<'_>, finder: &Finder, area: Rect) {
    let width = area.width.min(88);
    let height = area.height.saturating_sub(2).max(area.height.min(3));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .title(TITLE);
    let inner = overlay(frame, area, width, height, block);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let text_width = usize::from(inner.width);
    let (query, col) = field::line(
        QUERY_LABEL,
        finder.input.text(),
        finder.input.cursor(),
        text_width,
    );
    let mut lines = vec![query, status(finder)];
    let rows = usize::from(inner.height).saturating_sub(lines.len());
    if let Results::Found { hits, .. } = &finder.results {
        // Two rows a hit: as many hits as fit, the chosen one among them.
        let fit = (rows / 2).max(1);
        let first = finder.row.saturating_sub(fit - 1);
        for (i, hit) in hits.iter().enumerate().skip(first).take(fit) {
            lines.extend(hit_lines(hit, i == finder.row));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let col = u16::try_from(col).unwrap_or(u16::MAX);
    let x = inner.x + col.min(inner.width - 1);
    frame.set_cursor_position(Position::new(x, inner.y));
}

/// The line under the query.
fn status(finder: &Finder) -> Line<'static> {
    match &finder.results {
        Results::Idle => Line::styled("Type words, then Enter.", dim()),
        Results::Searching(_) => Line::styled("searching…", dim()),
        Results::Found { hits, .. } if hits.is_empty() => {
            Line::styled("No matches", Style::default().fg(Color::Yellow))
        }
        Results::Found { hits, .. } => Line::styled(
            format!(
                "{} match{} · Enter opens the chosen one",
                hits.len(),
                if hits.len() == 1 { "" } else { "es" }
            ),
            dim(),
        ),
        Results::Failed(why) => Line::styled(
            format!("error: {}", safe_line(why)),
            Style::default().fg(Color::Red),
        ),
    }
}

/// A hit's two rows: its session's title, then its snippet with the matched pieces marked.
fn hit_lines(hit: &SearchHit, chosen: bool) -> [Line<'static>; 2] {
    let mut title = Style::default().add_modifier(Modifier::BOLD);
    if chosen {
        title = title.add_modifier(Modifier::REVERSED);
    }
    let head = Line::from(vec![
        Span::styled(if chosen { "▶ " } else { "  " }, title),
        Span::styled(safe_line(&hit.title), title),
        Span::styled(format!("  {} #{}", hit.session, hit.seq), dim()),
    ]);
    let mut snippet = vec![Span::raw("    ")];
    for piece in &hit.snippet {
        let style = if piece.hit {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default()
        };
        snippet.push(Span::styled(safe_line(&piece.text), style));
    }
    [head, Line::from(snippet)]
}
