//! The native hook relay end to end: the endpoint over real loopback HTTP, the real
//! `codex-webchat hook relay` binary as Codex would run it (payload on stdin, endpoint file from
//! the environment), and the real Codex app-server with the embedded demo model running the
//! installed, trusted hooks: a deny rule blocks a shell call, an allowed one runs, an unreachable
//! relay fails closed, and after a Codex and gateway restart the resumed thread is still guarded.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_webchat::codex::{
    Epoch, Inbound, Item, Notification, RpcErrorObj, ServerRequest, SupervisorEvent, TurnStatus,
};
use codex_webchat::hook::config::{
    hook_commands, learn_trust_hashes, thread_hook_config, verify_hooks_trusted,
};
use codex_webchat::hook::endpoint::{
    read_endpoint_file, start_endpoint, write_endpoint_file, EndpointFile, EndpointHandle, HookSink,
};
use codex_webchat::hook::policy::{Decision, DenyRuleSpec, ToolPolicy};
use codex_webchat::hook::registry::{
    new_generation, relay_id_for, Registration, RegistrationHandle, RelayError, RelayRegistry,
    Validated,
};
use codex_webchat::hook::{HookEvent, ENDPOINT_ENV};
use codex_webchat::ids::ThreadId;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EXE: &str = env!("CARGO_BIN_EXE_codex-webchat");
const WAIT: Duration = Duration::from_secs(90);
/// The relay command's own deadline (`--timeout`, ms) where the deadline is not what a test is
/// about: far longer than a busy machine needs to run it, so the outcome never depends on speed.
/// (What happens when the deadline does pass is tested with scripted time in `hook::client`.)
const DEADLINE_MS: u64 = 30_000;
/// Codex's timeout for one hook, in seconds, where it is not what a test is about: Codex starts
/// a shell and the relay command within it, which a busy machine may make slow.
const HOOK_TIMEOUT_SECS: u64 = 60;
const DENY_REASON: &str = "blocked by the test rule";

/// Records what the endpoint reports, and wakes waiters.
#[derive(Default)]
struct RecordingSink {
    calls: Mutex<Vec<(Validated, Decision)>>,
    rejections: Mutex<Vec<(String, HookEvent, RelayError)>>,
}

impl HookSink for RecordingSink {
    fn on_invocation(&self, call: &Validated, decision: &Decision) {
        self.calls
            .lock()
            .unwrap()
            .push((call.clone(), decision.clone()));
    }

    fn on_rejection(&self, relay_id: &str, event: HookEvent, error: &RelayError) {
        self.rejections
            .lock()
            .unwrap()
            .push((relay_id.to_owned(), event, error.clone()));
    }
}

impl RecordingSink {
    fn calls(&self) -> Vec<(Validated, Decision)> {
        self.calls.lock().unwrap().clone()
    }

    fn rejections(&self) -> Vec<(String, HookEvent, RelayError)> {
        self.rejections.lock().unwrap().clone()
    }
}

fn policy() -> ToolPolicy {
    ToolPolicy::from_specs(&[DenyRuleSpec {
        pattern: r"\bdenied-by-rule\b|\brm -rf\b".into(),
        reason: DENY_REASON.into(),
    }])
    .expect("valid rule")
}

fn registration(relay_id: &str, generation: &str) -> Registration {
    Registration {
        relay_id: relay_id.to_owned(),
        generation: generation.to_owned(),
        provider: "codex".to_owned(),
        session_key: "session-under-test".to_owned(),
        allowed_events: HookEvent::ALL.into_iter().collect(),
        ttl: Duration::from_secs(1800),
        legacy_grace: None,
    }
}

