//! The pure projection from one run's Codex notifications to transcript writes.
//!
//! A [`Projection`] belongs to one run. It turns each notification into the [`Write`]s the
//! transcript should get (model prose, tool cards, their updates) and the [`Step`] the run's phase
//! should take, and it buffers streamed text ([`StreamBuffer`]) so a reload mid-stream shows
//! nearly everything without one write per token. It knows no gateway, no store and no clock:
//! times come in as arguments, and the entries its writes create come back through
//! [`Projection::created`] once stored. It never writes, and it never decides how a run ends
//! (that is the phase's).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use app::wire::{ContextUsage, RelayDecision, Seq, ToolStatus};

use super::phase::Step;
use crate::codex::{Item, Notification, TurnStatus};
use crate::ids::{CallId, ThreadId};
use crate::store::record::{StoredDetail, StoredDiff};
use crate::store::RecordBody;

mod cards;

/// Stream deltas are written at most this often per item (coalesced).
pub(super) const DELTA_FLUSH: Duration = Duration::from_millis(100);

/// A transcript event the projection decided on, for the caller to write.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Write {
    pub private: bool,
    pub body: RecordBody,
    /// The body's `target` is unknown: point it at the entry created just before.
    pub target_unknown: bool,
    /// The Codex item whose entry this event creates, so later events can target it.
    pub creates: Option<String>,
}

impl Write {
    fn new(private: bool, body: RecordBody) -> Write {
        Write {
            private,
            body,
            target_unknown: false,
            creates: None,
        }
    }

    fn creating(mut self, item: &str) -> Write {
        self.creates = Some(item.to_owned());
        self
    }

    fn targeting(mut self, target: Option<Seq>) -> Write {
        self.target_unknown = target.is_none();
        self
    }

    /// Points an unknown target at `last_created`, the entry written just before in the same
    /// batch. False when the write must be dropped: it has nothing to point at.
    pub fn resolve_target(&mut self, last_created: Option<Seq>) -> bool {
        if !self.target_unknown {
            return true;
        }
        match (&mut self.body, last_created) {
            (
                RecordBody::TextDone { target, .. }
                | RecordBody::ToolFinished { target, .. }
                | RecordBody::ToolUpdated { target, .. }
                | RecordBody::TextAppend { target, .. },
                Some(seq),
            ) => {
                *target = seq;
                true
            }
            _ => false,
        }
    }
}

/// What one notification means: writes for the transcript, a step for the run's phase, and the
/// session's new context usage (the session, not the transcript, keeps that).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Projected {
    pub writes: Vec<Write>,
    pub step: Option<Step>,
    pub usage: Option<ContextUsage>,
    /// Whether the notification is progress for the watchdog. Codex's retries are not: a turn
    /// that only ever retries is as stalled as a silent one.
    pub progress: bool,
}

/// Streamed text per Codex item not written yet, and when that item was last written.
#[derive(Debug, Default)]
struct StreamBuffer {
    pending: HashMap<String, (String, Instant)>,
}

impl StreamBuffer {
    /// Adds `delta` to `item`'s text. An item's first delta is due at once.
    fn push(&mut self, item: &str, delta: &str, now: Instant) {
        let (text, _) = self.pending.entry(item.to_owned()).or_insert_with(|| {
            let long_ago = now.checked_sub(DELTA_FLUSH).unwrap_or(now);
            (String::new(), long_ago)
        });
        text.push_str(delta);
    }

    /// Everything buffered for `item`, which is then forgotten.
    fn take(&mut self, item: &str) -> String {
        self.pending
            .remove(item)
            .map(|(t, _)| t)
            .unwrap_or_default()
    }

    /// `item`'s buffered text if its last write is at least [`DELTA_FLUSH`] old; it then counts
    /// as written at `now`.
    fn take_due(&mut self, item: &str, now: Instant) -> Option<String> {
        let (text, at) = self.pending.get_mut(item)?;
        if now.saturating_duration_since(*at) < DELTA_FLUSH {
            return None;
        }
        *at = now;
        Some(std::mem::take(text))
    }

