//! Faults the real Codex will not produce on demand, injected through a fake app-server. Under
//! a whole in-process server on the fake process (`tests/support/fake_codex.rs`): Codex dying
//! mid-turn, malformed and over-long lines, an unanswered `turn/start`, `thread not found`,
//! `active writer` and `no rollout found` on resume, and sends racing each other and a resume.
//! Under a gateway on the in-process fake (`tests/support/fake_app_server.rs`), on tokio's paused
//! clock, the faults only time reveals, at the production limits and without waiting for them: a
//! turn that hangs (with and without a confirmed interrupt) and a Codex that stops answering.
//! Each test ends with a message that gets its reply.

mod common;
#[path = "support/fake_app_server.rs"]
mod fake_app_server;
#[path = "support/fake_core.rs"]
mod fake_core;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::{Event, EventBody, RunOutcome, SessionKey};
use codex_webchat::config::{DEFAULT_CODEX_REQUEST_TIMEOUT, DEFAULT_TURN_STALL};
use codex_webchat::gateway::Gateway;
use codex_webchat::serve::{self, Running};
use fake_app_server::{paused_gateway, FakeAppServer};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");
/// A server on the fake app-server, with `common::config`'s generous limits.
async fn start(dir: &Path) -> Running {
    let mut config = common::config(dir);
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    serve::start(config).await.expect("server starts")
}

fn codex_home(dir: &Path) -> PathBuf {
    dir.join("codex-home")
}

