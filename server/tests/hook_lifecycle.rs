//! The hook relay in the thread lifecycle, with the real Codex binary and the demo model: native
//! shell calls pass the relay (cards say `allowed`), deny rules block (cards say `denied`), the
//! generation is persisted and reused on resume after a restart, every fresh thread rotates it
//! (invalidated binding, failed resume), a legacy binding gets the pinned grace, and forged or
//! stale hook commands are refused.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use app::wire::{Event, EventBody, RelayDecision, SessionKey, ToolStatus};
use codex_webchat::config::Config;
use codex_webchat::hook::policy::DenyRuleSpec;
use codex_webchat::hook::registry::relay_id_for;
use codex_webchat::serve::{self, Running};

use common::BIN;

fn config(data_dir: &Path) -> Config {
    Config {
        deny_rules: vec![DenyRuleSpec {
            pattern: "forbidden-word".to_owned(),
            reason: "forbidden-word is not allowed here".to_owned(),
        }],
        ..common::config(data_dir)
    }
}

fn data_dir() -> tempfile::TempDir {
    common::data_dir("hook-lifecycle")
}

/// Sends `text` and waits for its run to finish; returns the events it produced.
async fn turn(server: &Running, key: &SessionKey, text: &str) -> Vec<Event> {
    let n = server.gateway.store().last_seq(key).unwrap().0;
    common::turn(server, key, &format!("c{n}"), text).await
}

