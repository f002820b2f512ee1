//! The terminal client against a real in-process server (real Codex binary, demo model): the
//! live socket's updates for a whole run, its reconnect after a dropped connection (gap-free, no
//! duplicate, an unacknowledged send stored once), its heartbeat noticing a silent connection,
//! the HTTP helpers' errors, the session picker's rename, archive and delete, the search screen
//! finding a word sent in another session and opening it, and the Codex threads screen listing
//! the sessions' own threads and switching to one, each carried out as the terminal loop does,
//! and `codex-webchat send` run as the built binary with its exit statuses.
//!
//! Connections are dropped and frozen by a TCP proxy in front of the server, so the server (and
//! the run on it) keeps going while the client is cut off, as when a laptop loses its network.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use app::wire::{EventBody, RunOutcome, Seq, SessionKey};
use codex_webchat::client::http;
use codex_webchat::client::live::{Live, LiveOptions};
use codex_webchat::client::{ClientError, Command, Endpoint, Update};
use codex_webchat::config::{AuthSettings, AuthToken};
use codex_webchat::serve::{self, Running};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long anything a run does may take on a busy machine.
const WAIT: Duration = Duration::from_secs(90);
const TOKEN: &str = "client-test-token-0123456789abcdef";

fn endpoint_at(addr: SocketAddr) -> Endpoint {
    Endpoint {
        base_url: format!("http://{addr}"),
        token: None,
    }
}

/// Where a server bound to `0.0.0.0` is reached.
fn local(server: &Running) -> SocketAddr {
    let mut addr = server.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fast timings, so a drop is noticed and repaired within a test's patience.
fn quick() -> LiveOptions {
    LiveOptions {
        ping_every: Duration::from_millis(200),
        pong_within: Duration::from_millis(800),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(2),
    }
}

async fn next(live: &mut Live) -> Update {
    tokio::time::timeout(WAIT, live.next())
        .await
        .expect("no update within 90 s")
        .expect("the live task ended")
}

/// Collects updates up to and including the first one `done` accepts.
async fn until(live: &mut Live, mut done: impl FnMut(&Update) -> bool) -> Vec<Update> {
    let mut seen = Vec::new();
    loop {
        let update = next(live).await;
        let stop = done(&update);
        seen.push(update);
        if stop {
            return seen;
        }
    }
}

fn run_finished(update: &Update) -> Option<RunOutcome> {
    match update {
        Update::Event { event, .. } => match &event.body {
            EventBody::RunFinished { outcome, .. } => Some(*outcome),
            _ => None,
        },
        _ => None,
    }
}

fn event_seqs(updates: &[Update]) -> Vec<u64> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event { event, .. } => Some(event.seq.0),
            _ => None,
        })
        .collect()
}

fn reply_texts(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Event { event, .. } => match &event.body {
                EventBody::AssistantMessage { text, .. } => Some(text.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A TCP proxy in front of the server that can drop every connection (`cut`) or stop passing
/// bytes while keeping connections open (`freeze`).
struct Proxy {
    addr: SocketAddr,
    cut: watch::Sender<u64>,
    frozen: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on `127.0.0.1:port` and passes connections to `upstream`.
    async fn start_on(port: u16, upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0u64);
        let (frozen, _) = watch::channel(false);
        let (cut_rx, frozen_rx) = (cut.subscribe(), frozen.subscribe());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut cut = cut_rx.clone();
                cut.mark_unchanged();
                tokio::spawn(pipe(client, upstream, cut, frozen_rx.clone()));
            }
        });
        Proxy {
            addr,
            cut,
            frozen,
            task,
        }
    }

    /// Drops every open connection (new ones still pass).
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    client: TcpStream,
    upstream: SocketAddr,
    mut cut: watch::Receiver<u64>,
    frozen: watch::Receiver<bool>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = forward(&mut client_read, &mut server_write, frozen.clone());
    let down = forward(&mut server_read, &mut client_write, frozen);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = cut.changed() => {}
    }
}

