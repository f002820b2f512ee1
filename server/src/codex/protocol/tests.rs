//! Parsing notifications, items and server requests as the pinned Codex sends them.

use super::*;
use serde_json::json;

fn notif(line: &str) -> Notification {
    let v: Value = serde_json::from_str(line).expect("test JSON");
    let method = v["method"].as_str().expect("method").to_owned();
    Notification::parse(&method, v["params"].clone())
}

#[test]
fn request_ids_round_trip_both_forms() {
    let ids: Vec<RequestId> = serde_json::from_str(r#"[0, "s-1", -5]"#).expect("ids");
    assert_eq!(
        ids,
        [
            RequestId::Num(0),
            RequestId::Str("s-1".into()),
            RequestId::Num(-5)
        ]
    );
    assert_eq!(serde_json::to_string(&ids).expect("ser"), r#"[0,"s-1",-5]"#);
}

#[test]
fn turn_notifications_from_reference() {
    let started = notif(
        r#"{"method":"turn/started","params":{"threadId":"t1","turn":{"id":"u1","status":"inProgress","items":[]}},"emittedAtMs":1}"#,
    );
    assert_eq!(
        started,
        Notification::TurnStarted {
            thread_id: "t1".into(),
            turn_id: "u1".into()
        }
    );
    let interrupted = notif(
        r#"{"method":"turn/completed","params":{"threadId":"t1","turn":{"id":"u1","status":"interrupted","items":[],"error":null,"durationMs":570}}}"#,
    );
    assert_eq!(
        interrupted,
        Notification::TurnCompleted {
            thread_id: "t1".into(),
            turn_id: "u1".into(),
            status: TurnStatus::Interrupted,
            error: None
        }
    );
    let failed = notif(
        r#"{"method":"turn/completed","params":{"threadId":"t1","turn":{"id":"u2","status":"failed","error":{"message":"unexpected status 401 Unauthorized","codexErrorInfo":{"httpConnectionFailed":{"httpStatusCode":401}}}}}}"#,
    );
    assert!(
        matches!(failed, Notification::TurnCompleted { status: TurnStatus::Failed, error: Some(ref m), .. } if m.starts_with("unexpected status 401"))
    );
}

#[test]
fn item_notifications_from_reference() {
    let cmd = notif(
        r#"{"method":"item/completed","params":{"threadId":"t","turnId":"u","item":{"type":"commandExecution","id":"call_sh_4","command":"/bin/bash -lc 'echo probe-shell-ok'","source":"unifiedExecStartup","status":"completed","processId":"84055","aggregatedOutput":"probe-shell-ok\n","exitCode":0}}}"#,
    );
    assert_eq!(
        cmd,
        Notification::ItemCompleted {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item: Item::CommandExecution {
                id: "call_sh_4".into(),
                command: "/bin/bash -lc 'echo probe-shell-ok'".into(),
                status: "completed".into(),
                aggregated_output: Some("probe-shell-ok\n".into()),
                exit_code: Some(0),
            },
        }
    );
    let started = notif(
        r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"commandExecution","id":"c","command":"ls","status":"inProgress"}}}"#,
    );
    assert!(matches!(
        started,
        Notification::ItemStarted {
            item: Item::CommandExecution {
                aggregated_output: None,
                exit_code: None,
                ..
            },
            ..
        }
    ));
    let tool = notif(
        r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"dynamicToolCall","id":"call_msg_2","namespace":null,"tool":"message","arguments":{"action":"send","message":"hello"},"status":"inProgress"}}}"#,
    );
    assert!(
        matches!(tool, Notification::ItemStarted { item: Item::DynamicToolCall { ref tool, ref arguments, .. }, .. }
        if tool == "message" && arguments["message"] == "hello")
    );
    let agent = notif(
        r#"{"method":"item/completed","params":{"threadId":"t","turnId":"u","item":{"type":"agentMessage","id":"msg_1","text":"hi","phase":null}}}"#,
    );
    assert!(
        matches!(agent, Notification::ItemCompleted { item: Item::AgentMessage { ref text, .. }, .. } if text == "hi")
    );
    let user = notif(
        r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"userMessage","id":"m0","content":[]}}}"#,
    );
    assert!(matches!(
        user,
        Notification::ItemStarted {
            item: Item::UserMessage { .. },
            ..
        }
    ));
    let unknown = notif(
        r#"{"method":"item/started","params":{"threadId":"t","turnId":"u","item":{"type":"hookPrompt","id":"r1"}}}"#,
    );
    assert!(
        matches!(unknown, Notification::ItemStarted { item: Item::Other { ref kind, id: Some(ref id), .. }, .. } if kind == "hookPrompt" && id == "r1")
    );
    // A known item type missing required fields degrades to Other instead of failing.
    let odd = Item::parse(&json!({"type":"commandExecution","id":"c"}));
    assert!(matches!(odd, Item::Other { ref kind, .. } if kind == "commandExecution"));
}

