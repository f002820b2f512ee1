//! Workspaces and models against the real, pinned `codex app-server` and the embedded demo model,
//! through the whole server:
//! - two sessions in two configured workspaces each run `/shell pwd` and get their own folder;
//! - the API creates sessions only in configured workspaces, by name: an unknown name or a path
//!   (even a configured workspace's) is a 400 listing the names, and nothing is created;
//! - `model/list` with the demo configuration lists the demo model alone (kept as the fixture
//!   `tests/fixtures/codex/models/demo-model-list.json`; rewritten with
//!   `CODEX_WEBCHAT_UPDATE_FIXTURES=1`), `GET /api/v1/models` and the page carry it;
//! - `PATCH` checks a model and effort against that list, and a chosen model and effort reach
//!   the model endpoint with the next turn, as does going back to the default (measured: Codex
//!   0.169 sends no `thread/settings/updated` for `turn/start` overrides, so the demo endpoint's
//!   received request is what shows it).

mod common;

use std::path::{Path, PathBuf};

use app::wire::{EventBody, SessionSummary};
use codex_webchat::gateway::workspace::{Workspace, WorkspaceName};
use codex_webchat::serve::{self, Running};
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/codex/models/demo-model-list.json"
);

fn workspace(name: &str, path: &Path) -> Workspace {
    Workspace {
        name: WorkspaceName::parse(name).unwrap(),
        path: path.canonicalize().unwrap(),
    }
}

async fn http(server: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let client = reqwest::Client::new();
    let url = format!("http://{}{path}", server.addr);
    let req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PATCH" => client.patch(url),
        other => panic!("{other}"),
    };
    let req = match body {
        Some(body) => req.json(&body),
        None => req,
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The output the demo model sent back for `/shell pwd`, one line.
fn pwd_reply(events: &[app::wire::Event]) -> String {
    let replies = common::replies(events);
    let tool_outputs: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::ToolFinished { output, .. } => Some(output.clone()),
            _ => None,
        })
        .collect();
    replies
        .iter()
        .chain(tool_outputs.iter())
        .flat_map(|t| t.lines())
        .map(str::trim)
        .find(|l| l.starts_with('/'))
        .unwrap_or_else(|| panic!("no path in {replies:?} / {tool_outputs:?}"))
        .to_owned()
}