/// Copies bytes one way, holding them while the proxy is frozen.
async fn forward(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_connects_sends_and_delivers_the_whole_run_in_order() {
    let dir = common::data_dir("client-live");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let endpoint = endpoint_at(server.addr);
    let key = http::create_session(&endpoint).await.unwrap().key;

    let mut live = Live::start(endpoint.clone());
    assert_eq!(next(&mut live).await, Update::Connected);
    live.command(Command::Open {
        session: key.clone(),
        recent: codex_webchat::tui::earlier::RECENT,
    });
    live.command(Command::Send {
        session: key.clone(),
        client_id: "c-live-1".into(),
        text: "hello terminal".into(),
        steer: false,
    });
    let updates = until(&mut live, |u| run_finished(u).is_some()).await;

    let accepted: Vec<_> = updates
        .iter()
        .filter(|u| matches!(u, Update::Accepted { .. }))
        .collect();
    assert!(
        matches!(accepted[..], [Update::Accepted { client_id, duplicate: false, .. }] if client_id == "c-live-1"),
        "{accepted:?}"
    );
    assert_eq!(reply_texts(&updates), ["Echo: hello terminal"]);
    assert_eq!(
        run_finished(updates.last().unwrap()),
        Some(RunOutcome::Completed)
    );
    // Every event the server stored, in order, once: the same as the store's.
    let stored: Vec<u64> = http::events_after(&endpoint, &key, Seq::ZERO, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq.0)
        .collect();
    let seqs = event_seqs(&updates);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert_eq!(seqs, stored);
    assert!(updates.iter().all(|u| u != &Update::Connected));
    // A run from the terminal: its message says so.
    let sources: Vec<_> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Event { event, .. } => match &event.body {
                EventBody::UserMessage { source, .. } => Some(*source),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(sources, [app::wire::Source::Tui]);

    live.shutdown().await;
    server.shutdown().await;
}

/// Commands given before the server is up wait, in order, and go out once the socket is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_given_while_down_go_out_in_order_once_connected() {
    let dir = common::data_dir("client-queued");
    let mut config = common::config(dir.path());
    config.addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let addr = config.addr;
    // A session to send to, then no server.
    let first = serve::start(config).await.unwrap();
    let key = first.gateway.create_session().unwrap().key;
    first.shutdown().await;

    let mut live = Live::start_with(endpoint_at(addr), quick());
    match next(&mut live).await {
        Update::Disconnected { reason, .. } => assert!(reason.contains("refused"), "{reason}"),
        other => panic!("expected a refused connection, got {other:?}"),
    }
    live.command(Command::Open {
        session: key.clone(),
        recent: codex_webchat::tui::earlier::RECENT,
    });
    for (id, text) in [("c-q1", "one"), ("c-q2", "two")] {
        live.command(Command::Send {
            session: key.clone(),
            client_id: id.into(),
            text: text.into(),
            steer: false,
        });
    }
    let mut config = common::config(dir.path());
    config.addr = addr;
    let server = serve::start(config).await.unwrap();
    let mut finished = 0;
    let updates = until(&mut live, |u| {
        finished += usize::from(run_finished(u).is_some());
        finished == 2
    })
    .await;
    let connected = updates
        .iter()
        .position(|u| *u == Update::Connected)
        .unwrap();
    let accepted: Vec<&str> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Accepted { client_id, .. } => Some(client_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, ["c-q1", "c-q2"]);
    assert!(updates[..connected]
        .iter()
        .all(|u| matches!(u, Update::Disconnected { .. })));
    assert_eq!(reply_texts(&updates), ["Echo: one", "Echo: two"]);
    let seqs = event_seqs(&updates);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    live.shutdown().await;
    server.shutdown().await;
}

/// Regression: a dropped connection must resume after the last delivered event (not from 0,
/// which repeats the transcript, nor from the newest, which loses what happened while down), and
/// a send given around the drop must be stored and answered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_without_gap_or_duplicate() {
    let dir = common::data_dir("client-reconnect");
    let mut config = common::config(dir.path());
    // The proxy's port must be one of the server's hosts (Host and Origin name it).
    let proxy_port = free_port();
    config.auth.public_hosts = vec![format!("127.0.0.1:{proxy_port}")];
    let server = serve::start(config).await.unwrap();
    let proxy = Proxy::start_on(proxy_port, server.addr).await;
    let endpoint = endpoint_at(proxy.addr);
    let key = http::create_session(&endpoint).await.unwrap().key;

    let mut live = Live::start_with(endpoint.clone(), quick());
    assert_eq!(next(&mut live).await, Update::Connected);
    live.command(Command::Open {
        session: key.clone(),
        recent: codex_webchat::tui::earlier::RECENT,
    });
    live.command(Command::Send {
        session: key.clone(),
        client_id: "c-stream".into(),
        text: "/stream 40 50".into(),
        steer: false,
    });
    // Cut once the stream is under way: the run goes on while the client is away.
    let mut updates = until(&mut live, |u| {
        matches!(u, Update::Event { event, .. } if matches!(event.body, EventBody::TextAppend { .. }))
    })
    .await;
    proxy.cut();
    // Given right at the drop: it goes out on the dead socket or waits; either way once.
    live.command(Command::Send {
        session: key.clone(),
        client_id: "c-after".into(),
        text: "after the drop".into(),
        steer: false,
    });
    let mut finished = 0;
    let rest = until(&mut live, |u| {
        if run_finished(u).is_some() {
            finished += 1;
        }
        finished == 2
    })
    .await;
    let disconnect = rest
        .iter()
        .position(|u| matches!(u, Update::Disconnected { .. }))
        .expect("the cut was reported");
    let reconnect = rest
        .iter()
        .position(|u| *u == Update::Connected)
        .expect("the client reconnected");
    assert!(disconnect < reconnect, "{rest:?}");
    let first_run_end = rest.iter().position(|u| run_finished(u).is_some()).unwrap();
    assert!(
        first_run_end > reconnect,
        "the cut came after the stream's end; the test proves nothing: {rest:?}"
    );
    updates.extend(rest);

    let seqs = event_seqs(&updates);
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let stored = http::events_after(&endpoint, &key, Seq::ZERO, 10_000)
        .await
        .unwrap();
    assert_eq!(seqs, stored.iter().map(|e| e.seq.0).collect::<Vec<_>>());
    let after_messages = stored
        .iter()
        .filter(|e| matches!(&e.body, EventBody::UserMessage { client_id, .. } if client_id == "c-after"))
        .count();
    assert_eq!(after_messages, 1, "the send around the drop is stored once");
    assert_eq!(
        reply_texts(&updates)
            .iter()
            .filter(|t| t.starts_with("Echo:"))
            .collect::<Vec<_>>(),
        ["Echo: after the drop"]
    );
    let outcomes: Vec<_> = updates.iter().filter_map(run_finished).collect();
    assert_eq!(outcomes, [RunOutcome::Completed, RunOutcome::Completed]);

    live.shutdown().await;
    server.shutdown().await;
}

