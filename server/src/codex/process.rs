//! The app-server and its supervisor: launch (a process: environment, process group, pipes; or
//! an in-process task on an in-memory pipe, see [`Launch`]), the `initialize` handshake, stderr
//! logging, exit detection, graceful stop and restart with backoff. One supervisor task owns
//! every per-process task and stops them before it moves on. Both launches go through the same
//! steps; only [`Peer`] (how to wait for, stop and kill one app-server) tells them apart. It
//! never reads or writes the messages themselves beyond the handshake; `rpc` does.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinError, JoinHandle};
use tokio::time::Instant;

use super::protocol::{Epoch, Inbound};
use super::rpc::{InboundSink, Line, LineReader, RpcClient, Undelivered};
use super::{CodexError, CodexOptions, InProcessServer, Launch, SupervisorEvent};

const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A process that stayed up this long was healthy: the restart backoff starts over.
const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// How long each stop step (stdin closed, SIGTERM) gets before the next, harsher one.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Environment passed through from our own; everything else is cleared so no proxy or secret of
/// the gateway leaks into Codex, the hooks and the agent's shell commands.
const INHERITED_ENV: &[&str] = &[
    "HOME", "PATH", "SHELL", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ",
];

/// An initialized process that requests can be sent to.
#[derive(Clone)]
pub(super) struct Live {
    pub epoch: Epoch,
    pub rpc: RpcClient,
}

/// The current app-server as the `Codex` handles see it: what to kill when it stops answering.
#[derive(Clone)]
pub(super) enum Running {
    /// A process, the leader of its own process group.
    Process(u32),
    /// An in-process app-server's task.
    Task(AbortHandle),
}

impl Running {
    pub fn pid(&self) -> Option<u32> {
        match self {
            Running::Process(pid) => Some(*pid),
            Running::Task(_) => None,
        }
    }

    /// SIGKILL to the process group, or the task aborted; the supervisor sees it end.
    pub fn kill(&self) {
        match self {
            Running::Process(pid) => signal_group(*pid, libc::SIGKILL),
            Running::Task(task) => task.abort(),
        }
    }
}

/// State the supervisor shares with the `Codex` handles.
pub(super) struct Supervisor {
    pub opts: CodexOptions,
    pub events: mpsc::UnboundedSender<SupervisorEvent>,
    pub live: watch::Sender<Option<Live>>,
    pub running: Arc<Mutex<Option<Running>>>,
    /// Why the last process ended (or failed to start); what `ready()` reports on a timeout.
    pub last_error: Arc<Mutex<Option<CodexError>>>,
    /// `true`, or the sender dropped (every handle gone), means stop.
    pub shutdown: watch::Receiver<bool>,
}

struct Ended {
    error: CodexError,
    stopping: bool,
    was_ready: bool,
}

