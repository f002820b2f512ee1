//! Issue 13, carrying a conversation: Markdown export (what a person sees, tool cards as fenced
//! blocks), JSON export and its import into a new session (a round trip shows the same), and
//! hostile or broken imports refused with a clear error, never trusted as HTML. Driven by the
//! real Codex with the demo model.

mod common;

use app::wire::{Event, EventBody, Seq};
use codex_webchat::serve::{self, Running};
use serde_json::{json, Value};

async fn http(server: &Running, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client
        .request(
            method.parse().unwrap(),
            format!("http://{}{path}", server.addr),
        )
        .header("origin", format!("http://{}", server.addr));
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body);
    }
    let reply = req.send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// What a reader sees of a session: its visible events' bodies, in order.
fn shown(server: &Running, key: &app::wire::SessionKey) -> Vec<EventBody> {
    server
        .gateway
        .events_after(key, Seq::ZERO, 100_000)
        .unwrap()
        .into_iter()
        .filter(|e: &Event| !e.private)
        .map(|e| e.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_exports_as_markdown_and_json_and_the_json_imports_as_the_same() {
    let dir = common::data_dir("carry-round-trip");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    common::turn(&server, &key, "c1", "hello <b>there</b>").await;
    common::turn(&server, &key, "c2", "/shell echo from-the-shell").await;

    let (status, md) = http(
        &server,
        "GET",
        &format!("/api/v1/sessions/{key}/export?format=md"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(md.starts_with("# hello <b>there</b>\n"), "{md}");
    assert!(md.contains("## You\n\nhello <b>there</b>\n"), "{md}");
    assert!(
        md.contains("## Codex\n\nEcho: hello <b>there</b>\n"),
        "{md}"
    );
    assert!(
        md.contains("```text\n$ "),
        "a tool card is a fenced block: {md}"
    );
    assert!(md.contains("from-the-shell"), "{md}");

    let (status, json) = http(
        &server,
        "GET",
        &format!("/api/v1/sessions/{key}/export?format=json"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["format"], "codex-webchat-session");
    assert_eq!(doc["version"], 1);

    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/sessions/import",
        Some(json.into_bytes()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let imported: app::wire::SessionSummary = serde_json::from_str(&body).unwrap();
    assert_ne!(imported.key, key);
    assert_eq!(imported.title, "Imported: hello <b>there</b>");
    assert_eq!(shown(&server, &imported.key), shown(&server, &key));
    // The imported transcript is searchable like any other.
    let hits = server.gateway.search("from-the-shell", false).unwrap();
    assert!(hits.iter().any(|h| h.session == imported.key), "{hits:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn broken_or_hostile_imports_are_refused_or_kept_inert() {
    let dir = common::data_dir("carry-hostile");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let doc = |events: Value| {
        json!({"format": "codex-webchat-session", "version": 1,
               "session": {"title": "<script>alert(1)</script>"}, "events": events})
        .to_string()
        .into_bytes()
    };
    let refused = [
        (b"not json".to_vec(), "cannot be imported"),
        (json!({"format": "other", "version": 1, "session": {"title": "x"}, "events": []}).to_string().into_bytes(), "not a codex-webchat session export"),
        (json!({"format": "codex-webchat-session", "version": 9, "session": {"title": "x"}, "events": []}).to_string().into_bytes(), "version 1"),
        (doc(json!([{"seq": 1, "at_ms": 1, "body": {"type": "tool_finished", "target": 5, "status": "completed", "output": "x"}}])), "refers to event 5"),
        (doc(json!([{"seq": 1, "at_ms": 1, "body": {"type": "no_such_kind"}}])), "cannot be imported"),
    ];
    for (body, why) in refused {
        let before = server.gateway.sessions().unwrap().len();
        let (status, reply) = http(&server, "POST", "/api/v1/sessions/import", Some(body)).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply.contains(why), "{why}: {reply}");
        assert_eq!(
            server.gateway.sessions().unwrap().len(),
            before,
            "nothing was created"
        );
    }
    let huge = vec![b' '; 51 * 1024 * 1024];
    let (status, _) = http(&server, "POST", "/api/v1/sessions/import", Some(huge)).await;
    assert_eq!(status, 413);

    // Markup in an imported reply is Markdown like any reply: sanitised on the way out. A run
    // and an approval left open are closed, so nothing waits or looks as if it runs.
    let events = json!([
        {"seq": 1, "at_ms": 1, "body": {"type": "user_message", "text": "hi", "client_id": "c"}},
        {"seq": 2, "at_ms": 1, "run": "r1", "body": {"type": "run_started", "run_id": "r1", "for_seq": 1}},
        {"seq": 3, "at_ms": 1, "run": "r1", "body": {"type": "assistant_message", "text": "<script>alert(1)</script><img src=x onerror=alert(2)>"}},
        {"seq": 4, "at_ms": 1, "run": "r1", "body": {"type": "approval_requested", "kind": "command", "subject": "rm -rf /"}}
    ]);
    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/sessions/import",
        Some(doc(events)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let session: app::wire::SessionSummary = serde_json::from_str(&body).unwrap();
    let (status, page) = http(&server, "GET", &format!("/sessions/{}", session.key), None).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "no live script"
    );
    assert!(
        !page.contains("<img src=x onerror=alert(2)>"),
        "no live handler"
    );
    assert!(
        !page.contains(r#"data-testid="working""#),
        "no run shown as going"
    );
    let shown = shown(&server, &session.key);
    assert!(
        shown.iter().any(|b| matches!(
            b,
            EventBody::ApprovalEnded {
                state: app::wire::ApprovalState::Expired,
                ..
            }
        )),
        "{shown:#?}"
    );
    assert!(
        shown.iter().any(|b| matches!(
            b,
            EventBody::RunFinished {
                outcome: app::wire::RunOutcome::Interrupted,
                ..
            }
        )),
        "{shown:#?}"
    );
    server.shutdown().await;
}
