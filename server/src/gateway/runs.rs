//! Runs: one user message and the Codex turn it drives, from start to a recorded outcome.
//!
//! A run moves through [`Phase`] by one transition function ([`Run::advance`]); every way a run ends
//! (Codex completes the turn, Stop, Codex dies, the watchdog, a set-up failure, shutdown) goes
//! through [`Gateway::finish_run`], which is idempotent, so the transcript gets exactly one
//! `RunFinished` per run. This module turns Codex notifications into transcript events and answers
//! every server request Codex sends; it never decides delivery rules (see `delivery`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;

use app::wire::{
    DeliveryStatus, EventBody, NoticeAbout, NoticeLevel, RelayDecision, RunOutcome, Seq,
    SessionKey, ToolStatus,
};

use super::delivery::{self, DeliveryMode, RunContext, RunSource, SendArgs};
use super::{lock, Gateway, GatewayError};
use crate::channels::OutboundMessage;
use crate::codex::{
    CodexError, Epoch, Inbound, Item, Notification, RequestId, RpcErrorObj, ServerRequest,
    SupervisorEvent, TurnStatus,
};
use crate::store::Appended;

/// Stream deltas are written at most this often per item (coalesced), so a reload mid-stream
/// shows nearly everything without one write per token.
const DELTA_FLUSH: Duration = Duration::from_millis(100);
/// After an interrupt, how long Codex gets to confirm before the run is closed without it.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    /// Finding or starting the thread; no turn yet.
    Starting,
    /// `turn/start` sent or acknowledged.
    Active {
        thread_id: String,
        turn_id: Option<String>,
    },
    /// An interrupt was sent at `since` (by Stop or the watchdog).
    Stopping {
        thread_id: String,
        turn_id: Option<String>,
        since: Instant,
        reason: StopReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum StopReason {
    User,
    Stalled,
}

/// What can happen to a run's phase.
enum Step {
    ThreadBound(String),
    TurnKnown(String),
    StopRequested(StopReason, Instant),
}

pub(super) struct Run {
    pub run_id: String,
    pub ctx: RunContext,
    phase: Phase,
    /// Stop was asked for before a turn existed; honoured as soon as it does.
    stop_pending: bool,
    /// Codex item id → the transcript entry it created.
    items: HashMap<String, Seq>,
    /// Codex item id → streamed text not yet written, and when that item was last written.
    pending: HashMap<String, (String, Instant)>,
    /// The last non-retrying error Codex reported for this turn.
    error: Option<String>,
    last_activity: Instant,
    /// The relay id and generation guarding this run's thread.
    pub relay: Option<(String, String)>,
    /// The run's relay registration, unregistered (deferred) when the run ends.
    relay_handle: Option<crate::hook::registry::RegistrationHandle>,
    /// PreToolUse decisions by tool call id, waiting for the tool's item to start.
    pub relay_decisions: HashMap<String, RelayDecision>,
}

impl Run {
    /// The one transition function. Returns an interrupt to send, if the step calls for one.
    fn advance(&mut self, step: Step) -> Option<(String, String)> {
        let next = match (&self.phase, step) {
            (Phase::Starting, Step::ThreadBound(thread_id)) => Phase::Active {
                thread_id,
                turn_id: None,
            },
            (Phase::Starting, Step::StopRequested(..)) => {
                self.stop_pending = true;
                return None;
            }
            (Phase::Active { thread_id, .. }, Step::TurnKnown(turn)) => {
                let thread_id = thread_id.clone();
                if self.stop_pending {
                    self.stop_pending = false;
                    self.phase = Phase::Stopping {
                        thread_id: thread_id.clone(),
                        turn_id: Some(turn.clone()),
                        since: Instant::now(),
                        reason: StopReason::User,
                    };
                    return Some((thread_id, turn));
                }
                Phase::Active {
                    thread_id,
                    turn_id: Some(turn),
                }
            }
            (Phase::Active { thread_id, turn_id }, Step::StopRequested(reason, now)) => {
                let (thread_id, turn_id) = (thread_id.clone(), turn_id.clone());
                if turn_id.is_none() {
                    self.stop_pending = true;
                    return None;
                }
                self.phase = Phase::Stopping {
                    thread_id: thread_id.clone(),
                    turn_id: turn_id.clone(),
                    since: now,
                    reason,
                };
                return turn_id.map(|t| (thread_id, t));
            }
            (Phase::Stopping { .. }, Step::TurnKnown(turn)) => {
                if let Phase::Stopping { turn_id, .. } = &mut self.phase {
                    *turn_id = Some(turn);
                }
                return None;
            }
            // Repeated or late steps change nothing (a second Stop, a bound thread twice).
            (_, _) => return None,
        };
        self.phase = next;
        None
    }

    fn thread_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Starting => None,
            Phase::Active { thread_id, .. } | Phase::Stopping { thread_id, .. } => Some(thread_id),
        }
    }

    fn turn_id(&self) -> Option<&str> {
        match &self.phase {
            Phase::Starting => None,
            Phase::Active { turn_id, .. } | Phase::Stopping { turn_id, .. } => turn_id.as_deref(),
        }
    }

    fn private_prose(&self) -> bool {
        self.ctx.mode == DeliveryMode::MessageToolOnly
    }
}

/// A transcript event decided under the run-table lock and written after it is released.
struct Write {
    key: SessionKey,
    run: String,
    private: bool,
    body: EventBody,
    /// The body's `target` is unknown: point it at the entry created just before.
    target_unknown: bool,
    /// The Codex item whose entry this event creates, so later events can target it.
    creates: Option<String>,
}

impl Write {
    fn new(key: &SessionKey, run: &str, private: bool, body: EventBody) -> Write {
        Write {
            key: key.clone(),
            run: run.to_owned(),
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
}

/// A message waiting behind the session's active run.
struct Queued {
    text: String,
    /// The transcript entry it answers (the user message or background request).
    for_seq: Seq,
    /// `Some(origin)` for a background request.
    background: Option<String>,
}

/// Whether a new run started at once or waits behind the session's active one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStart {
    Started,
    Queued,
}

/// Active runs, and what waits behind them.
#[derive(Default)]
pub(super) struct RunTable {
    by_session: HashMap<SessionKey, Run>,
    session_of_thread: HashMap<String, SessionKey>,
    /// Messages waiting behind the active run, oldest first.
    queued: HashMap<SessionKey, VecDeque<Queued>>,
    /// Turns whose runs have ended, newest last (bounded): a tool call Codex sends late for one of
    /// them must not be taken for the session's next run, which may have another source.
    ended_turns: VecDeque<String>,
}

/// How many ended turns [`RunTable::ended_turns`] remembers.
const ENDED_TURNS_KEPT: usize = 256;

impl RunTable {
    /// Puts a new run for `key` in the table (the caller checked that none is active, under the
    /// same lock) and returns its id.
    fn claim(&mut self, key: &SessionKey, source: RunSource) -> String {
        let run_id = uuid::Uuid::now_v7().to_string();
        let ctx = RunContext {
            source,
            mode: DeliveryMode::MessageToolOnly,
            session_key: key.to_string(),
            // Read fresh on every send: another run may change it while this one runs.
            last_route: None,
        };
        self.by_session.insert(
            key.clone(),
            Run {
                run_id: run_id.clone(),
                ctx,
                phase: Phase::Starting,
                stop_pending: false,
                items: HashMap::new(),
                pending: HashMap::new(),
                error: None,
                last_activity: Instant::now(),
                relay: None,
                relay_handle: None,
                relay_decisions: HashMap::new(),
            },
        );
        run_id
    }

    pub fn run_mut(&mut self, key: &SessionKey) -> Option<&mut Run> {
        self.by_session.get_mut(key)
    }

    pub fn active(&self) -> impl Iterator<Item = (&SessionKey, &Run)> {
        self.by_session.iter()
    }

    fn run_for_thread(&mut self, thread_id: &str) -> Option<(SessionKey, &mut Run)> {
        let key = self.session_of_thread.get(thread_id)?.clone();
        let run = self.by_session.get_mut(&key)?;
        Some((key, run))
    }

    /// Remembers that `turn` ended.
    fn turn_ended(&mut self, turn: &str) {
        if self.ended_turns.len() >= ENDED_TURNS_KEPT {
            self.ended_turns.pop_front();
        }
        self.ended_turns.push_back(turn.to_owned());
    }

    /// The run a tool call of `turn` on `thread` belongs to. A call from a turn that already
    /// ended, or from another turn than the run's own, belongs to no run.
    fn run_for_call(&mut self, thread: &str, turn: &str) -> Option<(SessionKey, &mut Run)> {
        if self.ended_turns.iter().any(|t| t == turn) {
            return None;
        }
        let (key, run) = self.run_for_thread(thread)?;
        match run.turn_id() {
            Some(own) if own != turn => None,
            _ => Some((key, run)),
        }
    }

