//! Wire types: everything that crosses between the server and its clients (server-rendered page
//! data, WebSocket frames, HTTP API bodies), including transcript events as a reader sees them.
//! What the server stores is its own type (`store::record` in the server crate); the gateway
//! builds these events from it in one presentation step, adding what only a reader needs (an
//! assistant reply's sanitised HTML, an internal detail's text).
//!
//! This module is plain data with serde; it must not depend on Leptos, the server or the browser,
//! so both sides compile it identically and the projection in `transcript` stays a pure function.

use std::fmt;

use serde::{Deserialize, Serialize};

mod frames;
mod sessions;
mod workbench;
pub use frames::{ClientFrame, ServerFrame};
pub use sessions::{CodexThread, SearchHit, Snip};
pub use workbench::{
    AccountStatus, CodexHealth, ContextUsage, DiffLine, DiffLineKind, FileDiff, ImageRef,
    LimitWindow, Login, ModelOption, PlanStatus, PlanStep, RateLimits, SignIn, ToolDetail,
};

/// Longest accepted message from the composer or the API, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// A chat session's key: 1 to 64 characters of `[A-Za-z0-9_-]`.
///
/// The key appears in URLs and in file-system-adjacent places (logs, relay ids), so the alphabet is
/// deliberately narrow: no dots, no slashes, nothing that needs escaping anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SessionKey(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionKeyError {
    #[error("session key is empty")]
    Empty,
    #[error("session key is longer than 64 characters")]
    TooLong,
    #[error("session key may only contain letters, digits, '-' and '_'")]
    BadCharacter,
}

