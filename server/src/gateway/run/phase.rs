//! A run's phase: the state machine from "finding a thread" to "ending", and nothing else.
//!
//! Everything that can happen to a run is a [`Step`]; [`Phase::advance`] is the one transition
//! function, and what it asks of its caller is an [`Effect`]: send an [`Interrupt`], or finish the
//! run with an [`Ending`]. How a Codex turn status becomes a run outcome is decided here, in
//! [`ending`], and nowhere else. This module is pure: it never sends, writes or reads the clock
//! (times come in with the steps), so every transition is tested without a gateway.

use std::time::Duration;

use tokio::time::Instant;

use app::wire::RunOutcome;

use crate::codex::TurnStatus;
use crate::ids::{ThreadId, TurnId};

/// After an interrupt, how long Codex gets to confirm before the run is closed without it.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// Who asked for a run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopReason {
    /// The person pressed Stop.
    User,
    /// The watchdog saw no progress for too long.
    Stalled,
}

/// What can happen to a run.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// The session's thread is loaded, and `turn/start` is about to go out on it.
    ThreadBound(ThreadId),
    /// Codex named the turn (the `turn/start` answer or `turn/started`, whichever comes first),
    /// at the given time.
    TurnKnown(TurnId, Instant),
    StopRequested(StopReason, Instant),
    /// Codex reported the turn over. `error` is the turn's own error, or else the last one Codex
    /// reported during the turn.
    TurnCompleted {
        status: TurnStatus,
        error: Option<String>,
    },
    /// The watchdog's look at the run at `now`; `stalled` when it made no progress for too long.
    Tick {
        now: Instant,
        stalled: bool,
    },
}

/// A `turn/interrupt` to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Interrupt {
    pub thread: ThreadId,
    pub turn: TurnId,
}

/// How a run ends: its outcome and, when that needs one, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ending {
    pub outcome: RunOutcome,
    pub error: Option<String>,
}

/// What a step asks of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(super) enum Effect {
    Nothing,
    Interrupt(Interrupt),
    Finish(Ending),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Finding or starting the thread; no turn yet. `stop`: a stop already asked for.
    Starting { stop: Option<StopReason> },
    /// `turn/start` sent on `thread`; the turn's id not known yet. `stop`: a stop asked for
    /// meanwhile, honoured as soon as the turn is known.
    Bound {
        thread: ThreadId,
        stop: Option<StopReason>,
    },
    /// The turn is running.
    Running { thread: ThreadId, turn: TurnId },
    /// An interrupt was sent at `since`.
    Stopping {
        thread: ThreadId,
        turn: TurnId,
        since: Instant,
        reason: StopReason,
    },
}

/// A run's phase. It changes only through [`Phase::advance`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Phase(State);

impl Default for Phase {
    fn default() -> Self {
        Phase(State::Starting { stop: None })
    }
}

impl Phase {
    /// The one transition function. Repeated or late steps change nothing (a second stop, a
    /// thread bound twice, a tick with nothing due).
    pub fn advance(&mut self, step: Step) -> Effect {
        let (next, effect) = match (&self.0, step) {
            (state, Step::TurnCompleted { status, error }) => {
                // The run is about to be removed; its state no longer matters.
                let stopped_by = match state {
                    State::Stopping { reason, .. } => Some(*reason),
                    _ => None,
                };
                let end = TurnEnd::Reported { status, error };
                return Effect::Finish(ending(end, stopped_by));
            }
            (State::Starting { stop }, Step::ThreadBound(thread)) => (
                State::Bound {
                    thread,
                    stop: *stop,
                },
                Effect::Nothing,
            ),
            (State::Starting { stop: None }, Step::StopRequested(reason, _)) => {
                (State::Starting { stop: Some(reason) }, Effect::Nothing)
            }
            (State::Bound { thread, stop }, Step::TurnKnown(turn, now)) => match stop {
                Some(reason) => stopping(thread, turn, now, *reason),
                None => (
                    State::Running {
                        thread: thread.clone(),
                        turn,
                    },
                    Effect::Nothing,
                ),
            },
            // No turn to interrupt yet: remembered, and honoured once Codex names the turn.
            (State::Bound { thread, stop: None }, Step::StopRequested(reason, _)) => {
                (pending_stop(thread, reason), Effect::Nothing)
            }
            (State::Bound { thread, stop: None }, Step::Tick { stalled: true, .. }) => {
                (pending_stop(thread, StopReason::Stalled), Effect::Nothing)
            }
            (State::Running { thread, .. }, Step::TurnKnown(turn, _)) => (
                State::Running {
                    thread: thread.clone(),
                    turn,
                },
                Effect::Nothing,
            ),
            (State::Running { thread, turn }, Step::StopRequested(reason, now)) => {
                stopping(thread, turn.clone(), now, reason)
            }
            (State::Running { thread, turn }, Step::Tick { now, stalled: true }) => {
                stopping(thread, turn.clone(), now, StopReason::Stalled)
            }
            (
                State::Stopping {
                    thread,
                    since,
                    reason,
                    ..
                },
                Step::TurnKnown(turn, _),
            ) => (
                State::Stopping {
                    thread: thread.clone(),
                    turn,
                    since: *since,
                    reason: *reason,
                },
                Effect::Nothing,
            ),
            (State::Stopping { since, reason, .. }, Step::Tick { now, .. })
                if now.saturating_duration_since(*since) > INTERRUPT_GRACE =>
            {
                return Effect::Finish(ending(TurnEnd::Unconfirmed, Some(*reason)));
            }
            _ => return Effect::Nothing,
        };
        self.0 = next;
        effect
    }

