//! The Codex adapter against the real, pinned `codex app-server` binary: handshake, thread start,
//! hooks/list, crash and automatic restart, resume on the new process, graceful shutdown.
//! No model call is made; the configured provider points at a closed loopback port.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_webchat::codex::{Codex, CodexError, CodexOptions, Epoch, RequestId, SupervisorEvent};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

/// Waits that end on an event (Codex starting included): generous, as a busy machine may need.
const WAIT: Duration = Duration::from_secs(120);

/// A CODEX_HOME outside /tmp with a config that keeps Codex off the network.
fn codex_home() -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix("codex-home-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create CODEX_HOME");
    let config = r#"model = "demo-model"
model_provider = "demo"

[model_providers.demo]
name = "demo"
base_url = "http://127.0.0.1:9/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
plugins = false
apps = false

[analytics]
enabled = false
"#;
    std::fs::write(home.path().join("config.toml"), config).expect("write config.toml");
    std::fs::create_dir(home.path().join("work")).expect("create work dir");
    home
}

fn options(bin: PathBuf, home: &Path) -> CodexOptions {
    let mut opts = CodexOptions::new(bin, home.to_path_buf(), home.join("work"));
    // Past this Codex counts as frozen and is killed: far over what a busy machine needs.
    opts.request_timeout = Duration::from_secs(120);
    opts.client_name = "codex_webchat_test".into();
    opts
}

