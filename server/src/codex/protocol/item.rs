//! The items of a Codex turn (`item/started`, `item/completed`), typed. Each kind the gateway
//! shows gets a variant with the fields its card needs; parsing never fails: an unknown kind, or a
//! known one whose fields do not match, is `Item::Other` with its raw JSON, so the transcript can
//! still show it. It decides nothing about how an item is shown (that is the projection's).

use serde::Deserialize;
use serde_json::Value;

use super::str_at;

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
    /// An `apply_patch`: the files it changes, proposed (`inProgress`) or applied.
    FileChange {
        id: String,
        changes: Vec<FileChange>,
        /// `inProgress`, `completed`, `failed` or `declined`.
        status: String,
        /// The item as Codex sent it: approvals of a change are measured against it (the
        /// `fileChange` approval request itself carries neither paths nor diffs).
        raw: Value,
    },
    /// A plan proposed as text (Codex's Plan mode); not the checklist of `turn/plan/updated`.
    Plan {
        id: String,
        text: String,
    },
    /// The model's reasoning: its summary parts and (rarely sent) raw content parts.
    Reasoning {
        id: String,
        summary: Vec<String>,
        content: Vec<String>,
    },
    WebSearch {
        id: String,
        query: String,
        /// What the search did (`{"type":"search","query"}`, `{"type":"openPage","url"}`, ...),
        /// once known.
        action: Option<Value>,
    },
    /// Boxed: the largest item by far, and every notification would carry its size.
    McpToolCall(Box<McpToolCall>),
    /// The model looked at a local image.
    ImageView {
        id: String,
        path: String,
    },
    /// Codex compacted the thread's context.
    ContextCompaction {
        id: String,
    },
    Other {
        id: Option<String>,
        kind: String,
        raw: Value,
    },
}

/// An MCP tool call.
#[derive(Clone, Debug, PartialEq)]
pub struct McpToolCall {
    pub id: String,
    pub server: String,
    pub tool: String,
    pub arguments: Value,
    /// `inProgress`, `completed` or `failed`.
    pub status: String,
    /// The MCP result (`{"content":[...], "structuredContent"}`), once completed.
    pub result: Option<Value>,
    /// The error message of a failed call.
    pub error: Option<String>,
}

/// One file of a `fileChange` item, as Codex sends it: for an added or deleted file `diff` is the
/// file's content, for an update a unified diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    /// `add`, `delete` or `update`.
    pub kind: String,
    pub diff: String,
}

impl Item {
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::UserMessage { id }
            | Item::AgentMessage { id, .. }
            | Item::CommandExecution { id, .. }
            | Item::DynamicToolCall { id, .. }
            | Item::FileChange { id, .. }
            | Item::Plan { id, .. }
            | Item::Reasoning { id, .. }
            | Item::WebSearch { id, .. }
            | Item::ImageView { id, .. }
            | Item::ContextCompaction { id } => Some(id),
            Item::McpToolCall(call) => Some(&call.id),
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
        #[derive(Deserialize)]
        struct Reasoning {
            id: String,
            #[serde(default)]
            summary: Vec<String>,
            #[serde(default)]
            content: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Search {
            id: String,
            #[serde(default)]
            query: String,
            #[serde(default)]
            action: Option<Value>,
        }
        #[derive(Deserialize)]
        struct Mcp {
            id: String,
            server: String,
            tool: String,
            #[serde(default)]
            arguments: Value,
            status: String,
            #[serde(default)]
            result: Option<Value>,
            #[serde(default)]
            error: Option<Value>,
        }
        let id = || str_at(raw, "id").map(str::to_owned);
        Some(match str_at(raw, "type")? {
            "userMessage" => Item::UserMessage { id: id()? },
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
            "fileChange" => Item::FileChange {
                id: id()?,
                changes: raw
                    .get("changes")?
                    .as_array()?
                    .iter()
                    .map(FileChange::parse)
                    .collect::<Option<_>>()?,
                status: str_at(raw, "status")?.to_owned(),
                raw: raw.clone(),
            },
            "plan" => Item::Plan {
                id: id()?,
                text: str_at(raw, "text")?.to_owned(),
            },
            "reasoning" => {
                let r = Reasoning::deserialize(raw).ok()?;
                Item::Reasoning {
                    id: r.id,
                    summary: r.summary,
                    content: r.content,
                }
            }
            "webSearch" => {
                let s = Search::deserialize(raw).ok()?;
                Item::WebSearch {
                    id: s.id,
                    query: s.query,
                    action: s.action.filter(|a| !a.is_null()),
                }
            }
            "mcpToolCall" => {
                let m = Mcp::deserialize(raw).ok()?;
                Item::McpToolCall(Box::new(McpToolCall {
                    id: m.id,
                    server: m.server,
                    tool: m.tool,
                    arguments: m.arguments,
                    status: m.status,
                    result: m.result.filter(|r| !r.is_null()),
                    error: m.error.as_ref().and_then(super::error_message),
                }))
            }
            "imageView" => Item::ImageView {
                id: id()?,
                path: str_at(raw, "path")?.to_owned(),
            },
            "contextCompaction" => Item::ContextCompaction { id: id()? },
            _ => return None,
        })
    }
}

impl FileChange {
    fn parse(change: &Value) -> Option<FileChange> {
        Some(FileChange {
            path: str_at(change, "path")?.to_owned(),
            // `kind` is `{"type": "add" | "delete" | "update", "move_path"?}`.
            kind: change
                .pointer("/kind/type")
                .and_then(Value::as_str)
                .unwrap_or("update")
                .to_owned(),
            diff: str_at(change, "diff").unwrap_or_default().to_owned(),
        })
    }
}
