//! Each notification kind and the writes (and phase steps) it makes, without a gateway or a clock.

use serde_json::json;

use super::*;
use crate::codex::TurnStatus;
use crate::store::RecordBody;

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
fn other_items_and_notifications_write_nothing() {
    let mut p = Projection::new(false);
    let other = Item::Other {
        id: Some("o1".into()),
        kind: "reasoning".into(),
        raw: json!({}),
    };
    let user = Item::UserMessage { id: "u1".into() };
    for n in [
        started(other.clone()),
        completed(other),
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
        error("retrying", true),
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