/// Next event matching `want`, skipping the others (notifications of the running process).
async fn next_event(
    events: &mut UnboundedReceiver<SupervisorEvent>,
    what: &str,
    want: impl Fn(&SupervisorEvent) -> bool,
) -> SupervisorEvent {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if want(&event) {
                return Some(event);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        Ok(None) => panic!("event stream ended while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn ready_event(events: &mut UnboundedReceiver<SupervisorEvent>) -> Epoch {
    match next_event(events, "Ready", |e| {
        matches!(
            e,
            SupervisorEvent::Ready { .. } | SupervisorEvent::Exited { .. }
        )
    })
    .await
    {
        SupervisorEvent::Ready { epoch } => epoch,
        other => panic!("codex did not become ready: {other:?}"),
    }
}

/// Adapter logs (Codex's stderr included) are shown for failing tests; `RUST_LOG` overrides.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("codex_webchat=debug"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

fn process_exists(pid: u32) -> bool {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: signal 0 only checks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_start_crash_restart_resume_shutdown() {
    init_logs();
    let bin = common::codex_bin();
    let home = codex_home();
    let work = home.path().join("work");
    let (codex, mut events) = Codex::start(options(bin, home.path()));

    let first = ready_event(&mut events).await;
    assert_eq!(codex.ready(WAIT).await.expect("ready"), first);
    assert_eq!(codex.epoch(), Some(first));

    let thread = codex
        .thread_start(json!({
            "cwd": work,
            "approvalPolicy": "never",
            "sandbox": "danger-full-access",
            "ephemeral": false,
            "dynamicTools": [{
                "name": "message",
                "description": "Send a message to the chat user.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "action": {"type": "string", "enum": ["send"]},
                        "message": {"type": "string"}
                    },
                    "required": ["action"]
                }
            }]
        }))
        .await
        .expect("thread/start");
    assert!(!thread.thread_id.as_str().is_empty());
    assert_eq!(thread.raw["approvalPolicy"], "never");

    let hooks = codex
        .hooks_list(&thread.thread_id)
        .await
        .expect("hooks/list");
    assert!(hooks["data"].is_array(), "hooks/list result: {hooks}");

    // Unknown methods come back as JSON-RPC errors, not as a dead connection.
    let err = codex
        .request("no/such/method", json!({}))
        .await
        .expect_err("unknown method");
    assert!(
        matches!(err, CodexError::Rpc { code: -32600, .. }),
        "{err:?}"
    );

    // Crash: SIGKILL the app-server. The supervisor reports it and brings up a new process.
    let pid = codex.pid().expect("pid of the running app-server");
    let pid_t = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(pid_t, libc::SIGKILL) }, 0);
    let exited = next_event(&mut events, "Exited", |e| {
        matches!(e, SupervisorEvent::Exited { .. })
    })
    .await;
    assert!(
        matches!(&exited, SupervisorEvent::Exited { epoch, .. } if *epoch == first),
        "{exited:?}"
    );
    let second = ready_event(&mut events).await;
    assert!(second > first, "epoch must grow across restarts");
    assert_ne!(codex.pid(), Some(pid));

    // A server request id from the dead process can no longer be answered.
    let stale = codex
        .respond(first, RequestId::Num(0), Ok(json!({})))
        .await
        .expect_err("stale epoch");
    assert!(matches!(stale, CodexError::NotRunning(_)), "{stale:?}");

    // The new process has not loaded the thread.
    let err = codex
        .turn_start(&thread.thread_id, "hello", None)
        .await
        .expect_err("turn/start on an unloaded thread");
    assert!(err.is_thread_not_found(), "{err:?}");

    match codex
        .thread_resume(json!({"threadId": thread.thread_id, "excludeTurns": true}))
        .await
    {
        Ok(resumed) => {
            eprintln!("observed: thread/resume succeeded");
            assert_eq!(resumed.thread_id, thread.thread_id);
        }
        Err(err) => {
            // A thread that never ran a turn has no rollout yet; the gateway starts a new one.
            eprintln!("observed: thread/resume failed: {err}");
            assert!(err.is_no_rollout(), "{err:?}");
        }
    }

    let pid = codex.pid().expect("pid of the restarted app-server");
    tokio::time::timeout(WAIT, codex.shutdown())
        .await
        .expect("shutdown in time");
    assert!(
        !process_exists(pid),
        "app-server {pid} still alive after shutdown"
    );
    assert_eq!(codex.pid(), None);
    assert_eq!(codex.epoch(), None);
    let last = next_event(&mut events, "final Exited", |e| {
        matches!(e, SupervisorEvent::Exited { .. })
    })
    .await;
    assert!(
        matches!(&last, SupervisorEvent::Exited { epoch, .. } if *epoch == second),
        "{last:?}"
    );
    // The supervisor is gone, so the stream ends, with no restart in between.
    let rest = tokio::time::timeout(WAIT, async {
        let mut rest = Vec::new();
        while let Some(event) = events.recv().await {
            rest.push(event);
        }
        rest
    })
    .await
    .expect("event stream closes after shutdown");
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e, SupervisorEvent::Ready { .. })),
        "{rest:?}"
    );
    let err = codex
        .ready(Duration::from_millis(100))
        .await
        .expect_err("shut down");
    assert!(matches!(err, CodexError::NotRunning(_)), "{err:?}");
    let err = codex
        .request("thread/list", json!({}))
        .await
        .expect_err("shut down");
    assert!(matches!(err, CodexError::NotRunning(_)), "{err:?}");
}

#[tokio::test]
async fn missing_binary_is_reported_and_retried() {
    init_logs();
    let home = codex_home();
    let bin = home.path().join("no-such-codex");
    let (codex, mut events) = Codex::start(options(bin, home.path()));
    for expected in [Epoch(1), Epoch(2)] {
        match next_event(&mut events, "Exited", |_| true).await {
            SupervisorEvent::Exited { epoch, reason } => {
                assert_eq!(epoch, expected);
                assert!(reason.contains("no-such-codex"), "{reason}");
            }
            other => panic!("expected Exited, got {other:?}"),
        }
    }
    let err = codex
        .ready(Duration::from_millis(50))
        .await
        .expect_err("never ready");
    assert!(matches!(err, CodexError::Spawn(_)), "{err:?}");
    let err = codex
        .request("thread/list", json!({}))
        .await
        .expect_err("not running");
    assert!(
        matches!(&err, CodexError::NotRunning(why) if why.contains("no-such-codex")),
        "{err:?}"
    );
    tokio::time::timeout(WAIT, codex.shutdown())
        .await
        .expect("shutdown in time");
}
