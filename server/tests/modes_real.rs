//! The permission modes against the real, pinned `codex app-server` and the embedded demo model,
//! at the adapter level (no gateway): for every mode, each case runs on a fresh thread whose
//! `turn/start` carries the mode's policy (`gateway::mode::turn_policy`), and the test records
//! which server requests Codex sends (every one is answered `decline`) and whether the file the
//! case writes exists afterwards. The measured matrix is asserted, and README's "which directive
//! asks in which mode" table is this test's result. The sandbox is part of what is measured: a
//! plain `/shell` write outside the workspace must fail in `auto` and `read-only`, which proves
//! that the sandbox confines on this machine.
//!
//! The first request of each kind is kept as a fixture under
//! `tests/fixtures/codex/approvals/` (paths and ids replaced by placeholders); the test checks
//! that each live request still has the fixture's fields, and rewrites the fixtures when
//! `CODEX_WEBCHAT_UPDATE_FIXTURES=1`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::Mode;
use codex_webchat::codex::{
    Inbound, Item, Notification, RpcErrorObj, ServerRequest, SupervisorEvent,
};
use codex_webchat::gateway::mode::turn_policy;
use codex_webchat::ids::ThreadId;
use serde_json::{json, Value};

/// Waits that end on an event: generous, as a busy machine may need.
const WAIT: Duration = Duration::from_secs(120);
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/codex/approvals"
);

/// What one case does: the directive, and the file it writes when it is allowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// `/shell touch <outside>`: no escalation asked, so only the sandbox stands in the way.
    ShellOutside,
    /// `/escalate touch <outside>`.
    EscalateOutside,
    /// `/edit <inside> x`.
    EditInside,
    /// `/edit <outside> x` (an absolute path).
    EditOutside,
}

impl Case {
    const ALL: [Case; 4] = [
        Case::ShellOutside,
        Case::EscalateOutside,
        Case::EditInside,
        Case::EditOutside,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::ShellOutside => "shell-outside",
            Case::EscalateOutside => "escalate-outside",
            Case::EditInside => "edit-inside",
            Case::EditOutside => "edit-outside",
        }
    }

    /// The file the case writes, and the message that asks for it.
    fn plan(self, mode: Mode, work: &Path, outside: &Path) -> (PathBuf, String) {
        let file = format!("{}-{}.txt", mode.as_str(), self.name());
        match self {
            Case::ShellOutside => {
                let target = outside.join(file);
                let text = format!("/shell touch {}", target.display());
                (target, text)
            }
            Case::EscalateOutside => {
                let target = outside.join(file);
                let text = format!("/escalate touch {}", target.display());
                (target, text)
            }
            Case::EditInside => (work.join(&file), format!("/edit {file} x")),
            Case::EditOutside => {
                let target = outside.join(file);
                let text = format!("/edit {} x", target.display());
                (target, text)
            }
        }
    }
}

/// What one case did.
#[derive(Debug)]
struct Outcome {
    /// Every server request except dynamic tool calls: method and params.
    asked: Vec<(String, Value)>,
    /// What the demo model sent with `message`.
    sent: Vec<String>,
    written: bool,
    /// The tool items that completed (command executions and file changes): kind and status.
    tools: Vec<(String, String)>,
    /// The `fileChange` items as `item/started` announced them (what a file-change approval
    /// refers to by `itemId`; the request itself carries no paths and no diff).
    file_changes: Vec<Value>,
}

impl Outcome {
    fn methods(&self) -> Vec<&str> {
        self.asked.iter().map(|(m, _)| m.as_str()).collect()
    }
}

use common::RealCodex as Harness;

impl Harness {
    async fn start() -> Harness {
        let harness = Harness::launch("modes-real-", Vec::new()).await;
        std::fs::create_dir(harness.outside()).expect("outside dir");
        harness
    }

    fn outside(&self) -> PathBuf {
        self.home.path().join("outside")
    }

    /// Runs `case` in `mode` on a fresh thread, answering every approval with `decision`.
    async fn run(&mut self, mode: Mode, case: Case, decision: &str) -> Outcome {
        let work = self.work();
        let (target, text) = case.plan(mode, &work, &self.outside());
        let thread = self
            .codex
            .thread_start(json!({
                "cwd": work,
                "dynamicTools": [common::message_tool()],
                "ephemeral": true,
            }))
            .await
            .expect("thread/start");
        let params = turn_policy(mode, &work).expect("policy").apply(json!({
            "threadId": thread.thread_id,
            "input": [{"type": "text", "text": text, "text_elements": []}],
        }));
        let started = self
            .codex
            .request("turn/start", params)
            .await
            .expect("turn/start");
        let turn_id = started
            .pointer("/turn/id")
            .and_then(Value::as_str)
            .expect("turn id")
            .to_owned();
        let mut outcome = Outcome {
            asked: Vec::new(),
            sent: Vec::new(),
            written: false,
            tools: Vec::new(),
            file_changes: Vec::new(),
        };
        self.until_turn_end(&thread.thread_id, &turn_id, decision, &mut outcome)
            .await;
        outcome.written = target.exists();
        outcome
    }

