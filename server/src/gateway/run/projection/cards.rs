//! Cards for the items that are neither prose, shell commands nor our own dynamic tools: file
//! changes, the turn's plan and diff, reasoning, web searches, MCP calls, image views,
//! compactions, and any kind this build does not know (a private generic card, never dropped).
//!
//! Part of the pure projection: it decides which writes an item makes, with the card's `tool`
//! name being the UI contract's `data-tool`. It must not write, read the store or keep time.

use app::wire::{PlanStep, Seq, ToolStatus};
use serde_json::Value;

use super::{tool_status, Projection, Write};
use crate::codex::{FileChange, Item, McpToolCall};
use crate::gateway::diff;
use crate::ids::{CallId, TurnId};
use crate::store::record::{StoredDetail, StoredDiff};
use crate::store::RecordBody;

/// An unknown item's card shows at most this much of its JSON.
pub(in crate::gateway::run) const GENERIC_JSON_MAX: usize = 4 * 1024;
/// What a compaction card says.
const COMPACTED: &str = "Context compacted";

/// What an item's card is, once it is known which item it is.
struct Card {
    key: String,
    private: bool,
    tool: String,
    command: String,
    detail: Option<StoredDetail>,
}

impl Projection {
    /// `item/started` for a card item: opens its card, unless it has nothing to show yet (a
    /// reasoning item or a proposed plan before its text, a web search before its query).
    pub(super) fn card_started(&mut self, item: Item, writes: &mut Vec<Write>) {
        if let Item::FileChange { id, changes, .. } = &item {
            // The approval that may ask about these changes names the item but carries no diff.
            self.file_changes.insert(id.clone(), stored_diffs(changes));
        }
        let opens_now = match &item {
            Item::Reasoning { .. } | Item::Plan { .. } => false,
            Item::WebSearch { query, .. } => !query.is_empty(),
            Item::Other { id, .. } => id.is_some(),
            _ => true,
        };
        if !opens_now {
            return;
        }
        if let Some(card) = card(&item) {
            if !self.items.contains_key(&card.key) {
                writes.push(self.open(card));
            }
        }
    }

    /// `item/completed` for a card item: opens its card if nothing did yet, brings its detail up
    /// to date, and finishes it with the item's status and output.
    pub(super) fn card_completed(&mut self, item: Item, writes: &mut Vec<Write>) {
        if let Item::FileChange { id, changes, .. } = &item {
            self.file_changes.insert(id.clone(), stored_diffs(changes));
        }
        let Some(card) = card(&item) else {
            return;
        };
        let (key, private) = (card.key.clone(), card.private);
        let target = self.items.get(&key).copied();
        match target {
            None => writes.push(self.open(card)),
            Some(target) => {
                if let Some(detail) = card.detail {
                    self.update(&key, target, private, detail, writes);
                }
            }
        }
        let (status, output) = outcome(&item);
        let body = RecordBody::ToolFinished {
            target: target.unwrap_or_default(),
            status,
            output,
            exit_code: None,
        };
        writes.push(Write::new(private, body).targeting(target));
    }

    /// `turn/plan/updated`: the turn's one plan card opens, or changes in place.
    pub(super) fn plan_updated(
        &mut self,
        turn: &TurnId,
        explanation: Option<String>,
        steps: Vec<PlanStep>,
        writes: &mut Vec<Write>,
    ) {
        let command = explanation.clone().unwrap_or_else(|| "Plan".to_owned());
        let detail = StoredDetail::Plan { steps, explanation };
        self.turn_card(format!("plan:{turn}"), "plan", command, detail, writes);
    }

    /// `turn/diff/updated`: the turn's one diff card opens, or changes in place.
    pub(super) fn turn_diff_updated(&mut self, turn: &TurnId, raw: &str, writes: &mut Vec<Write>) {
        let files = diff::split_files(raw);
        let command = paths(&files);
        let key = format!("diff:{turn}");
        if files.is_empty() && !self.details.contains_key(&key) {
            return;
        }
        let detail = StoredDetail::Files { files };
        self.turn_card(key, "turn_diff", command, detail, writes);
    }

