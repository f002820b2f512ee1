//! Issue 13, finding and organising sessions through the API: search across sessions (ranked,
//! snippets in plain pieces, hostile terms inert, private prose only with internals), `?at=`
//! opening the page window that holds a result with the entry marked, renaming and archiving
//! published to every socket, and deleting a session with its images and its Codex thread
//! archived. Driven by the real Codex with the demo model.

mod common;

use std::time::Duration;

use app::wire::{SearchHit, ServerFrame, SessionKey};
use codex_webchat::serve::{self, Running};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn request(server: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", server.addr);
    let mut req = client
        .request(method.parse().unwrap(), url)
        .header("origin", format!("http://{}", server.addr));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let reply = req.send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

async fn search(server: &Running, q: &str) -> Vec<SearchHit> {
    let q: String = url_escape(q);
    let (status, body) = request(server, "GET", &format!("/api/v1/search?q={q}"), None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_messages_and_replies_across_sessions_and_opens_the_entry() {
    let dir = common::data_dir("organise-search");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let a = server.gateway.create_session().unwrap().key;
    let b = server.gateway.create_session().unwrap().key;
    common::turn(&server, &a, "a1", "the purple elephant dances").await;
    common::turn(&server, &b, "b1", "a purple giraffe sings").await;

    let hits = search(&server, "purple").await;
    // Each session's message and the demo model's echo of it.
    assert_eq!(hits.len(), 4, "{hits:#?}");
    assert!(hits.iter().any(|h| h.session == a) && hits.iter().any(|h| h.session == b));
    let elephant = search(&server, "eleph").await;
    assert_eq!(elephant.len(), 2, "{elephant:#?}");
    assert!(elephant.iter().all(|h| h.session == a));
    let hit = &elephant[0];
    assert!(
        hit.snippet.iter().any(|s| s.hit && s.text == "elephant"),
        "{hit:?}"
    );

    // Hostile terms are words: never an error, never markup in the answer.
    for q in ["<script>", "\"", "NEAR(", "*", "elephant OR", "' --"] {
        let (status, body) = request(
            &server,
            "GET",
            &format!("/api/v1/search?q={}", url_escape(q)),
            None,
        )
        .await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    let (status, _) = request(
        &server,
        "GET",
        &format!("/api/v1/search?q={}", "x".repeat(201)),
        None,
    )
    .await;
    assert_eq!(status, 400, "an over-long search is refused");

    // The sidebar's form: list items the page inserts as they are, every text escaped.
    server
        .gateway
        .rename(&a, "<img src=x onerror=alert(1)> & co")
        .unwrap();
    let (status, html) = request(
        &server,
        "GET",
        "/api/v1/search?q=elephant&format=html",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches(r#"data-testid="search-result""#).count(),
        2,
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; co"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("<mark>elephant</mark>"), "{html}");
    let link = format!(r#"href="/sessions/{}?at={}""#, hit.session, hit.seq.0);
    assert!(html.contains(&link), "{html}");
    let (_, none) = request(&server, "GET", "/api/v1/search?q=zebra&format=html", None).await;
    assert!(none.contains(r#"data-testid="no-results""#), "{none}");

    // The result opens its session's page with the entry marked.
    let (status, page) = request(
        &server,
        "GET",
        &format!("/sessions/{}?at={}", hit.session, hit.seq.0),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let marked = format!(r#"data-seq="{}" data-highlighted="true""#, hit.seq.0);
    assert!(page.contains(&marked), "the entry is marked");
    assert_eq!(page.matches(r#"data-highlighted="true""#).count(), 1);
    server.shutdown().await;
}

/// A result deep in a long session: the page starts early enough to hold it, and still runs to
/// the newest entry (it goes live from there).
#[tokio::test]
async fn at_opens_a_window_that_holds_an_old_entry() {
    let dir = common::data_dir("organise-at");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let store = server.gateway.store();
    let mut first = None;
    for i in 0..1_200 {
        let body = codex_webchat::store::RecordBody::Notice {
            level: app::wire::NoticeLevel::Info,
            text: if i == 3 {
                "the needle".to_owned()
            } else {
                format!("hay {i}")
            },
            about: None,
        };
        let seq = store
            .append(
                &key,
                codex_webchat::store::NewEvent {
                    run: None,
                    private: false,
                    body: &body,
                    idem_key: None,
                    at_ms: 1,
                },
            )
            .unwrap()
            .event()
            .seq;
        if i == 3 {
            first = Some(seq);
        }
    }
    let needle = first.unwrap();
    let plain = app::api::PageSource::page(&server.gateway, &key, false, 1_000, None).unwrap();
    assert!(plain.earlier > needle.0, "the default window leaves it out");
    let page =
        app::api::PageSource::page(&server.gateway, &key, false, 1_000, Some(needle)).unwrap();
    assert!(page.events.iter().any(|e| e.seq == needle));
    assert_eq!(page.highlight, Some(needle));
    assert_eq!(page.events.last().unwrap().seq.0, 1_200);
    // An `at` past the end marks nothing.
    let past = app::api::PageSource::page(
        &server.gateway,
        &key,
        false,
        1_000,
        Some(app::wire::Seq(5_000)),
    )
    .unwrap();
    assert_eq!(past.highlight, None);
    server.shutdown().await;
}

async fn sessions_frame(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    pick: impl Fn(&[app::wire::SessionSummary]) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                continue;
            };
            if let Ok(ServerFrame::Sessions { sessions }) = serde_json::from_str(text.as_str()) {
                if pick(&sessions) {
                    return;
                }
            }
        }
    })
    .await
    .expect("the session list frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_archive_and_delete_reach_every_socket_and_delete_takes_everything() {
    let dir = common::data_dir("organise-change");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let keep = server.gateway.create_session().unwrap().key;
    let gone = server.gateway.create_session().unwrap().key;
    common::turn(&server, &gone, "g1", "doomed words").await;
    let binding = server
        .gateway
        .store()
        .binding(&gone)
        .unwrap()
        .expect("bound");

    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{}", server.addr).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let is = |k: &SessionKey| {
        let k = k.clone();
        move |s: &app::wire::SessionSummary| s.key == k
    };

    let (status, body) = request(
        &server,
        "PATCH",
        &format!("/api/v1/sessions/{keep}"),
        Some(json!({"title": "  Kept \n for later  "})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    sessions_frame(&mut ws, |l| {
        l.iter()
            .any(|s| is(&keep)(s) && s.title == "Kept for later")
    })
    .await;
    for bad in [json!({"title": " "}), json!({"title": "x".repeat(201)})] {
        let (status, body) = request(
            &server,
            "PATCH",
            &format!("/api/v1/sessions/{keep}"),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(
        server.gateway.session(&keep).unwrap().title,
        "Kept for later"
    );

    let (status, _) = request(
        &server,
        "PATCH",
        &format!("/api/v1/sessions/{keep}"),
        Some(json!({"archived": true})),
    )
    .await;
    assert_eq!(status, 200);
    sessions_frame(&mut ws, |l| l.iter().any(|s| is(&keep)(s) && s.archived)).await;

    let (status, body) =
        request(&server, "DELETE", &format!("/api/v1/sessions/{gone}"), None).await;
    assert_eq!(status, 204, "{body}");
    sessions_frame(&mut ws, |l| !l.iter().any(is(&gone))).await;
    assert!(search(&server, "doomed").await.is_empty());
    let (status, _) = request(&server, "GET", &format!("/api/v1/sessions/{gone}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = request(&server, "DELETE", &format!("/api/v1/sessions/{gone}"), None).await;
    assert_eq!(status, 404);
    // Codex archived the thread: resuming it says so.
    let listed = server
        .gateway
        .codex()
        .request("thread/list", json!({"archived": true}))
        .await
        .unwrap();
    assert!(
        listed.to_string().contains(binding.thread_id.as_str()),
        "the thread is among Codex's archived ones: {listed}"
    );
    server.shutdown().await;
}

/// Issue 14: a year of sessions must not make every page heavier. The chat page lists the newest
/// `SIDEBAR_SESSIONS` with a link to the all-sessions page, which pages through every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_the_newest_sessions_and_the_all_sessions_page_reaches_every_one() {
    use codex_webchat::gateway::{ALL_SESSIONS_PAGE, SIDEBAR_SESSIONS};
    let dir = common::data_dir("organise-all-sessions");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let total = ALL_SESSIONS_PAGE + 50;
    let mut keys = Vec::new();
    for _ in 0..total {
        keys.push(server.gateway.create_session().unwrap().key);
    }
    let newest = keys.last().unwrap();
    let (status, page) = request(&server, "GET", &format!("/sessions/{newest}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches(r#"data-testid="session""#).count(),
        SIDEBAR_SESSIONS,
        "the sidebar lists only the newest"
    );
    assert!(page.contains(r#"data-testid="all-sessions" href="/sessions""#));
    assert!(!page.contains(&format!("/sessions/{}\"", keys[0])));

    let (status, first) = request(&server, "GET", "/sessions", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        first.matches(r#"data-testid="all-sessions-item""#).count(),
        ALL_SESSIONS_PAGE
    );
    assert!(first.contains(&format!("/sessions/{newest}\"")));
    assert!(first.contains(r#"href="/sessions?page=1""#) && !first.contains("newer-sessions"));
    let (status, second) = request(&server, "GET", "/sessions?page=1", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        second.matches(r#"data-testid="all-sessions-item""#).count(),
        50
    );
    assert!(second.contains(&format!("/sessions/{}\"", keys[0])));
    assert!(second.contains(r#"href="/sessions?page=0""#) && !second.contains("older-sessions"));
    let (status, _) = request(&server, "GET", "/sessions?page=x", None).await;
    assert_eq!(status, 400, "a page that is not a number is a clear error");
    server.shutdown().await;
}
