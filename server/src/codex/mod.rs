//! The Codex app-server adapter. It owns one `codex app-server` child process at a time (spawned
//! from the native binary, never the npm wrapper), its stdio JSON-RPC connection, and a supervisor
//! that restarts the process when it dies. It turns the wire protocol into typed events
//! ([`SupervisorEvent`]) and offers typed calls for the few methods the gateway uses.
//!
//! It must not know about chats, sessions, runs or the store: it never decides how to answer a
//! server request, never retries a failed thread operation beyond `-32001 overloaded`, and never
//! writes Codex configuration. Those are the gateway's. Every message it hands out carries the
//! [`Epoch`] of the process that sent it, because server request ids mean nothing across a restart.
//!
//! Layers: `rpc` (framing and dispatch over any byte streams), `protocol` (wire and typed
//! message types), `process` (launch, handshake, supervision). How an app-server is launched is
//! a seam ([`Launch`]): a child process in production, or a task on our own runtime speaking over
//! an in-memory pipe, which the supervisor runs, restarts and stops the same way. The latter lets
//! tests drive an app-server on tokio's paused clock, where a real process would let the clock
//! jump while it merely took its time.

pub mod models;
mod process;
mod protocol;
// Public only so the fuzz targets (fuzz/) can drive the line decoder; nothing else uses it.
pub mod rpc;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::ids::{ThreadId, TurnId};
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use process::{Live, Running, Supervisor};
pub use protocol::{
    rate_limits, Epoch, FileChange, Inbound, Item, McpToolCall, Notification, RequestId,
    RpcErrorObj, ServerRequest, TokenUsage, TurnStatus,
};

/// JSON-RPC code for "Server overloaded; retry later".
pub const OVERLOADED: i64 = -32001;
const OVERLOAD_ATTEMPTS: u32 = 4;
const OVERLOAD_FIRST_DELAY: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct CodexOptions {
    /// How each app-server is launched. `bin`, `codex_home`, `cwd` and `extra_env` are read by
    /// [`Launch::Process`] only.
    pub launch: Launch,
    /// The native `codex` binary.
    pub bin: PathBuf,
    /// Passed as `CODEX_HOME`. Not under /tmp: Codex refuses to set up helpers there.
    pub codex_home: PathBuf,
    /// Working directory of the app-server process.
    pub cwd: PathBuf,
    /// Added to the (otherwise cleared) environment; hooks inherit it. Proxy variables are dropped.
    pub extra_env: Vec<(String, String)>,
    /// Per request, including `initialize`.
    pub request_timeout: Duration,
    /// `clientInfo.name`; Codex records it as the thread's `originator`.
    pub client_name: String,
}

impl CodexOptions {
    /// Options with a 30 s request timeout, client name `codex_webchat` and no extra environment.
    pub fn new(bin: PathBuf, codex_home: PathBuf, cwd: PathBuf) -> Self {
        Self {
            launch: Launch::Process,
            bin,
            codex_home,
            cwd,
            extra_env: Vec::new(),
            request_timeout: Duration::from_secs(30),
            client_name: "codex_webchat".into(),
        }
    }
}

/// How the supervisor gets an app-server, at start and at every restart.
#[derive(Clone)]
pub enum Launch {
    /// `bin app-server` as a child process in its own process group, over its stdio (production).
    Process,
    /// An app-server that runs as a task on the supervisor's runtime. For each epoch the function
    /// gets its end of a fresh in-memory pipe (it reads our requests from it and writes its lines
    /// to it) and returns the app-server to run. Closing our end stands for closing its stdin;
    /// killing it aborts the task, which drops its end (the process's pipes closing with it).
    InProcess(InProcessServer),
}

/// See [`Launch::InProcess`].
pub type InProcessServer = Arc<dyn Fn(DuplexStream) -> BoxFuture<'static, ()> + Send + Sync>;

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Launch::Process => "Process",
            Launch::InProcess(_) => "InProcess",
        })
    }
}

