//! Wire types of the Codex app-server protocol, and the typed view of the few notifications and
//! server requests the gateway acts on. Parsing is deliberately lenient: anything unknown, or a
//! known method whose fields do not match, becomes an `Other` variant carrying the raw JSON, so a
//! newer Codex can never turn into an error here.

use app::wire::{LimitWindow, PlanStatus, PlanStep, RateLimits};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{CallId, ThreadId, TurnId};

mod item;

pub use item::{FileChange, Item, McpToolCall};

/// A JSON-RPC id. Ours are numbers from a counter; the server's are echoed back verbatim, so both
/// forms must round-trip exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Num(i64),
    Str(String),
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::Num(n) => write!(f, "{n}"),
            RequestId::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// Identifies one spawned app-server process. Server request ids are only meaningful within the
/// process that sent them, so answers carry the epoch they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(pub u64);

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The `error` member of a JSON-RPC response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcErrorObj {
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

impl RpcErrorObj {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Something the server sent us unprompted.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    Notification(Notification),
    /// Must be answered (with `Codex::respond`), or the turn that asked waits forever.
    Request {
        id: RequestId,
        request: ServerRequest,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnStatus {
    Completed,
    Interrupted,
    Failed,
    Other(String),
}

impl TurnStatus {
    fn parse(s: &str) -> Self {
        match s {
            "completed" => TurnStatus::Completed,
            "interrupted" => TurnStatus::Interrupted,
            "failed" => TurnStatus::Failed,
            other => TurnStatus::Other(other.to_owned()),
        }
    }
}

/// A thread's token usage, as `thread/tokenUsage/updated` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenUsage {
    /// `last.totalTokens`: what the latest model request held, i.e. what is in the context now.
    pub last: u64,
    /// `total.totalTokens`: every request of the thread together.
    pub total: u64,
    /// `modelContextWindow`, when Codex knows the model's window.
    pub window: Option<u64>,
}

impl TokenUsage {
    fn parse(usage: &Value) -> Option<TokenUsage> {
        let tokens = |part: &str| usage.get(part)?.get("totalTokens")?.as_u64();
        Some(TokenUsage {
            last: tokens("last")?,
            total: tokens("total")?,
            window: usage.get("modelContextWindow").and_then(Value::as_u64),
        })
    }
}

/// A plan step's status as Codex writes it (`inProgress`; the model's own `in_progress` is
/// accepted too).
fn plan_status(s: &str) -> Option<PlanStatus> {
    match s {
        "pending" => Some(PlanStatus::Pending),
        "inProgress" | "in_progress" => Some(PlanStatus::InProgress),
        "completed" => Some(PlanStatus::Completed),
        _ => None,
    }
}

fn plan_steps(plan: &Value) -> Option<Vec<PlanStep>> {
    plan.as_array()?
        .iter()
        .map(|s| {
            Some(PlanStep {
                step: str_at(s, "step")?.to_owned(),
                status: plan_status(str_at(s, "status")?)?,
            })
        })
        .collect()
}

/// Typed notifications we use; everything else is `Other` (never an error).
#[derive(Clone, Debug, PartialEq)]
pub enum Notification {
    TurnStarted {
        thread_id: ThreadId,
        turn_id: TurnId,
    },
    TurnCompleted {
        thread_id: ThreadId,
        turn_id: TurnId,
        status: TurnStatus,
        error: Option<String>,
    },
    ItemStarted {
        thread_id: ThreadId,
        turn_id: TurnId,
        item: Item,
    },
    ItemCompleted {
        thread_id: ThreadId,
        turn_id: TurnId,
        item: Item,
    },
    AgentMessageDelta {
        thread_id: ThreadId,
        turn_id: TurnId,
        item_id: String,
        delta: String,
    },
    CommandOutputDelta {
        thread_id: ThreadId,
        turn_id: TurnId,
        item_id: String,
        delta: String,
    },
    Error {
        thread_id: Option<ThreadId>,
        turn_id: Option<TurnId>,
        message: String,
        will_retry: bool,
    },
    HookStarted {
        thread_id: Option<ThreadId>,
        turn_id: Option<TurnId>,
        run: Value,
    },
    HookCompleted {
        thread_id: Option<ThreadId>,
        turn_id: Option<TurnId>,
        run: Value,
    },
    /// `turn/plan/updated`: the turn's checklist (the model's `update_plan`), whole each time.
    PlanUpdated {
        thread_id: ThreadId,
        turn_id: TurnId,
        explanation: Option<String>,
        steps: Vec<PlanStep>,
    },
    /// `turn/diff/updated`: the turn's aggregated unified diff so far, whole each time.
    TurnDiffUpdated {
        thread_id: ThreadId,
        turn_id: TurnId,
        diff: String,
    },
    /// `thread/tokenUsage/updated`, after every model response (and replayed on resume).
    TokenUsageUpdated {
        thread_id: ThreadId,
        turn_id: Option<TurnId>,
        usage: TokenUsage,
    },
    /// `account/rateLimits/updated`: the account's windows, sparse (a window left out keeps its
    /// last value). Not about any thread.
    RateLimitsUpdated {
        limits: RateLimits,
    },
    Other {
        method: String,
        params: Value,
    },
}

impl Notification {
    /// Never fails: unknown methods and malformed known ones become `Other`.
    pub fn parse(method: &str, params: Value) -> Notification {
        match Self::parse_typed(method, &params) {
            Some(n) => n,
            None => Notification::Other {
                method: method.to_owned(),
                params,
            },
        }
    }

    fn parse_typed(method: &str, p: &Value) -> Option<Notification> {
        let thread = || str_at(p, "threadId").map(ThreadId::from);
        let turn = || str_at(p, "turnId").map(TurnId::from);
        let turn_obj_id = || str_at(p.get("turn")?, "id").map(TurnId::from);
        Some(match method {
            "turn/started" => Notification::TurnStarted {
                thread_id: thread()?,
                turn_id: turn_obj_id()?,
            },
            "turn/completed" => {
                let t = p.get("turn")?;
                Notification::TurnCompleted {
                    thread_id: thread()?,
                    turn_id: turn_obj_id()?,
                    status: TurnStatus::parse(str_at(t, "status")?),
                    error: t.get("error").and_then(error_message),
                }
            }
            "item/started" | "item/completed" => {
                let (thread_id, turn_id, item) = (thread()?, turn()?, Item::parse(p.get("item")?));
                if method == "item/started" {
                    Notification::ItemStarted {
                        thread_id,
                        turn_id,
                        item,
                    }
                } else {
                    Notification::ItemCompleted {
                        thread_id,
                        turn_id,
                        item,
                    }
                }
            }
            "item/agentMessage/delta" | "item/commandExecution/outputDelta" => {
                let (thread_id, turn_id) = (thread()?, turn()?);
                let item_id = str_at(p, "itemId")?.to_owned();
                let delta = str_at(p, "delta")?.to_owned();
                if method == "item/agentMessage/delta" {
                    Notification::AgentMessageDelta {
                        thread_id,
                        turn_id,
                        item_id,
                        delta,
                    }
                } else {
                    Notification::CommandOutputDelta {
                        thread_id,
                        turn_id,
                        item_id,
                        delta,
                    }
                }
            }
            "error" => Notification::Error {
                thread_id: thread(),
                turn_id: turn(),
                message: p.get("error").and_then(error_message)?,
                will_retry: p.get("willRetry").and_then(Value::as_bool).unwrap_or(false),
            },
            "hook/started" => Notification::HookStarted {
                thread_id: thread(),
                turn_id: turn(),
                run: p.get("run")?.clone(),
            },
            "hook/completed" => Notification::HookCompleted {
                thread_id: thread(),
                turn_id: turn(),
                run: p.get("run")?.clone(),
            },
            "turn/plan/updated" => Notification::PlanUpdated {
                thread_id: thread()?,
                turn_id: turn()?,
                explanation: str_at(p, "explanation").map(str::to_owned),
                steps: plan_steps(p.get("plan")?)?,
            },
            "turn/diff/updated" => Notification::TurnDiffUpdated {
                thread_id: thread()?,
                turn_id: turn()?,
                diff: str_at(p, "diff")?.to_owned(),
            },
            "account/rateLimits/updated" => Notification::RateLimitsUpdated {
                limits: rate_limits(p.get("rateLimits")?),
            },
            "thread/tokenUsage/updated" => Notification::TokenUsageUpdated {
                thread_id: thread()?,
                turn_id: turn(),
                usage: TokenUsage::parse(p.get("tokenUsage")?)?,
            },
            _ => return None,
        })
    }

    /// The turn this notification concerns, if it names one (typed notifications only).
    pub fn turn_id(&self) -> Option<&TurnId> {
        match self {
            Notification::TurnStarted { turn_id, .. }
            | Notification::TurnCompleted { turn_id, .. }
            | Notification::ItemStarted { turn_id, .. }
            | Notification::ItemCompleted { turn_id, .. }
            | Notification::AgentMessageDelta { turn_id, .. }
            | Notification::CommandOutputDelta { turn_id, .. }
            | Notification::PlanUpdated { turn_id, .. }
            | Notification::TurnDiffUpdated { turn_id, .. } => Some(turn_id),
            Notification::Error { turn_id, .. }
            | Notification::TokenUsageUpdated { turn_id, .. }
            | Notification::HookStarted { turn_id, .. }
            | Notification::HookCompleted { turn_id, .. } => turn_id.as_ref(),
            Notification::RateLimitsUpdated { .. } | Notification::Other { .. } => None,
        }
    }

    /// The thread this notification concerns, if any (also for untyped ones that carry
    /// `threadId`, and for `thread/started`, which nests it as `thread.id`).
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            Notification::TurnStarted { thread_id, .. }
            | Notification::TurnCompleted { thread_id, .. }
            | Notification::ItemStarted { thread_id, .. }
            | Notification::ItemCompleted { thread_id, .. }
            | Notification::AgentMessageDelta { thread_id, .. }
            | Notification::CommandOutputDelta { thread_id, .. }
            | Notification::PlanUpdated { thread_id, .. }
            | Notification::TurnDiffUpdated { thread_id, .. }
            | Notification::TokenUsageUpdated { thread_id, .. } => Some(thread_id.as_str()),
            Notification::Error { thread_id, .. }
            | Notification::HookStarted { thread_id, .. }
            | Notification::HookCompleted { thread_id, .. } => {
                thread_id.as_ref().map(ThreadId::as_str)
            }
            Notification::RateLimitsUpdated { .. } => None,
            Notification::Other { params, .. } => str_at(params, "threadId")
                .or_else(|| params.get("thread").and_then(|t| str_at(t, "id"))),
        }
    }
}

