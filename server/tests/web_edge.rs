//! The HTTP and WebSocket edge of a real server (real Codex binary, demo model): the live
//! subscription replays then streams with no gap and no duplicate, bad frames get clear errors,
//! and cross-origin or forged-Host requests are refused.

use std::time::Duration;

use app::wire::{ClientFrame, EventBody, PageLoadError, Seq, ServerFrame, SessionKey};
use codex_webchat::serve::{self, Running};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

mod common;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn start() -> (Running, tempfile::TempDir) {
    let dir = common::data_dir("web-edge");
    let config = common::config(dir.path());
    (serve::start(config).await.unwrap(), dir)
}

async fn connect(server: &Running) -> Ws {
    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{}", server.addr).parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn send(ws: &mut Ws, frame: &ClientFrame) {
    let text = serde_json::to_string(frame).unwrap();
    ws.send(Message::Text(text.into())).await.unwrap();
}

async fn any_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("no frame within 60 s")
            .expect("socket closed")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next frame that is not a session list. Lists are broadcast to every socket whenever the
/// list changes (a session created just before the socket connected included), at a moment of
/// the server's choosing, so a test waiting for the answer to what it sent skips them: on a busy
/// machine one used to arrive before an expected error frame.
async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        match any_frame(ws).await {
            ServerFrame::Sessions { .. } => continue,
            frame => return frame,
        }
    }
}

/// Reads frames until the session's run finishes; returns the event sequence numbers seen and the
/// texts of assistant replies.
async fn read_run(ws: &mut Ws, key: &SessionKey) -> (Vec<Seq>, Vec<String>) {
    let mut seqs = Vec::new();
    let mut replies = Vec::new();
    loop {
        if let ServerFrame::Event { session, event } = next_frame(ws).await {
            assert_eq!(&session, key);
            seqs.push(event.seq);
            match event.body {
                EventBody::AssistantMessage { text, .. } => replies.push(text),
                EventBody::RunFinished { .. } => return (seqs, replies),
                _ => {}
            }
        }
    }
}

