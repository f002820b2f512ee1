//! A run's life: started or queued, launched, its turn begun, stopped, finished; and closing,
//! for the restart recovery (`recovery`), what a previous process left open.
//!
//! Every way a run ends (Codex completes the turn, Stop, Codex dies, the watchdog, a set-up
//! failure, shutdown) goes through [`Gateway::finish_run`], which is idempotent, so the transcript
//! gets exactly one `RunFinished` per run, and which then starts the next queued request. The
//! decisions themselves are the phase's and the table's; this module carries them out. It never
//! turns notifications into events (the dispatcher and projection do) and never answers Codex's
//! requests.

use std::collections::HashSet;

use tokio::time::Instant;
use tracing::Instrument;

use app::wire::{NoticeLevel, RunOutcome, Seq, SessionKey};

use super::approvals::Closing;
use super::phase::{Effect, Interrupt, Step, StopReason};
use super::table::RunRequest;
use crate::codex::CodexError;
use crate::gateway::delivery::RunSource;
use crate::gateway::{lock, now_ms, Gateway, GatewayError};
use crate::ids::{RunId, TurnId};
use crate::store::{run_status, NoticeAbout, RecordBody};

/// Whether a new run started at once or waits behind the session's active one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStart {
    Started,
    Queued,
    /// Nothing can run now (no account, Codex cannot start): the session got a notice saying
    /// why and how to fix it, and the request is not run later either.
    Refused,
}

/// How far back a restart looks for messages that never got a run.
const UNRUN_LOOKBACK: u64 = 1000;

/// How often, and how many times, an interrupt that found no running turn is sent again (2 s in
/// all, well inside the phase's interrupt grace).
const INTERRUPT_RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
const INTERRUPT_RETRIES: u32 = 20;

impl Gateway {
    /// Starts a run for `text`, or queues it behind the session's active run.
    ///
    /// `source` is where it came from; `background` the origin of a background request (no UI
    /// source, so no internal sink), `None` for a message typed in one of our clients.
    pub(in crate::gateway) fn start_or_queue_run(
        &self,
        key: &SessionKey,
        text: String,
        for_seq: Seq,
        source: RunSource,
        background: Option<String>,
        images: Vec<std::path::PathBuf>,
    ) -> RunStart {
        if let Some(why) = crate::gateway::account::refusal(&self.account()) {
            tracing::info!(session = %key, why, "refused a run that cannot succeed");
            self.emit_logged(
                key,
                None,
                false,
                RecordBody::Notice {
                    level: NoticeLevel::Warning,
                    text: why,
                    about: Some(NoticeAbout::NotRun),
                },
            );
            return RunStart::Refused;
        }
        let request = RunRequest {
            text,
            for_seq,
            source,
            background,
            images,
        };
        let claimed = lock(&self.inner.runs).claim_or_queue(key, request);
        match claimed {
            Some((run_id, request)) => {
                self.launch_run(key, run_id, request);
                RunStart::Started
            }
            None => RunStart::Queued,
        }
    }

