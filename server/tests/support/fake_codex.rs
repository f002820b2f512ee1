//! A fake `codex app-server` for fault injection (test-only; built with `fault-injection`).
//!
//! It speaks the same newline-delimited JSON-RPC over stdio as the real app-server, just enough
//! of it for the gateway: `initialize`, `thread/start`, `thread/resume`, `thread/unsubscribe`,
//! `turn/start`, `turn/interrupt` and `hooks/list` (which reports the hooks a thread was given in
//! its `config` as trusted when the `hooks.state` hash matches, so the gateway's trust check
//! passes exactly as with the real one). Threads run their turns independently. A turn answers through the `message` tool with
//! `Echo: <text>`, unless the text asks for a fault:
//!
//! | user text | what the fake does |
//! |---|---|
//! | `/fake die` | starts the turn, streams a little, then exits with status 3 |
//! | `/fake hang` | starts the turn, then nothing; an interrupt is confirmed |
//! | `/fake hang-deaf` | starts the turn, then nothing; an interrupt is never answered |
//! | `/fake freeze` | starts the turn, then stops reading and answering anything (a frozen process) |
//! | `/fake malformed` | writes garbage, invalid UTF-8 and a line over the 8 MiB limit, then echoes |
//! | `/fake no-answer` | never answers `turn/start` itself, but runs the turn |
//! | `/fake thread-not-found` | answers `turn/start` with `thread not found` once per thread |
//! | `/fake items <n> <gap_us>` | from its own thread, starts `n` agent-message items `gap_us` apart, each with the text `t<CLOCK_MONOTONIC ns>` at the moment it is written, then completes the turn (the load bench measures event latency with it) |
//!
//! Faults that must survive a restart (the resume path) come from `$CODEX_HOME/fake-codex.json`:
//! `{"resume_error": "<message>"}` fails every `thread/resume` with that message;
//! `{"active_writer": N}` fails the first N resumes of this process with `active writer`.
//! Every request is appended to `$CODEX_HOME/fake-codex.log` as one JSON line
//! (`{"pid","method","threadId"}`) so tests can count starts, resumes and restarts.
//!
//! The environment is the one the supervisor gives Codex (cleared but for `CODEX_HOME`, `HOME`,
//! `PATH` …), which is why the control channel is a file in `CODEX_HOME` and not a variable.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde_json::{json, Value};

/// Longer than the gateway's 8 MiB line limit.
const HUGE_LINE: usize = 9 * 1024 * 1024;

/// A turn in progress (one per thread at most, as in Codex).
struct Turn {
    thread: String,
    id: String,
    text: String,
    /// Our `item/tool/call` request id, while its answer is awaited.
    call: Option<String>,
    /// `turn/interrupt` is confirmed (`true`) or ignored.
    interruptible: bool,
}

struct Fake {
    home: PathBuf,
    /// Thread id -> the `hooks` object of its config.
    threads: HashMap<String, Value>,
    /// Thread id -> its running turn.
    turns: HashMap<String, Turn>,
    next: u64,
    /// Threads whose `turn/start` already failed with `thread not found` once.
    not_found_once: HashSet<String>,
    resumes_refused: u64,
}

fn main() {
    let home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut fake = Fake {
        home,
        threads: HashMap::new(),
        turns: HashMap::new(),
        next: 1,
        not_found_once: HashSet::new(),
        resumes_refused: 0,
    };
    let stdin = std::io::stdin();
    for line in stdin.lock().split(b'\n') {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        fake.handle(msg);
    }
}