#[tokio::test]
async fn two_sessions_in_two_workspaces_each_work_in_their_own_folder_and_a_path_is_never_taken() {
    let dir = common::data_dir("workspaces");
    let a = dir.path().join("alpha");
    let b = dir.path().join("beta");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let mut config = common::config(dir.path());
    config.workspaces = vec![workspace("alpha", &a), workspace("beta", &b)];
    let server = serve::start(config).await.unwrap();

    // By name only: unknown names and paths are refused, with the configured names.
    let before = server.gateway.sessions().unwrap().len();
    for asked in [
        "gamma",
        a.to_str().unwrap(),
        "../beta",
        "/etc",
        dir.path().to_str().unwrap(),
    ] {
        let (status, body) = http(
            &server,
            "POST",
            "/api/v1/sessions",
            Some(json!({ "workspace": asked })),
        )
        .await;
        assert_eq!(status, 400, "{asked}: {body}");
        assert!(body.contains("configured: alpha, beta"), "{asked}: {body}");
    }
    assert_eq!(server.gateway.sessions().unwrap().len(), before);

    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/sessions",
        Some(json!({ "workspace": "beta" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let in_b: SessionSummary = serde_json::from_str(&body).unwrap();
    assert_eq!(in_b.workspace, "beta");
    // No workspace: the default (first) one.
    let (status, body) = http(&server, "POST", "/api/v1/sessions", None).await;
    assert_eq!(status, 201, "{body}");
    let in_a: SessionSummary = serde_json::from_str(&body).unwrap();
    assert_eq!(in_a.workspace, "alpha");

    let events = common::turn(&server, &in_a.key, "pwd-a", "/shell pwd").await;
    assert_eq!(PathBuf::from(pwd_reply(&events)), a.canonicalize().unwrap());
    let events = common::turn(&server, &in_b.key, "pwd-b", "/shell pwd").await;
    assert_eq!(PathBuf::from(pwd_reply(&events)), b.canonicalize().unwrap());

    server.shutdown().await;
}

#[tokio::test]
async fn the_demo_model_lists_itself_and_a_chosen_model_and_effort_reach_the_next_turn() {
    let dir = common::data_dir("models");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let demo = server.demo_model().expect("demo mode");

    // The raw answer, kept as the fixture the parser's unit test reads.
    server
        .gateway
        .codex()
        .ready(std::time::Duration::from_secs(120))
        .await
        .unwrap();
    let raw = server
        .gateway
        .codex()
        .request("model/list", json!({}))
        .await
        .unwrap();
    if std::env::var_os("CODEX_WEBCHAT_UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(Path::new(FIXTURE).parent().unwrap()).unwrap();
        std::fs::write(FIXTURE, serde_json::to_string_pretty(&raw).unwrap() + "\n").unwrap();
    }
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    assert_eq!(
        codex_webchat::codex::models::parse_page(&raw).unwrap(),
        codex_webchat::codex::models::parse_page(&fixture).unwrap(),
        "model/list changed: {raw}"
    );

    let (status, body) = http(&server, "GET", "/api/v1/models", None).await;
    assert_eq!(status, 200, "{body}");
    let models: Vec<app::wire::ModelOption> = serde_json::from_str(&body).unwrap();
    assert_eq!(models.len(), 1, "{models:?}");
    let listed = &models[0];
    assert_eq!(listed.id, codex_webchat::demo_model::DEMO_MODEL_SLUG);
    assert!(listed.is_default);
    assert_eq!(listed.efforts, codex_webchat::demo_model::DEMO_EFFORTS);

    let session = server.gateway.create_session().unwrap();
    let key = session.key.clone();
    let path = format!("/api/v1/sessions/{key}");
    for (bad, says) in [
        (json!({"model": "gpt-nope"}), "unknown model"),
        (
            json!({"model": listed.id, "effort": "ultra"}),
            "not supported",
        ),
        (json!({"effort": "ultra"}), "not supported"),
    ] {
        let (status, body) = http(&server, "PATCH", &path, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains(says), "{bad}: {body}");
    }
    let stored = server.gateway.session(&key).unwrap();
    assert_eq!((stored.model, stored.effort), (None, None));

    let (status, body) = http(
        &server,
        "PATCH",
        &path,
        Some(json!({"model": listed.id, "effort": "high"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let patched: SessionSummary = serde_json::from_str(&body).unwrap();
    assert_eq!(patched.model.as_deref(), Some(listed.id.as_str()));
    assert_eq!(patched.effort.as_deref(), Some("high"));

    let asked_before = demo.models_asked().len();
    common::turn(&server, &key, "effort-high", "hello").await;
    let asked = demo.models_asked();
    assert!(asked.len() > asked_before, "no model request: {asked:?}");
    assert_eq!(
        asked[asked_before],
        (Some(listed.id.clone()), Some("high".to_owned())),
        "{asked:?}"
    );

    // The page carries the list and the names; the choice survives in the store.
    let page = app::api::PageSource::page(&server.gateway, &key, false, 1000, None).unwrap();
    assert_eq!(page.models, models);
    assert_eq!(page.workspaces, vec!["workspace"]);
    assert_eq!(page.session.effort.as_deref(), Some("high"));

    // null clears back to the default.
    let (status, body) = http(&server, "PATCH", &path, Some(json!({"effort": null}))).await;
    assert_eq!(status, 200, "{body}");
    let cleared: SessionSummary = serde_json::from_str(&body).unwrap();
    assert_eq!(cleared.effort, None);
    assert_eq!(cleared.model.as_deref(), Some(listed.id.as_str()));
    // Back to the default, and the next turn says so: Codex would otherwise keep "high".
    let asked_before = demo.models_asked().len();
    common::turn(&server, &key, "effort-default", "hello again").await;
    let asked = demo.models_asked();
    assert_eq!(
        asked.get(asked_before),
        Some(&(
            Some(listed.id.clone()),
            Some(codex_webchat::demo_model::DEMO_DEFAULT_EFFORT.to_owned())
        )),
        "{asked:?}"
    );

    server.shutdown().await;
}

/// A bad `[[workspaces]]` entry stops `serve` before anything starts: exit status 2 and one
/// line that names the entry and what is wrong.
#[tokio::test]
async fn a_workspace_that_does_not_exist_stops_the_server_with_one_line_and_status_2() {
    let dir = common::data_dir("workspaces-bad");
    let config = dir.path().join("config.toml");
    let missing = dir.path().join("no-such-folder");
    std::fs::write(
        &config,
        format!(
            "[[workspaces]]\nname = \"ok\"\npath = \".\"\n\n[[workspaces]]\nname = \"gone\"\npath = {:?}\n",
            missing.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(common::BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("CODEX_WEBCHAT_TOKEN")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
        .await
        .expect("serve did not exit")
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("workspaces[1] (gone)") && err.contains("does not exist"),
        "{err}"
    );
}

/// Regression: a workspace whose path changed between restarts must not resume the thread its
/// sessions started in the old folder; the session goes on in a fresh thread in the new one,
/// and a notice says why.
#[tokio::test]
async fn a_workspace_moved_between_restarts_starts_a_fresh_thread_there_with_a_notice() {
    let dir = common::data_dir("workspaces-moved");
    let old = dir.path().join("old");
    let new = dir.path().join("new");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    let mut config = common::config(dir.path());
    config.workspaces = vec![workspace("proj", &old)];
    let server = serve::start(config.clone()).await.unwrap();
    let session = server.gateway.create_session().unwrap();
    let events = common::turn(&server, &session.key, "before", "/shell pwd").await;
    assert_eq!(
        PathBuf::from(pwd_reply(&events)),
        old.canonicalize().unwrap()
    );
    server.shutdown().await;

    config.workspaces = vec![workspace("proj", &new)];
    let server = serve::start(config).await.unwrap();
    let events = common::turn(&server, &session.key, "after", "/shell pwd").await;
    assert_eq!(
        PathBuf::from(pwd_reply(&events)),
        new.canonicalize().unwrap()
    );
    let notices = common::notices(&events);
    assert!(
        notices.iter().any(|n| n.contains("new thread")
            && n.contains(new.canonicalize().unwrap().to_str().unwrap())),
        "{notices:?}"
    );
    server.shutdown().await;
}