impl Supervisor {
    pub async fn run(self) {
        let mut backoff = INITIAL_BACKOFF;
        let mut stop = self.shutdown.clone();
        for n in 1.. {
            let epoch = Epoch(n);
            let started = Instant::now();
            let ended = self.run_process(epoch).await;
            self.set_running(None);
            let reason = match &ended.error {
                CodexError::NotRunning(why) => why.clone(),
                other => other.to_string(),
            };
            if let Ok(mut last) = self.last_error.lock() {
                *last = Some(ended.error);
            }
            let _ = self.events.send(SupervisorEvent::Exited {
                epoch,
                reason: reason.clone(),
            });
            if ended.stopping {
                break;
            }
            if ended.was_ready && started.elapsed() >= HEALTHY_RUN {
                backoff = INITIAL_BACKOFF;
            }
            tracing::warn!(%epoch, %reason, ?backoff, "codex app-server ended; restarting");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop_requested(&mut stop) => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        tracing::debug!("codex supervisor stopped");
    }

    async fn run_process(&self, epoch: Epoch) -> Ended {
        let mut stop = self.shutdown.clone();
        let ended = |error, stopping, was_ready| Ended {
            error,
            stopping,
            was_ready,
        };
        let shut_down = || CodexError::NotRunning("shut down".into());
        if *stop.borrow() {
            return ended(shut_down(), true, false);
        }
        let Launched {
            mut peer,
            output,
            input,
            stderr,
        } = match self.launch(epoch) {
            Ok(launched) => launched,
            Err(error) => return ended(error, false, false),
        };
        self.set_running(Some(peer.running()));
        let pid = peer.running().pid();
        tracing::info!(%epoch, ?pid, "codex app-server started");
        let said = Arc::new(Mutex::new(None::<String>));
        let mut stderr_task =
            stderr.map(|stderr| tokio::spawn(log_stderr(stderr, epoch, said.clone())));
        let gate = Arc::new(Mutex::new(Gate::Buffering(Vec::new())));
        let sink = EventSink {
            epoch,
            events: self.events.clone(),
            gate: gate.clone(),
        };
        let (rpc, mut tasks) = RpcClient::spawn(output, input, sink);
        let mut reader_done = false;

        let init = tokio::select! {
            r = initialize(&rpc, &self.opts) => r.map_err(|e| (e, false)),
            error = peer.wait() => Err((error, false)),
            _ = stop_requested(&mut stop) => Err((shut_down(), true)),
        };
        let (error, stopping, was_ready) = match init {
            Err((error, stopping)) => {
                peer.stop(&rpc).await;
                // What it said on the way out (`Error: CODEX_HOME points to …`) is the reason a
                // person can act on; its stderr ends with it, so wait (bounded) for that.
                if let Some(task) = stderr_task.as_mut() {
                    let _ = tokio::time::timeout(STOP_GRACE, task).await;
                }
                let error = with_last_words(error, lock_said(&said).take());
                tracing::warn!(%epoch, %error, "codex app-server did not initialize");
                (error, stopping, false)
            }
            Ok(()) => {
                self.live.send_replace(Some(Live {
                    epoch,
                    rpc: rpc.clone(),
                }));
                open_gate(&gate, &self.events, epoch, &rpc);
                tracing::info!(%epoch, ?pid, "codex app-server ready");
                let (error, stopping) = tokio::select! {
                    error = peer.wait() => (error, false),
                    _ = &mut tasks.reader => {
                        // Output closed: the app-server is exiting, or is of no use any more.
                        reader_done = true;
                        (peer.stop(&rpc).await, false)
                    }
                    _ = stop_requested(&mut stop) => {
                        peer.stop(&rpc).await;
                        (shut_down(), true)
                    }
                };
                (error, stopping, true)
            }
        };

        // Only the supervisor replaces `live`, so it still holds this epoch (or nothing).
        self.live.send_replace(None);
        // The bare reason: requests failed by this become `NotRunning(reason)`, which would
        // otherwise say "not running" twice.
        rpc.close(&match &error {
            CodexError::NotRunning(why) => why.clone(),
            other => other.to_string(),
        });
        // Stragglers in the group (hook or shell processes) would otherwise outlive their parent.
        peer.running().kill();
        // Let the reader deliver what the app-server wrote before it ended, so Exited comes last.
        if !reader_done
            && tokio::time::timeout(STOP_GRACE, &mut tasks.reader)
                .await
                .is_err()
        {
            tracing::warn!(%epoch, "codex output still open after exit");
        }
        tasks.reader.abort();
        tasks.writer.abort();
        if let Some(task) = stderr_task {
            task.abort();
        }
        Ended {
            error,
            stopping,
            was_ready,
        }
    }

    /// Starts the app-server of `epoch` as [`Launch`] says.
    fn launch(&self, epoch: Epoch) -> Result<Launched, CodexError> {
        match &self.opts.launch {
            Launch::Process => spawn_process(&self.opts, epoch),
            Launch::InProcess(server) => Ok(spawn_in_process(server)),
        }
    }

    fn set_running(&self, running: Option<Running>) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = running;
    }
}

/// One launched app-server: how to wait for and stop it, and the byte streams to it.
struct Launched {
    peer: Peer,
    /// What it writes (its stdout).
    output: Box<dyn AsyncRead + Unpin + Send>,
    /// What it reads (its stdin).
    input: Box<dyn AsyncWrite + Unpin + Send>,
    /// A process's stderr, logged; an in-process app-server has none.
    stderr: Option<ChildStderr>,
}