/// What the supervisor reports, in order per epoch: `Ready`, then `Inbound`s, then `Exited`.
#[derive(Clone, Debug, PartialEq)]
pub enum SupervisorEvent {
    Ready {
        epoch: Epoch,
    },
    Inbound {
        epoch: Epoch,
        msg: Inbound,
    },
    /// Also sent when the process never got as far as `Ready` (spawn or handshake failure), and on
    /// shutdown. A restart follows unless we are shutting down.
    Exited {
        epoch: Epoch,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodexError {
    #[error("codex app-server is not running: {0}")]
    NotRunning(String),
    #[error("codex request `{method}` timed out")]
    Timeout { method: String },
    #[error("codex error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("unexpected codex response: {0}")]
    Protocol(String),
    #[error("could not start codex app-server: {0}")]
    Spawn(String),
}

impl CodexError {
    fn rpc_message_contains(&self, needle: &str) -> bool {
        matches!(self, CodexError::Rpc { message, .. } if message.contains(needle))
    }

    /// `turn/start` (and others) on a thread this process has not loaded: resume it first.
    pub fn is_thread_not_found(&self) -> bool {
        self.rpc_message_contains("thread not found")
    }

    /// `turn/interrupt` that found no running turn: the turn has ended, or (right after its
    /// `turn/start` was answered) Codex has not set it running yet.
    pub fn is_no_active_turn(&self) -> bool {
        self.rpc_message_contains("no active turn")
    }

    /// `thread/resume` of a thread with no rollout file (never ran a turn, ephemeral, or unknown).
    pub fn is_no_rollout(&self) -> bool {
        self.rpc_message_contains("no rollout found")
    }

    /// `thread/resume` of a thread another live process still owns.
    pub fn is_active_writer(&self) -> bool {
        self.rpc_message_contains("active writer")
    }
}

/// A `thread/start` or `thread/resume` result.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadInfo {
    pub thread_id: ThreadId,
    /// The whole result (`thread`, `model`, `approvalPolicy`, `sandbox`, ...).
    pub raw: Value,
}

/// Cheap-clone handle to the supervisor. Dropping every handle stops the process as `shutdown`
/// would, but without waiting for it.
#[derive(Clone)]
pub struct Codex {
    inner: Arc<Inner>,
}

struct Inner {
    request_timeout: Duration,
    live: watch::Receiver<Option<Live>>,
    /// The current app-server, from launch until it ended (also before it is initialized).
    running: Arc<Mutex<Option<Running>>>,
    last_error: Arc<Mutex<Option<CodexError>>>,
    shutdown: watch::Sender<bool>,
    /// Taken (and awaited) by the first `shutdown`; later callers wait on the lock.
    supervisor: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Codex {
    /// Launches the app-server in the background (a process: own process group, piped stdio,
    /// stderr lines to tracing debug; see [`Launch`]), does `initialize` + `initialized`, then
    /// emits `Ready`. When it exits it emits `Exited`, fails all pending requests with
    /// `NotRunning`, and restarts it with backoff (250 ms doubling to 5 s) until shutdown. Must be
    /// called inside a Tokio runtime.
    pub fn start(opts: CodexOptions) -> (Codex, mpsc::UnboundedReceiver<SupervisorEvent>) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (live_tx, live_rx) = watch::channel(None);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let running = Arc::new(Mutex::new(None));
        let last_error = Arc::new(Mutex::new(None));
        let request_timeout = opts.request_timeout;
        let supervisor = Supervisor {
            opts,
            events,
            live: live_tx,
            running: running.clone(),
            last_error: last_error.clone(),
            shutdown: shutdown_rx,
        };
        let task = tokio::spawn(supervisor.run());
        let inner = Inner {
            request_timeout,
            live: live_rx,
            running,
            last_error,
            shutdown: shutdown_tx,
            supervisor: tokio::sync::Mutex::new(Some(task)),
        };
        (
            Codex {
                inner: Arc::new(inner),
            },
            events_rx,
        )
    }

