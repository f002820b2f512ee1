//! Every transition of the phase, and the outcome mapping, with hand-made times.

use super::*;
use crate::ids::{ThreadId, TurnId};

fn at(secs: u64) -> Instant {
    // Any fixed origin will do: the phase only compares the times it is given.
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now) + Duration::from_secs(secs)
}

fn interrupt(thread: &str, turn: &str) -> Effect {
    Effect::Interrupt(Interrupt {
        thread: thread.into(),
        turn: turn.into(),
    })
}

fn finish(outcome: RunOutcome, error: Option<&str>) -> Effect {
    Effect::Finish(Ending {
        outcome,
        error: error.map(str::to_owned),
    })
}

fn running() -> Phase {
    let mut p = Phase::default();
    assert_eq!(p.advance(Step::ThreadBound("t".into())), Effect::Nothing);
    assert_eq!(
        p.advance(Step::TurnKnown("u".into(), at(0))),
        Effect::Nothing
    );
    p
}

fn completed(status: TurnStatus, error: Option<&str>) -> Step {
    Step::TurnCompleted {
        status,
        error: error.map(str::to_owned),
    }
}

#[test]
fn stop_before_the_turn_exists_is_honoured_when_it_does() {
    let mut r = Phase::default();
    assert_eq!(
        r.advance(Step::StopRequested(StopReason::User, at(0))),
        Effect::Nothing
    );
    assert_eq!(r.advance(Step::ThreadBound("t".into())), Effect::Nothing);
    assert_eq!(
        r.advance(Step::TurnKnown("u".into(), at(0))),
        interrupt("t", "u")
    );
    assert_eq!(r.stopping(), Some(StopReason::User));
}

#[test]
fn a_second_stop_sends_no_second_interrupt() {
    let mut r = running();
    assert!(matches!(
        r.advance(Step::StopRequested(StopReason::User, at(0))),
        Effect::Interrupt(_)
    ));
    assert_eq!(
        r.advance(Step::StopRequested(StopReason::User, at(0))),
        Effect::Nothing
    );
}

#[test]
fn a_stop_while_the_turn_is_unknown_waits_for_it() {
    let mut r = Phase::default();
    r.advance(Step::ThreadBound("t".into())).assert_nothing();
    assert_eq!(
        (
            r.thread().map(ThreadId::as_str),
            r.turn().map(TurnId::as_str)
        ),
        (Some("t"), None)
    );
    r.advance(Step::StopRequested(StopReason::User, at(0)))
        .assert_nothing();
    assert_eq!(
        r.advance(Step::TurnKnown("u".into(), at(1))),
        interrupt("t", "u")
    );
    assert_eq!(r.turn().map(TurnId::as_str), Some("u"));
}

#[test]
fn a_stalled_turn_is_interrupted_and_closed_when_codex_never_confirms() {
    let mut r = running();
    // Progress: nothing to do.
    r.advance(Step::Tick {
        now: at(1),
        stalled: false,
    })
    .assert_nothing();
    assert_eq!(
        r.advance(Step::Tick {
            now: at(2),
            stalled: true
        }),
        interrupt("t", "u")
    );
    assert_eq!(r.stopping(), Some(StopReason::Stalled));
    // Inside the grace period, nothing more happens.
    r.advance(Step::Tick {
        now: at(12),
        stalled: true,
    })
    .assert_nothing();
    assert_eq!(
        r.advance(Step::Tick {
            now: at(13),
            stalled: true
        }),
        finish(RunOutcome::Failed, Some("Codex stopped responding"))
    );
}

#[test]
fn a_user_stop_codex_never_confirms_closes_as_interrupted() {
    let mut r = running();
    assert!(matches!(
        r.advance(Step::StopRequested(StopReason::User, at(0))),
        Effect::Interrupt(_)
    ));
    assert_eq!(
        r.advance(Step::Tick {
            now: at(11),
            stalled: false
        }),
        finish(RunOutcome::Interrupted, None)
    );
}

#[test]
fn the_watchdog_does_not_stop_a_run_still_finding_its_thread() {
    let mut r = Phase::default();
    r.advance(Step::Tick {
        now: at(100),
        stalled: true,
    })
    .assert_nothing();
    assert_eq!(r.thread().map(ThreadId::as_str), None);
}

#[test]
fn a_turn_named_again_while_stopping_keeps_the_stop() {
    let mut r = running();
    assert!(matches!(
        r.advance(Step::StopRequested(StopReason::User, at(0))),
        Effect::Interrupt(_)
    ));
    r.advance(Step::TurnKnown("u2".into(), at(1)))
        .assert_nothing();
    assert_eq!(
        (r.turn().map(TurnId::as_str), r.stopping()),
        (Some("u2"), Some(StopReason::User))
    );
}

#[test]
fn codex_turn_statuses_map_to_run_outcomes() {
    let cases = [
        (
            completed(TurnStatus::Completed, Some("x")),
            None,
            RunOutcome::Completed,
            None,
        ),
        (
            completed(TurnStatus::Interrupted, None),
            Some(StopReason::User),
            RunOutcome::Interrupted,
            None,
        ),
        (
            completed(TurnStatus::Interrupted, None),
            Some(StopReason::Stalled),
            RunOutcome::Interrupted,
            Some("Codex made no progress for too long"),
        ),
        // Stalled while Codex reported errors (retrying): a failure naming the last one.
        (
            completed(TurnStatus::Interrupted, Some("Reconnecting... 5/5")),
            Some(StopReason::Stalled),
            RunOutcome::Failed,
            Some("Codex made no progress for too long; its last error: Reconnecting... 5/5"),
        ),
        // A person's Stop is never a failure, whatever Codex reported before.
        (
            completed(TurnStatus::Interrupted, Some("Reconnecting... 1/5")),
            Some(StopReason::User),
            RunOutcome::Interrupted,
            None,
        ),
        (
            completed(TurnStatus::Interrupted, None),
            None,
            RunOutcome::Interrupted,
            Some("Codex made no progress for too long"),
        ),
        (
            completed(TurnStatus::Failed, Some("401")),
            None,
            RunOutcome::Failed,
            Some("401"),
        ),
        (
            completed(TurnStatus::Failed, None),
            None,
            RunOutcome::Failed,
            None,
        ),
        (
            completed(TurnStatus::Other("weird".into()), Some("x")),
            None,
            RunOutcome::Failed,
            Some("turn ended with status weird"),
        ),
    ];
    for (step, stopped_by, outcome, error) in cases {
        let mut r = running();
        if let Some(reason) = stopped_by {
            assert!(matches!(
                r.advance(Step::StopRequested(reason, at(0))),
                Effect::Interrupt(_)
            ));
        }
        assert_eq!(
            r.advance(step.clone()),
            finish(outcome, error),
            "{step:?} {stopped_by:?}"
        );
    }
}

#[test]
fn a_turn_completing_before_it_is_known_still_finishes_the_run() {
    let mut r = Phase::default();
    r.advance(Step::ThreadBound("t".into())).assert_nothing();
    assert_eq!(
        r.advance(completed(TurnStatus::Completed, None)),
        finish(RunOutcome::Completed, None)
    );
}

impl Effect {
    fn assert_nothing(self) {
        assert_eq!(self, Effect::Nothing);
    }
}
