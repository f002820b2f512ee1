//! The wire's words for finding, organising and opening sessions: a search hit and its snippet,
//! a thread in Codex's home.
//!
//! A snippet is plain text in pieces, each matched or not; clients mark the matched pieces up at
//! their own escaping point (the page's text nodes, the terminal's sanitiser), so no markup
//! travels and a message cannot forge a highlight.

use serde::{Deserialize, Serialize};

use super::{Seq, SessionKey};

/// One entry that matched a search (`GET /api/v1/search`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub session: SessionKey,
    /// The session's title (untrusted text).
    pub title: String,
    /// The entry's sequence number: `/sessions/{session}?at={seq}` opens the page holding it.
    pub seq: Seq,
    /// Words around the match, in pieces.
    pub snippet: Vec<Snip>,
}

/// A piece of a snippet: `hit` when it is what was searched for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snip {
    pub text: String,
    #[serde(default)]
    pub hit: bool,
}

/// A thread in Codex's own home (`GET /api/v1/codex-threads`): one made by Codex's terminal UI,
/// say, that a session can be opened on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodexThread {
    /// Codex's thread id (a UUID).
    pub id: String,
    /// Its name, or else its first user message as Codex previews it (untrusted text).
    pub title: String,
    /// The configured workspace it worked in.
    pub workspace: String,
    /// Its folder (untrusted text).
    pub cwd: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The session it is open in already, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionKey>,
}
