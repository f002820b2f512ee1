//! An in-process fake `codex app-server` (test-only): the fake process's protocol
//! (`fake_core.rs`, faults chosen by `/fake …` in a turn's text) run as a task on the test's own
//! runtime, launched by the Codex supervisor through [`Launch::InProcess`] over an in-memory pipe.
//!
//! Why it exists: on tokio's paused clock the runtime jumps time forward whenever it is idle,
//! and waiting on a real process's pipe looks idle, so a process fake that is merely slow would
//! trip every timeout. With every peer a task on one runtime, time moves only when everything is
//! truly waiting for time, and the production limits (the watchdog's stall, the request timeout)
//! can be tested at their real values without waiting for them.
//!
//! It lives with the tests, not in the library: the library only offers the seam. It keeps a log
//! of the requests every instance received (with the paused clock's time), shared across
//! restarts, so tests count interrupts and restarts and await them. It never sleeps: lines due
//! later (`/fake retry …`) wait on the paused clock beside its reading, a frozen instance waits
//! forever, and the faults that outlive a restart (the control file) are not
//! offered; the process fake has them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use codex_webchat::channels::Outbound;
use codex_webchat::codex::{Codex, CodexOptions, Launch};
use codex_webchat::config::{DEFAULT_CODEX_REQUEST_TIMEOUT, DEFAULT_TURN_STALL};
use codex_webchat::gateway::workspace::Workspaces;
use codex_webchat::gateway::{Gateway, GatewayOptions};
use codex_webchat::store::Store;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fake_core::{self, FakeCore, Out};

/// One request an instance received.
#[derive(Clone, Debug)]
pub struct Request {
    /// Which launch of the app-server got it (1 for the first, 2 after one restart, …).
    pub instance: u32,
    pub method: String,
    pub thread: Option<String>,
    /// When it arrived, on the runtime's (paused) clock.
    pub at: Instant,
}

/// Launches in-process fakes and records what they were asked.
#[derive(Clone)]
pub struct FakeAppServer {
    requests: Arc<watch::Sender<Vec<Request>>>,
    launches: Arc<AtomicU32>,
}

impl FakeAppServer {
    pub fn new() -> Self {
        FakeAppServer {
            requests: Arc::new(watch::channel(Vec::new()).0),
            launches: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Codex options that launch this fake, with the given request timeout.
    pub fn options(&self, request_timeout: std::time::Duration) -> CodexOptions {
        let unused = std::path::PathBuf::from("in-process");
        let mut opts = CodexOptions::new(unused.clone(), unused.clone(), unused);
        opts.request_timeout = request_timeout;
        let fake = self.clone();
        opts.launch = Launch::InProcess(Arc::new(move |pipe| {
            let instance = fake.launches.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(fake.clone().serve(instance, pipe))
        }));
        opts
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.borrow().clone()
    }

    /// The requests for `method` so far.
    pub fn requests_for(&self, method: &str) -> Vec<Request> {
        let requests = self.requests.borrow();
        requests
            .iter()
            .filter(|r| r.method == method)
            .cloned()
            .collect()
    }

    /// Waits until `method` has been requested `n` times in all.
    pub async fn requested(&self, method: &str, n: usize) {
        let mut requests = self.requests.subscribe();
        let counted = |log: &Vec<Request>| log.iter().filter(|r| r.method == method).count() >= n;
        requests
            .wait_for(counted)
            .await
            .expect("the request log lives as long as the fake");
    }

    /// One instance: reads the gateway's lines until they end (its stdin closing), answering
    /// as the core says. Returning drops its end of the pipe, as a process exiting would.
    async fn serve(self, instance: u32, pipe: DuplexStream) {
        let (output, mut input) = tokio::io::split(pipe);
        let mut lines = BufReader::new(output);
        let mut core = FakeCore::new(format!("in-process-{instance}"));
        let mut line = Vec::new();
        // Lines due later (`Out::Later`), by when; written only if their turn still runs.
        let mut later: Vec<(Instant, fake_core::TurnRef, Value)> = Vec::new();
        loop {
            let due = later.iter().map(|(at, ..)| *at).min();
            let wake = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            // `read_until` keeps what it read so far in `line` when the timer wins, so the
            // next call goes on from there.
            let read = tokio::select! {
                read = lines.read_until(b'\n', &mut line) => read,
                () = wake => {
                    let now = Instant::now();
                    let (ready, rest): (Vec<_>, Vec<_>) =
                        later.drain(..).partition(|(at, ..)| *at <= now);
                    later = rest;
                    for (_, turn, v) in ready {
                        if core.running(&turn)
                            && input.write_all(format!("{v}\n").as_bytes()).await.is_err()
                        {
                            return;
                        }
                    }
                    continue;
                }
            };
            match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let msg = serde_json::from_slice::<Value>(&line);
            line.clear();
            let Ok(msg) = msg else {
                continue;
            };
            if let Some((method, thread)) = fake_core::request_of(&msg) {
                let request = Request {
                    instance,
                    method: method.to_owned(),
                    thread: thread.map(str::to_owned),
                    at: Instant::now(),
                };
                self.requests.send_modify(|log| log.push(request));
            }
            for out in core.handle(&msg, || Value::Null) {
                let bytes = match out {
                    Out::Line(v) => format!("{v}\n").into_bytes(),
                    Out::Raw(bytes) => bytes,
                    Out::Exit(_) => return,
                    // Alive, holding the pipe, answering nothing: only a kill ends this.
                    Out::Freeze => std::future::pending().await,
                    // Stamped, paced items are the load bench's, on the process fake.
                    Out::Items { turn, .. } => {
                        format!("{}\n", fake_core::completed(&turn, "failed")).into_bytes()
                    }
                    Out::Later { after, turn, line } => {
                        later.push((Instant::now() + after, turn, line));
                        continue;
                    }
                    // Nobody approves a device code here; the process fake's tests do.
                    Out::AwaitDevice { .. } => continue,
                };
                // The gateway closed our output: nothing left to do but stop.
                if input.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A gateway on the in-process fake, with the limits a server gets by default: the watchdog's
/// stall and the Codex request timeout. An in-memory store, no hook relay (the fake runs no
/// native tools), one workspace (the temporary folder).
#[allow(dead_code)] // Not every test file that includes the fake starts a gateway on it.
pub fn paused_gateway() -> (Gateway, FakeAppServer) {
    let fake = FakeAppServer::new();
    let (codex, events) = Codex::start(fake.options(DEFAULT_CODEX_REQUEST_TIMEOUT));
    let gateway = Gateway::start(
        Store::open_in_memory().unwrap(),
        codex,
        events,
        Outbound::default(),
        GatewayOptions {
            workspaces: Workspaces::single(std::env::temp_dir()),
            sandbox: "read-only".into(),
            default_mode: app::wire::Mode::Auto,
            model_label: "test".into(),
            turn_stall: DEFAULT_TURN_STALL,
            codex_ready_timeout: std::time::Duration::from_secs(15),
            hooks: None,
        },
    )
    .expect("gateway starts");
    (gateway, fake)
}
