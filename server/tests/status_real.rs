//! Honest status against the real, pinned `codex app-server` and the demo model: `/flaky 2`
//! makes the demo model answer HTTP 503 twice, Codex retries the turn (each retry an `error`
//! notification with `willRetry`), and the run shows each retry as a private `retrying` event,
//! live and after a reload, before the reply `flaky ok` completes it. `/offline` breaks every
//! response off after its headers: Codex retries that too, then fails the turn. `/fail` (a 500)
//! is retried the same way before the run fails.

mod common;

use std::time::Duration;

use app::transcript::Transcript;
use app::wire::{Event, EventBody, RunOutcome};
use codex_webchat::serve;

/// Bounds the turn; Codex's retry backoff is well under a second per attempt.
const TURN_WAIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flaky_shows_codexs_retries_then_the_reply() {
    let dir = common::data_dir("status-real");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let mut live = server.gateway.subscribe(&key);
    server.gateway.send(&key, "c1", "/flaky 2").unwrap();
    let deadline = tokio::time::Instant::now() + TURN_WAIT;
    let mut seen: Vec<Event> = Vec::new();
    loop {
        let event = tokio::time::timeout_at(deadline, live.recv())
            .await
            .unwrap_or_else(|_| panic!("/flaky 2 did not finish: {seen:#?}"))
            .expect("the live subscriber kept up");
        let done = matches!(event.body, EventBody::RunFinished { .. });
        seen.push((*event).clone());
        if done {
            break;
        }
    }
    let retries: Vec<(bool, String, u32)> = seen
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Retrying { message, attempt } => {
                Some((e.private, message.clone(), *attempt))
            }
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2, "{seen:#?}");
    for (i, (private, message, attempt)) in retries.iter().enumerate() {
        assert!(private, "a retry is an internal");
        assert_eq!(*attempt, i as u32 + 1);
        assert!(!message.is_empty());
    }
    let finished = seen.last().unwrap();
    assert!(
        matches!(
            &finished.body,
            EventBody::RunFinished {
                outcome: RunOutcome::Completed,
                ..
            }
        ),
        "{seen:#?}"
    );
    assert_eq!(common::replies(&seen), ["flaky ok"]);
    // A reload shows the same: the retries are stored, and the transcript is the live one.
    let stored = server.gateway.events_after(&key, after, 10_000).unwrap();
    assert_eq!(seen, stored);
    let reloaded = Transcript::from_events(&stored);
    let shown: Vec<&str> = reloaded
        .entries()
        .iter()
        .filter(|e| e.private && e.text.starts_with("Codex is retrying: "))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(shown.len(), 2, "{:#?}", reloaded.entries());
    assert!(!reloaded.is_running() && reloaded.retrying().is_none());
    server.shutdown().await;
}

/// `/fail` answers HTTP 500 (its contract). Codex retries a 5xx like any other (now that the
/// demo config lets it, for `/flaky`), so the retries show, then the run fails naming the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_is_retried_by_codex_then_the_run_fails() {
    let dir = common::data_dir("status-real-fail");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let mut live = server.gateway.subscribe(&key);
    server.gateway.send(&key, "c1", "/fail").unwrap();
    tokio::time::timeout(TURN_WAIT, async {
        while !matches!(
            live.recv().await.expect("live").body,
            EventBody::RunFinished { .. }
        ) {}
    })
    .await
    .expect("/fail finished");
    let stored = server.gateway.events_after(&key, after, 10_000).unwrap();
    assert!(
        stored
            .iter()
            .any(|e| matches!(e.body, EventBody::Retrying { .. })),
        "Codex's retries are shown: {stored:#?}"
    );
    assert!(
        stored.iter().any(|e| matches!(
            e.body,
            EventBody::RunFinished {
                outcome: RunOutcome::Failed,
                error: Some(_),
                ..
            }
        )),
        "{stored:#?}"
    );
    server.shutdown().await;
}

/// `/offline`: every response of the turn breaks off after its headers. Codex takes that for a
/// dropped stream and retries it (`willRetry`, measured: 5 times, its `stream_max_retries`), then
/// fails the turn; the retries are shown and the failure names Codex's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_is_retried_then_fails() {
    let dir = common::data_dir("status-real-offline");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let mut live = server.gateway.subscribe(&key);
    server.gateway.send(&key, "c1", "/offline").unwrap();
    tokio::time::timeout(TURN_WAIT, async {
        while !matches!(
            live.recv().await.expect("live").body,
            EventBody::RunFinished { .. }
        ) {}
    })
    .await
    .expect("/offline finished");
    let stored = server.gateway.events_after(&key, after, 10_000).unwrap();
    let attempts: Vec<u32> = stored
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Retrying { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5], "{stored:#?}");
    assert!(
        stored.iter().any(|e| matches!(
            &e.body,
            EventBody::RunFinished {
                outcome: RunOutcome::Failed,
                error: Some(_),
                ..
            }
        )),
        "{stored:#?}"
    );
    server.shutdown().await;
}
