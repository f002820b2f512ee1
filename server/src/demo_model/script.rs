//! The demo model's behaviour: which directive the user text asks for, and what to answer at
//! each step of it.
//!
//! A directive runs as a short script of steps. The step is the number of function calls already
//! in the history after the user message, so every response moves the script forward and a turn
//! can never loop, whatever the tools answer.
//!
//! A message of several lines that each start with a directive is a sequence: the directives run
//! one after the other in the same turn, each taking as many steps as it makes function calls.

use std::time::Duration;

use serde_json::{json, Value};

use super::request::{PastCall, Transcript};

pub(crate) use super::exec_output::shell_report;
pub(crate) use super::request::MESSAGE_TOOL;
/// Codex's native shell tool (0.169.0, unified exec), as listed in the request's `tools`.
pub(crate) const SHELL_TOOL: &str = "exec_command";
/// Codex's checklist tool, offered once `tools.update_plan.enabled` is set (see
/// `codex_config_toml`); its arguments are `{explanation?, plan: [{step, status}]}` with status
/// `pending`, `in_progress` or `completed`, and each call becomes a `turn/plan/updated`.
pub(crate) const PLAN_TOOL: &str = "update_plan";
/// The steps `/plan` walks through.
pub(crate) const PLAN_STEPS: [&str; 3] = ["Read the request", "Do the work", "Report back"];
/// What `/plan`'s plan says it is for.
pub(crate) const PLAN_EXPLANATION: &str = "The demo model's /plan directive";
/// What `/plan` and `/think` send when they are done.
pub(crate) const PLANNED: &str = "planned";
pub(crate) const THOUGHT: &str = "thought";
/// Upper bounds for `/stream`, so one message cannot occupy the server for days.
pub(crate) const MAX_STREAM_WORDS: u32 = 10_000;
pub(crate) const MAX_STREAM_GAP_MS: u64 = 60_000;
/// `exec_command` returns after this long even if the command still runs (Codex caps the value at
/// 30 s; its default is 10 s). The longest wait gives `/shell` the best chance of a full output.
const SHELL_YIELD_TIME_MS: u64 = 30_000;
/// The final text that ends every tool-calling directive.
pub(crate) const DONE: &str = "done";

pub(crate) const STREAM_USAGE: &str =
    "usage: /stream <n> <ms> (n words, at most 10000; ms between words, at most 60000)";
pub(crate) const FLAKY_USAGE: &str = "usage: /flaky <n> (n failures, at most 4)";
/// At most this many 503s for `/flaky`: Codex gives up after `stream_max_retries` (see
/// `codex_config_toml`), and `/flaky` is meant to end well.
pub(crate) const MAX_FLAKY: u32 = 4;
/// What `/flaky` sends once the failures are over.
pub(crate) const FLAKY_OK: &str = "flaky ok";
const SAY_USAGE: &str = "usage: /say <text>";
const FINAL_USAGE: &str = "usage: /final <text>";
const SHELL_USAGE: &str = "usage: /shell <command>";
pub(crate) const THINK_USAGE: &str = "usage: /think <text>";
pub(crate) const ESCALATE_USAGE: &str = "usage: /escalate <command>";
pub(crate) const EDIT_USAGE: &str = "usage: /edit <path> <text>";
/// What `/escalate` tells Codex (and the person asked) the escalation is for.
pub(crate) const ESCALATE_JUSTIFICATION: &str =
    "The demo model's /escalate directive asks to run this command outside the sandbox.";
/// The start of the tool output Codex 0.169 gives when an `apply_patch` cannot even be checked
/// because the file to update does not exist, e.g.
/// `apply_patch verification failed: Failed to read file to update /w/notes.txt: No such file or directory (os error 2)`.
const PATCH_MISSING_FILE: &str = "Failed to read file to update";
/// Codex 0.169 refuses an escalation request outright under `approvalPolicy: never` (the
/// full-access mode), with this output, without running the command; there is no sandbox to
/// escape then, so `/escalate` runs the command again without asking.
const ESCALATION_REFUSED: &str =
    "you cannot ask for escalated permissions if the approval policy is Never";
