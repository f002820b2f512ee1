//! `codex-webchat login` run as the built binary against a whole in-process server on the fake
//! app-server (`tests/support/fake_codex.rs`) in Codex mode, whose account starts signed out: a
//! device code approved or left to expire on "the other device" (`$CODEX_HOME/fake-device`), a
//! Ctrl-C that cancels the sign-in, an API key from standard input that appears in nothing the
//! command prints, sign-out, `--status`, and the usage, token and demo-mode refusals with their
//! exit statuses.
//!
//! Every wait is for something to happen (a line printed, the process ending, the account
//! changing), bounded only so a broken build fails instead of hanging.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use app::wire::{Login, SignIn};
use codex_webchat::config::{AuthSettings, AuthToken, ModelMode};
use codex_webchat::serve::{self, Running};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout};

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");
/// How long anything may take on a busy machine.
const WAIT: Duration = Duration::from_secs(90);
const TOKEN: &str = "login-cli-test-token-0123456789abcdef";

fn codex_home(dir: &Path) -> PathBuf {
    dir.join("codex-home")
}

/// A server in `model` mode on the fake app-server, whose account starts as `account`
/// (`signed_out`, `chatgpt`, else an API key), with `token` as its access token if any. Returns
/// once Codex said who it works as.
async fn start(dir: &Path, model: ModelMode, account: &str, token: Option<&str>) -> Running {
    std::fs::create_dir_all(codex_home(dir)).unwrap();
    std::fs::write(
        codex_home(dir).join("fake-codex.json"),
        serde_json::json!({ "account": account }).to_string(),
    )
    .unwrap();
    let mut config = common::config(dir);
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    config.model = model;
    config.auth = AuthSettings {
        token: token.map(|t| AuthToken::new(t).unwrap()),
        public_hosts: Vec::new(),
    };
    let server = serve::start(config).await.expect("server starts");
    let mut changes = server.gateway.subscribe_account();
    tokio::time::timeout(WAIT, async {
        while changes.borrow_and_update().login == Login::Unknown {
            changes.changed().await.unwrap();
        }
    })
    .await
    .expect("Codex says who it works as");
    server
}

fn url(server: &Running) -> String {
    format!("http://{}", server.addr)
}

/// The built binary's `login` with `args`, no token in the environment unless `token`, its
/// output piped, `stdin` as given.
fn login(args: &[&str], token: Option<&str>, stdin: Stdio) -> Child {
    let mut command = tokio::process::Command::new(common::BIN);
    command
        .arg("login")
        .args(args)
        .env_remove("CODEX_WEBCHAT_TOKEN")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("CODEX_WEBCHAT_TOKEN", token);
    }
    command.spawn().unwrap()
}

/// Runs `login` with `args` and no input to its end: status, stdout, stderr.
async fn run(args: &[&str], token: Option<&str>) -> (i32, String, String) {
    finish(login(args, token, Stdio::null())).await
}

