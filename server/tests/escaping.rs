//! The escaping points of `docs/SECURITY.md` that no other test proves, each through the real
//! path: hostile text from a chat message, the model, a hook payload, a deny reason or a forged
//! relay call, on its way into a page (and its hydration payload), the JSON API, SQLite,
//! Codex's JSON-RPC, a webhook body or a log line. (Made-up page data through the SSR path is
//! `untrusted_render.rs`; the escaping functions themselves are unit-tested where they live.)

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::wire::{Event, EventBody, SessionKey};
use codex_webchat::codex::rpc::{RpcClient, Undelivered};
use codex_webchat::codex::Inbound;
use codex_webchat::config::{Config, ModelMode};
use codex_webchat::escape::log::LogWriter;
use codex_webchat::hook::endpoint::{read_endpoint_file, start_endpoint, HookSink, NullSink};
use codex_webchat::hook::policy::{Decision, ToolPolicy};
use codex_webchat::hook::registry::{RelayRegistry, Validated};
use codex_webchat::hook::HookEvent;
use codex_webchat::ids::RunId;
use codex_webchat::serve::{self, Running};
use codex_webchat::store::{NewEvent, Record, RecordBody, Store};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");

/// Closes the scripts, the comment and the bold it opens, and carries an entity and controls.
const HOSTILE: &str =
    "</script><script>window.pwned=1</script><!--<b>bold</b>&amp; \u{2028}\u{202e}\u{1b}[31m";

/// A server on the fake app-server (it answers every message with `Echo: <text>` through the
/// `message` tool), so these tests need no real Codex.
async fn start(dir: &Path) -> Running {
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        model: ModelMode::Demo,
        codex_bin: PathBuf::from(FAKE_CODEX),
        codex_home: Some(dir.join("codex-home")),
        site_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")),
        sandbox: "danger-full-access".to_owned(),
        default_mode: app::wire::Mode::Auto,
        turn_stall: Duration::from_secs(120),
        codex_request_timeout: Duration::from_secs(60),
        hook_timeout_secs: 10,
        hook_exe: Some(PathBuf::from(common::BIN)),
        deny_rules: Vec::new(),
        auth: Default::default(),
        channels: Default::default(),
        schedules: Vec::new(),
        workspaces: Vec::new(),
    };
    serve::start(config).await.expect("server starts")
}

