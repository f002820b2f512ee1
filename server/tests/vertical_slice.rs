//! The vertical slice against the real Codex binary and the embedded demo model: a send runs a
//! turn on a real app-server thread, the `message` tool reply is mirrored into the store before the
//! run ends, the final prose is private, and a restarted server resumes the same thread.

mod common;

use app::wire::{Event, EventBody, RunOutcome};
use codex_webchat::serve;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webchat_send_is_answered_through_the_message_tool_and_mirrored() {
    let dir = common::data_dir("vertical-slice");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let session = server.gateway.create_session().unwrap();
    let events = common::turn(&server, &session.key, "client-1", "hello codex").await;
    let first = events
        .iter()
        .find(|e| matches!(e.body, EventBody::UserMessage { .. }))
        .expect("the user message")
        .seq;

    let outcome = events.iter().find_map(|e| match &e.body {
        EventBody::RunFinished { outcome, error, .. } => Some((*outcome, error.clone())),
        _ => None,
    });
    assert_eq!(outcome, Some((RunOutcome::Completed, None)), "{events:#?}");

    let replies: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::AssistantMessage { .. }))
        .collect();
    assert_eq!(replies.len(), 1, "{events:#?}");
    match &replies[0].body {
        EventBody::AssistantMessage { text, html, .. } => {
            assert_eq!(text, "Echo: hello codex");
            assert!(html.as_deref().unwrap_or("").contains("Echo: hello codex"));
        }
        _ => unreachable!(),
    }
    assert!(!replies[0].private);

    // The final prose is private and says `done`.
    let prose: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::TextDone { text, .. } if text == "done"))
        .collect();
    assert_eq!(prose.len(), 1, "{events:#?}");
    assert!(prose[0].private);

    // The mirror is in the store before the run ended, and exactly once.
    let finished_at = events
        .iter()
        .position(|e| matches!(e.body, EventBody::RunFinished { .. }))
        .unwrap();
    let mirror_at = events
        .iter()
        .position(|e| matches!(e.body, EventBody::AssistantMessage { .. }))
        .unwrap();
    assert!(mirror_at < finished_at);

    // A retried send with the same client id is stored once and starts nothing.
    let again = server
        .gateway
        .send(&session.key, "client-1", "hello codex")
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.seq, first);

    let thread_before = server
        .gateway
        .store()
        .binding(&session.key)
        .unwrap()
        .expect("a thread binding")
        .thread_id;
    server.shutdown().await;

    // A restarted server resumes the same thread and answers again.
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let events = common::turn(&server, &session.key, "client-2", "/say again").await;
    assert!(
        events.iter().any(
            |e| matches!(&e.body, EventBody::AssistantMessage { text, .. } if text == "again")
        ),
        "{events:#?}"
    );
    let thread_after = server
        .gateway
        .store()
        .binding(&session.key)
        .unwrap()
        .expect("a thread binding")
        .thread_id;
    assert_eq!(thread_before, thread_after, "the thread was not resumed");
    server.shutdown().await;
}