    /// Items with buffered text whose last write is at least [`DELTA_FLUSH`] old.
    fn due(&self, now: Instant) -> Vec<String> {
        self.pending
            .iter()
            .filter(|(_, (text, at))| {
                !text.is_empty() && now.saturating_duration_since(*at) >= DELTA_FLUSH
            })
            .map(|(item, _)| item.clone())
            .collect()
    }
}

/// One run's view of its Codex turn.
#[derive(Debug, Default)]
pub(super) struct Projection {
    /// The model's own prose is private (`message_tool_only` runs: the reply is the `message`
    /// tool's).
    private_prose: bool,
    /// Each completed agent message is also the reply (a thread made without our `message`
    /// tool): stored as an assistant message, as a `message` send would be.
    replies_in_prose: bool,
    /// Codex item id → the transcript entry it created.
    items: HashMap<String, Seq>,
    stream: StreamBuffer,
    /// PreToolUse decisions by tool call id, waiting for the tool's item to start.
    relay_decisions: HashMap<CallId, RelayDecision>,
    /// The last non-retrying error Codex reported for this turn.
    error: Option<String>,
    /// The last error Codex is retrying after, and how many retries the turn has reported.
    retry: Option<String>,
    retries: u32,
    /// Proposed file changes by Codex item id, for the approval that may ask about them
    /// (`item/fileChange/requestApproval` names the item but carries no diff).
    file_changes: HashMap<String, Vec<StoredDiff>>,
    /// The detail each card with one shows now (by its item key), so an update that changes
    /// nothing writes nothing.
    details: HashMap<String, StoredDetail>,
    /// Cards that live as long as the turn (its plan, its diff), finished when it completes.
    turn_cards: Vec<String>,
}

impl Projection {
    pub fn new(private_prose: bool) -> Projection {
        Projection {
            private_prose,
            ..Projection::default()
        }
    }

    /// From now on each completed agent message is the reply (a thread made without our
    /// `message` tool, opened from Codex's home). The prose streams as it does in any run; the
    /// completed text is stored once more as an assistant message, rendered and shown like a
    /// `message` send.
    pub fn reply_with_prose(&mut self) {
        self.replies_in_prose = true;
    }

    /// Records the transcript entry a write created for `item`.
    pub fn created(&mut self, item: String, seq: Seq) {
        self.items.insert(item, seq);
    }

    /// The files a `fileChange` item of this turn proposed to change, with their diffs.
    pub fn file_changes(&self, item: &str) -> Vec<StoredDiff> {
        self.file_changes.get(item).cloned().unwrap_or_default()
    }

    /// Remembers what the hook relay decided for a native tool call, for its card.
    pub fn record_relay_decision(&mut self, call_id: CallId, decision: RelayDecision) {
        self.relay_decisions.insert(call_id, decision);
    }