/// `GET path` on the server: the status and the body.
async fn get(server: &Running, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).expect("a UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// The markup of a page must be the page's own: every script closed once, nothing of `HOSTILE`
/// live anywhere (in a text node it is entities; in the hydration payload `<` is `\u003c`).
fn assert_hostile_text_is_inert(page: &str) {
    assert_eq!(
        page.matches("<script").count(),
        page.matches("</script>").count(),
        "a script was closed early: {page}"
    );
    for live in ["<script>window.pwned", "<b>bold</b>", "<!--<b>"] {
        assert!(!page.contains(live), "{live:?} is live in {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_message_and_its_echo_stay_text_in_the_page_the_payload_and_the_api() {
    let dir = common::data_dir("esc-page");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    // A harmless first message names the session, so the page title is not what is tested here
    // (`untrusted_render.rs` is about the title).
    common::turn(&server, &key, "c-1", "hello").await;
    let events = common::turn(&server, &key, "c-2", HOSTILE).await;
    let echo = format!("Echo: {HOSTILE}");
    assert_eq!(common::replies(&events), vec![echo.clone()], "{events:#?}");

    let (status, page) = get(&server, &format!("/sessions/{key}")).await;
    assert_eq!(status, 200);
    assert_hostile_text_is_inert(&page);
    // The user's message is a text node, the model's echo went through the Markdown sanitiser
    // (raw HTML in Markdown is shown as text). The session is at rest, so both are the page's
    // history: in it once, as HTML, and not again in the hydration payload (whose `<` would be
    // `\u003c`; `untrusted_render.rs` checks the payload of a page with a live part).
    assert!(
        page.contains("&lt;/script&gt;&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;!--&lt;b&gt;bold&lt;/b&gt;&amp;amp;"),
        "{page}"
    );
    assert!(
        page.contains("Echo: &lt;/script&gt;&lt;script&gt;window.pwned=1"),
        "{page}"
    );
    assert_eq!(page.matches("window.pwned=1").count(), 2, "{page}");

    // The JSON API gives back exactly what was sent and what the model said.
    let (status, body) = get(&server, &format!("/api/v1/sessions/{key}/events?after=0")).await;
    assert_eq!(status, 200);
    let api: Vec<Event> = serde_json::from_str(&body).expect("events as JSON");
    assert!(api.iter().any(
        |e| matches!(&e.body, EventBody::UserMessage { text, .. } if text.as_str() == HOSTILE)
    ));
    let html = api
        .iter()
        .find_map(|e| match &e.body {
            EventBody::AssistantMessage { text, html, .. } if *text == echo => html.clone(),
            _ => None,
        })
        .expect("the echo, with its sanitised HTML");
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_payload_and_a_deny_reason_stay_text_and_inside_their_attribute() {
    let dir = common::data_dir("esc-hook");
    let server = start(dir.path()).await;
    let key = server.gateway.create_session().unwrap().key;
    let call = |tool_name: &str, tool_input: Value, id: &str| Validated {
        relay_id: "relay-1".into(),
        session_key: key.to_string(),
        provider: "codex".into(),
        generation: "g1".into(),
        event: HookEvent::PreToolUse,
        via_grace: false,
        payload: json!({"tool_name": tool_name, "tool_use_id": id, "tool_input": tool_input}),
    };
    // The operator's deny reason, a tool name the card puts in `data-tool`, a shell command, and
    // a patch whose file name and diff try to end the `<pre>` they are shown in.
    let deny = Decision::Deny {
        reason: "<b>no</b> & \"never\"".into(),
    };
    server.gateway.on_invocation(
        &call(
            "X\" ONMOUSEOVER=\"alert(1)",
            json!({"command": "</pre><img src=x onerror=alert(1)>"}),
            "call-1",
        ),
        &deny,
    );
    server.gateway.on_invocation(
        &call(
            "apply_patch",
            json!({"command": "*** Add File: </pre><script>x()</script>.txt\n+<b>diff</b>"}),
            "call-2",
        ),
        &deny,
    );

    let (status, page) = get(&server, &format!("/sessions/{key}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"data-tool="x&quot; onmouseover=&quot;alert(1)""#),
        "{page}"
    );
    // In a text node a quote is only a quote (the card's tool name shows it); in a tag it
    // would end the attribute.
    for tag in page
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(""))
    {
        assert!(
            !tag.contains("onmouseover=\"") && !tag.contains("onerror="),
            "<{tag}>"
        );
    }
    for live in ["<img src=x", "<script>x()", "<b>no</b>", "<b>diff</b>"] {
        assert!(!page.contains(live), "{live:?} is live in {page}");
    }
    for shown in [
        "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;",
        "*** Add File: &lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;.txt\n+&lt;b&gt;diff&lt;/b&gt;",
        "Blocked by the hook relay: &lt;b&gt;no&lt;/b&gt; &amp; \"never\"",
    ] {
        assert!(page.contains(shown), "{shown:?} missing in {page}");
    }
    assert_eq!(
        page.matches("<script").count(),
        page.matches("</script>").count()
    );
    server.shutdown().await;
}

#[test]
fn assistant_html_is_always_the_sanitisers_own() {
    // A record cannot carry HTML at all; `present` renders it from the text with the Markdown
    // sanitiser: the one source of `inner_html`.
    let event = codex_webchat::gateway::present(Record {
        seq: app::wire::Seq(1),
        at_ms: 0,
        run: None,
        private: false,
        body: RecordBody::AssistantMessage {
            text: "**bold** <script>alert(1)</script>".into(),
            call_id: None,
        },
    });
    let EventBody::AssistantMessage { html, .. } = event.body else {
        panic!("still an assistant message");
    };
    assert_eq!(
        html.as_deref(),
        Some(
            format!(
                "{}<p><strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n",
                codex_webchat::markdown::COPY_MESSAGE
            )
            .as_str()
        )
    );
}

#[test]
fn sql_metacharacters_in_text_are_stored_and_read_back_as_data() {
    let store = Store::open_in_memory().unwrap();
    let key = SessionKey::parse("s-1").unwrap();
    let nasty = "x'); DROP TABLE events; -- \" \\ \0 %_ \u{1b}";
    store.create_session(&key, nasty, 1).unwrap();
    let body = RecordBody::UserMessage {
        text: nasty.into(),
        client_id: "c-1".into(),
        source: Default::default(),
        steered: false,
        images: Vec::new(),
    };
    store
        .append(
            &key,
            NewEvent {
                run: Some(&RunId::new(nasty)),
                private: false,
                body: &body,
                idem_key: Some(nasty),
                at_ms: 2,
            },
        )
        .unwrap();
    store.set_title(&key, nasty, 3).unwrap();
    assert_eq!(store.session(&key).unwrap().unwrap().title, nasty);
    let events = store
        .events_after(&key, app::wire::Seq::ZERO, 10, true)
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body, body);
    assert_eq!(events[0].run, Some(RunId::new(nasty)));
    assert!(store.by_idem_key(nasty).unwrap().is_some());
}

#[tokio::test]
async fn a_json_rpc_message_to_codex_is_one_line_whatever_its_text() {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (our_read, our_write) = tokio::io::split(ours);
    let (their_read, _their_write) = tokio::io::split(theirs);
    let (client, _tasks) =
        RpcClient::spawn(our_read, our_write, |_: Inbound| Ok::<(), Undelivered>(()));
    let text = "one\n{\"method\":\"forged\"}\r\ntwo\u{2028}\u{85}\0\u{1b}[2K";
    client
        .notify("webchat/test", json!({ "text": text }))
        .unwrap();
    client.notify("webchat/after", Value::Null).unwrap();
    let mut lines = BufReader::new(their_read).lines();
    assert_eq!(
        next_json(&mut lines).await,
        json!({"method": "webchat/test", "params": {"text": text}})
    );
    assert_eq!(
        next_json(&mut lines).await,
        json!({"method": "webchat/after"})
    );
}

/// The next line Codex would read, as JSON.
async fn next_json<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("not EOF");
    serde_json::from_str(&line).expect("each line is one JSON message")
}

#[test]
fn a_webhook_body_carries_hostile_text_as_json_data() {
    let text = "\"}, \"target\": \"evil\", \"x\": {\"\n</script>\u{2028}\0";
    let body = codex_webchat::channels::webhook::request_body("ops", text, Some("s-1"));
    let sent = serde_json::to_vec(&body).unwrap();
    let received: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(received["text"], text);
    assert_eq!(received["content"], text);
    assert_eq!(received["target"], "ops");
    assert_eq!(received.as_object().unwrap().len(), 4);
}

/// An in-memory log that every writer made from it appends to.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("the escaped log is UTF-8")
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Logs of this thread, formatted as the server does (`main.rs`: the escaping writer, no ANSI),
/// into a buffer. Tests using it run on a current-thread runtime, so every task logs here.
fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = LogBuffer::default();
    let make = {
        let buffer = buffer.clone();
        LogWriter::new(move || buffer.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(make)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn a_forged_relay_id_cannot_forge_a_log_line() {
    let (log, _guard) = capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hook-relay.json");
    let endpoint = start_endpoint(
        RelayRegistry::new(),
        ToolPolicy::allow_all(),
        Arc::new(NullSink),
        file.clone(),
    )
    .await
    .unwrap();
    let token = read_endpoint_file(&file).unwrap().token;
    // Anyone holding the endpoint token (any process that can read `hook-relay.json`, a model's
    // shell command included) chooses the relay id, which the refusal logs at WARN.
    let forged = "nobody\n2030-01-01T00:00:00.000000Z ERROR codex_webchat: FORGED\r\u{1b}[2K";
    let body = json!({"provider": "codex", "relayId": forged, "generation": "g",
                      "event": "pre_tool_use", "payload": {}})
    .to_string();
    let mut tcp = tokio::net::TcpStream::connect(endpoint.addr())
        .await
        .unwrap();
    let request = format!(
        "POST /hook/v1/invoke HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        endpoint.addr(),
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    endpoint.shutdown().await;

    let log = log.text();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("native hook relay call refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(
        refused[0]
            .contains(r"nobody\n2030-01-01T00:00:00.000000Z ERROR codex_webchat: FORGED\r\x1b[2K"),
        "{log}"
    );
    assert_eq!(log.matches("FORGED").count(), 1, "{log}");
    assert!(!log.lines().any(|l| l.starts_with("2030-")), "{log}");
    assert!(!log.contains('\r') && !log.contains('\u{1b}'), "{log:?}");
}

#[tokio::test]
async fn a_refused_pairing_link_does_not_log_its_code() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use codex_webchat::web::guard::{guard, HostPolicy};
    use tower::ServiceExt;

    let (log, _guard) = capture_logs();
    let policy = HostPolicy::for_addr("127.0.0.1:3000".parse().unwrap());
    let app = axum::Router::new()
        .route("/pair", axum::routing::get(|| async { "paired" }))
        .layer(axum::middleware::from_fn_with_state(policy, guard));
    // Right link, wrong host name (one not in `public_hosts`): refused, so the code stays unused
    // and redeemable; it must not be in the log.
    let response = app
        .oneshot(
            Request::get("/pair?code=pairing-code-0123456789")
                .header("host", "chat.example.lan:3000")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let log = log.text();
    assert!(log.contains("request refused"), "{log}");
    assert!(log.contains("path=/pair"), "{log}");
    assert!(!log.contains("pairing-code-0123456789"), "{log}");
}
