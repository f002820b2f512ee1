//! Shared set-up for the integration tests that run a whole server in-process with the real
//! Codex binary and the demo model.
#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::wire::{Event, EventBody, Seq, SessionKey};
use codex_webchat::config::{Config, ModelMode};
use codex_webchat::serve::Running;

/// The server binary, which Codex runs as the hook command (the test harness is not it).
pub const BIN: &str = env!("CARGO_BIN_EXE_codex-webchat");

/// The real, pinned Codex binary. A missing binary fails the test: it is never skipped.
pub fn codex_bin() -> PathBuf {
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

/// A data folder under the target directory: Codex refuses some set-up under /tmp.
pub fn data_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// The watchdog's limit in [`config`]: far beyond any gap a busy machine puts into a healthy turn.
pub const TURN_STALL: Duration = Duration::from_secs(120);
/// How long Codex may leave a request unanswered in [`config`] (a restarted process's start-up
/// included): far beyond what a busy machine needs.
pub const CODEX_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Demo model, real Codex, loopback on a free port, no deny rules.
pub fn config(data_dir: &Path) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        model: ModelMode::Demo,
        codex_bin: codex_bin(),
        codex_home: Some(data_dir.join("codex-home")),
        site_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")),
        sandbox: "danger-full-access".to_owned(),
        // The product's default: tests run what a new user gets.
        default_mode: app::wire::Mode::Auto,
        turn_stall: TURN_STALL,
        codex_request_timeout: CODEX_REQUEST_TIMEOUT,
        // Codex starts a shell and the relay command in it for every hooked tool call; a busy
        // machine must not turn that into a hook timeout (Codex fails open on those).
        hook_timeout_secs: 60,
        hook_exe: Some(PathBuf::from(BIN)),
        deny_rules: Vec::new(),
        auth: Default::default(),
        channels: Default::default(),
        schedules: Vec::new(),
        workspaces: Vec::new(),
    }
}

/// Sends `text` and waits (bounded) for its run to finish; returns the events after the send.
pub async fn turn(server: &Running, key: &SessionKey, client_id: &str, text: &str) -> Vec<Event> {
    let after = server.gateway.store().last_seq(key).unwrap();
    let mut live = server.gateway.subscribe(key);
    server.gateway.send(key, client_id, text).unwrap();
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

/// Waits (bounded: 90 s) for the first event after `after` that `pick` accepts; `what` names it
/// in the failure.
pub async fn wait_for<T>(
    server: &Running,
    key: &SessionKey,
    after: Seq,
    what: &str,
    pick: impl Fn(&Event) -> Option<T>,
) -> T {
    let mut live = server.gateway.subscribe(key);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let events = server.gateway.events_after(key, after, 10_000).unwrap();
        if let Some(found) = events.iter().find_map(&pick) {
            return found;
        }
        tokio::time::timeout_at(deadline, live.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 90 s: {events:#?}"))
            .expect("hub closed");
    }
}

/// The texts of the visible replies in `events`.
pub fn replies(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::AssistantMessage { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The texts of the notices in `events`.
pub fn notices(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Notice { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The `message` dynamic tool as the gateway gives it to a thread, for tests that drive Codex
/// directly.
pub fn message_tool() -> serde_json::Value {
    serde_json::json!({
        "name": "message",
        "description": "Send a message to the chat user.",
        "inputSchema": {
            "type": "object",
            "properties": {"action": {"type": "string", "enum": ["send"]},
                           "message": {"type": "string"}},
            "required": ["action", "message"],
            "additionalProperties": false
        }
    })
}

/// The real Codex on the demo model, driven directly (no gateway): its own `CODEX_HOME` with a
/// `config.toml` pointing at the demo model and a `work` folder as the default cwd.
pub struct RealCodex {
    pub model: codex_webchat::demo_model::DemoModel,
    pub codex: codex_webchat::codex::Codex,
    pub events: tokio::sync::mpsc::UnboundedReceiver<codex_webchat::codex::SupervisorEvent>,
    pub home: tempfile::TempDir,
}

impl RealCodex {
    /// How long starting and stopping may take: far over what a busy machine needs.
    const WAIT: Duration = Duration::from_secs(120);

    /// Starts the demo model and Codex (`CODEX_HOME` named after `prefix`, with `extra_env`).
    pub async fn launch(prefix: &str, extra_env: Vec<(String, String)>) -> RealCodex {
        use codex_webchat::codex::{Codex, CodexOptions};
        use codex_webchat::demo_model::{codex_config_toml, DemoModel};

        let model = DemoModel::start().await.expect("demo model");
        // Not under /tmp: Codex refuses some set-up in temporary folders (and a workspace-write
        // sandbox leaves /tmp writable, so a test's "outside" folder must not be there either).
        let home = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("CODEX_HOME");
        // The thread's own defaults are the most permissive; a test's turns may override them.
        let config = codex_config_toml(&model.base_url(), "danger-full-access");
        std::fs::write(home.path().join("config.toml"), config).expect("config.toml");
        std::fs::create_dir(home.path().join("work")).expect("work dir");
        let mut opts = CodexOptions::new(
            codex_bin(),
            home.path().to_path_buf(),
            home.path().join("work"),
        );
        opts.extra_env = extra_env;
        // Past this Codex counts as frozen and is killed: far over what a busy machine needs.
        opts.request_timeout = Self::WAIT;
        let (codex, events) = Codex::start(opts);
        codex.ready(Self::WAIT).await.expect("codex ready");
        RealCodex {
            model,
            codex,
            events,
            home,
        }
    }

    /// Codex's default cwd.
    pub fn work(&self) -> PathBuf {
        self.home.path().join("work")
    }

    pub async fn stop(self) {
        tokio::time::timeout(Self::WAIT, self.codex.shutdown())
            .await
            .expect("codex stops");
        self.model.shutdown().await;
    }
}
