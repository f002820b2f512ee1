//! A fake `codex app-server` for fault injection (test-only; built with `fault-injection`).
//!
//! It speaks the same newline-delimited JSON-RPC over stdio as the real app-server, just enough
//! of it for the gateway: `initialize`, `thread/start`, `thread/resume`, `thread/unsubscribe`,
//! `turn/start`, `turn/interrupt` and `hooks/list` (which reports the hooks a thread was given in
//! its `config` as trusted when the `hooks.state` hash matches, so the gateway's trust check
//! passes exactly as with the real one). Threads run their turns independently. A turn answers
//! through the `message` tool with `Echo: <text>`, unless the text asks for a fault:
//!
//! | user text | what the fake does |
//! |---|---|
//! | `/fake die` | starts the turn, streams a little, then exits with status 3 |
//! | `/fake hang` | starts the turn, then nothing; an interrupt is confirmed |
//! | `/fake hang-unready` | starts the turn, then nothing; the first interrupt is refused with `no active turn to interrupt` (as Codex does between answering `turn/start` and running the turn), the next is confirmed |
//! | `/fake hang-deaf` | starts the turn, then nothing; an interrupt is never answered (a `turn/start` on the thread while it runs steers it, as in Codex: answered with its id, no `turn/started`, and the turn replies to the new text) |
//! | `/fake steerable` | starts the turn and streams `working`, then waits; a `turn/steer` with its id is taken (answered `{turnId}`) and the turn replies `Echo: <steered text>` |
//! | `/fake steer-late` | as `steerable`, but the turn ends just before a steer reaches it: `turn/steer` is refused with `no active turn to steer`, then the turn's `turn/completed` follows |
//! | `/fake freeze` | starts the turn, then stops reading and answering anything (a frozen process) |
//! | `/fake malformed` | writes garbage, invalid UTF-8 and a line over the 8 MiB limit, then echoes |
//! | `/fake no-answer` | never answers `turn/start` itself, but runs the turn |
//! | `/fake stale-turn` | answers `turn/start` with the thread's previous turn id (as Codex does for a thread it still counts as busy, e.g. right after an interrupt), repeats that turn's `turn/completed`, then runs the new turn |
//! | `/fake ask <kind> [resolve]` | asks a person (`kind`: `command`, `file-change`, `permissions`, `question`, `elicitation`, as Codex 0.169 shapes them) and, once answered, sends `Answer: <the answer's JSON>` with the `message` tool; with `resolve` it closes the request itself (`serverRequest/resolved`) and echoes |
//! | `/fake thread-not-found` | answers `turn/start` with `thread not found` once per thread |
//! | `/fake retry-forever` | starts the turn, then Codex's provider retry (`error` with `willRetry`, `Reconnecting... k/5`) at once and every 10 s after, and nothing else; an interrupt is confirmed |
//! | `/fake retry <n>` | `n` such retries 30 s apart, then echoes |
//! | `/fake items <n> <gap_us>` | from its own thread, starts `n` agent-message items `gap_us` apart, each with the text `t<CLOCK_MONOTONIC ns>` at the moment it is written, then completes the turn (the load bench measures event latency with it) |
//!
//! Account requests (`account/read`, `account/login/start` with an API key or a device code,
//! `account/login/cancel`, `account/logout`, `account/rateLimits/read`) answer as Codex 0.169
//! does; the account starts as the control file's `"account"` (`signed_out`, `chatgpt`; an API
//! key otherwise). A device code completes when a test writes `approve` or `expire` into
//! `$CODEX_HOME/fake-device` (the person's other device).
//!
//! Faults that must survive a restart (the resume path) come from `$CODEX_HOME/fake-codex.json`:
//! `{"resume_error": "<message>"}` fails every `thread/resume` with that message;
//! `{"active_writer": N}` fails the first N resumes of this process with `active writer`.
//! Every request is appended to `$CODEX_HOME/fake-codex.log` as one JSON line
//! (`{"pid","method","threadId"}`) so tests can count starts, resumes and restarts.
//!
//! The environment is the one the supervisor gives Codex (cleared but for `CODEX_HOME`, `HOME`,
//! `PATH` …), which is why the control channel is a file in `CODEX_HOME` and not a variable.
//!
//! What it answers is `fake_core.rs`, shared with the in-process fake (`fake_app_server.rs`);
//! this file is the process around it: stdio, the log and control files, exiting, freezing.

mod fake_core;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use fake_core::{FakeCore, Out};
use serde_json::{json, Value};

fn main() {
    let home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut fake = FakeCore::new(std::process::id().to_string());
    // One queue for what the gateway writes and what the fake's watchers report (a device code
    // approved), so the core sees them one at a time.
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdin_tx = tx.clone();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().split(b'\n') {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if stdin_tx.send(msg).is_err() {
                return;
            }
        }
        // The gateway closed our input: the fake ends, as Codex does.
        std::process::exit(0);
    });
    for msg in rx {
        if let Some((method, thread)) = fake_core::request_of(&msg) {
            log(&home, method, thread);
        }
        for out in fake.handle(&msg, || control(&home)) {
            match out {
                Out::Line(v) => send(v),
                Out::Raw(bytes) => write_raw(&bytes),
                Out::Exit(code) => std::process::exit(code),
                Out::Freeze => loop {
                    // Alive, holding its pipes, answering nothing: only a kill ends this.
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                },
                // Its own thread, so the fake goes on reading; it cannot see whether the turn
                // still runs then, so a late line may follow the turn's end.
                Out::Later { after, line, .. } => {
                    std::thread::spawn(move || {
                        std::thread::sleep(after);
                        send(line);
                    });
                }
                // Its own thread, so several sessions stream at once.
                Out::Items { turn, ids, gap } => {
                    std::thread::spawn(move || {
                        for id in ids {
                            let text = format!("t{}", monotonic_ns());
                            let item = json!({"type": "agentMessage", "id": id, "text": text});
                            send(fake_core::item_started(&turn, item));
                            if !gap.is_zero() {
                                std::thread::sleep(gap);
                            }
                        }
                        send(fake_core::completed(&turn, "completed"));
                    });
                }
                Out::AwaitDevice { login_id } => {
                    let (tx, home) = (tx.clone(), home.clone());
                    std::thread::spawn(move || watch_device(&home, &login_id, &tx));
                }
            }
        }
    }
}

/// Waits for the person's other device: a test writes `approve` or `expire` into
/// `$CODEX_HOME/fake-device`, which is taken (removed) and reported to the core.
fn watch_device(home: &Path, login_id: &str, tx: &std::sync::mpsc::Sender<Value>) {
    let file = home.join("fake-device");
    loop {
        if let Ok(outcome) = std::fs::read_to_string(&file) {
            let _ = std::fs::remove_file(&file);
            let msg = json!({"method": "fake/device",
                "params": {"loginId": login_id, "outcome": outcome.trim()}});
            let _ = tx.send(msg);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `$CODEX_HOME/fake-codex.json`, or `null`.
fn control(home: &Path) -> Value {
    std::fs::read(home.join("fake-codex.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// Appends one request to `$CODEX_HOME/fake-codex.log`.
fn log(home: &Path, method: &str, thread: Option<&str>) {
    let line = json!({"pid": std::process::id(), "method": method, "threadId": thread});
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("fake-codex.log"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock in every process on the machine.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

fn send(v: Value) {
    write_raw(format!("{v}\n").as_bytes());
}

fn write_raw(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    // The gateway closed our output: nothing left to do but stop.
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}
