//! Every kind of request in which Codex asks a person, through a whole server on the fake
//! app-server (`/fake ask <kind>`, shaped as Codex 0.169 sends them): each becomes a card that
//! says what is asked, each answer reaches Codex in the shape its kind expects (the fake sends
//! back what it got), Codex closing a request itself cancels the card, and Codex killed with one
//! open expires it with a notice while the next message still works.

mod common;

use std::path::{Path, PathBuf};

use app::wire::{
    ApprovalDecision, ApprovalKind, ApprovalState, Event, EventBody, RunOutcome, Seq, SessionKey,
};
use codex_webchat::serve::{self, Running};

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");

async fn start(dir: &Path) -> Running {
    let mut config = common::config(dir);
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    serve::start(config).await.expect("server starts")
}

/// Sends `text` and returns the approval card it leads to: its id and its body.
async fn ask(server: &Running, key: &SessionKey, client_id: &str, text: &str) -> (Seq, EventBody) {
    let after = server.gateway.store().last_seq(key).unwrap();
    server.gateway.send(key, client_id, text).unwrap();
    common::wait_for(server, key, after, "approval", |e| {
        matches!(e.body, EventBody::ApprovalRequested { .. }).then(|| (e.seq, e.body.clone()))
    })
    .await
}

/// Waits for the run after `after` to end; its events.
async fn finished(server: &Running, key: &SessionKey, after: Seq) -> Vec<Event> {
    common::wait_for(server, key, after, "run end", |e| {
        matches!(e.body, EventBody::RunFinished { .. }).then_some(())
    })
    .await;
    server.gateway.events_after(key, after, 10_000).unwrap()
}

fn ended(events: &[Event], card: Seq) -> Option<(ApprovalState, Option<String>)> {
    events.iter().find_map(|e| match &e.body {
        EventBody::ApprovalEnded {
            target,
            state,
            answer,
        } if *target == card => Some((*state, answer.clone())),
        _ => None,
    })
}

/// Answers card `card` and returns what the fake Codex said it received.
async fn answer(
    server: &Running,
    key: &SessionKey,
    card: Seq,
    decision: ApprovalDecision,
    text: Option<&str>,
) -> (ApprovalState, serde_json::Value, Vec<Event>) {
    let state = server
        .gateway
        .answer(key, card, decision, text.map(str::to_owned))
        .await
        .unwrap();
    let events = finished(server, key, card).await;
    let got = common::replies(&events)
        .iter()
        .find_map(|r| r.strip_prefix("Answer: ").map(str::to_owned))
        .unwrap_or_else(|| panic!("no answer reached Codex: {events:#?}"));
    assert_eq!(ended(&events, card), Some((state, text.map(str::to_owned))));
    (state, serde_json::from_str(&got).unwrap(), events)
}

#[tokio::test]
async fn a_command_approval_shows_command_cwd_and_reason_and_each_answer_reaches_codex() {
    let dir = common::data_dir("kinds-command");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let (card, body) = ask(&server, &key, "c1", "/fake ask command").await;
    let EventBody::ApprovalRequested {
        kind,
        subject,
        cwd,
        reason,
        for_session,
        item_id,
        ..
    } = body
    else {
        unreachable!()
    };
    assert_eq!(kind, ApprovalKind::Command);
    assert_eq!(subject, "/bin/bash -lc 'touch /outside/x'");
    assert_eq!(cwd.as_deref(), Some("/w"));
    assert_eq!(
        reason.as_deref(),
        Some("needs to write outside the workspace")
    );
    assert!(for_session, "Codex offered acceptForSession");
    assert!(item_id.is_some());
    let (state, got, _) = answer(
        &server,
        &key,
        card,
        ApprovalDecision::AcceptForSession,
        None,
    )
    .await;
    assert_eq!(state, ApprovalState::AcceptedForSession);
    assert_eq!(got, serde_json::json!({"decision": "acceptForSession"}));

    let (card, _) = ask(&server, &key, "c2", "/fake ask command").await;
    let (state, got, _) = answer(&server, &key, card, ApprovalDecision::Decline, None).await;
    assert_eq!(state, ApprovalState::Declined);
    assert_eq!(got, serde_json::json!({"decision": "decline"}));
    server.shutdown().await;
}

#[tokio::test]
async fn a_file_change_approval_carries_the_diff_of_its_item() {
    let dir = common::data_dir("kinds-file");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let (card, body) = ask(&server, &key, "c1", "/fake ask file-change").await;
    let EventBody::ApprovalRequested {
        kind,
        subject,
        changes,
        for_session,
        ..
    } = body
    else {
        unreachable!()
    };
    assert_eq!(kind, ApprovalKind::FileChange);
    assert_eq!(subject, "/w/notes.txt");
    assert_eq!(
        changes,
        [codex_webchat::gateway::diff::present_file(
            &codex_webchat::store::record::StoredDiff {
                path: "/w/notes.txt".into(),
                kind: "update".into(),
                diff: "@@ -1 +1,2 @@\n first\n+second\n".into(),
            }
        )]
    );
    assert!(for_session);
    let (_, got, _) = answer(&server, &key, card, ApprovalDecision::Accept, None).await;
    assert_eq!(got, serde_json::json!({"decision": "accept"}));
    server.shutdown().await;
}