/// In the tool output of an `apply_patch` that was applied (after Codex's exec header).
const PATCH_SUCCESS: &str = "Success. Updated the following files:";
pub(crate) const SEND_USAGE: &str = "usage: /send <channel> <target> <text> (or /send last <text>)";
/// The `/send` channel that needs no target: the gateway sends to the session's last external
/// channel and target.
const LAST_CHANNEL: &str = "last";
/// The words `parse_directive` recognises; a line starting with one of them is a directive.
const DIRECTIVE_WORDS: &[&str] = &[
    "/say",
    "/final",
    "/shell",
    "/escalate",
    "/edit",
    "/send",
    "/stream",
    "/markdown",
    "/fail",
    "/flaky",
    "/offline",
    "/plan",
    "/think",
];
const NO_USER_MESSAGE: &str = "demo model: the request has no user message";

/// Sent by `/markdown`. The last block is hostile on purpose: the UI must show it inert.
pub(crate) const MARKDOWN_SAMPLE: &str = r#"# Markdown sample

A paragraph with **bold**, _emphasis_, ~~strikethrough~~ and `inline code`.

- first item
- second item
  - nested item
- third item

| Directive | What it does |
|---|---|
| `/say <text>` | sends the text |
| `/final <text>` | answers without a tool call |
| `/fail` | fails the turn |

```rust
fn main() {
    let greeting = "hello from the demo model";
    println!("{greeting}");
}
```

A normal link: [The Rust book](https://doc.rust-lang.org/book/).

Hostile content, which must render as inert text:

<script>alert(1)</script>

<img src=x onerror=alert(1)>

[click](javascript:alert(1))
"#;

/// What the user text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directive {
    /// Anything that is not a directive: echo it with `message`.
    Echo(String),
    Say(String),
    Final(String),
    Shell(String),
    /// Run the command with the shell tool asking for escalated permissions (outside the
    /// sandbox), then send its output.
    Escalate(String),
    /// Add the line(s) `text` to the file `path` (relative to the workspace; created if missing)
    /// with Codex's `apply_patch`, then send `edited <path>`.
    Edit {
        path: String,
        text: String,
    },
    Send {
        channel: String,
        /// `None` only for the `last` channel, whose target the gateway resolves.
        target: Option<String>,
        text: String,
    },
    Stream {
        words: u32,
        gap_ms: u64,
    },
    Markdown,
    Fail,
    /// Answer HTTP 503 this many times for the turn (Codex retries), then send `flaky ok`.
    Flaky(u32),
    /// Start every response of the turn and break the connection at once (Codex retries a
    /// broken stream, `stream_max_retries` times, then fails the turn).
    Offline,
    /// Walk a three-step plan with `update_plan`, one step further per call, then send
    /// `planned`.
    Plan,
    /// Answer with a reasoning item whose summary is the text, then send `thought`.
    Think(String),
    /// A directive with missing or malformed arguments: answer with this usage line.
    Usage(&'static str),
}

impl Directive {
    /// How many function calls the directive makes before it is done, given the calls made
    /// since it started (it may have made fewer so far). The ones that make none end the turn as
    /// soon as they are reached. `/edit` makes a second patch call when the first found no file
    /// to update, and `/escalate` a second shell call when Codex refused the escalation because
    /// nothing may ask (then there is no sandbox either).
    fn call_count(&self, calls: &[PastCall]) -> usize {
        match self {
            Directive::Echo(_)
            | Directive::Say(_)
            | Directive::Markdown
            | Directive::Send { .. }
            | Directive::Stream { .. }
            | Directive::Think(_)
            | Directive::Flaky(_) => 1,
            // One call per plan state (first step in progress, ..., all completed), then the
            // message.
            Directive::Plan => PLAN_STEPS.len() + 2,
            Directive::Shell(_) => 2,
            Directive::Escalate(_) => {
                if calls.first().is_some_and(escalation_refused) {
                    3
                } else {
                    2
                }
            }
            Directive::Edit { .. } => {
                if calls.first().is_some_and(patch_found_no_file) {
                    3
                } else {
                    2
                }
            }
            Directive::Final(_) | Directive::Fail | Directive::Offline | Directive::Usage(_) => 0,
        }
    }
}

/// Reads the directives from the user text: a sequence when it has two or more non-empty lines
/// and every one of them starts with a directive word, otherwise the one directive of the whole
/// text (so `/say hello\nworld` says both lines).
pub(crate) fn parse_script(text: &str) -> Vec<Directive> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.len() >= 2
        && lines
            .iter()
            .all(|line| DIRECTIVE_WORDS.contains(&split_first_word(line).0))
    {
        lines.into_iter().map(parse_directive).collect()
    } else {
        vec![parse_directive(text)]
    }
}

/// The first word of `text` (after leading whitespace) and the rest, untrimmed.
fn split_first_word(text: &str) -> (&str, &str) {
    let trimmed = text.trim_start();
    trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""))
}

