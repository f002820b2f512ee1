//! Which stored requests the restart recovery reports as never run (pure, on hand-made events).

use super::*;
use crate::store::{NoticeAbout, RecordBody};

fn ev(seq: u64, body: RecordBody) -> crate::store::Record {
    crate::store::Record {
        seq: Seq(seq),
        at_ms: 0,
        run: None,
        private: false,
        body,
    }
}

fn user(seq: u64) -> crate::store::Record {
    ev(
        seq,
        RecordBody::UserMessage {
            text: "x".into(),
            client_id: format!("c{seq}"),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
    )
}

#[test]
fn unrun_messages_are_those_no_run_names() {
    let started = |seq: u64, for_seq: Option<u64>| {
        ev(
            seq,
            RecordBody::RunStarted {
                run_id: format!("r{seq}").into(),
                for_seq: for_seq.map(Seq),
                background: None,
            },
        )
    };
    // 1 answered by 2; 3 and 4 queued and never run.
    let events = vec![user(1), started(2, Some(1)), user(3), user(4)];
    assert_eq!(unrun_messages(&events), vec![Seq(3), Seq(4)]);
    // A legacy run (no for_seq) covers everything before it.
    let events = vec![user(1), started(2, None), user(3)];
    assert_eq!(unrun_messages(&events), vec![Seq(3)]);
    // Queued 3 was started later as run 6: answered.
    let events = vec![user(1), started(2, Some(1)), user(3), started(6, Some(3))];
    assert!(unrun_messages(&events).is_empty());
    // A background request counts like a typed message.
    let request = ev(
        7,
        RecordBody::BackgroundRequest {
            origin: "schedule nightly".into(),
            prompt: "x".into(),
        },
    );
    let events = vec![user(1), started(2, Some(1)), request.clone()];
    assert_eq!(unrun_messages(&events), vec![Seq(7)]);
    let events = vec![request, started(8, Some(7))];
    assert!(unrun_messages(&events).is_empty());
}

#[test]
fn a_not_run_notice_covers_what_precedes_it_by_its_kind_not_its_words() {
    let notice = |seq: u64, text: &str, about: Option<NoticeAbout>| {
        ev(
            seq,
            RecordBody::Notice {
                level: NoticeLevel::Warning,
                text: text.into(),
                about,
            },
        )
    };
    // Today's notices are recognised by `about`, whatever they say.
    let events = vec![
        user(1),
        notice(2, "Anything at all.", Some(NoticeAbout::NotRun)),
        user(3),
    ];
    assert_eq!(unrun_messages(&events), vec![Seq(3)]);
    // Words alone mean nothing on a notice that is not legacy-shaped.
    let events = vec![
        user(1),
        notice(2, "This was not run through a spell checker.", None),
    ];
    assert_eq!(unrun_messages(&events), vec![Seq(1)]);
    // Legacy notices (stored before `about` existed) in every wording the old code wrote.
    for legacy in [
        "1 message was not run because the server stopped before its turn came. Send it again to run it.",
        "12 messages were not run because the server stopped before their turn came. Send them again to run them.",
        "Stopped: 1 queued message was not run. Send it again to run it.",
        "Stopped: 2 queued messages were not run. Send them again to run them.",
        "1 background request was not run because the server stopped before it started.",
        "3 background requests were not run because the server stopped before it started.",
    ] {
        let events = vec![user(1), notice(2, legacy, None), user(3)];
        assert_eq!(unrun_messages(&events), vec![Seq(3)], "{legacy}");
    }
    // Near misses are not legacy notices: no count, or not the old sentence.
    assert!(!legacy_not_run_notice("Stopped: nothing was not run"));
    assert!(!legacy_not_run_notice(" message was not run"));
}

#[test]
fn a_steered_message_is_not_reported_unrun_after_a_restart() {
    // 2 was sent into run 1's turn (`turn/steer`): no run of its own names it, and none must.
    let steered = ev(
        3,
        RecordBody::UserMessage {
            text: "also this".into(),
            client_id: "c3".into(),
            source: Default::default(),
            steered: true,
            images: Vec::new(),
        },
    );
    let started = ev(
        2,
        RecordBody::RunStarted {
            run_id: "r2".into(),
            for_seq: Some(Seq(1)),
            background: None,
        },
    );
    let events = vec![user(1), started, steered, user(4)];
    assert_eq!(unrun_messages(&events), vec![Seq(4)]);
}