    async fn until_turn_end(
        &mut self,
        thread_id: &ThreadId,
        turn_id: &str,
        decision: &str,
        outcome: &mut Outcome,
    ) {
        let Outcome {
            asked,
            sent,
            tools,
            file_changes,
            ..
        } = outcome;
        let ended = tokio::time::timeout(WAIT, async {
            while let Some(event) = self.events.recv().await {
                match event {
                    SupervisorEvent::Inbound {
                        epoch,
                        msg: Inbound::Request { id, request },
                    } => {
                        let answer = match &request {
                            ServerRequest::ToolCall { arguments, .. } => {
                                sent.push(
                                    arguments["message"].as_str().unwrap_or_default().to_owned(),
                                );
                                Ok(json!({
                                    "contentItems": [{"type": "inputText", "text": "delivered"}],
                                    "success": true
                                }))
                            }
                            ServerRequest::CommandApproval { raw, .. }
                            | ServerRequest::FileChangeApproval { raw, .. } => {
                                asked.push((request.method().to_owned(), raw.clone()));
                                Ok(json!({"decision": decision}))
                            }
                            ServerRequest::Other { method, params } => {
                                asked.push((method.clone(), params.clone()));
                                Err(RpcErrorObj::new(-32601, format!("declined: {method}")))
                            }
                        };
                        self.codex
                            .respond(epoch, id, answer)
                            .await
                            .expect("respond");
                    }
                    SupervisorEvent::Inbound {
                        msg:
                            Inbound::Notification(Notification::TurnCompleted {
                                thread_id: done_thread,
                                turn_id: done,
                                ..
                            }),
                        ..
                    } if done_thread == *thread_id && done.as_str() == turn_id => return true,
                    SupervisorEvent::Inbound {
                        msg:
                            Inbound::Notification(Notification::ItemStarted {
                                item: Item::FileChange { raw, .. },
                                ..
                            }),
                        ..
                    } => file_changes.push(raw),
                    SupervisorEvent::Inbound {
                        msg: Inbound::Notification(Notification::ItemCompleted { item, .. }),
                        ..
                    } => match item {
                        Item::CommandExecution { status, .. } => {
                            tools.push(("commandExecution".to_owned(), status));
                        }
                        Item::FileChange { status, .. } => {
                            tools.push(("fileChange".to_owned(), status));
                        }
                        _ => {}
                    },
                    SupervisorEvent::Exited { reason, .. } => panic!("codex exited: {reason}"),
                    _ => {}
                }
            }
            false
        })
        .await;
        assert_eq!(ended, Ok(true), "the turn did not end");
    }
}

const COMMAND: &str = "item/commandExecution/requestApproval";
const FILE_CHANGE: &str = "item/fileChange/requestApproval";

/// The request with machine-specific values replaced, so the fixture is stable.
fn normalised(params: &Value, home: &Path) -> Value {
    let text = params.to_string();
    let home = home.display().to_string();
    let text = text.replace(&home, "<home>");
    let mut value: Value = serde_json::from_str(&text).expect("still JSON");
    for key in [
        "threadId",
        "turnId",
        "itemId",
        "id",
        "startedAtMs",
        "approvalId",
    ] {
        if let Some(field) = value.get_mut(key) {
            if !field.is_null() {
                *field = json!(format!("<{key}>"));
            }
        }
    }
    value
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// Keeps or checks the fixture `name` for the JSON `params` of `method` seen live.
fn check_fixture(name: &str, method: &str, params: &Value, home: &Path) {
    let path = Path::new(FIXTURES).join(format!("{name}.json"));
    let live = normalised(params, home);
    if std::env::var_os("CODEX_WEBCHAT_UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(FIXTURES).expect("fixture dir");
        let fixture = json!({ "method": method, "params": live });
        let text = serde_json::to_string_pretty(&fixture).expect("JSON") + "\n";
        std::fs::write(&path, text).expect("write fixture");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "fixture {} is missing ({err}); run with CODEX_WEBCHAT_UPDATE_FIXTURES=1",
            path.display()
        )
    });
    let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(fixture["method"], method, "{}", path.display());
    assert_eq!(
        keys(&fixture["params"]),
        keys(&live),
        "{} no longer has the fields Codex sends: {live:#}",
        path.display()
    );
}