impl SessionKey {
    pub fn parse(raw: &str) -> Result<Self, SessionKeyError> {
        if raw.is_empty() {
            return Err(SessionKeyError::Empty);
        }
        if raw.len() > 64 {
            return Err(SessionKeyError::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SessionKeyError::BadCharacter);
        }
        Ok(SessionKey(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        SessionKey::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A per-session transcript sequence number. The first event of a session is 1; 0 means "nothing yet".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Seq(pub u64);

impl Seq {
    pub const ZERO: Seq = Seq(0);

    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One durable transcript event. Events are append-only; later events may refine earlier ones
/// (stream deltas, tool results) by naming them with `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: Seq,
    /// Milliseconds since the Unix epoch, server clock.
    pub at_ms: i64,
    /// The run (one user send and the Codex turn it started) this event belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Private events are kept but shown only with "show internals" on.
    #[serde(default)]
    pub private: bool,
    pub body: EventBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// What the user typed. `client_id` is the client's id for the send, used to store it once.
    UserMessage {
        text: String,
        client_id: String,
        /// Which of our clients it was typed in (absent: the WebChat).
        #[serde(default, skip_serializing_if = "Source::is_webchat")]
        source: Source,
        /// Sent into the running turn (`turn/steer`) rather than queued for the next one.
        #[serde(default, skip_serializing_if = "is_false")]
        steered: bool,
        /// Images attached to the message, in the order they were attached.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<ImageRef>,
    },
    /// A reply the user sees: a `message`-tool send delivered to the current run (the mirror), or
    /// plain final text in runs that are not `message_tool_only`.
    AssistantMessage {
        text: String,
        /// Sanitised HTML rendered from `text` by the server on the way out (never stored).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        html: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// The start of a piece of model prose (an agent message item). In `message_tool_only` runs it
    /// is private. `text` is what was known when the event was written.
    ModelText { item_id: String, text: String },
    /// More streamed text for the entry at `target`.
    TextAppend { target: Seq, delta: String },
    /// The authoritative complete text for the entry at `target`.
    TextDone { target: Seq, text: String },
    /// A tool call began: a card. `command` is what a person reads (a shell command line, or the
    /// tool's arguments as JSON).
    ToolStarted {
        call_id: String,
        tool: String,
        command: String,
        relay: RelayDecision,
        /// What the card shows beyond its command line (files with their diffs, a plan, an MCP
        /// call), already prepared by the server: diff lines come classified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<ToolDetail>,
    },
    /// The card at `target` changed in place (a plan's steps moved on, the turn's diff grew):
    /// `detail` replaces the card's detail.
    ToolUpdated { target: Seq, detail: ToolDetail },
    /// A tool call ended; completes the card at `target`.
    ToolFinished {
        target: Seq,
        status: ToolStatus,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    /// A run began (the working indicator turns on).
    RunStarted {
        run_id: String,
        /// The user message the run answers. Absent in events written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_seq: Option<Seq>,
        /// Set for background runs (no UI source: a schedule, the API): who started it, e.g.
        /// `schedule nightly` or `api`. Every entry of such a run is marked in the transcript.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        background: Option<String>,
    },
    /// A run ended (the working indicator turns off). Anything but `Completed` also shows a notice.
    RunFinished {
        run_id: String,
        outcome: RunOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A background run was asked for (by a schedule or the API): its prompt, stored before the
    /// run starts, as a user message is for a WebChat run.
    BackgroundRequest {
        /// Who asked, e.g. `schedule nightly` or `api`.
        origin: String,
        prompt: String,
    },
    /// A line from the gateway itself for the user to read.
    Notice {
        level: NoticeLevel,
        /// For people; no decision may read it (its wording can change). What the gateway reads
        /// back (the notice's kind) stays in the stored record.
        text: String,
    },
    /// An explicit `channel` + `target` send left through the outbound router (a webhook, ...):
    /// what was tried and how it ended. Shown as a small card; the per-attempt detail goes to an
    /// `Internal` event beside it.
    ///
    /// A send to a known channel and target first writes a card with status `sending`; the
    /// outcome is a second `Delivery` that `updates` it (so a slow, retrying webhook shows that
    /// it is under way, and a run that ends mid-send leaves a card that says so).
    Delivery {
        /// The outbound channel, e.g. `webhook`.
        channel: String,
        /// The channel's named target, e.g. `ops`.
        target: String,
        status: DeliveryStatus,
        /// How many requests were made (0 when the send was refused before any, e.g. an unknown
        /// target).
        attempts: u32,
        /// The receipt when sent, the error when not. Text, never markup.
        detail: String,
        /// The `sending` card this outcome completes; `None` for a card of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updates: Option<Seq>,
    },
    /// Codex asks a person before going on: run this command, apply this change, grant these
    /// permissions, answer this question. A card; the approval's id is this event's `seq`.
    ApprovalRequested {
        kind: ApprovalKind,
        /// The Codex item (the tool call) the approval is about, when it is about one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<String>,
        /// What is asked, as a person reads it: the command line, the permissions, the question.
        subject: String,
        /// Where a command would run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        /// Codex's reason for asking, when it gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// A file change's files, each with the diff of what would change.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<FileDiff>,
        /// Codex offers "approve for this session" (the card's `approve-session` button).
        #[serde(default)]
        for_session: bool,
    },
    /// An approval ended (answered, cancelled, expired); completes the card at `target`.
    ApprovalEnded {
        target: Seq,
        state: ApprovalState,
        /// A question's written answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
    },
    /// Codex is retrying after an error (`error` with `willRetry`): the working indicator shows
    /// it until the run moves on, the transcript under show-internals. Always private.
    Retrying {
        /// Codex's words (untrusted text), e.g. `Reconnecting... 2/5`.
        message: String,
        /// The turn's retries so far, this one included.
        attempt: u32,
    },
    /// Raw detail for `show-internals` (tool results, protocol traffic). Always private.
    Internal {
        label: String,
        /// The stored detail as compact JSON text, rendered by the server on the way out. The
        /// browser only shows it; a client that wants the structure parses it.
        text: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayDecision {
    Allowed,
    Denied,
    Unavailable,
    None,
}

impl RelayDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayDecision::Allowed => "allowed",
            RelayDecision::Denied => "denied",
            RelayDecision::Unavailable => "unavailable",
            RelayDecision::None => "none",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Running,
    Completed,
    Failed,
    /// A person (or a deny rule) said no.
    Declined,
    /// The run ended (Stop, a failure) before the tool did. Never written by the server; the
    /// transcript projection derives it, so no card stays "running" after its run.
    Interrupted,
}

impl ToolStatus {
    /// The tool card's `data-status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Running => "running",
            ToolStatus::Completed => "completed",
            ToolStatus::Failed => "failed",
            ToolStatus::Declined => "declined",
            ToolStatus::Interrupted => "interrupted",
        }
    }
}

/// What an approval asks about. The names are the card's `data-approval-kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalKind {
    /// `item/commandExecution/requestApproval`.
    Command,
    /// `item/fileChange/requestApproval`.
    FileChange,
    /// `item/permissions/requestApproval`.
    Permissions,
    /// `item/tool/requestUserInput` and `mcpServer/elicitation/request`: a question with a
    /// written answer.
    Question,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Command => "command",
            ApprovalKind::FileChange => "file-change",
            ApprovalKind::Permissions => "permissions",
            ApprovalKind::Question => "question",
        }
    }
}

/// Where an approval stands. Everything but `Pending` is final. The names are the card's
/// `data-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalState {
    Pending,
    Accepted,
    AcceptedForSession,
    Declined,
    /// Stop, or Codex closed the request (resolved elsewhere, the turn ended) before anyone
    /// answered.
    Cancelled,
    /// The Codex process that asked is gone (a Codex or server restart): it can never be
    /// answered.
    Expired,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Accepted => "accepted",
            ApprovalState::AcceptedForSession => "accepted-for-session",
            ApprovalState::Declined => "declined",
            ApprovalState::Cancelled => "cancelled",
            ApprovalState::Expired => "expired",
        }
    }
}

