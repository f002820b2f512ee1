//! The crash matrix: the real server binary, with the real Codex and the demo model, is killed
//! with SIGKILL at each step of a turn, restarted on the same data folder, and its transcript is
//! checked: everything a client was shown before the kill is still there, every reply exactly
//! once, the interrupted run is closed with a notice, and the next message gets its reply.
//!
//! Steps a test cannot hit from outside (between storing a reply and answering Codex) are crash
//! points compiled into the test build (`fault-injection`, see `src/fault.rs`) and chosen with
//! `CODEX_WEBCHAT_FAULT`; the others are a SIGKILL sent by the test when the WebSocket shows the
//! step was reached.

mod common;

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use app::wire::{ClientFrame, Event, EventBody, RunOutcome, Seq, ServerFrame, SessionKey};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const STEP: Duration = Duration::from_secs(90);
const RESTARTED: &str = "the server restarted while this run was in progress";

/// One server process on a data folder.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts the binary and waits until it accepts connections. `fault` names a crash point.
    async fn spawn(dir: &Path, fault: Option<&str>) -> Server {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        // Codex starts a shell and the relay command for every hooked call and fails open when
        // that takes too long: a hook timeout no busy machine reaches.
        let config = dir.join("test-config.toml");
        std::fs::write(&config, "hook_timeout_secs = 60\n").unwrap();
        let mut cmd = Command::new(common::BIN);
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir)
            .arg("--codex-bin")
            .arg(common::codex_bin())
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env("CODEX_WEBCHAT_LOG", "info")
            .env_remove(codex_webchat::fault::FAULT_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(point) = fault {
            assert!(codex_webchat::fault::POINTS.contains(&point), "{point}");
            cmd.env(codex_webchat::fault::FAULT_ENV, point);
        }
        let mut child = cmd.spawn().expect("spawn the server binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(STEP, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if line.contains("listening on http://") {
                    return;
                }
            }
            panic!("the server exited before listening; see {}", dir.display());
        })
        .await
        .expect("the server did not start listening in time");
        Server { child, port }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request on a fresh connection; returns the body.
    async fn http(&self, method: &str, path: &str) -> String {
        let mut tcp = tokio::net::TcpStream::connect(self.addr()).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {a}\r\nOrigin: http://{a}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            a = self.addr()
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        tcp.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8(buf).expect("UTF-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 2"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("chunked"),
            "expected a sized body: {head}"
        );
        body.to_owned()
    }

    async fn create_session(&self) -> SessionKey {
        let body = self.http("POST", "/api/v1/sessions").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        SessionKey::parse(v["key"].as_str().expect("key")).unwrap()
    }

    async fn events(&self, key: &SessionKey) -> Vec<Event> {
        let body = self
            .http("GET", &format!("/api/v1/sessions/{key}/events?limit=10000"))
            .await;
        serde_json::from_str(&body).unwrap()
    }

    async fn connect(&self, key: &SessionKey, after: Seq) -> Ws {
        let mut req = format!("ws://{}/ws", self.addr())
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("origin", format!("http://{}", self.addr()).parse().unwrap());
        let mut ws = tokio_tungstenite::connect_async(req).await.unwrap().0;
        send_frame(
            &mut ws,
            &ClientFrame::Subscribe {
                session: key.clone(),
                after,
                recent: None,
            },
        )
        .await;
        ws
    }

    /// SIGKILL, and wait until the process is gone.
    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("wait");
    }

    /// Waits for the process to kill itself at its crash point.
    async fn died_at_fault_point(mut self) {
        let status = tokio::time::timeout(STEP, self.child.wait())
            .await
            .expect("the server did not reach its crash point in time")
            .expect("wait");
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    }

    async fn stop(mut self) {
        // SAFETY: kill(2) on the pid of our own child has no memory effects.
        if let Some(pid) = self.child.id() {
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        let _ = tokio::time::timeout(STEP, self.child.wait()).await;
    }
}

async fn send_frame(ws: &mut Ws, frame: &ClientFrame) {
    let text = serde_json::to_string(frame).unwrap();
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// The next event of `key`, or `None` when the socket closed (the server died).
async fn next_event(ws: &mut Ws, key: &SessionKey) -> Option<Event> {
    loop {
        let msg = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("no frame in time");
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => continue,
        };
        if let Ok(ServerFrame::Event { session, event }) = serde_json::from_str(text.as_str()) {
            assert_eq!(&session, key);
            return Some(event);
        }
    }
}

/// Where to kill the server.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// A crash point inside the server.
    Point(&'static str),
    /// After this many streamed text appends were shown.
    Streamed(usize),
    /// When a shell tool card was shown.
    ShellStarted,
    /// After the run finished.
    RunFinished,
}