#[test]
fn deltas_errors_hooks_from_reference() {
    let delta = notif(
        r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"msg_1","delta":"Hello from the "}}"#,
    );
    assert_eq!(
        delta,
        Notification::AgentMessageDelta {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "msg_1".into(),
            delta: "Hello from the ".into()
        }
    );
    let out = notif(
        r#"{"method":"item/commandExecution/outputDelta","params":{"threadId":"t","turnId":"u","itemId":"c","delta":"x\n"}}"#,
    );
    assert!(matches!(out, Notification::CommandOutputDelta { ref delta, .. } if delta == "x\n"));
    let err = notif(
        r#"{"method":"error","params":{"error":{"message":"Reconnecting... waiting for network","codexErrorInfo":{"responseStreamDisconnected":{}}},"willRetry":true,"threadId":"t","turnId":"u"}}"#,
    );
    assert_eq!(
        err,
        Notification::Error {
            thread_id: Some("t".into()),
            turn_id: Some("u".into()),
            message: "Reconnecting... waiting for network".into(),
            will_retry: true
        }
    );
    let hook = notif(
        r#"{"method":"hook/completed","params":{"threadId":"t","turnId":"u","run":{"id":"pre-tool-use:0:/<x>/config.toml:call_sh_6","eventName":"preToolUse","status":"blocked","entries":[{"kind":"feedback","text":"no"}]}}}"#,
    );
    assert!(
        matches!(hook, Notification::HookCompleted { ref run, .. } if run["status"] == "blocked")
    );
    assert_eq!(hook.thread_id(), Some("t"));
}