/// Reads the directive from the user text. Only the first word counts, and it must match exactly
/// (`/sayhello` and `/Say` are ordinary text).
pub(crate) fn parse_directive(text: &str) -> Directive {
    let (word, rest) = split_first_word(text);
    let rest = rest.trim();
    let required = |usage: &'static str, make: fn(String) -> Directive| {
        if rest.is_empty() {
            Directive::Usage(usage)
        } else {
            make(rest.to_owned())
        }
    };
    match word {
        "/say" => required(SAY_USAGE, Directive::Say),
        "/final" => required(FINAL_USAGE, Directive::Final),
        "/shell" => required(SHELL_USAGE, Directive::Shell),
        "/escalate" => required(ESCALATE_USAGE, Directive::Escalate),
        "/edit" => parse_edit(rest),
        "/send" => parse_send(rest),
        "/stream" => parse_stream(rest),
        "/markdown" => Directive::Markdown,
        "/fail" => Directive::Fail,
        "/offline" => Directive::Offline,
        "/flaky" => match rest.parse::<u32>() {
            Ok(n) if n <= MAX_FLAKY => Directive::Flaky(n),
            _ => Directive::Usage(FLAKY_USAGE),
        },
        "/plan" => Directive::Plan,
        "/think" => required(THINK_USAGE, Directive::Think),
        _ => Directive::Echo(text.to_owned()),
    }
}

fn parse_edit(rest: &str) -> Directive {
    let (path, text) = split_first_word(rest);
    let text = text.trim();
    if path.is_empty() || text.is_empty() {
        return Directive::Usage(EDIT_USAGE);
    }
    Directive::Edit {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

fn parse_send(rest: &str) -> Directive {
    let mut parts = rest.splitn(2, char::is_whitespace);
    let channel = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default().trim_start();
    if channel == LAST_CHANNEL {
        let text = rest.trim();
        if text.is_empty() {
            return Directive::Usage(SEND_USAGE);
        }
        return Directive::Send {
            channel: channel.to_owned(),
            target: None,
            text: text.to_owned(),
        };
    }
    let mut parts = rest.splitn(2, char::is_whitespace);
    let target = parts.next().unwrap_or_default();
    let text = parts.next().unwrap_or_default().trim();
    if channel.is_empty() || target.is_empty() || text.is_empty() {
        return Directive::Usage(SEND_USAGE);
    }
    Directive::Send {
        channel: channel.to_owned(),
        target: Some(target.to_owned()),
        text: text.to_owned(),
    }
}

fn parse_stream(rest: &str) -> Directive {
    let args: Vec<&str> = rest.split_whitespace().collect();
    let [words, gap_ms] = args.as_slice() else {
        return Directive::Usage(STREAM_USAGE);
    };
    match (clamped_number(words), clamped_number(gap_ms)) {
        (Some(words), Some(gap_ms)) => Directive::Stream {
            words: u32::try_from(words.min(u64::from(MAX_STREAM_WORDS)))
                .unwrap_or(MAX_STREAM_WORDS),
            gap_ms: gap_ms.min(MAX_STREAM_GAP_MS),
        },
        _ => Directive::Usage(STREAM_USAGE),
    }
}

/// A non-negative decimal number; too large to represent counts as "very large" so that the
/// caller's clamp applies instead of a usage error.
fn clamped_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// HTTP 500 (the directive's contract): Codex retries it, then fails the turn.
    Fail,
    /// HTTP 503 for the first `failures` identical requests of a turn (Codex's retries), then
    /// this response.
    Flaky { failures: u32, then: Vec<Output> },
    /// Response headers, then the connection broken before any event.
    Offline,
    /// A streamed response with these output items, in order.
    Respond(Vec<Output>),
}

/// One output item of a response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// An assistant message with this text.
    Text(String),
    /// An assistant message streamed as `word1 word2 ...`, one word per delta, `gap` apart.
    Words { count: u32, gap: Duration },
    /// A reasoning item whose summary is this text (streamed as one summary part).
    Reasoning(String),
    /// A function call; `arguments` is serialised to the JSON string the API carries.
    Call {
        name: &'static str,
        arguments: Value,
    },
}

/// Decides the answer to a request.
///
/// The calls since the user message are shared out over the directives in order, each taking at
/// most its `call_count`; the first directive that is not done yet answers. When all are done the
/// turn ends with `done`.
pub(crate) fn reply(transcript: &Transcript) -> Reply {
    let answer = scripted(transcript);
    if transcript.no_message_tool {
        return plain(answer);
    }
    answer
}