/// The shell card of a turn: (relay decision, status, output).
fn shell_card(events: &[Event]) -> (RelayDecision, ToolStatus, String) {
    let started = events
        .iter()
        .find(|e| matches!(&e.body, EventBody::ToolStarted { tool, .. } if tool == "shell"))
        .unwrap_or_else(|| panic!("no shell card: {events:#?}"));
    let relay = match &started.body {
        EventBody::ToolStarted { relay, .. } => *relay,
        _ => unreachable!(),
    };
    let (status, output) = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::ToolFinished {
                target,
                status,
                output,
                ..
            } if *target == started.seq => Some((*status, output.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the shell card never finished: {events:#?}"));
    (relay, status, output)
}

fn hook_calls(events: &[Event], name: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::Internal { label, .. } if label == &format!("hook {name}")))
        .count()
}

/// Runs the hook command by hand, as Codex would, and returns (stdout, exit code).
fn run_hook(data_dir: &Path, relay_id: &str, generation: &str) -> (String, i32) {
    let mut child = Command::new(BIN)
        .args([
            "hook",
            "relay",
            "--relay-id",
            relay_id,
            "--generation",
            generation,
            "--event",
            "pre_tool_use",
            // Not what this test is about: far longer than a busy machine needs.
            "--timeout",
            "30000",
        ])
        .env(
            codex_webchat::hook::ENDPOINT_ENV,
            data_dir.join("hook-relay.json"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            br#"{"hook_event_name":"PreToolUse","session_id":"t","tool_name":"Bash","tool_input":{"command":"echo by-hand"},"tool_use_id":"call_by_hand"}"#,
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn refused(stdout: &str) -> bool {
    stdout.contains("\"permissionDecision\":\"deny\"")
        && stdout.contains("Native hook relay unavailable")
}

fn generation(server: &Running, key: &SessionKey) -> String {
    server
        .gateway
        .store()
        .binding(key)
        .unwrap()
        .expect("a binding")
        .relay_generation
        .expect("a persisted generation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_shell_calls_pass_the_relay_and_the_generation_survives_a_restart() {
    let dir = data_dir();
    let server = serve::start(config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;

    let events = turn(&server, &key, "/shell echo relay-ok").await;
    let (relay, status, output) = shell_card(&events);
    assert_eq!(relay, RelayDecision::Allowed, "{events:#?}");
    assert_eq!(status, ToolStatus::Completed);
    assert!(output.contains("relay-ok"), "{output}");
    // Proof the hook really ran: the relay recorded Codex's PreToolUse and PostToolUse calls.
    assert!(hook_calls(&events, "PreToolUse") >= 1, "{events:#?}");
    assert!(hook_calls(&events, "PostToolUse") >= 1, "{events:#?}");
    let g1 = generation(&server, &key);

    // A deny rule blocks the command; Codex never runs it and the card says so.
    let events = turn(&server, &key, "/shell echo forbidden-word").await;
    let (relay, status, output) = shell_card(&events);
    assert_eq!(relay, RelayDecision::Denied, "{events:#?}");
    assert_eq!(status, ToolStatus::Declined);
    assert!(
        output.contains("forbidden-word is not allowed here"),
        "{output}"
    );

    // A forged generation is refused while the real one is accepted.
    let relay_id = relay_id_for(key.as_str());
    let (out, code) = run_hook(dir.path(), &relay_id, "forged-generation");
    assert!(refused(&out), "{out}");
    assert_eq!(code, 0);
    let (out, code) = run_hook(dir.path(), &relay_id, &g1);
    assert_eq!(
        (out.as_str(), code),
        ("", 0),
        "the current generation must be allowed"
    );

    let thread = server
        .gateway
        .store()
        .binding(&key)
        .unwrap()
        .unwrap()
        .thread_id;
    server.shutdown().await;

    // After a restart (new process, new endpoint port and token, empty registry) the thread is
    // resumed with the persisted generation and the first native call passes the relay.
    let server = serve::start(config(dir.path())).await.unwrap();
    let events = turn(&server, &key, "/shell echo after-restart").await;
    let (relay, status, output) = shell_card(&events);
    assert_eq!(relay, RelayDecision::Allowed, "{events:#?}");
    assert_eq!(status, ToolStatus::Completed);
    assert!(output.contains("after-restart"));
    assert_eq!(
        generation(&server, &key),
        g1,
        "resume must reuse the generation"
    );
    assert_eq!(
        server
            .gateway
            .store()
            .binding(&key)
            .unwrap()
            .unwrap()
            .thread_id,
        thread
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_thread_rotates_the_generation_and_fences_the_old_one() {
    let dir = data_dir();
    let server = serve::start(config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let relay_id = relay_id_for(key.as_str());
    turn(&server, &key, "/shell echo first").await;
    let g1 = generation(&server, &key);
    let t1 = server
        .gateway
        .store()
        .binding(&key)
        .unwrap()
        .unwrap()
        .thread_id;
    server.shutdown().await;

    // An invalidated binding (the thread's configuration changed) starts a fresh thread.
    let server = serve::start(config(dir.path())).await.unwrap();
    let mut b = server.gateway.store().binding(&key).unwrap().unwrap();
    b.config_fingerprint = "out-of-date".to_owned();
    server.gateway.store().put_binding(&key, &b).unwrap();
    let events = turn(&server, &key, "/shell echo second").await;
    assert_eq!(shell_card(&events).0, RelayDecision::Allowed);
    let g2 = generation(&server, &key);
    let t2 = server
        .gateway
        .store()
        .binding(&key)
        .unwrap()
        .unwrap()
        .thread_id;
    assert_ne!(g2, g1);
    assert_ne!(t2, t1);
    assert!(
        refused(&run_hook(dir.path(), &relay_id, &g1).0),
        "old generation must be stale"
    );
    server.shutdown().await;

    // A resume that fails (the thread is gone) falls back to a fresh thread and rotates again.
    let server = serve::start(config(dir.path())).await.unwrap();
    let mut b = server.gateway.store().binding(&key).unwrap().unwrap();
    b.thread_id = "019a0000-0000-7000-8000-000000000000".into();
    server.gateway.store().put_binding(&key, &b).unwrap();
    let events = turn(&server, &key, "/shell echo third").await;
    assert_eq!(shell_card(&events).0, RelayDecision::Allowed, "{events:#?}");
    let g3 = generation(&server, &key);
    assert_ne!(g3, g2);
    assert!(refused(&run_hook(dir.path(), &relay_id, &g2).0));
    assert_eq!(run_hook(dir.path(), &relay_id, &g3), (String::new(), 0));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_binding_accepts_the_first_foreign_generation_and_rejects_a_second() {
    let dir = data_dir();
    let server = serve::start(config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let relay_id = relay_id_for(key.as_str());
    turn(&server, &key, "/say hello").await;
    server.shutdown().await;

    // A binding written before generations were persisted.
    let server = serve::start(config(dir.path())).await.unwrap();
    let mut b = server.gateway.store().binding(&key).unwrap().unwrap();
    b.relay_generation = None;
    server.gateway.store().put_binding(&key, &b).unwrap();
    let events = turn(&server, &key, "/shell echo legacy").await;
    assert_eq!(shell_card(&events).0, RelayDecision::Allowed, "{events:#?}");
    let current = generation(&server, &key);

    assert_eq!(
        run_hook(dir.path(), &relay_id, "legacy-gen-1"),
        (String::new(), 0)
    );
    // The first foreign generation is pinned: it keeps working, a second one does not.
    assert_eq!(
        run_hook(dir.path(), &relay_id, "legacy-gen-1"),
        (String::new(), 0)
    );
    assert!(refused(&run_hook(dir.path(), &relay_id, "legacy-gen-2").0));
    assert_eq!(
        run_hook(dir.path(), &relay_id, &current),
        (String::new(), 0)
    );
    server.shutdown().await;
}
