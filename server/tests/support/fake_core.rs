//! What a fake `codex app-server` answers (test-only): the JSON-RPC state machine shared by the
//! fake process (`fake_codex.rs`, the `codex-webchat-fake-codex` binary) and the in-process fake
//! (`fake_app_server.rs`, a task on the test's runtime). Both feed it every message the gateway
//! writes and carry out the [`Out`]s it returns, each over its own transport.
//!
//! It owns the fake's protocol (which requests it knows, the shapes of its answers and
//! notifications, the `/fake` faults chosen by a turn's text; see `fake_codex.rs` for the table)
//! and nothing else: it does no I/O, keeps no clock, and never reads the control file or writes
//! the request log itself (its callers do, each in its own way).
#![allow(dead_code)] // Each transport uses a different subset.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde_json::{json, Value};

/// Longer than the gateway's 8 MiB line limit.
const HUGE_LINE: usize = 9 * 1024 * 1024;

/// What the transport is to do, in order.
#[derive(Debug)]
pub enum Out {
    /// Write one JSON-RPC message as a line.
    Line(Value),
    /// Write these bytes as they are (malformed lines).
    Raw(Vec<u8>),
    /// End at once, as a process exiting with this status would (`/fake die`).
    Exit(i32),
    /// Stop reading and answering anything, holding the pipes open, until killed
    /// (`/fake freeze`).
    Freeze,
    /// Start one agent-message item per id, `gap` apart, each stamped with the moment it is
    /// written, then complete the turn (`/fake items`; see [`item_started`] and [`completed`]).
    Items {
        turn: TurnRef,
        ids: Vec<String>,
        gap: Duration,
    },
    /// Write this line `after` from now, if `turn` still runs then (`/fake retry …`): the
    /// transport keeps reading meanwhile, so a Stop is answered at once.
    Later {
        after: Duration,
        turn: TurnRef,
        line: Value,
    },
    /// A device-code sign-in waits for the person's other device: the process fake watches
    /// `$CODEX_HOME/fake-device` (`approve` or `expire`) and feeds the core a `fake/device`
    /// message; the in-process fake never completes it.
    AwaitDevice { login_id: String },
}

/// Which turn a notification is about.
#[derive(Clone, Debug)]
pub struct TurnRef {
    pub thread: String,
    pub id: String,
}

/// A turn in progress (one per thread at most, as in Codex).
struct Turn {
    turn: TurnRef,
    text: String,
    /// Our `item/tool/call` request id, while its answer is awaited.
    call: Option<String>,
    /// Our approval request id (`/fake ask`), while its answer is awaited.
    approval: Option<String>,
    /// `turn/interrupt` is confirmed (`true`) or ignored.
    interruptible: bool,
    /// How many interrupts still find "no active turn" (the turn is not running yet).
    unready: u32,
    /// `/fake steer-late`: the turn ends just before a steer reaches it.
    ends_before_steer: bool,
}

/// One fake app-server's state: what one process (or in-process instance) knows.
pub struct FakeCore {
    /// Part of every id, so ids are unique across processes too, as Codex's are: the gateway
    /// keys stored tool answers by thread and call id, so a restarted fake reusing `call-3`
    /// would be answered from the store.
    instance: String,
    /// Thread id -> the `hooks` object of its config.
    threads: HashMap<String, Value>,
    /// Thread id -> its running turn.
    turns: HashMap<String, Turn>,
    next: u64,
    /// Threads whose `turn/start` already failed with `thread not found` once.
    not_found_once: HashSet<String>,
    resumes_refused: u64,
    /// Thread id -> the id of its latest turn (what a `stale-turn` start answers with).
    last_turn: HashMap<String, String>,
    /// The account `account/read` reports (`null`: signed out); `None` until first asked, then
    /// from the control file's `"account"` (an API key account when it says nothing).
    account: Option<Value>,
    /// The device-code sign-in waiting for approval.
    device_login: Option<String>,
}

/// A request's method and `threadId`, as the request logs record them; `None` for anything but
/// a request.
pub fn request_of(msg: &Value) -> Option<(&str, Option<&str>)> {
    msg.get("id").filter(|id| !id.is_null())?;
    let method = msg.get("method")?.as_str()?;
    let thread = msg.pointer("/params/threadId").and_then(Value::as_str);
    Some((method, thread))
}