/// Regression: a connection that stays open but carries nothing (a frozen proxy, a sleeping
/// laptop's NAT) must count as dropped, not leave the client waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_dropped_by_the_heartbeat_and_rebuilt() {
    let dir = common::data_dir("client-heartbeat");
    let mut config = common::config(dir.path());
    let proxy_port = free_port();
    config.auth.public_hosts = vec![format!("127.0.0.1:{proxy_port}")];
    let server = serve::start(config).await.unwrap();
    let proxy = Proxy::start_on(proxy_port, server.addr).await;
    let mut live = Live::start_with(endpoint_at(proxy.addr), quick());
    assert_eq!(next(&mut live).await, Update::Connected);

    proxy.freeze(true);
    match next(&mut live).await {
        Update::Disconnected { reason, retry_in } => {
            assert!(reason.contains("heartbeat"), "{reason}");
            assert_eq!(retry_in, quick().backoff_min);
        }
        other => panic!("expected a drop, got {other:?}"),
    }
    proxy.freeze(false);
    let updates = until(&mut live, |u| *u == Update::Connected).await;
    // Attempts made while frozen time out and back off, doubling up to the maximum.
    let waits: Vec<Duration> = updates
        .iter()
        .filter_map(|u| match u {
            Update::Disconnected { retry_in, .. } => Some(*retry_in),
            _ => None,
        })
        .collect();
    assert!(waits.iter().all(|w| *w <= quick().backoff_max), "{waits:?}");

    live.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_say_what_went_wrong() {
    // Nothing listens: unreachable, naming the URL.
    let nowhere = endpoint_at(format!("127.0.0.1:{}", free_port()).parse().unwrap());
    match http::sessions(&nowhere).await {
        Err(ClientError::Unreachable { url, reason }) => {
            assert_eq!(url, nowhere.base_url);
            assert!(reason.contains("refused"), "{reason}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }

    let dir = common::data_dir("client-http");
    let mut config = common::config(dir.path());
    config.addr = "0.0.0.0:0".parse().unwrap();
    config.auth = AuthSettings {
        token: Some(AuthToken::new(TOKEN).unwrap()),
        public_hosts: Vec::new(),
    };
    let server = serve::start(config).await.unwrap();
    let mut endpoint = endpoint_at(local(&server));

    // No token, then a wrong one: refused, in words that say how to fix it.
    for token in [
        None,
        Some("wrong-token-0123456789abcdef-0123456789".to_owned()),
    ] {
        endpoint.token = token;
        let err = http::sessions(&endpoint).await.unwrap_err();
        assert!(matches!(err, ClientError::Unauthorized), "{err:?}");
        assert!(err.to_string().contains("CODEX_WEBCHAT_TOKEN"));
    }
    // The live socket reports the same refusal and keeps trying.
    let mut live = Live::start_with(endpoint.clone(), quick());
    match next(&mut live).await {
        Update::Disconnected { reason, .. } => {
            assert!(reason.contains("refused the access token"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    live.shutdown().await;

    endpoint.token = Some(TOKEN.to_owned());
    let created = http::create_session(&endpoint).await.unwrap();
    let listed = http::sessions(&endpoint).await.unwrap();
    assert!(listed.iter().any(|s| s.key == created.key));
    assert_eq!(
        http::session(&endpoint, &created.key).await.unwrap(),
        created
    );
    let mut live = Live::start_with(endpoint.clone(), quick());
    assert_eq!(next(&mut live).await, Update::Connected);
    live.shutdown().await;

    let missing = SessionKey::parse("no-such-session").unwrap();
    match http::session(&endpoint, &missing).await {
        Err(ClientError::UnknownSession(key)) => assert_eq!(key, "no-such-session"),
        other => panic!("expected UnknownSession, got {other:?}"),
    }
    server.shutdown().await;
}

/// Runs the built binary's `send` with `args`; returns its status, stdout and stderr.
async fn send(args: &[&str]) -> (i32, String, String) {
    run_cli("send", args).await
}

/// Runs the built binary's `subcommand` with `args` (no token in the environment, no input) until
/// it exits; returns its status, stdout and stderr.
async fn run_cli(subcommand: &str, args: &[&str]) -> (i32, String, String) {
    let child = tokio::process::Command::new(common::BIN)
        .arg(subcommand)
        .args(args)
        .env_remove("CODEX_WEBCHAT_TOKEN")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, child)
        .await
        .unwrap_or_else(|_| panic!("{subcommand} did not end within 90 s"))
        .unwrap();
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_prints_the_run_and_exits_with_its_outcome() {
    let dir = common::data_dir("client-send");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let url = format!("http://{}", server.addr);
    let key = server.gateway.create_session().unwrap().key;

    // Completed: the reply, then the shell card's summary line.
    let (code, out, err) =
        send(&["--url", &url, "--session", key.as_str(), "hello", "there"]).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "Echo: hello there\n"),
        "stderr: {err}"
    );
    let (code, out, err) =
        send(&["--url", &url, "--session", key.as_str(), "/shell echo hi"]).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.starts_with("[shell] echo hi → exit 0\n"), "{out}");

    // Usage errors: one line on stderr, status 2.
    let (code, out, err) = send(&["--url", &url, "--session", "no-such-session", "hi"]).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, "codex-webchat: unknown session no-such-session\n");
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = send(&["--url", &nowhere, "--session", key.as_str(), "hi"]).await;
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!(
            "codex-webchat: cannot reach the server at {nowhere}"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, _) = send(&["--url", &url, "--session", key.as_str(), " "]).await;
    assert_eq!(code, 2, "an empty message is bad usage");

    // Interrupted: stopped once its run has started.
    let mut hub = server.gateway.subscribe(&key);
    let child = tokio::process::Command::new(common::BIN)
        .args([
            "send",
            "--url",
            &url,
            "--session",
            key.as_str(),
            "/stream 200 200",
        ])
        .env_remove("CODEX_WEBCHAT_TOKEN")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = hub.recv().await.expect("hub open");
            if matches!(event.body, EventBody::RunStarted { .. }) {
                return;
            }
        }
    })
    .await
    .expect("the run started");
    let endpoint = endpoint_at(server.addr);
    assert!(http::stop(&endpoint, &key).await.unwrap());
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("send ended after the stop")
        .unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("[run interrupted]\n"));

    server.shutdown().await;
}