/// How the run of `events` ended.
fn outcome(events: &[Event]) -> (RunOutcome, Option<String>) {
    events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::RunFinished { outcome, error, .. } => Some((*outcome, error.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no RunFinished in {events:#?}"))
}

/// A turn that must complete with exactly `Echo: <text>`.
async fn echo_turn(server: &Running, key: &SessionKey, client_id: &str, text: &str) -> Vec<Event> {
    let events = common::turn(server, key, client_id, text).await;
    assert_eq!(
        outcome(&events),
        (RunOutcome::Completed, None),
        "{events:#?}"
    );
    assert_eq!(
        common::replies(&events),
        vec![format!("Echo: {text}")],
        "{events:#?}"
    );
    events
}

/// The requests the fake received, in order (one JSON object per request, with its pid).
fn fake_log(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(codex_home(dir).join("fake-codex.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn count(log: &[Value], method: &str, thread: Option<&str>) -> usize {
    log.iter()
        .filter(|l| l["method"] == method)
        .filter(|l| thread.is_none_or(|t| l["threadId"] == t))
        .count()
}

fn thread_of(server: &Running, key: &SessionKey) -> String {
    server
        .gateway
        .store()
        .binding(key)
        .unwrap()
        .expect("a thread binding")
        .thread_id
        .into_string()
}

/// Kills the fake mid-turn; the run fails with a notice and Codex is restarted.
async fn crash_codex(server: &Running, key: &SessionKey, client_id: &str) -> Vec<Event> {
    let events = common::turn(server, key, client_id, "/fake die").await;
    let (outcome, error) = outcome(&events);
    assert_eq!(outcome, RunOutcome::Failed, "{events:#?}");
    // Closed by the supervisor's exit report, after everything Codex wrote before it died, even
    // when the `turn/start` in flight failed first.
    assert!(
        error
            .as_deref()
            .unwrap_or("")
            .starts_with("Codex stopped unexpectedly (codex app-server exited (exit status: 3))"),
        "{error:?}"
    );
    events
}

fn set_control(dir: &Path, control: Value) {
    std::fs::write(codex_home(dir).join("fake-codex.json"), control.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_dying_mid_turn_fails_the_run_with_a_notice_then_restarts_and_resumes() {
    let dir = common::data_dir("fault-die");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "before the crash").await;
    let thread = thread_of(&server, &key);

    let events = crash_codex(&server, &key, "c-2").await;
    // What was streamed before the crash is kept.
    assert!(
        events.iter().any(|e| matches!(
            &e.body,
            EventBody::ModelText { .. } | EventBody::TextAppend { .. }
        )),
        "{events:#?}"
    );

    echo_turn(&server, &key, "c-3", "after the crash").await;
    let log = fake_log(dir.path());
    assert_eq!(count(&log, "initialize", None), 2, "one restart: {log:#?}");
    assert_eq!(count(&log, "thread/resume", Some(&thread)), 1, "{log:#?}");
    assert_eq!(
        thread_of(&server, &key),
        thread,
        "the same thread continues"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_over_long_lines_from_codex_are_skipped_and_the_turn_completes() {
    let dir = common::data_dir("fault-malformed");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "/fake malformed").await;
    echo_turn(&server, &key, "c-2", "after the garbage").await;
    assert_eq!(
        count(&fake_log(dir.path()), "initialize", None),
        1,
        "no restart needed"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_start_codex_never_answers_still_runs_to_its_end() {
    let dir = common::data_dir("fault-no-answer");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "/fake no-answer").await;
    echo_turn(&server, &key, "c-2", "after the silence").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_not_found_on_turn_start_resumes_the_thread_and_retries_once() {
    let dir = common::data_dir("fault-not-found");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let events = echo_turn(&server, &key, "c-1", "/fake thread-not-found").await;
    assert!(common::notices(&events).is_empty(), "{events:#?}");
    let thread = thread_of(&server, &key);
    let log = fake_log(dir.path());
    assert_eq!(count(&log, "thread/resume", Some(&thread)), 1, "{log:#?}");
    assert_eq!(count(&log, "turn/start", Some(&thread)), 2, "{log:#?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_writer_on_resume_is_retried_and_the_same_thread_continues() {
    let dir = common::data_dir("fault-writer-brief");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "first").await;
    let thread = thread_of(&server, &key);
    set_control(dir.path(), serde_json::json!({"active_writer": 2}));
    crash_codex(&server, &key, "c-2").await;

    let events = echo_turn(&server, &key, "c-3", "after the writer let go").await;
    assert!(common::notices(&events).is_empty(), "{events:#?}");
    assert_eq!(thread_of(&server, &key), thread);
    let log = fake_log(dir.path());
    assert_eq!(count(&log, "thread/resume", Some(&thread)), 3, "{log:#?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_writer_that_stays_moves_the_session_to_a_fresh_thread_with_a_notice() {
    let dir = common::data_dir("fault-writer-stays");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "first").await;
    let thread = thread_of(&server, &key);
    set_control(dir.path(), serde_json::json!({"active_writer": 1000}));
    crash_codex(&server, &key, "c-2").await;

    let events = echo_turn(&server, &key, "c-3", "on a new thread").await;
    let notices = common::notices(&events);
    assert_eq!(notices.len(), 1, "{events:#?}");
    assert!(
        notices[0].starts_with("Another Codex process still holds"),
        "{notices:?}"
    );
    assert_ne!(thread_of(&server, &key), thread);
    let log = fake_log(dir.path());
    assert_eq!(
        count(&log, "thread/resume", Some(&thread)),
        4,
        "one try, three retries: {log:#?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rollout_on_resume_moves_the_session_to_a_fresh_thread_with_a_notice() {
    let dir = common::data_dir("fault-no-rollout");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &key, "c-1", "first").await;
    let thread = thread_of(&server, &key);
    set_control(
        dir.path(),
        serde_json::json!({"resume_error": format!("no rollout found for thread id {thread}")}),
    );
    crash_codex(&server, &key, "c-2").await;

    let events = echo_turn(&server, &key, "c-3", "without history").await;
    let notices = common::notices(&events);
    assert_eq!(notices.len(), 1, "{events:#?}");
    assert!(
        notices[0].starts_with("Codex has no saved history"),
        "{notices:?}"
    );
    assert_ne!(thread_of(&server, &key), thread);
    assert_eq!(
        count(&fake_log(dir.path()), "thread/resume", Some(&thread)),
        1
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_sends_after_a_restart_resume_each_thread_once() {
    let dir = common::data_dir("fault-race");
    let server = start(dir.path()).await;
    let a = server.gateway.create_session().unwrap().key;
    let b = server.gateway.create_session().unwrap().key;
    echo_turn(&server, &a, "a-1", "a first").await;
    echo_turn(&server, &b, "b-1", "b first").await;
    let (ta, tb) = (thread_of(&server, &a), thread_of(&server, &b));
    crash_codex(&server, &a, "a-2").await;

    // Three sends at once after the restart: two on A (the second waits behind the first), one
    // on B. Each thread is resumed exactly once.
    let after_a = server.gateway.store().last_seq(&a).unwrap();
    let after_b = server.gateway.store().last_seq(&b).unwrap();
    let mut live_a = server.gateway.subscribe(&a);
    let mut live_b = server.gateway.subscribe(&b);
    let (g1, g2, g3) = (
        server.gateway.clone(),
        server.gateway.clone(),
        server.gateway.clone(),
    );
    let (ka, ka2, kb) = (a.clone(), a.clone(), b.clone());
    let sends = [
        tokio::task::spawn_blocking(move || g1.send(&ka, "a-3", "a again").map(drop)),
        tokio::task::spawn_blocking(move || g2.send(&ka2, "a-4", "a once more").map(drop)),
        tokio::task::spawn_blocking(move || g3.send(&kb, "b-2", "b again").map(drop)),
    ];
    for send in sends {
        send.await.unwrap().unwrap();
    }
    let finished = |key: &SessionKey, after| {
        server
            .gateway
            .events_after(key, after, 10_000)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.body, EventBody::RunFinished { .. }))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while finished(&a, after_a) < 2 {
        tokio::time::timeout_at(deadline, live_a.recv())
            .await
            .expect("A's runs finish")
            .expect("hub open");
    }
    while finished(&b, after_b) < 1 {
        tokio::time::timeout_at(deadline, live_b.recv())
            .await
            .expect("B's run finishes")
            .expect("hub open");
    }
    // Two sends racing on one session start one run each, one after the other, each closed once.
    let events_a = server.gateway.events_after(&a, after_a, 10_000).unwrap();
    let started = events_a
        .iter()
        .filter(|e| matches!(e.body, EventBody::RunStarted { .. }))
        .count();
    assert_eq!((started, finished(&a, after_a)), (2, 2), "{events_a:#?}");
    let mut got_a = common::replies(&events_a);
    got_a.sort();
    assert_eq!(
        got_a,
        vec!["Echo: a again", "Echo: a once more"],
        "{events_a:#?}"
    );
    assert_eq!(
        common::replies(&server.gateway.events_after(&b, after_b, 10_000).unwrap()),
        vec!["Echo: b again"]
    );
    let log = fake_log(dir.path());
    assert_eq!(count(&log, "thread/resume", Some(&ta)), 1, "{log:#?}");
    assert_eq!(count(&log, "thread/resume", Some(&tb)), 1, "{log:#?}");
    server.shutdown().await;
}

// --- on the paused clock ------------------------------------------------------------------------
//
// These run on a current-thread runtime whose clock is paused: it jumps forward only when every
// task (the gateway's, the supervisor's, the in-process fake's) waits for time, so the watchdog's
// stall and the request timeout are the production defaults, reached in no real time, and
// nothing on a busy machine can make a healthy step look slow.

/// How long (on the paused clock) a run may take before a test gives up on it: beyond every
/// limit involved, so it only ends a test that would otherwise hang.
const PAUSED_DEADLINE: Duration = Duration::from_secs(3600);
/// How often the watchdog looks, at most (it runs on every tenth 100 ms tick).
const WATCHDOG_PERIOD: Duration = Duration::from_secs(1);
/// After an interrupt, how long Codex gets to confirm it before the run is closed anyway (the
/// gateway's `INTERRUPT_GRACE`).
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// Sends `text` and waits for its run to finish (however long that takes on the paused clock,
/// up to [`PAUSED_DEADLINE`]); returns the events after the send and when the run finished.
async fn paused_turn(
    gateway: &Gateway,
    key: &SessionKey,
    client_id: &str,
    text: &str,
) -> (Vec<Event>, Instant) {
    let after = gateway.store().last_seq(key).unwrap();
    let mut live = gateway.subscribe(key);
    gateway.send(key, client_id, text).unwrap();
    let deadline = Instant::now() + PAUSED_DEADLINE;
    loop {
        let events = gateway.events_after(key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            return (events, Instant::now());
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("the run did not finish within {PAUSED_DEADLINE:?} (paused clock)"),
        }
    }
}

/// A paused-clock turn that must complete with exactly `Echo: <text>`.
async fn paused_echo_turn(gateway: &Gateway, key: &SessionKey, client_id: &str, text: &str) {
    let (events, _) = paused_turn(gateway, key, client_id, text).await;
    assert_eq!(
        outcome(&events),
        (RunOutcome::Completed, None),
        "{events:#?}"
    );
    assert_eq!(
        common::replies(&events),
        vec![format!("Echo: {text}")],
        "{events:#?}"
    );
}

/// Regression: under load, the run after a Stop got no reply. Codex answered its `turn/start`
/// with the turn that had just been interrupted (a start on a thread it still counted as busy),
/// so the run took that turn for its own, the `message` call of the real turn was refused as
/// belonging to no run, and a late `turn/completed` of the old turn could end the new run.
#[tokio::test(start_paused = true)]
async fn a_turn_start_answered_with_the_turn_that_just_ended_still_gets_its_reply() {
    let (gateway, _fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    paused_echo_turn(&gateway, &key, "c-1", "before").await;
    paused_echo_turn(&gateway, &key, "c-2", "/fake stale-turn").await;
    paused_echo_turn(&gateway, &key, "c-3", "after").await;
    gateway.shutdown().await;
}

/// When the one `turn/interrupt` so far arrived, after checking that the watchdog sent it once
/// the default stall limit had passed since `sent`, and not later than its next look.
fn the_watchdogs_interrupt(fake: &FakeAppServer, sent: Instant) -> Instant {
    let interrupts = fake.requests_for("turn/interrupt");
    assert_eq!(interrupts.len(), 1, "{:#?}", fake.requests());
    let waited = interrupts[0].at - sent;
    assert!(
        waited > DEFAULT_TURN_STALL && waited <= DEFAULT_TURN_STALL + WATCHDOG_PERIOD,
        "interrupted after {waited:?}, the limit is {DEFAULT_TURN_STALL:?}"
    );
    interrupts[0].at
}

/// `waited` is past `limit`, by at most two looks of the watchdog (one to act, one more for the
/// look that started what it waited for).
fn assert_within_two_looks(waited: Duration, limit: Duration, what: &str) {
    assert!(
        waited > limit && waited <= limit + 2 * WATCHDOG_PERIOD,
        "{what} after {waited:?}; expected just after {limit:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_turn_is_interrupted_by_the_watchdog_after_the_default_stall_limit() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let sent = Instant::now();
    let (events, _) = paused_turn(&gateway, &key, "c-1", "/fake hang").await;
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Interrupted,
            Some("Codex made no progress for too long".to_owned())
        ),
        "{events:#?}"
    );
    the_watchdogs_interrupt(&fake, sent);
    paused_echo_turn(&gateway, &key, "c-2", "after the hang").await;
    assert_eq!(fake.requests_for("turn/interrupt").len(), 1);
    gateway.shutdown().await;
}

/// Also the regression for the message after it: the fake, like Codex, takes it as a steer of
/// the turn it still runs (answering `turn/start` with that turn, starting none), and the run
/// waited for a `turn/started` that never came. Now it follows the turn we had given up on.
#[tokio::test(start_paused = true)]
async fn a_hung_turn_whose_interrupt_is_never_answered_is_closed_after_the_interrupt_grace() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let sent = Instant::now();
    let (events, finished) = paused_turn(&gateway, &key, "c-1", "/fake hang-deaf").await;
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Failed,
            Some("Codex stopped responding".to_owned())
        ),
        "{events:#?}"
    );
    let interrupted = the_watchdogs_interrupt(&fake, sent);
    let waited = finished - interrupted;
    assert!(
        waited > INTERRUPT_GRACE && waited <= INTERRUPT_GRACE + WATCHDOG_PERIOD,
        "closed {waited:?} after the interrupt"
    );
    // Closed by the watchdog, not by a restart: the unanswered interrupt has not timed out yet.
    assert_eq!(fake.requests_for("initialize").len(), 1);
    paused_echo_turn(&gateway, &key, "c-2", "after the deaf hang").await;
    gateway.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_codex_that_stops_answering_is_restarted_after_the_request_timeout_and_the_next_message_works(
) {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    paused_echo_turn(&gateway, &key, "c-1", "before the freeze").await;
    let sent = Instant::now();
    let (events, finished) = paused_turn(&gateway, &key, "c-2", "/fake freeze").await;
    // The watchdog interrupts the turn (the frozen app-server never reads it) and closes the run
    // after the interrupt grace.
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Failed,
            Some("Codex stopped responding".to_owned())
        ),
        "{events:#?}"
    );
    assert_within_two_looks(
        finished - sent,
        DEFAULT_TURN_STALL + INTERRUPT_GRACE,
        "closed",
    );
    assert_eq!(fake.requests_for("initialize").len(), 1, "no restart yet");

    // The unanswered interrupt times out, the frozen app-server is killed and a new one started.
    tokio::time::timeout(PAUSED_DEADLINE, fake.requested("initialize", 2))
        .await
        .expect("a new app-server is started");
    let restarted = fake.requests_for("initialize")[1].at;
    assert_within_two_looks(
        restarted - sent,
        DEFAULT_TURN_STALL + DEFAULT_CODEX_REQUEST_TIMEOUT,
        "restarted",
    );
    paused_echo_turn(&gateway, &key, "c-3", "after the freeze").await;
    let instances: Vec<u32> = fake
        .requests_for("initialize")
        .iter()
        .map(|r| r.instance)
        .collect();
    assert_eq!(instances, vec![1, 2], "exactly one restart");
    // The session's thread goes on in the new app-server.
    let thread = gateway
        .store()
        .binding(&key)
        .unwrap()
        .map(|b| b.thread_id.into_string());
    let resumed: Vec<_> = fake
        .requests_for("thread/resume")
        .into_iter()
        .map(|r| (r.instance, r.thread))
        .collect();
    assert_eq!(resumed, vec![(2, thread)]);
    gateway.shutdown().await;
}

/// A person may take longer than the stall limit to decide: a run waiting for an approval is
/// left alone by the watchdog (three stall limits here), and it goes on once answered.
#[tokio::test(start_paused = true)]
async fn a_run_waiting_for_a_person_longer_than_the_stall_limit_is_not_interrupted() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let after = gateway.store().last_seq(&key).unwrap();
    let mut live = gateway.subscribe(&key);
    gateway.send(&key, "c-1", "/fake ask command").unwrap();
    let deadline = Instant::now() + PAUSED_DEADLINE;
    let card = loop {
        let events = gateway.events_after(&key, after, 10_000).unwrap();
        if let Some(card) = events
            .iter()
            .find(|e| matches!(e.body, EventBody::ApprovalRequested { .. }))
        {
            break card.seq;
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("no approval card (paused clock)"),
        }
    };
    // The paused clock moves on by itself while everything waits.
    tokio::time::sleep(DEFAULT_TURN_STALL * 3).await;
    assert!(
        fake.requests_for("turn/interrupt").is_empty(),
        "{:#?}",
        fake.requests()
    );
    let events = gateway.events_after(&key, after, 10_000).unwrap();
    assert!(
        !events.iter().any(|e| matches!(
            e.body,
            EventBody::RunFinished { .. } | EventBody::ApprovalEnded { .. }
        )),
        "{events:#?}"
    );
    gateway
        .answer(&key, card, app::wire::ApprovalDecision::Accept, None)
        .await
        .unwrap();
    let (events, _) = paused_turn(&gateway, &key, "c-2", "after the wait").await;
    let all = gateway.events_after(&key, after, 10_000).unwrap();
    assert!(
        common::replies(&all).contains(&r#"Answer: {"decision":"accept"}"#.to_owned()),
        "{all:#?}"
    );
    assert_eq!(outcome(&events), (RunOutcome::Completed, None));
    gateway.shutdown().await;
}

/// Regression (a CI run's "Stop ends a /stream run" that got no reply after the Stop): a Stop
/// right after the turn started sent an interrupt that Codex refused with "no active turn" (it
/// answers `turn/start` before it runs the turn). The turn ran on, the run was closed only by the
/// interrupt grace, and the next message was taken as a steer of the still-running turn and never
/// got its reply. Now the interrupt is sent again until it takes.
#[tokio::test(start_paused = true)]
async fn a_stop_that_finds_the_turn_not_yet_running_is_sent_again_and_the_next_message_works() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let after = gateway.store().last_seq(&key).unwrap();
    let mut live = gateway.subscribe(&key);
    gateway.send(&key, "c-1", "/fake hang-unready").unwrap();
    let deadline = Instant::now() + PAUSED_DEADLINE;
    fake.requested("turn/start", 1).await;
    let stopped = Instant::now();
    assert!(
        gateway.stop(&key),
        "{:#?}",
        gateway.events_after(&key, after, 100).unwrap()
    );
    let finished = loop {
        let events = gateway.events_after(&key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            assert_eq!(outcome(&events), (RunOutcome::Interrupted, None));
            break Instant::now();
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("the run did not finish (paused clock)"),
        }
    };
    assert_eq!(
        fake.requests_for("turn/interrupt").len(),
        2,
        "refused once, then sent again: {:#?}",
        fake.requests()
    );
    assert!(
        finished - stopped < INTERRUPT_GRACE,
        "confirmed by Codex, not closed by the grace: {:?}",
        finished - stopped
    );
    paused_echo_turn(&gateway, &key, "c-2", "after the early stop").await;
    gateway.shutdown().await;
}

/// The retries of a run's events, as `(message, attempt)`, checking each is private.
fn retries(events: &[Event]) -> Vec<(String, u32)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Retrying { message, attempt } => {
                assert!(e.private, "a retry is an internal: {e:#?}");
                Some((message.clone(), *attempt))
            }
            _ => None,
        })
        .collect()
}

/// Codex retrying its provider is not progress: a turn that only retries is interrupted at the
/// stall limit, as a silent one is, and fails with a notice naming the last error.
#[tokio::test(start_paused = true)]
async fn a_turn_that_only_retries_fails_at_the_stall_limit_naming_the_last_error() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let sent = Instant::now();
    let (events, _) = paused_turn(&gateway, &key, "c-1", "/fake retry-forever").await;
    let seen = retries(&events);
    // One at once, then one every 10 s until the interrupt just after 180 s.
    assert_eq!(seen.len(), 19, "{events:#?}");
    for (i, (message, attempt)) in seen.iter().enumerate() {
        assert_eq!(*attempt, i as u32 + 1);
        assert_eq!(message, &format!("Reconnecting... {attempt}/5"));
    }
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Failed,
            Some(
                "Codex made no progress for too long; its last error: Reconnecting... 19/5"
                    .to_owned()
            )
        ),
        "{events:#?}"
    );
    the_watchdogs_interrupt(&fake, sent);
    paused_echo_turn(&gateway, &key, "c-2", "after the retries").await;
    gateway.shutdown().await;
}