fn spawn_process(opts: &CodexOptions, epoch: Epoch) -> Result<Launched, CodexError> {
    let mut child = command(opts).spawn().map_err(|e| {
        let msg = format!("{} (cwd {}): {e}", opts.bin.display(), opts.cwd.display());
        tracing::error!(%epoch, "spawning codex app-server failed: {msg}");
        CodexError::Spawn(msg)
    })?;
    let pid = child.id().unwrap_or(0);
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        // `kill_on_drop` ends it.
        return Err(CodexError::Spawn("stdio pipes missing".into()));
    };
    Ok(Launched {
        peer: Peer::Process { child, pid },
        output: Box::new(stdout),
        input: Box::new(stdin),
        stderr: Some(stderr),
    })
}

/// Room in each direction of the in-memory pipe, about what a pipe holds.
const IN_PROCESS_PIPE: usize = 64 * 1024;

fn spawn_in_process(server: &InProcessServer) -> Launched {
    let (ours, theirs) = tokio::io::duplex(IN_PROCESS_PIPE);
    let task = tokio::spawn(server(theirs));
    let (output, input) = tokio::io::split(ours);
    Launched {
        peer: Peer::Task {
            abort: task.abort_handle(),
            task: Some(task),
        },
        output: Box::new(output),
        input: Box::new(input),
        stderr: None,
    }
}

/// How the supervisor waits for, stops and kills one app-server.
enum Peer {
    Process {
        child: Child,
        /// Also its process group id.
        pid: u32,
    },
    Task {
        /// `None` once it has ended (a finished task's handle must not be awaited again).
        task: Option<JoinHandle<()>>,
        abort: AbortHandle,
    },
}

impl Peer {
    fn running(&self) -> Running {
        match self {
            Peer::Process { pid, .. } => Running::Process(*pid),
            Peer::Task { abort, .. } => Running::Task(abort.clone()),
        }
    }

    /// Waits until the app-server has ended, and says how. Cancel-safe.
    async fn wait(&mut self) -> CodexError {
        match self {
            Peer::Process { child, .. } => exited(child.wait().await),
            Peer::Task { task, .. } => {
                let Some(handle) = task else {
                    return task_ended(None);
                };
                let result = handle.await;
                *task = None;
                task_ended(Some(result))
            }
        }
    }

    /// Close its input (the app-server exits on EOF), then SIGTERM, then SIGKILL the whole group
    /// (a process), or abort it (a task); each step gets [`STOP_GRACE`]. Returns how it ended.
    async fn stop(&mut self, rpc: &RpcClient) -> CodexError {
        rpc.close("codex app-server is stopping");
        let harsher: &[libc::c_int] = match self {
            Peer::Process { .. } => &[libc::SIGTERM, libc::SIGKILL],
            Peer::Task { .. } => &[libc::SIGKILL],
        };
        for &signal in harsher {
            if let Ok(error) = tokio::time::timeout(STOP_GRACE, self.wait()).await {
                return error;
            }
            let running = self.running();
            tracing::warn!(pid = running.pid(), signal, "codex app-server did not stop");
            match running {
                Running::Process(pid) => signal_group(pid, signal),
                // A task has only the one, harshest step.
                Running::Task(_) => running.kill(),
            }
        }
        if let Peer::Process { child, .. } = self {
            let _ = child.start_kill();
        }
        self.wait().await
    }
}

