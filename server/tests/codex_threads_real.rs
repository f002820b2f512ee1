//! Opening a thread from Codex's home, against the real, pinned `codex app-server` and the demo
//! model, through the whole server:
//! - a thread made by a second real Codex process in the server's `CODEX_HOME` (no `message`
//!   tool, in the server's workspace) is listed by `GET /api/v1/codex-threads` and on the
//!   `/codex-threads` page, with its preview;
//! - opening it (`POST /api/v1/codex-threads/{id}/open`) makes a session that shows its earlier
//!   turn once (the user's words, and the model's answer as the reply), and opening it again leads to the same
//!   session;
//! - while the other Codex still holds the thread, a send fails at once with a message that says
//!   so (the single writer), and the session is not stuck: once that Codex has quit, the next send
//!   resumes the thread and the model's answer is the reply.

mod common;

use std::time::Duration;

use app::wire::{CodexThread, EventBody, RunOutcome, SessionSummary};
use codex_webchat::codex::{Codex, CodexOptions, Inbound, Notification, SupervisorEvent};
use codex_webchat::gateway::threads::ACTIVE_WRITER_ELSEWHERE;
use codex_webchat::serve;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(120);

/// Waits for the other Codex's turn to end.
async fn turn_completed(events: &mut tokio::sync::mpsc::UnboundedReceiver<SupervisorEvent>) {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let SupervisorEvent::Inbound {
                msg: Inbound::Notification(Notification::TurnCompleted { .. }),
                ..
            } = event
            {
                return;
            }
        }
        panic!("the other Codex exited before its turn completed");
    })
    .await
    .expect("the other Codex's turn completed");
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn open(addr: std::net::SocketAddr, id: &str) -> SessionSummary {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/codex-threads/{id}/open"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "open answered {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_made_by_codex_opens_with_its_turns_and_continues_once_its_writer_quits() {
    let data = common::data_dir("codex-threads-");
    let config = common::config(data.path());
    let home = config.codex_home.clone().unwrap();
    let server = serve::start(config).await.expect("server starts");
    let workspace = data.path().join("workspace");

    // Another Codex on the same home (the person's own, say) makes a thread in the workspace,
    // without our `message` tool, and keeps it loaded.
    let mut opts = CodexOptions::new(common::codex_bin(), home.clone(), workspace.clone());
    opts.request_timeout = WAIT;
    let (other, mut other_events) = Codex::start(opts);
    other.ready(WAIT).await.expect("the other Codex starts");
    let thread = other
        .thread_start(
            json!({"cwd": workspace, "approvalPolicy": "never", "sandbox": "danger-full-access"}),
        )
        .await
        .expect("thread/start");
    other
        .turn_start(&thread.thread_id, "hello from <b>codex</b>", None)
        .await
        .expect("turn/start");
    turn_completed(&mut other_events).await;
    let id = thread.thread_id.as_str().to_owned();

    let (status, body) = get(server.addr, "/api/v1/codex-threads").await;
    assert_eq!(status, 200, "{body}");
    let listed: Vec<CodexThread> = serde_json::from_str(&body).unwrap();
    let found = listed
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {body}"));
    assert_eq!(found.title, "hello from <b>codex</b>");
    assert_eq!(found.workspace, "workspace");
    assert_eq!(found.session, None);
    let (status, page) = get(server.addr, "/codex-threads").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(r#"data-thread-id="{id}""#)),
        "{page}"
    );
    assert!(
        page.contains("hello from &lt;b&gt;codex&lt;/b&gt;"),
        "{page}"
    );

    let session = open(server.addr, &id).await;
    assert_eq!(session.title, "hello from <b>codex</b>");
    let key = session.key.clone();
    let history = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 1000)
        .unwrap();
    let users: Vec<&str> = history
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::UserMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(users, ["hello from <b>codex</b>"]);
    // The model's answer is the reply (no `message` tool in that thread), rendered like one.
    assert_eq!(common::replies(&history), ["Echo: hello from <b>codex</b>"]);
    assert!(
        common::notices(&history)
            .iter()
            .any(|n| n.contains(&format!("Opened Codex thread {id}"))),
        "{history:#?}"
    );
    // Listed and opened again: the same session, the history written once.
    assert_eq!(open(server.addr, &id).await.key, key);
    let (_, body) = get(server.addr, "/api/v1/codex-threads").await;
    let listed: Vec<CodexThread> = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.session.clone()),
        Some(key.clone())
    );
    assert_eq!(
        server
            .gateway
            .events_after(&key, app::wire::Seq::ZERO, 1000)
            .unwrap()
            .len(),
        history.len()
    );

    // The other Codex still holds the thread: the send fails, saying why.
    let events = common::turn(&server, &key, "c1", "are you there").await;
    let failed = events.iter().find_map(|e| match &e.body {
        EventBody::RunFinished { outcome, error, .. } => Some((*outcome, error.clone())),
        _ => None,
    });
    assert_eq!(
        failed,
        Some((RunOutcome::Failed, Some(ACTIVE_WRITER_ELSEWHERE.to_owned()))),
        "{events:#?}"
    );

    // Once it has quit, the thread continues here; its answer is the reply.
    tokio::time::timeout(WAIT, other.shutdown())
        .await
        .expect("the other Codex stops");
    let events = common::turn(&server, &key, "c2", "still there?").await;
    assert_eq!(
        common::replies(&events),
        ["Echo: still there?"],
        "{events:#?}"
    );
    let finished = events.iter().find_map(|e| match &e.body {
        EventBody::RunFinished { outcome, .. } => Some(*outcome),
        _ => None,
    });
    assert_eq!(finished, Some(RunOutcome::Completed));
    let binding = server.gateway.store().binding(&key).unwrap().unwrap();
    assert_eq!(
        binding.thread_id.as_str(),
        id,
        "the session went on with the same thread"
    );
    server.shutdown().await;
}
