//! The transcript row's rendering tests: every card kind, its contract attributes, and that
//! untrusted text stays text.

use super::*;
use crate::transcript::Transcript;
use crate::wire::{
    ApprovalKind, ApprovalState, DiffLine, DiffLineKind, Event, EventBody, FileDiff, PlanStatus,
    PlanStep, Seq, ToolDetail,
};

fn event(seq: u64, body: EventBody) -> Event {
    Event {
        seq: Seq(seq),
        at_ms: 0,
        run: None,
        private: false,
        body,
    }
}

/// Renders a row as the page does: under an owner (approval cards hold a signal).
fn render_entry(entry: Entry) -> String {
    Owner::new().with(|| view! { <EntryView entry=entry /> }.to_html())
}

/// The approval card for a request of `kind` that ended `state` (or is still pending).
fn approval(kind: ApprovalKind, for_session: bool, state: ApprovalState) -> String {
    let mut events = vec![event(
        3,
        EventBody::ApprovalRequested {
            kind,
            item_id: Some("call_1".into()),
            subject: "rm -rf build".into(),
            cwd: Some("/work/tree".into()),
            reason: Some("wants out of the sandbox".into()),
            // Only a file change has files.
            changes: (kind == ApprovalKind::FileChange)
                .then(|| {
                    file_diff(
                        "src/lib.rs",
                        "update",
                        "@@ -1,2 +1,2 @@\n keep\n-old\n+new\n",
                    )
                })
                .into_iter()
                .collect(),
            for_session,
        },
    )];
    if state != ApprovalState::Pending {
        events.push(event(
            4,
            EventBody::ApprovalEnded {
                target: Seq(3),
                state,
                answer: (kind == ApprovalKind::Question).then(|| "blue".to_owned()),
            },
        ));
    }
    let t = Transcript::from_events(&events);
    assert_eq!(t.entries().len(), 1);
    render_entry(t.entries()[0].clone())
}

const KINDS: [ApprovalKind; 4] = [
    ApprovalKind::Command,
    ApprovalKind::FileChange,
    ApprovalKind::Permissions,
    ApprovalKind::Question,
];
const STATES: [ApprovalState; 6] = [
    ApprovalState::Pending,
    ApprovalState::Accepted,
    ApprovalState::AcceptedForSession,
    ApprovalState::Declined,
    ApprovalState::Cancelled,
    ApprovalState::Expired,
];

