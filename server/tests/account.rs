//! The account's rate limits, from Codex's `account/rateLimits/updated` to every client: the
//! gateway merges the sparse updates, the page renders the header line, and a socket that
//! connects afterwards is told at once. Driven by the fake app-server (`/fake limits P S`), since
//! the demo model's provider reports no limits (the real Codex sends them all null).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use app::wire::{LimitWindow, ServerFrame};
use codex_webchat::serve;
use futures::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");

#[tokio::test]
async fn rate_limits_reported_by_codex_reach_the_header_and_every_socket() {
    let dir = common::data_dir("account-limits");
    let mut config = common::config(dir.path());
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    let server = serve::start(config).await.expect("server starts");
    let key = server.gateway.create_session().unwrap().key;
    assert_eq!(server.gateway.account().rate_limits, None);

    let mut changes = server.gateway.subscribe_account();
    changes.borrow_and_update();
    common::turn(&server, &key, "c1", "/fake limits 23 41").await;
    tokio::time::timeout(Duration::from_secs(60), changes.changed())
        .await
        .expect("the limits arrive")
        .unwrap();
    let limits = server.gateway.account().rate_limits.expect("limits known");
    assert_eq!(
        limits.primary,
        Some(LimitWindow {
            used_percent: 23,
            window_mins: Some(300),
            resets_at: Some(1_800_000_000),
        })
    );
    assert_eq!(limits.secondary.map(|w| w.used_percent), Some(41));

    // A later, sparse update moves one window and keeps the other.
    common::turn(&server, &key, "c2", "/fake limits 30").await;
    let limits = server.gateway.account().rate_limits.unwrap();
    assert_eq!(
        (
            limits.primary.map(|w| w.used_percent),
            limits.secondary.map(|w| w.used_percent)
        ),
        (Some(30), Some(41))
    );

    let page = reqwest::get(format!("http://{}/sessions/{key}", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"data-testid="rate-limits""#) && page.contains("Limits: 5h 30% · 7d 41%"),
        "the header shows the limits"
    );
    assert!(
        page.contains(r#"data-login="demo""#) && page.contains("Demo model (offline)"),
        "the header says the demo model is in use"
    );

    let mut req = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{}", server.addr).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let account = loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        let Message::Text(text) = msg else { continue };
        if let ServerFrame::Account { account } = serde_json::from_str(text.as_str()).unwrap() {
            break account;
        }
    };
    assert_eq!(account, server.gateway.account());
    server.shutdown().await;
}

/// Real Codex 0.169 in Codex mode with an empty `CODEX_HOME`: `account/read` reports no account
/// and the header says "not signed in" (no network is needed to find out); a send is refused at
/// once with the notice that says how to sign in, and no turn is started. Then an API key is
/// handed to the real Codex (which keeps it in its home) and taken back by signing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_with_an_empty_home_is_shown_as_not_signed_in() {
    let dir = common::data_dir("account-signed-out");
    let home = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.model = codex_webchat::config::ModelMode::Codex;
    config.codex_home = Some(home.path().to_path_buf());
    let server = serve::start(config).await.expect("server starts");
    let mut changes = server.gateway.subscribe_account();
    let login = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let login = changes.borrow_and_update().login.clone();
            if login != app::wire::Login::Unknown {
                return login;
            }
            changes.changed().await.unwrap();
        }
    })
    .await
    .expect("Codex says who it works as");
    assert_eq!(login, app::wire::Login::SignedOut);
    let key = server.gateway.create_session().unwrap().key;
    let page = reqwest::get(format!("http://{}/sessions/{key}", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"data-login="signed_out""#) && page.contains("Codex: not signed in"),
        "the header says so"
    );

    let sent = std::time::Instant::now();
    server.gateway.send(&key, "c1", "hello").unwrap();
    let events = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 100)
        .unwrap();
    // A figure, not a limit: the refusal needs no answer from Codex.
    println!("refused in {:?}", sent.elapsed());
    let notices = common::notices(&events);
    assert_eq!(notices.len(), 1, "{events:#?}");
    assert!(notices[0].contains("not signed in"), "{notices:?}");
    assert!(!events
        .iter()
        .any(|e| matches!(e.body, app::wire::EventBody::RunStarted { .. })));

    server
        .gateway
        .login_api_key("sk-test-not-a-real-key")
        .await
        .expect("Codex takes the key");
    assert_eq!(server.gateway.account().login, app::wire::Login::ApiKey);
    assert!(home.path().join("auth.json").exists(), "Codex keeps it");
    server.gateway.logout().await.expect("Codex signs out");
    assert_eq!(server.gateway.account().login, app::wire::Login::SignedOut);
    assert!(!home.path().join("auth.json").exists(), "and forgets it");
    server.shutdown().await;
}
