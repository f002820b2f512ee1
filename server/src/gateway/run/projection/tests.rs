//! Each notification kind and the writes (and phase steps) it makes, without a gateway or a clock.

use serde_json::json;

use super::*;
use crate::codex::TurnStatus;
use crate::store::record::StoredDetail;
use crate::store::RecordBody;
use app::wire::ContextUsage;

fn at(ms: u64) -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now) + Duration::from_millis(ms)
}

fn started(item: Item) -> Notification {
    Notification::ItemStarted {
        thread_id: "t".into(),
        turn_id: "u".into(),
        item,
    }
}

fn completed(item: Item) -> Notification {
    Notification::ItemCompleted {
        thread_id: "t".into(),
        turn_id: "u".into(),
        item,
    }
}

fn delta(item: &str, text: &str) -> Notification {
    Notification::AgentMessageDelta {
        thread_id: "t".into(),
        turn_id: "u".into(),
        item_id: item.into(),
        delta: text.into(),
    }
}

fn message(id: &str, text: &str) -> Item {
    Item::AgentMessage {
        id: id.into(),
        text: text.into(),
    }
}

fn command(id: &str, status: &str, output: Option<&str>) -> Item {
    Item::CommandExecution {
        id: id.into(),
        command: "/bin/bash -lc 'ls -la'".into(),
        status: status.into(),
        aggregated_output: output.map(str::to_owned),
        exit_code: output.map(|_| 0),
    }
}

fn dynamic(id: &str, status: &str) -> Item {
    Item::DynamicToolCall {
        id: id.into(),
        tool: "message".into(),
        arguments: json!({"action": "send"}),
        status: status.into(),
    }
}

fn error(message: &str, will_retry: bool) -> Notification {
    Notification::Error {
        thread_id: Some("t".into()),
        turn_id: Some("u".into()),
        message: message.into(),
        will_retry,
    }
}

fn turn_completed(status: TurnStatus, error: Option<&str>) -> Notification {
    Notification::TurnCompleted {
        thread_id: "t".into(),
        turn_id: "u".into(),
        status,
        error: error.map(str::to_owned),
    }
}

/// The writes `n` makes, with no step.
fn writes(p: &mut Projection, n: Notification, now: Instant) -> Vec<Write> {
    let out = p.apply(n, now);
    assert_eq!(out.step, None);
    out.writes
}

fn write(private: bool, body: RecordBody) -> Write {
    Write {
        private,
        body,
        target_unknown: false,
        creates: None,
    }
}

fn creating(private: bool, body: RecordBody, item: &str) -> Write {
    Write {
        creates: Some(item.into()),
        ..write(private, body)
    }
}

fn model_text(item: &str, text: &str) -> RecordBody {
    RecordBody::ModelText {
        item_id: item.into(),
        text: text.into(),
    }
}

fn append(target: u64, delta: &str) -> RecordBody {
    RecordBody::TextAppend {
        target: Seq(target),
        delta: delta.into(),
    }
}

fn shell_card(id: &str, relay: RelayDecision) -> RecordBody {
    RecordBody::ToolStarted {
        call_id: id.into(),
        tool: "shell".into(),
        command: "ls -la".into(),
        relay,
        detail: None,
    }
}

#[test]
fn shell_wrappers_are_unwrapped_for_display() {
    assert_eq!(display_command("/bin/bash -lc 'echo hi'"), "echo hi");
    assert_eq!(display_command("/bin/bash -c 'echo hi'"), "echo hi");
    assert_eq!(display_command("bashful -c x"), "bashful -c x");
    assert_eq!(
        display_command("/bin/bash -lc 'echo '\\''q'\\'''"),
        "echo 'q'"
    );
    assert_eq!(display_command("ls -la"), "ls -la");
}

#[test]
fn an_agent_message_opens_a_private_entry_in_a_message_tool_only_run() {
    let mut p = Projection::new(true);
    assert_eq!(
        writes(&mut p, started(message("m1", "Hi")), at(0)),
        vec![creating(true, model_text("m1", "Hi"), "m1")]
    );
    let mut public = Projection::new(false);
    assert_eq!(
        writes(&mut public, started(message("m1", "")), at(0)),
        vec![creating(false, model_text("m1", ""), "m1")]
    );
}

