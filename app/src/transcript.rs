//! The transcript projection: folds the append-only event log into the entries a person sees.
//!
//! The server renders the first page with it and the browser applies live events with it, so a
//! reload and a live view can never disagree. It is a pure function of the events: no I/O, no
//! clocks, no Leptos. Applying is idempotent by sequence number, which is what makes reconnects and
//! retried deliveries harmless.

use crate::wire::{
    ApprovalKind, ApprovalState, DeliveryStatus, Event, EventBody, FileDiff, ImageRef, NoticeLevel,
    RelayDecision, RunOutcome, Seq, ToolDetail, ToolStatus,
};

/// The `data-tool` value of a delivery card. Deliveries are not tool calls the model's sandbox
/// ran, but the UI contract has no `data-kind` for them, so they render as tool entries with this
/// tool name and `data-relay="none"` (the hook relay never sees an outbound send).
pub const DELIVERY_TOOL: &str = "delivery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    User,
    Assistant,
    Tool,
    Notice,
    /// A question Codex asked a person (`data-testid="approval"`).
    Approval,
}

impl EntryKind {
    /// The `data-kind` attribute value of the UI contract.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::User => "user",
            EntryKind::Assistant => "assistant",
            EntryKind::Tool => "tool",
            EntryKind::Notice => "notice",
            EntryKind::Approval => "approval",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ToolView {
    pub tool: String,
    pub command: String,
    pub relay: RelayDecision,
    pub status: ToolStatus,
    pub output: String,
    pub exit_code: Option<i32>,
    /// Files, a plan, an MCP call: the latest the server sent (a `ToolUpdated` replaces it).
    pub detail: Option<ToolDetail>,
}

/// A compact card for an outbound delivery (an [`EntryKind::Tool`] entry with
/// `data-tool="delivery"`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryView {
    pub channel: String,
    pub target: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receipt or the error, as the server wrote it.
    pub detail: String,
}

impl DeliveryView {
    /// `channel:target`, the way the model named the destination.
    pub fn destination(&self) -> String {
        format!("{}:{}", self.channel, self.target)
    }

    /// The one line a person reads: where it went, or why it did not.
    fn line(&self) -> String {
        let to = self.destination();
        match self.status {
            DeliveryStatus::Sending => format!("sending to {to}…"),
            DeliveryStatus::Sent => format!("sent to {to}"),
            DeliveryStatus::Failed if self.detail.trim().is_empty() => {
                format!("delivery to {to} failed")
            }
            DeliveryStatus::Failed => self.detail.clone(),
            DeliveryStatus::Unknown => {
                format!("the run ended while sending to {to}; it may or may not have arrived")
            }
        }
    }
}

/// An approval card: what Codex asked and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct ApprovalView {
    pub kind: ApprovalKind,
    /// The Codex item (tool call) it is about, if any.
    pub item_id: Option<String>,
    /// The command line, the permissions or the question.
    pub subject: String,
    pub cwd: Option<String>,
    pub reason: Option<String>,
    pub changes: Vec<FileDiff>,
    /// Whether "approve for this session" is offered.
    pub for_session: bool,
    pub state: ApprovalState,
    /// A question's written answer, once given.
    pub answer: Option<String>,
}

/// One visible row of the transcript.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The sequence number of the event that created the entry (`data-seq`).
    pub seq: Seq,
    pub kind: EntryKind,
    pub private: bool,
    pub text: String,
    /// Sanitised HTML for assistant replies, rendered by the server.
    pub html: Option<String>,
    pub tool: Option<ToolView>,
    /// Set on delivery cards (then `tool` is `None`).
    pub delivery: Option<DeliveryView>,
    /// Set on approval cards.
    pub approval: Option<ApprovalView>,
    pub notice_level: Option<NoticeLevel>,
    /// Still streaming (model text not yet final).
    pub streaming: bool,
    /// Part of a background run (no UI source): who started it, e.g. `schedule nightly`.
    pub background: Option<String>,
    /// Where a request came from (`data-source`): a user message's client (`webchat`, `tui`), or
    /// `background` for a background run's request; `None` for every other entry.
    pub source: Option<&'static str>,
    /// A user message sent into the running turn (`data-steered`).
    pub steered: bool,
    /// A user message's attached images.
    pub images: Vec<ImageRef>,
    /// Bumped on every change, so keyed lists know to re-render the row.
    pub version: u32,
}

