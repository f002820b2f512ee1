//! The model list against the in-process fake app-server on tokio's paused clock: asked once
//! per Codex process (after its `Ready`, paged through `nextCursor`), shared by whoever asks
//! meanwhile, and asked again by the process a restart brings up.

// Shared with the fault tests, which use more of it.
#[allow(dead_code)]
#[path = "support/fake_app_server.rs"]
mod fake_app_server;
#[path = "support/fake_core.rs"]
mod fake_core;

use fake_app_server::paused_gateway;

/// Both pages of one listing: the fake answers the first `model/list` with an empty page and
/// a cursor, the second with its model.
const PAGES: usize = 2;

#[tokio::test(start_paused = true)]
async fn the_model_list_is_asked_once_per_codex_process_and_again_after_a_restart() {
    let (gateway, fake) = paused_gateway();
    // Codex's `Ready` starts the listing; a caller meanwhile shares it.
    fake.requested("model/list", 1).await;
    let models = gateway.models().await.unwrap();
    assert_eq!(models.len(), 1, "{models:?}");
    assert_eq!(
        (models[0].id.as_str(), models[0].efforts.as_slice()),
        ("fake-model", &["low".to_owned()][..])
    );
    assert_eq!(gateway.models_now(), models);
    gateway.models().await.unwrap();
    let asked = fake.requests_for("model/list");
    assert_eq!(asked.len(), PAGES, "{asked:?}");
    assert!(asked.iter().all(|r| r.instance == 1), "{asked:?}");

    // A restart: the new process is asked too, once.
    let session = gateway.create_session().unwrap();
    gateway.send(&session.key, "die", "/fake die").unwrap();
    fake.requested("initialize", 2).await;
    fake.requested("model/list", 2 * PAGES).await;
    assert_eq!(gateway.models().await.unwrap(), models);
    let asked = fake.requests_for("model/list");
    assert_eq!(asked.len(), 2 * PAGES, "{asked:?}");
    assert!(asked[PAGES..].iter().all(|r| r.instance == 2), "{asked:?}");
    gateway.shutdown().await;
}