#[test]
fn in_a_thread_without_the_message_tool_a_completed_agent_message_is_also_the_reply() {
    let mut p = Projection::new(true);
    p.reply_with_prose();
    writes(&mut p, started(message("m1", "")), at(0));
    p.created("m1".into(), Seq(5));
    let reply = RecordBody::AssistantMessage {
        text: "**Done**".into(),
        call_id: None,
    };
    assert_eq!(
        writes(&mut p, completed(message("m1", "**Done**")), at(10)),
        vec![
            write(
                true,
                RecordBody::TextDone {
                    target: Seq(5),
                    text: "**Done**".into()
                }
            ),
            write(false, reply)
        ]
    );
    // Blank prose is no reply; and without the switch (our own threads) prose stays prose.
    writes(&mut p, started(message("m2", "")), at(20));
    p.created("m2".into(), Seq(6));
    assert_eq!(
        writes(&mut p, completed(message("m2", " ")), at(30)).len(),
        1
    );
    let mut ours = Projection::new(true);
    writes(&mut ours, started(message("m1", "")), at(0));
    ours.created("m1".into(), Seq(5));
    assert_eq!(
        writes(&mut ours, completed(message("m1", "hi")), at(10)).len(),
        1
    );
}

#[test]
fn deltas_are_appended_at_most_every_flush_interval() {
    let mut p = Projection::new(true);
    writes(&mut p, started(message("m1", "")), at(0));
    p.created("m1".into(), Seq(5));
    // The first delta goes out at once.
    assert_eq!(
        writes(&mut p, delta("m1", "Hel"), at(0)),
        vec![write(true, append(5, "Hel"))]
    );
    // Later ones inside the interval wait, coalesced.
    assert!(writes(&mut p, delta("m1", "lo"), at(50)).is_empty());
    assert!(writes(&mut p, delta("m1", ","), at(60)).is_empty());
    assert!(p.flush_due(at(99)).is_empty());
    assert_eq!(p.flush_due(at(100)), vec![write(true, append(5, "lo,"))]);
    assert!(p.flush_due(at(500)).is_empty(), "nothing left to flush");
    // A delta after a quiet interval goes out at once again.
    assert_eq!(
        writes(&mut p, delta("m1", " you"), at(600)),
        vec![write(true, append(5, " you"))]
    );
}

#[test]
fn a_delta_before_its_item_started_opens_the_entry() {
    let mut p = Projection::new(false);
    assert_eq!(
        writes(&mut p, delta("m1", "Hel"), at(0)),
        vec![creating(false, model_text("m1", "Hel"), "m1")]
    );
    // Not buffered twice: the entry holds it already.
    p.created("m1".into(), Seq(3));
    assert!(p.flush_all().is_empty());
}

#[test]
fn a_completed_message_is_done_and_drops_what_is_still_buffered() {
    let mut p = Projection::new(true);
    writes(&mut p, started(message("m1", "")), at(0));
    p.created("m1".into(), Seq(5));
    writes(&mut p, delta("m1", "Hel"), at(0));
    writes(&mut p, delta("m1", "lo"), at(10));
    assert_eq!(
        writes(&mut p, completed(message("m1", "Hello")), at(20)),
        vec![write(
            true,
            RecordBody::TextDone {
                target: Seq(5),
                text: "Hello".into()
            }
        )]
    );
    assert!(p.flush_all().is_empty());
}

#[test]
fn a_completed_message_never_started_opens_its_entry_and_is_done() {
    let mut p = Projection::new(true);
    let out = writes(&mut p, completed(message("m1", "Hello")), at(0));
    let done = Write {
        target_unknown: true,
        ..write(
            true,
            RecordBody::TextDone {
                target: Seq::ZERO,
                text: "Hello".into(),
            },
        )
    };
    assert_eq!(
        out,
        vec![creating(true, model_text("m1", "Hello"), "m1"), done]
    );
    // The done event points at the entry written just before it.
    let mut done = out[1].clone();
    assert!(done.resolve_target(Some(Seq(9))));
    assert!(matches!(
        done.body,
        RecordBody::TextDone { target: Seq(9), .. }
    ));
    assert!(!out[1].clone().resolve_target(None));
}

