//! The terminal client's side of the server API: HTTP calls (`http.rs`) and one live WebSocket
//! connection that keeps itself up (`live.rs`), shared by `codex-webchat tui`,
//! `codex-webchat send` (whose command, printing and exit statuses are `send.rs`) and
//! `codex-webchat login` (`login.rs`: Codex's sign-in over the account routes).
//!
//! It speaks only the public API and `app::wire` types, exactly as the browser does: it never
//! touches the store, the gateway or Codex, so a terminal can drive any server it can reach.
//! Text it receives is untrusted; it is escaped where it is printed (`escape::terminal`: in
//! `send.rs` for `send`, in `login.rs` for `login`, in the TUI's rendering for `tui`), never in
//! `http` or `live`.

pub mod http;
pub mod live;
pub mod login;
pub mod send;

use std::time::Duration;

use app::wire::{AccountStatus, ApprovalDecision, Event, Mode, Seq, SessionKey, SessionSummary};

/// Where the server is and how to authenticate to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port`, without a trailing slash.
    pub base_url: String,
    /// The server's access token (`--token`, `CODEX_WEBCHAT_TOKEN`); `None` for a loopback server.
    pub token: Option<String>,
}

/// Why a call failed, in words a person at a terminal can act on (`Display` is one line).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server refused the access token (use --token or CODEX_WEBCHAT_TOKEN)")]
    Unauthorized,
    #[error("unknown session {0}")]
    UnknownSession(String),
    /// Any other refusal, with the server's own error text.
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// What the live connection reports, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// The socket is up (again) and the subscription resumed after the last event seen.
    Connected,
    /// The socket dropped; the next attempt is in `retry_in`.
    Disconnected { retry_in: Duration, reason: String },
    /// One transcript event of the subscribed session, never twice and never with a gap.
    Event { session: SessionKey, event: Event },
    /// The session list changed.
    Sessions(Vec<SessionSummary>),
    /// What is known of the Codex account changed (its rate limits).
    Account(AccountStatus),
    /// A send was stored (`duplicate`: the same client id was stored before).
    Accepted {
        client_id: String,
        seq: Seq,
        duplicate: bool,
    },
    /// The server refused something this connection asked for.
    Error {
        client_id: Option<String>,
        message: String,
    },
}

/// What the client asks of the live connection. Commands given while the socket is down wait
/// and go out once it is up again (sends keep their client id, so a retry is stored once).
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Follow `session` from after `after` (switching sessions resubscribes).
    Subscribe {
        session: SessionKey,
        after: Seq,
    },
    /// Follow `session` from the start of its latest `recent` events (at a message): opening a
    /// long session at its end. Its first event says where that is.
    Open {
        session: SessionKey,
        recent: u64,
    },
    Send {
        session: SessionKey,
        client_id: String,
        text: String,
        /// Into the running turn (`turn/steer`); the server queues it when there is none.
        steer: bool,
    },
    Stop {
        session: SessionKey,
    },
    Answer {
        session: SessionKey,
        approval: Seq,
        decision: ApprovalDecision,
        answer: Option<String>,
    },
    SetMode {
        session: SessionKey,
        mode: Mode,
    },
}
