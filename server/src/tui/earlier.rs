//! A long session opened at its end: the terminal client follows a session from the start of
//! its latest [`RECENT`] events (the connection's `Command::Open`, a page's window in the
//! WebChat), and fetches the events before them a part at a time when the person scrolls to the
//! top, then rebuilds the transcript from all it holds (the projection is a function of the
//! events in order, so a part put in front changes nothing below it).
//!
//! This module owns what is held of the session's events and where they start; it does no I/O
//! (the loop fetches a part, [`super::start::carry_out`]) and draws nothing. It also holds the
//! HTTP requests the terminal client's keys ask the loop for ([`Request`]).

use app::transcript::Transcript;
use app::wire::{Event, Seq, SessionKey};

use super::lookup::Find;
use super::picker_state::SessionChange;
use super::signin::AccountRequest;

/// How many of a session's latest events it opens at (where a message starts at or after it).
pub const RECENT: u64 = 200;

/// How many events a part of earlier history reads (it starts at a message inside them).
pub const PART: u64 = 200;

/// Something the loop must carry out itself (over HTTP), asked for by a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Create a session and switch to it.
    NewSession,
    /// Sign Codex in or out (the sign-in screen); the account status follows by push.
    Account(AccountRequest),
    /// Rename, archive, unarchive or delete a session (the session picker); the session list
    /// follows by push.
    Change(SessionChange),
    /// Search, list Codex's threads or open one (the search and Codex threads screens).
    Find(Find),
    /// The events of `session` up to `before` (a part of its earlier history), asked for by a
    /// scroll to the top.
    Earlier { session: SessionKey, before: Seq },
}

impl Request {
    /// The status line's words when it fails (the error follows them).
    pub fn failure(&self) -> &'static str {
        match self {
            Request::NewSession => "Could not start a session",
            Request::Account(account) => account.failure(),
            Request::Change(change) => change.failure(),
            Request::Find(find) => find.failure(),
            Request::Earlier { .. } => "Could not load earlier messages",
        }
    }
}

/// What is held of the shown session's events.
#[derive(Debug, Default)]
pub struct Earlier {
    /// Every event applied, in order (the transcript is rebuilt from them when a part comes).
    events: Vec<Event>,
    /// The event the held ones start after (`Seq::ZERO`: the session's start is held).
    starts_after: Seq,
    /// A part is on its way.
    asked: bool,
}

impl Earlier {
    /// Whether events before the held ones exist.
    pub fn more(&self) -> bool {
        self.starts_after > Seq::ZERO
    }

    /// Before `event` is applied to a transcript that holds nothing yet: a session opened at its
    /// end starts after the event before this one, so the transcript continues from there.
    pub fn opening(&mut self, event: &Event, transcript: &mut Transcript) {
        if self.events.is_empty() && transcript.last_seq() == Seq::ZERO && event.seq.0 > 1 {
            self.starts_after = Seq(event.seq.0 - 1);
            *transcript = Transcript::default().continuing(self.starts_after);
        }
    }

    /// Keeps an event the transcript applied.
    pub fn keep(&mut self, event: Event) {
        self.events.push(event);
    }

    /// The scroll reached the top (`at_top`): where the part to fetch ends, once per part.
    pub fn at_top(&mut self, at_top: bool) -> Option<Seq> {
        if !at_top || !self.more() || self.asked {
            return None;
        }
        self.asked = true;
        Some(self.starts_after)
    }

    /// A part came (the events up to where the held ones start, read from `PART` before): it
    /// starts where a page's earlier part would (`app::history::part_start`: at its first
    /// message, none: at its first event) or, read from the session's start, there; it goes in
    /// front, and the transcript is rebuilt from everything held.
    pub fn prepend(&mut self, part: Vec<Event>, transcript: &mut Transcript) {
        self.asked = false;
        let part: Vec<Event> = part
            .into_iter()
            .filter(|e| e.seq <= self.starts_after)
            .collect();
        let Some(first) = part.first() else {
            return;
        };
        let (from, starts_after) = if first.seq.0 == 1 {
            (0, 0)
        } else {
            app::history::part_start(&part, first.seq.0 - 1, self.starts_after.0)
        };
        self.starts_after = Seq(starts_after);
        let mut events = part[from..].to_vec();
        events.append(&mut self.events);
        self.events = events;
        let last = transcript.last_seq();
        *transcript = Transcript::from_events(&self.events).continuing(last);
    }
}

#[cfg(test)]
#[path = "tests/earlier.rs"]
mod tests;
