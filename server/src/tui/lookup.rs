//! The screens that find a session to open rather than act on one: search (Ctrl+F,
//! [`super::finder`]) and Codex's own threads (Ctrl+O, [`super::threads`]). At most one is open.
//!
//! It owns which one is open, the HTTP requests they ask for ([`Find`], carried out by the
//! terminal loop) and the answers that come back ([`Answer`]), and passes keys, pastes, answers
//! and failures to the open screen, so the app holds one field and one key branch for both. It
//! must not do I/O, import the app or the main rendering (they use it), or draw anything but
//! through the two screens' own drawing.

use app::wire::{CodexThread, SearchHit, SessionKey};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::finder::{self, Finder};
use super::threads::{self, ThreadsScreen};

/// What these screens ask the server for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Find {
    /// `GET /api/v1/search?q=…` with these words.
    Search(String),
    /// `GET /api/v1/codex-threads`.
    Threads,
    /// `POST /api/v1/codex-threads/{id}/open`; the session it answers with opens.
    OpenThread(String),
}

impl Find {
    /// The status line's words when it fails (the error follows them).
    pub fn failure(&self) -> &'static str {
        match self {
            Find::Search(_) => "Could not search",
            Find::Threads => "Could not list the Codex threads",
            Find::OpenThread(_) => "Could not open the Codex thread",
        }
    }
}

/// What the server answered a [`Find`] with (an opened thread is a session to switch to
/// instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The hits for `query`, best first.
    Hits {
        query: String,
        hits: Vec<SearchHit>,
    },
    Threads(Vec<CodexThread>),
}

/// The open screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Search(Finder),
    Threads(ThreadsScreen),
}

/// What a key on either screen comes to for the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Close,
    /// Ask the server; the screen stays open.
    Ask(Find),
    /// Show this session (the screen closes).
    Switch(SessionKey),
}

impl Lookup {
    /// The search screen, with an empty query.
    pub fn search() -> Lookup {
        Lookup::Search(Finder::default())
    }

    /// The Codex threads screen, and the request for its list.
    pub fn threads() -> (Lookup, Find) {
        (Lookup::Threads(ThreadsScreen::default()), Find::Threads)
    }

    pub fn key(&mut self, key: &KeyEvent) -> Action {
        match self {
            Lookup::Search(finder) => match finder.key(key) {
                finder::Action::None => Action::None,
                finder::Action::Close => Action::Close,
                finder::Action::Search(query) => Action::Ask(Find::Search(query)),
                // The transcript cannot scroll to an entry yet: the hit's session opens.
                finder::Action::Open { session, .. } => Action::Switch(session),
            },
            Lookup::Threads(screen) => match screen.key(key) {
                threads::Action::None => Action::None,
                threads::Action::Close => Action::Close,
                threads::Action::Switch(session) => Action::Switch(session),
                threads::Action::Open(id) => Action::Ask(Find::OpenThread(id)),
            },
        }
    }

    /// Pasted text: into the search query; the threads screen ignores it.
    pub fn paste(&mut self, text: &str) {
        if let Lookup::Search(finder) = self {
            finder.paste(text);
        }
    }

    /// The server's answer; one meant for the other screen (closed since) is dropped.
    pub fn answer(&mut self, answer: Answer) {
        match (self, answer) {
            (Lookup::Search(finder), Answer::Hits { query, hits }) => finder.found(query, hits),
            (Lookup::Threads(screen), Answer::Threads(threads)) => screen.listed(threads),
            _ => {}
        }
    }

    /// A request failed; `message` says why.
    pub fn failed(&mut self, message: &str) {
        match self {
            Lookup::Search(finder) => finder.failed(message),
            Lookup::Threads(screen) => screen.failed(message),
        }
    }
}

/// Draws the open screen, if any, over `area`.
pub(super) fn draw(frame: &mut Frame<'_>, lookup: Option<&Lookup>, area: Rect) {
    match lookup {
        Some(Lookup::Search(finder)) => finder::draw(frame, finder, area),
        Some(Lookup::Threads(screen)) => threads::draw(frame, screen, area),
        None => {}
    }
}