fn consecutive(seqs: &[Seq], from: u64) {
    let expected: Vec<Seq> = (from..from + seqs.len() as u64).map(Seq).collect();
    assert_eq!(
        seqs,
        expected.as_slice(),
        "events must arrive gap-free and once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_replays_then_streams_without_gap_or_duplicate() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        &ClientFrame::Subscribe {
            session: key.clone(),
            after: Seq::ZERO,
            recent: None,
        },
    )
    .await;
    send(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-1".into(),
            text: "first".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    let (seqs, replies) = read_run(&mut ws, &key).await;
    consecutive(&seqs, 1);
    assert_eq!(replies, vec!["Echo: first".to_owned()]);

    // A second tab that already has the first two events gets the rest, then live ones.
    let mut other = connect(&server).await;
    send(
        &mut other,
        &ClientFrame::Subscribe {
            session: key.clone(),
            after: Seq(2),
            recent: None,
        },
    )
    .await;
    let (replayed, replies) = read_run(&mut other, &key).await;
    consecutive(&replayed, 3);
    assert_eq!(replayed.last(), seqs.last());
    assert_eq!(replies, vec!["Echo: first".to_owned()]);

    // Both tabs see the next run live, identically.
    send(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-2".into(),
            text: "/say second".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    let (a, ra) = read_run(&mut ws, &key).await;
    let (b, rb) = read_run(&mut other, &key).await;
    assert_eq!(a, b);
    consecutive(&a, seqs.last().unwrap().0 + 1);
    assert_eq!(ra, vec!["second".to_owned()]);
    assert_eq!(ra, rb);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_and_bad_input_get_clear_errors_and_the_socket_stays_usable() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let mut ws = connect(&server).await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    match next_frame(&mut ws).await {
        ServerFrame::Error { message, .. } => assert!(message.starts_with("malformed frame")),
        other => panic!("expected an error, got {other:?}"),
    }
    ws.send(Message::Text(
        r#"{"type":"subscribe","session":"../etc","after":0}"#.into(),
    ))
    .await
    .unwrap();
    match next_frame(&mut ws).await {
        ServerFrame::Error { message, .. } => assert!(message.contains("session key")),
        other => panic!("expected an error, got {other:?}"),
    }
    send(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-1".into(),
            text: "   ".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    match next_frame(&mut ws).await {
        ServerFrame::Error { client_id, message } => {
            assert_eq!(client_id.as_deref(), Some("c-1"));
            assert_eq!(message, "Message is empty.");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    send(&mut ws, &ClientFrame::Ping { nonce: 7 }).await;
    assert_eq!(next_frame(&mut ws).await, ServerFrame::Pong { nonce: 7 });
    assert_eq!(server.gateway.store().last_seq(&key).unwrap(), Seq::ZERO);
    server.shutdown().await;
}

/// JSON can spell a UTF-16 surrogate half (`\ud800`) that no Rust string can hold: a frame or a
/// request body with one is refused with a clear error, the socket stays usable, nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_in_json_is_refused_clearly_and_nothing_is_stored() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let mut ws = connect(&server).await;
    let frame =
        format!(r#"{{"type":"send","session":"{key}","client_id":"c-1","text":"a\ud800b"}}"#);
    ws.send(Message::Text(frame.into())).await.unwrap();
    match next_frame(&mut ws).await {
        ServerFrame::Error { message, .. } => {
            // serde_json's own words: "unexpected end of hex escape at line 1 column 80".
            assert!(message.starts_with("malformed frame"), "{message}");
            assert!(message.contains("escape"), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    send(&mut ws, &ClientFrame::Ping { nonce: 8 }).await;
    assert_eq!(next_frame(&mut ws).await, ServerFrame::Pong { nonce: 8 });

    let body = r#"{"text":"a\udc00b","client_id":"c-2"}"#;
    let request = format!(
        "POST /api/v1/sessions/{key}/messages HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        addr = server.addr,
        len = body.len(),
    );
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("escape"), "{answer}");

    assert_eq!(server.gateway.store().last_seq(&key).unwrap(), Seq::ZERO);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_websocket_and_forged_host_are_refused() {
    let (server, _dir) = start().await;
    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }

    let status = |request: String| {
        let addr = server.addr;
        async move {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tcp.write_all(request.as_bytes()).await.unwrap();
            let mut buf = Vec::new();
            tcp.read_to_end(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        }
    };
    let ok = status(format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    ))
    .await;
    assert!(ok.contains("200"), "{ok}");
    let forged = status(
        "GET /healthz HTTP/1.1\r\nHost: rebound.example\r\nConnection: close\r\n\r\n".to_owned(),
    )
    .await;
    assert!(forged.contains("403"), "{forged}");
    let cross_post = status(format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.addr
    ))
    .await;
    assert!(cross_post.contains("403"), "{cross_post}");
    let cross_server_fn = status(format!(
        "POST /api/page HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\nConnection: close\r\n\r\nsession=x",
        server.addr
    ))
    .await;
    assert!(cross_server_fn.contains("403"), "{cross_server_fn}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_session_changes_reaches_every_socket_as_one_current_list() {
    let (server, _dir) = start().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    // Ping both so their session-list followers are certainly subscribed before the burst.
    for ws in [&mut a, &mut b] {
        send(ws, &ClientFrame::Ping { nonce: 1 }).await;
        assert!(matches!(
            next_frame(ws).await,
            ServerFrame::Pong { nonce: 1 }
        ));
    }
    let created: Vec<SessionKey> = (0..20)
        .map(|_| server.gateway.create_session().unwrap().key)
        .collect();
    for ws in [&mut a, &mut b] {
        // Lists arrive until one holds every new session; there are far fewer than 20 of them.
        let mut lists = 0;
        loop {
            if let ServerFrame::Sessions { sessions } = any_frame(ws).await {
                lists += 1;
                if created.iter().all(|k| sessions.iter().any(|s| &s.key == k)) {
                    break;
                }
            }
        }
        assert!(lists < 20, "{lists} lists for 20 changes");
    }
    server.shutdown().await;
}

/// Regression: a server built by plain cargo (a bench, `cargo build --release`) served a
/// hydration script asking for `/pkg/webchat_bg.wasm`, which cargo-leptos never builds, so no
/// page hydrated. `.cargo/config.toml` now gives every build cargo-leptos' output name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hydration_script_asks_for_the_files_cargo_leptos_builds() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let page = reqwest::get(format!("http://{}/sessions/{key}", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"("", "pkg", "webchat", "webchat", false)"#),
        "the hydration script must load /pkg/webchat.js and /pkg/webchat.wasm: {}",
        page.split("<script").nth(1).unwrap_or(&page)
    );
    server.shutdown().await;
}

/// Regression: leptos' `HydrationScripts` wrote the request's nonce into the preload links'
/// `crossorigin` (`crossorigin="<nonce>"`), copying the nonce out of the one element that needs it
/// and giving the attribute a value it does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preload_links_never_carry_the_nonce() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let res = reqwest::get(format!("http://{}/sessions/{key}", server.addr))
        .await
        .unwrap();
    let policy = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = res.text().await.unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page's policy names a nonce");
    // The nonce is on the inline scripts, and nowhere else.
    let on_scripts = page
        .matches(&format!(r#"<script type="module" nonce="{nonce}">"#))
        .count()
        + page
            .matches(&format!(r#"<script nonce="{nonce}">"#))
            .count();
    assert!(on_scripts >= 1, "{page}");
    assert_eq!(page.matches(nonce).count(), on_scripts, "{page}");
    let links: Vec<&str> = page
        .split("<link")
        .skip(1)
        .map(|l| l.split('>').next().unwrap_or(""))
        .filter(|l| l.contains("preload"))
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links[0].contains(r#"rel="modulepreload" href="/pkg/webchat.js""#),
        "{links:?}"
    );
    assert!(!links[0].contains("crossorigin"), "{links:?}");
    assert!(
        links[1].contains(r#"href="/pkg/webchat.wasm""#),
        "{links:?}"
    );
    assert!(links[1].contains(r#"crossorigin="""#), "{links:?}");
    server.shutdown().await;
}

/// A session of 1,500 messages, message `i` at seq `i + 1`.
async fn long_session(server: &Running) -> SessionKey {
    let key = server.gateway.create_session().unwrap().key;
    let store = server.gateway.store();
    for i in 0..1_500u32 {
        let text = if i == 1_200 {
            "history message 1200 <img src=x onerror=alert(1)>.".to_owned()
        } else {
            format!("history message {i}.")
        };
        let body = codex_webchat::store::RecordBody::UserMessage {
            text,
            client_id: format!("c{i}"),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        };
        store
            .append(
                &key,
                codex_webchat::store::NewEvent {
                    run: None,
                    private: false,
                    body: &body,
                    idem_key: None,
                    at_ms: 0,
                },
            )
            .unwrap();
    }
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_history_renders_its_recent_part_with_a_link_to_more() {
    let (server, _dir) = start().await;
    let key = long_session(&server).await;
    let get = |query: &'static str| {
        let url = format!("http://{}/sessions/{key}{query}", server.addr);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let recent = get("").await;
    assert!(recent.contains("history message 1499."));
    assert!(
        !recent.contains("history message 1299."),
        "older than the window"
    );
    assert!(recent.contains("history message 1300."));
    // The link asks for a window four times as large and names the first entry shown (seq 1301,
    // after the 1,300 older ones), so the reader keeps their place.
    assert!(recent.contains(&format!(
        r#"href="/sessions/{key}?window=800&amp;from=1301""#
    )));
    assert!(recent.contains(r#"data-testid="load-earlier""#));
    let all = get("?window=4000").await;
    assert!(all.contains("history message 0."));
    assert!(!all.contains(r#"data-testid="load-earlier""#));
    // Nonsense windows fall back to the default rather than failing the page.
    assert!(get("?window=-3").await.contains("history message 1499."));
    server.shutdown().await;
}

/// A session at rest: every entry is history, in the page once as HTML; the hydration payload
/// holds no event at all, and the page still goes live after its last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_at_rest_sends_its_entries_once_as_html_and_not_again_for_hydration() {
    let (server, _dir) = start().await;
    let key = long_session(&server).await;
    let page = reqwest::get(format!("http://{}/sessions/{key}", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let payload = page
        .split("__RESOLVED_RESOURCES[0] = ")
        .nth(1)
        .and_then(|p| p.split("</script>").next())
        .expect("the page data");
    assert!(payload.contains(r#"\"events\":[]"#), "{payload}");
    assert!(payload.contains(r#"\"last_seq\":1500"#), "{payload}");
    assert_eq!(page.matches("history message 1499.").count(), 1);
    let history = page
        .split(r#"data-testid="history" class="history">"#)
        .nth(1)
        .expect("the history");
    assert!(history.starts_with(r#"<article data-testid="entry" data-kind="user" data-seq="1301""#));
    server.shutdown().await;
}

/// Scrolling up: each part of earlier history, the transcript's own rows, escaped like them,
/// from the first message inside it, saying where the next part up ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_history_comes_a_part_at_a_time_up_to_the_start() {
    let (server, _dir) = start().await;
    let key = long_session(&server).await;
    let part = |query: String| {
        let url = format!("http://{}/api/v1/sessions/{query}", server.addr);
        async move {
            let res = reqwest::get(url).await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, above) = part(format!("{key}/history?before=1300")).await;
    assert_eq!(status, 200);
    assert!(
        above.starts_with(r#"<div class="history-part" data-earlier="1100"><article data-testid="entry" data-kind="user" data-seq="1101""#),
        "{above}"
    );
    assert_eq!(above.matches(r#"data-testid="entry""#).count(), 200);
    assert!(above.contains("history message 1100."));
    assert!(above.contains("history message 1299."));
    assert!(!above.contains("history message 1099."));
    assert!(!above.contains("history message 1300."));
    assert!(above.contains("history message 1200 &lt;img src=x onerror=alert(1)&gt;."));
    assert!(!above.contains("<img"));
    let (_, first) = part(format!("{key}/history?before=100")).await;
    assert!(
        first.starts_with(r#"<div class="history-part" data-earlier="0">"#),
        "{first}"
    );
    assert!(first.contains("history message 0."));
    assert!(first.contains("history message 99."));
    let (status, _) = part("s-nonexistent/history?before=10".to_owned()).await;
    assert_eq!(status, 404);
    let (status, _) = part(format!("{key}/history?before=x")).await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

/// Regression: leptos' response builder reads the page title (a reactive value in the request's
/// arena) after its last `.await`, from whichever worker thread resumes it, and a thread's
/// "current arena" is whatever request last ran there. Under concurrent page loads that was
/// another request's arena: "Tried to access a reactive value that has already been disposed",
/// a panicked handler and an empty response.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_page_loads_never_read_another_requests_title() {
    let (server, _dir) = start().await;
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(server.gateway.create_session().unwrap().key);
    }
    let client = reqwest::Client::new();
    let mut loads = tokio::task::JoinSet::new();
    for i in 0..400usize {
        let url = format!("http://{}/sessions/{}", server.addr, keys[i % keys.len()]);
        let client = client.clone();
        loads.spawn(async move {
            let res = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = res.status();
            let body = res.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, body))
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = loads.join_next().await {
        match done.unwrap() {
            Ok((status, body)) if status == 200 && body.contains("· Codex WebChat</title>") => {}
            Ok((status, body)) => {
                failures.push(format!("{status}: {}", &body[..body.len().min(200)]))
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 400 failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    server.shutdown().await;
}

/// Whether a session page is "not found" is decided by the page error's variant, not its words:
/// an unknown key and a key that is not a key at all are both a 404 "Session not found" page with
/// the reason, and a client calling the page's server function itself gets the same typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_malformed_session_is_a_404_page_by_the_errors_variant() {
    let (server, _dir) = start().await;
    for (path, reason) in [
        ("/sessions/no-such-session", "unknown session"),
        ("/sessions/a.b", "session key may only contain"),
    ] {
        let res = reqwest::get(format!("http://{}{path}", server.addr))
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let page = res.text().await.unwrap();
        assert!(
            page.contains("<h1>Session not found</h1>"),
            "{path}: {page}"
        );
        assert!(page.contains(reason), "{path}: {page}");
    }
    let call = |session: &'static str| {
        let url = format!("http://{}/api/page", server.addr);
        let origin = format!("http://{}", server.addr);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("origin", origin)
                .form(&[("session", session)])
                .send()
                .await
                .unwrap();
            assert!(!res.status().is_success(), "{session}");
            serde_json::from_str::<PageLoadError>(&res.text().await.unwrap()).unwrap()
        }
    };
    assert_eq!(call("no-such-session").await, PageLoadError::UnknownSession);
    assert!(matches!(call("a.b").await, PageLoadError::BadKey(why) if why.contains("may only")));
    server.shutdown().await;
}

/// Approvals and modes over the socket, as two tabs see them: one tab answers and both see the
/// card end; an answer after that gets an error frame that says how it ended; a mode change in
/// one tab reaches the other as a session list; a bad approval id is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_from_one_tab_ends_the_card_in_both_and_a_second_is_told_it_was_answered() {
    use app::wire::{ApprovalDecision, ApprovalState, Mode};

    let (server, dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    for ws in [&mut a, &mut b] {
        send(
            ws,
            &ClientFrame::Subscribe {
                session: key.clone(),
                after: Seq::ZERO,
                recent: None,
            },
        )
        .await;
    }
    // A mode change from tab a reaches tab b.
    send(
        &mut a,
        &ClientFrame::SetMode {
            session: key.clone(),
            mode: Mode::Ask,
        },
    )
    .await;
    loop {
        if let ServerFrame::Sessions { sessions } = any_frame(&mut b).await {
            if sessions.iter().any(|s| s.key == key && s.mode == Mode::Ask) {
                break;
            }
        }
    }
    // `ask` asks before a shell command runs.
    let outside = dir.path().join("ws-outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("ws.txt");
    send(
        &mut a,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c1".into(),
            text: format!("/shell touch {}", target.display()),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    let mut card = None;
    for ws in [&mut a, &mut b] {
        loop {
            if let ServerFrame::Event { event, .. } = next_frame(ws).await {
                if let EventBody::ApprovalRequested { kind, .. } = event.body {
                    assert_eq!(kind.as_str(), "command");
                    card = Some(event.seq);
                    break;
                }
            }
        }
    }
    let card = card.unwrap();
    send(
        &mut b,
        &ClientFrame::Answer {
            session: key.clone(),
            approval: card,
            decision: ApprovalDecision::Accept,
            answer: None,
        },
    )
    .await;
    for ws in [&mut a, &mut b] {
        loop {
            if let ServerFrame::Event { event, .. } = next_frame(ws).await {
                if let EventBody::ApprovalEnded { target, state, .. } = event.body {
                    assert_eq!((target, state), (card, ApprovalState::Accepted));
                    break;
                }
            }
        }
    }
    send(
        &mut a,
        &ClientFrame::Answer {
            session: key.clone(),
            approval: card,
            decision: ApprovalDecision::Decline,
            answer: None,
        },
    )
    .await;
    loop {
        match next_frame(&mut a).await {
            ServerFrame::Error { message, .. } => {
                assert_eq!(message, "Already answered: it was accepted.");
                break;
            }
            ServerFrame::Event { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    send(
        &mut a,
        &ClientFrame::Answer {
            session: key.clone(),
            approval: Seq(1),
            decision: ApprovalDecision::Accept,
            answer: None,
        },
    )
    .await;
    loop {
        match next_frame(&mut a).await {
            ServerFrame::Error { message, .. } => {
                assert_eq!(message, "unknown approval");
                break;
            }
            ServerFrame::Event { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
    server.shutdown().await;
}

/// Issue 14, the terminal client's form of "most recent part first": a subscription asking for a
/// session's latest events starts where a page of them would (at a message, no run cut in
/// half), then goes on live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_for_the_latest_events_starts_at_the_message_inside_them() {
    let (server, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let mut ws = connect(&server).await;
    let subscribe = |recent| ClientFrame::Subscribe {
        session: key.clone(),
        after: Seq::ZERO,
        recent,
    };
    send(&mut ws, &subscribe(None)).await;
    let mut lasts = Vec::new();
    for (i, text) in ["first", "second"].into_iter().enumerate() {
        send(
            &mut ws,
            &ClientFrame::Send {
                session: key.clone(),
                client_id: format!("c-{i}"),
                text: text.into(),
                source: Default::default(),
                steer: false,
                images: Vec::new(),
            },
        )
        .await;
        lasts.push(*read_run(&mut ws, &key).await.0.last().unwrap());
    }
    let (first_end, second_end) = (lasts[0].0, lasts[1].0);
    // One more than the second run: the window starts inside the first run, so the part shown
    // starts at the second run's message.
    let mut terminal = connect(&server).await;
    send(&mut terminal, &subscribe(Some(second_end - first_end + 1))).await;
    let (replayed, replies) = read_run(&mut terminal, &key).await;
    consecutive(&replayed, first_end + 1);
    assert_eq!(replies, vec!["Echo: second".to_owned()]);
    // A window holding the whole session starts at its start.
    let mut whole = connect(&server).await;
    send(&mut whole, &subscribe(Some(10_000))).await;
    let (replayed, _) = read_run(&mut whole, &key).await;
    assert_eq!(replayed.first(), Some(&Seq(1)));
    server.shutdown().await;
}