/// What a case is expected to do in a mode: the approval requests, and whether the file is
/// written (every approval is declined).
fn expected(mode: Mode, case: Case) -> (Vec<&'static str>, bool) {
    use Case::*;
    use Mode::*;
    match (mode, case) {
        (FullAccess, _) => (vec![], true),
        (Auto, ShellOutside) => (vec![], false),
        (Auto, EscalateOutside) => (vec![COMMAND], false),
        (Auto, EditInside) => (vec![], true),
        (Auto, EditOutside) => (vec![FILE_CHANGE], false),
        (Ask, ShellOutside) => (vec![COMMAND], false),
        (Ask, EscalateOutside) => (vec![COMMAND], false),
        (Ask, EditInside) => (vec![FILE_CHANGE], false),
        (Ask, EditOutside) => (vec![FILE_CHANGE], false),
        (ReadOnly, ShellOutside) => (vec![], false),
        (ReadOnly, EscalateOutside) => (vec![COMMAND], false),
        (ReadOnly, EditInside) => (vec![FILE_CHANGE], false),
        (ReadOnly, EditOutside) => (vec![FILE_CHANGE], false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mode_asks_and_confines_as_measured() {
    let mut h = Harness::start().await;
    let home = h.home.path().to_path_buf();
    let mut measured = Vec::new();
    for mode in Mode::ALL {
        for case in Case::ALL {
            let outcome = h.run(mode, case, "decline").await;
            let name = format!("{}-{}", mode.as_str(), case.name());
            for (method, params) in &outcome.asked {
                let kind = method.split('/').nth(1).unwrap_or(method);
                check_fixture(&format!("{name}-{kind}"), method, params, &home);
            }
            // Every edit announces its change first (a fixture for each says so); none seen
            // would leave the fixture check below with nothing to check.
            if matches!(case, Case::EditInside | Case::EditOutside) {
                assert!(!outcome.file_changes.is_empty(), "{name}: {outcome:?}");
            }
            for item in &outcome.file_changes {
                check_fixture(&format!("{name}-item"), "item/started", item, &home);
            }
            measured.push((mode, case, outcome));
        }
    }
    h.stop().await;

    let mut report = String::new();
    for (mode, case, outcome) in &measured {
        report.push_str(&format!(
            "{:<11} {:<16} asked {:?} written {} sent {:?}\n",
            mode.as_str(),
            case.name(),
            outcome.methods(),
            outcome.written,
            outcome.sent
        ));
    }
    println!("{report}");
    for (mode, case, outcome) in &measured {
        let (asks, written) = expected(*mode, *case);
        assert_eq!(
            (outcome.methods(), outcome.written),
            (asks, written),
            "{} {}; the whole matrix:\n{report}",
            mode.as_str(),
            case.name()
        );
        // The demo model reported back in every case, whatever happened to the tool call, and
        // a declined tool call shows as declined.
        assert_eq!(outcome.sent.len(), 1, "{report}");
        if !outcome.asked.is_empty() {
            assert!(
                outcome.tools.iter().all(|(_, status)| status == "declined"),
                "{} {}: {:?}",
                mode.as_str(),
                case.name(),
                outcome.tools
            );
        }
    }
}

/// What an approval is for: `auto` runs `/escalate` outside the sandbox and applies an edit
/// outside the workspace once a person accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_runs_what_a_person_accepts() {
    let mut h = Harness::start().await;
    let escalated = h.run(Mode::Auto, Case::EscalateOutside, "accept").await;
    let edited = h.run(Mode::Auto, Case::EditOutside, "accept").await;
    h.stop().await;
    assert_eq!(escalated.methods(), [COMMAND], "{escalated:?}");
    assert!(escalated.written, "{escalated:?}");
    assert_eq!(
        escalated.tools,
        [("commandExecution".to_owned(), "completed".to_owned())]
    );
    assert_eq!(edited.methods(), [FILE_CHANGE], "{edited:?}");
    assert!(edited.written, "{edited:?}");
    assert_eq!(
        edited.tools,
        [("fileChange".to_owned(), "completed".to_owned())]
    );
    assert!(edited.sent[0].starts_with("edited /"), "{edited:?}");
}
