//! Faults the real Codex will not produce on demand, injected through the fake app-server
//! (`tests/support/fake_codex.rs`) under a whole in-process server: Codex dying mid-turn, a turn
//! that hangs (with and without a confirmed interrupt), malformed and over-long lines, an
//! unanswered `turn/start`, `thread not found`, `active writer` and `no rollout found` on resume,
//! and sends racing each other and a resume. Each test ends with a message that gets its reply.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::{Event, EventBody, RunOutcome, SessionKey};
use codex_webchat::serve::{self, Running};
use serde_json::Value;

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");
/// The watchdog's limit for the one turn a test makes hang: the fake never answers it, so the
/// interrupt is the only outcome, however fast or slow the machine. Every other turn runs under
/// the generous limit of `common::config`, so a busy machine never reads as a stall.
const SHORT_STALL: Duration = Duration::from_secs(1);

/// A server on the fake app-server, with `common::config`'s generous limits.
async fn start(dir: &Path) -> Running {
    let mut config = common::config(dir);
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    serve::start(config).await.expect("server starts")
}

/// Runs one turn with the watchdog's limit at [`SHORT_STALL`], then restores the configured one.
async fn turn_timed_short(
    server: &Running,
    key: &SessionKey,
    client_id: &str,
    text: &str,
) -> Vec<Event> {
    server.gateway.set_turn_stall(SHORT_STALL);
    let events = common::turn(server, key, client_id, text).await;
    server.gateway.set_turn_stall(common::TURN_STALL);
    events
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
async fn a_hung_turn_is_interrupted_by_the_watchdog() {
    let dir = common::data_dir("fault-hang");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let events = turn_timed_short(&server, &key, "c-1", "/fake hang").await;
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Interrupted,
            Some("Codex made no progress for too long".to_owned())
        ),
        "{events:#?}"
    );
    assert_eq!(count(&fake_log(dir.path()), "turn/interrupt", None), 1);
    echo_turn(&server, &key, "c-2", "after the hang").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_turn_whose_interrupt_is_never_answered_is_closed_anyway() {
    let dir = common::data_dir("fault-deaf");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let events = turn_timed_short(&server, &key, "c-1", "/fake hang-deaf").await;
    assert_eq!(
        outcome(&events),
        (
            RunOutcome::Failed,
            Some("Codex stopped responding".to_owned())
        ),
        "{events:#?}"
    );
    echo_turn(&server, &key, "c-2", "after the deaf hang").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codex_that_stops_answering_is_restarted_and_the_next_message_works() {
    let dir = common::data_dir("fault-freeze");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    // Only the frozen turn's requests get a short limit (the interrupt it never answers is what
    // times out); the restarted process's `initialize` and every later request keep the
    // configured, generous one.
    server
        .gateway
        .codex()
        .set_request_timeout(Duration::from_secs(2));
    let events = turn_timed_short(&server, &key, "c-1", "/fake freeze").await;
    server
        .gateway
        .codex()
        .set_request_timeout(common::CODEX_REQUEST_TIMEOUT);
    assert_eq!(outcome(&events).0, RunOutcome::Failed, "{events:#?}");
    // The frozen process was killed and a new one answers.
    echo_turn(&server, &key, "c-2", "after the freeze").await;
    assert_eq!(
        count(&fake_log(dir.path()), "initialize", None),
        2,
        "exactly one restart"
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
