//! One transcript row: a user message, an assistant reply, a tool card, a delivery card, an
//! approval card (its body is [`super::approval`]), or a notice.
//!
//! Rows are immutable views of an [`Entry`]: when the entry changes (a stream delta, a tool
//! result, an approval's end) its `version` changes and the list renders a new row. The markup
//! carries the test contract (`data-testid="entry"`, `data-kind`, `data-seq`, `data-private`,
//! and for tools `data-tool`/`data-relay`/`data-status`; a delivery card is a tool entry with
//! `data-tool="delivery"` and `data-relay="none"`, and no `data-status`). Assistant HTML comes
//! sanitised from the server and is inserted as is; everything else is text, so nothing a model
//! or a tool prints can become markup.

use leptos::either::{Either, EitherOf3, EitherOf6};
use leptos::prelude::*;

use super::approval::approval_body;
use super::detail::detail_view;
use crate::text::{html_text, pre_text};
use crate::transcript::{DeliveryView, Entry, EntryKind, ToolView, DELIVERY_TOOL};
use crate::wire::{DeliveryStatus, NoticeLevel, RelayDecision, ToolStatus};

/// Output longer than this is folded into a `<details>` so one tool call cannot bury the chat.
const FOLD_LINES: usize = 24;
const FOLD_CHARS: usize = 4_000;

#[component]
pub fn EntryView(mut entry: Entry) -> impl IntoView {
    let kind = entry.kind.as_str();
    let seq = entry.seq.to_string();
    let private = entry.private.then_some("true");
    let tool_name = entry
        .tool
        .as_ref()
        .map(|t| html_text(t.tool.clone()))
        .or_else(|| entry.delivery.as_ref().map(|_| DELIVERY_TOOL.to_owned()));
    let relay = entry.tool.as_ref().map(|t| t.relay.as_str()).or_else(|| {
        entry
            .delivery
            .as_ref()
            .map(|_| RelayDecision::None.as_str())
    });
    let status = entry.tool.as_ref().map(|t| t.status.as_str());
    let source = entry.source;
    let steered = entry.steered.then_some("true");
    let level = entry.notice_level.map(level_str);
    let mut class = format!("entry entry-{kind}");
    if entry.private {
        class.push_str(" private");
    }
    if entry.streaming {
        class.push_str(" streaming");
    }
    if entry.delivery.is_some() {
        class.push_str(" delivery");
    }
    // The stylesheet labels these rows with the origin (`data-background`), so every entry of a
    // background run says so without markup of its own.
    let background = entry.background.take().map(html_text);
    if background.is_some() {
        class.push_str(" background");
    }
    if let Some(level) = level {
        class.push_str(" notice-");
        class.push_str(level);
    }
    // `Either*` rather than `into_any()`: every erased view carries its own copy of the
    // (async) hydration code, which the wasm budget cannot afford per row type.
    let delivery = entry.delivery.take();
    let approval = entry.approval.take();
    let body = match (entry.kind, entry.tool.take(), delivery, approval) {
        (EntryKind::User, ..) => EitherOf6::A(user_body(entry)),
        (EntryKind::Assistant, ..) => EitherOf6::B(assistant_body(entry)),
        (EntryKind::Tool, Some(tool), ..) => EitherOf6::C(tool_body(tool, entry.private)),
        (EntryKind::Tool, None, Some(delivery), _) => EitherOf6::D(delivery_body(delivery, entry)),
        (EntryKind::Approval, _, _, Some(approval)) => {
            EitherOf6::F(approval_body(entry.seq, approval))
        }
        // The projection always attaches a tool, delivery or approval view to those entries;
        // without one the text is still worth showing, as a plain note.
        (EntryKind::Tool | EntryKind::Approval, ..) | (EntryKind::Notice, ..) => {
            EitherOf6::E(notice_body(entry))
        }
    };
    view! {
        <article
            class=class
            data-testid="entry"
            data-kind=kind
            data-seq=seq
            data-private=private
            data-tool=tool_name
            data-relay=relay
            data-status=status
            data-background=background
            data-source=source
            data-steered=steered
        >
            {body}
        </article>
    }
}

fn level_str(level: NoticeLevel) -> &'static str {
    match level {
        NoticeLevel::Info => "info",
        NoticeLevel::Warning => "warning",
        NoticeLevel::Error => "error",
    }
}

fn private_badge(private: bool) -> impl IntoView {
    private.then(|| {
        view! {
            <span class="badge" title="Only shown with “Show internals” on">"internal"</span>
        }
    })
}

/// A user message: its text and its images as thumbnails (the file names are untrusted text).
/// A steered message says so through the row's `data-steered`, which the stylesheet labels.
fn user_body(entry: Entry) -> impl IntoView {
    let images = (!entry.images.is_empty()).then(|| {
        let thumbnails = entry
            .images
            .into_iter()
            .map(|image| {
                let src = image.url();
                let name = html_text(image.name);
                view! { <img data-testid="image" src=src alt=name loading="lazy" /> }
            })
            .collect_view();
        view! { <div class="images">{thumbnails}</div> }
    });
    view! {
        <div class="who">"You"</div>
        <div class="bubble text">{html_text(entry.text)}</div>
        {images}
    }
}

