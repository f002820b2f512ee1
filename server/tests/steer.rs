//! Steering a running turn, against a gateway on the in-process fake app-server
//! (`tests/support/fake_app_server.rs`) on tokio's paused clock: a steer that joins the turn is
//! answered by that run, and the race where the turn ends before the steer reaches Codex falls
//! back to a queued message with a notice, which then gets its own run and reply.

#[allow(dead_code)] // This test uses part of the fake's log only.
#[path = "support/fake_app_server.rs"]
mod fake_app_server;
#[path = "support/fake_core.rs"]
mod fake_core;

use std::time::Duration;

use app::wire::{Event, EventBody, RunOutcome, Seq, SessionKey};
use codex_webchat::gateway::{Gateway, NewMessage};
use fake_app_server::paused_gateway;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// Far past anything these turns take on the paused clock.
const PAUSED_DEADLINE: Duration = Duration::from_secs(600);

/// Waits (paused clock) until the events after `after` satisfy `done`; returns them.
async fn until(
    gateway: &Gateway,
    key: &SessionKey,
    after: Seq,
    what: &str,
    done: impl Fn(&[Event]) -> bool,
) -> Vec<Event> {
    let mut live = gateway.subscribe(key);
    let deadline = Instant::now() + PAUSED_DEADLINE;
    loop {
        let events = gateway.events_after(key, after, 10_000).unwrap();
        if done(&events) {
            return events;
        }
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("hub closed"),
            Err(_) => panic!("no {what} (paused clock): {events:#?}"),
        }
    }
}

fn count(events: &[Event], pick: impl Fn(&EventBody) -> bool) -> usize {
    events.iter().filter(|e| pick(&e.body)).count()
}

fn finished(events: &[Event]) -> Vec<RunOutcome> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::RunFinished { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect()
}

fn steer(client_id: &str, text: &str) -> NewMessage {
    NewMessage {
        client_id: client_id.into(),
        text: text.into(),
        steer: true,
        ..NewMessage::default()
    }
}

/// Starts `/fake <fault>` and waits until its turn shows prose (so the gateway knows the turn).
async fn running(gateway: &Gateway, key: &SessionKey, fault: &str) -> Seq {
    let after = gateway.store().last_seq(key).unwrap();
    gateway
        .send(key, "c-run", &format!("/fake {fault}"))
        .unwrap();
    until(gateway, key, after, "prose of the running turn", |events| {
        events.iter().any(|e| {
            matches!(&e.body, EventBody::ModelText { text, .. } | EventBody::TextAppend { delta: text, .. } if text.contains("working"))
        })
    })
    .await;
    after
}

/// Regression: a fast turn's reply to a steer was stored above the steered message (Codex's
/// answer to `turn/steer` and its `message` call arrived together, and the reply was written
/// before the message the send path stores after the answer).
#[tokio::test(start_paused = true)]
async fn a_steered_message_is_answered_by_the_running_run_and_stored_above_its_reply() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let after = running(&gateway, &key, "steerable").await;
    let sent = gateway
        .send_message(&key, steer("c-steer", "hello"))
        .await
        .expect("steered");
    assert!(!sent.duplicate);
    let events = until(&gateway, &key, after, "the run's end", |e| {
        !finished(e).is_empty()
    })
    .await;
    assert_eq!(finished(&events), [RunOutcome::Completed], "{events:#?}");
    assert_eq!(
        count(&events, |b| matches!(b, EventBody::RunStarted { .. })),
        1,
        "a steer starts no run of its own: {events:#?}"
    );
    let user = events.iter().find(|e| e.seq == sent.seq).expect("stored");
    assert!(
        matches!(&user.body, EventBody::UserMessage { text, steered: true, .. } if text == "hello"),
        "{user:#?}"
    );
    let reply = events
        .iter()
        .find(|e| matches!(&e.body, EventBody::AssistantMessage { text, .. } if text == "Echo: hello"))
        .expect("the steered message is answered");
    assert!(reply.seq > sent.seq);
    assert_eq!(count(&events, |b| matches!(b, EventBody::Notice { .. })), 0);
    let steers = fake.requests_for("turn/steer");
    assert_eq!(steers.len(), 1);
    // Nothing was queued: after the run ends, no other run starts.
    assert_eq!(fake.requests_for("turn/start").len(), 1);
    // Sending the same client id again changes nothing.
    let again = gateway
        .send_message(&key, steer("c-steer", "hello"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.seq, sent.seq);
    assert_eq!(fake.requests_for("turn/steer").len(), 1);
    gateway.shutdown().await;
}

/// The race: the turn ends just before the steer reaches Codex, which refuses it with
/// `no active turn to steer`. The message must not be lost: it is stored as an ordinary message,
/// a notice says what happened, and it gets its own run and reply once the turn's end arrives.
#[tokio::test(start_paused = true)]
async fn a_steer_that_loses_the_race_with_the_turns_end_is_queued_with_a_notice() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let after = running(&gateway, &key, "steer-late").await;
    let sent = gateway
        .send_message(&key, steer("c-steer", "hello"))
        .await
        .expect("queued instead");
    let events = until(&gateway, &key, after, "two finished runs", |e| {
        finished(e).len() == 2
    })
    .await;
    assert_eq!(
        finished(&events),
        [RunOutcome::Completed, RunOutcome::Completed],
        "{events:#?}"
    );
    let user = events.iter().find(|e| e.seq == sent.seq).expect("stored");
    assert!(
        matches!(&user.body, EventBody::UserMessage { steered: false, .. }),
        "{user:#?}"
    );
    let notice = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Notice { text, .. } => Some((e.seq, text.clone())),
            _ => None,
        })
        .expect("a notice");
    assert_eq!(
        notice.1,
        "The turn ended before your message could join it; it was queued as a new message."
    );
    assert!(notice.0 > sent.seq);
    // The second run answers the message.
    let second = events
        .iter()
        .rev()
        .find_map(|e| match e.body {
            EventBody::RunStarted { for_seq, .. } => Some(for_seq),
            _ => None,
        })
        .flatten();
    assert_eq!(second, Some(sent.seq));
    assert!(events.iter().any(
        |e| matches!(&e.body, EventBody::AssistantMessage { text, .. } if text == "Echo: hello")
    ));
    assert_eq!(fake.requests_for("turn/steer").len(), 1);
    assert_eq!(fake.requests_for("turn/start").len(), 2);
    gateway.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_steer_with_no_run_is_an_ordinary_send_with_a_notice() {
    let (gateway, fake) = paused_gateway();
    let key = gateway.create_session().unwrap().key;
    let sent = gateway
        .send_message(&key, steer("c-1", "hello"))
        .await
        .unwrap();
    let events = until(&gateway, &key, Seq::ZERO, "the run's end", |e| {
        !finished(e).is_empty()
    })
    .await;
    assert!(events
        .iter()
        .any(|e| e.seq == sent.seq
            && matches!(&e.body, EventBody::UserMessage { steered: false, .. })));
    assert_eq!(count(&events, |b| matches!(b, EventBody::Notice { .. })), 1);
    assert!(fake.requests_for("turn/steer").is_empty());
    gateway.shutdown().await;
}
