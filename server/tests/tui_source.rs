//! Runs started from the terminal client are internal-UI runs exactly like WebChat ones (real
//! Codex, demo model): a targetless `message` send is delivered to the current run and mirrored
//! into the transcript, the user entry records that it came from the terminal, and the session's
//! last channel is never the terminal.

mod common;

use app::wire::{EventBody, Source};
use codex_webchat::serve;

#[tokio::test]
async fn a_message_typed_in_the_terminal_gets_its_reply_through_the_sink_and_is_marked_tui() {
    let dir = common::data_dir("tui-source");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    let mut live = server.gateway.subscribe(&key);
    server
        .gateway
        .send_from(&key, "t1", "hello from a terminal", Source::Tui)
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    let events = loop {
        let events = server.gateway.events_after(&key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            break events;
        }
        tokio::time::timeout_at(deadline, live.recv())
            .await
            .expect("the run did not finish within 90 s")
            .expect("hub closed");
    };
    assert!(
        matches!(
            &events[0].body,
            EventBody::UserMessage { source: Source::Tui, text, .. } if text == "hello from a terminal"
        ),
        "{events:#?}"
    );
    assert_eq!(
        common::replies(&events),
        ["Echo: hello from a terminal"],
        "the sink mirrored the targetless send: {events:#?}"
    );
    assert_eq!(server.gateway.session(&key).unwrap().last_channel, None);
    // The same client id again is the same message, stored once.
    let again = server
        .gateway
        .send_from(&key, "t1", "hello from a terminal", Source::Tui)
        .unwrap();
    assert!(again.duplicate);
    server.shutdown().await;
}