impl Fake {
    /// Unique across processes too, as Codex's ids are: the gateway keys stored tool answers by
    /// thread and call id, so a restarted fake reusing `call-3` would be answered from the store.
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", std::process::id(), self.next)
    }

    fn handle(&mut self, msg: Value) {
        let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
        let id = msg.get("id").cloned().filter(|i| !i.is_null());
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        match (method, id) {
            (Some(method), Some(id)) => {
                self.log(&method, &params);
                self.request(&method, id, &params);
            }
            // `initialized` and other notifications need nothing.
            (Some(_), None) => {}
            (None, Some(id)) => self.answered(&id),
            (None, None) => {}
        }
    }

    fn request(&mut self, method: &str, id: Value, p: &Value) {
        let thread = p
            .get("threadId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match method {
            "initialize" => reply(&id, json!({"userAgent": "codex-webchat-fake-codex"})),
            "thread/start" => {
                let thread = self.id("thread");
                self.threads.insert(thread.clone(), hooks_of(p));
                reply(&id, json!({"thread": {"id": thread}}));
            }
            "thread/resume" => {
                let control = self.control();
                if let Some(message) = control.get("resume_error").and_then(Value::as_str) {
                    return error(&id, -32600, message);
                }
                let writer_faults = control
                    .get("active_writer")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                if self.resumes_refused < writer_faults {
                    self.resumes_refused += 1;
                    return error(
                        &id,
                        -32600,
                        &format!("cannot resume thread {thread}: thread has an active writer"),
                    );
                }
                self.threads.insert(thread.clone(), hooks_of(p));
                reply(&id, json!({"thread": {"id": thread}}));
            }
            "thread/unsubscribe" => {
                self.threads.remove(&thread);
                reply(&id, json!({}));
            }
            "hooks/list" => reply(&id, self.hooks_list(&thread)),
            "turn/start" => self.turn_start(id, &thread, p),
            "turn/interrupt" => match self.turns.remove(&thread) {
                Some(turn) if turn.interruptible => {
                    reply(&id, json!({}));
                    complete(&turn, "interrupted");
                }
                // Deaf: neither an answer nor a completion, ever.
                Some(turn) => {
                    self.turns.insert(thread, turn);
                }
                None => reply(&id, json!({})),
            },
            other => error(
                &id,
                -32601,
                &format!("{other} is not implemented by the fake"),
            ),
        }
    }

    fn turn_start(&mut self, id: Value, thread: &str, p: &Value) {
        if !self.threads.contains_key(thread) {
            return error(&id, -32600, &format!("thread not found: {thread}"));
        }
        let text = p
            .pointer("/input/0/text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let fault = text.strip_prefix("/fake ").unwrap_or("").trim().to_owned();
        if fault == "thread-not-found" && self.not_found_once.insert(thread.to_owned()) {
            // As if this process had unloaded the thread: the gateway must resume and retry.
            self.threads.remove(thread);
            return error(&id, -32600, &format!("thread not found: {thread}"));
        }
        let turn_id = self.id("turn");
        if fault != "no-answer" {
            reply(&id, json!({"turn": {"id": turn_id}}));
        }
        send(&json!({"method": "turn/started",
            "params": {"threadId": thread, "turn": {"id": turn_id}}}));
        let mut turn = Turn {
            thread: thread.to_owned(),
            id: turn_id,
            text,
            call: None,
            interruptible: true,
        };
        match fault.as_str() {
            "die" => {
                let item = self.id("msg");
                item_started(
                    &turn,
                    json!({"type": "agentMessage", "id": item, "text": ""}),
                );
                send(&json!({"method": "item/agentMessage/delta", "params": {
                    "threadId": turn.thread, "turnId": turn.id, "itemId": item,
                    "delta": "about to die"}}));
                std::process::exit(3);
            }
            "hang" => {}
            items if items.starts_with("items ") => {
                let mut args = items.split_whitespace().skip(1).map(|a| a.parse::<u64>());
                let (Some(Ok(n)), Some(Ok(gap_us))) = (args.next(), args.next()) else {
                    return complete(&turn, "failed");
                };
                let ids: Vec<String> = (0..n).map(|_| self.id("msg")).collect();
                // Its own thread, so several sessions stream at once.
                std::thread::spawn(move || {
                    for id in ids {
                        item_started(
                            &turn,
                            json!({"type": "agentMessage", "id": id, "text": format!("t{}", monotonic_ns())}),
                        );
                        if gap_us > 0 {
                            std::thread::sleep(std::time::Duration::from_micros(gap_us));
                        }
                    }
                    complete(&turn, "completed");
                });
                return;
            }
            "hang-deaf" => turn.interruptible = false,
            "freeze" => loop {
                // Alive, holding its pipes, answering nothing: only a kill ends this.
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            "malformed" => {
                write_raw(b"this is not json\n");
                write_raw(b"[1, 2, 3]\n");
                write_raw(b"{\"neither\": \"method nor id\"}\n");
                write_raw(b"{\"method\": 42}\n");
                write_raw(b"\xff\xfe not utf-8 \xc0\n");
                write_raw(b"{\"id\": 987654, \"result\": {}}\n");
                let mut huge = Vec::with_capacity(HUGE_LINE + 100);
                huge.extend_from_slice(
                    b"{\"method\":\"item/agentMessage/delta\",\"params\":{\"delta\":\"",
                );
                huge.resize(HUGE_LINE, b'x');
                huge.extend_from_slice(b"\"}}\n");
                write_raw(&huge);
                self.ask_message_tool(&mut turn);
            }
            _ => self.ask_message_tool(&mut turn),
        }
        self.turns.insert(turn.thread.clone(), turn);
    }

    /// Calls the `message` tool with the echo; the turn goes on when the gateway answers.
    fn ask_message_tool(&mut self, turn: &mut Turn) {
        let call = self.id("call");
        let request = self.id("srv");
        let echo = format!("Echo: {}", turn.text);
        let arguments = json!({"action": "send", "message": echo});
        item_started(
            turn,
            json!({"type": "dynamicToolCall", "id": call, "tool": "message",
            "arguments": arguments, "status": "inProgress"}),
        );
        send(
            &json!({"id": request, "method": "item/tool/call", "params": {
            "threadId": turn.thread, "turnId": turn.id, "callId": call,
            "tool": "message", "arguments": arguments}}),
        );
        turn.call = Some(request);
    }

    /// The gateway answered one of our requests: the tool call of a running turn.
    fn answered(&mut self, id: &Value) {
        let thread = self
            .turns
            .values()
            .find(|t| t.call.is_some() && t.call.as_deref() == id.as_str())
            .map(|t| t.thread.clone());
        let Some(turn) = thread.and_then(|t| self.turns.remove(&t)) else {
            return;
        };
        let item = self.id("msg");
        item_started(
            &turn,
            json!({"type": "agentMessage", "id": item, "text": ""}),
        );
        send(&json!({"method": "item/agentMessage/delta", "params": {
            "threadId": turn.thread, "turnId": turn.id, "itemId": item, "delta": "done"}}));
        send(
            &json!({"method": "item/completed", "params": {"threadId": turn.thread,
            "turnId": turn.id, "item": {"type": "agentMessage", "id": item, "text": "done"}}}),
        );
        complete(&turn, "completed");
    }

    fn hooks_list(&self, thread: &str) -> Value {
        let mut listed = Vec::new();
        if let Some(hooks) = self.threads.get(thread).and_then(Value::as_object) {
            let state = hooks.get("state");
            for (event, groups) in hooks.iter().filter(|(k, _)| *k != "state") {
                let camel = event[..1].to_ascii_lowercase() + &event[1..];
                let handlers = groups
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.get("hooks")?.as_array())
                    .flatten();
                for (n, handler) in handlers.enumerate() {
                    let command = handler.get("command").and_then(Value::as_str).unwrap_or("");
                    let key = format!("sessionFlags:{camel}:{n}");
                    let hash = hash_of(&(event.as_str(), command));
                    let trusted = state
                        .and_then(|s| s.get(&key))
                        .and_then(|k| k.get("trusted_hash"))
                        .and_then(Value::as_str)
                        == Some(hash.as_str());
                    listed.push(json!({
                        "key": key, "command": command, "eventName": camel,
                        "source": "sessionFlags", "currentHash": hash, "enabled": true,
                        "trustStatus": if trusted { "trusted" } else { "untrusted" },
                    }));
                }
            }
        }
        json!({"data": [{"cwd": ".", "hooks": listed, "errors": []}]})
    }

    fn control(&self) -> Value {
        std::fs::read(self.home.join("fake-codex.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    }

    fn log(&self, method: &str, p: &Value) {
        let line = json!({"pid": std::process::id(), "method": method,
            "threadId": p.get("threadId")});
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.join("fake-codex.log"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn hooks_of(p: &Value) -> Value {
    p.pointer("/config/hooks").cloned().unwrap_or(Value::Null)
}

fn hash_of<T: Hash>(t: &T) -> String {
    // DefaultHasher::new() has fixed keys: the same hash in every process, as trust needs.
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    format!("{:016x}", h.finish())
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

fn item_started(turn: &Turn, item: Value) {
    send(&json!({"method": "item/started",
        "params": {"threadId": turn.thread, "turnId": turn.id, "item": item}}));
}

fn complete(turn: &Turn, status: &str) {
    send(
        &json!({"method": "turn/completed", "params": {"threadId": turn.thread,
        "turn": {"id": turn.id, "status": status}}}),
    );
}

fn reply(id: &Value, result: Value) {
    send(&json!({"id": id, "result": result}));
}

fn error(id: &Value, code: i64, message: &str) {
    send(&json!({"id": id, "error": {"code": code, "message": message}}));
}

fn send(v: &Value) {
    write_raw(format!("{v}\n").as_bytes());
}

fn write_raw(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    // The gateway closed our output: nothing left to do but stop.
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}