/// A running endpoint with its registry and sink, and the folder holding its endpoint file.
struct Relay {
    registry: RelayRegistry,
    sink: Arc<RecordingSink>,
    endpoint: EndpointHandle,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn start_relay() -> Relay {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("data/hook-relay.json");
    let registry = RelayRegistry::new();
    let sink = Arc::new(RecordingSink::default());
    let endpoint = start_endpoint(registry.clone(), policy(), sink.clone(), file.clone())
        .await
        .expect("endpoint starts");
    Relay {
        registry,
        sink,
        endpoint,
        file,
        _dir: dir,
    }
}

fn token(file: &Path) -> String {
    read_endpoint_file(file).expect("endpoint file").token
}

/// One raw HTTP/1.1 request to the endpoint; the status and the JSON body.
async fn post(addr: std::net::SocketAddr, auth: Option<&str>, body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = auth
        .map(|a| format!("authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /hook/v1/invoke HTTP/1.1\r\nhost: {addr}\r\n{auth}content-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn invoke_body(relay_id: &str, generation: &str, event: &str, payload: Value) -> String {
    json!({"provider": "codex", "relayId": relay_id, "generation": generation, "event": event,
           "payload": payload})
    .to_string()
}

fn shell_payload(command: &str) -> Value {
    json!({"hook_event_name": "PreToolUse", "session_id": "thread-1", "turn_id": "turn-1",
           "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "call_1"})
}

fn pre_tool_use_deny(reason: &str) -> Value {
    json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
           "permissionDecisionReason": reason}})
}

#[tokio::test]
async fn endpoint_is_loopback_and_refuses_a_bad_token_with_401() {
    let relay = start_relay().await;
    relay.registry.register(registration("r1", "g1")).unwrap();
    let addr = relay.endpoint.addr();
    assert!(addr.ip().is_loopback());
    let body = invoke_body("r1", "g1", "pre_tool_use", shell_payload("ls"));
    for auth in [
        None,
        Some("Bearer nope".to_owned()),
        Some(format!("Basic {}", token(&relay.file))),
        Some(format!("Bearer {}x", token(&relay.file))),
    ] {
        let (status, answer) = post(addr, auth.as_deref(), &body).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(answer, json!({"ok": false, "error": "unauthorized"}));
    }
    assert!(relay.sink.calls().is_empty());
    assert!(relay.registry.recent_invocations().is_empty());
    relay.endpoint.shutdown().await;
}

#[tokio::test]
async fn endpoint_maps_refusals_to_statuses() {
    let relay = start_relay().await;
    let addr = relay.endpoint.addr();
    let bearer = format!("Bearer {}", token(&relay.file));
    relay.registry.register(registration("r1", "g1")).unwrap();
    relay.registry.register(registration("r1", "g2")).unwrap();
    let cases = [
        (
            invoke_body("r9", "g2", "pre_tool_use", json!({})),
            404,
            "native hook relay not found",
        ),
        (
            invoke_body("r1", "g1", "pre_tool_use", json!({})),
            410,
            "native hook relay bridge stale registration",
        ),
        (
            json!({"provider": "other", "relayId": "r1", "generation": "g2",
                   "event": "stop", "payload": null})
            .to_string(),
            400,
            "native hook relay provider mismatch",
        ),
    ];
    for (body, want_status, want_error) in cases {
        let (status, answer) = post(addr, Some(&bearer), &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (want_status, Some(want_error))
        );
        assert_eq!(answer["ok"], false);
    }
    // A malformed request never reaches the registry.
    let (status, answer) = post(addr, Some(&bearer), r#"{"relayId": 5}"#).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid relay request")),
        "{answer}"
    );
    let bad_event = invoke_body("r1", "g2", "session_start", json!({}));
    assert_eq!(post(addr, Some(&bearer), &bad_event).await.0, 400);
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let deep_body = format!(
        r#"{{"provider":"codex","relayId":"r1","generation":"g2","event":"stop","payload":{deep}}}"#
    );
    let (status, answer) = post(addr, Some(&bearer), &deep_body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (
            400,
            Some("native hook relay payload must be JSON-compatible")
        )
    );
    let rejected: Vec<RelayError> = relay.sink.rejections().into_iter().map(|r| r.2).collect();
    assert_eq!(
        rejected,
        [
            RelayError::NotFound,
            RelayError::StaleGeneration,
            RelayError::ProviderMismatch,
            RelayError::PayloadNotJson
        ]
    );
    relay.endpoint.shutdown().await;
}

#[tokio::test]
async fn endpoint_applies_the_policy_and_reports_to_the_sink() {
    let relay = start_relay().await;
    let addr = relay.endpoint.addr();
    let bearer = format!("Bearer {}", token(&relay.file));
    relay.registry.register(registration("r1", "g1")).unwrap();

    let body = invoke_body("r1", "g1", "pre_tool_use", shell_payload("rm -rf /tmp/x"));
    let (status, answer) = post(addr, Some(&bearer), &body).await;
    assert_eq!((status, &answer["ok"]), (200, &json!(true)));
    let result = &answer["result"];
    assert_eq!(
        (&result["stderr"], &result["exitCode"]),
        (&json!(""), &json!(0))
    );
    let stdout: Value = serde_json::from_str(result["stdout"].as_str().unwrap()).unwrap();
    assert_eq!(stdout, pre_tool_use_deny(DENY_REASON));

    let body = invoke_body("r1", "g1", "pre_tool_use", shell_payload("echo hi"));
    let (status, answer) = post(addr, Some(&bearer), &body).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["result"],
        json!({"stdout": "", "stderr": "", "exitCode": 0})
    );

    // PermissionRequest without a matching rule: no decision, Codex's own path decides.
    let body = invoke_body("r1", "g1", "permission_request", shell_payload("touch x"));
    assert_eq!(
        post(addr, Some(&bearer), &body).await.1["result"]["stdout"],
        ""
    );

    let calls = relay.sink.calls();
    let decisions: Vec<&Decision> = calls.iter().map(|(_, d)| d).collect();
    assert_eq!(
        decisions,
        [
            &Decision::Deny {
                reason: DENY_REASON.into()
            },
            &Decision::Allow,
            &Decision::NoOp
        ]
    );
    let (first, _) = &calls[0];
    assert_eq!(first.session_key, "session-under-test");
    assert_eq!(first.payload["tool_use_id"], "call_1");
    assert_eq!(relay.registry.recent_invocations().len(), 3);
    relay.endpoint.shutdown().await;
}

#[tokio::test]
async fn endpoint_file_is_private_and_removed_on_shutdown() {
    use std::os::unix::fs::PermissionsExt;
    let relay = start_relay().await;
    let record = read_endpoint_file(&relay.file).expect("readable");
    assert_eq!(record.version, 1);
    assert_eq!(record.pid, std::process::id());
    assert_eq!(record.addr, relay.endpoint.addr());
    assert_eq!(record.token.len(), 64);
    let mode = std::fs::metadata(&relay.file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let file = relay.file.clone();
    relay.endpoint.shutdown().await;
    assert!(!file.exists());
}

/// The relay command's arguments.
fn relay_args(relay_id: &str, generation: &str, event: &str, timeout_ms: u64) -> Vec<String> {
    [
        "hook",
        "relay",
        "--relay-id",
        relay_id,
        "--generation",
        generation,
        "--event",
        event,
        "--timeout",
        &timeout_ms.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

struct CliRun {
    stdout: String,
    stderr: String,
    code: i32,
    took: Duration,
}

/// Runs the real binary as Codex would: payload on stdin, endpoint file in the environment.
async fn run_cli(endpoint_file: Option<&Path>, args: &[String], stdin: &[u8]) -> CliRun {
    let (child, started) = spawn_cli(endpoint_file, args, stdin).await;
    finish_cli(child, started).await
}

/// Starts the relay command with its payload written and stdin closed.
async fn spawn_cli(
    endpoint_file: Option<&Path>,
    args: &[String],
    stdin: &[u8],
) -> (tokio::process::Child, Instant) {
    let mut command = tokio::process::Command::new(EXE);
    command
        .args(args)
        .env_remove(ENDPOINT_ENV)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(file) = endpoint_file {
        command.env(ENDPOINT_ENV, file);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn the relay command");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).await.expect("write stdin");
    drop(input);
    (child, started)
}

/// Waits for the relay command to end and collects what it printed.
async fn finish_cli(child: tokio::process::Child, started: Instant) -> CliRun {
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("the relay command ends in time")
        .expect("relay command output");
    CliRun {
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        code: output.status.code().expect("exit code"),
        took: started.elapsed(),
    }
}

fn stdout_json(run: &CliRun) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout {:?} is not JSON: {e}", run.stdout))
}

#[tokio::test]
async fn relay_command_renders_the_endpoint_decision() {
    let relay = start_relay().await;
    relay.registry.register(registration("r1", "g1")).unwrap();
    let denied = shell_payload("rm -rf /tmp/x").to_string();
    let run = run_cli(
        Some(&relay.file),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        denied.as_bytes(),
    )
    .await;
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(stdout_json(&run), pre_tool_use_deny(DENY_REASON));

    let allowed = shell_payload("echo hi").to_string();
    let run = run_cli(
        Some(&relay.file),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        allowed.as_bytes(),
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );

    // Empty stdin is a `null` payload, fine for Stop.
    let run = run_cli(
        Some(&relay.file),
        &relay_args("r1", "g1", "stop", DEADLINE_MS),
        b"",
    )
    .await;
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));

    let calls = relay.sink.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].0.payload["tool_input"]["command"], "rm -rf /tmp/x");
    assert_eq!(calls[2].0.event, HookEvent::Stop);
    assert_eq!(calls[2].0.payload, Value::Null);
    relay.endpoint.shutdown().await;
}

