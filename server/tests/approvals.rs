//! Approvals end to end through the gateway, against the real Codex binary and the demo model:
//! a session's mode travels on every turn, `auto` asks before `/escalate` runs outside the
//! sandbox and runs it once a person accepts (through the HTTP API), a decline keeps it from
//! running, Stop cancels a waiting approval and the next message still works, a restart expires
//! what waited, and `full-access` never asks.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::{ApprovalDecision, ApprovalState, Event, EventBody, Mode, Seq, SessionKey};
use codex_webchat::serve::{self, Running};

/// A folder beside the workspace (not under `/tmp`, which the workspace-write sandbox leaves
/// writable).
fn outside(dir: &Path) -> PathBuf {
    let out = dir.join("outside");
    std::fs::create_dir_all(&out).unwrap();
    out
}

/// The approval card's id and what it asks.
async fn approval_asked(server: &Running, key: &SessionKey, after: Seq) -> (Seq, String) {
    common::wait_for(server, key, after, "approval", |e| match &e.body {
        EventBody::ApprovalRequested { subject, .. } => Some((e.seq, subject.clone())),
        _ => None,
    })
    .await
}

async fn approval_ended(server: &Running, key: &SessionKey, card: Seq) -> ApprovalState {
    common::wait_for(server, key, card, "approval end", |e| match &e.body {
        EventBody::ApprovalEnded { target, state, .. } if *target == card => Some(*state),
        _ => None,
    })
    .await
}

async fn run_finished(server: &Running, key: &SessionKey, after: Seq) -> Vec<Event> {
    common::wait_for(server, key, after, "run end", |e| {
        matches!(e.body, EventBody::RunFinished { .. }).then_some(())
    })
    .await;
    server.gateway.events_after(key, after, 10_000).unwrap()
}