    /// The turn completed: its plan and diff cards are done.
    pub(super) fn finish_turn_cards(&mut self, writes: &mut Vec<Write>) {
        for key in std::mem::take(&mut self.turn_cards) {
            if let Some(&target) = self.items.get(&key) {
                let body = RecordBody::ToolFinished {
                    target,
                    status: ToolStatus::Completed,
                    output: String::new(),
                    exit_code: None,
                };
                writes.push(Write::new(false, body));
            }
        }
    }

    fn turn_card(
        &mut self,
        key: String,
        tool: &str,
        command: String,
        detail: StoredDetail,
        writes: &mut Vec<Write>,
    ) {
        if let Some(&target) = self.items.get(&key) {
            self.update(&key, target, false, detail, writes);
        } else if !self.turn_cards.contains(&key) {
            self.turn_cards.push(key.clone());
            writes.push(self.open(Card {
                key,
                private: false,
                tool: tool.to_owned(),
                command,
                detail: Some(detail),
            }));
        }
        // Else its card was written but not stored (the store failed): nothing to update.
    }

    /// A `ToolUpdated` for the card at `target` if `detail` differs from what it shows.
    fn update(
        &mut self,
        key: &str,
        target: Seq,
        private: bool,
        detail: StoredDetail,
        writes: &mut Vec<Write>,
    ) {
        if self.details.get(key) == Some(&detail) {
            return;
        }
        self.details.insert(key.to_owned(), detail.clone());
        writes.push(Write::new(
            private,
            RecordBody::ToolUpdated { target, detail },
        ));
    }

    fn open(&mut self, card: Card) -> Write {
        if let Some(detail) = &card.detail {
            self.details.insert(card.key.clone(), detail.clone());
        }
        let body = RecordBody::ToolStarted {
            call_id: CallId::from(card.key.as_str()),
            tool: card.tool,
            command: card.command,
            relay: app::wire::RelayDecision::None,
            detail: card.detail,
        };
        Write::new(card.private, body).creating(&card.key)
    }
}

/// The card an item makes, or `None` when it has nothing to show (reasoning with no readable
/// text) or is not a card item at all (prose, shell commands, dynamic tools, user messages).
fn card(item: &Item) -> Option<Card> {
    let visible = |key: &str, tool: &str, command: String, detail| Card {
        key: key.to_owned(),
        private: false,
        tool: tool.to_owned(),
        command,
        detail,
    };
    Some(match item {
        Item::FileChange { id, changes, .. } => {
            let files = stored_diffs(changes);
            visible(
                id,
                "file_change",
                paths(&files),
                Some(StoredDetail::Files { files }),
            )
        }
        Item::Plan { id, text } => visible(id, "proposed_plan", text.clone(), None),
        Item::Reasoning {
            id,
            summary,
            content,
        } => {
            // The summary is what a reader is meant to see; raw content only when there is no
            // summary (providers that send it at all).
            let parts = if summary.iter().any(|s| !s.trim().is_empty()) {
                summary
            } else {
                content
            };
            let text = parts.join("\n\n");
            if text.trim().is_empty() {
                return None;
            }
            Card {
                private: true,
                ..visible(id, "reasoning", text, None)
            }
        }
        Item::WebSearch { id, query, action } => {
            let query = if query.is_empty() {
                action.as_ref().map(describe_search).unwrap_or_default()
            } else {
                query.clone()
            };
            visible(id, "web_search", query, None)
        }
        Item::McpToolCall(call) => visible(
            &call.id,
            "mcp",
            format!("{}/{}", call.server, call.tool),
            Some(StoredDetail::Mcp {
                server: call.server.clone(),
                tool: call.tool.clone(),
                arguments: call.arguments.to_string(),
            }),
        ),
        Item::ImageView { id, path } => visible(id, "image", path.clone(), None),
        Item::ContextCompaction { id } => visible(id, "compaction", COMPACTED.to_owned(), None),
        Item::Other { id, kind, raw } => Card {
            key: id
                .clone()
                .unwrap_or_else(|| format!("{kind}:{}", bounded_json(raw))),
            private: true,
            tool: if kind.is_empty() {
                "unknown".to_owned()
            } else {
                kind.clone()
            },
            command: bounded_json(raw),
            detail: None,
        },
        // Prose, shell commands, dynamic tools and user messages have their own handling.
        Item::UserMessage { .. }
        | Item::AgentMessage { .. }
        | Item::CommandExecution { .. }
        | Item::DynamicToolCall { .. } => return None,
    })
}