/// Runs the built binary's `tui` with `args` when it must fail before taking the terminal: its
/// status, stdout and stderr.
async fn tui_refused(args: &[&str]) -> (i32, String, String) {
    run_cli("tui", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_says_in_one_line_why_it_cannot_start_and_never_takes_the_terminal() {
    let dir = common::data_dir("client-tui-refused");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let url = format!("http://{}", server.addr);

    let (code, out, err) = tui_refused(&["--url", &url, "--session", "no-such-session"]).await;
    assert_eq!((code, out.as_str()), (2, ""), "nothing drawn: {err}");
    assert_eq!(err, "codex-webchat: unknown session no-such-session\n");

    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let (code, out, err) = tui_refused(&["--url", &nowhere]).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(&format!(
            "codex-webchat: cannot reach the server at {nowhere}"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let (code, _, err) = tui_refused(&["--url", "ftp://example"]).await;
    assert_eq!(code, 2, "bad usage: {err}");
    server.shutdown().await;
}

/// Presses `code` (with `modifiers`) in the terminal client's app.
fn key_in(app: &mut codex_webchat::tui::app::App, code: KeyCode, modifiers: KeyModifiers) {
    app.key(KeyEvent::new(code, modifiers));
}

/// Carries out the app's pending request as the terminal loop does (the real HTTP calls, the
/// real handling of their answer); what the connection must do then.
async fn carry(endpoint: &Endpoint, app: &mut codex_webchat::tui::app::App) -> Vec<Command> {
    let request = app.take_request().expect("the keys asked for a request");
    let failed = request.failure();
    let done = codex_webchat::tui::start::carry_out(endpoint.clone(), request).await;
    codex_webchat::tui::settle(app, failed, done)
}

/// Feeds the live socket's updates to the app until the pushed session list satisfies `done`.
async fn until_list(
    live: &mut Live,
    app: &mut codex_webchat::tui::app::App,
    done: impl Fn(&[app::wire::SessionSummary]) -> bool,
) {
    loop {
        let update = next(live).await;
        let list = match &update {
            Update::Sessions(list) => Some(list.clone()),
            _ => None,
        };
        app.update(update);
        if list.is_some_and(|l| done(&l)) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_picker_renames_archives_and_deletes_through_the_real_api() {
    use codex_webchat::tui::app::{App, Request};

    let dir = common::data_dir("client-tui-organise");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let endpoint = endpoint_at(local(&server));
    let older = http::create_session(&endpoint).await.unwrap();
    let shown = http::create_session(&endpoint).await.unwrap();
    let mut live = Live::start_with(endpoint.clone(), quick());
    assert_eq!(next(&mut live).await, Update::Connected);
    let mut app = App::new(endpoint.base_url.clone(), Some(shown.key.clone()));
    app.update(Update::Sessions(http::sessions(&endpoint).await.unwrap()));
    key_in(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    let selected = |app: &App| app.sessions()[app.picker().unwrap().row()].key.clone();
    assert_eq!(selected(&app), shown.key);

    // r: the title replaced, Enter saves; the pushed list shows it.
    key_in(&mut app, KeyCode::Char('r'), KeyModifiers::NONE);
    for _ in shown.title.chars() {
        key_in(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    }
    for c in "Renamed   from a terminal".chars() {
        key_in(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(app.error(), None);
    let title_is = |key: &SessionKey, title: &'static str| {
        let key = key.clone();
        move |l: &[app::wire::SessionSummary]| l.iter().any(|s| s.key == key && s.title == title)
    };
    until_list(
        &mut live,
        &mut app,
        title_is(&shown.key, "Renamed from a terminal"),
    )
    .await;
    assert_eq!(
        http::session(&endpoint, &shown.key).await.unwrap().title,
        "Renamed from a terminal"
    );

    // a: archived, then a again: back (the app knows which from the pushed list).
    for archived in [true, false] {
        assert_eq!(
            selected(&app),
            shown.key,
            "the selection follows its session"
        );
        key_in(&mut app, KeyCode::Char('a'), KeyModifiers::NONE);
        assert!(carry(&endpoint, &mut app).await.is_empty());
        let key = shown.key.clone();
        until_list(&mut live, &mut app, move |l| {
            l.iter().any(|s| s.key == key && s.archived == archived)
        })
        .await;
        assert_eq!(
            http::session(&endpoint, &shown.key).await.unwrap().archived,
            archived
        );
    }

    // A title the server refuses: its words on the error line, nothing changed.
    key_in(&mut app, KeyCode::Char('r'), KeyModifiers::NONE);
    for _ in 0..3 {
        key_in(&mut app, KeyCode::Char('x'), KeyModifiers::NONE);
    }
    app.paste(&"y".repeat(200));
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    let error = app.error().expect("the refusal is shown").to_owned();
    assert!(
        error.starts_with("Could not rename the session: the server answered 400: A title has at most 200 characters."),
        "{error}"
    );
    assert_eq!(
        http::session(&endpoint, &shown.key).await.unwrap().title,
        "Renamed from a terminal"
    );

    // d, n: nothing; d, y: deleted, and the shown session gives way to the newest remaining.
    key_in(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    key_in(&mut app, KeyCode::Char('n'), KeyModifiers::NONE);
    assert_eq!(app.take_request(), None);
    key_in(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    key_in(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(
        carry(&endpoint, &mut app).await,
        vec![Command::Open {
            session: older.key.clone(),
            recent: codex_webchat::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.error(), None);
    assert_eq!(app.session(), Some(&older.key));
    let gone = shown.key.clone();
    until_list(&mut live, &mut app, move |l| {
        l.iter().all(|s| s.key != gone)
    })
    .await;
    assert!(matches!(
        http::session(&endpoint, &shown.key).await,
        Err(ClientError::UnknownSession(_))
    ));

    // The last one: deleted, a new session is asked for, and it opens.
    assert_eq!(selected(&app), older.key);
    key_in(&mut app, KeyCode::Char('d'), KeyModifiers::NONE);
    key_in(&mut app, KeyCode::Char('y'), KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(app.session(), None);
    assert_eq!(app.take_request(), Some(Request::NewSession));
    let created = codex_webchat::tui::start::carry_out(endpoint.clone(), Request::NewSession)
        .await
        .unwrap();
    let out = codex_webchat::tui::settle(&mut app, "", Ok(created));
    let Some(Command::Open { session: new, .. }) = out.first() else {
        panic!("the new session is not followed: {out:?}");
    };
    assert_eq!(app.session(), Some(new));
    assert_eq!(
        http::sessions(&endpoint).await.unwrap().len(),
        1,
        "only the new session is left"
    );
    live.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_screen_finds_a_word_sent_in_another_session_and_opens_it() {
    use codex_webchat::tui::app::App;
    use codex_webchat::tui::finder::Results;
    use codex_webchat::tui::lookup::Lookup;

    let dir = common::data_dir("client-tui-search");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let endpoint = endpoint_at(local(&server));
    let elsewhere = http::create_session(&endpoint).await.unwrap();
    let shown = http::create_session(&endpoint).await.unwrap();
    common::turn(
        &server,
        &elsewhere.key,
        "c-search",
        "the zanzibar plan for May",
    )
    .await;

    let mut app = App::new(endpoint.base_url.clone(), Some(shown.key.clone()));
    app.update(Update::Sessions(http::sessions(&endpoint).await.unwrap()));
    key_in(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    // Two words: the space travels encoded, and both must match.
    for c in "zanzibar plan".chars() {
        key_in(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(app.error(), None);
    let results = |app: &App| match app.lookup() {
        Some(Lookup::Search(finder)) => finder.results().clone(),
        other => panic!("the search screen is not open: {other:?}"),
    };
    let Results::Found { query, hits } = results(&app) else {
        panic!("no hits: {:?}", results(&app));
    };
    assert_eq!(query, "zanzibar plan");
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h.session == elsewhere.key),
        "only the other session holds the words: {hits:?}"
    );
    let first = &hits[0];
    let titled = http::session(&endpoint, &elsewhere.key)
        .await
        .unwrap()
        .title;
    assert_eq!(first.title, titled);
    assert!(
        first
            .snippet
            .iter()
            .any(|s| s.hit && s.text.eq_ignore_ascii_case("zanzibar")),
        "{first:?}"
    );

    // Enter on the chosen hit opens its session from the start.
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(app.take_request(), None);
    assert_eq!(app.session(), Some(&elsewhere.key));
    assert!(app.lookup().is_none());

    // More than 200 characters: the server's refusal is the search screen's error line.
    key_in(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    app.paste(&"z".repeat(201));
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(
        results(&app),
        Results::Failed(
            "Could not search: the server answered 400: A search has at most 200 characters."
                .into()
        )
    );
    // A word nobody sent: no hits.
    for _ in 0..201 {
        key_in(&mut app, KeyCode::Backspace, KeyModifiers::NONE);
    }
    for c in "qwxyzzy".chars() {
        key_in(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key_in(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(
        results(&app),
        Results::Found {
            query: "qwxyzzy".into(),
            hits: Vec::new()
        }
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codex_threads_screen_lists_every_session_with_a_turn_and_switches_to_one() {
    use codex_webchat::tui::app::{App, Request};
    use codex_webchat::tui::lookup::{Find, Lookup};
    use codex_webchat::tui::Done;

    let dir = common::data_dir("client-tui-threads");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let endpoint = endpoint_at(local(&server));
    let first = http::create_session(&endpoint).await.unwrap();
    let second = http::create_session(&endpoint).await.unwrap();
    let mut app = App::new(endpoint.base_url.clone(), Some(second.key.clone()));
    app.update(Update::Sessions(http::sessions(&endpoint).await.unwrap()));
    let listed = |app: &App| match app.lookup() {
        Some(Lookup::Threads(screen)) => screen.threads().map(<[_]>::to_vec),
        other => panic!("the Codex threads screen is not open: {other:?}"),
    };

    // No turn yet: Codex (once up; before, the list is a 503) has no thread to list.
    server
        .gateway
        .codex()
        .ready(WAIT)
        .await
        .expect("Codex is up");
    key_in(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(app.error(), None);
    assert_eq!(listed(&app), Some(Vec::new()));
    key_in(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert!(app.lookup().is_none());

    common::turn(&server, &first.key, "c-first", "hello first").await;
    common::turn(&server, &second.key, "c-second", "hello second").await;
    key_in(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL);
    assert!(carry(&endpoint, &mut app).await.is_empty());
    assert_eq!(app.error(), None);
    let threads = listed(&app).expect("the list arrived");
    for key in [&first.key, &second.key] {
        let thread = threads
            .iter()
            .find(|t| t.session.as_ref() == Some(key))
            .unwrap_or_else(|| panic!("{key}'s thread is not listed: {threads:?}"));
        assert_eq!(thread.workspace, "workspace", "{thread:?}");
        assert!(!thread.cwd.is_empty(), "{thread:?}");
    }
    let at = threads
        .iter()
        .position(|t| t.session.as_ref() == Some(&first.key))
        .unwrap();

    // Opening a thread that is open already leads to its session (the server says so too).
    let id = threads[at].id.clone();
    let opened = codex_webchat::tui::start::carry_out(
        endpoint.clone(),
        Request::Find(Find::OpenThread(id.clone())),
    )
    .await
    .unwrap();
    assert!(
        matches!(&opened, Done::Session(key) if *key == first.key),
        "{opened:?}"
    );
    // Not a thread id: the server's words, shown on the screen.
    let bad = Request::Find(Find::OpenThread("not a thread/id".into()));
    let failed = bad.failure();
    let done = codex_webchat::tui::start::carry_out(endpoint.clone(), bad).await;
    assert!(codex_webchat::tui::settle(&mut app, failed, done).is_empty());
    let error = app.error().expect("the refusal is shown").to_owned();
    assert!(
        error.starts_with("Could not open the Codex thread: the server answered 400: This Codex thread cannot be opened"),
        "{error}"
    );
    match app.lookup() {
        Some(Lookup::Threads(screen)) => assert_eq!(screen.error(), Some(error.as_str())),
        other => panic!("the screen closed: {other:?}"),
    }

    // Choosing the first session's thread switches to that session without asking the server.
    for _ in 0..at {
        key_in(&mut app, KeyCode::Down, KeyModifiers::NONE);
    }
    let out = app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        out,
        vec![Command::Open {
            session: first.key.clone(),
            recent: codex_webchat::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.take_request(), None);
    assert_eq!(app.session(), Some(&first.key));
    assert!(app.lookup().is_none());
    server.shutdown().await;
}