/// `POST /api/v1/sessions/{key}/approvals/{id}`: the status and the body.
async fn post_answer(server: &Running, key: &SessionKey, id: Seq, body: &str) -> (u16, String) {
    let url = format!(
        "http://{}/api/v1/sessions/{key}/approvals/{id}",
        server.addr
    );
    let reply = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

#[tokio::test]
async fn auto_asks_before_escalating_and_runs_it_once_a_person_accepts_through_the_api() {
    let dir = common::data_dir("appr-accept");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let session = server.gateway.create_session().unwrap();
    assert_eq!(session.mode, Mode::Auto, "the configured default");
    let key = session.key;
    let target = outside(dir.path()).join("escalated.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c1", &format!("/escalate touch {}", target.display()))
        .unwrap();
    let (card, subject) = approval_asked(&server, &key, after).await;
    assert!(subject.contains("escalated.txt"), "{subject}");
    assert!(!target.exists(), "nothing runs before a person decides");

    let (status, body) = post_answer(&server, &key, card, r#"{"decision":"accept"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        approval_ended(&server, &key, card).await,
        ApprovalState::Accepted
    );
    let events = run_finished(&server, &key, after).await;
    assert!(target.exists(), "accepted, it ran outside the sandbox");
    assert!(
        events.iter().any(|e| matches!(
            &e.body,
            EventBody::RunFinished { outcome, .. } if *outcome == app::wire::RunOutcome::Completed
        )),
        "{events:#?}"
    );

    // The same answer again is fine; a different one is told how it ended; nonsense is refused.
    let (status, _) = post_answer(&server, &key, card, r#"{"decision":"accept"}"#).await;
    assert_eq!(status, 200);
    let (status, body) = post_answer(&server, &key, card, r#"{"decision":"decline"}"#).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("Already answered"), "{body}");
    let (status, _) = post_answer(&server, &key, Seq(1), r#"{"decision":"accept"}"#).await;
    assert_eq!(status, 404, "the user message is no approval");
    let (status, _) = post_answer(&server, &key, card, r#"{"decision":"maybe"}"#).await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn a_declined_escalation_never_runs_and_the_run_goes_on() {
    let dir = common::data_dir("appr-decline");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let target = outside(dir.path()).join("declined.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c1", &format!("/escalate touch {}", target.display()))
        .unwrap();
    let (card, _) = approval_asked(&server, &key, after).await;
    let state = server
        .gateway
        .answer(&key, card, ApprovalDecision::Decline, None)
        .await
        .unwrap();
    assert_eq!(state, ApprovalState::Declined);
    let events = run_finished(&server, &key, after).await;
    assert!(!target.exists(), "declined, it never ran");
    assert!(
        events.iter().any(|e| matches!(
            e.body,
            EventBody::ToolFinished {
                status: app::wire::ToolStatus::Declined,
                ..
            }
        )),
        "the tool card says declined: {events:#?}"
    );
    assert_eq!(
        server
            .gateway
            .answer(&key, card, ApprovalDecision::Accept, None)
            .await
            .unwrap_err()
            .to_string(),
        "this approval was already declined"
    );
    // The model got the refusal and said so (the demo model falls back to a plain run, which
    // the sandbox refuses), and the run ended normally.
    assert!(!common::replies(&events).is_empty(), "{events:#?}");
    server.shutdown().await;
}

#[tokio::test]
async fn stop_while_an_approval_waits_cancels_it_and_the_next_message_works() {
    let dir = common::data_dir("appr-stop");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let target = outside(dir.path()).join("stopped.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c1", &format!("/escalate touch {}", target.display()))
        .unwrap();
    let (card, _) = approval_asked(&server, &key, after).await;
    assert!(server.gateway.stop(&key));
    assert_eq!(
        approval_ended(&server, &key, card).await,
        ApprovalState::Cancelled
    );
    run_finished(&server, &key, after).await;
    assert!(!target.exists());
    let events = common::turn(&server, &key, "c2", "hello again").await;
    assert_eq!(common::replies(&events), ["Echo: hello again"]);
    server.shutdown().await;
}

#[tokio::test]
async fn an_approval_waiting_when_the_server_stops_is_expired_after_the_restart() {
    let dir = common::data_dir("appr-restart");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let target = outside(dir.path()).join("restarted.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c1", &format!("/escalate touch {}", target.display()))
        .unwrap();
    let (card, _) = approval_asked(&server, &key, after).await;
    server.shutdown().await;

    let server = serve::start(common::config(dir.path())).await.unwrap();
    assert_eq!(
        approval_ended(&server, &key, card).await,
        ApprovalState::Expired
    );
    let events = server.gateway.events_after(&key, card, 10_000).unwrap();
    assert!(
        common::notices(&events)
            .iter()
            .any(|n| n.contains("Send the message again")),
        "{events:#?}"
    );
    let (status, body) = post_answer(&server, &key, card, r#"{"decision":"accept"}"#).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("expired"), "{body}");
    assert!(!target.exists());
    // The session still works.
    let events = common::turn(&server, &key, "c2", "after").await;
    assert_eq!(common::replies(&events), ["Echo: after"]);
    server.shutdown().await;
}

#[tokio::test]
async fn full_access_never_asks_and_a_mode_change_applies_from_the_next_turn() {
    let dir = common::data_dir("appr-full");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let changed = server.gateway.set_mode(&key, Mode::FullAccess).unwrap();
    assert_eq!(changed.mode, Mode::FullAccess);
    assert_eq!(server.gateway.session(&key).unwrap().mode, Mode::FullAccess);
    let target = outside(dir.path()).join("full.txt");
    let events = common::turn(
        &server,
        &key,
        "c1",
        &format!("/escalate touch {}", target.display()),
    )
    .await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.body, EventBody::ApprovalRequested { .. })),
        "{events:#?}"
    );
    assert!(target.exists());

    // Back to auto: the next turn asks again.
    server.gateway.set_mode(&key, Mode::Auto).unwrap();
    let again = outside(dir.path()).join("auto-again.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c2", &format!("/escalate touch {}", again.display()))
        .unwrap();
    let (card, _) = approval_asked(&server, &key, after).await;
    server
        .gateway
        .answer(&key, card, ApprovalDecision::Accept, None)
        .await
        .unwrap();
    run_finished(&server, &key, after).await;
    assert!(again.exists());
    server.shutdown().await;
}

/// Sends `text` and runs it to its end, accepting every approval it asks for; its events.
async fn run_accepting(
    server: &Running,
    key: &SessionKey,
    client_id: &str,
    text: &str,
) -> Vec<Event> {
    let after = server.gateway.store().last_seq(key).unwrap();
    let mut live = server.gateway.subscribe(key);
    server.gateway.send(key, client_id, text).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut answered = Vec::new();
    loop {
        let events = server.gateway.events_after(key, after, 10_000).unwrap();
        for e in &events {
            if matches!(e.body, EventBody::ApprovalRequested { .. }) && !answered.contains(&e.seq) {
                answered.push(e.seq);
                server
                    .gateway
                    .answer(key, e.seq, ApprovalDecision::Accept, None)
                    .await
                    .unwrap();
            }
        }
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            return events;
        }
        tokio::time::timeout_at(deadline, live.recv())
            .await
            .unwrap_or_else(|_| panic!("the run did not finish within 90 s: {events:#?}"))
            .expect("hub closed");
    }
}

#[tokio::test]
async fn a_file_change_in_ask_mode_shows_its_diff_and_applies_after_approval() {
    let dir = common::data_dir("appr-edit");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    server.gateway.set_mode(&key, Mode::Ask).unwrap();
    let file = dir.path().join("workspace").join("notes.txt");
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .send(&key, "c1", "/edit notes.txt hello from ask")
        .unwrap();
    let (card, changes) = common::wait_for(&server, &key, after, "file-change approval", |e| {
        match &e.body {
            EventBody::ApprovalRequested {
                kind: app::wire::ApprovalKind::FileChange,
                changes,
                ..
            } => Some((e.seq, changes.clone())),
            _ => None,
        }
    })
    .await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].path.ends_with("notes.txt"), "{changes:?}");
    assert!(
        changes[0]
            .lines
            .iter()
            .any(|l| l.kind == app::wire::DiffLineKind::Add && l.text == "+hello from ask"),
        "{:?}",
        changes[0].lines
    );
    assert_eq!(changes[0].added, 1, "{changes:?}");
    assert!(!file.exists(), "nothing is written before a person decides");
    server
        .gateway
        .answer(&key, card, ApprovalDecision::Accept, None)
        .await
        .unwrap();
    let events = run_finished(&server, &key, after).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim_end(),
        "hello from ask",
        "{events:#?}"
    );
    assert!(common::replies(&events)
        .iter()
        .any(|r| r.contains("edited notes.txt")));
    server.shutdown().await;
}