/// Runs `text` on a fresh server, kills it at `at`, restarts it on the same folder, and checks
/// the transcript. Returns the transcript after the restart (before the next message).
async fn crash_and_recover(label: &str, text: &str, at: KillAt) -> Vec<Event> {
    let dir = common::data_dir(label);
    let fault = match at {
        KillAt::Point(p) => Some(p),
        _ => None,
    };
    let server = Server::spawn(dir.path(), fault).await;
    let key = server.create_session().await;
    let mut ws = server.connect(&key, Seq::ZERO).await;
    send_frame(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-1".into(),
            text: text.into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;

    // Everything shown before the kill, by sequence number.
    let mut shown: Vec<Event> = Vec::new();
    let mut appends = 0;
    loop {
        let Some(event) = next_event(&mut ws, &key).await else {
            assert!(matches!(at, KillAt::Point(_)), "the server died on its own");
            break;
        };
        let reached = match (&event.body, at) {
            (EventBody::TextAppend { .. }, KillAt::Streamed(n)) => {
                appends += 1;
                appends >= n
            }
            (EventBody::ToolStarted { tool, .. }, KillAt::ShellStarted) => tool == "shell",
            (EventBody::RunFinished { .. }, KillAt::RunFinished) => true,
            (EventBody::RunFinished { .. }, _) => {
                panic!("the run ended before the kill: {shown:#?}")
            }
            _ => false,
        };
        shown.push(event);
        if reached {
            break;
        }
    }
    match at {
        KillAt::Point(_) => server.died_at_fault_point().await,
        _ => server.kill().await,
    }

    let server = Server::spawn(dir.path(), None).await;
    let stored = server.events(&key).await;
    let by_seq: HashMap<Seq, &Event> = stored.iter().map(|e| (e.seq, e)).collect();
    for event in &shown {
        assert_eq!(
            by_seq.get(&event.seq).copied(),
            Some(event),
            "shown before the kill, changed or gone after it"
        );
    }
    let seqs: Vec<u64> = stored.iter().map(|e| e.seq.0).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "gap-free and once"
    );
    let mut replies: Vec<&str> = stored
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::AssistantMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let before = replies.len();
    replies.sort_unstable();
    replies.dedup();
    assert_eq!(
        replies.len(),
        before,
        "a reply is stored twice: {stored:#?}"
    );
    // Every run that started is closed exactly once.
    let started = stored
        .iter()
        .filter(|e| matches!(e.body, EventBody::RunStarted { .. }))
        .count();
    let finished: Vec<(RunOutcome, Option<String>)> = stored
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::RunFinished { outcome, error, .. } => Some((*outcome, error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(started, 1, "{stored:#?}");
    let expected = match at {
        KillAt::RunFinished => (RunOutcome::Completed, None),
        _ => (RunOutcome::Interrupted, Some(RESTARTED.to_owned())),
    };
    assert_eq!(finished, vec![expected], "{stored:#?}");

    // The session goes on.
    let last = stored.last().map(|e| e.seq).unwrap_or(Seq::ZERO);
    let mut ws = server.connect(&key, last).await;
    send_frame(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-2".into(),
            text: "after the restart".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    let mut next_replies = Vec::new();
    loop {
        let event = next_event(&mut ws, &key)
            .await
            .expect("the server stays up");
        match event.body {
            EventBody::AssistantMessage { text, .. } => next_replies.push(text),
            EventBody::RunFinished { outcome, error, .. } => {
                assert_eq!((outcome, error), (RunOutcome::Completed, None));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(next_replies, vec!["Echo: after the restart".to_owned()]);
    server.stop().await;
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_user_message_and_run_are_stored() {
    let stored = crash_and_recover(
        "crash-stored",
        "stored then killed",
        KillAt::Point("after-run-recorded"),
    )
    .await;
    assert!(stored.iter().any(|e| matches!(&e.body,
        EventBody::UserMessage { text, .. } if text == "stored then killed")));
    assert!(common::replies(&stored).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_streaming() {
    let stored = crash_and_recover("crash-stream", "/stream 40 50", KillAt::Streamed(3)).await;
    assert!(
        stored
            .iter()
            .filter(|e| matches!(e.body, EventBody::TextAppend { .. }))
            .count()
            >= 3
    );
    assert!(common::replies(&stored).is_empty(), "{stored:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_a_message_tool_call_before_the_mirror_is_written() {
    let stored = crash_and_recover(
        "crash-before-mirror",
        "before the mirror",
        KillAt::Point("message-tool-before-mirror"),
    )
    .await;
    assert!(common::replies(&stored).is_empty(), "{stored:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_a_message_tool_call_after_the_mirror_is_written() {
    let stored = crash_and_recover(
        "crash-after-mirror",
        "after the mirror",
        KillAt::Point("message-tool-after-mirror"),
    )
    .await;
    assert_eq!(
        common::replies(&stored),
        vec!["Echo: after the mirror".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_a_shell_call() {
    let stored = crash_and_recover("crash-shell", "/shell sleep 15", KillAt::ShellStarted).await;
    assert!(stored.iter().any(|e| matches!(&e.body,
        EventBody::ToolStarted { tool, .. } if tool == "shell")));
    assert!(common::replies(&stored).is_empty(), "{stored:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_turn_completed() {
    let stored = crash_and_recover("crash-completed", "all done", KillAt::RunFinished).await;
    assert_eq!(common::replies(&stored), vec!["Echo: all done".to_owned()]);
}

/// Sends `text` on `ws` and waits for the run's end; returns its replies.
async fn answered(ws: &mut Ws, key: &SessionKey, client_id: &str, text: &str) -> Vec<String> {
    send_frame(
        ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: client_id.into(),
            text: text.into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    let mut replies = Vec::new();
    loop {
        let event = next_event(ws, key).await.expect("the server stays up");
        match event.body {
            EventBody::AssistantMessage { text, .. } => replies.push(text),
            EventBody::RunFinished { outcome, .. } => {
                assert_eq!(outcome, RunOutcome::Completed);
                return replies;
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_storing_a_message_and_starting_its_run_leaves_a_notice() {
    let dir = common::data_dir("crash-unrun");
    let server = Server::spawn(dir.path(), Some("after-message-stored")).await;
    let key = server.create_session().await;
    let mut ws = server.connect(&key, Seq::ZERO).await;
    send_frame(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-1".into(),
            text: "never run".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    server.died_at_fault_point().await;

    let server = Server::spawn(dir.path(), None).await;
    let stored = server.events(&key).await;
    assert!(stored
        .iter()
        .any(|e| matches!(&e.body, EventBody::UserMessage { text, .. } if text == "never run")));
    assert!(!stored
        .iter()
        .any(|e| matches!(e.body, EventBody::RunStarted { .. })));
    assert_eq!(
        common::notices(&stored),
        vec!["1 message was not run because the server stopped before its turn came. Send it again to run it.".to_owned()]
    );
    let last = stored.last().map(|e| e.seq).unwrap_or(Seq::ZERO);
    let mut ws = server.connect(&key, last).await;
    assert_eq!(
        answered(&mut ws, &key, "c-2", "after the restart").await,
        vec!["Echo: after the restart".to_owned()]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_behind_a_killed_run_is_not_silently_lost() {
    let dir = common::data_dir("crash-queued");
    let server = Server::spawn(dir.path(), None).await;
    let key = server.create_session().await;
    let mut ws = server.connect(&key, Seq::ZERO).await;
    send_frame(
        &mut ws,
        &ClientFrame::Send {
            session: key.clone(),
            client_id: "c-1".into(),
            text: "/stream 40 50".into(),
            source: Default::default(),
            steer: false,
            images: Vec::new(),
        },
    )
    .await;
    // Queue a second message once the first run is streaming, then kill the server.
    let mut appends = 0;
    let mut queued = false;
    while appends < 3 {
        let event = next_event(&mut ws, &key).await.expect("the server is up");
        match event.body {
            EventBody::TextAppend { .. } => {
                appends += 1;
                if !queued {
                    queued = true;
                    send_frame(
                        &mut ws,
                        &ClientFrame::Send {
                            session: key.clone(),
                            client_id: "c-2".into(),
                            text: "queued then killed".into(),
                            source: Default::default(),
                            steer: false,
                            images: Vec::new(),
                        },
                    )
                    .await;
                }
            }
            EventBody::RunFinished { .. } => panic!("the run ended before the kill"),
            _ => {}
        }
    }
    server.kill().await;

    let server = Server::spawn(dir.path(), None).await;
    let stored = server.events(&key).await;
    assert!(stored.iter().any(
        |e| matches!(&e.body, EventBody::UserMessage { text, .. } if text == "queued then killed")
    ));
    assert_eq!(
        common::notices(&stored),
        vec!["1 message was not run because the server stopped before its turn came. Send it again to run it.".to_owned()],
        "{stored:#?}"
    );
    let last = stored.last().map(|e| e.seq).unwrap_or(Seq::ZERO);
    let mut ws = server.connect(&key, last).await;
    assert_eq!(
        answered(&mut ws, &key, "c-3", "/say still here").await,
        vec!["still here".to_owned()]
    );
    server.stop().await;
}