    /// The thread the run's turn goes to, once bound.
    pub fn thread(&self) -> Option<&ThreadId> {
        match &self.0 {
            State::Starting { .. } => None,
            State::Bound { thread, .. }
            | State::Running { thread, .. }
            | State::Stopping { thread, .. } => Some(thread),
        }
    }

    /// The run's turn, once Codex named it.
    pub fn turn(&self) -> Option<&TurnId> {
        match &self.0 {
            State::Starting { .. } | State::Bound { .. } => None,
            State::Running { turn, .. } | State::Stopping { turn, .. } => Some(turn),
        }
    }

    /// Whether an interrupt was sent, and for whom.
    pub fn stopping(&self) -> Option<StopReason> {
        match &self.0 {
            State::Stopping { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

fn pending_stop(thread: &ThreadId, reason: StopReason) -> State {
    State::Bound {
        thread: thread.to_owned(),
        stop: Some(reason),
    }
}

/// Interrupts `turn` now.
fn stopping(thread: &ThreadId, turn: TurnId, now: Instant, reason: StopReason) -> (State, Effect) {
    let interrupt = Interrupt {
        thread: thread.to_owned(),
        turn: turn.clone(),
    };
    let state = State::Stopping {
        thread: thread.to_owned(),
        turn,
        since: now,
        reason,
    };
    (state, Effect::Interrupt(interrupt))
}

/// How a turn ended, as far as the run can tell.
#[derive(Debug, Clone, PartialEq)]
enum TurnEnd {
    /// Codex said so, with this status.
    Reported {
        status: TurnStatus,
        error: Option<String>,
    },
    /// Codex never confirmed our interrupt within the grace period.
    Unconfirmed,
}

/// The one mapping from how a turn ended (and who stopped it, if anyone did) to the run's outcome.
fn ending(end: TurnEnd, stopped_by: Option<StopReason>) -> Ending {
    let (outcome, error) = match (end, stopped_by) {
        (TurnEnd::Reported { status, error }, stopped_by) => match status {
            TurnStatus::Completed => (RunOutcome::Completed, None),
            TurnStatus::Interrupted if stopped_by == Some(StopReason::User) => {
                (RunOutcome::Interrupted, None)
            }
            // Stopped by the watchdog after Codex reported errors (typically retrying one until
            // the stall limit): a failure, and the notice says what went wrong.
            TurnStatus::Interrupted if error.is_some() => (
                RunOutcome::Failed,
                Some(format!(
                    "Codex made no progress for too long; its last error: {}",
                    error.unwrap_or_default()
                )),
            ),
            TurnStatus::Interrupted => (
                RunOutcome::Interrupted,
                Some("Codex made no progress for too long".to_owned()),
            ),
            TurnStatus::Failed => (RunOutcome::Failed, error),
            TurnStatus::Other(s) => (
                RunOutcome::Failed,
                Some(format!("turn ended with status {s}")),
            ),
        },
        (TurnEnd::Unconfirmed, Some(StopReason::User)) => (RunOutcome::Interrupted, None),
        (TurnEnd::Unconfirmed, _) => (
            RunOutcome::Failed,
            Some("Codex stopped responding".to_owned()),
        ),
    };
    Ending { outcome, error }
}

#[cfg(test)]
mod tests;