    /// Waits for an initialized process and returns its epoch. On timeout, reports why the last
    /// process ended if one did (so a missing binary reads as `Spawn`), else `Timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<Epoch, CodexError> {
        if *self.inner.shutdown.borrow() {
            return Err(CodexError::NotRunning("shut down".into()));
        }
        let mut live = self.inner.live.clone();
        let waited = tokio::time::timeout(timeout, async {
            let current = live.wait_for(Option::is_some).await;
            current.map(|l| l.as_ref().map(|l| l.epoch))
        })
        .await;
        match waited {
            Ok(Ok(Some(epoch))) => Ok(epoch),
            Ok(_) => Err(CodexError::NotRunning("supervisor stopped".into())),
            Err(_) => Err(self.last_error().unwrap_or(CodexError::Timeout {
                method: "initialize".into(),
            })),
        }
    }

    /// Sends a request to the current process and waits for the result, at most
    /// `request_timeout` per attempt. `-32001 overloaded` is retried a few times with backoff.
    /// Fails at once with `NotRunning` (saying why) when no initialized process is up; see
    /// [`Codex::ready`].
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, CodexError> {
        let mut delay = OVERLOAD_FIRST_DELAY;
        let mut attempt = 1;
        loop {
            let live = self.live()?;
            let result = live
                .rpc
                .request(method, params.clone(), self.inner.request_timeout)
                .await;
            match result {
                Err(CodexError::Rpc { code, .. })
                    if code == OVERLOADED && attempt < OVERLOAD_ATTEMPTS =>
                {
                    tracing::debug!(method, attempt, "codex overloaded; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e @ CodexError::Timeout { .. }) => {
                    // An initialized app-server that leaves a request unanswered this long has
                    // stopped answering; restarting it is the only way forward (the supervisor
                    // reports the exit, and the gateway closes the runs that depended on it).
                    self.kill_if_current(live.epoch, method);
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    /// Kills the app-server of `epoch` (a process's whole group) if it is still the current one,
    /// so the supervisor starts a fresh one.
    fn kill_if_current(&self, epoch: Epoch, method: &str) {
        if self.epoch() != Some(epoch) {
            return;
        }
        if let Some(running) = self.running() {
            tracing::warn!(pid = running.pid(), method, %epoch, "codex app-server stopped answering; restarting it");
            running.kill();
        }
    }

    /// Answers server request `id` sent by the process of `epoch`. A request from an earlier
    /// process cannot be answered any more: `NotRunning`.
    pub async fn respond(
        &self,
        epoch: Epoch,
        id: RequestId,
        result: Result<Value, RpcErrorObj>,
    ) -> Result<(), CodexError> {
        let live = self.live()?;
        if live.epoch != epoch {
            return Err(CodexError::NotRunning(format!(
                "request {id} belongs to codex epoch {epoch}, which has ended"
            )));
        }
        live.rpc.respond(&id, result)
    }

    /// `thread/start`; `params` as in the protocol (`cwd`, `approvalPolicy`, `sandbox`,
    /// `dynamicTools`, `config`, ...).
    pub async fn thread_start(&self, params: Value) -> Result<ThreadInfo, CodexError> {
        ThreadInfo::from_result(self.request("thread/start", params).await?)
    }

    /// `thread/resume`; `params` must hold `threadId` (and should hold `excludeTurns: true`).
    pub async fn thread_resume(&self, params: Value) -> Result<ThreadInfo, CodexError> {
        ThreadInfo::from_result(self.request("thread/resume", params).await?)
    }

    /// `turn/start` with the user's text and, optionally, a second text input of context the
    /// gateway adds (Codex sends both to the model as parts of one user message); returns the
    /// turn id (the active turn's id if the thread was busy, since Codex then treats the input
    /// as a steer).
    pub async fn turn_start(
        &self,
        thread_id: &ThreadId,
        text: &str,
        context: Option<&str>,
    ) -> Result<TurnId, CodexError> {
        self.turn_start_with(thread_id, text, context, serde_json::Map::new())
            .await
    }

    /// [`Codex::turn_start`] with more `turn/start` params (`approvalPolicy`, `sandboxPolicy`:
    /// the session's permission mode), which Codex keeps for the thread's later turns too.
    pub async fn turn_start_with(
        &self,
        thread_id: &ThreadId,
        text: &str,
        context: Option<&str>,
        overrides: serde_json::Map<String, Value>,
    ) -> Result<TurnId, CodexError> {
        let mut input = vec![json!({"type": "text", "text": text, "text_elements": []})];
        if let Some(context) = context {
            input.push(json!({"type": "text", "text": context, "text_elements": []}));
        }
        self.turn_start_input(thread_id, input, overrides).await
    }

    /// `turn/start` with a ready `input` (text parts, `localImage`s, ...) and more params;
    /// returns the turn id Codex names.
    pub async fn turn_start_input(
        &self,
        thread_id: &ThreadId,
        input: Vec<Value>,
        overrides: serde_json::Map<String, Value>,
    ) -> Result<TurnId, CodexError> {
        let mut params = serde_json::Map::new();
        params.insert("threadId".to_owned(), json!(thread_id));
        params.insert("input".to_owned(), Value::Array(input));
        params.extend(overrides);
        let result = self.request("turn/start", Value::Object(params)).await?;
        result
            .pointer("/turn/id")
            .and_then(Value::as_str)
            .map(TurnId::from)
            .ok_or_else(|| CodexError::Protocol(format!("turn/start without turn.id: {result}")))
    }

    /// `turn/interrupt`; the turn then ends with a `turn/completed` of status `interrupted`.
    pub async fn turn_interrupt(
        &self,
        thread_id: &ThreadId,
        turn_id: &TurnId,
    ) -> Result<(), CodexError> {
        let params = json!({"threadId": thread_id, "turnId": turn_id});
        self.request("turn/interrupt", params).await.map(drop)
    }

    /// `hooks/list {threadId}`: the raw result (`{"data":[{"cwd","hooks":[...],...}]}`).
    pub async fn hooks_list(&self, thread_id: &ThreadId) -> Result<Value, CodexError> {
        self.request("hooks/list", json!({"threadId": thread_id}))
            .await
    }

    /// The current process id, from spawn until exit (also before it is initialized); `None`
    /// for an in-process app-server.
    pub fn pid(&self) -> Option<u32> {
        self.running().and_then(|r| r.pid())
    }

    fn running(&self) -> Option<Running> {
        let running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        running.clone()
    }

    /// The epoch of the current initialized process.
    pub fn epoch(&self) -> Option<Epoch> {
        self.inner.live.borrow().as_ref().map(|l| l.epoch)
    }

    /// Graceful: stop supervising, close stdin, wait up to 1 s, SIGTERM the process group, wait
    /// 1 s, SIGKILL (an in-process app-server: close its input, wait up to 1 s, abort it).
    /// Returns once the process is gone and every task has stopped.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let mut supervisor = self.inner.supervisor.lock().await;
        if let Some(task) = supervisor.take() {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "codex supervisor task failed");
            }
        }
    }

    fn live(&self) -> Result<Live, CodexError> {
        if let Some(live) = self.inner.live.borrow().clone() {
            return Ok(live);
        }
        Err(CodexError::NotRunning(match self.last_error() {
            Some(CodexError::NotRunning(why)) => why,
            Some(other) => other.to_string(),
            None => "starting".into(),
        }))
    }

    fn last_error(&self) -> Option<CodexError> {
        let last = self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        last.clone()
    }
}

impl ThreadInfo {
    fn from_result(raw: Value) -> Result<ThreadInfo, CodexError> {
        let thread_id = raw
            .pointer("/thread/id")
            .and_then(Value::as_str)
            .ok_or_else(|| CodexError::Protocol(format!("thread result without thread.id: {raw}")))?
            .into();
        Ok(ThreadInfo { thread_id, raw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits that end on an event (a shell script starting included): generous, as a busy
    /// machine may need.
    const T: Duration = Duration::from_secs(60);

    /// A stand-in app-server: notifies before answering `initialize`, asks one tool call, and
    /// reports what it was sent back, plus its environment.
    const FAKE: &str = r#"#!/bin/sh
read -r init
echo '{"method":"configWarning","params":{"summary":"early"}}'
echo '{"id":0,"result":{"userAgent":"fake"}}'
read -r initialized
printf '{"method":"fake/env","params":{"home":"%s","proxy":"%s","extra":"%s"}}\n' "$CODEX_HOME" "$HTTPS_PROXY" "$FAKE_EXTRA"
echo '{"id":"srv-1","method":"item/tool/call","params":{"threadId":"t","turnId":"u","callId":"c","tool":"message","arguments":{}}}'
read -r answer
printf '{"method":"fake/answer","params":{"line":%s}}\n' "$answer"
read -r eof
"#;

    async fn next(events: &mut mpsc::UnboundedReceiver<SupervisorEvent>) -> SupervisorEvent {
        tokio::time::timeout(T, events.recv())
            .await
            .expect("event in time")
            .expect("event stream open")
    }

    fn inbound(event: SupervisorEvent) -> Inbound {
        match event {
            SupervisorEvent::Inbound {
                epoch: Epoch(1),
                msg,
            } => msg,
            other => panic!("expected an inbound message of epoch 1, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn supervisor_orders_events_and_routes_answers() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("fake-codex");
        std::fs::write(&bin, FAKE).expect("write fake");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut opts = CodexOptions::new(bin, dir.path().join("home"), dir.path().to_path_buf());
        opts.extra_env = vec![
            ("FAKE_EXTRA".into(), "yes".into()),
            ("HTTPS_PROXY".into(), "http://proxy.invalid".into()),
        ];
        let (codex, mut events) = Codex::start(opts);

        // The warning was written before the handshake finished, yet arrives after Ready.
        assert_eq!(
            next(&mut events).await,
            SupervisorEvent::Ready { epoch: Epoch(1) }
        );
        assert!(matches!(inbound(next(&mut events).await),
            Inbound::Notification(Notification::Other { method, .. }) if method == "configWarning"));
        let Inbound::Notification(Notification::Other { params: env, .. }) =
            inbound(next(&mut events).await)
        else {
            panic!("expected fake/env")
        };
        assert!(
            env["home"].as_str().is_some_and(|h| h.ends_with("/home")),
            "{env}"
        );
        assert_eq!(env["proxy"], "");
        assert_eq!(env["extra"], "yes");

        let Inbound::Request { id, request } = inbound(next(&mut events).await) else {
            panic!("expected the tool call")
        };
        assert_eq!(id, RequestId::Str("srv-1".into()));
        assert_eq!(request.thread_id(), Some("t"));
        codex
            .respond(Epoch(1), id, Ok(json!({"success": true})))
            .await
            .expect("respond");
        let Inbound::Notification(Notification::Other { params, .. }) =
            inbound(next(&mut events).await)
        else {
            panic!("expected fake/answer")
        };
        assert_eq!(
            params["line"],
            json!({"id": "srv-1", "result": {"success": true}})
        );

        tokio::time::timeout(T, codex.shutdown())
            .await
            .expect("shutdown in time");
        assert!(matches!(
            next(&mut events).await,
            SupervisorEvent::Exited {
                epoch: Epoch(1),
                ..
            }
        ));
        assert!(tokio::time::timeout(T, events.recv())
            .await
            .expect("closed")
            .is_none());
    }
}