/// A request the server sent us.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerRequest {
    /// `item/tool/call`: a dynamic tool call.
    /// Answer `{"contentItems":[{"type":"inputText","text":..}],"success":true}`.
    ToolCall {
        thread_id: ThreadId,
        turn_id: TurnId,
        call_id: CallId,
        tool: String,
        arguments: Value,
    },
    /// `item/commandExecution/requestApproval`. Answer `{decision}`.
    CommandApproval {
        thread_id: ThreadId,
        turn_id: TurnId,
        item_id: String,
        raw: Value,
    },
    /// `item/fileChange/requestApproval`. Answer `{decision}`.
    FileChangeApproval {
        thread_id: ThreadId,
        turn_id: TurnId,
        item_id: String,
        raw: Value,
    },
    /// Anything else; answer with a JSON-RPC error if unsupported.
    Other { method: String, params: Value },
}

impl ServerRequest {
    /// Never fails: unknown methods and malformed known ones become `Other`.
    pub fn parse(method: &str, params: Value) -> ServerRequest {
        match Self::parse_typed(method, &params) {
            Some(r) => r,
            None => ServerRequest::Other {
                method: method.to_owned(),
                params,
            },
        }
    }

    fn parse_typed(method: &str, p: &Value) -> Option<ServerRequest> {
        let field = |k: &str| str_at(p, k).map(str::to_owned);
        Some(match method {
            "item/tool/call" => ServerRequest::ToolCall {
                thread_id: ThreadId::from(field("threadId")?),
                turn_id: TurnId::from(field("turnId")?),
                call_id: CallId::from(field("callId")?),
                tool: field("tool")?,
                arguments: p.get("arguments").cloned().unwrap_or(Value::Null),
            },
            "item/commandExecution/requestApproval" => ServerRequest::CommandApproval {
                thread_id: ThreadId::from(field("threadId")?),
                turn_id: TurnId::from(field("turnId")?),
                item_id: field("itemId")?,
                raw: p.clone(),
            },
            "item/fileChange/requestApproval" => ServerRequest::FileChangeApproval {
                thread_id: ThreadId::from(field("threadId")?),
                turn_id: TurnId::from(field("turnId")?),
                item_id: field("itemId")?,
                raw: p.clone(),
            },
            _ => return None,
        })
    }

