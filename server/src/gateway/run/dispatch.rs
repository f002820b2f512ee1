//! The dispatcher: the one task that takes in everything Codex sends, and keeps time.
//!
//! Notifications go to their run (found by thread) and come out as transcript writes and phase
//! effects; server requests are handed to their own tasks (see `requests`); Codex's exit closes
//! the runs it took with it. Its tick flushes buffered stream deltas, publishes a changed session
//! list, and runs the watchdog. Everything is decided under the run-table lock and written after
//! it is released; this module decides nothing itself (the projection and the phase do).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use app::wire::{ContextUsage, RunOutcome, Seq, SessionKey};

use super::approvals::Closing;
use super::phase::{Effect, Step};
use super::projection::{Write, DELTA_FLUSH};
use crate::codex::{Epoch, Inbound, Notification, RequestId, SupervisorEvent};
use crate::gateway::{lock, Gateway};
use crate::ids::{RunId, ThreadId};

/// The watchdog runs every this many flush ticks (about once a second).
const WATCHDOG_EVERY: u32 = 10;
/// A run that made progress this recently keeps its relay registration alive.
const RELAY_RENEW_WITHIN: Duration = Duration::from_secs(5);

impl Gateway {
    pub(in crate::gateway) async fn dispatch(
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
                    if ticks.is_multiple_of(WATCHDOG_EVERY) {
                        self.watchdog();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
    }

    fn on_supervisor_event(&self, ev: SupervisorEvent) {
        match ev {
            SupervisorEvent::Ready { epoch } => {
                tracing::info!(?epoch, "Codex is ready");
                self.codex_ready(epoch);
                self.on_codex_ready(epoch);
            }
            SupervisorEvent::Exited { epoch, reason } => {
                self.codex_exited(epoch, &reason);
                self.on_codex_exit(epoch, &reason)
            }
            SupervisorEvent::Inbound {
                epoch,
                msg: Inbound::Notification(n),
            } => {
                if let Notification::Other { method, params } = &n {
                    if method == "account/updated" {
                        self.refresh_login();
                    }
                    if method == "account/login/completed" {
                        self.login_completed(params);
                    }
                    if method == "serverRequest/resolved" {
                        let thread = params.get("threadId").and_then(|t| t.as_str());
                        let id = params
                            .get("requestId")
                            .cloned()
                            .and_then(|id| serde_json::from_value::<RequestId>(id).ok());
                        if let (Some(thread), Some(id)) = (thread, id) {
                            self.approval_resolved(epoch, thread, &id);
                        }
                    }
                }
                self.on_notification(n)
            }
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
    pub(super) fn exit_pending(&self, epoch: Epoch) -> bool {
        self.inner.exited_epoch.load(Ordering::SeqCst) < epoch.0
    }

    fn on_codex_exit(&self, epoch: Epoch, reason: &str) {
        tracing::warn!(?epoch, reason, "Codex exited; it is being restarted");
        // Before the scan below: a run that `begin_turn` left to this exit is bound by now.
        self.inner.exited_epoch.fetch_max(epoch.0, Ordering::SeqCst);
        // Before the runs end: an approval whose Codex is gone expired, it was not cancelled.
        self.close_approvals(Closing::CodexGone, |p| p.asked_by(epoch));
        let affected = lock(&self.inner.runs).codex_exited();
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
        if let Notification::RateLimitsUpdated { limits } = n {
            self.update_rate_limits(limits);
            return;
        }
        let Some(thread_id) = n.thread_id().map(ThreadId::from) else {
            return;
        };
        let (key, run_id, writes, effect, usage) = {
            let mut runs = lock(&self.inner.runs);
            if let Notification::TurnCompleted { turn_id, .. } = &n {
                runs.turn_completed_by_codex(turn_id);
            }
            if let Some(turn) = n.turn_id().filter(|t| runs.turn_has_ended(t)) {
                // A late word about a turn whose run is over (its `turn/completed` after an
                // interrupt was already taken, say): it must not move the session's next run.
                tracing::debug!(thread = %thread_id, turn = %turn, "notification for an ended turn");
                return;
            }
            let Some((key, run)) = runs.run_for_thread(&thread_id) else {
                tracing::debug!(thread = %thread_id, "notification for a thread without a run");
                return;
            };
            let (writes, effect, usage) = run.on_notification(n, Instant::now());
            (key, run.id().to_owned(), writes, effect, usage)
        };
        self.write_outputs(&key, &run_id, writes);
        if let Some(usage) = usage {
            self.set_usage(&key, usage);
        }
        self.apply_effect(&key, &run_id, effect);
    }

    /// Writes a run's events, registering the entries they create with the run.
    pub(super) fn write_outputs(&self, key: &SessionKey, run_id: &RunId, writes: Vec<Write>) {
        let mut last_created: Option<Seq> = None;
        for mut w in writes {
            if !w.resolve_target(last_created) {
                continue;
            }
            match self.emit(key, Some(run_id), w.private, w.body, None) {
                Ok(appended) => {
                    let seq = appended.event().seq;
                    if let Some(item) = w.creates {
                        last_created = Some(seq);
                        if let Some(run) = lock(&self.inner.runs).run_mut(key, run_id) {
                            run.created(item, seq);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(session = %key, error = %e, "could not store a transcript event")
                }
            }
        }
    }

    /// Keeps the session's context usage (the header's meter) and lets every tab know through
    /// the session list. A failure only costs the meter an update, so it is logged, not raised.
    fn set_usage(&self, key: &SessionKey, usage: ContextUsage) {
        match self.inner.store.set_usage(key, usage) {
            Ok(()) => self.publish_session_list(),
            Err(e) => tracing::warn!(session = %key, error = %e, "could not store context usage"),
        }
    }

    /// Writes buffered deltas older than the flush interval.
    fn flush_due(&self) {
        let now = Instant::now();
        let due: Vec<(SessionKey, RunId, Vec<Write>)> = lock(&self.inner.runs)
            .runs_mut()
            .map(|(key, run)| (key.clone(), run.id().to_owned(), run.flush_due(now)))
            .filter(|(_, _, writes)| !writes.is_empty())
            .collect();
        for (key, run_id, writes) in due {
            self.write_outputs(&key, &run_id, writes);
        }
    }

    /// Interrupts runs that made no progress for too long, and closes runs whose interrupt was
    /// never confirmed.
    fn watchdog(&self) {
        let stall = self.turn_stall();
        let now = Instant::now();
        // A run waiting for a person is not stalled: its clock starts again at the answer.
        let waiting = self.runs_waiting_for_a_person();
        let effects: Vec<(SessionKey, RunId, Effect)> = {
            let mut runs = lock(&self.inner.runs);
            runs.runs_mut()
                .map(|(key, run)| {
                    // A turn that makes progress keeps its relay registration alive.
                    if let (Some(hooks), Some((relay_id, generation))) =
                        (&self.inner.opts.hooks, run.relay())
                    {
                        if run.idle(now) < RELAY_RENEW_WITHIN {
                            hooks.registry.renew(relay_id, generation);
                        }
                    }
                    if waiting.contains(run.id()) {
                        run.touch(now);
                    }
                    let stalled = run.idle(now) > stall;
                    let effect = run.advance(Step::Tick { now, stalled });
                    if matches!(effect, Effect::Interrupt(_)) {
                        tracing::warn!(session = %key, run = %run.id(), "turn stalled; interrupting");
                    }
                    (key.clone(), run.id().to_owned(), effect)
                })
                .collect()
        };
        for (key, run_id, effect) in effects {
            self.apply_effect(&key, &run_id, effect);
        }
    }
}