    /// Whether a background request from `origin` already waits in `key`'s queue.
    pub fn has_queued_from(&self, key: &SessionKey, origin: &str) -> bool {
        self.queued
            .get(key)
            .is_some_and(|q| q.iter().any(|m| m.background.as_deref() == Some(origin)))
    }
}

impl Gateway {
    /// Starts a run for `text`, or queues it behind the session's active run. The check and the
    /// claim happen under one lock: two sends racing on one session must never both start a run
    /// (the second would replace the first in the table, and the first would never end).
    ///
    /// `background` is the origin of a background request (no UI source, so no internal sink);
    /// `None` for a message typed in the WebChat.
    pub(super) fn start_or_queue_run(
        &self,
        key: &SessionKey,
        text: String,
        for_seq: Seq,
        background: Option<String>,
    ) -> RunStart {
        let run_id = {
            let mut runs = lock(&self.inner.runs);
            if runs.by_session.contains_key(key) {
                runs.queued
                    .entry(key.clone())
                    .or_default()
                    .push_back(Queued {
                        text,
                        for_seq,
                        background,
                    });
                return RunStart::Queued;
            }
            runs.claim(key, source_of(&background))
        };
        self.launch_run(key, run_id, text, for_seq, background);
        RunStart::Started
    }

    /// Records the start of a run already claimed in the table and sets up its turn.
    fn launch_run(
        &self,
        key: &SessionKey,
        run_id: String,
        text: String,
        for_seq: Seq,
        background: Option<String>,
    ) {
        // A background run's model must know that nobody reads this chat (the thread's standing
        // instructions describe WebChat turns), and where it can deliver instead.
        let context = background
            .as_deref()
            .map(|origin| self.background_context(key, origin));
        if let Err(e) = self.inner.store.run_started(&run_id, key, super::now_ms()) {
            tracing::error!(session = %key, error = %e, "could not record the run start");
        }
        self.emit_logged(
            key,
            Some(&run_id),
            false,
            EventBody::RunStarted {
                run_id: run_id.clone(),
                for_seq: Some(for_seq),
                background,
            },
        );
        crate::fault::point("after-run-recorded");
        let gw = self.clone();
        let key = key.clone();
        let span = tracing::info_span!("run", session = %key, run = %run_id);
        self.spawn(
            async move {
                if let Err(e) = gw
                    .begin_turn(&key, &run_id, &text, context.as_deref())
                    .await
                {
                    tracing::warn!(error = %e, "run could not start");
                    gw.finish_run(&key, &run_id, RunOutcome::Failed, Some(e.to_string()));
                }
            }
            .instrument(span),
        );
    }