#[test]
fn unknown_and_malformed_notifications_are_other() {
    let status = notif(
        r#"{"method":"thread/status/changed","params":{"threadId":"t9","status":{"type":"idle"}}}"#,
    );
    assert!(
        matches!(status, Notification::Other { ref method, .. } if method == "thread/status/changed")
    );
    assert_eq!(status.thread_id(), Some("t9"));
    let started = notif(r#"{"method":"thread/started","params":{"thread":{"id":"t7"}}}"#);
    assert_eq!(started.thread_id(), Some("t7"));
    let warning = notif(r#"{"method":"configWarning","params":{"summary":"x","details":null}}"#);
    assert_eq!(warning.thread_id(), None);
    // turn/started without a turn object: tolerated as Other.
    let broken = Notification::parse("turn/started", json!({"threadId": 5}));
    assert!(matches!(broken, Notification::Other { .. }));
    let no_params = Notification::parse("initialized", Value::Null);
    assert!(matches!(no_params, Notification::Other { .. }));
}

#[test]
fn server_requests_from_reference() {
    let call = ServerRequest::parse(
        "item/tool/call",
        json!({"threadId":"t","turnId":"u","callId":"call_msg_2","namespace":null,"tool":"message","arguments":{"action":"send","message":"hello"}}),
    );
    assert_eq!(
        call,
        ServerRequest::ToolCall {
            thread_id: "t".into(),
            turn_id: "u".into(),
            call_id: "call_msg_2".into(),
            tool: "message".into(),
            arguments: json!({"action":"send","message":"hello"})
        }
    );
    assert_eq!(call.method(), "item/tool/call");
    let approval = ServerRequest::parse(
        "item/commandExecution/requestApproval",
        json!({"kind":"command","threadId":"t","turnId":"u","itemId":"call_sh_1","command":"touch x","availableDecisions":["accept","cancel"]}),
    );
    assert!(
        matches!(approval, ServerRequest::CommandApproval { ref item_id, ref raw, .. } if item_id == "call_sh_1" && raw["command"] == "touch x")
    );
    let file = ServerRequest::parse(
        "item/fileChange/requestApproval",
        json!({"threadId":"t","turnId":"u","itemId":"f1","startedAtMs":1}),
    );
    assert!(matches!(file, ServerRequest::FileChangeApproval { .. }));
    assert_eq!(file.thread_id(), Some("t"));
    let input = ServerRequest::parse("item/tool/requestUserInput", json!({"threadId":"t"}));
    assert!(
        matches!(input, ServerRequest::Other { ref method, .. } if method == "item/tool/requestUserInput")
    );
    assert_eq!(input.thread_id(), Some("t"));
    let broken = ServerRequest::parse("item/tool/call", json!({"threadId":"t"}));
    assert!(matches!(broken, ServerRequest::Other { .. }));
}

/// Every notification of a fixture captured from the pinned Codex (`tests/fixtures/codex/items`).
fn fixture(jsonl: &str) -> Vec<Notification> {
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(notif)
        .collect()
}

const EDIT: &str = include_str!("../../../tests/fixtures/codex/items/edit.jsonl");
const EDIT_TWICE: &str =
    include_str!("../../../tests/fixtures/codex/items/edit-add-then-update.jsonl");
const PLAN: &str = include_str!("../../../tests/fixtures/codex/items/plan.jsonl");
const THINK: &str = include_str!("../../../tests/fixtures/codex/items/think.jsonl");

#[test]
fn file_changes_diffs_and_usage_from_the_pinned_binary() {
    let all = fixture(EDIT_TWICE);
    let changes: Vec<&Item> = all
        .iter()
        .filter_map(|n| match n {
            Notification::ItemCompleted { item, .. } => Some(item),
            _ => None,
        })
        .filter(|i| matches!(i, Item::FileChange { .. }))
        .collect();
    let typed: Vec<(&str, &[FileChange], &str)> = changes
        .iter()
        .filter_map(|i| match i {
            Item::FileChange {
                id,
                changes,
                status,
                raw,
            } => {
                assert_eq!(
                    raw["id"].as_str(),
                    Some(id.as_str()),
                    "the raw item is kept"
                );
                Some((id.as_str(), changes.as_slice(), status.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        typed,
        [
            (
                "call_1_0",
                &[FileChange {
                    path: "/w/notes.txt".into(),
                    kind: "add".into(),
                    diff: "hello\n".into()
                }][..],
                "completed"
            ),
            (
                "call_2_0",
                &[FileChange {
                    path: "/w/notes.txt".into(),
                    kind: "update".into(),
                    diff: "@@ -1 +1,2 @@\n hello\n+world\n".into()
                }][..],
                "completed"
            ),
        ]
    );
    let diffs: Vec<&str> = all
        .iter()
        .filter_map(|n| match n {
            Notification::TurnDiffUpdated { diff, .. } => Some(diff.as_str()),
            _ => None,
        })
        .collect();
    assert!(diffs.len() >= 2, "{diffs:?}");
    assert!(diffs
        .last()
        .is_some_and(|d| d.ends_with("+hello\n+world\n")));
    let usage: Vec<TokenUsage> = all
        .iter()
        .filter_map(|n| match n {
            Notification::TokenUsageUpdated { usage, turn_id, .. } => {
                assert!(turn_id.is_some());
                Some(*usage)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        usage.first(),
        Some(&TokenUsage {
            last: 1010,
            total: 1010,
            window: Some(258_400)
        })
    );
    assert!(usage.last().is_some_and(|u| u.total > u.last));
    assert!(
        all.iter().all(
            |n| !matches!(n, Notification::Other { method, .. } if method.starts_with("item/"))
        ),
        "every item notification of the fixture is typed"
    );
}

#[test]
fn the_demo_edit_from_the_pinned_binary_is_one_added_file() {
    let changes: Vec<Item> = fixture(EDIT)
        .into_iter()
        .filter_map(|n| match n {
            Notification::ItemCompleted { item, .. } => Some(item),
            _ => None,
        })
        .filter(|i| matches!(i, Item::FileChange { .. }))
        .collect();
    let [Item::FileChange {
        changes, status, ..
    }] = changes.as_slice()
    else {
        panic!("{changes:?}")
    };
    assert_eq!(status, "completed");
    assert_eq!(
        changes,
        &[FileChange {
            path: "/w/notes.txt".into(),
            kind: "add".into(),
            diff: "hello\n".into()
        }]
    );
}

#[test]
fn plan_updates_from_the_pinned_binary() {
    let plans: Vec<(Option<String>, Vec<PlanStep>)> = fixture(PLAN)
        .into_iter()
        .filter_map(|n| match n {
            Notification::PlanUpdated {
                explanation, steps, ..
            } => Some((explanation, steps)),
            _ => None,
        })
        .collect();
    assert_eq!(plans.len(), 4);
    let status = |i: usize| plans[i].1.iter().map(|s| s.status).collect::<Vec<_>>();
    use PlanStatus::*;
    assert_eq!(status(0), [InProgress, Pending, Pending]);
    assert_eq!(status(3), [Completed, Completed, Completed]);
    assert_eq!(
        plans[0].0.as_deref(),
        Some("The demo model's /plan directive")
    );
    assert_eq!(plans[0].1[1].step, "Do the work");
    // A step with a status Codex does not have leaves the whole update untyped.
    let odd = Notification::parse(
        "turn/plan/updated",
        json!({"threadId":"t","turnId":"u","plan":[{"step":"a","status":"done"}]}),
    );
    assert!(matches!(odd, Notification::Other { .. }));
}

#[test]
fn reasoning_from_the_pinned_binary() {
    let reasoning: Vec<Item> = fixture(THINK)
        .into_iter()
        .filter_map(|n| match n {
            Notification::ItemCompleted { item, .. } => Some(item),
            _ => None,
        })
        .filter(|i| matches!(i, Item::Reasoning { .. }))
        .collect();
    let [Item::Reasoning {
        summary, content, ..
    }] = reasoning.as_slice()
    else {
        panic!("{reasoning:?}")
    };
    assert_eq!(summary, &["why"]);
    assert!(content.is_empty());
}

#[test]
fn items_the_demo_cannot_make_parse_from_the_schema_shapes() {
    let mcp = Item::parse(
        &json!({"type":"mcpToolCall","id":"m1","server":"docs","tool":"search",
        "arguments":{"q":"x"},"status":"failed","result":null,"error":{"message":"boom"},"durationMs":3}),
    );
    assert_eq!(
        mcp,
        Item::McpToolCall(Box::new(McpToolCall {
            id: "m1".into(),
            server: "docs".into(),
            tool: "search".into(),
            arguments: json!({"q":"x"}),
            status: "failed".into(),
            result: None,
            error: Some("boom".into()),
        }))
    );
    let search = Item::parse(&json!({"type":"webSearch","id":"w1","query":"rust",
        "action":{"type":"search","query":"rust"}}));
    assert!(
        matches!(search, Item::WebSearch { ref query, action: Some(ref a), .. } if query == "rust" && a["type"] == "search")
    );
    let image = Item::parse(&json!({"type":"imageView","id":"i1","path":"/w/a.png"}));
    assert_eq!(
        image,
        Item::ImageView {
            id: "i1".into(),
            path: "/w/a.png".into()
        }
    );
    let compaction = Item::parse(&json!({"type":"contextCompaction","id":"c1"}));
    assert_eq!(compaction, Item::ContextCompaction { id: "c1".into() });
    let plan = Item::parse(&json!({"type":"plan","id":"p1","text":"1. a"}));
    assert_eq!(
        plan,
        Item::Plan {
            id: "p1".into(),
            text: "1. a".into()
        }
    );
    // Known kinds without their required fields stay Other, never an error.
    for broken in [
        json!({"type":"fileChange","id":"f"}),
        json!({"type":"mcpToolCall","id":"m"}),
        json!({"type":"imageView","id":"i"}),
    ] {
        assert!(
            matches!(Item::parse(&broken), Item::Other { .. }),
            "{broken}"
        );
    }
}

#[test]
fn rate_limits_are_read_from_a_snapshot_and_a_null_one_reports_no_window() {
    let n = Notification::parse(
        "account/rateLimits/updated",
        json!({"rateLimits": {
            "primary": {"usedPercent": 23, "windowDurationMins": 300, "resetsAt": 1_800_000_000},
            "secondary": {"usedPercent": 141, "windowDurationMins": null, "resetsAt": null},
            "limitId": "codex", "planType": "plus"
        }}),
    );
    let Notification::RateLimitsUpdated { limits } = n else {
        panic!("not parsed: {n:?}");
    };
    assert_eq!(
        limits.primary,
        Some(app::wire::LimitWindow {
            used_percent: 23,
            window_mins: Some(300),
            resets_at: Some(1_800_000_000),
        })
    );
    assert_eq!(
        limits.secondary.map(|w| (w.used_percent, w.window_mins)),
        Some((100, None)),
        "a percentage is clamped"
    );
    assert_eq!(n_thread(&limits), None);
    // What the demo model's provider gets: every field null.
    let n = Notification::parse(
        "account/rateLimits/updated",
        json!({"rateLimits": {"primary": null, "secondary": null, "credits": null, "planType": null}}),
    );
    let Notification::RateLimitsUpdated { limits } = n else {
        panic!("not parsed: {n:?}");
    };
    assert_eq!(limits, app::wire::RateLimits::default());
}

fn n_thread(limits: &app::wire::RateLimits) -> Option<String> {
    Notification::RateLimitsUpdated { limits: *limits }
        .thread_id()
        .map(str::to_owned)
}