#[test]
fn a_command_gets_a_public_card_with_the_relay_decision_and_its_result() {
    let mut p = Projection::new(true);
    p.record_relay_decision("c1".into(), RelayDecision::Allowed);
    assert_eq!(
        writes(&mut p, started(command("c1", "inProgress", None)), at(0)),
        vec![creating(
            false,
            shell_card("c1", RelayDecision::Allowed),
            "c1"
        )]
    );
    p.created("c1".into(), Seq(7));
    assert_eq!(
        writes(
            &mut p,
            completed(command("c1", "completed", Some("a\n"))),
            at(1)
        ),
        vec![write(
            false,
            RecordBody::ToolFinished {
                target: Seq(7),
                status: ToolStatus::Completed,
                output: "a\n".into(),
                exit_code: Some(0),
            }
        )]
    );
    // The decision was used up by its card.
    assert_eq!(
        writes(&mut p, started(command("c1", "inProgress", None)), at(2)),
        vec![creating(false, shell_card("c1", RelayDecision::None), "c1")]
    );
}

#[test]
fn a_command_completed_without_a_start_opens_and_closes_its_card() {
    let mut p = Projection::new(true);
    p.record_relay_decision("c1".into(), RelayDecision::Denied);
    let out = writes(&mut p, completed(command("c1", "declined", None)), at(0));
    let finished = Write {
        target_unknown: true,
        ..write(
            false,
            RecordBody::ToolFinished {
                target: Seq::ZERO,
                status: ToolStatus::Declined,
                output: String::new(),
                exit_code: None,
            },
        )
    };
    assert_eq!(
        out,
        vec![
            creating(false, shell_card("c1", RelayDecision::Denied), "c1"),
            finished
        ]
    );
}

#[test]
fn tool_statuses_map_to_card_statuses() {
    for (codex, card) in [
        ("completed", ToolStatus::Completed),
        ("declined", ToolStatus::Declined),
        ("inProgress", ToolStatus::Running),
        ("failed", ToolStatus::Failed),
        ("anything else", ToolStatus::Failed),
    ] {
        assert_eq!(tool_status(codex), card, "{codex}");
    }
}

#[test]
fn a_dynamic_tool_call_is_a_private_card() {
    let mut p = Projection::new(false);
    let card = RecordBody::ToolStarted {
        call_id: "d1".into(),
        tool: "message".into(),
        command: r#"{"action":"send"}"#.into(),
        relay: RelayDecision::None,
        detail: None,
    };
    assert_eq!(
        writes(&mut p, started(dynamic("d1", "inProgress")), at(0)),
        vec![creating(true, card, "d1")]
    );
    p.created("d1".into(), Seq(4));
    assert_eq!(
        writes(&mut p, completed(dynamic("d1", "completed")), at(1)),
        vec![write(
            true,
            RecordBody::ToolFinished {
                target: Seq(4),
                status: ToolStatus::Completed,
                output: String::new(),
                exit_code: None,
            }
        )]
    );
    // A call whose start was never seen has no card to finish.
    assert!(writes(&mut p, completed(dynamic("d2", "failed")), at(2)).is_empty());
}

#[test]
fn user_messages_and_other_notifications_write_nothing() {
    let mut p = Projection::new(false);
    let user = Item::UserMessage { id: "u1".into() };
    for n in [
        started(user.clone()),
        completed(user),
        Notification::CommandOutputDelta {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "c1".into(),
            delta: "x".into(),
        },
        Notification::HookStarted {
            thread_id: Some("t".into()),
            turn_id: None,
            run: json!({}),
        },
        Notification::Other {
            method: "thread/tokenUsage/updated".into(),
            params: json!({"threadId": "t"}),
        },
        // A retry writes its private event (see below); a final error waits for the turn's end.
        error("final", false),
    ] {
        assert!(writes(&mut p, n.clone(), at(0)).is_empty(), "{n:?}");
    }
}