    /// What notification `n`, arriving at `now`, means for the transcript and the run.
    pub fn apply(&mut self, n: Notification, now: Instant) -> Projected {
        let mut writes = Vec::new();
        let mut step = None;
        let mut usage = None;
        let mut progress = true;
        match n {
            Notification::TurnStarted { turn_id, .. } => step = Some(Step::TurnKnown(turn_id, now)),
            Notification::TurnCompleted { status, error, .. } => {
                if status == TurnStatus::Completed {
                    self.finish_turn_cards(&mut writes);
                }
                step = Some(Step::TurnCompleted {
                    status,
                    error: error
                        .or_else(|| self.error.clone())
                        .or_else(|| self.retry.clone()),
                });
            }
            Notification::ItemStarted { item, .. } => self.item_started(item, &mut writes),
            Notification::AgentMessageDelta { item_id, delta, .. } => {
                self.stream.push(&item_id, &delta, now);
                match self.items.get(&item_id).copied() {
                    // A delta before its item/started: open the entry with what we have.
                    None => {
                        let text = self.stream.take(&item_id);
                        writes.push(self.model_text(item_id, text));
                    }
                    Some(target) => {
                        if let Some(delta) = self.stream.take_due(&item_id, now) {
                            writes.push(self.prose(RecordBody::TextAppend { target, delta }));
                        }
                    }
                }
            }
            Notification::ItemCompleted { item, .. } => self.item_completed(item, &mut writes),
            Notification::PlanUpdated {
                turn_id,
                explanation,
                steps,
                ..
            } => self.plan_updated(&turn_id, explanation, steps, &mut writes),
            Notification::TurnDiffUpdated { turn_id, diff, .. } => {
                self.turn_diff_updated(&turn_id, &diff, &mut writes);
            }
            Notification::TokenUsageUpdated { usage: u, .. } => {
                usage = Some(ContextUsage {
                    tokens: u.last,
                    window: u.window,
                    total: u.total,
                });
            }
            Notification::Error {
                message,
                will_retry,
                thread_id,
                ..
            } => {
                if will_retry {
                    let thread = thread_id.as_ref().map(ThreadId::as_str).unwrap_or_default();
                    tracing::info!(thread, message, "Codex is retrying");
                    progress = false;
                    self.retries += 1;
                    self.retry = Some(message.clone());
                    let body = RecordBody::Retrying {
                        message,
                        attempt: self.retries,
                    };
                    writes.push(Write::new(true, body));
                } else {
                    self.error = Some(message);
                }
            }
            _ => {}
        }
        Projected {
            writes,
            step,
            usage,
            progress,
        }
    }

    /// The start of an item of an earlier turn read back from Codex (`thread/read`): the writes
    /// it makes, as if it had just arrived. The caller registers what they create before
    /// [`Projection::replay_completed`].
    pub fn replay_started(&mut self, item: Item) -> Vec<Write> {
        let mut writes = Vec::new();
        self.item_started(item, &mut writes);
        writes
    }

    /// The completion of an item of an earlier turn read back from Codex.
    pub fn replay_completed(&mut self, item: Item) -> Vec<Write> {
        let mut writes = Vec::new();
        self.item_completed(item, &mut writes);
        writes
    }

    /// The end of an earlier turn read back from Codex: its plan and diff cards are done.
    pub fn replay_turn_end(&mut self) -> Vec<Write> {
        let mut writes = Vec::new();
        self.finish_turn_cards(&mut writes);
        writes
    }

    fn item_started(&mut self, item: Item, writes: &mut Vec<Write>) {
        match item {
            Item::AgentMessage { id, text } => writes.push(self.model_text(id, text)),
            Item::CommandExecution { id, command, .. } => {
                writes.push(self.shell_started(&id, &command));
            }
            Item::DynamicToolCall {
                id,
                tool,
                arguments,
                ..
            } => {
                let body = RecordBody::ToolStarted {
                    call_id: CallId::from(id.as_str()),
                    tool,
                    command: arguments.to_string(),
                    relay: RelayDecision::None,
                    detail: None,
                };
                // The reply itself is the visible entry; the call is an internal.
                writes.push(Write::new(true, body).creating(&id));
            }
            Item::UserMessage { .. } => {}
            other => self.card_started(other, writes),
        }
    }