#[test]
fn an_approval_card_carries_the_contract_for_every_kind_and_state() {
    for kind in KINDS {
        for state in STATES {
            let html = approval(kind, true, state);
            for want in [
                r#"data-testid="entry""#.to_owned(),
                r#"data-kind="approval""#.to_owned(),
                r#"data-seq="3""#.to_owned(),
                r#"data-testid="approval""#.to_owned(),
                format!(r#"data-approval-kind="{}""#, kind.as_str()),
                format!(r#"data-state="{}""#, state.as_str()),
            ] {
                assert!(
                    html.contains(&want),
                    "{kind:?} {state:?}: {want} missing in {html}"
                );
            }
            // Not a tool card.
            assert!(!html.contains("data-status"), "{html}");
            assert!(!html.contains("data-tool"), "{html}");
            assert!(html.contains("wants out of the sandbox"), "{html}");
            assert!(html.contains("/work/tree"), "{html}");
        }
    }
}

#[test]
fn buttons_exist_only_while_pending_and_approve_session_only_when_offered() {
    for kind in KINDS {
        for state in STATES {
            for for_session in [false, true] {
                let html = approval(kind, for_session, state);
                let pending = state == ApprovalState::Pending;
                let has = |id: &str| html.contains(&format!(r#"data-testid="{id}""#));
                let at = format!("{kind:?} {state:?} for_session={for_session}: {html}");
                assert_eq!(has("approve"), pending, "{at}");
                assert_eq!(has("decline"), pending, "{at}");
                assert_eq!(has("approve-session"), pending && for_session, "{at}");
                assert_eq!(
                    has("answer"),
                    pending && kind == ApprovalKind::Question,
                    "{at}"
                );
                assert_eq!(html.matches("<button").count() > 0, pending, "{at}");
                assert_eq!(has("approval-outcome"), !pending, "{at}");
                if pending {
                    assert!(html.contains(r#"type="button""#), "{at}");
                }
            }
        }
    }
}

#[test]
fn an_ended_card_says_how_it_ended() {
    for (kind, state, words) in [
        (ApprovalKind::Command, ApprovalState::Accepted, "Approved"),
        (
            ApprovalKind::Command,
            ApprovalState::AcceptedForSession,
            "Approved for this session",
        ),
        (
            ApprovalKind::FileChange,
            ApprovalState::Declined,
            "Declined",
        ),
        (
            ApprovalKind::Permissions,
            ApprovalState::Cancelled,
            "Cancelled",
        ),
        (
            ApprovalKind::Command,
            ApprovalState::Expired,
            "Expired — send the message again",
        ),
        (ApprovalKind::Question, ApprovalState::Accepted, "Answered"),
    ] {
        let html = approval(kind, false, state);
        let outcome =
            format!(r#"data-testid="approval-outcome" class="approval-outcome">{words}</p>"#);
        assert!(html.contains(&outcome), "{kind:?} {state:?}: {html}");
    }
    // A question shows the answer given.
    let html = approval(ApprovalKind::Question, false, ApprovalState::Accepted);
    assert!(
        html.contains(r#"<span class="approval-answer text">blue</span>"#),
        "{html}"
    );
}

#[test]
fn a_command_card_shows_the_command_and_where_it_runs() {
    let html = approval(ApprovalKind::Command, false, ApprovalState::Pending);
    assert!(
        html.contains(r#"<div class="approval-subject">rm -rf build</div>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="approval-dir">/work/tree</span>"#),
        "{html}"
    );
    assert!(!html.contains(r#"data-testid="diff""#), "{html}");
}

#[test]
fn a_file_change_card_shows_each_file_with_its_diff_line_by_line() {
    let html = approval(ApprovalKind::FileChange, false, ApprovalState::Pending);
    assert!(
        html.contains(r#"<code class="approval-path">src/lib.rs</code>"#),
        "{html}"
    );
    assert_eq!(html.matches(r#"data-testid="diff""#).count(), 1, "{html}");
    for want in [
        r#"<div data-line="ctx" class="diff-line hunk">@@ -1,2 +1,2 @@</div>"#,
        r#"<div data-line="ctx" class="diff-line"> keep</div>"#,
        r#"<div data-line="del" class="diff-line">-old</div>"#,
        r#"<div data-line="add" class="diff-line">+new</div>"#,
    ] {
        assert!(html.contains(want), "{want} missing in {html}");
    }
    assert_eq!(html.matches("data-line=").count(), 4, "{html}");
}

#[test]
fn approval_text_is_text() {
    let hostile = "<img src=x onerror=alert(1)>";
    let t = Transcript::from_events(&[event(
        1,
        EventBody::ApprovalRequested {
            kind: ApprovalKind::FileChange,
            item_id: None,
            subject: hostile.into(),
            cwd: Some(hostile.into()),
            reason: Some(hostile.into()),
            changes: vec![file_diff(hostile, hostile, &format!("+{hostile}"))],
            for_session: false,
        },
    )]);
    let html = render_entry(t.entries()[0].clone());
    assert!(!html.contains("<img"), "{html}");
    // Subject, path, the file's kind, the diff line, cwd and reason.
    assert_eq!(
        html.matches("&lt;img src=x onerror=alert(1)&gt;").count(),
        6,
        "{html}"
    );
}

/// A diff as the server would send it (classified by first character: tests only).
fn file_diff(path: &str, kind: &str, diff: &str) -> FileDiff {
    let lines: Vec<DiffLine> = diff
        .lines()
        .map(|l| DiffLine {
            kind: match l.as_bytes().first() {
                Some(b'+') => DiffLineKind::Add,
                Some(b'-') => DiffLineKind::Del,
                Some(b'@') => DiffLineKind::Hunk,
                _ => DiffLineKind::Ctx,
            },
            text: l.into(),
        })
        .collect();
    let count = |k| lines.iter().filter(|l| l.kind == k).count() as u32;
    FileDiff {
        path: path.into(),
        kind: kind.into(),
        added: count(DiffLineKind::Add),
        removed: count(DiffLineKind::Del),
        lines,
    }
}

fn plan(steps: &[(&str, PlanStatus)]) -> ToolDetail {
    ToolDetail::Plan {
        steps: steps
            .iter()
            .map(|(step, status)| PlanStep {
                step: (*step).into(),
                status: *status,
            })
            .collect(),
        explanation: None,
    }
}

#[test]
fn a_plan_card_is_one_checklist_updated_in_place() {
    let started = event(
        1,
        EventBody::ToolStarted {
            call_id: "plan-t1".into(),
            tool: "plan".into(),
            command: "Plan".into(),
            relay: RelayDecision::None,
            detail: Some(plan(&[
                ("read <the> code", PlanStatus::InProgress),
                ("fix", PlanStatus::Pending),
            ])),
        },
    );
    let updated = event(
        2,
        EventBody::ToolUpdated {
            target: Seq(1),
            detail: plan(&[
                ("read <the> code", PlanStatus::Completed),
                ("fix", PlanStatus::InProgress),
            ]),
        },
    );
    let t = Transcript::from_events(&[started, updated]);
    assert_eq!(t.entries().len(), 1, "an update is not a new card");
    let html = render_entry(t.entries()[0].clone());
    assert!(html.contains(r#"data-tool="plan""#), "{html}");
    assert_eq!(html.matches(r#"data-testid="plan""#).count(), 1, "{html}");
    assert_eq!(
        html.matches(r#"data-testid="plan-step""#).count(),
        2,
        "{html}"
    );
    let first = html
        .find(r#"data-status="completed""#)
        .expect("completed step");
    let second = html
        .find(r#"data-status="in_progress""#)
        .expect("step in progress");
    assert!(first < second, "steps keep their order: {html}");
    assert!(
        html.contains("read &lt;the&gt; code"),
        "a step is text: {html}"
    );
}

#[test]
fn a_file_change_card_shows_each_file_with_classified_lines_and_counts() {
    let file = FileDiff {
        path: "src/<b>.rs".into(),
        kind: "update".into(),
        added: 1,
        removed: 1,
        lines: vec![
            DiffLine {
                kind: DiffLineKind::Meta,
                text: "--- a/src/<b>.rs".into(),
            },
            DiffLine {
                kind: DiffLineKind::Hunk,
                text: "@@ -1 +1 @@".into(),
            },
            DiffLine {
                kind: DiffLineKind::Del,
                text: "-old".into(),
            },
            DiffLine {
                kind: DiffLineKind::Add,
                text: "+new".into(),
            },
        ],
    };
    let started = event(
        1,
        EventBody::ToolStarted {
            call_id: "fc".into(),
            tool: "file_change".into(),
            command: "src/<b>.rs".into(),
            relay: RelayDecision::None,
            detail: Some(ToolDetail::Files { files: vec![file] }),
        },
    );
    let finished = event(
        2,
        EventBody::ToolFinished {
            target: Seq(1),
            status: ToolStatus::Completed,
            output: String::new(),
            exit_code: None,
        },
    );
    let t = Transcript::from_events(&[started, finished]);
    let html = render_entry(t.entries()[0].clone());
    assert!(html.contains(r#"data-tool="file_change""#), "{html}");
    assert_eq!(html.matches(r#"data-testid="diff""#).count(), 1, "{html}");
    let lines: Vec<&str> = html
        .match_indices("data-line=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(lines, ["ctx", "ctx", "del", "add"], "{html}");
    assert!(html.contains("+new") && html.contains("-old"), "{html}");
    assert!(
        html.contains("src/&lt;b&gt;.rs"),
        "the path is text: {html}"
    );
    assert!(
        !html.contains("No output."),
        "a quiet finished change: {html}"
    );
}

#[test]
fn a_tool_card_carries_its_status() {
    let started = event(
        1,
        EventBody::ToolStarted {
            call_id: "c".into(),
            tool: "shell".into(),
            command: "ls".into(),
            relay: RelayDecision::Allowed,
            detail: None,
        },
    );
    let html =
        render_entry(Transcript::from_events(std::slice::from_ref(&started)).entries()[0].clone());
    assert!(html.contains(r#"data-status="running""#), "{html}");
    for status in [
        ToolStatus::Completed,
        ToolStatus::Failed,
        ToolStatus::Declined,
        ToolStatus::Interrupted,
    ] {
        let finished = event(
            2,
            EventBody::ToolFinished {
                target: Seq(1),
                status,
                output: String::new(),
                exit_code: None,
            },
        );
        let t = Transcript::from_events(&[started.clone(), finished]);
        let html = render_entry(t.entries()[0].clone());
        let want = format!(r#"data-status="{}""#, status.as_str());
        assert!(html.contains(&want), "{want} missing in {html}");
    }
}

fn render(status: DeliveryStatus, attempts: u32, detail: &str) -> String {
    let t = Transcript::from_events(&[Event {
        seq: Seq(7),
        at_ms: 0,
        run: None,
        private: false,
        body: EventBody::Delivery {
            channel: "webhook".into(),
            target: "ops".into(),
            status,
            attempts,
            detail: detail.into(),
            updates: None,
        },
    }]);
    let entry = t.entries()[0].clone();
    view! { <EntryView entry=entry /> }.to_html()
}

#[test]
fn a_delivery_renders_as_a_compact_tool_card_of_the_ui_contract() {
    let html = render(
        DeliveryStatus::Sent,
        3,
        "Sent to webhook:ops (HTTP 200 after 3 attempts).",
    );
    for want in [
        r#"data-testid="entry""#,
        r#"data-kind="tool""#,
        r#"data-seq="7""#,
        r#"data-tool="delivery""#,
        r#"data-relay="none""#,
        "sent to webhook:ops",
        "3 attempts",
        "HTTP 200 after 3 attempts",
    ] {
        assert!(html.contains(want), "{want} missing in {html}");
    }
    assert!(!html.contains("data-private"));
}

#[test]
fn a_delivery_under_way_says_so() {
    let html = render(DeliveryStatus::Sending, 0, "");
    assert!(html.contains("chip running"), "{html}");
    assert!(html.contains("sending to webhook:ops…"), "{html}");
    assert!(html.contains(r#"data-tool="delivery""#), "{html}");
}

#[test]
fn a_failed_delivery_shows_the_error_once_and_as_text() {
    let err = "Unknown webhook target: <x>. Configured targets: ops.";
    let html = render(DeliveryStatus::Failed, 0, err);
    assert!(html.contains("chip bad"), "{html}");
    assert!(
        html.contains("Unknown webhook target: &lt;x&gt;."),
        "{html}"
    );
    assert!(!html.contains("<x>"), "{html}");
    assert_eq!(html.matches("Unknown webhook target").count(), 1, "{html}");
    assert!(!html.contains("attempt"), "{html}");
}

#[test]
fn user_entries_say_which_client_they_were_typed_in_and_a_background_request_says_background() {
    let t = Transcript::from_events(&[
        event(
            1,
            EventBody::UserMessage {
                text: "from the terminal".into(),
                client_id: "c1".into(),
                source: crate::wire::Source::Tui,
                steered: false,
                images: Vec::new(),
            },
        ),
        event(
            2,
            EventBody::UserMessage {
                text: "from the browser".into(),
                client_id: "c2".into(),
                source: crate::wire::Source::Webchat,
                steered: false,
                images: Vec::new(),
            },
        ),
        event(
            3,
            EventBody::BackgroundRequest {
                origin: "api".into(),
                prompt: "nightly".into(),
            },
        ),
    ]);
    let html: Vec<String> = t.entries().iter().cloned().map(render_entry).collect();
    assert!(html[0].contains(r#"data-source="tui""#), "{}", html[0]);
    assert!(html[1].contains(r#"data-source="webchat""#), "{}", html[1]);
    assert!(
        html[2].contains(r#"data-source="background""#),
        "{}",
        html[2]
    );
}