#[test]
fn turn_notifications_are_steps_for_the_phase() {
    let mut p = Projection::new(true);
    let out = p.apply(
        Notification::TurnStarted {
            thread_id: "t".into(),
            turn_id: "u".into(),
        },
        at(3),
    );
    assert_eq!(out.writes, vec![]);
    assert_eq!(out.step, Some(Step::TurnKnown("u".into(), at(3))));
    for status in [TurnStatus::Completed, TurnStatus::Interrupted] {
        let out = p.apply(turn_completed(status.clone(), None), at(4));
        assert_eq!(out.writes, vec![]);
        assert_eq!(
            out.step,
            Some(Step::TurnCompleted {
                status,
                error: None
            })
        );
    }
}

#[test]
fn a_failed_turn_without_its_own_error_carries_the_last_final_error() {
    let mut p = Projection::new(true);
    writes(&mut p, error("first", false), at(0));
    writes(&mut p, error("second", false), at(1));
    // Codex retries this one itself: not the turn's error.
    writes(&mut p, error("retrying", true), at(2));
    let step = |p: &mut Projection, own: Option<&str>| {
        p.apply(turn_completed(TurnStatus::Failed, own), at(3)).step
    };
    assert_eq!(
        step(&mut p, None),
        Some(Step::TurnCompleted {
            status: TurnStatus::Failed,
            error: Some("second".into())
        })
    );
    // The turn's own error wins.
    assert_eq!(
        step(&mut p, Some("401")),
        Some(Step::TurnCompleted {
            status: TurnStatus::Failed,
            error: Some("401".into())
        })
    );
}

#[test]
fn an_ending_run_flushes_everything_buffered_for_entries_it_has() {
    let mut p = Projection::new(false);
    for item in ["m1", "m2"] {
        writes(&mut p, started(message(item, "")), at(0));
    }
    p.created("m1".into(), Seq(2));
    writes(&mut p, delta("m1", "a"), at(0));
    writes(&mut p, delta("m1", "b"), at(10));
    assert_eq!(p.flush_all(), vec![write(false, append(2, "b"))]);
    assert!(p.flush_all().is_empty());
}

// --- cards for every item kind ---------------------------------------------------------------

/// What the dispatcher does with writes: resolve unknown targets, give each a sequence number,
/// and tell the projection which entries were created. Returns the stored events in order.
fn store(p: &mut Projection, next: &mut u64, out: Vec<Write>) -> Vec<(Seq, Write)> {
    let mut last_created = None;
    let mut stored = Vec::new();
    for mut w in out {
        if !w.resolve_target(last_created) {
            continue;
        }
        *next += 1;
        let seq = Seq(*next);
        if let Some(item) = w.creates.clone() {
            last_created = Some(seq);
            p.created(item, seq);
        }
        stored.push((seq, w));
    }
    stored
}

/// A captured notification stream (`tests/fixtures/codex/items`) through a projection, as stored.
fn project_fixture(jsonl: &str) -> (Vec<(Seq, Write)>, Vec<ContextUsage>) {
    let mut p = Projection::new(true);
    let (mut next, mut events, mut usage) = (0, Vec::new(), Vec::new());
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("fixture line");
        let method = v["method"].as_str().expect("method");
        let n = Notification::parse(method, v["params"].clone());
        let out = p.apply(n, at(0));
        usage.extend(out.usage);
        events.extend(store(&mut p, &mut next, out.writes));
    }
    (events, usage)
}

fn cards_of<'a>(events: &'a [(Seq, Write)], tool: &str) -> Vec<(Seq, &'a Write)> {
    events
        .iter()
        .filter(|(_, w)| matches!(&w.body, RecordBody::ToolStarted { tool: t, .. } if t == tool))
        .map(|(seq, w)| (*seq, w))
        .collect()
}