/// A person's answer to an approval, from any client (the card's buttons, the API, the terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalDecision {
    /// Approve (a question: submit the written answer).
    Accept,
    /// Approve, and do not ask again for the same thing in this session (where Codex offers it).
    AcceptForSession,
    Decline,
}

impl ApprovalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalDecision::Accept => "accept",
            ApprovalDecision::AcceptForSession => "accept-for-session",
            ApprovalDecision::Decline => "decline",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A session's permission mode: how much Codex may do without asking a person. The names are
/// the contract's (PRODUCT.md, "Permission modes and approvals"): the header's `mode` select
/// uses them as option values and the API and config as strings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Never asks; no sandbox.
    FullAccess,
    /// Works in the session's workspace; asks when a command wants out of the sandbox.
    #[default]
    Auto,
    /// Asks before anything that is not known to be harmless.
    Ask,
    /// Reads only; asks when a command wants out of the sandbox.
    ReadOnly,
}

impl Mode {
    /// Every mode, in the order the header's select lists them.
    pub const ALL: [Mode; 4] = [Mode::FullAccess, Mode::Auto, Mode::Ask, Mode::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::FullAccess => "full-access",
            Mode::Auto => "auto",
            Mode::Ask => "ask",
            Mode::ReadOnly => "read-only",
        }
    }

    /// The mode named exactly `raw` (no trimming, no case folding), or `None`.
    pub fn parse(raw: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == raw)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of our own clients a message was typed in: both are internal UI surfaces of the run
/// (a targetless `message` send is the run's reply), never outbound channels. The names are a
/// user entry's `data-source` (a background run's request shows `background`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    #[default]
    Webchat,
    /// The terminal client (`codex-webchat tui`, `codex-webchat send`).
    Tui,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webchat => "webchat",
            Source::Tui => "tui",
        }
    }

    pub fn is_webchat(&self) -> bool {
        *self == Source::Webchat
    }
}

/// How an outbound delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Under way; a later event says how it ended.
    Sending,
    Sent,
    Failed,
    /// The run ended while the send was under way, with no outcome recorded: it may or may not
    /// have arrived. Never written by the server; the transcript projection derives it.
    Unknown,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Completed,
    Interrupted,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// A session as the session list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub key: SessionKey,
    pub title: String,
    pub updated_ms: i64,
    /// The last external channel and target a background run of this session delivered to
    /// (`webhook:ops`), which `channel: "last"` sends reuse. WebChat turns never set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_channel: Option<String>,
    /// The session's permission mode; the next turn runs with it.
    #[serde(default)]
    pub mode: Mode,
    /// The configured workspace (by name) the session's Codex thread works in.
    #[serde(default)]
    pub workspace: String,
    /// The model the next turn asks for (`None`: Codex's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The reasoning effort the next turn asks for (`None`: the model's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// How full the context is, once Codex has said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ContextUsage>,
    /// Put away: listed under "Archived", still searchable, never deleted by it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
}

/// Everything the chat page needs for its first render; also what hydration starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageData {
    pub session: SessionSummary,
    pub sessions: Vec<SessionSummary>,
    /// The session's events in order. What the page renders from: only the live part, the rest
    /// is the history the server renders once (`crate::history::split`).
    pub events: Vec<Event>,
    /// The sequence number the live subscription continues after.
    pub last_seq: Seq,
    pub show_internals: bool,
    /// How many events precede `events` (a long history is shown from a recent run on; see
    /// [`HISTORY_WINDOW`]). 0 when the page holds the whole history.
    #[serde(default)]
    pub earlier: u64,
    /// The window this page was rendered with, in events.
    #[serde(default)]
    pub window: u64,
    /// The models Codex offers (for the header's selects); empty until Codex has answered.
    #[serde(default)]
    pub models: Vec<ModelOption>,
    /// The configured workspaces' names, for the new-session select; the first is the default.
    #[serde(default)]
    pub workspaces: Vec<String>,
    /// The Codex account as the header shows it.
    #[serde(default)]
    pub account: AccountStatus,
    /// The entry a search result opened the page at (`?at=`), marked and scrolled to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Seq>,
}