#[tokio::test]
async fn the_hook_relay_guards_native_tools_in_every_mode() {
    let dir = common::data_dir("appr-relay");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    for (n, mode) in Mode::ALL.into_iter().enumerate() {
        server.gateway.set_mode(&key, mode).unwrap();
        let word = format!("relay-{mode}");
        let events = run_accepting(
            &server,
            &key,
            &format!("c{n}"),
            &format!("/shell echo {word}"),
        )
        .await;
        let relay = events.iter().find_map(|e| match &e.body {
            EventBody::ToolStarted { tool, relay, .. } if tool == "shell" => Some(*relay),
            _ => None,
        });
        assert_eq!(
            relay,
            Some(app::wire::RelayDecision::Allowed),
            "{mode}: {events:#?}"
        );
        assert!(
            events.iter().any(|e| matches!(
                &e.body,
                EventBody::ToolFinished { output, .. } if output.contains(&word)
            )),
            "{mode}: {events:#?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_deny_rule_refuses_a_command_before_anyone_is_asked() {
    let dir = common::data_dir("appr-deny");
    let mut config = common::config(dir.path());
    config.deny_rules = vec![codex_webchat::hook::policy::DenyRuleSpec {
        pattern: "forbidden-word".into(),
        reason: "forbidden-word is not allowed here".into(),
    }];
    let server = serve::start(config).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let target = outside(dir.path()).join("forbidden-word.txt");
    let events = common::turn(
        &server,
        &key,
        "c1",
        &format!("/escalate touch {}", target.display()),
    )
    .await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.body, EventBody::ApprovalRequested { .. })),
        "the rule decided; nobody was asked: {events:#?}"
    );
    assert!(
        events.iter().any(|e| matches!(
            e.body,
            EventBody::ToolStarted {
                relay: app::wire::RelayDecision::Denied,
                ..
            }
        )),
        "{events:#?}"
    );
    assert!(!target.exists());
    server.shutdown().await;
}