/// The detail the card at `target` shows last (its start's, or its latest update's).
fn last_detail(events: &[(Seq, Write)], target: Seq) -> Option<StoredDetail> {
    events.iter().fold(None, |shown, (seq, w)| match &w.body {
        RecordBody::ToolStarted { detail, .. } if *seq == target => detail.clone(),
        RecordBody::ToolUpdated { target: t, detail } if *t == target => Some(detail.clone()),
        _ => shown,
    })
}

fn finish_of(events: &[(Seq, Write)], target: Seq) -> Vec<(ToolStatus, String)> {
    events
        .iter()
        .filter_map(|(_, w)| match &w.body {
            RecordBody::ToolFinished {
                target: t,
                status,
                output,
                ..
            } if *t == target => Some((*status, output.clone())),
            _ => None,
        })
        .collect()
}

const EDIT: &str = include_str!("../../../../tests/fixtures/codex/items/edit.jsonl");
const EDIT_TWICE: &str =
    include_str!("../../../../tests/fixtures/codex/items/edit-add-then-update.jsonl");
const PLAN: &str = include_str!("../../../../tests/fixtures/codex/items/plan.jsonl");
const THINK: &str = include_str!("../../../../tests/fixtures/codex/items/think.jsonl");

#[test]
fn a_file_change_is_a_card_with_its_diff_and_finishes_with_its_status() {
    // The demo's /edit: one added file.
    let (events, _) = project_fixture(EDIT);
    let cards = cards_of(&events, "file_change");
    assert_eq!(cards.len(), 1);
    let Some(StoredDetail::Files { files }) = last_detail(&events, cards[0].0) else {
        panic!("no files")
    };
    assert_eq!(files[0].diff, "+hello\n");
    assert_eq!(
        finish_of(&events, cards[0].0),
        [(ToolStatus::Completed, String::new())]
    );
    let (events, _) = project_fixture(EDIT_TWICE);
    let cards = cards_of(&events, "file_change");
    assert_eq!(cards.len(), 2, "one card per fileChange item");
    let (first, card) = cards[0];
    assert!(!card.private);
    assert!(
        matches!(&card.body, RecordBody::ToolStarted { command, .. } if command == "/w/notes.txt")
    );
    let Some(StoredDetail::Files { files }) = last_detail(&events, first) else {
        panic!("no files on {card:?}")
    };
    let shown = crate::gateway::diff::present_file(&files[0]);
    assert_eq!(shown.kind, "add");
    assert_eq!(
        shown.lines,
        [app::wire::DiffLine {
            kind: app::wire::DiffLineKind::Add,
            text: "+hello".into()
        }]
    );
    assert_eq!(
        finish_of(&events, first),
        [(ToolStatus::Completed, String::new())]
    );
    let Some(StoredDetail::Files { files }) = last_detail(&events, cards[1].0) else {
        panic!("no files on the update")
    };
    assert_eq!(files[0].kind, "update");
    assert!(files[0].diff.contains("+world"), "{files:?}");
}

#[test]
fn a_file_change_whose_changes_differ_at_completion_is_updated_before_it_finishes() {
    let mut p = Projection::new(false);
    let change = |diff: &str| Item::FileChange {
        id: "f1".into(),
        changes: vec![crate::codex::FileChange {
            path: "a.txt".into(),
            kind: "update".into(),
            diff: diff.into(),
        }],
        status: "inProgress".into(),
        raw: json!({}),
    };
    let out = writes(&mut p, started(change("@@ -1 +1 @@\n-a\n+b\n")), at(0));
    assert_eq!(out.len(), 1);
    p.created("f1".into(), Seq(4));
    assert_eq!(p.file_changes("f1")[0].diff, "@@ -1 +1 @@\n-a\n+b\n");
    let Item::FileChange { changes, .. } = change("@@ -1 +1 @@\n-a\n+c\n") else {
        unreachable!()
    };
    let done = Item::FileChange {
        id: "f1".into(),
        changes,
        status: "declined".into(),
        raw: json!({}),
    };
    let out = writes(&mut p, completed(done), at(1));
    assert!(
        matches!(&out[..], [
            Write { body: RecordBody::ToolUpdated { target: Seq(4), detail: StoredDetail::Files { files } }, .. },
            Write { body: RecordBody::ToolFinished { target: Seq(4), status: ToolStatus::Declined, .. }, .. },
        ] if files[0].diff.ends_with("+c\n")),
        "{out:?}"
    );
    // The same changes at completion need no update.
    let mut same = Projection::new(false);
    writes(&mut same, started(change("x")), at(0));
    same.created("f1".into(), Seq(2));
    let out = writes(&mut same, completed(change("x")), at(1));
    assert!(
        matches!(
            &out[..],
            [Write {
                body: RecordBody::ToolFinished { .. },
                ..
            }]
        ),
        "{out:?}"
    );
}

