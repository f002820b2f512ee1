//! The run table: the active run of each session, the session each Codex thread serves, and the
//! requests waiting in each session's queue.
//!
//! A [`Run`] holds its phase, its projection and its relay registration; nothing outside this
//! module touches their fields, so every change to a run (a hook's decision included) is a named
//! method here. The table lives behind the gateway's `runs` lock: it never sends, writes the
//! transcript, reads the store or waits, so the lock is only ever held for a moment.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use app::wire::{ContextUsage, RelayDecision, Seq, SessionKey};

use super::phase::{Effect, Phase, Step};
use super::projection::{Projection, Write};
use crate::codex::Notification;
use crate::gateway::delivery::{DeliveryMode, RunContext, RunSource};
use crate::hook::registry::RegistrationHandle;
use crate::ids::{CallId, RunId, ThreadId, TurnId};

/// How many ended turns [`RunTable`] remembers.
const ENDED_TURNS_KEPT: usize = 256;

/// What a run answers: a typed message or a background request.
#[derive(Debug)]
pub(super) struct RunRequest {
    pub text: String,
    /// The transcript entry it answers (the user message or background request).
    pub for_seq: Seq,
    /// Where it came from: one of our clients, or the background.
    pub source: RunSource,
    /// `Some(origin)` for a background request.
    pub background: Option<String>,
    /// Stored images attached to the message, sent as `localImage`s after the text.
    pub images: Vec<std::path::PathBuf>,
}

impl RunRequest {
    fn source(&self) -> RunSource {
        self.source
    }
}

/// One active run.
pub(in crate::gateway) struct Run {
    id: RunId,
    ctx: RunContext,
    phase: Phase,
    projection: Projection,
    /// The last sign of progress; the watchdog measures stalls from it.
    last_activity: Instant,
    /// The relay id and generation guarding this run's thread.
    relay: Option<(String, String)>,
    /// The run's relay registration, unregistered (deferred) when the run ends.
    relay_handle: Option<RegistrationHandle>,
}

impl Run {
    pub fn id(&self) -> &RunId {
        &self.id
    }

    pub(super) fn ctx(&self) -> &RunContext {
        &self.ctx
    }

    pub(super) fn thread(&self) -> Option<&ThreadId> {
        self.phase.thread()
    }

    /// What deciding whether a message may steer into this run needs to know.
    pub(super) fn steer_view(&self) -> super::steer::RunView<'_> {
        super::steer::RunView {
            source: self.ctx.source,
            thread: self.phase.thread(),
            turn: self.phase.turn(),
            stopping: self.phase.stopping().is_some(),
        }
    }

    pub(super) fn advance(&mut self, step: Step) -> Effect {
        self.phase.advance(step)
    }

    /// Marks progress at `now`.
    pub(super) fn touch(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// How long the run has gone without progress at `now`.
    pub(super) fn idle(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_activity)
    }

    /// The relay id and generation guarding the run's thread.
    pub(super) fn relay(&self) -> Option<(&str, &str)> {
        self.relay.as_ref().map(|(id, g)| (id.as_str(), g.as_str()))
    }

    pub(super) fn take_relay_handle(&mut self) -> Option<RegistrationHandle> {
        self.relay_handle.take()
    }

    /// A notification of the run's thread, arriving at `now`: progress, the writes it makes,
    /// what it does to the phase, and the session's new context usage if it reports one.
    pub(super) fn on_notification(
        &mut self,
        n: Notification,
        now: Instant,
    ) -> (Vec<Write>, Effect, Option<ContextUsage>) {
        let projected = self.projection.apply(n, now);
        if projected.progress {
            self.touch(now);
        }
        let effect = match projected.step {
            Some(step) => self.phase.advance(step),
            None => Effect::Nothing,
        };
        (projected.writes, effect, projected.usage)
    }

    /// The run's thread was made without our `message` tool: its completed agent messages are
    /// the replies.
    pub(super) fn reply_with_prose(&mut self) {
        self.projection.reply_with_prose();
    }

    /// Records the transcript entry a write created for Codex item `item`.
    pub(super) fn created(&mut self, item: String, seq: Seq) {
        self.projection.created(item, seq);
    }

    /// The files a `fileChange` item of this run proposed to change, with their diffs.
    pub(super) fn file_changes(&self, item: &str) -> Vec<crate::store::record::StoredDiff> {
        self.projection.file_changes(item)
    }

    /// Remembers what the hook relay decided for a native tool call, for its card.
    pub fn record_relay_decision(&mut self, call_id: CallId, decision: RelayDecision) {
        self.projection.record_relay_decision(call_id, decision);
    }

    pub(super) fn flush_due(&mut self, now: Instant) -> Vec<Write> {
        self.projection.flush_due(now)
    }

    pub(super) fn flush_all(&mut self) -> Vec<Write> {
        self.projection.flush_all()
    }
}