/// Retries within the stall limit followed by real progress: the run completes as usual, with
/// the retries in its transcript as internals.
#[tokio::test(start_paused = true)]
async fn a_turn_whose_retries_are_followed_by_progress_completes() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let (events, _) = paused_turn(&gateway, &key, "c-1", "/fake retry 3").await;
    assert_eq!(
        outcome(&events),
        (RunOutcome::Completed, None),
        "{events:#?}"
    );
    assert_eq!(
        common::replies(&events),
        vec!["Echo: /fake retry 3".to_owned()]
    );
    let attempts: Vec<u32> = retries(&events).into_iter().map(|(_, a)| a).collect();
    assert_eq!(attempts, vec![1, 2, 3], "{events:#?}");
    assert!(fake.requests_for("turn/interrupt").is_empty());
    gateway.shutdown().await;
}

/// Stop ends a run that is retrying, at once and as a person's stop (no failure notice).
#[tokio::test(start_paused = true)]
async fn stop_ends_a_retrying_run_at_once() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let after = gateway.store().last_seq(&key).unwrap();
    let mut live = gateway.subscribe(&key);
    gateway.send(&key, "c-1", "/fake retry-forever").unwrap();
    let deadline = Instant::now() + PAUSED_DEADLINE;
    // Wait for the first retry to be recorded.
    loop {
        let events = gateway.events_after(&key, after, 10_000).unwrap();
        if !retries(&events).is_empty() {
            break;
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("no retry (paused clock)"),
        }
    }
    let stopped = Instant::now();
    assert!(gateway.stop(&key));
    let finished = loop {
        let events = gateway.events_after(&key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            assert_eq!(outcome(&events), (RunOutcome::Interrupted, None));
            break Instant::now();
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("the run did not finish (paused clock)"),
        }
    };
    assert!(
        finished - stopped < Duration::from_secs(1),
        "{:?}",
        finished - stopped
    );
    assert_eq!(fake.requests_for("turn/interrupt").len(), 1);
    gateway.shutdown().await;
}
