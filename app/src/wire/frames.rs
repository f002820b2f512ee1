//! The WebSocket's frames: what a client sends (`ClientFrame`) and what the server sends back
//! (`ServerFrame`). Re-exported by `wire`.

use serde::{Deserialize, Serialize};

use super::{
    is_false, AccountStatus, ApprovalDecision, Event, Mode, Seq, SessionKey, SessionSummary, Source,
};

/// Frames the browser sends on its WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start (or restart) receiving a session's events after `after`: every event, private ones
    /// included (private is not secret; the page decides what to show). Clients before this
    /// version also sent `internals`, which nothing read; serde skips it (this enum does not
    /// deny unknown fields), so their frames still parse.
    ///
    /// With `recent` (and `after` 0), from the start of the session's latest `recent` events
    /// instead (at a message, so no run is cut in half, as a page starts): the terminal client
    /// opens a long session at its end. The browser never asks for it (its page holds the
    /// window already).
    Subscribe {
        session: SessionKey,
        after: Seq,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recent: Option<u64>,
    },
    /// Send a user message. `client_id` makes a retried send idempotent.
    Send {
        session: SessionKey,
        client_id: String,
        text: String,
        /// The client sending it (absent: the WebChat).
        #[serde(default, skip_serializing_if = "Source::is_webchat")]
        source: Source,
        /// Send it into the running turn (`turn/steer`); with no run active, or one that ends
        /// first, it is queued as usual (and a notice says so).
        #[serde(default, skip_serializing_if = "is_false")]
        steer: bool,
        /// Ids of images uploaded with `POST /api/v1/images`, attached in this order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<String>,
    },
    /// Interrupt the session's running turn.
    Stop {
        session: SessionKey,
    },
    /// Answer the approval whose card is the event `approval`. Idempotent: the same answer again
    /// is accepted; a different one after the first gets an error saying how it ended.
    Answer {
        session: SessionKey,
        approval: Seq,
        decision: ApprovalDecision,
        /// A question's written answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
    },
    /// Change the session's permission mode; the next turn runs with it.
    SetMode {
        session: SessionKey,
        mode: Mode,
    },
    /// Change the session's model and reasoning effort (`None`: Codex's default); the next turn
    /// runs with them.
    SetModel {
        session: SessionKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        effort: Option<String>,
    },
    Ping {
        nonce: u64,
    },
}

/// Frames the server sends on a browser's WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Event {
        session: SessionKey,
        event: Event,
    },
    /// A send was accepted (`duplicate` when the same `client_id` had already been stored).
    Accepted {
        client_id: String,
        seq: Seq,
        duplicate: bool,
    },
    /// Something the browser asked for failed; `client_id` names the send if it was one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        message: String,
    },
    /// The session list changed (a session was created or renamed).
    Sessions {
        sessions: Vec<SessionSummary>,
    },
    /// What is known of the Codex account changed (its rate limits).
    Account {
        account: AccountStatus,
    },
    Pong {
        nonce: u64,
    },
}