    /// Binds the thread and starts the turn. Notifications may arrive before `turn/start`
    /// answers; they find the run through the thread id registered first.
    async fn begin_turn(
        &self,
        key: &SessionKey,
        run_id: &str,
        text: &str,
        context: Option<&str>,
    ) -> Result<(), GatewayError> {
        let mut retried = false;
        loop {
            let ready = self.ensure_thread(key).await?;
            if let Some(why) = ready.unguarded {
                // Codex would run this thread's shell and file edits without asking us.
                return Err(GatewayError::Unguarded(format!(
                    "{why}; the run was refused"
                )));
            }
            let thread_id = ready.thread_id;
            {
                let mut runs = lock(&self.inner.runs);
                runs.session_of_thread
                    .insert(thread_id.clone(), key.clone());
                match runs.by_session.get_mut(key) {
                    Some(run) if run.run_id == run_id => {
                        run.relay = ready.relay;
                        run.relay_handle = ready.handle;
                        run.advance(Step::ThreadBound(thread_id.clone()));
                    }
                    _ => return Ok(()), // ended meanwhile (shutdown)
                }
            }
            match self.inner.codex.turn_start(&thread_id, text, context).await {
                Ok(turn_id) => {
                    self.turn_known(key, run_id, turn_id);
                    return Ok(());
                }
                // The thread was unloaded under us (idle unload, a Codex restart we have not
                // processed yet): resume once and try again.
                Err(e) if e.is_thread_not_found() && !retried => {
                    retried = true;
                    self.forget_loaded_thread(key).await;
                }
                // Codex died under the turn. Its `Exited` comes after everything it wrote before
                // dying; if the dispatcher has not handled that exit yet, it will close this run
                // (now Active) with the crash notice, after storing that last output. Closing it
                // here would race ahead of the output and drop it.
                Err(e @ CodexError::NotRunning(_)) if self.exit_pending(ready.epoch) => {
                    tracing::info!(error = %e, "Codex exited under turn/start; its exit closes the run");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn turn_known(&self, key: &SessionKey, run_id: &str, turn_id: String) {
        let interrupt = {
            let mut runs = lock(&self.inner.runs);
            match runs.by_session.get_mut(key) {
                Some(run) if run.run_id == run_id => run.advance(Step::TurnKnown(turn_id)),
                _ => None,
            }
        };
        if let Some((thread, turn)) = interrupt {
            self.send_interrupt(thread, turn);
        }
    }

    /// Asks Codex to stop the session's run. Returns false when nothing is running.
    /// Messages queued behind the run are dropped, and the transcript says so.
    pub fn stop(&self, key: &SessionKey) -> bool {
        let (interrupt, dropped) = {
            let mut runs = lock(&self.inner.runs);
            // Stop drops the person's own queued messages; background requests (a schedule's, an
            // API client's) are not theirs to cancel this way and keep their place.
            let dropped = match runs.queued.get_mut(key) {
                Some(q) => {
                    let before = q.len();
                    q.retain(|m| m.background.is_some());
                    before - q.len()
                }
                None => 0,
            };
            if runs.queued.get(key).is_some_and(VecDeque::is_empty) {
                runs.queued.remove(key);
            }
            match runs.by_session.get_mut(key) {
                Some(run) => (
                    run.advance(Step::StopRequested(StopReason::User, Instant::now())),
                    dropped,
                ),
                None => return false,
            }
        };
        if dropped > 0 {
            self.emit_logged(
                key,
                None,
                false,
                EventBody::Notice {
                    level: NoticeLevel::Warning,
                    text: format!("Stopped: {}", not_run(dropped, "queued ", ".")),
                    about: Some(NoticeAbout::NotRun),
                },
            );
        }
        if let Some((thread, turn)) = interrupt {
            self.send_interrupt(thread, turn);
        }
        true
    }

    fn send_interrupt(&self, thread: String, turn: String) {
        let codex = self.inner.codex.clone();
        self.spawn(async move {
            if let Err(e) = codex.turn_interrupt(&thread, &turn).await {
                // The watchdog closes the run if Codex never confirms.
                tracing::warn!(thread = %thread, turn = %turn, error = %e, "turn/interrupt failed");
            }
        });
    }

    /// Records how a run ended, once, and starts the next queued message.
    pub(super) fn finish_run(
        &self,
        key: &SessionKey,
        run_id: &str,
        outcome: RunOutcome,
        error: Option<String>,
    ) {
        let run = {
            let mut runs = lock(&self.inner.runs);
            match runs.by_session.get(key) {
                Some(r) if r.run_id == run_id => {
                    let run = runs.by_session.remove(key);
                    if let Some(turn) = run.as_ref().and_then(Run::turn_id) {
                        runs.turn_ended(turn);
                    }
                    run
                }
                _ => None,
            }
        };
        let Some(mut run) = run else { return };
        self.flush_all(key, &mut run);
        if let (Some(hooks), Some(handle)) = (&self.inner.opts.hooks, run.relay_handle.take()) {
            // Late hook processes (PostToolUse, Stop) of this run must still be answered; a newer
            // run's registration is never removed by this (the registry checks identity).
            let _timer = hooks.registry.unregister_deferred(
                handle,
                crate::hook::registry::unregister_delay(hooks.timeout_secs),
            );
        }
        if let Err(e) = self
            .inner
            .store
            .run_finished(run_id, outcome_str(outcome), super::now_ms())
        {
            tracing::error!(session = %key, error = %e, "could not record the run end");
        }
        self.emit_logged(
            key,
            Some(run_id),
            false,
            EventBody::RunFinished {
                run_id: run_id.to_owned(),
                outcome,
                error,
            },
        );
        let next = {
            let mut runs = lock(&self.inner.runs);
            if *self.inner.shutdown.borrow() {
                // Nothing new starts while shutting down; the next start reports what waited.
                None
            } else if runs.by_session.contains_key(key) {
                // A send claimed the session since this run was removed; the queue waits for it.
                None
            } else {
                let next = runs.queued.get_mut(key).and_then(VecDeque::pop_front);
                if runs.queued.get(key).is_some_and(VecDeque::is_empty) {
                    runs.queued.remove(key);
                }
                next.map(|q| (runs.claim(key, source_of(&q.background)), q))
            }
        };
        if let Some((run_id, q)) = next {
            self.launch_run(key, run_id, q.text, q.for_seq, q.background);
        }
    }

    /// Closes runs that a previous process left open: they cannot be running any more. Then
    /// tells each affected session which of its messages never got a run (they were queued, or
    /// the process died between storing a message and starting its run).
    pub(super) fn recover_unfinished_runs(&self) -> Result<(), GatewayError> {
        let unfinished = self.inner.store.unfinished_runs()?;
        let mut candidates: std::collections::BTreeSet<SessionKey> =
            unfinished.iter().map(|(k, _)| k.clone()).collect();
        for session in self.inner.store.list_sessions(usize::MAX)? {
            let last = self.inner.store.last_seq(&session.key)?;
            let tail = self.inner.store.events_after(
                &session.key,
                Seq(last.0.saturating_sub(1)),
                1,
                true,
            )?;
            if tail.iter().any(|e| {
                matches!(
                    e.body,
                    EventBody::UserMessage { .. } | EventBody::BackgroundRequest { .. }
                )
            }) {
                candidates.insert(session.key);
            }
        }
        for (key, run_id) in unfinished {
            tracing::info!(session = %key, run = %run_id, "closing a run interrupted by a restart");
            self.inner
                .store
                .run_finished(&run_id, "interrupted", super::now_ms())?;
            self.emit(
                &key,
                Some(&run_id),
                false,
                EventBody::RunFinished {
                    run_id: run_id.clone(),
                    outcome: RunOutcome::Interrupted,
                    error: Some("the server restarted while this run was in progress".to_owned()),
                },
                Some(&format!("{run_id}:recovered")),
            )?;
        }
        for key in candidates {
            self.notice_unrun_messages(&key)?;
        }
        Ok(())
    }

    /// How far back a restart looks for messages that never got a run.
    const UNRUN_LOOKBACK: u64 = 1000;

    fn notice_unrun_messages(&self, key: &SessionKey) -> Result<(), GatewayError> {
        let last = self.inner.store.last_seq(key)?;
        let events = self.inner.store.events_after(
            key,
            Seq(last.0.saturating_sub(Self::UNRUN_LOOKBACK)),
            Self::UNRUN_LOOKBACK as usize,
            true,
        )?;
        let unrun = unrun_messages(&events);
        // Typed messages and background requests are told apart: a person sends theirs again,
        // while a schedule simply fires again at its next time.
        let (background, typed): (Vec<Seq>, Vec<Seq>) = unrun.into_iter().partition(|seq| {
            events
                .iter()
                .any(|e| e.seq == *seq && matches!(e.body, EventBody::BackgroundRequest { .. }))
        });
        if let Some(&newest) = typed.last() {
            let n = typed.len();
            tracing::info!(session = %key, count = n, "messages left without a run by a restart");
            let why = format!(
                " because the server stopped before {} turn came.",
                if n == 1 { "its" } else { "their" }
            );
            self.emit(
                key,
                None,
                false,
                EventBody::Notice {
                    level: NoticeLevel::Warning,
                    text: not_run(n, "", &why),
                    about: Some(NoticeAbout::NotRun),
                },
                Some(&format!("unrun:{key}:{newest}")),
            )?;
        }
        if let Some(&newest) = background.last() {
            let n = background.len();
            tracing::info!(session = %key, count = n, "background requests left without a run by a restart");
            self.emit(
                key,
                None,
                false,
                EventBody::Notice {
                    level: NoticeLevel::Warning,
                    text: background_not_run(n, "because the server stopped before it started"),
                    about: Some(NoticeAbout::NotRun),
                },
                Some(&format!("unrun-background:{key}:{newest}")),
            )?;
        }
        Ok(())
    }

    // --- the dispatcher ---------------------------------------------------------------------

    pub(super) async fn dispatch(
        self,
        mut events: mpsc::UnboundedReceiver<SupervisorEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut flush = tokio::time::interval(DELTA_FLUSH);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.on_supervisor_event(ev),
                    None => break,
                },
                _ = flush.tick() => {
                    self.flush_due();
                    self.publish_session_list_if_changed();
                    ticks = ticks.wrapping_add(1);
                    if ticks.is_multiple_of(10) {
                        self.watchdog();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
    }

    fn on_supervisor_event(&self, ev: SupervisorEvent) {
        match ev {
            SupervisorEvent::Ready { epoch } => tracing::info!(?epoch, "Codex is ready"),
            SupervisorEvent::Exited { epoch, reason } => self.on_codex_exit(epoch, &reason),
            SupervisorEvent::Inbound {
                msg: Inbound::Notification(n),
                ..
            } => self.on_notification(n),
            SupervisorEvent::Inbound {
                epoch,
                msg: Inbound::Request { id, request },
            } => {
                let gw = self.clone();
                self.spawn(async move { gw.on_server_request(epoch, id, request).await });
            }
        }
    }

    /// Whether the dispatcher has yet to handle the exit of Codex process `epoch`.
    fn exit_pending(&self, epoch: Epoch) -> bool {
        self.inner.exited_epoch.load(Ordering::SeqCst) < epoch.0
    }

    fn on_codex_exit(&self, epoch: Epoch, reason: &str) {
        tracing::warn!(?epoch, reason, "Codex exited; it is being restarted");
        // Before the scan below: a run that `begin_turn` left to this exit is Active by now.
        self.inner.exited_epoch.fetch_max(epoch.0, Ordering::SeqCst);
        let affected: Vec<(SessionKey, String)> = {
            let mut runs = lock(&self.inner.runs);
            runs.session_of_thread.clear();
            runs.by_session
                .iter()
                .filter(|(_, r)| r.thread_id().is_some())
                .map(|(k, r)| (k.clone(), r.run_id.clone()))
                .collect()
        };
        for (key, run_id) in affected {
            self.finish_run(
                &key,
                &run_id,
                RunOutcome::Failed,
                Some(format!("Codex stopped unexpectedly ({reason}); it has been restarted, send again to continue")),
            );
        }
    }

    fn on_notification(&self, n: Notification) {
        let Some(thread_id) = n.thread_id().map(str::to_owned) else {
            return;
        };
        // Everything is decided under the lock; events are written after it is released.
        let mut out: Vec<Write> = Vec::new();
        let mut finish: Option<(SessionKey, String, RunOutcome, Option<String>)> = None;
        let mut interrupt = None;
        {
            let mut runs = lock(&self.inner.runs);
            let Some((key, run)) = runs.run_for_thread(&thread_id) else {
                tracing::debug!(thread = %thread_id, "notification for a thread without a run");
                return;
            };
            run.last_activity = Instant::now();
            let private = run.private_prose();
            let rid = run.run_id.clone();
            match n {
                Notification::TurnStarted { turn_id, .. } => {
                    interrupt = run.advance(Step::TurnKnown(turn_id));
                }
                Notification::ItemStarted { item, .. } => match item {
                    Item::AgentMessage { id, text } => {
                        out.push(
                            Write::new(
                                &key,
                                &rid,
                                private,
                                EventBody::ModelText {
                                    item_id: id.clone(),
                                    text,
                                },
                            )
                            .creating(&id),
                        );
                    }
                    Item::CommandExecution { id, command, .. } => {
                        let relay = run
                            .relay_decisions
                            .remove(&id)
                            .unwrap_or(RelayDecision::None);
                        let body = EventBody::ToolStarted {
                            call_id: id.clone(),
                            tool: "shell".to_owned(),
                            command: display_command(&command),
                            relay,
                        };
                        out.push(Write::new(&key, &rid, false, body).creating(&id));
                    }
                    Item::DynamicToolCall {
                        id,
                        tool,
                        arguments,
                        ..
                    } => {
                        let body = EventBody::ToolStarted {
                            call_id: id.clone(),
                            tool,
                            command: arguments.to_string(),
                            relay: RelayDecision::None,
                        };
                        // The reply itself is the visible entry; the call is an internal.
                        out.push(Write::new(&key, &rid, true, body).creating(&id));
                    }
                    _ => {}
                },
                Notification::AgentMessageDelta { item_id, delta, .. } => {
                    let entry = run.pending.entry(item_id.clone()).or_insert_with(|| {
                        (
                            String::new(),
                            Instant::now()
                                .checked_sub(DELTA_FLUSH)
                                .unwrap_or_else(Instant::now),
                        )
                    });
                    entry.0.push_str(&delta);
                    if !run.items.contains_key(&item_id) {
                        // A delta before its item/started: open the entry with what we have.
                        let text = run
                            .pending
                            .remove(&item_id)
                            .map(|(t, _)| t)
                            .unwrap_or_default();
                        out.push(
                            Write::new(
                                &key,
                                &rid,
                                private,
                                EventBody::ModelText {
                                    item_id: item_id.clone(),
                                    text,
                                },
                            )
                            .creating(&item_id),
                        );
                    } else if entry.1.elapsed() >= DELTA_FLUSH {
                        let text = std::mem::take(&mut entry.0);
                        entry.1 = Instant::now();
                        let target = run.items.get(&item_id).copied();
                        out.push(
                            Write::new(
                                &key,
                                &rid,
                                private,
                                EventBody::TextAppend {
                                    target: target.unwrap_or_default(),
                                    delta: text,
                                },
                            )
                            .targeting(target),
                        );
                    }
                }
                Notification::ItemCompleted { item, .. } => match item {
                    Item::AgentMessage { id, text } => {
                        run.pending.remove(&id);
                        match run.items.get(&id).copied() {
                            Some(target) => out.push(Write::new(
                                &key,
                                &rid,
                                private,
                                EventBody::TextDone { target, text },
                            )),
                            None => {
                                out.push(
                                    Write::new(
                                        &key,
                                        &rid,
                                        private,
                                        EventBody::ModelText {
                                            item_id: id.clone(),
                                            text: text.clone(),
                                        },
                                    )
                                    .creating(&id),
                                );
                                out.push(
                                    Write::new(
                                        &key,
                                        &rid,
                                        private,
                                        EventBody::TextDone {
                                            target: Seq::ZERO,
                                            text,
                                        },
                                    )
                                    .targeting(None),
                                );
                            }
                        }
                    }
                    Item::CommandExecution {
                        id,
                        command,
                        status,
                        aggregated_output,
                        exit_code,
                    } => {
                        let target = run.items.get(&id).copied();
                        if target.is_none() {
                            let relay = run
                                .relay_decisions
                                .remove(&id)
                                .unwrap_or(RelayDecision::None);
                            let body = EventBody::ToolStarted {
                                call_id: id.clone(),
                                tool: "shell".to_owned(),
                                command: display_command(&command),
                                relay,
                            };
                            out.push(Write::new(&key, &rid, false, body).creating(&id));
                        }
                        let body = EventBody::ToolFinished {
                            target: target.unwrap_or_default(),
                            status: tool_status(&status),
                            output: aggregated_output.unwrap_or_default(),
                            exit_code,
                        };
                        out.push(Write::new(&key, &rid, false, body).targeting(target));
                    }
                    Item::DynamicToolCall { id, status, .. } => {
                        if let Some(target) = run.items.get(&id).copied() {
                            let body = EventBody::ToolFinished {
                                target,
                                status: tool_status(&status),
                                output: String::new(),
                                exit_code: None,
                            };
                            out.push(Write::new(&key, &rid, true, body));
                        }
                    }
                    _ => {}
                },
                Notification::Error {
                    message,
                    will_retry,
                    ..
                } => {
                    if will_retry {
                        tracing::info!(thread = %thread_id, message, "Codex is retrying");
                    } else {
                        run.error = Some(message);
                    }
                }
                Notification::TurnCompleted { status, error, .. } => {
                    let stopped_by_user = matches!(
                        run.phase,
                        Phase::Stopping {
                            reason: StopReason::User,
                            ..
                        }
                    );
                    let (outcome, err) = match status {
                        TurnStatus::Completed => (RunOutcome::Completed, None),
                        TurnStatus::Interrupted if stopped_by_user => {
                            (RunOutcome::Interrupted, None)
                        }
                        TurnStatus::Interrupted => (
                            RunOutcome::Interrupted,
                            Some("Codex made no progress for too long".to_owned()),
                        ),
                        TurnStatus::Failed => {
                            (RunOutcome::Failed, error.or_else(|| run.error.clone()))
                        }
                        TurnStatus::Other(s) => (
                            RunOutcome::Failed,
                            Some(format!("turn ended with status {s}")),
                        ),
                    };
                    finish = Some((key, rid, outcome, err));
                }
                _ => {}
            }
        }
        self.write_outputs(out);
        if let Some((thread, turn)) = interrupt {
            self.send_interrupt(thread, turn);
        }
        if let Some((key, rid, outcome, err)) = finish {
            self.finish_run(&key, &rid, outcome, err);
        }
    }

    /// Writes events decided by `on_notification`, registering the entries they create.
    fn write_outputs(&self, out: Vec<Write>) {
        let mut last_created: Option<Seq> = None;
        for mut w in out {
            if w.target_unknown {
                match (&mut w.body, last_created) {
                    (
                        EventBody::TextDone { target, .. }
                        | EventBody::ToolFinished { target, .. }
                        | EventBody::TextAppend { target, .. },
                        Some(seq),
                    ) => *target = seq,
                    _ => continue,
                }
            }
            match self.emit(&w.key, Some(&w.run), w.private, w.body, None) {
                Ok(appended) => {
                    let seq = appended.event().seq;
                    if let Some(item) = w.creates {
                        last_created = Some(seq);
                        let mut runs = lock(&self.inner.runs);
                        if let Some(run) = runs
                            .by_session
                            .get_mut(&w.key)
                            .filter(|r| r.run_id == w.run)
                        {
                            run.items.insert(item, seq);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(session = %w.key, error = %e, "could not store a transcript event")
                }
            }
        }
    }

    /// Writes buffered deltas older than the flush interval.
    fn flush_due(&self) {
        let mut out = Vec::new();
        {
            let mut runs = lock(&self.inner.runs);
            for (key, run) in runs.by_session.iter_mut() {
                let private = run.private_prose();
                for (item, (buf, at)) in run.pending.iter_mut() {
                    if buf.is_empty() || at.elapsed() < DELTA_FLUSH {
                        continue;
                    }
                    if let Some(&target) = run.items.get(item) {
                        out.push(Write::new(
                            key,
                            &run.run_id,
                            private,
                            EventBody::TextAppend {
                                target,
                                delta: std::mem::take(buf),
                            },
                        ));
                        *at = Instant::now();
                    }
                }
            }
        }
        self.write_outputs(out);
    }

    /// Writes every buffered delta of a run that is ending.
    fn flush_all(&self, key: &SessionKey, run: &mut Run) {
        let mut out = Vec::new();
        let pending = std::mem::take(&mut run.pending);
        for (item, (buf, _)) in pending {
            if let (false, Some(&target)) = (buf.is_empty(), run.items.get(&item)) {
                out.push(Write::new(
                    key,
                    &run.run_id,
                    run.private_prose(),
                    EventBody::TextAppend { target, delta: buf },
                ));
            }
        }
        self.write_outputs(out);
    }

    /// Interrupts runs that made no progress for too long, and closes runs whose interrupt was
    /// never confirmed.
    fn watchdog(&self) {
        let stall = self.turn_stall();
        let mut interrupts = Vec::new();
        let mut give_up = Vec::new();
        {
            let mut runs = lock(&self.inner.runs);
            for (key, run) in runs.by_session.iter_mut() {
                // A turn that makes progress keeps its relay registration alive.
                if let (Some(hooks), Some((relay_id, generation))) =
                    (&self.inner.opts.hooks, &run.relay)
                {
                    if run.last_activity.elapsed() < Duration::from_secs(5) {
                        hooks.registry.renew(relay_id, generation);
                    }
                }
                match &run.phase {
                    Phase::Stopping { since, reason, .. } if since.elapsed() > INTERRUPT_GRACE => {
                        let (outcome, why) = match reason {
                            StopReason::User => (RunOutcome::Interrupted, None),
                            StopReason::Stalled => (
                                RunOutcome::Failed,
                                Some("Codex stopped responding".to_owned()),
                            ),
                        };
                        give_up.push((key.clone(), run.run_id.clone(), outcome, why));
                    }
                    Phase::Active { .. } if run.last_activity.elapsed() > stall => {
                        if let Some(i) =
                            run.advance(Step::StopRequested(StopReason::Stalled, Instant::now()))
                        {
                            tracing::warn!(session = %key, run = %run.run_id, "turn stalled; interrupting");
                            interrupts.push(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        for (thread, turn) in interrupts {
            self.send_interrupt(thread, turn);
        }
        for (key, rid, outcome, why) in give_up {
            self.finish_run(&key, &rid, outcome, why);
        }
    }

    // --- server requests --------------------------------------------------------------------

    /// Answers one request from Codex. Every path answers: an unanswered request would stall the
    /// turn forever.
    async fn on_server_request(&self, epoch: Epoch, id: RequestId, request: ServerRequest) {
        let result = match request {
            ServerRequest::ToolCall {
                thread_id,
                turn_id,
                call_id,
                tool,
                arguments,
            } if tool == "message" => Ok(self
                .message_tool_call(&thread_id, &turn_id, &call_id, &arguments)
                .await),
            ServerRequest::ToolCall { tool, .. } => Ok(delivery::tool_result(
                false,
                &format!("Unknown tool {tool:?}."),
                None,
            )),
            // Threads run with approvalPolicy "never"; should Codex still ask, decline rather than
            // run something nobody approved.
            ServerRequest::CommandApproval { .. } | ServerRequest::FileChangeApproval { .. } => {
                Ok(json!({"decision": "decline"}))
            }
            ServerRequest::Other { method, .. } => Err(RpcErrorObj {
                code: -32601,
                message: format!("{method} is not supported by codex-webchat"),
            }),
        };
        if let Err(e) = self.inner.codex.respond(epoch, id, result).await {
            tracing::warn!(error = %e, "could not answer a Codex request");
        }
    }

    /// The `message` tool: route, write the mirror, and only then produce the answer. A repeated
    /// call id gets the stored answer without a second delivery.
    async fn message_tool_call(
        &self,
        thread_id: &str,
        turn_id: &str,
        call_id: &str,
        arguments: &Value,
    ) -> Value {
        let result_key = format!("tool-result:{thread_id}:{call_id}");
        // One call id at a time: a repeat that arrives while the first is still delivering waits
        // for it and then gets its stored answer, instead of delivering a second time.
        let flight = {
            let mut calls = lock(&self.inner.calls_in_flight);
            calls.entry(result_key.clone()).or_default().clone()
        };
        let _one_at_a_time = flight.lock().await;
        let answer = self
            .message_tool_call_once(thread_id, turn_id, call_id, arguments, &result_key)
            .await;
        lock(&self.inner.calls_in_flight).remove(&result_key);
        answer
    }

    async fn message_tool_call_once(
        &self,
        thread_id: &str,
        turn_id: &str,
        call_id: &str,
        arguments: &Value,
        result_key: &str,
    ) -> Value {
        if let Ok(Some((_, ev))) = self.inner.store.by_idem_key(result_key) {
            if let EventBody::Internal { detail, .. } = ev.body {
                if let Some(stored) = detail.get("result") {
                    return stored.clone();
                }
            }
        }
        let found = {
            let mut runs = lock(&self.inner.runs);
            runs.run_for_call(thread_id, turn_id).map(|(key, run)| {
                run.last_activity = Instant::now();
                (key, run.run_id.clone(), run.ctx.clone())
            })
        };
        let Some((key, run_id, mut ctx)) = found else {
            return delivery::tool_result(
                false,
                "This conversation has no active run to reply to.",
                None,
            );
        };
        ctx.last_route = match self.inner.store.last_route(&key) {
            Ok(route) => route,
            Err(e) => {
                // Only `channel: "last"` needs it, and it then says there is none.
                tracing::warn!(session = %key, error = %e, "could not read the last route");
                None
            }
        };
        let args = SendArgs::from_value(arguments);
        let result = match delivery::route(&ctx, &args) {
            delivery::Route::CurrentRun { text } => {
                let mirror_key = format!("{run_id}:internal-source-reply:{call_id}");
                crate::fault::point("message-tool-before-mirror");
                let mirrored = self.emit(
                    &key,
                    Some(&run_id),
                    false,
                    EventBody::AssistantMessage {
                        text,
                        html: None,
                        call_id: Some(call_id.to_owned()),
                    },
                    Some(&mirror_key),
                );
                crate::fault::point("message-tool-after-mirror");
                match mirrored {
                    Ok(_) => delivery::tool_result(
                        true,
                        delivery::SINK_TEXT,
                        Some(&delivery::sink_details()),
                    ),
                    Err(e) => {
                        tracing::error!(session = %key, error = %e, "could not store a message-tool reply");
                        return delivery::tool_result(
                            false,
                            "The reply could not be recorded; it was not delivered.",
                            None,
                        );
                    }
                }
            }
            delivery::Route::Outbound {
                channel,
                target,
                text,
            } => {
                // A send the router will attempt shows at once that it is under way (a webhook
                // may retry for a while); its outcome completes the same card.
                let sending = self
                    .inner
                    .outbound
                    .resolve(&channel, &target)
                    .and_then(|(channel, target)| {
                        let card = EventBody::Delivery {
                            channel,
                            target,
                            status: DeliveryStatus::Sending,
                            attempts: 0,
                            detail: String::new(),
                            updates: None,
                        };
                        let idem = format!("{run_id}:delivery-start:{call_id}");
                        match self.emit(&key, Some(&run_id), false, card, Some(&idem)) {
                            Ok(appended) => Some(appended.event().seq),
                            Err(e) => {
                                tracing::error!(session = %key, error = %e, "could not store a delivery card");
                                None
                            }
                        }
                    });
                let delivery = self.inner.outbound.deliver_reported(
                    &channel,
                    OutboundMessage {
                        target: &target,
                        text: &text,
                        session: Some(key.as_str()),
                    },
                );
                tokio::pin!(delivery);
                // A delivery retrying for a while is progress, not a stalled turn.
                let mut keepalive = tokio::time::interval(Duration::from_secs(5));
                let report = loop {
                    tokio::select! {
                        report = &mut delivery => break report,
                        _ = keepalive.tick() => self.touch(&key, &run_id),
                    }
                };
                self.record_delivery(&key, &run_id, call_id, report.event_body(sending));
                self.emit_logged(
                    &key,
                    Some(&run_id),
                    true,
                    EventBody::Internal {
                        label: "delivery attempts".to_owned(),
                        detail: report.internal_detail(),
                        text: None,
                    },
                );
                // Only background runs move the session's last channel: a WebChat turn is a
                // person at the UI, not a route later sends should follow.
                if report.is_sent() && ctx.source == RunSource::Background {
                    self.remember_route(&key, &report.channel, &report.target);
                }
                delivery::tool_result(report.is_sent(), &report.model_text(), None)
            }
            delivery::Route::Reject(msg) => {
                // A refused send is visible too: the model tried to say something that reached
                // nobody, and the person reading the transcript should know.
                let named = |a: &Option<String>, b: &Option<String>| {
                    [a, b]
                        .into_iter()
                        .filter_map(|o| o.as_deref().map(str::trim))
                        .find(|s| !s.is_empty())
                        .unwrap_or_default()
                        .to_owned()
                };
                self.record_delivery(
                    &key,
                    &run_id,
                    call_id,
                    EventBody::Delivery {
                        channel: named(&args.channel, &args.channel_id),
                        target: named(&args.target, &args.to),
                        status: DeliveryStatus::Failed,
                        attempts: 0,
                        detail: msg.clone(),
                        updates: None,
                    },
                );
                delivery::tool_result(false, &msg, None)
            }
        };
        let stored = self.emit(
            &key,
            Some(&run_id),
            true,
            EventBody::Internal {
                label: "message tool result".to_owned(),
                detail: json!({"callId": call_id, "arguments": arguments, "result": result}),
                text: None,
            },
            Some(result_key),
        );
        match stored {
            // A concurrent retry stored its answer first: answer the same.
            Ok(Appended::Existing(ev)) => match ev.body {
                EventBody::Internal { detail, .. } => {
                    detail.get("result").cloned().unwrap_or(result)
                }
                _ => result,
            },
            Ok(Appended::Inserted(_)) => result,
            Err(e) => {
                tracing::error!(session = %key, error = %e, "could not store a tool result");
                result
            }
        }
    }
}

impl Gateway {
    /// Marks the run as making progress (the watchdog measures stalls from it).
    fn touch(&self, key: &SessionKey, run_id: &str) {
        if let Some(run) = lock(&self.inner.runs).by_session.get_mut(key) {
            if run.run_id == run_id {
                run.last_activity = Instant::now();
            }
        }
    }

    /// Writes the card of a send that did not go to the current run, once per call id.
    fn record_delivery(&self, key: &SessionKey, run_id: &str, call_id: &str, card: EventBody) {
        let idem = format!("{run_id}:delivery:{call_id}");
        if let Err(e) = self.emit(key, Some(run_id), false, card, Some(&idem)) {
            tracing::error!(session = %key, error = %e, "could not store a delivery card");
        }
    }

    /// The context a background run's turn carries (see [`super::threads::background_context`]):
    /// the configured channels and the session's last route as they are now.
    fn background_context(&self, key: &SessionKey, origin: &str) -> String {
        let last = match self.inner.store.last_route(key) {
            Ok(last) => last.map(|r| format!("{}:{}", r.channel, r.target)),
            Err(e) => {
                tracing::warn!(session = %key, error = %e, "could not read the last route");
                None
            }
        };
        super::threads::background_context(origin, &self.inner.outbound.describe(), last.as_deref())
    }

    /// Makes `channel:target` the session's last route and tells open tabs.
    fn remember_route(&self, key: &SessionKey, channel: &str, target: &str) {
        let route = delivery::LastRoute {
            channel: channel.to_owned(),
            target: target.to_owned(),
        };
        match self
            .inner
            .store
            .set_last_route(key, &route, super::now_ms())
        {
            Ok(()) => self.publish_session_list(),
            Err(e) => tracing::error!(session = %key, error = %e, "could not store the last route"),
        }
    }
}

/// "`n` background request(s) was/were not run `why`." A schedule fires again by itself; an API
/// client decides for itself whether to ask again.
fn background_not_run(n: usize, why: &str) -> String {
    let (s, was) = if n == 1 { ("", "was") } else { ("s", "were") };
    format!("{n} background request{s} {was} not run {why}.")
}

/// "`n` `kind`message(s) was/were not run`why` Send it/them again to run it/them."
fn not_run(n: usize, kind: &str, why: &str) -> String {
    let (s, was, them) = if n == 1 {
        ("", "was", "it")
    } else {
        ("s", "were", "them")
    };
    format!("{n} {kind}message{s} {was} not run{why} Send {them} again to run {them}.")
}

/// The user messages in `events` that no run answers. A run started before runs named their
/// message (`for_seq: None`) is taken to answer every message before it, and a notice about
/// unrun messages ([`NoticeAbout::NotRun`]: a stop's, or an earlier restart's) covers every
/// message before it.
fn unrun_messages(events: &[app::wire::Event]) -> Vec<Seq> {
    let answered: std::collections::HashSet<Seq> = events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::RunStarted { for_seq, .. } => for_seq,
            _ => None,
        })
        .collect();
    let covered_before = events
        .iter()
        .filter(|e| match &e.body {
            EventBody::RunStarted { for_seq: None, .. } => true,
            EventBody::Notice {
                about: Some(NoticeAbout::NotRun),
                ..
            } => true,
            EventBody::Notice {
                about: None, text, ..
            } => legacy_not_run_notice(text),
            _ => false,
        })
        .map(|e| e.seq)
        .max()
        .unwrap_or(Seq::ZERO);
    events
        .iter()
        .filter(|e| {
            matches!(
                e.body,
                EventBody::UserMessage { .. } | EventBody::BackgroundRequest { .. }
            )
        })
        .map(|e| e.seq)
        .filter(|seq| *seq > covered_before && !answered.contains(seq))
        .collect()
}

/// LEGACY ONLY: whether a notice stored before notices carried `about` (so `about` is `None`)
/// was a not-run notice. Those were recognised by their text, and a database may still hold
/// them inside the recovery's look-back; without this, the messages they covered would be
/// reported a second time at the next start. It matches the exact sentences the old code wrote
/// ("[Stopped: ]<n> [queued ]message[s] was/were not run…", "<n> background request[s]
/// was/were not run…") and must never be used for notices written today, which say what they are
/// in `about`: this copy of the wording is frozen, while the live wording may change freely.
fn legacy_not_run_notice(text: &str) -> bool {
    let text = text.strip_prefix("Stopped: ").unwrap_or(text);
    let Some((count, rest)) = text.split_once(' ') else {
        return false;
    };
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let rest = rest.strip_prefix("queued ").unwrap_or(rest);
    [
        "message was not run",
        "messages were not run",
        "background request was not run",
        "background requests were not run",
    ]
    .iter()
    .any(|sentence| rest.starts_with(sentence))
}

fn source_of(background: &Option<String>) -> RunSource {
    if background.is_some() {
        RunSource::Background
    } else {
        RunSource::WebChat
    }
}

fn outcome_str(o: RunOutcome) -> &'static str {
    match o {
        RunOutcome::Completed => "completed",
        RunOutcome::Interrupted => "interrupted",
        RunOutcome::Failed => "failed",
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
pub(super) fn display_command(command: &str) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn shell_wrappers_are_unwrapped_for_display() {
        assert_eq!(display_command("/bin/bash -lc 'echo hi'"), "echo hi");
        assert_eq!(display_command("/bin/bash -c 'echo hi'"), "echo hi");
        assert_eq!(display_command("bashful -c x"), "bashful -c x");
        assert_eq!(
            display_command("/bin/bash -lc 'echo '\\''q'\\'''"),
            "echo 'q'"
        );
        assert_eq!(display_command("ls -la"), "ls -la");
    }

    fn run() -> Run {
        Run {
            run_id: "r".into(),
            ctx: RunContext {
                source: RunSource::WebChat,
                mode: DeliveryMode::MessageToolOnly,
                session_key: "s".into(),
                last_route: None,
            },
            phase: Phase::Starting,
            stop_pending: false,
            items: HashMap::new(),
            pending: HashMap::new(),
            error: None,
            last_activity: Instant::now(),
            relay: None,
            relay_handle: None,
            relay_decisions: HashMap::new(),
        }
    }

    #[test]
    fn stop_before_the_turn_exists_is_honoured_when_it_does() {
        let mut r = run();
        assert_eq!(
            r.advance(Step::StopRequested(StopReason::User, Instant::now())),
            None
        );
        assert_eq!(r.advance(Step::ThreadBound("t".into())), None);
        assert_eq!(
            r.advance(Step::TurnKnown("u".into())),
            Some(("t".into(), "u".into()))
        );
        assert!(matches!(
            r.phase,
            Phase::Stopping {
                reason: StopReason::User,
                ..
            }
        ));
    }

    #[test]
    fn a_second_stop_sends_no_second_interrupt() {
        let mut r = run();
        r.advance(Step::ThreadBound("t".into()));
        r.advance(Step::TurnKnown("u".into()));
        assert!(r
            .advance(Step::StopRequested(StopReason::User, Instant::now()))
            .is_some());
        assert!(r
            .advance(Step::StopRequested(StopReason::User, Instant::now()))
            .is_none());
    }

    /// A gateway whose Codex never starts: enough to drive tool calls by hand.
    fn offline_gateway() -> Gateway {
        gateway_on(
            crate::store::Store::open_in_memory().unwrap(),
            Duration::from_millis(10),
        )
    }

    /// A gateway whose Codex never starts, on `store`; sends wait `ready` for Codex.
    fn gateway_on(store: crate::store::Store, ready: Duration) -> Gateway {
        gateway_with(store, ready, crate::channels::Outbound::default())
    }

    fn gateway_with(
        store: crate::store::Store,
        ready: Duration,
        outbound: crate::channels::Outbound,
    ) -> Gateway {
        let dir = std::env::temp_dir();
        let (codex, events) = crate::codex::Codex::start(crate::codex::CodexOptions::new(
            dir.join("no-such-codex-binary"),
            dir.join("no-such-codex-home"),
            dir.clone(),
        ));
        Gateway::start(
            store,
            codex,
            events,
            outbound,
            super::super::GatewayOptions {
                cwd: dir,
                sandbox: "read-only".into(),
                model_label: "test".into(),
                turn_stall: Duration::from_secs(60),
                codex_ready_timeout: ready,
                hooks: None,
            },
        )
        .unwrap()
    }

    fn notices(gw: &Gateway, key: &SessionKey) -> Vec<String> {
        gw.store()
            .events_after(key, Seq::ZERO, 1000, true)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.body {
                EventBody::Notice { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_message_stored_without_a_run_before_a_crash_gets_a_notice_at_restart() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let gw = gateway_on(store.clone(), Duration::from_millis(10));
        let key = gw.create_session().unwrap().key;
        // What a process killed between storing the message and starting its run leaves.
        gw.emit(
            &key,
            None,
            false,
            EventBody::UserMessage {
                text: "lost?".into(),
                client_id: "c1".into(),
            },
            None,
        )
        .unwrap();
        gw.shutdown().await;

        let gw = gateway_on(store.clone(), Duration::from_millis(10));
        let found = notices(&gw, &key);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("1 message was not run"), "{found:?}");
        gw.shutdown().await;
        // A second restart does not say it again.
        let gw = gateway_on(store, Duration::from_millis(10));
        assert_eq!(notices(&gw, &key).len(), 1);
        gw.shutdown().await;
    }

    /// Recovery reads a notice's kind, so every not-run notice must carry it.
    #[tokio::test]
    async fn not_run_notices_carry_their_kind() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let gw = gateway_on(store.clone(), Duration::from_millis(10));
        let key = gw.create_session().unwrap().key;
        gw.emit(
            &key,
            None,
            false,
            EventBody::UserMessage {
                text: "lost?".into(),
                client_id: "c1".into(),
            },
            None,
        )
        .unwrap();
        gw.shutdown().await;
        let gw = gateway_on(store, Duration::from_millis(10));
        let kinds: Vec<_> = gw
            .store()
            .events_after(&key, Seq::ZERO, 1000, true)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.body {
                EventBody::Notice { about, .. } => Some(about),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, vec![Some(NoticeAbout::NotRun)]);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_background_request_left_without_a_run_gets_its_own_notice_at_restart() {
        let store = crate::store::Store::open_in_memory().unwrap();
        let gw = gateway_on(store.clone(), Duration::from_millis(10));
        let key = gw.create_session().unwrap().key;
        for body in [
            EventBody::UserMessage {
                text: "typed".into(),
                client_id: "c1".into(),
            },
            EventBody::BackgroundRequest {
                origin: "schedule nightly".into(),
                prompt: "/say x".into(),
            },
        ] {
            gw.emit(&key, None, false, body, None).unwrap();
        }
        gw.shutdown().await;
        let gw = gateway_on(store.clone(), Duration::from_millis(10));
        assert_eq!(
            notices(&gw, &key),
            vec![
                "1 message was not run because the server stopped before its turn came. Send it again to run it.".to_owned(),
                "1 background request was not run because the server stopped before it started.".to_owned(),
            ]
        );
        gw.shutdown().await;
        let gw = gateway_on(store, Duration::from_millis(10));
        assert_eq!(notices(&gw, &key).len(), 2);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn stop_keeps_queued_background_requests_and_shutdown_starts_nothing_queued() {
        let gw = gateway_on(
            crate::store::Store::open_in_memory().unwrap(),
            Duration::from_secs(600),
        );
        let key = gw.create_session().unwrap().key;
        gw.send(&key, "c0", "first").unwrap();
        let bg = gw.start_background(&key, "api", "/say x", "r1").unwrap();
        assert_eq!(bg.start, Some(RunStart::Queued));
        gw.send(&key, "c1", "second").unwrap();
        assert!(gw.stop(&key));
        assert_eq!(
            notices(&gw, &key),
            vec!["Stopped: 1 queued message was not run. Send it again to run it.".to_owned()]
        );
        assert!(gw.background_queued(&key, "api"));
        // Shutting down closes the first run; the queued background request must not start.
        gw.shutdown().await;
        let started = gw
            .store()
            .events_after(&key, Seq::ZERO, 1000, true)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.body, EventBody::RunStarted { .. }))
            .count();
        assert_eq!(started, 1);
    }

    #[tokio::test]
    async fn a_late_tool_call_from_an_ended_turn_is_not_taken_for_the_next_run() {
        let gw = offline_gateway();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::Background);
        // A call naming another turn than the run's own belongs to no run.
        let other = gw
            .message_tool_call("t1", "u0", "c0", &json!({"action": "send", "message": "x"}))
            .await;
        assert_eq!(other["success"], false);
        gw.finish_run(&key, "r", RunOutcome::Interrupted, None);
        // The next run (a WebChat one, with a sink) is bound, its turn not known yet.
        let mut next = run();
        next.run_id = "r2".into();
        next.ctx.session_key = key.to_string();
        next.phase = Phase::Active {
            thread_id: "t1".into(),
            turn_id: None,
        };
        {
            let mut runs = lock(&gw.inner.runs);
            runs.by_session.insert(key.clone(), next);
        }
        let late = gw
            .message_tool_call(
                "t1",
                "u1",
                "c1",
                &json!({"action": "send", "message": "late"}),
            )
            .await;
        assert_eq!(late["success"], false);
        assert!(replies(&gw, &key).is_empty());
        let own = gw
            .message_tool_call(
                "t1",
                "u2",
                "c2",
                &json!({"action": "send", "message": "mine"}),
            )
            .await;
        assert_eq!(own["success"], true);
        assert_eq!(replies(&gw, &key), vec!["mine".to_owned()]);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_repeated_call_id_in_flight_waits_for_the_first_and_delivers_once() {
        let gw = gateway_with_test_channel();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::Background);
        let args =
            json!({"action": "send", "message": "x", "channel": "test", "target": "counted"});
        let (a, b) = tokio::join!(call(&gw, "c1", args.clone()), call(&gw, "c1", args));
        assert_eq!(a, b);
        assert_eq!(cards(&gw, &key).len(), 1);
        assert_eq!(COUNTED.load(std::sync::atomic::Ordering::SeqCst), 1);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_long_history_is_paged_from_the_first_message_inside_the_window() {
        use app::api::PageSource;
        let gw = offline_gateway();
        let key = gw.create_session().unwrap().key;
        // 600 exchanges of 3 events: a message, a reply, a notice (1,800 events).
        for i in 0..600 {
            for body in [
                EventBody::UserMessage {
                    text: format!("m{i}"),
                    client_id: format!("c{i}"),
                },
                EventBody::AssistantMessage {
                    text: format!("r{i}"),
                    html: None,
                    call_id: None,
                },
                EventBody::Notice {
                    level: NoticeLevel::Info,
                    text: format!("n{i}"),
                    about: None,
                },
            ] {
                gw.emit(&key, None, false, body, None).unwrap();
            }
        }
        let page = gw.page(&key, false, 1_000).unwrap();
        // The window's edge (seq 800) falls inside an exchange; the page starts at the next
        // message, seq 802 (messages are 1, 4, 7, ...).
        assert_eq!(page.earlier, 801);
        assert_eq!(page.events[0].seq, Seq(802));
        assert!(
            matches!(&page.events[0].body, EventBody::UserMessage { text, .. } if text == "m267")
        );
        assert_eq!(page.events.len(), 999);
        assert_eq!(page.last_seq, Seq(1_800));
        assert_eq!(page.window, 1_000);
        // A window as large as the history shows all of it.
        let all = gw.page(&key, false, 4_000).unwrap();
        assert_eq!((all.earlier, all.events.len()), (0, 1_800));
        // One run longer than the window: the page starts at the window's edge.
        let long = gw.create_session().unwrap().key;
        for i in 0..50 {
            gw.emit(
                &long,
                None,
                false,
                EventBody::Notice {
                    level: NoticeLevel::Info,
                    text: format!("n{i}"),
                    about: None,
                },
                None,
            )
            .unwrap();
        }
        let page = gw.page(&long, false, 20).unwrap();
        assert_eq!((page.earlier, page.events.len()), (30, 20));
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn stop_with_queued_messages_says_they_were_not_run() {
        // Codex never comes up within the test, so the first run stays in set-up and the
        // next two sends queue behind it.
        let gw = gateway_on(
            crate::store::Store::open_in_memory().unwrap(),
            Duration::from_secs(600),
        );
        let key = gw.create_session().unwrap().key;
        for (i, text) in ["first", "second", "third"].iter().enumerate() {
            gw.send(&key, &format!("c{i}"), text).unwrap();
        }
        assert!(gw.stop(&key));
        let found = notices(&gw, &key);
        assert_eq!(
            found,
            vec![
                "Stopped: 2 queued messages were not run. Send them again to run them.".to_owned()
            ]
        );
        gw.shutdown().await;
    }

    #[test]
    fn unrun_messages_are_those_no_run_names() {
        let ev = |seq: u64, body: EventBody| app::wire::Event {
            seq: Seq(seq),
            at_ms: 0,
            run: None,
            private: false,
            body,
        };
        let user = |seq: u64| {
            ev(
                seq,
                EventBody::UserMessage {
                    text: "x".into(),
                    client_id: format!("c{seq}"),
                },
            )
        };
        let started = |seq: u64, for_seq: Option<u64>| {
            ev(
                seq,
                EventBody::RunStarted {
                    run_id: format!("r{seq}"),
                    for_seq: for_seq.map(Seq),
                    background: None,
                },
            )
        };
        // 1 answered by 2; 3 and 4 queued and never run.
        let events = vec![user(1), started(2, Some(1)), user(3), user(4)];
        assert_eq!(unrun_messages(&events), vec![Seq(3), Seq(4)]);
        // A legacy run (no for_seq) covers everything before it.
        let events = vec![user(1), started(2, None), user(3)];
        assert_eq!(unrun_messages(&events), vec![Seq(3)]);
        // Queued 3 was started later as run 6: answered.
        let events = vec![user(1), started(2, Some(1)), user(3), started(6, Some(3))];
        assert!(unrun_messages(&events).is_empty());
        // A background request counts like a typed message.
        let request = ev(
            7,
            EventBody::BackgroundRequest {
                origin: "schedule nightly".into(),
                prompt: "x".into(),
            },
        );
        let events = vec![user(1), started(2, Some(1)), request.clone()];
        assert_eq!(unrun_messages(&events), vec![Seq(7)]);
        let events = vec![request, started(8, Some(7))];
        assert!(unrun_messages(&events).is_empty());
    }

    #[test]
    fn a_not_run_notice_covers_what_precedes_it_by_its_kind_not_its_words() {
        let ev = |seq: u64, body: EventBody| app::wire::Event {
            seq: Seq(seq),
            at_ms: 0,
            run: None,
            private: false,
            body,
        };
        let user = |seq: u64| {
            ev(
                seq,
                EventBody::UserMessage {
                    text: "x".into(),
                    client_id: format!("c{seq}"),
                },
            )
        };
        let notice = |seq: u64, text: &str, about: Option<NoticeAbout>| {
            ev(
                seq,
                EventBody::Notice {
                    level: NoticeLevel::Warning,
                    text: text.into(),
                    about,
                },
            )
        };
        // Today's notices are recognised by `about`, whatever they say.
        let events = vec![
            user(1),
            notice(2, "Anything at all.", Some(NoticeAbout::NotRun)),
            user(3),
        ];
        assert_eq!(unrun_messages(&events), vec![Seq(3)]);
        // Words alone mean nothing on a notice that is not legacy-shaped.
        let events = vec![
            user(1),
            notice(2, "This was not run through a spell checker.", None),
        ];
        assert_eq!(unrun_messages(&events), vec![Seq(1)]);
        // Legacy notices (stored before `about` existed) in every wording the old code wrote.
        for legacy in [
            "1 message was not run because the server stopped before its turn came. Send it again to run it.",
            "12 messages were not run because the server stopped before their turn came. Send them again to run them.",
            "Stopped: 1 queued message was not run. Send it again to run it.",
            "Stopped: 2 queued messages were not run. Send them again to run them.",
            "1 background request was not run because the server stopped before it started.",
            "3 background requests were not run because the server stopped before it started.",
        ] {
            let events = vec![user(1), notice(2, legacy, None), user(3)];
            assert_eq!(unrun_messages(&events), vec![Seq(3)], "{legacy}");
        }
        // Near misses are not legacy notices: no count, or not the old sentence.
        assert!(!legacy_not_run_notice("Stopped: nothing was not run"));
        assert!(!legacy_not_run_notice(" message was not run"));
    }

    fn bind_run(gw: &Gateway, key: &SessionKey, source: RunSource) {
        let mut r = run();
        r.ctx.source = source;
        r.ctx.session_key = key.to_string();
        r.phase = Phase::Active {
            thread_id: "t1".into(),
            turn_id: Some("u1".into()),
        };
        let mut runs = lock(&gw.inner.runs);
        runs.by_session.insert(key.clone(), r);
        runs.session_of_thread.insert("t1".into(), key.clone());
    }

    fn replies(gw: &Gateway, key: &SessionKey) -> Vec<String> {
        gw.store()
            .events_after(key, Seq::ZERO, 1000, true)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.body {
                EventBody::AssistantMessage { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn message_tool_mirror_is_written_once_and_a_repeated_call_id_gets_the_stored_result() {
        let gw = offline_gateway();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::WebChat);
        let args = json!({"action": "send", "message": "hello there"});
        let first = gw.message_tool_call("t1", "u1", "call-1", &args).await;
        let again = gw.message_tool_call("t1", "u1", "call-1", &args).await;
        assert_eq!(first, again);
        assert_eq!(first["success"], true);
        assert_eq!(first["contentItems"][0]["text"], delivery::SINK_TEXT);
        // The model is not fed its own words back.
        assert!(!first.to_string().contains("hello there"));
        assert_eq!(replies(&gw, &key), vec!["hello there".to_owned()]);
        // A different call id is a different reply.
        gw.message_tool_call("t1", "u1", "call-2", &args).await;
        assert_eq!(replies(&gw, &key).len(), 2);
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_background_run_has_no_sink_and_stores_no_reply() {
        let gw = offline_gateway();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::Background);
        let out = gw
            .message_tool_call(
                "t1",
                "u1",
                "call-1",
                &json!({"action": "send", "message": "x"}),
            )
            .await;
        assert_eq!(out["success"], false);
        assert_eq!(out["contentItems"][0]["text"], delivery::REQUIRES_TARGET);
        assert!(replies(&gw, &key).is_empty());
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn explicit_sends_go_to_the_router_and_unknown_channels_are_clear_errors() {
        let gw = offline_gateway();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::WebChat);
        let out = gw
            .message_tool_call(
                "t1",
                "u1",
                "call-1",
                &json!({"action": "send", "message": "x", "channel": "slack", "target": "ops"}),
            )
            .await;
        assert_eq!(out["success"], false);
        assert!(out["contentItems"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Unknown channel: slack"));
        assert!(replies(&gw, &key).is_empty());
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn a_tool_call_for_a_thread_without_a_run_is_answered_with_an_error() {
        let gw = offline_gateway();
        let out = gw
            .message_tool_call(
                "unknown-thread",
                "u1",
                "c",
                &json!({"action": "send", "message": "x"}),
            )
            .await;
        assert_eq!(out["success"], false);
        gw.shutdown().await;
    }

    /// A channel that accepts every target except `down`, with one attempt.
    struct Accepting;

    /// Deliveries to the target `counted` (only one test uses it).
    static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    impl crate::channels::Channel for Accepting {
        fn deliver<'a>(
            &'a self,
            message: OutboundMessage<'a>,
        ) -> futures::future::BoxFuture<'a, crate::channels::DeliveryReport> {
            Box::pin(async move {
                if message.target == "counted" {
                    COUNTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Still delivering when a repeat of the call arrives.
                    tokio::task::yield_now().await;
                }
                let ok = message.target != "down";
                crate::channels::DeliveryReport {
                    channel: "test".into(),
                    target: message.target.into(),
                    attempts: vec![crate::channels::Attempt {
                        n: 1,
                        status: Some(if ok { 200 } else { 503 }),
                        error: None,
                        elapsed_ms: 0,
                    }],
                    outcome: if ok {
                        Ok(format!("Sent to test:{}.", message.target))
                    } else {
                        Err(crate::channels::OutboundError::Failed {
                            channel: "test".into(),
                            target: message.target.into(),
                            reason: "HTTP 503".into(),
                        })
                    },
                }
            })
        }
    }

    fn gateway_with_test_channel() -> Gateway {
        gateway_with(
            crate::store::Store::open_in_memory().unwrap(),
            Duration::from_millis(10),
            crate::channels::Outbound::default()
                .with_channel("test", std::sync::Arc::new(Accepting)),
        )
    }

    /// Every delivery card of the session: (channel, target, sent, detail).
    fn cards(gw: &Gateway, key: &SessionKey) -> Vec<(String, String, bool, String)> {
        gw.store()
            .events_after(key, Seq::ZERO, 1000, true)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.body {
                EventBody::Delivery {
                    channel,
                    target,
                    status,
                    detail,
                    ..
                    // Outcomes only; a `sending` card is completed by its outcome.
                } if status != DeliveryStatus::Sending => {
                    Some((channel, target, status == DeliveryStatus::Sent, detail))
                }
                _ => None,
            })
            .collect()
    }

    fn last_channel(gw: &Gateway, key: &SessionKey) -> Option<String> {
        gw.session(key).unwrap().last_channel
    }

    async fn call(gw: &Gateway, id: &str, args: Value) -> Value {
        gw.message_tool_call("t1", "u1", id, &args).await
    }

    #[tokio::test]
    async fn webchat_turns_never_set_the_last_channel_but_background_runs_do() {
        let gw = gateway_with_test_channel();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::WebChat);
        let sent = call(
            &gw,
            "c1",
            json!({"action": "send", "message": "x", "channel": "test", "target": "ops"}),
        )
        .await;
        assert_eq!(sent["success"], true);
        assert_eq!(last_channel(&gw, &key), None);
        assert_eq!(
            cards(&gw, &key),
            vec![(
                "test".into(),
                "ops".into(),
                true,
                "Sent to test:ops.".into()
            )]
        );

        bind_run(&gw, &key, RunSource::Background);
        // A failed delivery does not become the last channel either.
        let failed = call(
            &gw,
            "c2",
            json!({"action": "send", "message": "x", "channel": "test", "target": "down"}),
        )
        .await;
        assert_eq!(failed["success"], false);
        assert_eq!(last_channel(&gw, &key), None);
        call(
            &gw,
            "c3",
            json!({"action": "send", "message": "x", "channel": "test", "target": "digest"}),
        )
        .await;
        assert_eq!(last_channel(&gw, &key).as_deref(), Some("test:digest"));
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn channel_last_uses_the_last_route_and_is_a_clear_error_without_one() {
        let gw = gateway_with_test_channel();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::Background);
        let none = call(
            &gw,
            "c1",
            json!({"action": "send", "message": "x", "channel": "last"}),
        )
        .await;
        assert_eq!(none["success"], false);
        assert_eq!(none["contentItems"][0]["text"], delivery::NO_LAST_ROUTE);
        call(
            &gw,
            "c2",
            json!({"action": "send", "message": "x", "channel": "test", "target": "digest"}),
        )
        .await;
        let via_last = call(
            &gw,
            "c3",
            json!({"action": "send", "message": "y", "channel": "last"}),
        )
        .await;
        assert_eq!(via_last["success"], true);
        // WebChat turns never use it, even when they ask.
        bind_run(&gw, &key, RunSource::WebChat);
        let from_chat = call(
            &gw,
            "c4",
            json!({"action": "send", "message": "z", "channel": "LAST", "target": "ops"}),
        )
        .await;
        assert_eq!(from_chat["success"], false);
        assert_eq!(
            from_chat["contentItems"][0]["text"],
            delivery::LAST_FROM_WEBCHAT
        );
        assert_eq!(last_channel(&gw, &key).as_deref(), Some("test:digest"));
        let got: Vec<(String, String, bool)> = cards(&gw, &key)
            .into_iter()
            .map(|(c, t, sent, _)| (c, t, sent))
            .collect();
        assert_eq!(
            got,
            vec![
                ("last".into(), "".into(), false),
                ("test".into(), "digest".into(), true),
                ("test".into(), "digest".into(), true),
                ("LAST".into(), "ops".into(), false),
            ]
        );
        gw.shutdown().await;
    }

    #[tokio::test]
    async fn refused_sends_leave_one_failed_card_with_the_error() {
        let gw = gateway_with_test_channel();
        let key = gw.create_session().unwrap().key;
        bind_run(&gw, &key, RunSource::Background);
        let args = json!({"action": "send", "message": "x"});
        call(&gw, "c1", args.clone()).await;
        call(&gw, "c1", args).await;
        bind_run(&gw, &key, RunSource::WebChat);
        call(
            &gw,
            "c2",
            json!({"action": "send", "message": "x", "channel": "webchat", "target": "x"}),
        )
        .await;
        let got = cards(&gw, &key);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            (
                "".into(),
                "".into(),
                false,
                delivery::REQUIRES_TARGET.into()
            )
        );
        assert_eq!(
            (got[1].0.as_str(), got[1].1.as_str(), got[1].2),
            ("webchat", "x", false)
        );
        assert!(
            got[1].3.contains("not a deliverable channel"),
            "{}",
            got[1].3
        );
        gw.shutdown().await;
    }
}