/// Waits for `child` to end: status, stdout, stderr.
async fn finish(child: Child) -> (i32, String, String) {
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("login ended within 90 s")
        .unwrap();
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Reads the child's stdout up to the device-code line; returns the code and the URL.
async fn code_line(stdout: &mut BufReader<ChildStdout>) -> (String, String) {
    let mut line = String::new();
    tokio::time::timeout(WAIT, stdout.read_line(&mut line))
        .await
        .expect("the code is printed")
        .unwrap();
    let rest = line
        .strip_prefix("Open ")
        .unwrap_or_else(|| panic!("not the code line: {line:?}"));
    let (url, code) = rest
        .trim_end()
        .split_once(" on any device and enter the code: ")
        .unwrap_or_else(|| panic!("not the code line: {line:?}"));
    (code.to_owned(), url.to_owned())
}

/// The code and URL every screen shows for the sign-in in progress.
fn shown_code(server: &Running) -> (String, String) {
    match server.gateway.account().signin {
        Some(SignIn::Waiting {
            user_code,
            verification_url,
        }) => (user_code, verification_url),
        other => panic!("no sign-in waiting: {other:?}"),
    }
}

/// Starts `login` (device code) and reads its code line; the child and the rest of its stdout.
async fn started_device_login(server: &Running) -> (Child, BufReader<ChildStdout>) {
    let mut child = login(&["--url", &url(server)], None, Stdio::null());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let printed = code_line(&mut stdout).await;
    assert_eq!(printed, shown_code(server), "the code the server shows");
    assert!(printed.0.starts_with("FAKE-"), "{printed:?}");
    (child, stdout)
}

/// What is left of the child's stdout once it ended, with its status and stderr.
async fn rest(mut child: Child, mut stdout: BufReader<ChildStdout>) -> (i32, String, String) {
    let mut out = String::new();
    tokio::time::timeout(WAIT, stdout.read_to_string(&mut out))
        .await
        .expect("login ended within 90 s")
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("login ended")
        .unwrap();
    (status.code().expect("exited, not killed"), out, err)
}

/// The person's other device: approves or lets the code expire.
fn other_device(dir: &Path, outcome: &str) {
    std::fs::write(codex_home(dir).join("fake-device"), outcome).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_approved_elsewhere_signs_in_and_exits_0() {
    let dir = common::data_dir("login-device");
    let server = start(dir.path(), ModelMode::Codex, "signed_out", None).await;
    let (code, out, err) = run(&["--url", &url(&server), "--status"], None).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "Codex: not signed in\nCodex app-server: ready\n"),
        "{err}"
    );

    let (child, stdout) = started_device_login(&server).await;
    // While it waits, `--status` shows the same code.
    let (code, out, _) = run(&["--url", &url(&server), "--status"], None).await;
    let (user_code, verification_url) = shown_code(&server);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "Sign-in waiting: open {verification_url} and enter the code: {user_code}\n"
        )),
        "{out}"
    );

    other_device(dir.path(), "approve");
    let (code, out, err) = rest(child, stdout).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "Signed in: Codex: fake@example.com (plus)\n"),
        "stderr: {err}"
    );
    assert!(matches!(
        server.gateway.account().login,
        Login::Chatgpt { .. }
    ));
    assert_eq!(server.gateway.account().signin, None);

    let (code, out, err) = run(&["--url", &url(&server), "--status"], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Codex: fake@example.com (plus)\nCodex app-server: ready\n"),
        "{out}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_device_code_exits_1_with_the_reason() {
    let dir = common::data_dir("login-expire");
    let server = start(dir.path(), ModelMode::Codex, "signed_out", None).await;
    let (child, stdout) = started_device_login(&server).await;
    other_device(dir.path(), "expire");
    let (code, out, err) = rest(child, stdout).await;
    assert_eq!((code, out.as_str()), (1, ""), "stderr: {err}");
    assert!(
        err.ends_with("codex-webchat: Sign-in did not complete: device code expired\n"),
        "{err}"
    );
    assert_eq!(server.gateway.account().login, Login::SignedOut);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_cancels_the_sign_in_and_exits_130() {
    let dir = common::data_dir("login-ctrl-c");
    let server = start(dir.path(), ModelMode::Codex, "signed_out", None).await;
    let (child, stdout) = started_device_login(&server).await;
    let pid = i32::try_from(child.id().expect("running")).unwrap();
    // SAFETY: a signal to our own child, which is still running (its stdout is open).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let (code, out, err) = rest(child, stdout).await;
    assert_eq!((code, out.as_str()), (130, ""), "stderr: {err}");
    assert!(err.ends_with("Sign-in cancelled.\n"), "{err}");
    // The server no longer shows the code (the cancel came before the exit).
    assert_eq!(server.gateway.account().signin, None);
    assert_eq!(server.gateway.account().login, Login::SignedOut);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_from_stdin_signs_in_and_is_never_printed() {
    const KEY: &str = "sk-test-Secret0123456789";
    let dir = common::data_dir("login-api-key");
    let server = start(dir.path(), ModelMode::Codex, "signed_out", Some(TOKEN)).await;
    let url = url(&server);

    // Without the token: refused, status 2, before the key is read.
    let (code, out, err) = run(&["--url", &url, "--api-key-stdin"], None).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "codex-webchat: the server refused the access token (use --token or \
         CODEX_WEBCHAT_TOKEN)\n"
    );
    // Nothing on stdin: bad usage.
    let (code, out, err) = run(&["--url", &url, "--api-key-stdin"], Some(TOKEN)).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "codex-webchat: no API key on standard input (one line: the key)\n"
    );

    let mut child = login(
        &["--url", &url, "--api-key-stdin"],
        Some(TOKEN),
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    // One line is read; what follows it is not.
    stdin
        .write_all(format!("{KEY}\nsecond line\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let (code, out, err) = finish(child).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "Signed in: Codex: API key\n"),
        "stderr: {err}"
    );
    assert!(!out.contains(KEY) && !err.contains(KEY));
    assert_eq!(server.gateway.account().login, Login::ApiKey);

    // A key Codex would not take (the server's own words come back, never the key).
    let mut child = login(
        &["--url", &url, "--api-key-stdin"],
        Some(TOKEN),
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"sk-two words\n").await.unwrap();
    drop(stdin);
    let (code, out, err) = finish(child).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "codex-webchat: That does not look like an API key (one line, no spaces).\n"
    );
    assert!(!err.contains("sk-two"));

    let (code, out, err) = run(&["--url", &url, "--logout"], Some(TOKEN)).await;
    assert_eq!((code, out.as_str()), (0, "Codex: not signed in\n"), "{err}");
    assert_eq!(server.gateway.account().login, Login::SignedOut);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_an_unreachable_server_and_the_demo_model_are_refused() {
    let dir = common::data_dir("login-demo");
    let server = start(dir.path(), ModelMode::Demo, "signed_out", None).await;
    let url = url(&server);

    let (code, out, err) = run(&["--url", &url, "--status"], None).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "Demo model (offline)\nCodex app-server: ready\n"),
        "{err}"
    );
    // The demo model needs no sign-in: the server says so, status 1, no code printed.
    let (code, out, err) = run(&["--url", &url], None).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("codex-webchat: The demo model needs no sign-in"),
        "{err}"
    );
    assert_eq!(server.gateway.account().signin, None);

    let (code, out, err) = run(&["--url", &url, "--logout", "--status"], None).await;
    assert_eq!((code, out.as_str()), (2, ""), "conflicting flags: {err}");
    let (code, _, _) = run(&["--url", &url, "--api-key", "sk-x"], None).await;
    assert_eq!(code, 2, "a key is never taken from the command line");

    let nowhere = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let (code, out, err) = run(&["--url", &nowhere, "--status"], None).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(&format!(
            "codex-webchat: cannot reach the server at {nowhere}"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    server.shutdown().await;
}