#[tokio::test]
async fn relay_command_fails_closed_when_the_gateway_is_down() {
    // An endpoint file that points at a closed port: the server is gone. The deadline is long,
    // so what ends the retries is the retry window, never the deadline, however long the
    // process takes to start: the answer is "unavailable", with the refusal as the cause.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hook-relay.json");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let record = EndpointFile {
        version: 1,
        pid: 1,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        token: "c".repeat(64),
    };
    write_endpoint_file(&file, &record).unwrap();
    let payload = shell_payload("echo hi").to_string();
    let payload = payload.as_bytes();

    let run = run_cli(
        Some(&file),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        payload,
    )
    .await;
    assert_eq!(run.code, 0);
    assert_eq!(
        stdout_json(&run),
        pre_tool_use_deny("Native hook relay unavailable")
    );
    assert!(
        run.stderr
            .starts_with("native hook relay unavailable: connection to 127.0.0.1:"),
        "{}",
        run.stderr
    );
    // It gave up after the short retry window, not at its deadline. (A deadline shorter than
    // the window, and one that passes mid-retry, are tested with scripted time in
    // `hook::client`.)
    assert!(
        run.took < Duration::from_millis(DEADLINE_MS),
        "{:?}",
        run.took
    );

    let mut noop = relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS);
    noop.extend(["--pre-tool-use-unavailable".to_owned(), "noop".to_owned()]);
    let run = run_cli(Some(&file), &noop, payload).await;
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    assert!(run.stderr.starts_with("native hook relay unavailable: "));

    let run = run_cli(
        Some(&file),
        &relay_args("r1", "g1", "permission_request", DEADLINE_MS),
        payload,
    )
    .await;
    assert_eq!(
        stdout_json(&run),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
               "decision": {"behavior": "deny", "message": "Native hook relay unavailable"}}})
    );
    for event in ["post_tool_use", "stop"] {
        let run = run_cli(
            Some(&file),
            &relay_args("r1", "g1", event, DEADLINE_MS),
            payload,
        )
        .await;
        assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{event}");
    }

    // No endpoint file at all, and no variable at all: the same fallback.
    let missing = dir.path().join("none.json");
    let run = run_cli(
        Some(&missing),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        payload,
    )
    .await;
    assert_eq!(
        stdout_json(&run),
        pre_tool_use_deny("Native hook relay unavailable")
    );
    assert!(run.stderr.contains("is missing"), "{}", run.stderr);
    let run = run_cli(
        None,
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        payload,
    )
    .await;
    assert_eq!(
        stdout_json(&run),
        pre_tool_use_deny("Native hook relay unavailable")
    );
    assert!(run
        .stderr
        .contains("CODEX_WEBCHAT_HOOK_ENDPOINT is not set"));

    // A garbled file is final. (That it is not retried is tested with scripted time in
    // `hook::client`: a wall-clock bound here would also time the process start.)
    std::fs::write(&file, "{garbage").unwrap();
    let run = run_cli(
        Some(&file),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        payload,
    )
    .await;
    assert_eq!(
        stdout_json(&run),
        pre_tool_use_deny("Native hook relay unavailable")
    );
    assert!(
        run.stderr.contains("not an endpoint record"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn relay_command_treats_a_stale_registration_as_final() {
    let relay = start_relay().await;
    relay
        .registry
        .register(registration("r1", "g-old"))
        .unwrap();
    relay
        .registry
        .register(registration("r1", "g-new"))
        .unwrap();
    let payload = shell_payload("echo hi").to_string();
    let run = run_cli(
        Some(&relay.file),
        &relay_args("r1", "g-old", "pre_tool_use", DEADLINE_MS),
        payload.as_bytes(),
    )
    .await;
    assert_eq!(
        stdout_json(&run),
        pre_tool_use_deny("Native hook relay unavailable")
    );
    assert_eq!(
        run.stderr,
        "native hook relay unavailable: the relay refused the call (HTTP 410): \
         native hook relay bridge stale registration\n"
    );
    // Exactly one call reached the endpoint: no retry, no second path.
    assert_eq!(relay.sink.rejections().len(), 1);
    assert!(relay.sink.calls().is_empty());
    // The current generation works.
    let run = run_cli(
        Some(&relay.file),
        &relay_args("r1", "g-new", "pre_tool_use", DEADLINE_MS),
        payload.as_bytes(),
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    relay.endpoint.shutdown().await;
}

#[tokio::test]
async fn relay_command_finds_the_endpoint_again_after_a_restart() {
    let first = start_relay().await;
    let file = first.file.clone();
    let before = read_endpoint_file(&file).unwrap();
    let payload = shell_payload("echo hi").to_string();

    // "Restart": the old endpoint goes away, a new one (new port, new token, new registry holding
    // the persisted generation) writes the same file.
    let Relay {
        endpoint,
        _dir: dir,
        ..
    } = first;
    endpoint.shutdown().await;
    let registry = RelayRegistry::new();
    registry.register(registration("r1", "g1")).unwrap();
    let sink = Arc::new(RecordingSink::default());
    let second = start_endpoint(registry.clone(), policy(), sink.clone(), file.clone())
        .await
        .unwrap();
    let after = read_endpoint_file(&file).unwrap();
    assert_ne!(after.token, before.token);
    assert_ne!(after.addr, before.addr);
    let run = run_cli(
        Some(&file),
        &relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS),
        payload.as_bytes(),
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(sink.calls().len(), 1);

    // A hook started while the server is down waits (briefly) and finds the next one.
    second.shutdown().await;
    assert!(!file.exists());
    let args = relay_args("r1", "g1", "pre_tool_use", DEADLINE_MS);
    let (child, started) = spawn_cli(Some(&file), &args, payload.as_bytes()).await;
    // The endpoint comes back only once the command found none and pauses before its next try,
    // so the retry is what finds it, however slowly the command started.
    pausing_between_retries(child.id().expect("the command runs")).await;
    let third = start_endpoint(registry.clone(), policy(), sink.clone(), file.clone())
        .await
        .unwrap();
    let run = finish_cli(child, started).await;
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(sink.calls().len(), 2);
    third.shutdown().await;
    drop(dir);
}

/// Waits until process `pid` sleeps (`/proc/<pid>/syscall` names nanosleep): the relay command
/// sleeps only between retries, once it found no endpoint.
async fn pausing_between_retries(pid: u32) {
    let sleeping = [libc::SYS_nanosleep, libc::SYS_clock_nanosleep].map(|n| n.to_string());
    let path = format!("/proc/{pid}/syscall");
    tokio::time::timeout(WAIT, async {
        loop {
            let now = std::fs::read_to_string(&path).unwrap_or_default();
            let number = now.split(' ').next().unwrap_or_default();
            if sleeping.iter().any(|n| n == number) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the relay command never paused to retry");
}

#[test]
fn relay_command_help_and_bad_values() {
    let help = std::process::Command::new(EXE)
        .args(["hook", "relay", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--relay-id",
        "--generation",
        "--event",
        "--timeout",
        "--pre-tool-use-unavailable",
        "--provider",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
    for bad in [
        &["--event", "session_start", "--timeout", "100"][..],
        &["--event", "stop", "--timeout", "0"],
        &["--event", "stop", "--timeout", "soon"],
        &[
            "--event",
            "stop",
            "--timeout",
            "100",
            "--pre-tool-use-unavailable",
            "allow",
        ],
    ] {
        let out = std::process::Command::new(EXE)
            .args(["hook", "relay", "--relay-id", "r", "--generation", "g"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Against the real Codex binary.

/// Codex on the demo model, with the relay's endpoint file in its environment.
use common::RealCodex as Harness;

impl Harness {
    async fn start(endpoint_file: &Path) -> Harness {
        let env = vec![(ENDPOINT_ENV.to_owned(), endpoint_file.display().to_string())];
        Harness::launch("hook-relay-", env).await
    }

    /// Kills the app-server and waits for the supervisor's next process.
    async fn crash_codex(&mut self) {
        let pid = self.codex.pid().expect("pid");
        let pid = libc::pid_t::try_from(pid).expect("pid fits");
        // SAFETY: plain kill(2) of our own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let mut exited = false;
        let found = tokio::time::timeout(WAIT, async {
            while let Some(event) = self.events.recv().await {
                match event {
                    SupervisorEvent::Exited { .. } => exited = true,
                    SupervisorEvent::Ready { .. } if exited => return true,
                    _ => {}
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "codex did not come back");
    }

    /// The params of the next notification named `method`, skipping everything else.
    async fn next_notification(&mut self, method: &str) -> Value {
        let found = tokio::time::timeout(WAIT, async {
            while let Some(event) = self.events.recv().await {
                if let SupervisorEvent::Inbound {
                    msg: Inbound::Notification(Notification::Other { method: m, params }),
                    ..
                } = event
                {
                    if m == method {
                        return Some(params);
                    }
                }
            }
            None
        })
        .await;
        found
            .unwrap_or_else(|_| panic!("no {method} in time"))
            .expect("event stream open")
    }

    /// Runs one turn to its end, answering the `message` tool, and returns what it notified.
    async fn turn(&mut self, thread_id: &ThreadId, text: &str) -> Turn {
        let turn_id = self
            .codex
            .turn_start(thread_id, text, None)
            .await
            .expect("turn/start");
        let mut notifications = Vec::new();
        let ended = tokio::time::timeout(WAIT, async {
            while let Some(event) = self.events.recv().await {
                match event {
                    SupervisorEvent::Inbound {
                        epoch,
                        msg: Inbound::Request { id, request },
                    } => self.answer(epoch, id, request).await,
                    SupervisorEvent::Inbound {
                        msg: Inbound::Notification(n),
                        ..
                    } => {
                        if let Notification::TurnCompleted {
                            turn_id: done,
                            status,
                            ..
                        } = &n
                        {
                            if *done == turn_id {
                                return Some(status.clone());
                            }
                        }
                        notifications.push(n);
                    }
                    SupervisorEvent::Exited { reason, .. } => panic!("codex exited: {reason}"),
                    SupervisorEvent::Ready { .. } => {}
                }
            }
            None
        })
        .await;
        let status = ended
            .expect("turn ends in time")
            .expect("event stream open");
        Turn {
            status,
            notifications,
        }
    }

    async fn answer(
        &self,
        epoch: Epoch,
        id: codex_webchat::codex::RequestId,
        request: ServerRequest,
    ) {
        let answer = match request {
            ServerRequest::ToolCall { .. } => Ok(json!({
                "contentItems": [{"type": "inputText", "text": "delivered"}],
                "success": true
            })),
            other => Err(RpcErrorObj::new(
                -32601,
                format!("not supported: {}", other.method()),
            )),
        };
        self.codex
            .respond(epoch, id, answer)
            .await
            .expect("respond");
    }
}

struct Turn {
    status: TurnStatus,
    notifications: Vec<Notification>,
}

impl Turn {
    /// Every command execution item that started, with its completed output if any.
    fn commands(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for n in &self.notifications {
            if let Notification::ItemStarted {
                item: Item::CommandExecution { id, .. },
                ..
            } = n
            {
                let output = self.notifications.iter().find_map(|m| match m {
                    Notification::ItemCompleted {
                        item:
                            Item::CommandExecution {
                                id: done,
                                aggregated_output,
                                ..
                            },
                        ..
                    } if done == id => aggregated_output.clone(),
                    _ => None,
                });
                out.push((id.clone(), output));
            }
        }
        out
    }

    /// The completed hook runs for `event` (camel case, as Codex reports it).
    fn hook_runs(&self, event: &str) -> Vec<&Value> {
        self.notifications
            .iter()
            .filter_map(|n| match n {
                Notification::HookCompleted { run, .. } if run["eventName"] == event => Some(run),
                _ => None,
            })
            .collect()
    }

    fn blocked_pre_tool_use(&self) -> Vec<&Value> {
        let runs = self.hook_runs("preToolUse");
        runs.into_iter()
            .filter(|r| r["status"] == "blocked")
            .collect()
    }

    fn feedback(run: &Value) -> String {
        run["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["text"].as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn thread_params(work: &Path, config: &Value) -> Value {
    json!({
        "cwd": work,
        "approvalPolicy": "never",
        "sandbox": "danger-full-access",
        "dynamicTools": [common::message_tool()],
        "config": config,
    })
}

/// The whole story against the real binary: trust learned from Codex, every gateway hook shown
/// `trusted`, the hooks really running (a deny rule blocks `/shell`, an allowed `/shell` runs, an
/// unregistered relay fails closed), and after SIGKILL of Codex plus a gateway "restart" (new
/// endpoint port and token, empty registry re-registered with the persisted generation) the
/// resumed thread carries the same hooks, trusted, and the first shell call passes the relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_runs_the_trusted_relay_hooks_and_keeps_them_across_a_restart() {
    let relay = start_relay().await;
    let mut h = Harness::start(&relay.file).await;
    let work = h.work();

    let relay_id = relay_id_for("session:real-codex");
    let generation = new_generation();
    let handle = relay
        .registry
        .register(registration(&relay_id, &generation))
        .unwrap();
    let commands = hook_commands(
        Path::new(EXE),
        &relay_id,
        &generation,
        &HookEvent::ALL,
        HOOK_TIMEOUT_SECS,
        false,
    )
    .unwrap();
    let untrusted = thread_hook_config(&commands, HOOK_TIMEOUT_SECS, &HashMap::new());

    // Trust, learned from Codex.
    let hashes = learn_trust_hashes(&h.codex, &work, &untrusted)
        .await
        .expect("trust hashes");
    let mut keys: Vec<&str> = hashes.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "/<session-flags>/config.toml:permission_request:0:0",
            "/<session-flags>/config.toml:post_tool_use:0:0",
            "/<session-flags>/config.toml:pre_tool_use:0:0",
            "/<session-flags>/config.toml:stop:0:0",
        ]
    );
    assert!(hashes
        .values()
        .all(|h| h.starts_with("sha256:") && h.len() > 20));
    // The throwaway thread does not linger: Codex closes it.
    let closed = h.next_notification("thread/closed").await;
    let loaded = h
        .codex
        .request("thread/loaded/list", json!({}))
        .await
        .unwrap();
    assert!(
        !loaded["data"]
            .as_array()
            .unwrap()
            .contains(&closed["threadId"]),
        "{loaded} {closed}"
    );

    // Without trust, Codex lists the hooks untrusted (and would skip them); the check says so.
    let bare = h
        .codex
        .thread_start(json!({"cwd": work, "ephemeral": true, "config": untrusted}))
        .await
        .unwrap();
    let listed = h.codex.hooks_list(&bare.thread_id).await.unwrap();
    let err = verify_hooks_trusted(&listed, &commands).unwrap_err();
    assert!(err.to_string().contains("PreToolUse is untrusted"), "{err}");

    // With trust, every gateway hook is trusted.
    let config = thread_hook_config(&commands, HOOK_TIMEOUT_SECS, &hashes);
    let thread = h
        .codex
        .thread_start(thread_params(&work, &config))
        .await
        .expect("thread/start");
    let listed = h.codex.hooks_list(&thread.thread_id).await.unwrap();
    verify_hooks_trusted(&listed, &commands).expect("trusted after thread/start");

    // A deny rule blocks the shell call before it runs. (PreToolUse also fires for the `message`
    // tool the model calls afterwards: the hooks have no matcher, so no tool escapes them.)
    let turn = h
        .turn(&thread.thread_id, "/shell echo denied-by-rule")
        .await;
    assert_eq!(turn.status, TurnStatus::Completed);
    assert!(
        turn.commands().is_empty(),
        "the command ran: {:?}",
        turn.commands()
    );
    let blocked = turn.blocked_pre_tool_use();
    assert_eq!(blocked.len(), 1, "{:?}", turn.notifications);
    assert!(
        Turn::feedback(blocked[0]).contains(DENY_REASON),
        "{}",
        blocked[0]
    );
    let calls = relay.sink.calls();
    let (first, decision) = calls.first().expect("the relay saw the call");
    assert_eq!(
        (first.event, decision),
        (
            HookEvent::PreToolUse,
            &Decision::Deny {
                reason: DENY_REASON.into()
            }
        )
    );
    assert_eq!(first.session_key, "session-under-test");
    assert_eq!(first.payload["session_id"], json!(thread.thread_id));
    assert_eq!(
        first.payload["tool_input"]["command"],
        "echo denied-by-rule"
    );
    eprintln!(
        "observed PreToolUse payload of a shell call: {}",
        first.payload
    );
    assert!(
        calls.iter().any(|(v, _)| v.event == HookEvent::Stop),
        "the Stop hook ran too"
    );

    // An allowed shell call runs, and PreToolUse and PostToolUse both went through the relay.
    let turn = h.turn(&thread.thread_id, "/shell echo hook-relay-ok").await;
    let ran = turn.commands();
    assert_eq!(ran.len(), 1, "{:?}", turn.notifications);
    assert!(
        ran[0]
            .1
            .as_deref()
            .is_some_and(|o| o.contains("hook-relay-ok")),
        "{ran:?}"
    );
    for event in ["preToolUse", "postToolUse"] {
        let runs = turn.hook_runs(event);
        assert!(!runs.is_empty(), "no {event} hook ran");
        assert!(runs.iter().all(|r| r["status"] == "completed"), "{runs:?}");
        let took: Vec<&Value> = runs.iter().map(|r| &r["durationMs"]).collect();
        eprintln!("observed {event} hook durations (ms, login shell + relay): {took:?}");
    }
    let shell_calls = |command: &str| -> Vec<(HookEvent, Decision)> {
        relay
            .sink
            .calls()
            .into_iter()
            .filter(|(v, _)| v.payload["tool_input"]["command"] == command)
            .map(|(v, d)| (v.event, d))
            .collect()
    };
    assert_eq!(
        shell_calls("echo hook-relay-ok"),
        [
            (HookEvent::PreToolUse, Decision::Allow),
            (HookEvent::PostToolUse, Decision::NoOp)
        ]
    );

    // With no registration the relay cannot decide: the command fails closed and Codex blocks.
    relay.registry.unregister(&handle);
    let turn = h
        .turn(&thread.thread_id, "/shell echo while-unregistered")
        .await;
    assert!(
        turn.commands().is_empty(),
        "ran unguarded: {:?}",
        turn.commands()
    );
    let blocked = turn.blocked_pre_tool_use();
    assert!(!blocked.is_empty(), "{:?}", turn.notifications);
    assert!(
        Turn::feedback(blocked[0]).contains("Native hook relay unavailable"),
        "{}",
        blocked[0]
    );
    assert!(relay
        .sink
        .rejections()
        .iter()
        .any(|(id, e, err)| *id == relay_id
            && *e == HookEvent::PreToolUse
            && *err == RelayError::NotFound));

    // Restart everything: Codex is killed, the gateway's endpoint and registry start over.
    h.crash_codex().await;
    let Relay {
        endpoint,
        file,
        _dir: dir,
        ..
    } = relay;
    endpoint.shutdown().await;
    let registry = RelayRegistry::new();
    let sink = Arc::new(RecordingSink::default());
    let endpoint = start_endpoint(registry.clone(), policy(), sink.clone(), file.clone())
        .await
        .unwrap();
    let _handle: RegistrationHandle = registry
        .register(registration(&relay_id, &generation))
        .unwrap();
    let resumed = h
        .codex
        .thread_resume(json!({"threadId": thread.thread_id, "excludeTurns": true,
                              "config": config}))
        .await
        .expect("thread/resume after the restart");
    let listed = h.codex.hooks_list(&resumed.thread_id).await.unwrap();
    verify_hooks_trusted(&listed, &commands).expect("trusted after thread/resume");

    // The first shell call after the restart passes the relay.
    let turn = h
        .turn(&resumed.thread_id, "/shell echo after-restart")
        .await;
    assert!(
        turn.blocked_pre_tool_use().is_empty(),
        "{:?}",
        turn.notifications
    );
    let ran = turn.commands();
    assert!(
        ran.first()
            .and_then(|r| r.1.as_deref())
            .is_some_and(|o| o.contains("after-restart")),
        "{:?}",
        turn.notifications
    );
    let recent = registry.recent_invocations();
    assert!(
        recent
            .iter()
            .any(|r| r.event == HookEvent::PreToolUse && r.generation == generation),
        "{recent:?}"
    );
    assert!(sink
        .calls()
        .iter()
        .any(|(v, d)| v.event == HookEvent::PreToolUse && *d == Decision::Allow));

    endpoint.shutdown().await;
    h.stop().await;
    drop(dir);
}

/// What Codex 0.169.0 does with the output forms a hook may print, pinned here because the
/// renderer depends on it: the JSON deny and exit 2 both block; `permissionDecision: "allow"` is
/// rejected as unsupported and counts as a failed hook (which fails open), which is why "allow"
/// is rendered as empty output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_honours_the_output_forms_the_relay_renders() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::start(&dir.path().join("unused.json")).await;
    let work = h.work();
    let deny = pre_tool_use_deny("json deny works").to_string();
    let allow = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                       "permissionDecision": "allow"}})
    .to_string();
    let cases = [
        (
            format!("printf '%s' '{deny}'"),
            "blocked",
            false,
            "json deny works",
        ),
        (
            "echo exit two works >&2; exit 2".to_owned(),
            "blocked",
            false,
            "exit two works",
        ),
        (
            format!("printf '%s' '{allow}'"),
            "failed",
            true,
            "unsupported permissionDecision:allow",
        ),
        ("true".to_owned(), "completed", true, ""),
    ];
    for (command, status, runs, feedback) in cases {
        let commands = vec![(HookEvent::PreToolUse, command.clone())];
        let untrusted = thread_hook_config(&commands, HOOK_TIMEOUT_SECS, &HashMap::new());
        let hashes = learn_trust_hashes(&h.codex, &work, &untrusted)
            .await
            .unwrap();
        let config = thread_hook_config(&commands, HOOK_TIMEOUT_SECS, &hashes);
        let thread = h
            .codex
            .thread_start(thread_params(&work, &config))
            .await
            .unwrap();
        let turn = h.turn(&thread.thread_id, "/shell echo probe").await;
        // The first PreToolUse of the turn is the shell call's.
        let pre = turn.hook_runs("preToolUse");
        let first = pre
            .first()
            .unwrap_or_else(|| panic!("{command}: no hook ran"));
        assert_eq!(first["status"], status, "{command}: {first}");
        assert!(
            Turn::feedback(first).contains(feedback),
            "{command}: {first}"
        );
        assert_eq!(!turn.commands().is_empty(), runs, "{command}");
    }
    h.stop().await;
}
