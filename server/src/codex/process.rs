//! The app-server process and its supervisor: spawn (environment, process group, pipes), the
//! `initialize` handshake, stderr logging, exit detection, graceful stop and restart with
//! backoff. One supervisor task owns every per-process task and stops them before it moves on.

use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::BufReader;
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::{mpsc, watch};

use super::protocol::{Epoch, Inbound};
use super::rpc::{InboundSink, Line, LineReader, RpcClient, Undelivered};
use super::{CodexError, CodexOptions, SupervisorEvent};

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

/// State the supervisor shares with the `Codex` handles.
pub(super) struct Supervisor {
    pub opts: CodexOptions,
    pub events: mpsc::UnboundedSender<SupervisorEvent>,
    pub live: watch::Sender<Option<Live>>,
    pub pid: Arc<AtomicU32>,
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
            self.pid.store(0, Ordering::Relaxed);
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
        let mut child = match command(&self.opts).spawn() {
            Ok(child) => child,
            Err(e) => {
                let msg = format!(
                    "{} (cwd {}): {e}",
                    self.opts.bin.display(),
                    self.opts.cwd.display()
                );
                tracing::error!(%epoch, "spawning codex app-server failed: {msg}");
                return ended(CodexError::Spawn(msg), false, false);
            }
        };
        let pid = child.id().unwrap_or(0);
        self.pid.store(pid, Ordering::Relaxed);
        tracing::info!(%epoch, pid, "codex app-server started");
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return ended(
                CodexError::Spawn("stdio pipes missing".into()),
                false,
                false,
            );
        };
        let stderr_task = tokio::spawn(log_stderr(stderr, epoch));
        let gate = Arc::new(Mutex::new(Gate::Buffering(Vec::new())));
        let sink = EventSink {
            epoch,
            events: self.events.clone(),
            gate: gate.clone(),
        };
        let (rpc, mut tasks) = RpcClient::spawn(stdout, stdin, sink);
        let mut reader_done = false;

        let init = tokio::select! {
            r = initialize(&rpc, &self.opts) => r.map_err(|e| (e, false)),
            status = child.wait() => Err((exited(status), false)),
            _ = stop_requested(&mut stop) => Err((shut_down(), true)),
        };
        let (error, stopping, was_ready) = match init {
            Err((error, stopping)) => {
                tracing::warn!(%epoch, %error, "codex app-server did not initialize");
                let _ = stop_process(&mut child, pid, &rpc).await;
                (error, stopping, false)
            }
            Ok(()) => {
                self.live.send_replace(Some(Live {
                    epoch,
                    rpc: rpc.clone(),
                }));
                open_gate(&gate, &self.events, epoch, &rpc);
                tracing::info!(%epoch, pid, "codex app-server ready");
                let (error, stopping) = tokio::select! {
                    status = child.wait() => (exited(status), false),
                    _ = &mut tasks.reader => {
                        // Output closed: the process is exiting, or is of no use any more.
                        reader_done = true;
                        (exited(stop_process(&mut child, pid, &rpc).await), false)
                    }
                    _ = stop_requested(&mut stop) => {
                        let _ = stop_process(&mut child, pid, &rpc).await;
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
        signal_group(pid, libc::SIGKILL);
        // Let the reader deliver what the process wrote before it died, so Exited comes last.
        if !reader_done
            && tokio::time::timeout(STOP_GRACE, &mut tasks.reader)
                .await
                .is_err()
        {
            tracing::warn!(%epoch, "codex output still open after exit");
        }
        tasks.reader.abort();
        tasks.writer.abort();
        stderr_task.abort();
        Ended {
            error,
            stopping,
            was_ready,
        }
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

/// Close stdin (the app-server exits on EOF), then SIGTERM, then SIGKILL the whole group.
async fn stop_process(child: &mut Child, pid: u32, rpc: &RpcClient) -> std::io::Result<ExitStatus> {
    rpc.close("codex app-server is stopping");
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        if let Ok(status) = tokio::time::timeout(STOP_GRACE, child.wait()).await {
            return status;
        }
        tracing::warn!(
            pid,
            signal,
            "codex app-server did not stop; signalling its group"
        );
        signal_group(pid, signal);
    }
    let _ = child.start_kill();
    child.wait().await
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

async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    // An error means every `Codex` handle is gone, which is a stop request too.
    let _ = stop.wait_for(|stopping| *stopping).await;
}

async fn log_stderr(stderr: ChildStderr, epoch: Epoch) {
    let mut lines = LineReader::new(BufReader::new(stderr), 64 * 1024);
    while let Ok(Some(line)) = lines.next_line().await {
        match line {
            Line::Complete(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                tracing::debug!(%epoch, "codex: {}", text.trim_end());
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