    pub fn method(&self) -> &str {
        match self {
            ServerRequest::ToolCall { .. } => "item/tool/call",
            ServerRequest::CommandApproval { .. } => "item/commandExecution/requestApproval",
            ServerRequest::FileChangeApproval { .. } => "item/fileChange/requestApproval",
            ServerRequest::Other { method, .. } => method,
        }
    }

    pub fn thread_id(&self) -> Option<&str> {
        match self {
            ServerRequest::ToolCall { thread_id, .. }
            | ServerRequest::CommandApproval { thread_id, .. }
            | ServerRequest::FileChangeApproval { thread_id, .. } => Some(thread_id.as_str()),
            ServerRequest::Other { params, .. } => str_at(params, "threadId"),
        }
    }
}

/// A `RateLimitSnapshot`'s two windows; a window without a usable `usedPercent` is left out.
pub fn rate_limits(snapshot: &Value) -> RateLimits {
    let window = |key: &str| {
        let w = snapshot.get(key)?;
        Some(LimitWindow {
            used_percent: u32::try_from(w.get("usedPercent")?.as_i64()?.clamp(0, 100)).ok()?,
            window_mins: w
                .get("windowDurationMins")
                .and_then(Value::as_u64)
                .filter(|m| *m > 0),
            resets_at: w.get("resetsAt").and_then(Value::as_i64),
        })
    };
    RateLimits {
        primary: window("primary"),
        secondary: window("secondary"),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Codex errors are objects with a `message` (plus `codexErrorInfo`); accept a bare string too.
fn error_message(e: &Value) -> Option<String> {
    match e {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => str_at(e, "message").map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