impl FakeCore {
    pub fn new(instance: impl Into<String>) -> Self {
        FakeCore {
            instance: instance.into(),
            threads: HashMap::new(),
            turns: HashMap::new(),
            next: 1,
            not_found_once: HashSet::new(),
            resumes_refused: 0,
            last_turn: HashMap::new(),
            account: None,
            device_login: None,
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", self.instance, self.next)
    }

    /// One message from the gateway. `control` reads the faults that outlive a restart
    /// (`resume_error`, `active_writer`; see `fake_codex.rs`), when a resume needs them.
    pub fn handle(&mut self, msg: &Value, control: impl FnOnce() -> Value) -> Vec<Out> {
        let method = msg.get("method").and_then(Value::as_str);
        let id = msg.get("id").cloned().filter(|i| !i.is_null());
        let params = msg.get("params").unwrap_or(&Value::Null);
        match (method, id) {
            (Some(method), Some(id)) => self.request(method, id, params, control),
            // The gateway answered one of our requests: the tool call of a running turn.
            (None, Some(id)) => self.answered(&id, msg.get("result").unwrap_or(&Value::Null)),
            // The person's other device approved or let expire a device code (`Out::AwaitDevice`).
            (Some("fake/device"), None) => self.device_outcome(params),
            // `initialized` and other notifications need nothing.
            _ => Vec::new(),
        }
    }

    fn request(
        &mut self,
        method: &str,
        id: Value,
        p: &Value,
        control: impl FnOnce() -> Value,
    ) -> Vec<Out> {
        let thread = p
            .get("threadId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match method {
            "initialize" => vec![reply(&id, json!({"userAgent": "codex-webchat-fake-codex"}))],
            "thread/start" => {
                let thread = self.id("thread");
                self.threads.insert(thread.clone(), hooks_of(p));
                vec![reply(&id, json!({"thread": {"id": thread}}))]
            }
            "thread/resume" => {
                let control = control();
                if let Some(message) = control.get("resume_error").and_then(Value::as_str) {
                    return vec![error(&id, -32600, message)];
                }
                let writer_faults = control
                    .get("active_writer")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                if self.resumes_refused < writer_faults {
                    self.resumes_refused += 1;
                    let message =
                        format!("cannot resume thread {thread}: thread has an active writer");
                    return vec![error(&id, -32600, &message)];
                }
                self.threads.insert(thread.clone(), hooks_of(p));
                vec![reply(&id, json!({"thread": {"id": thread}}))]
            }
            "thread/unsubscribe" => {
                self.threads.remove(&thread);
                vec![reply(&id, json!({}))]
            }
            "hooks/list" => vec![reply(&id, self.hooks_list(&thread))],
            // One model, in two pages, as `model/list` pages with `nextCursor`.
            "model/list" => match p.get("cursor").and_then(Value::as_str) {
                None => vec![reply(
                    &id,
                    json!({"data": [], "nextCursor": format!("page-2-{}", self.instance)}),
                )],
                Some(_) => vec![reply(
                    &id,
                    json!({"data": [{"id": "fake-model", "model": "fake-model",
                        "displayName": "Fake model", "hidden": false, "isDefault": true,
                        "supportedReasoningEfforts": [{"reasoningEffort": "low", "description": ""}],
                        "defaultReasoningEffort": "low"}], "nextCursor": null}),
                )],
            },
            "config/read" => vec![reply(&id, json!({"config": {}, "origins": {}}))],
            "account/read"
            | "account/login/start"
            | "account/login/cancel"
            | "account/logout"
            | "account/rateLimits/read" => self.account_request(method, id, p, control),
            "turn/start" => self.turn_start(id, &thread, p),
            "turn/steer" => self.turn_steer(id, &thread, p),
            "turn/interrupt" => match self.turns.remove(&thread) {
                // As Codex does right after answering `turn/start`: the turn runs on.
                Some(mut turn) if turn.unready > 0 => {
                    turn.unready -= 1;
                    self.turns.insert(thread, turn);
                    vec![error(&id, -32600, "no active turn to interrupt")]
                }
                Some(turn) if turn.interruptible => {
                    vec![
                        reply(&id, json!({})),
                        Out::Line(completed(&turn.turn, "interrupted")),
                    ]
                }
                // Deaf: neither an answer nor a completion, ever.
                Some(turn) => {
                    self.turns.insert(thread, turn);
                    Vec::new()
                }
                None => vec![reply(&id, json!({}))],
            },
            other => vec![error(
                &id,
                -32601,
                &format!("{other} is not implemented by the fake"),
            )],
        }
    }

    /// The account requests, shaped as Codex 0.169 answers them (measured with an empty home):
    /// an API key is taken as it is, a device code waits for `fake/device`, sign-out forgets.
    fn account_request(
        &mut self,
        method: &str,
        id: Value,
        p: &Value,
        control: impl FnOnce() -> Value,
    ) -> Vec<Out> {
        let account = self
            .account
            .get_or_insert_with(|| match control().get("account").and_then(Value::as_str) {
                Some("signed_out") => Value::Null,
                Some("chatgpt") => json!({"type": "chatgpt", "email": "fake@example.com",
                    "planType": "plus"}),
                _ => json!({"type": "apiKey"}),
            })
            .clone();
        let updated = |auth: Value, plan: Value| {
            Out::Line(json!({"method": "account/updated",
                "params": {"authMode": auth, "planType": plan}}))
        };
        match (method, p.get("type").and_then(Value::as_str)) {
            ("account/read", _) => vec![reply(
                &id,
                json!({"account": account, "requiresOpenaiAuth": true}),
            )],
            ("account/rateLimits/read", _) if account.get("type") == Some(&json!("chatgpt")) => {
                vec![reply(
                    &id,
                    json!({"rateLimits": {"primary": {"usedPercent": 7,
                        "windowDurationMins": 300, "resetsAt": null}, "secondary": null}}),
                )]
            }
            ("account/rateLimits/read", _) => vec![error(
                &id,
                -32600,
                "chatgpt authentication required to read rate limits",
            )],
            ("account/login/start", Some("apiKey")) => {
                self.account = Some(json!({"type": "apiKey"}));
                vec![
                    reply(&id, json!({"type": "apiKey"})),
                    Out::Line(json!({"method": "account/login/completed",
                        "params": {"loginId": null, "success": true, "error": null}})),
                    updated(json!("apikey"), Value::Null),
                ]
            }
            ("account/login/start", Some("chatgptDeviceCode")) => {
                let login_id = self.id("login");
                self.device_login = Some(login_id.clone());
                vec![
                    reply(
                        &id,
                        json!({"type": "chatgptDeviceCode", "loginId": login_id,
                            "userCode": format!("FAKE-{}", self.next),
                            "verificationUrl": "https://auth.openai.com/codex/device"}),
                    ),
                    Out::AwaitDevice { login_id },
                ]
            }
            ("account/login/cancel", _) => {
                let login_id = p.get("loginId").and_then(Value::as_str);
                if login_id.is_some() && self.device_login.as_deref() == login_id {
                    self.device_login = None;
                    vec![reply(&id, json!({"status": "canceled"}))]
                } else {
                    let shown = login_id.unwrap_or("");
                    vec![error(&id, -32600, &format!("invalid login id: {shown}"))]
                }
            }
            ("account/logout", _) => {
                self.account = Some(Value::Null);
                vec![reply(&id, json!({})), updated(Value::Null, Value::Null)]
            }
            (other, _) => vec![error(
                &id,
                -32600,
                &format!("{other}: unsupported login type"),
            )],
        }
    }

    /// `fake/device {loginId, outcome}`: the device code was approved or expired.
    fn device_outcome(&mut self, p: &Value) -> Vec<Out> {
        let login_id = p.get("loginId").and_then(Value::as_str);
        if login_id.is_none() || self.device_login.as_deref() != login_id {
            return Vec::new();
        }
        self.device_login = None;
        let completed = |success: bool, error: Value| {
            Out::Line(json!({"method": "account/login/completed",
                "params": {"loginId": login_id, "success": success, "error": error}}))
        };
        if p.get("outcome").and_then(Value::as_str) == Some("approve") {
            self.account = Some(json!({"type": "chatgpt", "email": "fake@example.com",
                "planType": "plus"}));
            vec![
                completed(true, Value::Null),
                Out::Line(json!({"method": "account/updated",
                    "params": {"authMode": "chatgpt", "planType": "plus"}})),
            ]
        } else {
            vec![completed(false, json!("device code expired"))]
        }
    }

    fn turn_start(&mut self, id: Value, thread: &str, p: &Value) -> Vec<Out> {
        if !self.threads.contains_key(thread) {
            return vec![error(&id, -32600, &format!("thread not found: {thread}"))];
        }
        let text = p
            .pointer("/input/0/text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let fault = text.strip_prefix("/fake ").unwrap_or("").trim().to_owned();
        if let Some(mut busy) = self.turns.remove(thread) {
            // As Codex does on a thread whose turn still runs (one whose interrupt it ignored):
            // the input steers that turn. The answer names it, no `turn/started` follows, and the
            // turn replies to the new text.
            let mut out = vec![reply(&id, json!({"turn": {"id": busy.turn.id}}))];
            if busy.call.is_none() && busy.approval.is_none() {
                busy.text = text;
                let echo = format!("Echo: {}", busy.text);
                self.ask_message_tool(&mut busy, &mut out, echo);
            }
            self.turns.insert(thread.to_owned(), busy);
            return out;
        }
        if fault == "thread-not-found" && self.not_found_once.insert(thread.to_owned()) {
            // As if this process had unloaded the thread: the gateway must resume and retry.
            self.threads.remove(thread);
            return vec![error(&id, -32600, &format!("thread not found: {thread}"))];
        }
        let turn_id = self.id("turn");
        let previous = self.last_turn.insert(thread.to_owned(), turn_id.clone());
        let stale = previous.filter(|_| fault == "stale-turn");
        let mut out = Vec::new();
        if fault != "no-answer" {
            // Codex answers a start on a thread it still counts as busy with the busy turn's id.
            let answered = stale.as_ref().unwrap_or(&turn_id);
            out.push(reply(&id, json!({"turn": {"id": answered}})));
        }
        if let Some(previous) = stale {
            // And a late word about that turn, which is over.
            let over = TurnRef {
                thread: thread.to_owned(),
                id: previous,
            };
            out.push(Out::Line(completed(&over, "interrupted")));
        }
        out.push(Out::Line(json!({"method": "turn/started",
            "params": {"threadId": thread, "turn": {"id": turn_id}}})));
        let mut turn = Turn {
            turn: TurnRef {
                thread: thread.to_owned(),
                id: turn_id,
            },
            text,
            call: None,
            approval: None,
            interruptible: true,
            unready: 0,
            ends_before_steer: false,
        };
        match fault.as_str() {
            "die" => {
                let item = self.id("msg");
                out.push(Out::Line(item_started(
                    &turn.turn,
                    json!({"type": "agentMessage", "id": item, "text": ""}),
                )));
                out.push(delta(&turn.turn, &item, "about to die"));
                out.push(Out::Exit(3));
                return out;
            }
            "hang" => {}
            // Running, with a word of prose to show for it, until steered (or stopped).
            "steerable" | "steer-late" => {
                turn.ends_before_steer = fault == "steer-late";
                let item = self.id("msg");
                out.push(Out::Line(item_started(
                    &turn.turn,
                    json!({"type": "agentMessage", "id": item, "text": ""}),
                )));
                out.push(delta(&turn.turn, &item, "working"));
            }
            items if items.starts_with("items ") => {
                let mut args = items.split_whitespace().skip(1).map(|a| a.parse::<u64>());
                let (Some(Ok(n)), Some(Ok(gap_us))) = (args.next(), args.next()) else {
                    out.push(Out::Line(completed(&turn.turn, "failed")));
                    return out;
                };
                let ids = (0..n).map(|_| self.id("msg")).collect();
                out.push(Out::Items {
                    turn: turn.turn,
                    ids,
                    gap: Duration::from_micros(gap_us),
                });
                return out;
            }
            // Codex's provider retries (`error` with `willRetry`, as for a refused connection):
            // at once and then every 10 s for a long while, or `n` of them 30 s apart and then the echo.
            retry if retry == "retry-forever" || retry.starts_with("retry ") => {
                let (count, gap) = match retry.strip_prefix("retry ") {
                    Some(n) => (n.trim().parse::<u32>().unwrap_or(1), 30),
                    None => (1000, 10),
                };
                // `retry-forever` retries at once (then every 10 s), so a short stall limit
                // always has a last error to name.
                let first = u64::from(retry == "retry-forever");
                for k in 1..=count {
                    out.push(Out::Later {
                        after: Duration::from_secs((u64::from(k) - first) * gap),
                        turn: turn.turn.clone(),
                        line: retry_error(&turn.turn, k),
                    });
                }
                if retry != "retry-forever" {
                    let mut echo_out = Vec::new();
                    let echo = format!("Echo: {}", turn.text);
                    self.ask_message_tool(&mut turn, &mut echo_out, echo);
                    let after = Duration::from_secs(u64::from(count) * gap + 1);
                    out.extend(echo_out.into_iter().map(|o| match o {
                        Out::Line(line) => Out::Later {
                            after,
                            turn: turn.turn.clone(),
                            line,
                        },
                        other => other,
                    }));
                }
            }
            "hang-deaf" => turn.interruptible = false,
            "hang-unready" => turn.unready = 1,
            ask if ask.starts_with("ask ") => {
                let mut words = ask.split_whitespace().skip(1);
                let kind = words.next().unwrap_or("");
                let then = words.next().unwrap_or("");
                let request = self.ask_person(&turn.turn, kind, &mut out);
                match then {
                    // Codex closes the request itself, and the turn goes on.
                    "resolve" => {
                        out.push(Out::Line(json!({"method": "serverRequest/resolved",
                            "params": {"threadId": turn.turn.thread, "requestId": request}})));
                        let echo = format!("Echo: {}", turn.text);
                        self.ask_message_tool(&mut turn, &mut out, echo);
                    }
                    _ => turn.approval = Some(request),
                }
            }
            "freeze" => {
                out.push(Out::Freeze);
                return out;
            }
            limits if limits.starts_with("limits ") => {
                // A real account's rate limits, as Codex reports them after a model response.
                let mut used = limits
                    .split_whitespace()
                    .skip(1)
                    .map(|w| w.parse::<u64>().ok());
                let (primary, secondary) = (used.next().flatten(), used.next().flatten());
                let window = |used: Option<u64>, mins: u64| {
                    used.map(|u| json!({"usedPercent": u, "windowDurationMins": mins, "resetsAt": 1_800_000_000}))
                };
                out.push(Out::Line(json!({"method": "account/rateLimits/updated",
                    "params": {"rateLimits": {"primary": window(primary, 300),
                        "secondary": window(secondary, 10_080), "planType": "plus"}}})));
                let echo = format!("Echo: {}", turn.text);
                self.ask_message_tool(&mut turn, &mut out, echo);
            }
            "malformed" => {
                for garbage in [
                    &b"this is not json\n"[..],
                    b"[1, 2, 3]\n",
                    b"{\"neither\": \"method nor id\"}\n",
                    b"{\"method\": 42}\n",
                    b"\xff\xfe not utf-8 \xc0\n",
                    b"{\"id\": 987654, \"result\": {}}\n",
                ] {
                    out.push(Out::Raw(garbage.to_vec()));
                }
                let mut huge = Vec::with_capacity(HUGE_LINE + 100);
                huge.extend_from_slice(
                    b"{\"method\":\"item/agentMessage/delta\",\"params\":{\"delta\":\"",
                );
                huge.resize(HUGE_LINE, b'x');
                huge.extend_from_slice(b"\"}}\n");
                out.push(Out::Raw(huge));
                let echo = format!("Echo: {}", turn.text);
                self.ask_message_tool(&mut turn, &mut out, echo);
            }
            _ => {
                let echo = format!("Echo: {}", turn.text);
                self.ask_message_tool(&mut turn, &mut out, echo)
            }
        }
        self.turns.insert(turn.turn.thread.clone(), turn);
        out
    }

    /// `turn/steer`, answered as Codex 0.169 does (`tests/fixtures/codex/steer/errors.json`):
    /// the running turn takes the input and replies to it; no running turn, or another one than
    /// expected, is an error.
    fn turn_steer(&mut self, id: Value, thread: &str, p: &Value) -> Vec<Out> {
        let expected = p
            .get("expectedTurnId")
            .and_then(Value::as_str)
            .unwrap_or("");
        let text = p
            .pointer("/input/0/text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(mut busy) = self.turns.remove(thread) else {
            return vec![error(&id, -32600, "no active turn to steer")];
        };
        if busy.ends_before_steer {
            // The turn ended just before the steer reached Codex: refused, and the turn's
            // completion follows.
            return vec![
                error(&id, -32600, "no active turn to steer"),
                Out::Line(completed(&busy.turn, "completed")),
            ];
        }
        if busy.turn.id != expected {
            let message = format!(
                "expected active turn id `{expected}` but found `{}`",
                busy.turn.id
            );
            self.turns.insert(thread.to_owned(), busy);
            return vec![error(&id, -32600, &message)];
        }
        let mut out = vec![reply(&id, json!({"turnId": busy.turn.id}))];
        if busy.call.is_none() && busy.approval.is_none() {
            busy.text = text;
            let echo = format!("Echo: {}", busy.text);
            self.ask_message_tool(&mut busy, &mut out, echo);
        }
        self.turns.insert(thread.to_owned(), busy);
        out
    }

    /// Asks a person (`/fake ask <kind>`), as Codex 0.169 does for `kind` = `command`,
    /// `file-change` (after the `fileChange` item with its diff), `permissions`, `question`
    /// (`requestUserInput`) or `elicitation` (an MCP form). Returns the request's id.
    fn ask_person(&mut self, turn: &TurnRef, kind: &str, out: &mut Vec<Out>) -> String {
        let request = self.id("srv");
        let item = self.id("call");
        let (method, params) = match kind {
            "command" => {
                out.push(Out::Line(item_started(
                    turn,
                    json!({"type": "commandExecution", "id": item,
                        "command": "/bin/bash -lc 'touch /outside/x'", "status": "inProgress"}),
                )));
                (
                    "item/commandExecution/requestApproval",
                    json!({
                    "threadId": turn.thread, "turnId": turn.id, "itemId": item, "kind": "command",
                    "command": "/bin/bash -lc 'touch /outside/x'", "cwd": "/w",
                    "reason": "needs to write outside the workspace",
                    "availableDecisions": ["accept", "acceptForSession", "decline", "cancel"]}),
                )
            }
            "file-change" => {
                out.push(Out::Line(item_started(
                    turn,
                    json!({"type": "fileChange", "id": item, "status": "inProgress",
                        "changes": [{"path": "/w/notes.txt", "kind": {"type": "update"},
                            "diff": "@@ -1 +1,2 @@\n first\n+second\n"}]}),
                )));
                (
                    "item/fileChange/requestApproval",
                    json!({
                    "threadId": turn.thread, "turnId": turn.id, "itemId": item,
                    "reason": null, "grantRoot": null}),
                )
            }
            "permissions" => (
                "item/permissions/requestApproval",
                json!({
                "threadId": turn.thread, "turnId": turn.id, "itemId": item, "cwd": "/w",
                "reason": "wants to write the cache",
                "permissions": {"fileSystem": {"write": ["/w/.cache"]}}}),
            ),
            "question" => (
                "item/tool/requestUserInput",
                json!({
                "threadId": turn.thread, "turnId": turn.id, "itemId": item, "isBlocking": true,
                "questions": [{"id": "colour", "header": "Colour", "question": "Which colour?"}]}),
            ),
            _ => (
                "mcpServer/elicitation/request",
                json!({
                "threadId": turn.thread, "turnId": turn.id, "serverName": "docs",
                "mode": "form", "message": "Pick a colour",
                "requestedSchema": {"type": "object",
                    "properties": {"colour": {"type": "string"}}}}),
            ),
        };
        out.push(Out::Line(
            json!({"id": request, "method": method, "params": params}),
        ));
        request
    }

    /// Calls the `message` tool with `echo`; the turn goes on when the gateway answers.
    fn ask_message_tool(&mut self, turn: &mut Turn, out: &mut Vec<Out>, echo: String) {
        let call = self.id("call");
        let request = self.id("srv");
        let arguments = json!({"action": "send", "message": echo});
        out.push(Out::Line(item_started(
            &turn.turn,
            json!({"type": "dynamicToolCall", "id": call, "tool": "message",
            "arguments": arguments, "status": "inProgress"}),
        )));
        out.push(Out::Line(
            json!({"id": request, "method": "item/tool/call", "params": {
            "threadId": turn.turn.thread, "turnId": turn.turn.id, "callId": call,
            "tool": "message", "arguments": arguments}}),
        ));
        turn.call = Some(request);
    }

    /// The answer to a request of a running turn. To an approval: the `message` tool says
    /// `Answer: <the answer's JSON>`, so a test sees exactly what reached Codex. To the tool
    /// call: a last agent message, then the turn completes.
    fn answered(&mut self, id: &Value, result: &Value) -> Vec<Out> {
        let asked = self
            .turns
            .values()
            .find(|t| t.approval.is_some() && t.approval.as_deref() == id.as_str())
            .map(|t| t.turn.thread.clone());
        if let Some(mut turn) = asked.and_then(|t| self.turns.remove(&t)) {
            turn.approval = None;
            let mut out = Vec::new();
            self.ask_message_tool(&mut turn, &mut out, format!("Answer: {result}"));
            self.turns.insert(turn.turn.thread.clone(), turn);
            return out;
        }
        let thread = self
            .turns
            .values()
            .find(|t| t.call.is_some() && t.call.as_deref() == id.as_str())
            .map(|t| t.turn.thread.clone());
        let Some(turn) = thread.and_then(|t| self.turns.remove(&t)) else {
            return Vec::new();
        };
        let turn = turn.turn;
        let item = self.id("msg");
        vec![
            Out::Line(item_started(
                &turn,
                json!({"type": "agentMessage", "id": item, "text": ""}),
            )),
            delta(&turn, &item, "done"),
            Out::Line(
                json!({"method": "item/completed", "params": {"threadId": turn.thread,
                "turnId": turn.id, "item": {"type": "agentMessage", "id": item, "text": "done"}}}),
            ),
            Out::Line(completed(&turn, "completed")),
        ]
    }

    /// Reports the hooks a thread was given in its `config` as trusted when the `hooks.state`
    /// hash matches, so the gateway's trust check passes exactly as with the real Codex.
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

/// `item/started` for `item` in `turn`.
pub fn item_started(turn: &TurnRef, item: Value) -> Value {
    json!({"method": "item/started",
        "params": {"threadId": turn.thread, "turnId": turn.id, "item": item}})
}

/// `turn/completed` with `status` (`completed`, `interrupted`, `failed`).
/// Whether `turn` is still running (a [`Out::Later`] for a finished turn is dropped).
impl FakeCore {
    pub fn running(&self, turn: &TurnRef) -> bool {
        self.turns
            .get(&turn.thread)
            .is_some_and(|t| t.turn.id == turn.id)
    }
}

/// Codex's `error` notification for a provider retry, shaped as 0.169 sends it.
fn retry_error(turn: &TurnRef, attempt: u32) -> Value {
    json!({"method": "error", "params": {"threadId": turn.thread, "turnId": turn.id,
        "willRetry": true, "error": {"message": format!("Reconnecting... {attempt}/5"),
        "codexErrorInfo": {"responseStreamDisconnected": {}}, "additionalDetails": null}}})
}

pub fn completed(turn: &TurnRef, status: &str) -> Value {
    json!({"method": "turn/completed", "params": {"threadId": turn.thread,
        "turn": {"id": turn.id, "status": status}}})
}

fn delta(turn: &TurnRef, item: &str, delta: &str) -> Out {
    Out::Line(json!({"method": "item/agentMessage/delta", "params": {
        "threadId": turn.thread, "turnId": turn.id, "itemId": item, "delta": delta}}))
}

fn reply(id: &Value, result: Value) -> Out {
    Out::Line(json!({"id": id, "result": result}))
}

fn error(id: &Value, code: i64, message: &str) -> Out {
    Out::Line(json!({"id": id, "error": {"code": code, "message": message}}))
}