/// Active runs, and what waits behind them.
#[derive(Default)]
pub(in crate::gateway) struct RunTable {
    by_session: HashMap<SessionKey, Run>,
    session_of_thread: HashMap<ThreadId, SessionKey>,
    /// Requests waiting behind the active run, oldest first.
    queued: HashMap<SessionKey, VecDeque<RunRequest>>,
    /// Turns whose runs have ended, newest last (bounded): a tool call Codex sends late for one of
    /// them must not be taken for the session's next run, which may have another source.
    ended_turns: VecDeque<TurnId>,
    /// Turns Codex itself reported complete (`turn/completed`), newest last (bounded). An ended
    /// turn not in here was given up on by us (its interrupt never confirmed) and may still run.
    completed_by_codex: VecDeque<TurnId>,
}

impl RunTable {
    /// Claims a new run for `request` when the session has none active (returning its id and
    /// the request), or queues the request behind the active one. One call, under one lock: two
    /// sends racing on one session must never both start a run (the second would replace the
    /// first in the table, and the first would never end).
    pub(super) fn claim_or_queue(
        &mut self,
        key: &SessionKey,
        request: RunRequest,
    ) -> Option<(RunId, RunRequest)> {
        if self.by_session.contains_key(key) {
            self.queued
                .entry(key.clone())
                .or_default()
                .push_back(request);
            return None;
        }
        Some((self.claim(key, request.source()), request))
    }

    /// Claims a run for the oldest request queued for `key`, if the session has no active run.
    pub(super) fn claim_next(&mut self, key: &SessionKey) -> Option<(RunId, RunRequest)> {
        if self.by_session.contains_key(key) {
            // A send claimed the session since its last run ended; the queue waits for it.
            return None;
        }
        let next = self.queued.get_mut(key).and_then(VecDeque::pop_front);
        self.forget_empty_queue(key);
        next.map(|request| (self.claim(key, request.source()), request))
    }

    /// Puts a new run for `key` in the table, replacing any active one (callers check that there
    /// is none, under the same lock), and returns its id.
    pub(super) fn claim(&mut self, key: &SessionKey, source: RunSource) -> RunId {
        let id = RunId::new(uuid::Uuid::now_v7().to_string());
        let ctx = RunContext {
            source,
            mode: DeliveryMode::MessageToolOnly,
            session_key: key.to_string(),
            // Read fresh on every send: another run may change it while this one runs.
            last_route: None,
        };
        let run = Run {
            id: id.clone(),
            projection: Projection::new(ctx.mode == DeliveryMode::MessageToolOnly),
            ctx,
            phase: Phase::default(),
            last_activity: Instant::now(),
            relay: None,
            relay_handle: None,
        };
        self.by_session.insert(key.clone(), run);
        id
    }

    /// Routes `thread`'s notifications to `key`, and binds run `run_id` to it with its relay
    /// registration. False when that run is no longer active (it ended meanwhile).
    pub(super) fn bind_thread(
        &mut self,
        key: &SessionKey,
        run_id: &RunId,
        thread: &ThreadId,
        relay: Option<(String, String)>,
        handle: Option<RegistrationHandle>,
    ) -> bool {
        self.session_of_thread.insert(thread.clone(), key.clone());
        let Some(run) = self.run_mut(key, run_id) else {
            return false;
        };
        run.relay = relay;
        run.relay_handle = handle;
        // Binding a thread only ever moves a run out of Starting: nothing to do.
        let _ = run.advance(Step::ThreadBound(thread.clone()));
        true
    }

    /// The session's active run.
    pub(in crate::gateway) fn active_mut(&mut self, key: &SessionKey) -> Option<&mut Run> {
        self.by_session.get_mut(key)
    }

    /// Run `run_id`, if it is still `key`'s active run.
    pub(super) fn run_mut(&mut self, key: &SessionKey, run_id: &RunId) -> Option<&mut Run> {
        self.by_session.get_mut(key).filter(|r| r.id == *run_id)
    }

