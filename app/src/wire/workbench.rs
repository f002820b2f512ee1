//! The wire types of what Codex did and what a session works with: tool cards' details (files
//! with their diffs already classified by the server, plans, MCP calls), attached images, the
//! models Codex offers, the context meter's usage and the account's rate limits. Re-exported by
//! `wire`; like every wire type they cross the network and are not what is stored.

use serde::{Deserialize, Serialize};

/// One file of a change (proposed in an approval card, or made in a `file_change` card), as a
/// person reads it: the server has already split the diff into classified lines, so no client
/// parses a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    pub path: String,
    /// `add`, `delete` or `update`.
    pub kind: String,
    /// Lines added and removed.
    pub added: u32,
    pub removed: u32,
    /// The unified diff, line by line (for an added file, its content as added lines).
    pub lines: Vec<DiffLine>,
}

/// One line of a unified diff, classified by the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: DiffLineKind,
    /// The whole line as the diff has it, marker included (`+new`, `-old`, ` same`).
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffLineKind {
    Add,
    Del,
    Ctx,
    /// `@@ -a,b +c,d @@`
    Hunk,
    /// `diff --git`, `---`, `+++`, `\ No newline at end of file`, ...
    Meta,
}

impl DiffLineKind {
    /// The `data-line` value of the UI contract (`add`, `del` or `ctx`: a hunk header or a meta
    /// line reads as context, told apart by its class).
    pub fn data_line(self) -> &'static str {
        match self {
            DiffLineKind::Add => "add",
            DiffLineKind::Del => "del",
            DiffLineKind::Ctx | DiffLineKind::Hunk | DiffLineKind::Meta => "ctx",
        }
    }
}

/// What a tool card shows beyond its command line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolDetail {
    /// Files a `fileChange` item changed, or the turn's aggregated diff.
    Files { files: Vec<FileDiff> },
    /// The turn's plan (`turn/plan/updated`); one card per turn, updated in place.
    Plan {
        steps: Vec<PlanStep>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
    },
    /// An MCP tool call: which server and tool, with its arguments as JSON text.
    Mcp {
        server: String,
        tool: String,
        arguments: String,
    },
}

/// One step of a plan (`data-testid="plan-step"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub step: String,
    pub status: PlanStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    InProgress,
    Completed,
}

impl PlanStatus {
    /// The `data-status` value of the UI contract.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::InProgress => "in_progress",
            PlanStatus::Completed => "completed",
        }
    }
}

/// An image attached to a user message, stored content-addressed by the server and served at
/// `/api/v1/images/{id}` to authenticated clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// The SHA-256 of the bytes, lower-case hex.
    pub id: String,
    /// The file name it was attached as (text, never a path on the server).
    pub name: String,
    /// The type sniffed from the bytes: `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
    pub mime: String,
}

impl ImageRef {
    /// Where an authenticated client fetches the image.
    pub fn url(&self) -> String {
        format!("/api/v1/images/{}", self.id)
    }
}

/// A model Codex offers (`model/list`), as the header's `model` and `effort` selects show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOption {
    /// What `turn/start`'s `model` takes.
    pub id: String,
    /// What a person reads.
    pub name: String,
    /// Reasoning efforts it supports (`low`, `medium`, ...), what `turn/start`'s `effort` takes.
    #[serde(default)]
    pub efforts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_effort: Option<String>,
    /// Codex's default model.
    #[serde(default)]
    pub is_default: bool,
}

/// How full the session's context is (`thread/tokenUsage/updated`): the context meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextUsage {
    /// Tokens in the context as of the last model request.
    pub tokens: u64,
    /// The model's context window, when Codex knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
    /// Tokens used by the thread so far, all requests together.
    pub total: u64,
}

/// What the server knows of the Codex account, for the header; every tab gets it on load
/// (`PageData::account`) and again whenever it changes (`ServerFrame::Account`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    /// Who Codex is signed in as (never a key or a token), or that the demo model is in use.
    #[serde(default)]
    pub login: Login,
    /// The account's rate limits, when Codex reports them (a real account does; the demo model's
    /// provider reports none, and then nothing is shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
    /// Whether Codex itself runs: the header shows a notice while it cannot start.
    #[serde(default)]
    pub codex: CodexHealth,
    /// A device-code sign-in in progress, or why the last one ended without an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signin: Option<SignIn>,
}

/// Whether the Codex app-server runs. `Down` only when a process could not even start (a
/// missing or wrong binary, a broken home); a crash of a running Codex is `Starting` again while
/// it is restarted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CodexHealth {
    #[default]
    Starting,
    Ready,
    Down {
        /// What starting it said (untrusted text: a path, an OS error).
        reason: String,
    },
}

impl CodexHealth {
    /// The `data-codex` value of the header.
    pub fn as_str(&self) -> &'static str {
        match self {
            CodexHealth::Starting => "starting",
            CodexHealth::Ready => "ready",
            CodexHealth::Down { .. } => "down",
        }
    }
}

/// A device-code sign-in, as every operator screen shows it. The code is no secret on its own:
/// it signs Codex in only once someone approves it while signed in to their own account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignIn {
    /// Open `verification_url` on any device and enter `user_code`.
    Waiting {
        user_code: String,
        verification_url: String,
    },
    /// The sign-in ended without an account (expired, refused, cancelled).
    Failed { message: String },
}

/// Who Codex works as (`account/read`), as the header says it. Never holds a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Login {
    /// Codex has not said yet (starting, or not reachable).
    #[default]
    Unknown,
    /// The embedded demo model answers; no account is needed or used.
    Demo,
    /// Codex has no usable account: it needs one (sign in, or an API key).
    SignedOut,
    /// An OpenAI API key Codex keeps in its home.
    ApiKey,
    /// A ChatGPT account.
    Chatgpt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<String>,
    },
    /// Another kind of account Codex reports (`amazonBedrock`, `gcp`, ...), or none needed by
    /// its provider.
    Other { kind: String },
}

impl Login {
    /// The `data-login` value of the header.
    pub fn as_str(&self) -> &'static str {
        match self {
            Login::Unknown => "unknown",
            Login::Demo => "demo",
            Login::SignedOut => "signed_out",
            Login::ApiKey => "api_key",
            Login::Chatgpt { .. } => "chatgpt",
            Login::Other { .. } => "other",
        }
    }
}

/// Codex's rate-limit windows (`account/rateLimits/updated`): a short one and a long one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<LimitWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<LimitWindow>,
}

/// One rate-limit window: how much of it is used, how long it is, when it starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitWindow {
    pub used_percent: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_mins: Option<u64>,
    /// Seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<i64>,
}
