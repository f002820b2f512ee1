//! Hook trust once per Codex process, through a whole in-process server. With the real Codex
//! binary and the demo model: new sessions started at once, and the same sessions resumed after a
//! restart, each get a thread whose relay hooks really run (the shell card says `allowed`), while
//! each Codex process cost one throwaway thread (the comparison that lets the gateway compute
//! every later hash). With the fake app-server, whose hashes are not Codex's (a Codex that
//! changed its algorithm): every thread start still learns its hashes and is guarded.

mod common;

use std::path::PathBuf;

use app::wire::{Event, EventBody, RelayDecision, RunOutcome, SessionKey};
use codex_webchat::hook::trust::Verdict;
use codex_webchat::serve::{self, Running};
use futures::future::join_all;

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");

/// Sends `text` to each of `keys` at once; the events of each run, in `keys`' order.
async fn turns_at_once(server: &Running, keys: &[SessionKey], text: &str) -> Vec<Vec<Event>> {
    join_all(keys.iter().enumerate().map(|(i, key)| {
        let client_id = format!("{}-{i}", text.replace(|c: char| !c.is_alphanumeric(), "-"));
        let text = format!("{text} {i}");
        async move { common::turn(server, key, &client_id, &text).await }
    }))
    .await
}

/// The relay's decision on the turn's shell call.
fn shell_relay(events: &[Event]) -> RelayDecision {
    events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::ToolStarted { tool, relay, .. } if tool == "shell" => Some(*relay),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no shell card: {events:#?}"))
}

fn outcome(events: &[Event]) -> Option<RunOutcome> {
    events.iter().find_map(|e| match &e.body {
        EventBody::RunFinished { outcome, .. } => Some(*outcome),
        _ => None,
    })
}

async fn verdict(server: &Running) -> Option<Verdict> {
    let epoch = server.gateway.codex().epoch().expect("Codex is up");
    server.gateway.hook_trust().unwrap().verdict(epoch).await
}

fn throwaways(server: &Running) -> u64 {
    server.gateway.hook_trust().unwrap().throwaway_threads()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_resumed_sessions_are_guarded_with_one_throwaway_thread_per_codex_process() {
    let dir = common::data_dir("hook-trust");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let keys: Vec<SessionKey> = (0..3)
        .map(|_| server.gateway.create_session().unwrap().key)
        .collect();

    // Their first turns at once: three fresh threads, each with its own relay generation.
    for events in turns_at_once(&server, &keys, "/shell echo new").await {
        assert_eq!(shell_relay(&events), RelayDecision::Allowed, "{events:#?}");
        assert_eq!(outcome(&events), Some(RunOutcome::Completed));
    }
    assert_eq!(throwaways(&server), 1, "one comparison for the process");
    assert_eq!(verdict(&server).await, Some(Verdict::Computed));
    let threads: Vec<_> = keys
        .iter()
        .map(|k| {
            server
                .gateway
                .store()
                .binding(k)
                .unwrap()
                .unwrap()
                .thread_id
        })
        .collect();
    server.shutdown().await;

    // A new server and Codex process: the same sessions resume their threads (under their stored
    // generations) and a new session starts one, all trusted after one more comparison.
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let mut keys = keys;
    keys.push(server.gateway.create_session().unwrap().key);
    for events in turns_at_once(&server, &keys, "/shell echo again").await {
        assert_eq!(shell_relay(&events), RelayDecision::Allowed, "{events:#?}");
    }
    for (key, thread) in keys.iter().zip(&threads) {
        let bound = server.gateway.store().binding(key).unwrap().unwrap();
        assert_eq!(&bound.thread_id, thread, "resumed, not replaced");
    }
    assert_eq!(throwaways(&server), 1);
    assert_eq!(verdict(&server).await, Some(Verdict::Computed));
    server.shutdown().await;
}

/// The fake app-server hashes hooks its own way: the comparison fails, and the gateway learns
/// the hashes for every thread instead (slower, still guarded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codex_that_hashes_differently_gets_its_hashes_learned_for_every_thread() {
    let dir = common::data_dir("hook-trust-fake");
    let mut config = common::config(dir.path());
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    let server = serve::start(config).await.unwrap();
    let keys: Vec<SessionKey> = (0..3)
        .map(|_| server.gateway.create_session().unwrap().key)
        .collect();
    for (i, events) in turns_at_once(&server, &keys, "hello")
        .await
        .iter()
        .enumerate()
    {
        // A thread whose hooks are not trusted is refused: a reply means guarded.
        assert_eq!(outcome(events), Some(RunOutcome::Completed), "{events:#?}");
        assert_eq!(common::replies(events), [format!("Echo: hello {i}")]);
    }
    assert_eq!(verdict(&server).await, Some(Verdict::Learned));
    assert_eq!(throwaways(&server), 3, "one throwaway per thread start");
    server.shutdown().await;
}
