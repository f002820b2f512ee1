//! The session picker's state and keys (Ctrl+P): the selected row, and the one prompt it may be
//! showing over the list (a rename line prefilled with the title, or the delete confirmation).
//!
//! It owns that state and turns keys into [`Action`]s, as pure functions of it and the session
//! list the app holds, so the WebChat sidebar's organising actions (rename, archive or unarchive,
//! delete) work the same from a terminal. It must not do I/O: a change becomes a
//! [`SessionChange`] the terminal loop carries out over HTTP, and what it came to arrives with the
//! server's pushed session list (a refusal as the app's error). It must not import the app or
//! draw (`super::picker` draws it). Titles it keeps are untrusted and stay as received; they are
//! escaped where drawn.

use app::wire::{SessionKey, SessionSummary};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::composer::Composer;

/// A change to one session the picker asks the server for (`/api/v1/sessions/{key}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// `PATCH` with `{"title": …}`, the title as typed (the server folds its whitespace and
    /// checks it).
    Rename { session: SessionKey, title: String },
    /// `PATCH` with `{"archived": …}`: put away (`true`) or back.
    Archive { session: SessionKey, archived: bool },
    /// `DELETE`: the session and all it stored.
    Delete { session: SessionKey },
}

impl SessionChange {
    /// The session it changes.
    pub fn session(&self) -> &SessionKey {
        match self {
            SessionChange::Rename { session, .. }
            | SessionChange::Archive { session, .. }
            | SessionChange::Delete { session } => session,
        }
    }

    /// The status line's words when it fails (the error follows them).
    pub fn failure(&self) -> &'static str {
        match self {
            SessionChange::Rename { .. } => "Could not rename the session",
            SessionChange::Archive { archived: true, .. } => "Could not archive the session",
            SessionChange::Archive {
                archived: false, ..
            } => "Could not unarchive the session",
            SessionChange::Delete { .. } => "Could not delete the session",
        }
    }
}

/// What the picker shows over its list and what its keys mean meanwhile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Only the list: arrows move, Enter opens, `r`, `a` and `d` act on the selected session.
    None,
    /// A rename line: Enter saves, Esc goes back to the list.
    Rename {
        session: SessionKey,
        /// The title when renaming began (an unchanged title is not sent).
        original: String,
        input: Composer,
    },
    /// "Delete <title>? y/n".
    Delete { session: SessionKey, title: String },
}

/// What a key in the picker comes to for the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Close,
    /// Open this session (Enter) and close the picker.
    Open(SessionKey),
    /// Ask the server for this change; the picker stays open.
    Change(SessionChange),
}

/// The open session picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    row: usize,
    prompt: Prompt,
}

impl Picker {
    /// The picker open at `row` (of the app's session list), with no prompt.
    pub fn at(row: usize) -> Picker {
        Picker {
            row,
            prompt: Prompt::None,
        }
    }

    /// The selected row.
    pub fn row(&self) -> usize {
        self.row
    }

    pub fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// The session list changed from `before` to `after` (a push, or a change carried out): the
    /// selection stays on the same session where it moved (a renamed or archived session moves
    /// to the top), else on the same row within the list. A prompt about a session that is gone
    /// is dropped.
    pub(super) fn follow(&mut self, before: &[SessionSummary], after: &[SessionSummary]) {
        let selected = before.get(self.row).map(|s| &s.key);
        self.row = match selected.and_then(|key| after.iter().position(|s| &s.key == key)) {
            Some(row) => row,
            None => self.row.min(after.len().saturating_sub(1)),
        };
        let prompted = match &self.prompt {
            Prompt::None => None,
            Prompt::Rename { session, .. } | Prompt::Delete { session, .. } => Some(session),
        };
        if prompted.is_some_and(|key| !after.iter().any(|s| &s.key == key)) {
            self.prompt = Prompt::None;
        }
    }

    /// Handles a key, given the app's session list.
    pub(super) fn key(&mut self, key: &KeyEvent, sessions: &[SessionSummary]) -> Action {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match &mut self.prompt {
            Prompt::Rename {
                session,
                original,
                input,
            } => {
                match key.code {
                    KeyCode::Esc => self.prompt = Prompt::None,
                    KeyCode::Enter => {
                        let change = (input.text().trim() != original.as_str()).then(|| {
                            SessionChange::Rename {
                                session: session.clone(),
                                title: input.text().to_owned(),
                            }
                        });
                        self.prompt = Prompt::None;
                        if let Some(change) = change {
                            return Action::Change(change);
                        }
                    }
                    _ => {
                        input.edit(key);
                    }
                }
                Action::None
            }
            Prompt::Delete { session, .. } => {
                match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') if plain => {
                        let session = session.clone();
                        self.prompt = Prompt::None;
                        return Action::Change(SessionChange::Delete { session });
                    }
                    KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                        self.prompt = Prompt::None
                    }
                    // Anything else leaves the question standing.
                    _ => {}
                }
                Action::None
            }
            Prompt::None => self.list_key(key, plain, sessions),
        }
    }

    /// Pasted text goes into the rename line (as one line); elsewhere it is ignored.
    pub(super) fn paste(&mut self, text: &str) {
        if let Prompt::Rename { input, .. } = &mut self.prompt {
            for c in text.chars() {
                input.insert(if matches!(c, '\n' | '\r') { ' ' } else { c });
            }
        }
    }

    fn list_key(&mut self, key: &KeyEvent, plain: bool, sessions: &[SessionSummary]) -> Action {
        let selected = sessions.get(self.row);
        match key.code {
            KeyCode::Esc => return Action::Close,
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(sessions.len().saturating_sub(1)),
            KeyCode::Enter => {
                return match selected {
                    Some(s) => Action::Open(s.key.clone()),
                    None => Action::Close,
                }
            }
            KeyCode::Char('r') if plain => {
                if let Some(s) = selected {
                    let mut input = Composer::default();
                    s.title.chars().for_each(|c| input.insert(c));
                    self.prompt = Prompt::Rename {
                        session: s.key.clone(),
                        original: s.title.clone(),
                        input,
                    };
                }
            }
            KeyCode::Char('a') if plain => {
                if let Some(s) = selected {
                    return Action::Change(SessionChange::Archive {
                        session: s.key.clone(),
                        archived: !s.archived,
                    });
                }
            }
            KeyCode::Char('d') if plain => {
                if let Some(s) = selected {
                    self.prompt = Prompt::Delete {
                        session: s.key.clone(),
                        title: s.title.clone(),
                    };
                }
            }
            _ => {}
        }
        Action::None
    }
}