#[test]
fn the_turn_diff_is_one_card_updated_in_place_and_finished_with_the_turn() {
    let (events, _) = project_fixture(EDIT_TWICE);
    let cards = cards_of(&events, "turn_diff");
    assert_eq!(cards.len(), 1, "one turn_diff card per turn");
    let target = cards[0].0;
    let updates = events
        .iter()
        .filter(
            |(_, w)| matches!(&w.body, RecordBody::ToolUpdated { target: t, .. } if *t == target),
        )
        .count();
    // The fixture's diff changes once (the second edit); repeats of the same diff write nothing.
    assert_eq!(updates, 1);
    let Some(StoredDetail::Files { files }) = last_detail(&events, target) else {
        panic!("no files")
    };
    assert_eq!(files.len(), 1);
    assert!(files[0].diff.ends_with("+hello\n+world\n"), "{files:?}");
    assert_eq!(
        finish_of(&events, target),
        [(ToolStatus::Completed, String::new())]
    );
}

#[test]
fn the_plan_is_one_card_per_turn_updated_until_every_step_is_completed() {
    let (events, _) = project_fixture(PLAN);
    let cards = cards_of(&events, "plan");
    assert_eq!(cards.len(), 1);
    let target = cards[0].0;
    let updates = events
        .iter()
        .filter(
            |(_, w)| matches!(&w.body, RecordBody::ToolUpdated { target: t, .. } if *t == target),
        )
        .count();
    assert_eq!(updates, 3, "four plan updates: one start and three changes");
    let Some(StoredDetail::Plan { steps, explanation }) = last_detail(&events, target) else {
        panic!("no plan")
    };
    assert_eq!(
        explanation.as_deref(),
        Some("The demo model's /plan directive")
    );
    assert_eq!(steps.len(), 3);
    assert!(steps
        .iter()
        .all(|s| s.status == app::wire::PlanStatus::Completed));
    assert_eq!(
        finish_of(&events, target),
        [(ToolStatus::Completed, String::new())]
    );
}

#[test]
fn turn_cards_are_not_finished_by_a_turn_that_did_not_complete() {
    let mut p = Projection::new(false);
    let plan = Notification::PlanUpdated {
        thread_id: "t".into(),
        turn_id: "u".into(),
        explanation: None,
        steps: vec![app::wire::PlanStep {
            step: "a".into(),
            status: app::wire::PlanStatus::InProgress,
        }],
    };
    let mut next = 0;
    let out = writes(&mut p, plan.clone(), at(0));
    store(&mut p, &mut next, out);
    assert!(
        writes(&mut p, plan, at(1)).is_empty(),
        "no change, no update"
    );
    let out = p.apply(turn_completed(TurnStatus::Interrupted, None), at(2));
    // The transcript derives `interrupted` for a card left running by its run.
    assert_eq!(out.writes, vec![]);
}

#[test]
fn reasoning_is_a_private_card_with_its_summary() {
    let (events, _) = project_fixture(THINK);
    let cards = cards_of(&events, "reasoning");
    assert_eq!(cards.len(), 1);
    let (target, card) = cards[0];
    assert!(card.private);
    assert!(matches!(&card.body, RecordBody::ToolStarted { command, .. } if command == "why"));
    assert_eq!(
        finish_of(&events, target),
        [(ToolStatus::Completed, String::new())]
    );
    // Reasoning with nothing readable (encrypted only) has no card.
    let mut p = Projection::new(false);
    let empty = Item::Reasoning {
        id: "r".into(),
        summary: vec![],
        content: vec![],
    };
    assert!(writes(&mut p, completed(empty), at(0)).is_empty());
}