fn assistant_body(entry: Entry) -> impl IntoView {
    let caret = entry
        .streaming
        .then(|| view! { <span class="caret" aria-label="still writing"></span> });
    let content = match entry.html {
        // Sanitised on the server (markdown rendered once, there); never re-rendered here, so
        // hydration sees the very same string.
        Some(html) => Either::Left(view! { <div class="prose" inner_html=html></div> }),
        None => {
            Either::Right(view! { <div class="prose text">{html_text(entry.text)}{caret}</div> })
        }
    };
    view! {
        <div class="who">"Assistant" {private_badge(entry.private)}</div>
        {content}
    }
}

fn tool_body(tool: ToolView, private: bool) -> impl IntoView {
    let ToolView {
        tool: name,
        command,
        relay,
        status,
        output,
        exit_code,
        detail,
    } = tool;
    // A card with a detail (files, a plan) says what it did there; "No output." would only add
    // noise.
    let quiet = detail.is_some() && output.is_empty() && status != ToolStatus::Running;
    let exit = exit_code.map(|code| {
        view! { <span class=if code == 0 { "chip ok" } else { "chip bad" }>"exit " {code}</span> }
    });
    let status_class = match status {
        ToolStatus::Running => "chip running",
        ToolStatus::Completed => "chip ok",
        ToolStatus::Failed | ToolStatus::Declined => "chip bad",
        ToolStatus::Interrupted => "chip warn",
    };
    let relay_class = match relay.as_str() {
        "allowed" => "chip ok",
        "denied" | "unavailable" => "chip bad",
        _ => "chip",
    };
    let output_view = if quiet {
        None
    } else if output.is_empty() {
        let note = if status == ToolStatus::Running {
            "Running…"
        } else {
            "No output."
        };
        Some(EitherOf3::A(
            view! { <p class="tool-empty muted">{note}</p> },
        ))
    } else {
        let lines = output.lines().count();
        if lines > FOLD_LINES || output.len() > FOLD_CHARS {
            Some(EitherOf3::B(view! {
                <details class="tool-fold">
                    <summary>"Output (" {lines} " lines)"</summary>
                    <pre class="tool-output">{pre_text(output)}</pre>
                </details>
            }))
        } else {
            Some(EitherOf3::C(
                view! { <pre class="tool-output">{pre_text(output)}</pre> },
            ))
        }
    };
    view! {
        <div class="tool-head">
            <span class="tool-name">{html_text(name)}</span>
            <span class=status_class>{status.as_str()}</span>
            <span class=relay_class title="What the hook relay decided">
                "relay: " {relay.as_str()}
            </span>
            {exit}
            {private_badge(private)}
        </div>
        <pre class="tool-command">
            <code>{html_text(command)}</code>
        </pre>
        {detail.map(detail_view)}
        {output_view}
    }
}

/// One compact line: the channel and target, whether it went, how many attempts it took, and the
/// receipt or error below it only when it says more than the line does.
fn delivery_body(delivery: DeliveryView, entry: Entry) -> impl IntoView {
    let (status_class, icon) = match delivery.status {
        DeliveryStatus::Sending => ("chip running", "…"),
        DeliveryStatus::Sent => ("chip ok", "✓"),
        DeliveryStatus::Failed => ("chip bad", "✗"),
        DeliveryStatus::Unknown => ("chip running", "?"),
    };
    let attempts = match delivery.attempts {
        0 => None,
        1 => Some("1 attempt".to_owned()),
        n => Some(format!("{n} attempts")),
    }
    .map(|a| view! { <span class="chip">{a}</span> });
    let detail = (!delivery.detail.trim().is_empty() && delivery.detail != entry.text).then(
        || view! { <div class="delivery-detail muted">{html_text(delivery.detail.clone())}</div> },
    );
    view! {
        <div class="tool-head">
            <span class="tool-name">{DELIVERY_TOOL}</span>
            <span class=status_class>{icon} " " {delivery.status.as_str()}</span>
            {attempts}
            {private_badge(entry.private)}
        </div>
        <div class="delivery-text text">{html_text(entry.text)}</div>
        {detail}
    }
}

fn notice_body(entry: Entry) -> impl IntoView {
    view! {
        <div class="notice-text text">{private_badge(entry.private)} {html_text(entry.text)}</div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::transcript::Transcript;
    use crate::wire::{
        ApprovalKind, ApprovalState, DiffLine, DiffLineKind, Event, EventBody, FileDiff,
        PlanStatus, PlanStep, Seq, ToolDetail,
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
        let html = render_entry(
            Transcript::from_events(std::slice::from_ref(&started)).entries()[0].clone(),
        );
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
}

#[cfg(test)]
#[path = "entry_user_tests.rs"]
mod user_tests;
