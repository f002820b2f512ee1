//! Issue 16, first real use: signing Codex in from the API (device code shown, completed,
//! expired; an API key handed to Codex and found nowhere else), a send refused at once while
//! Codex has no account or cannot start, and `/healthz` saying which. Driven by the fake
//! app-server in Codex mode (its account starts as `fake-codex.json` says; a device code is
//! approved or expires when the test writes `$CODEX_HOME/fake-device`, the person's other
//! device).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::{AccountStatus, CodexHealth, EventBody, Login, SignIn};
use codex_webchat::config::ModelMode;
use codex_webchat::serve::{self, Running};
use serde_json::{json, Value};

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");

/// A server in Codex mode on the fake app-server, whose account starts as `account` says.
async fn fake_server(label: &str, account: &str) -> (tempfile::TempDir, Running, PathBuf) {
    let dir = common::data_dir(label);
    let mut config = common::config(dir.path());
    config.model = ModelMode::Codex;
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    let home = dir.path().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("fake-codex.json"),
        json!({ "account": account }).to_string(),
    )
    .unwrap();
    config.codex_home = Some(home.clone());
    let server = serve::start(config).await.expect("server starts");
    (dir, server, home)
}

/// Waits (bounded) until the account status satisfies `done`.
async fn account_until(server: &Running, what: &str, done: impl Fn(&AccountStatus) -> bool) {
    let mut changes = server.gateway.subscribe_account();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if done(&changes.borrow_and_update()) {
                return;
            }
            changes.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: the account stayed {:?}", server.gateway.account()));
}