fn command(opts: &CodexOptions) -> Command {
    let mut cmd = Command::new(&opts.bin);
    cmd.arg("app-server").current_dir(&opts.cwd).env_clear();
    for key in INHERITED_ENV {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    // NO_COLOR keeps ANSI escapes out of the stderr lines we log.
    cmd.env("CODEX_HOME", &opts.codex_home).env("NO_COLOR", "1");
    for (key, value) in &opts.extra_env {
        if is_proxy_var(key) {
            tracing::warn!(%key, "not passing a proxy variable to codex");
            continue;
        }
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a stop reaches every descendant and a Ctrl-C to us is not sent to it.
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

fn is_proxy_var(key: &str) -> bool {
    ["http_proxy", "https_proxy", "all_proxy"]
        .iter()
        .any(|p| key.eq_ignore_ascii_case(p))
}

async fn initialize(rpc: &RpcClient, opts: &CodexOptions) -> Result<(), CodexError> {
    let params = json!({
        "clientInfo": {
            "name": opts.client_name,
            "title": "codex-webchat",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "capabilities": {"experimentalApi": true},
    });
    rpc.request("initialize", params, opts.request_timeout)
        .await?;
    rpc.notify("initialized", Value::Null)
}

pub(super) fn signal_group(pid: u32, signal: libc::c_int) {
    // pid 0 would mean our own process group; never signal that.
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pgid > 1 {
        // SAFETY: kill(2) has no memory effects; a negative pid addresses the process group that
        // `process_group(0)` created with the child's pid as its id.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

fn exited(status: std::io::Result<ExitStatus>) -> CodexError {
    CodexError::NotRunning(match status {
        Ok(status) => format!("codex app-server exited ({status})"),
        Err(e) => format!("waiting for codex app-server failed: {e}"),
    })
}

/// How an in-process app-server's task ended (`None`: already reported).
fn task_ended(result: Option<Result<(), JoinError>>) -> CodexError {
    CodexError::NotRunning(match result {
        Some(Ok(())) | None => "in-process codex app-server ended".to_owned(),
        Some(Err(e)) if e.is_cancelled() => "in-process codex app-server was killed".to_owned(),
        Some(Err(e)) => format!("in-process codex app-server failed: {e}"),
    })
}

async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    // An error means every `Codex` handle is gone, which is a stop request too.
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Longest part of a Codex error line kept for the reason it could not start.
const LAST_WORDS_MAX: usize = 300;

fn lock_said(said: &Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    said.lock().unwrap_or_else(|e| e.into_inner())
}

/// `error` with the error line Codex printed before it ended, if any.
fn with_last_words(error: CodexError, said: Option<String>) -> CodexError {
    let Some(said) = said else { return error };
    match error {
        CodexError::NotRunning(why) => CodexError::NotRunning(format!("{why}: {said}")),
        other => CodexError::NotRunning(format!("{other}: {said}")),
    }
}

/// Logs Codex's stderr (debug) and keeps its last `Error: …` line in `said`.
async fn log_stderr(stderr: ChildStderr, epoch: Epoch, said: Arc<Mutex<Option<String>>>) {
    let mut lines = LineReader::new(BufReader::new(stderr), 64 * 1024);
    while let Ok(Some(line)) = lines.next_line().await {
        match line {
            Line::Complete(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                tracing::debug!(%epoch, "codex: {}", text.trim_end());
                if let Some(error) = text.trim().strip_prefix("Error: ") {
                    let kept: String = error.chars().take(LAST_WORDS_MAX).collect();
                    *lock_said(&said) = Some(kept);
                }
            }
            Line::TooLong(len) => tracing::debug!(%epoch, len, "codex: over-long stderr line"),
        }
    }
}

/// Holds back inbound messages until `Ready` is sent, so that for every epoch the event stream
/// reads `Ready`, then its messages, then `Exited`.
enum Gate {
    Buffering(Vec<Inbound>),
    Open,
}

struct EventSink {
    epoch: Epoch,
    events: mpsc::UnboundedSender<SupervisorEvent>,
    gate: Arc<Mutex<Gate>>,
}

impl InboundSink for EventSink {
    fn deliver(&mut self, msg: Inbound) -> Result<(), Undelivered> {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *gate {
            Gate::Buffering(held) => {
                held.push(msg);
                Ok(())
            }
            Gate::Open => send_inbound(&self.events, self.epoch, msg),
        }
    }
}

fn send_inbound(
    events: &mpsc::UnboundedSender<SupervisorEvent>,
    epoch: Epoch,
    msg: Inbound,
) -> Result<(), Undelivered> {
    events
        .send(SupervisorEvent::Inbound { epoch, msg })
        .map_err(|_| Undelivered)
}

fn open_gate(
    gate: &Mutex<Gate>,
    events: &mpsc::UnboundedSender<SupervisorEvent>,
    epoch: Epoch,
    rpc: &RpcClient,
) {
    let mut gate = gate.lock().unwrap_or_else(|e| e.into_inner());
    let _ = events.send(SupervisorEvent::Ready { epoch });
    if let Gate::Buffering(held) = std::mem::replace(&mut *gate, Gate::Open) {
        for msg in held {
            let id = match &msg {
                Inbound::Request { id, .. } => Some(id.clone()),
                Inbound::Notification(_) => None,
            };
            if let (Err(Undelivered), Some(id)) = (send_inbound(events, epoch, msg), id) {
                rpc.refuse(&id);
            }
        }
    }
}