/// Without a `message` tool, what a directive would send is its final text instead (which ends
/// the turn).
fn plain(answer: Reply) -> Reply {
    let unsent = |outputs: Vec<Output>| -> Vec<Output> {
        outputs
            .into_iter()
            .map(|output| match output {
                Output::Call {
                    name: MESSAGE_TOOL,
                    arguments,
                } => Output::Text(arguments["message"].as_str().unwrap_or_default().to_owned()),
                other => other,
            })
            .collect()
    };
    match answer {
        Reply::Respond(outputs) => Reply::Respond(unsent(outputs)),
        Reply::Flaky { failures, then } => Reply::Flaky {
            failures,
            then: unsent(then),
        },
        other => other,
    }
}

fn scripted(transcript: &Transcript) -> Reply {
    let Some(user_text) = &transcript.user_text else {
        return text(NO_USER_MESSAGE);
    };
    let mut remaining = transcript.calls.as_slice();
    for directive in parse_script(user_text) {
        let directive = with_images(directive, transcript.images);
        let count = directive.call_count(remaining);
        let (own, rest) = remaining.split_at(count.min(remaining.len()));
        if let Some(answer) = step(directive, own) {
            return answer;
        }
        remaining = rest;
    }
    text(DONE)
}

/// An echo of a message that carries images says how many: `Echo: <text> (N images)`.
fn with_images(directive: Directive, images: usize) -> Directive {
    match directive {
        Directive::Echo(echoed) if images > 0 => {
            let counted = if echoed.is_empty() {
                format!("({images} images)")
            } else {
                format!("{echoed} ({images} images)")
            };
            Directive::Echo(counted)
        }
        other => other,
    }
}

/// The next answer of one directive, given the calls it has made so far (at most its
/// `call_count`), or `None` once it has made all of them.
fn step(directive: Directive, calls: &[PastCall]) -> Option<Reply> {
    let first = calls.is_empty();
    match directive {
        Directive::Fail => Some(Reply::Fail),
        Directive::Offline => Some(Reply::Offline),
        Directive::Flaky(failures) => first.then(|| Reply::Flaky {
            failures,
            then: vec![send(FLAKY_OK)],
        }),
        Directive::Usage(line) => Some(text(line)),
        Directive::Final(final_text) => Some(text(&final_text)),
        Directive::Echo(echoed) => first.then(|| respond(send(&format!("Echo: {echoed}")))),
        Directive::Say(said) => first.then(|| respond(send(&said))),
        Directive::Markdown => first.then(|| respond(send(MARKDOWN_SAMPLE))),
        Directive::Think(thought) => {
            first.then(|| Reply::Respond(vec![Output::Reasoning(thought), send(THOUGHT)]))
        }
        Directive::Plan => match calls.len() {
            n if n <= PLAN_STEPS.len() => Some(respond(Output::Call {
                name: PLAN_TOOL,
                arguments: plan_arguments(n),
            })),
            n if n == PLAN_STEPS.len() + 1 => Some(respond(send(PLANNED))),
            _ => None,
        },
        Directive::Send {
            channel,
            target,
            text: body,
        } => first.then(|| {
            let mut arguments = json!({ "action": "send", "channel": channel, "message": body });
            if let Some(target) = target {
                arguments["target"] = Value::String(target);
            }
            respond(message_call(arguments))
        }),
        Directive::Stream { words, gap_ms } => first.then(|| {
            let mut outputs = Vec::with_capacity(2);
            // Zero words would be an empty assistant message; leave the item out instead.
            if words > 0 {
                outputs.push(Output::Words {
                    count: words,
                    gap: Duration::from_millis(gap_ms),
                });
            }
            outputs.push(send(&format!("streamed {words}")));
            Reply::Respond(outputs)
        }),
        Directive::Shell(command) => match calls {
            [] => Some(respond(Output::Call {
                name: SHELL_TOOL,
                // `login: false`: Codex would otherwise run `bash -lc`, and login profiles do
                // slow, machine-specific things (pyenv's rehash takes a lock that concurrent
                // shells wait on for up to a minute), which made `/shell` nondeterministic.
                arguments: json!({
                    "cmd": command,
                    "login": false,
                    "yield_time_ms": SHELL_YIELD_TIME_MS
                }),
            })),
            [shell_call] => Some(respond(send(&shell_report(shell_call)))),
            _ => None,
        },
        Directive::Escalate(command) => match calls {
            [] => Some(respond(Output::Call {
                name: SHELL_TOOL,
                arguments: json!({
                    "cmd": command,
                    "login": false,
                    "yield_time_ms": SHELL_YIELD_TIME_MS,
                    "sandbox_permissions": "require_escalated",
                    "justification": ESCALATE_JUSTIFICATION,
                }),
            })),
            [first] if escalation_refused(first) => Some(respond(Output::Call {
                name: SHELL_TOOL,
                arguments: json!({
                    "cmd": command,
                    "login": false,
                    "yield_time_ms": SHELL_YIELD_TIME_MS,
                }),
            })),
            [shell_call] => Some(respond(send(&shell_report(shell_call)))),
            [first, shell_call] if escalation_refused(first) => {
                Some(respond(send(&shell_report(shell_call))))
            }
            _ => None,
        },
        Directive::Edit { path, text } => match calls {
            [] => Some(respond(patch_call(&update_patch(&path, &text)))),
            [first] if patch_found_no_file(first) => {
                Some(respond(patch_call(&add_patch(&path, &text))))
            }
            [patch] => Some(respond(send(&edit_report(&path, patch)))),
            [first, patch] if patch_found_no_file(first) => {
                Some(respond(send(&edit_report(&path, patch))))
            }
            _ => None,
        },
    }
}