    /// Records the start of a run already claimed in the table and sets up its turn.
    fn launch_run(&self, key: &SessionKey, run_id: RunId, request: RunRequest) {
        let RunRequest {
            text,
            for_seq,
            background,
            images,
            ..
        } = request;
        // A background run's model must know that nobody reads this chat (the thread's standing
        // instructions describe WebChat turns), and where it can deliver instead.
        let context = background
            .as_deref()
            .map(|origin| self.background_context(key, origin));
        if let Err(e) = self.inner.store.run_started(&run_id, key, now_ms()) {
            tracing::error!(session = %key, error = %e, "could not record the run start");
        }
        self.emit_logged(
            key,
            Some(&run_id),
            false,
            RecordBody::RunStarted {
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
                    .begin_turn(&key, &run_id, &text, &images, context.as_deref())
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
        run_id: &RunId,
        text: &str,
        images: &[std::path::PathBuf],
        context: Option<&str>,
    ) -> Result<(), GatewayError> {
        let mut retried = false;
        loop {
            let ready = self.ensure_thread(key).await?;
            // The account may have been unknown when the run was claimed (Codex just started).
            if let Some(why) = self.refusal_now().await {
                return Err(GatewayError::Unusable(why));
            }
            if ready.foreign {
                if let Some(run) = lock(&self.inner.runs).run_mut(key, run_id) {
                    run.reply_with_prose();
                }
            }
            if let Some(why) = ready.unguarded {
                // Codex would run this thread's shell and file edits without asking us.
                return Err(GatewayError::Unguarded(format!(
                    "{why}; the run was refused"
                )));
            }
            // The session's mode, model and effort as they are now: a change made while this
            // run waited applies.
            let session = self.session(key)?;
            let policy = crate::gateway::mode::turn_policy(session.mode, &ready.workspace)
                .map_err(|e| {
                    GatewayError::BadInput(format!("the workspace cannot be used: {e}"))
                })?;
            let mut overrides = policy.to_params();
            // Named on every turn when known, the default included: Codex keeps a turn's model
            // and effort for the thread's later turns (`workbench::turn_choice`).
            let (model, effort) =
                self.turn_choice(session.model.as_deref(), session.effort.as_deref());
            if let Some(model) = model {
                overrides.insert("model".to_owned(), serde_json::Value::String(model));
            }
            if let Some(effort) = effort {
                overrides.insert("effort".to_owned(), serde_json::Value::String(effort));
            }
            let thread_id = ready.thread_id;
            let bound = lock(&self.inner.runs).bind_thread(
                key,
                run_id,
                &thread_id,
                ready.relay,
                ready.handle,
            );
            if !bound {
                return Ok(()); // ended meanwhile (shutdown)
            }
            let input = super::steer::turn_input(text, images, context);
            let started = self
                .inner
                .codex
                .turn_start_input(&thread_id, input, overrides)
                .await;
            match started {
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
                // (now bound) with the crash notice, after storing that last output. Closing it
                // here would race ahead of the output and drop it.
                Err(e @ CodexError::NotRunning(_)) if self.exit_pending(ready.epoch) => {
                    tracing::info!(error = %e, "Codex exited under turn/start; its exit closes the run");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `turn/start` answered with `turn_id`. Codex answers a start on a thread it still counts as
    /// busy with the busy turn's id (it takes the input as a steer), and right after an
    /// interrupt that can be the turn that just ended: that id is not this run's turn, so it is
    /// ignored, and `turn/started` names the real one.
    fn turn_known(&self, key: &SessionKey, run_id: &RunId, turn_id: TurnId) {
        let mut runs = lock(&self.inner.runs);
        if runs.turn_was_abandoned(&turn_id) {
            // A turn whose interrupt Codex never confirmed is still running there, and Codex took
            // this input as a steer of it: no new turn will start, and the reply comes in that
            // turn. Follow it.
            tracing::info!(session = %key, turn = %turn_id,
                "turn/start answered with a turn we had given up on; following it");
            runs.adopt_abandoned_turn(&turn_id);
        } else if runs.turn_has_ended(&turn_id) {
            tracing::info!(session = %key, turn = %turn_id,
                "turn/start answered with a turn that already ended; waiting for turn/started");
            return;
        }
        let effect = runs.run_mut(key, run_id).map_or(Effect::Nothing, |run| {
            run.advance(Step::TurnKnown(turn_id, Instant::now()))
        });
        drop(runs);
        self.apply_effect(key, run_id, effect);
    }

    /// Asks Codex to stop the session's run. Returns false when nothing is running.
    /// Messages queued behind the run are dropped, and the transcript says so.
    pub fn stop(&self, key: &SessionKey) -> bool {
        let (run_id, effect, dropped) = {
            let mut runs = lock(&self.inner.runs);
            let dropped = runs.drop_queued_messages(key);
            match runs.active_mut(key) {
                Some(run) => (
                    run.id().to_owned(),
                    run.advance(Step::StopRequested(StopReason::User, Instant::now())),
                    dropped,
                ),
                None => return false,
            }
        };
        if dropped > 0 {
            let text = format!("Stopped: {}", not_run(dropped, "queued ", "."));
            self.emit_logged(key, None, false, not_run_notice(text));
        }
        // Answered `cancel` before the interrupt goes out: a Stop never waits behind a question.
        self.close_approvals(Closing::Stop, |p| p.of_session(key));
        self.apply_effect(key, &run_id, effect);
        true
    }

    /// Does what a phase step asked for.
    pub(super) fn apply_effect(&self, key: &SessionKey, run_id: &RunId, effect: Effect) {
        match effect {
            Effect::Nothing => {}
            Effect::Interrupt(interrupt) => self.send_interrupt(interrupt),
            Effect::Finish(ending) => self.finish_run(key, run_id, ending.outcome, ending.error),
        }
    }

    fn send_interrupt(&self, Interrupt { thread, turn }: Interrupt) {
        let gw = self.clone();
        self.spawn(async move {
            let mut attempt = 0;
            loop {
                let Err(e) = gw.inner.codex.turn_interrupt(&thread, &turn).await else {
                    return;
                };
                // Codex answers `turn/start` before it sets the turn running, and an interrupt in
                // between finds "no active turn" while the turn then runs on. Ask again until it
                // takes or the turn is over (never past the interrupt grace).
                let ended = lock(&gw.inner.runs).turn_has_ended(&turn);
                if e.is_no_active_turn() && !ended && attempt < INTERRUPT_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(INTERRUPT_RETRY_EVERY).await;
                    continue;
                }
                // The watchdog closes the run if Codex never confirms.
                tracing::warn!(thread = %thread, turn = %turn, error = %e, attempt, "turn/interrupt failed");
                return;
            }
        });
    }

    /// Records how a run ended, once, and starts the next queued request.
    pub(in crate::gateway) fn finish_run(
        &self,
        key: &SessionKey,
        run_id: &RunId,
        outcome: RunOutcome,
        error: Option<String>,
    ) {
        let Some(mut run) = lock(&self.inner.runs).remove(key, run_id) else {
            return;
        };
        // The turn is over: Codex no longer waits for any of its questions.
        self.close_approvals(Closing::ClosedByCodex, |p| p.of_run(run_id));
        self.write_outputs(key, run_id, run.flush_all());
        if let (Some(hooks), Some(handle)) = (&self.inner.opts.hooks, run.take_relay_handle()) {
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
            .run_finished(run_id, stored_status(outcome), now_ms())
        {
            tracing::error!(session = %key, error = %e, "could not record the run end");
        }
        self.emit_logged(
            key,
            Some(run_id),
            false,
            RecordBody::RunFinished {
                run_id: run_id.to_owned(),
                outcome,
                error,
            },
        );
        let next = if *self.inner.shutdown.borrow() {
            // Nothing new starts while shutting down; the next start reports what waited.
            None
        } else {
            lock(&self.inner.runs).claim_next(key)
        };
        if let Some((run_id, request)) = next {
            self.launch_run(key, run_id, request);
        }
    }

    /// Closes a run a previous process left open (`recovery`): it cannot be running any more.
    pub(super) fn close_left_open_run(
        &self,
        key: &SessionKey,
        run_id: &RunId,
    ) -> Result<(), GatewayError> {
        tracing::info!(session = %key, run = %run_id, "closing a run interrupted by a restart");
        let outcome = RunOutcome::Interrupted;
        self.inner
            .store
            .run_finished(run_id, stored_status(outcome), now_ms())?;
        self.emit(
            key,
            Some(run_id),
            false,
            RecordBody::RunFinished {
                run_id: run_id.clone(),
                outcome,
                error: Some("the server restarted while this run was in progress".to_owned()),
            },
            Some(&format!("{run_id}:recovered")),
        )?;
        Ok(())
    }

    /// Tells the session which of its messages never got a run (they were queued, or the
    /// process died between storing a message and starting its run): `recovery`, at a restart.
    pub(super) fn notice_unrun_messages(&self, key: &SessionKey) -> Result<(), GatewayError> {
        let last = self.inner.store.last_seq(key)?;
        let events = self.inner.store.events_after(
            key,
            Seq(last.0.saturating_sub(UNRUN_LOOKBACK)),
            UNRUN_LOOKBACK as usize,
            true,
        )?;
        let unrun = unrun_messages(&events);
        // Typed messages and background requests are told apart: a person sends theirs again,
        // while a schedule simply fires again at its next time.
        let (background, typed): (Vec<Seq>, Vec<Seq>) = unrun.into_iter().partition(|seq| {
            events
                .iter()
                .any(|e| e.seq == *seq && matches!(e.body, RecordBody::BackgroundRequest { .. }))
        });
        if let Some(&newest) = typed.last() {
            let n = typed.len();
            tracing::info!(session = %key, count = n, "messages left without a run by a restart");
            let why = format!(
                " because the server stopped before {} turn came.",
                if n == 1 { "its" } else { "their" }
            );
            let notice = not_run_notice(not_run(n, "", &why));
            self.emit(
                key,
                None,
                false,
                notice,
                Some(&format!("unrun:{key}:{newest}")),
            )?;
        }
        if let Some(&newest) = background.last() {
            let n = background.len();
            tracing::info!(session = %key, count = n, "background requests left without a run by a restart");
            let why = "because the server stopped before it started";
            let notice = not_run_notice(background_not_run(n, why));
            let idem = format!("unrun-background:{key}:{newest}");
            self.emit(key, None, false, notice, Some(&idem))?;
        }
        Ok(())
    }

    /// The context a background run's turn carries (see
    /// [`crate::gateway::threads::background_context`]): the configured channels and the
    /// session's last route as they are now.
    fn background_context(&self, key: &SessionKey, origin: &str) -> String {
        let last = match self.inner.store.last_route(key) {
            Ok(last) => last.map(|r| format!("{}:{}", r.channel, r.target)),
            Err(e) => {
                tracing::warn!(session = %key, error = %e, "could not read the last route");
                None
            }
        };
        crate::gateway::threads::background_context(
            origin,
            &self.inner.outbound.describe(),
            last.as_deref(),
        )
    }
}

/// The `runs.status` the store records for an outcome.
fn stored_status(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Completed => run_status::COMPLETED,
        RunOutcome::Interrupted => run_status::INTERRUPTED,
        RunOutcome::Failed => run_status::FAILED,
    }
}

/// A typed message or a background request: what a run answers.
fn is_request(body: &RecordBody) -> bool {
    matches!(
        body,
        RecordBody::UserMessage { .. } | RecordBody::BackgroundRequest { .. }
    )
}

/// A message that was sent into a running turn (`turn/steer`).
fn is_steered(body: &RecordBody) -> bool {
    matches!(body, RecordBody::UserMessage { steered: true, .. })
}

/// A notice that requests were not run. Recovery reads its kind back (`about`), never its words.
fn not_run_notice(text: String) -> RecordBody {
    RecordBody::Notice {
        level: NoticeLevel::Warning,
        text,
        about: Some(NoticeAbout::NotRun),
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
fn unrun_messages(events: &[crate::store::Record]) -> Vec<Seq> {
    let answered: HashSet<Seq> = events
        .iter()
        .filter_map(|e| match e.body {
            RecordBody::RunStarted { for_seq, .. } => for_seq,
            _ => None,
        })
        .collect();
    let covered_before = events
        .iter()
        .filter(|e| match &e.body {
            RecordBody::RunStarted { for_seq: None, .. } => true,
            RecordBody::Notice {
                about: Some(NoticeAbout::NotRun),
                ..
            } => true,
            RecordBody::Notice {
                about: None, text, ..
            } => legacy_not_run_notice(text),
            _ => false,
        })
        .map(|e| e.seq)
        .max()
        .unwrap_or(Seq::ZERO);
    events
        .iter()
        // A steered message joined a run that was already going: no run of its own answers it.
        .filter(|e| is_request(&e.body) && !is_steered(&e.body))
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

#[cfg(test)]
mod tests;