    /// Every active run.
    pub(super) fn runs_mut(&mut self) -> impl Iterator<Item = (&SessionKey, &mut Run)> {
        self.by_session.iter_mut()
    }

    /// Every active run, by session and id.
    pub(in crate::gateway) fn open_runs(&self) -> Vec<(SessionKey, RunId)> {
        self.by_session
            .iter()
            .map(|(k, r)| (k.clone(), r.id.clone()))
            .collect()
    }

    /// Removes run `run_id` if it is still `key`'s active run, remembering its turn as ended.
    pub(super) fn remove(&mut self, key: &SessionKey, run_id: &RunId) -> Option<Run> {
        self.run_mut(key, run_id)?;
        let run = self.by_session.remove(key)?;
        if let Some(turn) = run.phase.turn() {
            if self.ended_turns.len() >= ENDED_TURNS_KEPT {
                self.ended_turns.pop_front();
            }
            self.ended_turns.push_back(turn.to_owned());
        }
        Some(run)
    }

    /// Drops the person's own queued messages for `key` and returns how many there were.
    /// Background requests (a schedule's, an API client's) are not theirs to cancel this way and
    /// keep their place.
    pub(super) fn drop_queued_messages(&mut self, key: &SessionKey) -> usize {
        let dropped = match self.queued.get_mut(key) {
            Some(q) => {
                let before = q.len();
                q.retain(|m| m.background.is_some());
                before - q.len()
            }
            None => 0,
        };
        self.forget_empty_queue(key);
        dropped
    }

    fn forget_empty_queue(&mut self, key: &SessionKey) {
        if self.queued.get(key).is_some_and(VecDeque::is_empty) {
            self.queued.remove(key);
        }
    }

    /// Codex exited: no thread is loaded any more. Returns the runs that had a thread (their
    /// turns died with it).
    pub(super) fn codex_exited(&mut self) -> Vec<(SessionKey, RunId)> {
        self.session_of_thread.clear();
        self.by_session
            .iter()
            .filter(|(_, r)| r.thread().is_some())
            .map(|(k, r)| (k.clone(), r.id.clone()))
            .collect()
    }

    pub(super) fn run_for_thread(&mut self, thread: &ThreadId) -> Option<(SessionKey, &mut Run)> {
        let key = self.session_of_thread.get(thread)?.clone();
        let run = self.by_session.get_mut(&key)?;
        Some((key, run))
    }

    /// The run a tool call of `turn` on `thread` belongs to. A call from a turn that already
    /// ended, or from another turn than the run's own, belongs to no run.
    pub(super) fn run_for_call(
        &mut self,
        thread: &ThreadId,
        turn: &TurnId,
    ) -> Option<(SessionKey, &mut Run)> {
        if self.turn_has_ended(turn) {
            return None;
        }
        let (key, run) = self.run_for_thread(thread)?;
        match run.phase.turn() {
            Some(own) if own != turn => None,
            _ => Some((key, run)),
        }
    }

    /// Whether `turn` belonged to a run that is over.
    pub(super) fn turn_has_ended(&self, turn: &TurnId) -> bool {
        self.ended_turns.iter().any(|t| t == turn)
    }

    /// Codex reported `turn` complete.
    pub(super) fn turn_completed_by_codex(&mut self, turn: &TurnId) {
        if self.completed_by_codex.len() >= ENDED_TURNS_KEPT {
            self.completed_by_codex.pop_front();
        }
        self.completed_by_codex.push_back(turn.to_owned());
    }

    /// Whether `turn` ended only on our side: its run was closed without Codex confirming the
    /// end (an interrupt Codex ignored), so Codex may still be running it.
    pub(super) fn turn_was_abandoned(&self, turn: &TurnId) -> bool {
        self.turn_has_ended(turn) && !self.completed_by_codex.iter().any(|t| t == turn)
    }

    /// Takes an abandoned `turn` back: a new run follows it (Codex took the run's input as a
    /// steer of that turn).
    pub(super) fn adopt_abandoned_turn(&mut self, turn: &TurnId) {
        self.ended_turns.retain(|t| t != turn);
    }

    /// Whether a background request from `origin` already waits in `key`'s queue.
    pub(in crate::gateway) fn has_queued_from(&self, key: &SessionKey, origin: &str) -> bool {
        self.queued
            .get(key)
            .is_some_and(|q| q.iter().any(|m| m.background.as_deref() == Some(origin)))
    }
}