/// What [`Transcript::apply`] did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The event was new and is now part of the view.
    Applied,
    /// The event was at or below the last applied sequence number; nothing changed.
    Duplicate,
    /// The event skips ahead; the caller must fetch the missing events first. Nothing changed.
    Gap { expected: Seq },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transcript {
    entries: Vec<Entry>,
    last_seq: Seq,
    /// Runs that started and have not finished, in start order.
    running: Vec<String>,
    /// Background runs seen so far, with who started them; their entries are marked.
    background_runs: Vec<(String, String)>,
    /// When the oldest running run started (ms since the epoch, server clock), for the
    /// indicator's elapsed time.
    started_ms: Option<i64>,
    /// Codex's latest retry (message, attempt) while nothing else of the run came after it.
    retrying: Option<(String, u32)>,
}

impl Transcript {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Transcript {
        let mut t = Transcript::default();
        for e in events {
            // The store hands out gap-free runs, but a filtered snapshot (no private events) may
            // skip numbers, so snapshots are applied without the gap check.
            t.apply_unchecked(e);
        }
        t
    }

    /// Continues after `last`: the page's last event, when the events it was built from end
    /// earlier (a page whose history is all rendered as HTML starts from no events at all), so
    /// the live connection resumes after the page and not from the session's start.
    pub fn continuing(mut self, last: Seq) -> Transcript {
        self.last_seq = self.last_seq.max(last);
        self
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn last_seq(&self) -> Seq {
        self.last_seq
    }

    /// Whether a run is in progress (the working indicator).
    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// When the oldest running run started (ms since the epoch), while one runs.
    pub fn started_ms(&self) -> Option<i64> {
        self.started_ms
    }

    /// What the working indicator says of Codex's retrying, while its latest retry is the run's
    /// latest news: `Codex is retrying: <message> (attempt N)`. Untrusted text inside.
    pub fn retrying(&self) -> Option<String> {
        let (message, attempt) = self.retrying.as_ref()?;
        Some(retry_line(message, *attempt))
    }

    /// The approvals still waiting for a person, oldest first (the tab title counts them).
    pub fn pending_approvals(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| {
            e.approval
                .as_ref()
                .is_some_and(|a| a.state == ApprovalState::Pending)
        })
    }

    /// Applies one live event. Events must arrive in sequence; see [`Applied`].
    pub fn apply(&mut self, event: &Event) -> Applied {
        if event.seq <= self.last_seq {
            return Applied::Duplicate;
        }
        let expected = self.last_seq.next();
        if event.seq != expected {
            return Applied::Gap { expected };
        }
        self.apply_unchecked(event);
        Applied::Applied
    }

