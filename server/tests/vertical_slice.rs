//! The vertical slice against the real Codex binary and the embedded demo model: a send runs a
//! turn on a real app-server thread, the `message` tool reply is mirrored into the store before the
//! run ends, the final prose is private, and a restarted server resumes the same thread.

use std::path::PathBuf;
use std::time::Duration;

use app::wire::{Event, EventBody, RunOutcome, Seq, SessionKey};
use codex_webchat::config::{Config, ModelMode};
use codex_webchat::serve::{self, Running};

fn codex_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CODEX_WEBCHAT_CODEX_BIN") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .join(codex_webchat::config::BUNDLED_CODEX);
    assert!(
        p.is_file(),
        "the real codex binary is missing at {} (run scripts/setup.sh)",
        p.display()
    );
    p
}

fn config(data_dir: PathBuf) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        codex_home: Some(data_dir.join("codex-home")),
        data_dir,
        model: ModelMode::Demo,
        codex_bin: codex_bin(),
        site_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")),
        sandbox: "danger-full-access".to_owned(),
        turn_stall: Duration::from_secs(120),
        hook_timeout_secs: 10,
        // The test harness is not the server binary; Codex must run the real one as the hook.
        hook_exe: Some(PathBuf::from(env!("CARGO_BIN_EXE_codex-webchat"))),
        deny_rules: Vec::new(),
    }
}

fn data_dir() -> tempfile::TempDir {
    // Not under /tmp: Codex refuses some set-up in temporary folders.
    tempfile::Builder::new()
        .prefix("vertical-slice")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// Waits (bounded) until the session's run that started after `after` has finished, and returns
/// every event after `after`.
async fn run_to_end(server: &Running, key: &SessionKey, after: Seq) -> Vec<Event> {
    let mut live = server.gateway.subscribe(key);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let events = server.gateway.events_after(key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            return events;
        }
        tokio::time::timeout_at(deadline, live.recv())
            .await
            .expect("the run did not finish within 90 s")
            .expect("hub closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webchat_send_is_answered_through_the_message_tool_and_mirrored() {
    let dir = data_dir();
    let server = serve::start(config(dir.path().to_owned())).await.unwrap();
    let session = server.gateway.create_session().unwrap();
    let out = server
        .gateway
        .send(&session.key, "client-1", "hello codex")
        .unwrap();
    assert!(!out.duplicate);
    let events = run_to_end(&server, &session.key, Seq::ZERO).await;

    let outcome = events.iter().find_map(|e| match &e.body {
        EventBody::RunFinished { outcome, error, .. } => Some((*outcome, error.clone())),
        _ => None,
    });
    assert_eq!(outcome, Some((RunOutcome::Completed, None)), "{events:#?}");

    let replies: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::AssistantMessage { .. }))
        .collect();
    assert_eq!(replies.len(), 1, "{events:#?}");
    match &replies[0].body {
        EventBody::AssistantMessage { text, html, .. } => {
            assert_eq!(text, "Echo: hello codex");
            assert!(html.as_deref().unwrap_or("").contains("Echo: hello codex"));
        }
        _ => unreachable!(),
    }
    assert!(!replies[0].private);

    // The final prose is private and says `done`.
    let prose: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::TextDone { text, .. } if text == "done"))
        .collect();
    assert_eq!(prose.len(), 1, "{events:#?}");
    assert!(prose[0].private);

    // The mirror is in the store before the run ended, and exactly once.
    let finished_at = events
        .iter()
        .position(|e| matches!(e.body, EventBody::RunFinished { .. }))
        .unwrap();
    let mirror_at = events
        .iter()
        .position(|e| matches!(e.body, EventBody::AssistantMessage { .. }))
        .unwrap();
    assert!(mirror_at < finished_at);

    // A retried send with the same client id is stored once and starts nothing.
    let again = server
        .gateway
        .send(&session.key, "client-1", "hello codex")
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.seq, out.seq);

    let thread_before = server
        .gateway
        .store()
        .binding(&session.key)
        .unwrap()
        .expect("a thread binding")
        .thread_id;
    server.shutdown().await;

    // A restarted server resumes the same thread and answers again.
    let server = serve::start(config(dir.path().to_owned())).await.unwrap();
    let last = server.gateway.store().last_seq(&session.key).unwrap();
    server
        .gateway
        .send(&session.key, "client-2", "/say again")
        .unwrap();
    let events = run_to_end(&server, &session.key, last).await;
    assert!(
        events.iter().any(
            |e| matches!(&e.body, EventBody::AssistantMessage { text, .. } if text == "again")
        ),
        "{events:#?}"
    );
    let thread_after = server
        .gateway
        .store()
        .binding(&session.key)
        .unwrap()
        .expect("a thread binding")
        .thread_id;
    assert_eq!(thread_before, thread_after, "the thread was not resumed");
    server.shutdown().await;
}