#[tokio::test]
async fn a_permissions_approval_grants_what_was_asked_for_the_chosen_scope_or_nothing() {
    let dir = common::data_dir("kinds-perms");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let (card, body) = ask(&server, &key, "c1", "/fake ask permissions").await;
    let EventBody::ApprovalRequested {
        kind,
        subject,
        reason,
        ..
    } = body
    else {
        unreachable!()
    };
    assert_eq!(kind, ApprovalKind::Permissions);
    assert_eq!(subject, "write /w/.cache");
    assert_eq!(reason.as_deref(), Some("wants to write the cache"));
    let (_, got, _) = answer(
        &server,
        &key,
        card,
        ApprovalDecision::AcceptForSession,
        None,
    )
    .await;
    assert_eq!(
        got,
        serde_json::json!({"permissions": {"fileSystem": {"write": ["/w/.cache"]}}, "scope": "session"})
    );
    let (card, _) = ask(&server, &key, "c2", "/fake ask permissions").await;
    let (state, got, _) = answer(&server, &key, card, ApprovalDecision::Decline, None).await;
    assert_eq!(state, ApprovalState::Declined);
    assert_eq!(got, serde_json::json!({"permissions": {}, "scope": "turn"}));
    server.shutdown().await;
}

#[tokio::test]
async fn questions_from_request_user_input_and_mcp_elicitation_take_a_written_answer() {
    let dir = common::data_dir("kinds-question");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;

    let (card, body) = ask(&server, &key, "c1", "/fake ask question").await;
    let EventBody::ApprovalRequested {
        kind,
        subject,
        for_session,
        ..
    } = body
    else {
        unreachable!()
    };
    assert_eq!(
        (kind, subject.as_str()),
        (ApprovalKind::Question, "Which colour?")
    );
    assert!(!for_session);
    // Approving a question needs its answer; that leaves it waiting.
    let refused = server
        .gateway
        .answer(&key, card, ApprovalDecision::Accept, None)
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), "a question needs an answer to approve");
    let (state, got, _) = answer(&server, &key, card, ApprovalDecision::Accept, Some("blue")).await;
    assert_eq!(state, ApprovalState::Accepted);
    assert_eq!(
        got,
        serde_json::json!({"answers": {"colour": {"answers": ["blue"]}}})
    );

    let (card, body) = ask(&server, &key, "c2", "/fake ask elicitation").await;
    let EventBody::ApprovalRequested { kind, subject, .. } = body else {
        unreachable!()
    };
    assert_eq!(
        (kind, subject.as_str()),
        (ApprovalKind::Question, "docs: Pick a colour")
    );
    let (_, got, _) = answer(&server, &key, card, ApprovalDecision::Accept, Some("red")).await;
    assert_eq!(
        got,
        serde_json::json!({"action": "accept", "content": {"colour": "red"}})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn codex_closing_a_request_itself_cancels_its_card_and_the_turn_goes_on() {
    let dir = common::data_dir("kinds-resolved");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let (card, _) = ask(&server, &key, "c1", "/fake ask command resolve").await;
    let events = finished(&server, &key, after).await;
    assert_eq!(ended(&events, card), Some((ApprovalState::Cancelled, None)));
    assert_eq!(
        common::replies(&events),
        ["Echo: /fake ask command resolve"]
    );
    let late = server
        .gateway
        .answer(&key, card, ApprovalDecision::Accept, None)
        .await
        .unwrap_err();
    assert_eq!(late.to_string(), "this approval was already cancelled");
    server.shutdown().await;
}

#[tokio::test]
async fn codex_dying_with_a_question_open_expires_it_with_a_notice_and_the_next_message_works() {
    let dir = common::data_dir("kinds-die");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let (card, _) = ask(&server, &key, "c1", "/fake ask permissions").await;
    // Killed while the question is open (a `/fake` exit could overtake the request itself).
    let pid = server
        .gateway
        .codex()
        .pid()
        .expect("the fake runs as a process");
    // SAFETY: kill(2) on the fake app-server this test's server started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let events = finished(&server, &key, after).await;
    assert_eq!(ended(&events, card), Some((ApprovalState::Expired, None)));
    assert!(
        common::notices(&events)
            .iter()
            .any(|n| n.contains("Send the message again")),
        "{events:#?}"
    );
    assert!(events.iter().any(|e| matches!(
        e.body,
        EventBody::RunFinished {
            outcome: RunOutcome::Failed,
            ..
        }
    )));
    let refused = server
        .gateway
        .answer(&key, card, ApprovalDecision::Accept, None)
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), "this approval was already expired");
    let events = common::turn(&server, &key, "c2", "still here").await;
    assert_eq!(common::replies(&events), ["Echo: still here"]);
    server.shutdown().await;
}
