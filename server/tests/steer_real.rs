//! Steering and images against the real, pinned `codex app-server` and the embedded demo model,
//! through a whole in-process server: a message steered into a `/stream 40 100` turn is answered
//! by that same run (one RunStarted/RunFinished pair, `Echo: hello` before the run's end), and an
//! image uploaded over HTTP and attached to a message reaches the model (`Echo: look (1 images)`).

mod common;

use app::wire::{Event, EventBody, ImageRef, Seq};
use codex_webchat::gateway::NewMessage;
use codex_webchat::serve::{self, Running};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A real 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// One HTTP/1.1 request to the server; the status and the body.
async fn http(server: &Running, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    tcp.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        serde_json::from_str(body.trim()).unwrap_or(Value::Null),
    )
}

fn run_bounds(events: &[Event]) -> (Vec<Seq>, Vec<Seq>) {
    let started = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::RunStarted { .. }))
        .map(|e| e.seq)
        .collect();
    let finished = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::RunFinished { .. }))
        .map(|e| e.seq)
        .collect();
    (started, finished)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_steered_into_a_stream_is_answered_within_the_same_run() {
    let dir = common::data_dir("steer-real-");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    server
        .gateway
        .send(&key, "c-stream", "/stream 40 100")
        .unwrap();
    // The stream is under way once its first word is stored (the turn is known by then).
    common::wait_for(
        &server,
        &key,
        Seq::ZERO,
        "the first streamed word",
        |e| match &e.body {
            EventBody::ModelText { text, .. } | EventBody::TextAppend { delta: text, .. }
                if text.contains("word1") =>
            {
                Some(())
            }
            _ => None,
        },
    )
    .await;
    let sent = server
        .gateway
        .send_message(
            &key,
            NewMessage {
                client_id: "c-steer".into(),
                text: "hello".into(),
                steer: true,
                ..NewMessage::default()
            },
        )
        .await
        .expect("steered");
    let finished = common::wait_for(&server, &key, Seq::ZERO, "the run's end", |e| {
        matches!(e.body, EventBody::RunFinished { .. }).then_some(e.seq)
    })
    .await;
    let events = server
        .gateway
        .events_after(&key, Seq::ZERO, 10_000)
        .unwrap();
    let (started, ended) = run_bounds(&events);
    assert_eq!((started.len(), ended.len()), (1, 1), "{events:#?}");
    let user = events.iter().find(|e| e.seq == sent.seq).expect("stored");
    assert!(
        matches!(&user.body, EventBody::UserMessage { steered: true, .. }),
        "{user:#?}"
    );
    let reply = events
        .iter()
        .find(|e| matches!(&e.body, EventBody::AssistantMessage { text, .. } if text == "Echo: hello"))
        .unwrap_or_else(|| panic!("no reply to the steer: {events:#?}"));
    assert!(reply.seq > sent.seq && reply.seq < finished, "{events:#?}");
    assert!(common::notices(&events).is_empty(), "{events:#?}");
    // The steered message was not queued as well: the next message gets the next run.
    let after = common::turn(&server, &key, "c-after", "after").await;
    let (started, _) = run_bounds(&after);
    assert_eq!(started.len(), 1, "{after:#?}");
    assert_eq!(common::replies(&after), ["Echo: after"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_image_reaches_the_model() {
    let dir = common::data_dir("image-real-");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let (status, image) = http(&server, "POST", "/api/v1/images?name=red.png", PNG).await;
    assert_eq!(status, 201, "{image}");
    let image: ImageRef = serde_json::from_value(image).unwrap();
    let body = serde_json::json!({"text": "look", "images": [image.id], "client_id": "c-look"});
    let (status, sent) = http(
        &server,
        "POST",
        &format!("/api/v1/sessions/{key}/messages"),
        &serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let reply = common::wait_for(&server, &key, Seq::ZERO, "the reply", |e| match &e.body {
        EventBody::AssistantMessage { text, .. } => Some(text.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reply, "Echo: look (1 images)");
    let events = server
        .gateway
        .events_after(&key, Seq::ZERO, 10_000)
        .unwrap();
    let stored = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::UserMessage { images, .. } => Some(images.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(stored, vec![image]);
    server.shutdown().await;
}