async fn post(server: &Running, path: &str, body: Value) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(format!("http://{}{path}", server.addr))
        .header("origin", format!("http://{}", server.addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

async fn get(server: &Running, path: &str) -> (u16, String) {
    let reply = reqwest::get(format!("http://{}{path}", server.addr))
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

fn device(home: &Path, outcome: &str) {
    std::fs::write(home.join("fake-device"), outcome).unwrap();
}

#[tokio::test]
async fn a_device_code_sign_in_shows_the_code_then_the_account_and_its_limits() {
    let (_dir, server, home) = fake_server("signin-device", "signed_out").await;
    account_until(&server, "signed out", |a| a.login == Login::SignedOut).await;

    let (status, body) = post(
        &server,
        "/api/v1/account/login",
        json!({"method": "device_code"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code: Value = serde_json::from_str(&body).unwrap();
    let user_code = code["user_code"].as_str().unwrap().to_owned();
    assert!(user_code.starts_with("FAKE-"), "{body}");
    // Every screen shows the code and where to enter it, the page included.
    assert_eq!(
        server.gateway.account().signin,
        Some(SignIn::Waiting {
            user_code: user_code.clone(),
            verification_url: "https://auth.openai.com/codex/device".into(),
        })
    );
    let key = server.gateway.create_session().unwrap().key;
    let (_, page) = get(&server, &format!("/sessions/{key}")).await;
    assert!(
        page.contains(r#"data-testid="device-code""#) && page.contains(&user_code),
        "the page shows the code"
    );

    device(&home, "approve");
    account_until(&server, "signed in", |a| {
        matches!(a.login, Login::Chatgpt { .. }) && a.signin.is_none() && a.rate_limits.is_some()
    })
    .await;
    let account = server.gateway.account();
    assert_eq!(
        account.login,
        Login::Chatgpt {
            email: Some("fake@example.com".into()),
            plan: Some("plus".into())
        }
    );
    // Read once Codex says the account changed (`account/rateLimits/read`).
    assert_eq!(
        account.rate_limits.unwrap().primary.map(|w| w.used_percent),
        Some(7)
    );
    let (_, page) = get(&server, &format!("/sessions/{key}")).await;
    assert!(page.contains("Codex: fake@example.com (plus)"), "header");

    // Signing out is the operator's too; Codex forgets the account.
    let (status, body) = post(&server, "/api/v1/account/logout", json!({})).await;
    assert_eq!(status, 200, "{body}");
    account_until(&server, "signed out again", |a| a.login == Login::SignedOut).await;
    // The account's limits went with it (regression: they stayed in the header).
    assert_eq!(server.gateway.account().rate_limits, None);
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_device_code_says_so_and_leaves_codex_signed_out() {
    let (_dir, server, home) = fake_server("signin-expired", "signed_out").await;
    account_until(&server, "signed out", |a| a.login == Login::SignedOut).await;
    let (status, body) = post(
        &server,
        "/api/v1/account/login",
        json!({"method": "device_code"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    device(&home, "expire");
    account_until(
        &server,
        "the failure",
        |a| matches!(&a.signin, Some(SignIn::Failed { message }) if message.contains("expired")),
    )
    .await;
    assert_eq!(server.gateway.account().login, Login::SignedOut);

    // Starting again replaces the failure with a new code; cancelling ends it.
    let (status, _) = post(
        &server,
        "/api/v1/account/login",
        json!({"method": "device_code"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(matches!(
        server.gateway.account().signin,
        Some(SignIn::Waiting { .. })
    ));
    let (status, _) = post(&server, "/api/v1/account/login/cancel", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(server.gateway.account().signin, None);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_sign_in_requests_are_refused_without_quoting_them() {
    let (_dir, server, _home) = fake_server("signin-bad", "signed_out").await;
    for body in [
        json!({"method": "api_key", "api_key": "  "}),
        json!({"method": "api_key", "api_key": "sk-has space"}),
        json!({"method": "sk-secret-in-the-wrong-field"}),
        json!({"method": "api_key", "api_key": 42}),
    ] {
        let (status, reply) = post(&server, "/api/v1/account/login", body.clone()).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(
            !reply.contains("sk-") && !reply.contains("42"),
            "{body}: {reply}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn sign_in_is_refused_in_demo_mode() {
    let dir = common::data_dir("signin-demo");
    let mut config = common::config(dir.path());
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    let server = serve::start(config).await.expect("server starts");
    let (status, body) = post(
        &server,
        "/api/v1/account/login",
        json!({"method": "device_code"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("demo model needs no sign-in"), "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_send_while_codex_has_no_account_gets_a_notice_at_once_and_no_run() {
    let (_dir, server, home) = fake_server("signin-refuse", "signed_out").await;
    account_until(&server, "signed out", |a| a.login == Login::SignedOut).await;
    let key = server.gateway.create_session().unwrap().key;
    server.gateway.send(&key, "c1", "hello").unwrap();
    let events = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 100)
        .unwrap();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| serde_json::to_value(&e.body).unwrap()["type"].clone())
        .collect();
    assert_eq!(kinds, ["user_message", "notice"], "{events:#?}");
    let notice = common::notices(&events).remove(0);
    assert!(
        notice.contains("not signed in") && notice.contains("codex-webchat login"),
        "{notice}"
    );
    // Nothing reached Codex: no thread, no turn.
    let log = std::fs::read_to_string(home.join("fake-codex.log")).unwrap_or_default();
    assert!(
        !log.contains("turn/start") && !log.contains("thread/start"),
        "{log}"
    );

    // Signed in (an API key), the same session runs.
    let (status, body) = post(
        &server,
        "/api/v1/account/login",
        json!({"method": "api_key", "api_key": "sk-test-1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let events = common::turn(&server, &key, "c2", "again").await;
    assert_eq!(common::replies(&events), ["Echo: again"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_codex_that_cannot_start_is_a_notice_on_send_and_in_the_page_and_healthz() {
    // A broken `CODEX_HOME` (a file, not a folder): the real Codex exits at once saying so.
    let dir = common::data_dir("signin-down");
    let mut config = common::config(dir.path());
    config.model = ModelMode::Codex;
    let home = dir.path().join("home-is-a-file");
    std::fs::write(&home, "not a folder").unwrap();
    config.codex_home = Some(home);
    let server = serve::start(config)
        .await
        .expect("the server starts anyway");
    account_until(&server, "codex down", |a| {
        matches!(a.codex, CodexHealth::Down { .. })
    })
    .await;
    let CodexHealth::Down { reason } = server.gateway.account().codex else {
        unreachable!()
    };
    assert!(
        reason.contains("is not a directory"),
        "Codex's own words: {reason}"
    );
    let (status, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200, "the server itself is up");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "degraded", "{body}");
    assert_eq!(health["codex"], "down", "{body}");
    assert_eq!(health["codex_error"], reason.as_str(), "{body}");

    let key = server.gateway.create_session().unwrap().key;
    let (_, page) = get(&server, &format!("/sessions/{key}")).await;
    assert!(
        page.contains("Codex could not start: ") && page.contains("is not a directory"),
        "the banner says why"
    );
    server.gateway.send(&key, "c1", "hello").unwrap();
    let events = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 100)
        .unwrap();
    let notices = common::notices(&events);
    assert_eq!(notices.len(), 1, "{events:#?}");
    assert!(
        notices[0].starts_with("Codex could not start"),
        "{notices:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e.body, EventBody::RunStarted { .. })));
    server.shutdown().await;
}

#[tokio::test]
async fn a_healthy_server_says_so_in_healthz() {
    let (_dir, server, _home) = fake_server("signin-health", "chatgpt").await;
    account_until(&server, "ready and signed in", |a| {
        a.codex == CodexHealth::Ready && matches!(a.login, Login::Chatgpt { .. })
    })
    .await;
    let (status, body) = get(&server, "/healthz").await;
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "codex": "ready", "codex_error": null, "account": "chatgpt"})
    );
    server.shutdown().await;
}

/// The API key passes through and is found nowhere: not in the answer, not in the log at trace
/// level (which logs every other line sent to Codex), not in the data folder.
#[tokio::test]
async fn an_api_key_is_handed_to_codex_and_found_in_no_answer_log_or_stored_file() {
    use tokio::io::AsyncBufReadExt;
    const KEY: &str = "sk-never-seen-7f3a9c1e";
    let dir = common::data_dir("signin-secret");
    let home = dir.path().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("fake-codex.json"), r#"{"account": "signed_out"}"#).unwrap();
    let data = dir.path().join("data");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-webchat"))
        .args(["serve", "--addr", "127.0.0.1:0", "--model", "codex"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--codex-bin")
        .arg(FAKE_CODEX)
        .arg("--codex-home")
        .arg(&home)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("CODEX_WEBCHAT_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server binary");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.split("listening on ").nth(1) {
                return url.trim().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens");
    let client = reqwest::Client::new();
    let account = || async {
        client
            .get(format!("{base}/api/v1/account"))
            .send()
            .await
            .unwrap()
            .json::<AccountStatus>()
            .await
            .unwrap()
    };
    // Codex answers `account/read` once it is up.
    let mut known = account().await;
    while known.login == Login::Unknown {
        tokio::task::yield_now().await;
        known = account().await;
    }
    assert_eq!(known.login, Login::SignedOut);
    let reply = client
        .post(format!("{base}/api/v1/account/login"))
        .header("origin", &base)
        .json(&json!({"method": "api_key", "api_key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.text().await.unwrap();
    assert!(!body.contains(KEY), "{body}");
    let status: AccountStatus = serde_json::from_str(&body).unwrap();
    assert_eq!(status.login, Login::ApiKey);

    // Stopped by its own pid (we started it), so the log is complete.
    let pid = child.id().expect("running");
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    child.wait().await.unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("account/login/start (not logged"),
        "the trace log shows the request without its parameters"
    );
    assert!(log.contains("to codex"), "the log is at trace level");
    assert!(!log.contains(KEY), "the key is in the log");
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap();
        let found = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
        assert!(!found, "the key is stored in {}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