#[test]
fn token_usage_becomes_the_sessions_context_usage() {
    let (_, usage) = project_fixture(EDIT_TWICE);
    assert_eq!(
        usage.first(),
        Some(&ContextUsage {
            tokens: 1010,
            window: Some(258_400),
            total: 1010
        })
    );
    let last = usage.last().expect("usage");
    assert_eq!(
        last.tokens, 1010,
        "what the context holds now, not the thread's total"
    );
    assert!(last.total > last.tokens);
}

/// Opens the card an item starts, stores it at `seq`, and returns what its completion writes.
fn start_and_complete(p: &mut Projection, item: Item, seq: u64) -> (Vec<Write>, Vec<Write>) {
    let opened = writes(p, started(item.clone()), at(0));
    if let Some(id) = item.id() {
        p.created(id.to_owned(), Seq(seq));
    }
    (opened, writes(p, completed(item), at(1)))
}

#[test]
fn an_mcp_call_shows_server_tool_arguments_and_its_result_or_error() {
    let call = |status: &str, result: Option<serde_json::Value>, error: Option<&str>| {
        Item::McpToolCall(Box::new(crate::codex::McpToolCall {
            id: "m1".into(),
            server: "docs".into(),
            tool: "search".into(),
            arguments: json!({"q": "x y"}),
            status: status.into(),
            result,
            error: error.map(str::to_owned),
        }))
    };
    let mut p = Projection::new(true);
    let result = json!({"content": [{"type": "text", "text": "found"}, {"type": "image"}, {"type": "text", "text": "twice"}]});
    let (opened, done) = start_and_complete(&mut p, call("completed", Some(result), None), 7);
    assert_eq!(
        opened,
        vec![creating(
            false,
            RecordBody::ToolStarted {
                call_id: "m1".into(),
                tool: "mcp".into(),
                command: "docs/search".into(),
                relay: RelayDecision::None,
                detail: Some(StoredDetail::Mcp {
                    server: "docs".into(),
                    tool: "search".into(),
                    arguments: r#"{"q":"x y"}"#.into(),
                }),
            },
            "m1"
        )]
    );
    assert_eq!(
        done,
        vec![write(
            false,
            RecordBody::ToolFinished {
                target: Seq(7),
                status: ToolStatus::Completed,
                output: "found\ntwice".into(),
                exit_code: None
            }
        )]
    );
    let mut p = Projection::new(true);
    let (_, done) = start_and_complete(&mut p, call("failed", None, Some("boom")), 2);
    assert!(
        matches!(&done[..], [Write { body: RecordBody::ToolFinished { status: ToolStatus::Failed, output, .. }, .. }] if output == "boom"),
        "{done:?}"
    );
}

#[test]
fn web_search_image_and_compaction_cards() {
    let cases = [
        (
            Item::WebSearch {
                id: "w".into(),
                query: "rust".into(),
                action: Some(json!({"type": "search", "query": "rust"})),
            },
            "web_search",
            "rust",
            "search: rust",
        ),
        (
            Item::ImageView {
                id: "i".into(),
                path: "/w/a.png".into(),
            },
            "image",
            "/w/a.png",
            "",
        ),
        (
            Item::ContextCompaction { id: "c".into() },
            "compaction",
            "Context compacted",
            "",
        ),
    ];
    for (item, tool, command, output) in cases {
        let mut p = Projection::new(true);
        let (opened, done) = start_and_complete(&mut p, item, 3);
        assert!(
            matches!(&opened[..], [Write { private: false, body: RecordBody::ToolStarted { tool: t, command: c, .. }, .. }] if t == tool && c == command),
            "{opened:?}"
        );
        assert!(
            matches!(&done[..], [Write { body: RecordBody::ToolFinished { target: Seq(3), status: ToolStatus::Completed, output: o, .. }, .. }] if o == output),
            "{done:?}"
        );
    }
    // A search whose query comes only with its completion opens its card then.
    let mut p = Projection::new(true);
    let bare = Item::WebSearch {
        id: "w".into(),
        query: String::new(),
        action: None,
    };
    assert!(writes(&mut p, started(bare), at(0)).is_empty());
    let found = Item::WebSearch {
        id: "w".into(),
        query: "later".into(),
        action: Some(json!({"type": "openPage", "url": "https://example.com"})),
    };
    let out = writes(&mut p, completed(found), at(1));
    assert!(
        matches!(&out[..], [
            Write { body: RecordBody::ToolStarted { command, .. }, creates: Some(_), .. },
            Write { body: RecordBody::ToolFinished { output, .. }, target_unknown: true, .. },
        ] if command == "later" && output == "open: https://example.com"),
        "{out:?}"
    );
}

