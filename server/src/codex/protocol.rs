//! Wire types of the Codex app-server protocol, and the typed view of the few notifications and
//! server requests the gateway acts on. Parsing is deliberately lenient: anything unknown, or a
//! known method whose fields do not match, becomes an `Other` variant carrying the raw JSON, so a
//! newer Codex can never turn into an error here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{CallId, ThreadId, TurnId};

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
    Other {
        method: String,
        params: Value,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    UserMessage {
        id: String,
    },
    AgentMessage {
        id: String,
        text: String,
    },
    CommandExecution {
        id: String,
        command: String,
        status: String,
        aggregated_output: Option<String>,
        exit_code: Option<i32>,
    },
    DynamicToolCall {
        id: String,
        tool: String,
        arguments: Value,
        status: String,
    },
    Other {
        id: Option<String>,
        kind: String,
        raw: Value,
    },
}

impl Item {
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::UserMessage { id }
            | Item::AgentMessage { id, .. }
            | Item::CommandExecution { id, .. }
            | Item::DynamicToolCall { id, .. } => Some(id),
            Item::Other { id, .. } => id.as_deref(),
        }
    }

    /// Never fails: an item whose known `type` lacks the fields we expect is kept as `Other`.
    pub fn parse(raw: &Value) -> Item {
        Self::parse_typed(raw).unwrap_or_else(|| Item::Other {
            id: str_at(raw, "id").map(str::to_owned),
            kind: str_at(raw, "type").unwrap_or_default().to_owned(),
            raw: raw.clone(),
        })
    }

    fn parse_typed(raw: &Value) -> Option<Item> {
        #[derive(Deserialize)]
        struct Agent {
            id: String,
            #[serde(default)]
            text: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Command {
            id: String,
            command: String,
            status: String,
            aggregated_output: Option<String>,
            exit_code: Option<i32>,
        }
        #[derive(Deserialize)]
        struct Tool {
            id: String,
            tool: String,
            #[serde(default)]
            arguments: Value,
            status: String,
        }
        Some(match str_at(raw, "type")? {
            "userMessage" => Item::UserMessage {
                id: str_at(raw, "id")?.to_owned(),
            },
            "agentMessage" => {
                let a = Agent::deserialize(raw).ok()?;
                Item::AgentMessage {
                    id: a.id,
                    text: a.text,
                }
            }
            "commandExecution" => {
                let c = Command::deserialize(raw).ok()?;
                Item::CommandExecution {
                    id: c.id,
                    command: c.command,
                    status: c.status,
                    aggregated_output: c.aggregated_output,
                    exit_code: c.exit_code,
                }
            }
            "dynamicToolCall" => {
                let t = Tool::deserialize(raw).ok()?;
                Item::DynamicToolCall {
                    id: t.id,
                    tool: t.tool,
                    arguments: t.arguments,
                    status: t.status,
                }
            }
            _ => return None,
        })
    }
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
            | Notification::CommandOutputDelta { turn_id, .. } => Some(turn_id),
            Notification::Error { turn_id, .. }
            | Notification::HookStarted { turn_id, .. }
            | Notification::HookCompleted { turn_id, .. } => turn_id.as_ref(),
            Notification::Other { .. } => None,
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
            | Notification::CommandOutputDelta { thread_id, .. } => Some(thread_id.as_str()),
            Notification::Error { thread_id, .. }
            | Notification::HookStarted { thread_id, .. }
            | Notification::HookCompleted { thread_id, .. } => {
                thread_id.as_ref().map(ThreadId::as_str)
            }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn notif(line: &str) -> Notification {
        let v: Value = serde_json::from_str(line).expect("test JSON");
        let method = v["method"].as_str().expect("method").to_owned();
        Notification::parse(&method, v["params"].clone())
    }

    #[test]
    fn request_ids_round_trip_both_forms() {
        let ids: Vec<RequestId> = serde_json::from_str(r#"[0, "s-1", -5]"#).expect("ids");
        assert_eq!(
            ids,
            [
                RequestId::Num(0),
                RequestId::Str("s-1".into()),
                RequestId::Num(-5)
            ]
        );
        assert_eq!(serde_json::to_string(&ids).expect("ser"), r#"[0,"s-1",-5]"#);
    }

    #[test]
    fn turn_notifications_from_reference() {
        let started = notif(
            r#"{"method":"turn/started","params":{"threadId":"t1","turn":{"id":"u1","status":"inProgress","items":[]}},"emittedAtMs":1}"#,
        );
        assert_eq!(
            started,
            Notification::TurnStarted {
                thread_id: "t1".into(),
                turn_id: "u1".into()
            }
        );
        let interrupted = notif(
            r#"{"method":"turn/completed","params":{"threadId":"t1","turn":{"id":"u1","status":"interrupted","items":[],"error":null,"durationMs":570}}}"#,
        );
        assert_eq!(
            interrupted,
            Notification::TurnCompleted {
                thread_id: "t1".into(),
                turn_id: "u1".into(),
                status: TurnStatus::Interrupted,
                error: None
            }
        );
        let failed = notif(
            r#"{"method":"turn/completed","params":{"threadId":"t1","turn":{"id":"u2","status":"failed","error":{"message":"unexpected status 401 Unauthorized","codexErrorInfo":{"httpConnectionFailed":{"httpStatusCode":401}}}}}}"#,
        );
        assert!(
            matches!(failed, Notification::TurnCompleted { status: TurnStatus::Failed, error: Some(ref m), .. } if m.starts_with("unexpected status 401"))
        );
    }

    #[test]
    fn item_notifications_from_reference() {
        let cmd = notif(
            r#"{"method":"item/completed","params":{"threadId":"t","turnId":"u","item":{"type":"commandExecution","id":"call_sh_4","command":"/bin/bash -lc 'echo probe-shell-ok'","source":"unifiedExecStartup","status":"completed","processId":"84055","aggregatedOutput":"probe-shell-ok\n","exitCode":0}}}"#,
        );
        assert_eq!(
            cmd,
            Notification::ItemCompleted {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item: Item::CommandExecution {
                    id: "call_sh_4".into(),
                    command: "/bin/bash -lc 'echo probe-shell-ok'".into(),
                    status: "completed".into(),
                    aggregated_output: Some("probe-shell-ok\n".into()),
                    exit_code: Some(0),
                },
            }
        );
        let started = notif(
            r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"commandExecution","id":"c","command":"ls","status":"inProgress"}}}"#,
        );
        assert!(matches!(
            started,
            Notification::ItemStarted {
                item: Item::CommandExecution {
                    aggregated_output: None,
                    exit_code: None,
                    ..
                },
                ..
            }
        ));
        let tool = notif(
            r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"dynamicToolCall","id":"call_msg_2","namespace":null,"tool":"message","arguments":{"action":"send","message":"hello"},"status":"inProgress"}}}"#,
        );
        assert!(
            matches!(tool, Notification::ItemStarted { item: Item::DynamicToolCall { ref tool, ref arguments, .. }, .. }
            if tool == "message" && arguments["message"] == "hello")
        );
        let agent = notif(
            r#"{"method":"item/completed","params":{"threadId":"t","turnId":"u","item":{"type":"agentMessage","id":"msg_1","text":"hi","phase":null}}}"#,
        );
        assert!(
            matches!(agent, Notification::ItemCompleted { item: Item::AgentMessage { ref text, .. }, .. } if text == "hi")
        );
        let user = notif(
            r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"userMessage","id":"m0","content":[]}}}"#,
        );
        assert!(matches!(
            user,
            Notification::ItemStarted {
                item: Item::UserMessage { .. },
                ..
            }
        ));
        let reasoning = notif(
            r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"reasoning","id":"r1"}}}"#,
        );
        assert!(
            matches!(reasoning, Notification::ItemStarted { item: Item::Other { ref kind, id: Some(ref id), .. }, .. } if kind == "reasoning" && id == "r1")
        );
        // A known item type missing required fields degrades to Other instead of failing.
        let odd = Item::parse(&json!({"type":"commandExecution","id":"c"}));
        assert!(matches!(odd, Item::Other { ref kind, .. } if kind == "commandExecution"));
    }

    #[test]
    fn deltas_errors_hooks_from_reference() {
        let delta = notif(
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"msg_1","delta":"Hello from the "}}"#,
        );
        assert_eq!(
            delta,
            Notification::AgentMessageDelta {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "msg_1".into(),
                delta: "Hello from the ".into()
            }
        );
        let out = notif(
            r#"{"method":"item/commandExecution/outputDelta","params":{"threadId":"t","turnId":"u","itemId":"c","delta":"x\n"}}"#,
        );
        assert!(
            matches!(out, Notification::CommandOutputDelta { ref delta, .. } if delta == "x\n")
        );
        let err = notif(
            r#"{"method":"error","params":{"error":{"message":"Reconnecting... waiting for network","codexErrorInfo":{"responseStreamDisconnected":{}}},"willRetry":true,"threadId":"t","turnId":"u"}}"#,
        );
        assert_eq!(
            err,
            Notification::Error {
                thread_id: Some("t".into()),
                turn_id: Some("u".into()),
                message: "Reconnecting... waiting for network".into(),
                will_retry: true
            }
        );
        let hook = notif(
            r#"{"method":"hook/completed","params":{"threadId":"t","turnId":"u","run":{"id":"pre-tool-use:0:/<x>/config.toml:call_sh_6","eventName":"preToolUse","status":"blocked","entries":[{"kind":"feedback","text":"no"}]}}}"#,
        );
        assert!(
            matches!(hook, Notification::HookCompleted { ref run, .. } if run["status"] == "blocked")
        );
        assert_eq!(hook.thread_id(), Some("t"));
    }

    #[test]
    fn unknown_and_malformed_notifications_are_other() {
        let status = notif(
            r#"{"method":"thread/status/changed","params":{"threadId":"t9","status":{"type":"idle"}}}"#,
        );
        assert!(
            matches!(status, Notification::Other { ref method, .. } if method == "thread/status/changed")
        );
        assert_eq!(status.thread_id(), Some("t9"));
        let started = notif(r#"{"method":"thread/started","params":{"thread":{"id":"t7"}}}"#);
        assert_eq!(started.thread_id(), Some("t7"));
        let warning =
            notif(r#"{"method":"configWarning","params":{"summary":"x","details":null}}"#);
        assert_eq!(warning.thread_id(), None);
        // turn/started without a turn object: tolerated as Other.
        let broken = Notification::parse("turn/started", json!({"threadId": 5}));
        assert!(matches!(broken, Notification::Other { .. }));
        let no_params = Notification::parse("initialized", Value::Null);
        assert!(matches!(no_params, Notification::Other { .. }));
    }

    #[test]
    fn server_requests_from_reference() {
        let call = ServerRequest::parse(
            "item/tool/call",
            json!({"threadId":"t","turnId":"u","callId":"call_msg_2","namespace":null,"tool":"message","arguments":{"action":"send","message":"hello"}}),
        );
        assert_eq!(
            call,
            ServerRequest::ToolCall {
                thread_id: "t".into(),
                turn_id: "u".into(),
                call_id: "call_msg_2".into(),
                tool: "message".into(),
                arguments: json!({"action":"send","message":"hello"})
            }
        );
        assert_eq!(call.method(), "item/tool/call");
        let approval = ServerRequest::parse(
            "item/commandExecution/requestApproval",
            json!({"kind":"command","threadId":"t","turnId":"u","itemId":"call_sh_1","command":"touch x","availableDecisions":["accept","cancel"]}),
        );
        assert!(
            matches!(approval, ServerRequest::CommandApproval { ref item_id, ref raw, .. } if item_id == "call_sh_1" && raw["command"] == "touch x")
        );
        let file = ServerRequest::parse(
            "item/fileChange/requestApproval",
            json!({"threadId":"t","turnId":"u","itemId":"f1","startedAtMs":1}),
        );
        assert!(matches!(file, ServerRequest::FileChangeApproval { .. }));
        assert_eq!(file.thread_id(), Some("t"));
        let input = ServerRequest::parse("item/tool/requestUserInput", json!({"threadId":"t"}));
        assert!(
            matches!(input, ServerRequest::Other { ref method, .. } if method == "item/tool/requestUserInput")
        );
        assert_eq!(input.thread_id(), Some("t"));
        let broken = ServerRequest::parse("item/tool/call", json!({"threadId":"t"}));
        assert!(matches!(broken, ServerRequest::Other { .. }));
    }
}