    fn apply_unchecked(&mut self, event: &Event) {
        if event.seq <= self.last_seq {
            return;
        }
        self.last_seq = event.seq;
        // Anything else of a run after a retry is the run moving on.
        if event.run.is_some() && !matches!(event.body, EventBody::Retrying { .. }) {
            self.retrying = None;
        }
        let background = event.run.as_ref().and_then(|run| {
            self.background_runs
                .iter()
                .rev()
                .find(|(id, _)| id == run)
                .map(|(_, origin)| origin.clone())
        });
        let base = |kind| Entry {
            seq: event.seq,
            kind,
            private: event.private,
            text: String::new(),
            html: None,
            tool: None,
            delivery: None,
            approval: None,
            source: None,
            notice_level: None,
            streaming: false,
            background: background.clone(),
            steered: false,
            images: Vec::new(),
            version: 0,
        };
        match &event.body {
            EventBody::UserMessage {
                text,
                source,
                steered,
                images,
                ..
            } => self.entries.push(Entry {
                text: text.clone(),
                source: Some(source.as_str()),
                steered: *steered,
                images: images.clone(),
                ..base(EntryKind::User)
            }),
            EventBody::AssistantMessage { text, html, .. } => {
                if is_silent(text) {
                    return;
                }
                self.entries.push(Entry {
                    text: text.clone(),
                    html: html.clone(),
                    ..base(EntryKind::Assistant)
                })
            }
            EventBody::ModelText { text, .. } => self.entries.push(Entry {
                text: text.clone(),
                streaming: true,
                ..base(EntryKind::Assistant)
            }),
            EventBody::TextAppend { target, delta } => {
                if let Some(e) = self.entry_mut(*target) {
                    e.text.push_str(delta);
                    e.version += 1;
                }
            }
            EventBody::TextDone { target, text } => {
                let silent = is_silent(text);
                if let Some(e) = self.entry_mut(*target) {
                    e.text = text.clone();
                    e.streaming = false;
                    e.version += 1;
                }
                if silent {
                    self.entries.retain(|e| e.seq != *target);
                }
            }
            EventBody::ToolStarted {
                tool,
                command,
                relay,
                detail,
                ..
            } => self.entries.push(Entry {
                text: command.clone(),
                tool: Some(ToolView {
                    tool: tool.clone(),
                    command: command.clone(),
                    relay: *relay,
                    status: ToolStatus::Running,
                    output: String::new(),
                    exit_code: None,
                    detail: detail.clone(),
                }),
                ..base(EntryKind::Tool)
            }),
            EventBody::ToolUpdated { target, detail } => {
                if let Some(e) = self.entry_mut(*target) {
                    if let Some(t) = e.tool.as_mut() {
                        t.detail = Some(detail.clone());
                    }
                    e.version += 1;
                }
            }
            EventBody::ToolFinished {
                target,
                status,
                output,
                exit_code,
            } => {
                if let Some(e) = self.entry_mut(*target) {
                    if let Some(t) = e.tool.as_mut() {
                        t.status = *status;
                        t.output = output.clone();
                        t.exit_code = *exit_code;
                    }
                    e.version += 1;
                }
            }
            EventBody::RunStarted {
                run_id, background, ..
            } => {
                self.running.push(run_id.clone());
                self.started_ms.get_or_insert(event.at_ms);
                if let Some(origin) = background {
                    self.background_runs.push((run_id.clone(), origin.clone()));
                }
            }
            EventBody::BackgroundRequest { origin, prompt } => self.entries.push(Entry {
                text: prompt.clone(),
                source: Some("background"),
                notice_level: Some(NoticeLevel::Info),
                background: Some(origin.clone()),
                ..base(EntryKind::Notice)
            }),
            EventBody::RunFinished {
                run_id,
                outcome,
                error,
            } => {
                self.running.retain(|r| r != run_id);
                self.retrying = None;
                if self.running.is_empty() {
                    self.started_ms = None;
                }
                // A run can end without a final text item (interrupts): nothing stays "streaming".
                for e in self.entries.iter_mut().filter(|e| e.streaming) {
                    e.streaming = false;
                    e.version += 1;
                }
                // Nor "running": a tool whose run ended without its result was cut off.
                if self.running.is_empty() {
                    for e in self.entries.iter_mut() {
                        if let Some(t) = e.tool.as_mut().filter(|t| t.status == ToolStatus::Running)
                        {
                            t.status = ToolStatus::Interrupted;
                            e.version += 1;
                        }
                    }
                }
                // Nor "sending": a send with no recorded outcome (the server was killed, the
                // run was cut off) may or may not have arrived, and the card must not pretend.
                for e in self.entries.iter_mut() {
                    if let Some(d) = e
                        .delivery
                        .as_mut()
                        .filter(|d| d.status == DeliveryStatus::Sending)
                    {
                        d.status = DeliveryStatus::Unknown;
                        e.text = d.line();
                        e.version += 1;
                    }
                }
                let text = match (outcome, error) {
                    (RunOutcome::Completed, _) => return,
                    (RunOutcome::Interrupted, Some(why)) => format!("Run interrupted: {why}"),
                    (RunOutcome::Interrupted, None) => "Run stopped.".to_owned(),
                    (RunOutcome::Failed, Some(err)) => format!("Run failed: {err}"),
                    (RunOutcome::Failed, None) => "Run failed.".to_owned(),
                };
                let level = match outcome {
                    RunOutcome::Failed => NoticeLevel::Error,
                    _ => NoticeLevel::Warning,
                };
                self.entries.push(Entry {
                    text,
                    notice_level: Some(level),
                    private: false,
                    ..base(EntryKind::Notice)
                });
            }
            EventBody::Notice { level, text, .. } => self.entries.push(Entry {
                text: text.clone(),
                notice_level: Some(*level),
                ..base(EntryKind::Notice)
            }),
            EventBody::Delivery {
                channel,
                target,
                status,
                attempts,
                detail,
                updates,
            } => {
                let view = DeliveryView {
                    channel: channel.clone(),
                    target: target.clone(),
                    status: *status,
                    attempts: *attempts,
                    detail: detail.clone(),
                };
                let text = view.line();
                // An outcome completes its `sending` card in place. Without one (a page that
                // starts after it), it is a card of its own.
                if let Some(e) = updates.and_then(|card| self.entry_mut(card)) {
                    if e.delivery.is_some() {
                        e.text = text;
                        e.delivery = Some(view);
                        e.version += 1;
                        return;
                    }
                }
                self.entries.push(Entry {
                    text,
                    delivery: Some(view),
                    ..base(EntryKind::Tool)
                })
            }
            EventBody::ApprovalRequested {
                kind,
                item_id,
                subject,
                cwd,
                reason,
                changes,
                for_session,
            } => self.entries.push(Entry {
                text: subject.clone(),
                approval: Some(ApprovalView {
                    kind: *kind,
                    item_id: item_id.clone(),
                    subject: subject.clone(),
                    cwd: cwd.clone(),
                    reason: reason.clone(),
                    changes: changes.clone(),
                    for_session: *for_session,
                    state: ApprovalState::Pending,
                    answer: None,
                }),
                ..base(EntryKind::Approval)
            }),
            EventBody::ApprovalEnded {
                target,
                state,
                answer,
            } => {
                if let Some(e) = self.entry_mut(*target) {
                    if let Some(a) = e.approval.as_mut() {
                        a.state = *state;
                        a.answer = answer.clone();
                        e.version += 1;
                    }
                }
            }
            EventBody::Retrying { message, attempt } => {
                self.retrying = Some((message.clone(), *attempt));
                self.entries.push(Entry {
                    text: retry_line(message, *attempt),
                    private: true,
                    notice_level: Some(NoticeLevel::Warning),
                    ..base(EntryKind::Notice)
                });
            }
            EventBody::Internal { label, text, .. } => self.entries.push(Entry {
                // The server renders the detail (`text`); the browser never reads it itself.
                text: format!("{label}: {text}"),
                private: true,
                ..base(EntryKind::Notice)
            }),
        }
    }