/// How a completed item's card ends: its status, and its output text.
fn outcome(item: &Item) -> (ToolStatus, String) {
    match item {
        Item::FileChange { status, .. } => (tool_status(status), String::new()),
        Item::McpToolCall(call) => {
            let McpToolCall {
                status,
                result,
                error,
                ..
            } = call.as_ref();
            let output = match (error, result) {
                (Some(message), _) => message.clone(),
                (None, Some(result)) => mcp_text(result),
                (None, None) => String::new(),
            };
            (tool_status(status), output)
        }
        Item::WebSearch {
            action: Some(action),
            ..
        } => (ToolStatus::Completed, describe_search(action)),
        Item::Other { raw, .. } => {
            let status = raw
                .get("status")
                .and_then(Value::as_str)
                .map_or(ToolStatus::Completed, tool_status);
            (status, String::new())
        }
        _ => (ToolStatus::Completed, String::new()),
    }
}

/// A `fileChange` item's changes as stored: an added file's content as added lines, a deleted
/// file's as removed lines, an update's unified diff as Codex wrote it.
pub(in crate::gateway::run) fn stored_diffs(changes: &[FileChange]) -> Vec<StoredDiff> {
    changes
        .iter()
        .map(|change| {
            let diff = match change.kind.as_str() {
                "add" => prefixed(&change.diff, '+'),
                "delete" => prefixed(&change.diff, '-'),
                _ => change.diff.clone(),
            };
            StoredDiff {
                path: change.path.clone(),
                kind: change.kind.clone(),
                diff,
            }
        })
        .collect()
}

fn prefixed(content: &str, sign: char) -> String {
    content.lines().map(|l| format!("{sign}{l}\n")).collect()
}

/// A files card's command line: the paths it touches.
fn paths(files: &[StoredDiff]) -> String {
    files
        .iter()
        .map(|f| f.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An MCP result's text content (its `text` parts, one per line); without any, its structured
/// content or the whole result as compact JSON.
fn mcp_text(result: &Value) -> String {
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|part| part.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect();
    if !texts.is_empty() {
        return texts.join("\n");
    }
    let shown = result
        .get("structuredContent")
        .filter(|v| !v.is_null())
        .unwrap_or(result);
    bounded_json(shown)
}

/// A web search action in words: `search: <query>`, `open: <url>`, `find: <pattern> in <url>`.
fn describe_search(action: &Value) -> String {
    let field = |k: &str| action.get(k).and_then(Value::as_str).unwrap_or_default();
    match field("type") {
        "search" => {
            let queries: Vec<&str> = action
                .get("queries")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if queries.is_empty() {
                format!("search: {}", field("query"))
            } else {
                format!("search: {}", queries.join("; "))
            }
        }
        "openPage" => format!("open: {}", field("url")),
        "findInPage" => format!("find: {} in {}", field("pattern"), field("url")),
        _ => bounded_json(action),
    }
}

/// Compact JSON, cut to at most [`GENERIC_JSON_MAX`] bytes (on a character boundary, marked with
/// `…`).
pub(in crate::gateway::run) fn bounded_json(value: &Value) -> String {
    let json = value.to_string();
    if json.len() <= GENERIC_JSON_MAX {
        return json;
    }
    let mut end = GENERIC_JSON_MAX - '…'.len_utf8();
    while !json.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &json[..end])
}