/// `update_plan`'s arguments after `done` steps are completed: the next one in progress, the rest
/// pending.
pub(crate) fn plan_arguments(done: usize) -> Value {
    let plan: Vec<Value> = PLAN_STEPS
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let status = match index.cmp(&done) {
                std::cmp::Ordering::Less => "completed",
                std::cmp::Ordering::Equal => "in_progress",
                std::cmp::Ordering::Greater => "pending",
            };
            json!({ "step": step, "status": status })
        })
        .collect();
    json!({ "explanation": PLAN_EXPLANATION, "plan": plan })
}

/// A shell call of `apply_patch` with `patch` as a here-document. Codex 0.169 offers no
/// `apply_patch` tool to a model it has no metadata for (the `apply_patch_freeform` feature is
/// removed; only a model catalog entry's `apply_patch_tool_type` turns it on), but it intercepts
/// this exact shell form and runs it as its `apply_patch` tool: a `fileChange` item, verified
/// before it runs, with a file-change approval where the policy asks for one.
fn patch_call(patch: &str) -> Output {
    Output::Call {
        name: SHELL_TOOL,
        arguments: json!({
            "cmd": format!("apply_patch <<'PATCH'\n{patch}PATCH"),
            "login": false,
            "yield_time_ms": SHELL_YIELD_TIME_MS,
        }),
    }
}

/// The lines of `text`, each as an added patch line.
fn added_lines(text: &str) -> String {
    text.lines().map(|line| format!("+{line}\n")).collect()
}

/// Appends `text` to the existing file `path`: a hunk with no context lines adds at the end.
pub(crate) fn update_patch(path: &str, text: &str) -> String {
    format!(
        "*** Begin Patch\n*** Update File: {path}\n@@\n{}*** End Patch\n",
        added_lines(text)
    )
}

/// Creates `path` holding `text`.
pub(crate) fn add_patch(path: &str, text: &str) -> String {
    format!(
        "*** Begin Patch\n*** Add File: {path}\n{}*** End Patch\n",
        added_lines(text)
    )
}

/// Whether Codex refused a shell call's escalation because its approval policy is `never`.
fn escalation_refused(call: &PastCall) -> bool {
    call.output
        .as_deref()
        .is_some_and(|output| output.contains(ESCALATION_REFUSED))
}

/// Whether a patch call failed before it ran because the file to update does not exist.
fn patch_found_no_file(call: &PastCall) -> bool {
    call.output
        .as_deref()
        .is_some_and(|output| output.contains(PATCH_MISSING_FILE))
}

/// What `/edit` sends once its patch ran: `edited <path>`, or what went wrong.
fn edit_report(path: &str, call: &PastCall) -> String {
    let output = call.output.as_deref().unwrap_or_default();
    if output.contains(PATCH_SUCCESS) {
        format!("edited {path}")
    } else {
        format!("not edited {path}: {}", shell_report(call))
    }
}

fn respond(output: Output) -> Reply {
    Reply::Respond(vec![output])
}

fn text(body: &str) -> Reply {
    Reply::Respond(vec![Output::Text(body.to_owned())])
}

fn send(message: &str) -> Output {
    message_call(json!({ "action": "send", "message": message }))
}

fn message_call(arguments: Value) -> Output {
    Output::Call {
        name: MESSAGE_TOOL,
        arguments,
    }
}