#[test]
fn an_unknown_item_kind_is_a_private_generic_card_never_dropped() {
    let mut p = Projection::new(false);
    let raw =
        json!({"type": "hologram", "id": "h1", "status": "inProgress", "blob": "x".repeat(10_000)});
    let item = Item::Other {
        id: Some("h1".into()),
        kind: "hologram".into(),
        raw: raw.clone(),
    };
    let (opened, done) = start_and_complete(&mut p, item, 9);
    let [Write {
        private: true,
        body: RecordBody::ToolStarted { tool, command, .. },
        ..
    }] = &opened[..]
    else {
        panic!("{opened:?}")
    };
    assert_eq!(tool, "hologram");
    assert!(
        command.len() <= cards::GENERIC_JSON_MAX,
        "{}",
        command.len()
    );
    assert!(command.starts_with(r#"{"blob":"xxx"#) && command.ends_with('…'));
    assert!(
        matches!(
            &done[..],
            [Write {
                private: true,
                body: RecordBody::ToolFinished {
                    target: Seq(9),
                    status: ToolStatus::Running,
                    ..
                },
                ..
            }]
        ),
        "the item's own status: {done:?}"
    );
    // Small ones are shown whole; one with no id still gets its card when it completes.
    let mut p = Projection::new(false);
    let small = json!({"type": "hologram", "n": 1});
    let whole = small.to_string();
    let out = writes(
        &mut p,
        completed(Item::Other {
            id: None,
            kind: "hologram".into(),
            raw: small.clone(),
        }),
        at(0),
    );
    assert!(
        matches!(&out[..], [
            Write { private: true, body: RecordBody::ToolStarted { command, .. }, .. },
            Write { private: true, body: RecordBody::ToolFinished { status: ToolStatus::Completed, .. }, target_unknown: true, .. },
        ] if *command == whole),
        "{out:?}"
    );
}

#[test]
fn a_tool_update_with_an_unknown_target_points_at_the_entry_created_before() {
    let mut w = Write::new(
        false,
        RecordBody::ToolUpdated {
            target: Seq::ZERO,
            detail: StoredDetail::Files { files: vec![] },
        },
    )
    .targeting(None);
    assert!(!w.clone().resolve_target(None), "nothing to point at");
    assert!(w.resolve_target(Some(Seq(6))));
    assert!(matches!(
        w.body,
        RecordBody::ToolUpdated { target: Seq(6), .. }
    ));
}

#[test]
fn a_retry_is_a_private_counted_write_and_not_progress_and_the_failure_names_it() {
    let mut p = Projection::new(false);
    for attempt in 1..=2 {
        let message = format!("Reconnecting... {attempt}/5");
        let projected = p.apply(error(&message, true), at(0));
        assert!(!projected.progress, "a retry is not progress");
        assert_eq!(
            projected.writes,
            vec![write(true, RecordBody::Retrying { message, attempt })]
        );
    }
    // A turn that fails after its retries, with no error of its own, names the last retry.
    let projected = p.apply(
        Notification::TurnCompleted {
            thread_id: "t".into(),
            turn_id: "u".into(),
            status: TurnStatus::Failed,
            error: None,
        },
        at(1),
    );
    assert!(projected.progress);
    assert_eq!(
        projected.step,
        Some(Step::TurnCompleted {
            status: TurnStatus::Failed,
            error: Some("Reconnecting... 2/5".into()),
        })
    );
}