    fn entry_mut(&mut self, seq: Seq) -> Option<&mut Entry> {
        // Targets are almost always recent: search from the end.
        self.entries.iter_mut().rev().find(|e| e.seq == seq)
    }
}

/// The one wording of a retry, for the indicator, the transcript and the terminal client.
pub fn retry_line(message: &str, attempt: u32) -> String {
    format!("Codex is retrying: {message} (attempt {attempt})")
}

/// How long a run has gone, for the working indicator: `42s`, `3m 05s`, `1h 02m`. Integer
/// arithmetic only (no float formatting in the browser's binary).
pub fn elapsed_label(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

/// `NO_REPLY` (alone, ignoring surrounding whitespace) is the model's way of saying nothing.
pub fn is_silent(text: &str) -> bool {
    text.trim() == "NO_REPLY"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, private: bool, body: EventBody) -> Event {
        Event {
            seq: Seq(seq),
            at_ms: 0,
            run: Some("r1".into()),
            private,
            body,
        }
    }

    fn user(seq: u64, text: &str) -> Event {
        ev(
            seq,
            false,
            EventBody::UserMessage {
                text: text.into(),
                client_id: format!("c{seq}"),
                source: Default::default(),
                steered: false,
                images: Vec::new(),
            },
        )
    }

    #[test]
    fn a_retry_is_a_private_entry_and_the_indicators_line_until_the_run_moves_on() {
        let started = Event {
            at_ms: 5_000,
            ..ev(
                1,
                false,
                EventBody::RunStarted {
                    run_id: "r1".into(),
                    for_seq: None,
                    background: None,
                },
            )
        };
        let retry = |seq, attempt| {
            ev(
                seq,
                true,
                EventBody::Retrying {
                    message: "Reconnecting... <b>".into(),
                    attempt,
                },
            )
        };
        let mut t = Transcript::from_events(&[started, retry(2, 1), retry(3, 2)]);
        assert_eq!(t.started_ms(), Some(5_000));
        assert_eq!(
            t.retrying().as_deref(),
            Some("Codex is retrying: Reconnecting... <b> (attempt 2)")
        );
        let entry = &t.entries()[1];
        assert!(entry.private);
        assert_eq!(
            entry.text,
            "Codex is retrying: Reconnecting... <b> (attempt 2)"
        );
        t.apply(&user(4, "steered"));
        assert_eq!(t.retrying(), None, "anything else of the run is news");
        t.apply(&retry(5, 3));
        assert!(t.retrying().is_some());
        t.apply(&ev(
            6,
            false,
            EventBody::RunFinished {
                run_id: "r1".into(),
                outcome: RunOutcome::Failed,
                error: None,
            },
        ));
        assert_eq!((t.retrying(), t.started_ms()), (None, None));
    }

    #[test]
    fn elapsed_labels_use_the_largest_units() {
        assert_eq!(elapsed_label(-5), "0s");
        assert_eq!(elapsed_label(42_999), "42s");
        assert_eq!(elapsed_label(185_000), "3m 05s");
        assert_eq!(elapsed_label(3_720_000), "1h 02m");
    }

    #[test]
    fn apply_is_idempotent_and_detects_gaps() {
        let mut t = Transcript::default();
        assert_eq!(t.apply(&user(1, "a")), Applied::Applied);
        assert_eq!(t.apply(&user(1, "a")), Applied::Duplicate);
        assert_eq!(t.apply(&user(3, "c")), Applied::Gap { expected: Seq(2) });
        assert_eq!(t.entries().len(), 1);
        assert_eq!(t.apply(&user(2, "b")), Applied::Applied);
        assert_eq!(t.last_seq(), Seq(2));
    }

    #[test]
    fn streamed_text_folds_into_one_entry() {
        let events = vec![
            ev(
                1,
                false,
                EventBody::RunStarted {
                    run_id: "r1".into(),
                    for_seq: None,
                    background: None,
                },
            ),
            ev(
                2,
                true,
                EventBody::ModelText {
                    item_id: "m".into(),
                    text: "one".into(),
                },
            ),
            ev(
                3,
                true,
                EventBody::TextAppend {
                    target: Seq(2),
                    delta: " two".into(),
                },
            ),
        ];
        let mut t = Transcript::from_events(&events);
        assert!(t.is_running());
        assert_eq!(t.entries()[0].text, "one two");
        assert!(t.entries()[0].streaming && t.entries()[0].private);
        t.apply(&ev(
            4,
            false,
            EventBody::RunFinished {
                run_id: "r1".into(),
                outcome: RunOutcome::Interrupted,
                error: None,
            },
        ));
        assert!(!t.is_running());
        assert!(!t.entries()[0].streaming);
        assert_eq!(t.entries()[1].kind, EntryKind::Notice);
    }

    #[test]
    fn every_entry_of_a_background_run_is_marked_and_nothing_else_is() {
        let on = |seq: u64, run: Option<&str>, body: EventBody| Event {
            seq: Seq(seq),
            at_ms: 0,
            run: run.map(str::to_owned),
            private: false,
            body,
        };
        let events = vec![
            on(
                1,
                None,
                EventBody::BackgroundRequest {
                    origin: "schedule nightly".into(),
                    prompt: "/say hi".into(),
                },
            ),
            on(
                2,
                Some("bg"),
                EventBody::RunStarted {
                    run_id: "bg".into(),
                    for_seq: Some(Seq(1)),
                    background: Some("schedule nightly".into()),
                },
            ),
            on(
                3,
                Some("bg"),
                EventBody::Delivery {
                    channel: String::new(),
                    target: String::new(),
                    status: DeliveryStatus::Failed,
                    attempts: 0,
                    detail: "Action send requires a target.".into(),
                    updates: None,
                },
            ),
            on(
                4,
                Some("bg"),
                EventBody::RunFinished {
                    run_id: "bg".into(),
                    outcome: RunOutcome::Failed,
                    error: None,
                },
            ),
            user(5, "typed"),
        ];
        let t = Transcript::from_events(&events);
        let marks: Vec<(EntryKind, Option<&str>)> = t
            .entries()
            .iter()
            .map(|e| (e.kind, e.background.as_deref()))
            .collect();
        assert_eq!(
            marks,
            vec![
                (EntryKind::Notice, Some("schedule nightly")),
                (EntryKind::Tool, Some("schedule nightly")),
                (EntryKind::Notice, Some("schedule nightly")),
                // `user()` events claim run "r1", which is not a background run.
                (EntryKind::User, None),
            ]
        );
        assert_eq!(t.entries()[0].text, "/say hi");
        // A failed send without a destination reads as its error.
        assert_eq!(t.entries()[1].text, "Action send requires a target.");
        assert!(!t.is_running());
    }

    #[test]
    fn no_reply_is_never_shown() {
        let t = Transcript::from_events(&[ev(
            1,
            false,
            EventBody::AssistantMessage {
                text: " NO_REPLY ".into(),
                html: None,
                call_id: None,
            },
        )]);
        assert!(t.entries().is_empty());
    }

    #[test]
    fn tool_card_completes_in_place() {
        let mut t = Transcript::from_events(&[ev(
            1,
            false,
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "echo hi".into(),
                relay: RelayDecision::Allowed,
                detail: None,
            },
        )]);
        t.apply(&ev(
            2,
            false,
            EventBody::ToolFinished {
                target: Seq(1),
                status: ToolStatus::Completed,
                output: "hi\n".into(),
                exit_code: Some(0),
            },
        ));
        let tool = t.entries()[0].tool.as_ref().unwrap();
        assert_eq!(tool.output, "hi\n");
        assert_eq!(tool.status, ToolStatus::Completed);
        assert_eq!(t.entries().len(), 1);
    }

    fn delivery(seq: u64, status: DeliveryStatus, attempts: u32, detail: &str) -> Event {
        ev(
            seq,
            false,
            EventBody::Delivery {
                channel: "webhook".into(),
                target: "ops".into(),
                status,
                attempts,
                detail: detail.into(),
                updates: None,
            },
        )
    }

    /// The outcome of the `sending` card at `card`.
    fn outcome(seq: u64, card: u64, status: DeliveryStatus, detail: &str) -> Event {
        let mut e = delivery(seq, status, 2, detail);
        if let EventBody::Delivery { updates, .. } = &mut e.body {
            *updates = Some(Seq(card));
        }
        e
    }

    fn run_finished(seq: u64, outcome: RunOutcome) -> Event {
        ev(
            seq,
            false,
            EventBody::RunFinished {
                run_id: "r".into(),
                outcome,
                error: None,
            },
        )
    }

    #[test]
    fn a_delivery_under_way_says_so_and_its_outcome_completes_the_same_card() {
        let mut t = Transcript::from_events(&[delivery(1, DeliveryStatus::Sending, 0, "")]);
        assert_eq!(t.entries()[0].text, "sending to webhook:ops…");
        let before = t.entries()[0].version;
        t.apply(&outcome(
            2,
            1,
            DeliveryStatus::Sent,
            "Sent (HTTP 200 after 2 attempts).",
        ));
        assert_eq!(
            t.entries().len(),
            1,
            "completed in place: {:?}",
            t.entries()
        );
        let e = &t.entries()[0];
        assert_eq!((e.seq, e.text.as_str()), (Seq(1), "sent to webhook:ops"));
        assert_eq!(e.delivery.as_ref().unwrap().attempts, 2);
        assert!(e.version > before, "the row re-renders");
        // The run ending afterwards changes nothing.
        t.apply(&run_finished(3, RunOutcome::Completed));
        assert_eq!(t.entries()[0].text, "sent to webhook:ops");
    }

    #[test]
    fn a_run_that_ends_mid_delivery_leaves_a_card_that_does_not_pretend() {
        // The server was killed while a webhook was retrying; at the next start the run is
        // closed as interrupted, and nobody knows whether the send arrived.
        let t = Transcript::from_events(&[
            delivery(1, DeliveryStatus::Sending, 0, ""),
            run_finished(2, RunOutcome::Interrupted),
        ]);
        let d = t.entries()[0].delivery.as_ref().unwrap();
        assert_eq!(d.status, DeliveryStatus::Unknown);
        assert_eq!(
            t.entries()[0].text,
            "the run ended while sending to webhook:ops; it may or may not have arrived"
        );
    }

    #[test]
    fn an_outcome_whose_card_is_not_on_the_page_is_a_card_of_its_own() {
        // A paged history can start between the two.
        let t = Transcript::from_events(&[outcome(5, 4, DeliveryStatus::Failed, "HTTP 404")]);
        assert_eq!(t.entries().len(), 1);
        assert_eq!(
            (t.entries()[0].seq, t.entries()[0].text.as_str()),
            (Seq(5), "HTTP 404")
        );
    }

    #[test]
    fn a_sent_delivery_is_a_tool_card_naming_its_destination() {
        let t = Transcript::from_events(&[delivery(1, DeliveryStatus::Sent, 3, "HTTP 200")]);
        let e = &t.entries()[0];
        assert_eq!(e.kind, EntryKind::Tool);
        assert_eq!(e.kind.as_str(), "tool");
        assert_eq!(e.text, "sent to webhook:ops");
        assert!(!e.private && !e.streaming);
        // Not a sandbox tool call: no tool view, so nothing renders a relay decision for it.
        assert!(e.tool.is_none());
        let d = e.delivery.as_ref().unwrap();
        assert_eq!(d.destination(), "webhook:ops");
        assert_eq!((d.status, d.attempts), (DeliveryStatus::Sent, 3));
        assert_eq!(d.detail, "HTTP 200");
    }

    #[test]
    fn a_failed_delivery_shows_its_error() {
        let err = "Delivery to webhook:ops failed: HTTP 404 Not Found";
        let t = Transcript::from_events(&[
            delivery(1, DeliveryStatus::Failed, 1, err),
            delivery(2, DeliveryStatus::Failed, 0, "  "),
        ]);
        assert_eq!(t.entries()[0].text, err);
        assert_eq!(
            t.entries()[0].delivery.as_ref().unwrap().status,
            DeliveryStatus::Failed
        );
        // A blank error still says what failed.
        assert_eq!(t.entries()[1].text, "delivery to webhook:ops failed");
    }

    #[test]
    fn deliveries_are_idempotent_by_seq_and_round_trip_as_json() {
        let d = delivery(1, DeliveryStatus::Sent, 1, "ok");
        let json = serde_json::to_value(&d.body).unwrap();
        assert_eq!(json["type"], "delivery");
        assert_eq!(json["status"], "sent");
        // Cards of their own carry no `updates`, as stored before it existed.
        assert!(json.get("updates").is_none(), "{json}");
        assert_eq!(serde_json::from_value::<EventBody>(json).unwrap(), d.body);
        let mut t = Transcript::default();
        assert_eq!(t.apply(&d), Applied::Applied);
        assert_eq!(t.apply(&d), Applied::Duplicate);
        assert_eq!(t.entries().len(), 1);
    }

    fn approval(seq: u64, kind: ApprovalKind) -> Event {
        ev(
            seq,
            false,
            EventBody::ApprovalRequested {
                kind,
                item_id: Some("call_1".into()),
                subject: "rm -rf build".into(),
                cwd: Some("/w".into()),
                reason: Some("wants out of the sandbox".into()),
                changes: vec![],
                for_session: true,
            },
        )
    }

    #[test]
    fn an_approval_is_a_pending_card_until_it_ends_and_then_says_how() {
        let mut t = Transcript::from_events(&[approval(1, ApprovalKind::Command)]);
        let card = &t.entries()[0];
        assert_eq!(card.kind.as_str(), "approval");
        assert_eq!(card.text, "rm -rf build");
        let view = card.approval.as_ref().unwrap();
        assert_eq!(view.state, ApprovalState::Pending);
        assert_eq!(view.cwd.as_deref(), Some("/w"));
        assert!(view.for_session);
        assert_eq!(t.pending_approvals().count(), 1);

        let ended = ev(
            2,
            false,
            EventBody::ApprovalEnded {
                target: Seq(1),
                state: ApprovalState::Declined,
                answer: None,
            },
        );
        assert_eq!(t.apply(&ended), Applied::Applied);
        assert_eq!(t.entries().len(), 1, "the end completes the card in place");
        let card = &t.entries()[0];
        assert_eq!(card.approval.as_ref().unwrap().state.as_str(), "declined");
        assert_eq!(card.version, 1);
        assert_eq!(t.pending_approvals().count(), 0);
        // The same from a reload.
        assert_eq!(
            Transcript::from_events(&[approval(1, ApprovalKind::Command), ended]).entries(),
            t.entries()
        );
    }

    #[test]
    fn a_questions_answer_is_kept_with_its_card() {
        let t = Transcript::from_events(&[
            approval(1, ApprovalKind::Question),
            ev(
                2,
                false,
                EventBody::ApprovalEnded {
                    target: Seq(1),
                    state: ApprovalState::Accepted,
                    answer: Some("blue".into()),
                },
            ),
        ]);
        let view = t.entries()[0].approval.as_ref().unwrap();
        assert_eq!(view.kind.as_str(), "question");
        assert_eq!(view.answer.as_deref(), Some("blue"));
    }

    #[test]
    fn a_tool_still_running_when_its_run_ends_is_interrupted() {
        let t = Transcript::from_events(&[
            ev(
                1,
                false,
                EventBody::RunStarted {
                    run_id: "r1".into(),
                    for_seq: None,
                    background: None,
                },
            ),
            ev(
                2,
                false,
                EventBody::ToolStarted {
                    call_id: "c".into(),
                    tool: "shell".into(),
                    command: "sleep 100".into(),
                    relay: RelayDecision::Allowed,
                    detail: None,
                },
            ),
            ev(
                3,
                false,
                EventBody::RunFinished {
                    run_id: "r1".into(),
                    outcome: RunOutcome::Interrupted,
                    error: None,
                },
            ),
        ]);
        let tool = t.entries()[0].tool.as_ref().unwrap();
        assert_eq!(tool.status.as_str(), "interrupted");
    }
}