/// Why the chat page's data could not be loaded. The page decides on the variant (a 404 "Session
/// not found" or a general failure), never on the text, which is only shown. It crosses the
/// network twice: in the server's render, serialised for hydration, and as the server function's
/// error when the browser asks for a page itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PageLoadError {
    /// No session has this key.
    #[error("unknown session")]
    UnknownSession,
    /// The key is not a session key at all; says why ([`SessionKeyError`]'s text).
    #[error("{0}")]
    BadKey(String),
    /// The server could not read the session; the detail stays in its log.
    #[error("the server could not read the session")]
    Internal,
    /// The request for the page failed on its way (network, encoding); says why.
    #[error("{0}")]
    Request(String),
}

impl PageLoadError {
    /// Whether there is no such session (the page is a 404).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            PageLoadError::UnknownSession | PageLoadError::BadKey(_)
        )
    }
}

/// How many of a session's most recent events a page shows by default. A page starts at the
/// first message (or background request) inside the window, so no run is cut in half. Earlier
/// entries come a part at a time as the reader scrolls up (`GET /api/v1/sessions/{key}/history`);
/// without scripts, "Show earlier messages" asks for a window four times as large.
pub const HISTORY_WINDOW: u64 = 200;
/// How many events one part of earlier history covers (a scroll up loads one).
pub const HISTORY_PART: u64 = 200;
/// The largest window a page may ask for.
pub const MAX_HISTORY_WINDOW: u64 = 1_000_000;

/// Checks a message from the composer or the API; the error text is shown to the user as is.
pub fn validate_message(text: &str) -> Result<&str, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("Message is empty.".to_owned());
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "Message is too long ({} bytes; the limit is {} bytes).",
            text.len(),
            MAX_MESSAGE_BYTES
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_key_accepts_the_narrow_alphabet_only() {
        assert!(SessionKey::parse("abc-DEF_123").is_ok());
        assert_eq!(SessionKey::parse(""), Err(SessionKeyError::Empty));
        assert_eq!(
            SessionKey::parse(&"a".repeat(65)),
            Err(SessionKeyError::TooLong)
        );
        for bad in ["../etc", "a/b", "a.b", "a b", "é", "a%2e"] {
            assert_eq!(
                SessionKey::parse(bad),
                Err(SessionKeyError::BadCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn session_key_deserialisation_validates() {
        let err = serde_json::from_str::<SessionKey>("\"../x\"").unwrap_err();
        assert!(err.to_string().contains("may only contain"));
    }

    #[test]
    fn frames_round_trip_with_snake_case_tags() {
        let f = ClientFrame::Send {
            session: SessionKey::parse("s1").unwrap(),
            client_id: "c1".into(),
            text: "hi".into(),
            source: Source::Webchat,
            steer: false,
            images: Vec::new(),
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"type":"send","session":"s1","client_id":"c1","text":"hi"}"#
        );
        assert_eq!(serde_json::from_str::<ClientFrame>(&json).unwrap(), f);
    }

    #[test]
    fn an_old_clients_subscribe_with_internals_still_parses() {
        let old = r#"{"type":"subscribe","session":"s1","after":3,"internals":true}"#;
        assert_eq!(
            serde_json::from_str::<ClientFrame>(old).unwrap(),
            ClientFrame::Subscribe {
                session: SessionKey::parse("s1").unwrap(),
                after: Seq(3),
                recent: None,
            }
        );
    }

    #[test]
    fn modes_have_exactly_the_contract_names_everywhere() {
        let names: Vec<&str> = Mode::ALL.iter().map(|mode| mode.as_str()).collect();
        assert_eq!(names, ["full-access", "auto", "ask", "read-only"]);
        for mode in Mode::ALL {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), mode);
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
            assert_eq!(mode.to_string(), mode.as_str());
        }
        assert_eq!(Mode::default(), Mode::Auto);
        for bad in [
            "",
            "Auto",
            " auto",
            "full_access",
            "read_only",
            "readonly",
            "never",
        ] {
            assert_eq!(Mode::parse(bad), None, "{bad:?}");
            assert!(serde_json::from_str::<Mode>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn validate_message_rejects_empty_and_oversized() {
        assert!(validate_message("  \n").is_err());
        assert!(validate_message(&"x".repeat(MAX_MESSAGE_BYTES + 1)).is_err());
        assert_eq!(validate_message(" hi "), Ok(" hi "));
    }
}