    fn item_completed(&mut self, item: Item, writes: &mut Vec<Write>) {
        match item {
            Item::AgentMessage { id, text } => {
                // The completed text holds every delta still buffered.
                self.stream.take(&id);
                let reply = (self.replies_in_prose && !text.trim().is_empty()).then(|| {
                    let body = RecordBody::AssistantMessage {
                        text: text.clone(),
                        call_id: None,
                    };
                    Write::new(false, body)
                });
                match self.items.get(&id).copied() {
                    Some(target) => writes.push(self.prose(RecordBody::TextDone { target, text })),
                    None => {
                        writes.push(self.model_text(id, text.clone()));
                        let done = RecordBody::TextDone {
                            target: Seq::ZERO,
                            text,
                        };
                        writes.push(self.prose(done).targeting(None));
                    }
                }
                writes.extend(reply);
            }
            Item::CommandExecution {
                id,
                command,
                status,
                aggregated_output,
                exit_code,
            } => {
                let target = self.items.get(&id).copied();
                if target.is_none() {
                    // Codex skipped item/started (or we missed it): the card opens now.
                    writes.push(self.shell_started(&id, &command));
                }
                let body = RecordBody::ToolFinished {
                    target: target.unwrap_or_default(),
                    status: tool_status(&status),
                    output: aggregated_output.unwrap_or_default(),
                    exit_code,
                };
                writes.push(Write::new(false, body).targeting(target));
            }
            Item::DynamicToolCall { id, status, .. } => {
                if let Some(target) = self.items.get(&id).copied() {
                    let body = RecordBody::ToolFinished {
                        target,
                        status: tool_status(&status),
                        output: String::new(),
                        exit_code: None,
                    };
                    writes.push(Write::new(true, body));
                }
            }
            Item::UserMessage { .. } => {}
            other => self.card_completed(other, writes),
        }
    }

    /// Appends of buffered text whose last write is at least [`DELTA_FLUSH`] old.
    pub fn flush_due(&mut self, now: Instant) -> Vec<Write> {
        let mut writes = Vec::new();
        for item in self.stream.due(now) {
            // Text for an entry not created yet waits for it.
            let Some(&target) = self.items.get(&item) else {
                continue;
            };
            if let Some(delta) = self.stream.take_due(&item, now) {
                writes.push(self.prose(RecordBody::TextAppend { target, delta }));
            }
        }
        writes
    }

    /// Appends of everything still buffered (the run is ending).
    pub fn flush_all(&mut self) -> Vec<Write> {
        let pending = std::mem::take(&mut self.stream.pending);
        pending
            .into_iter()
            .filter(|(_, (text, _))| !text.is_empty())
            .filter_map(|(item, (delta, _))| {
                let target = *self.items.get(&item)?;
                Some(self.prose(RecordBody::TextAppend { target, delta }))
            })
            .collect()
    }

    fn prose(&self, body: RecordBody) -> Write {
        Write::new(self.private_prose, body)
    }

    fn model_text(&self, item_id: String, text: String) -> Write {
        let item = item_id.clone();
        self.prose(RecordBody::ModelText { item_id, text })
            .creating(&item)
    }

    fn shell_started(&mut self, id: &str, command: &str) -> Write {
        let relay = self
            .relay_decisions
            .remove(id)
            .unwrap_or(RelayDecision::None);
        let body = RecordBody::ToolStarted {
            call_id: CallId::from(id),
            tool: "shell".to_owned(),
            command: display_command(command),
            relay,
            detail: None,
        };
        Write::new(false, body).creating(id)
    }
}

fn tool_status(s: &str) -> ToolStatus {
    match s {
        "completed" => ToolStatus::Completed,
        "declined" => ToolStatus::Declined,
        "inProgress" => ToolStatus::Running,
        _ => ToolStatus::Failed,
    }
}

/// Codex reports shell commands wrapped as `/bin/bash -lc '<cmd>'` (or `-c` without a login
/// shell); people want to read `<cmd>`.
fn display_command(command: &str) -> String {
    let inner = ["/bin/bash", "bash", "/bin/sh", "sh", "/bin/zsh", "zsh"]
        .iter()
        .find_map(|shell| {
            let rest = command.strip_prefix(shell)?;
            rest.strip_prefix(" -lc ")
                .or_else(|| rest.strip_prefix(" -c "))
        });
    let Some(inner) = inner else {
        return command.to_owned();
    };
    match inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(quoted) => quoted.replace("'\\''", "'"),
        None => inner.to_owned(),
    }
}

#[cfg(test)]
mod tests;
