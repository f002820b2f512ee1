//! The embedded demo model: an OpenAI Responses-API-compatible streaming endpoint on loopback
//! that Codex uses as its model provider in demo mode, so the whole product runs offline.
//!
//! It owns the HTTP endpoint (`POST {base_url}/responses`, answered with server-sent events),
//! the scripted behaviour behind the user's `/directives` (see PRODUCT.md, "Demo model
//! directives") and the Codex `config.toml` that points Codex at it. It is deterministic and
//! stateless: every answer follows from the request body alone (the latest real user message and
//! the function calls after it), so it needs no store and survives restarts of anything. It must
//! not know about chats, sessions or the gateway, must never call anything itself (tools run in
//! Codex and the gateway), and must never panic on a request: a body it cannot read gets an HTTP
//! 400 with a JSON error.

mod exec_output;
mod request;
mod script;
mod sse;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use script::Reply;

/// The model slug Codex is configured with. Codex learns it from the catalog demo mode writes
/// ([`model_catalog_json`]), so `model/list` offers it (and only it) with its efforts.
pub const DEMO_MODEL_SLUG: &str = "demo-model";

/// The reasoning efforts the demo model accepts (it ignores them; the picker shows them), and
/// its default.
pub const DEMO_EFFORTS: [&str; 3] = ["low", "medium", "high"];
pub const DEMO_DEFAULT_EFFORT: &str = "medium";

/// The file in CODEX_HOME that holds the demo model's catalog entry.
pub const MODEL_CATALOG_FILE: &str = "demo-model-catalog.json";

/// Codex sends the whole history with every request; long threads (big shell outputs, long
/// `/stream`s) pass axum's 2 MB default, and a refused request would fail the turn.
const MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// Reported input tokens are capped so Codex's automatic compaction never starts: it would send
/// a summarisation prompt the demo model cannot answer sensibly.
const MAX_REPORTED_INPUT_TOKENS: u64 = 10_000;

/// How long `shutdown` waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Failure to start the demo model.
#[derive(Debug, thiserror::Error)]
pub enum DemoModelError {
    #[error("could not bind the demo model to 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    #[error("could not read the demo model's bound address: {0}")]
    LocalAddr(#[source] std::io::Error),
}

/// A running demo model. Serves until [`DemoModel::shutdown`] or drop.
pub struct DemoModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

/// State shared by the request handlers.
struct Shared {
    requests_served: AtomicU64,
    next_response: AtomicU64,
    /// Response bodies still being streamed; lets tests see that a client hang-up ends a
    /// `/stream` at once instead of when its last word is due.
    open_streams: AtomicUsize,
    /// Distinguishes this process's ids from an earlier run's: Codex keeps call ids in thread
    /// history, and a thread resumed after a restart must not see the same id twice.
    nonce: String,
    stop: watch::Receiver<bool>,
    /// `/flaky`: how many times each turn's request was refused so far, by a key of the turn
    /// (its prompt cache key, user text and step: what Codex's retries of one request share).
    flaky: std::sync::Mutex<std::collections::HashMap<u64, u32>>,
    /// Every distinct context fragment requests carried, in order of first sight.
    #[cfg(feature = "fault-injection")]
    fragments: std::sync::Mutex<Vec<String>>,
    /// The `model` and `reasoning.effort` of every request, in order.
    #[cfg(feature = "fault-injection")]
    asked: std::sync::Mutex<Vec<(Option<String>, Option<String>)>>,
}

impl DemoModel {
    /// Binds 127.0.0.1 on a free port and serves in a background task until `shutdown()` or
    /// drop.
    pub async fn start() -> Result<DemoModel, DemoModelError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(DemoModelError::Bind)?;
        let addr = listener.local_addr().map_err(DemoModelError::LocalAddr)?;
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            requests_served: AtomicU64::new(0),
            next_response: AtomicU64::new(1),
            open_streams: AtomicUsize::new(0),
            nonce: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            stop: stop_rx.clone(),
            flaky: Default::default(),
            #[cfg(feature = "fault-injection")]
            fragments: Default::default(),
            #[cfg(feature = "fault-injection")]
            asked: Default::default(),
        });
        let app = router(Arc::clone(&shared));
        let mut stop_signal = stop_rx;
        let server = tokio::spawn(async move {
            let shutdown = async move {
                // An error means the `DemoModel` was dropped: stop as well.
                let _ = stop_signal.wait_for(|stopped| *stopped).await;
            };
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %err, "demo model server stopped with an error");
            }
        });
        tracing::info!(%addr, "demo model listening");
        Ok(DemoModel {
            addr,
            shared,
            stop,
            server: Some(server),
        })
    }

    /// The provider base URL for Codex, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many `POST /v1/responses` requests have been answered (any status).
    pub fn requests_served(&self) -> u64 {
        self.shared.requests_served.load(Ordering::Relaxed)
    }

    /// Every distinct context fragment (the user-role parts Codex or the gateway added, not the
    /// user's words) the requests so far carried, in order of first sight. Test builds only.
    #[cfg(feature = "fault-injection")]
    pub fn context_fragments(&self) -> Vec<String> {
        self.shared
            .fragments
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// The `model` and `reasoning.effort` each request so far named, in order: what a turn's
    /// model choice became on the wire. Test builds only.
    #[cfg(feature = "fault-injection")]
    pub fn models_asked(&self) -> Vec<(Option<String>, Option<String>)> {
        self.shared
            .asked
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Stops accepting requests, ends open streams, and waits (briefly) for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                tracing::warn!("demo model did not stop in time; aborting it");
                abort.abort();
            }
        }
    }
}

impl Drop for DemoModel {
    fn drop(&mut self) {
        // The server task and any open streams watch this flag and wind down on their own.
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for DemoModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoModel")
            .field("addr", &self.addr)
            .field("requests_served", &self.requests_served())
            .finish_non_exhaustive()
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/responses", post(responses))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(shared)
}

async fn responses(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.requests_served.fetch_add(1, Ordering::Relaxed);
    #[cfg(feature = "fault-injection")]
    if let (Ok(mut asked), Ok(raw)) = (shared.asked.lock(), serde_json::from_slice::<Value>(&body))
    {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        asked.push((
            text(raw.get("model")),
            text(raw.pointer("/reasoning/effort")),
        ));
    }
    #[cfg(feature = "fault-injection")]
    if let Ok(mut seen) = shared.fragments.lock() {
        for fragment in request::injected_fragments(&body) {
            if !seen.contains(&fragment) {
                seen.push(fragment);
            }
        }
    }
    let transcript = match request::parse_body(&body) {
        Ok(transcript) => transcript,
        Err(err) => {
            tracing::warn!(error = %err, "demo model: unreadable request");
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &err.to_string(),
            );
        }
    };
    let reply = script::reply(&transcript);
    tracing::debug!(step = transcript.calls.len(), ?reply, "demo model reply");
    match reply {
        // A 500, as the directive's contract says: Codex retries it like any 5xx (the retries
        // show in the working indicator), then fails the turn.
        Reply::Fail => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "demo model: /fail asks for this error",
        ),
        Reply::Flaky { failures, then } => {
            if shared.refuse_again(flaky_key(&body, &transcript), failures) {
                return error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_error",
                    "demo model: /flaky asks for this error",
                );
            }
            respond(&shared, &transcript, &body, then)
        }
        Reply::Respond(outputs) => respond(&shared, &transcript, &body, outputs),
        // A body that fails at once: hyper breaks the connection after the headers, which is
        // what Codex takes for a dropped stream and retries (a refusal it would not retry).
        Reply::Offline => (
            [(header::CONTENT_TYPE, "text/event-stream")],
            Body::from_stream(futures::stream::once(async {
                Err::<Bytes, _>(std::io::Error::other("demo model: /offline"))
            })),
        )
            .into_response(),
    }
}

/// What identifies one request of a turn across Codex's retries of it.
fn flaky_key(body: &[u8], transcript: &request::Transcript) -> u64 {
    use std::hash::{Hash, Hasher};
    let cache_key = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("prompt_cache_key").cloned());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cache_key.map(|v| v.to_string()).hash(&mut h);
    transcript.user_text.hash(&mut h);
    transcript.calls.len().hash(&mut h);
    h.finish()
}

impl Shared {
    /// Counts one more refusal of `key` and says whether it is still due (`failures` in all).
    fn refuse_again(&self, key: u64, failures: u32) -> bool {
        let Ok(mut refused) = self.flaky.lock() else {
            return false;
        };
        // A bound, so a long-running server cannot grow it without end.
        if refused.len() > 1024 {
            refused.clear();
        }
        let count = refused.entry(key).or_insert(0);
        if *count < failures {
            *count += 1;
            true
        } else {
            refused.remove(&key);
            false
        }
    }
}

/// A streamed response with `outputs`.
fn respond(
    shared: &Arc<Shared>,
    transcript: &request::Transcript,
    body: &Bytes,
    outputs: Vec<script::Output>,
) -> Response {
    let number = shared.next_response.fetch_add(1, Ordering::Relaxed);
    let context = sse::StreamContext {
        ids: sse::ResponseIds::new(format!("demo{}_{number}", shared.nonce)),
        model: transcript
            .model
            .clone()
            .unwrap_or_else(|| DEMO_MODEL_SLUG.to_owned()),
        input_tokens: u64::try_from(body.len() / 4)
            .unwrap_or(u64::MAX)
            .min(MAX_REPORTED_INPUT_TOKENS),
        stop: shared.stop.clone(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(tracked(sse::events(outputs, context), shared)),
    )
        .into_response()
}

/// Counts `stream` in `open_streams` until hyper drops it (finished, or the client went away).
fn tracked<S>(
    stream: S,
    shared: &Arc<Shared>,
) -> impl futures::Stream<Item = S::Item> + Send + 'static
where
    S: futures::Stream + Send + 'static,
{
    let open = OpenStream::new(Arc::clone(shared));
    // The closure owns the guard, so the count drops exactly when the body is dropped.
    stream.map(move |frame| {
        let _ = &open;
        frame
    })
}

struct OpenStream(Arc<Shared>);

impl OpenStream {
    fn new(shared: Arc<Shared>) -> Self {
        shared.open_streams.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        "the demo model only serves POST /v1/responses",
    )
}

/// An OpenAI-style JSON error body.
fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let body: Value = json!({ "error": { "message": message, "type": kind, "code": Value::Null } });
    (status, Json(body)).into_response()
}

/// The complete `CODEX_HOME/config.toml` for demo mode: Codex uses the demo model at `base_url`
/// with no credentials, never asks for approvals, runs commands under `sandbox_mode`
/// (`read-only`, `workspace-write` or `danger-full-access`; passed through as given), and makes
/// no network calls of its own.
pub fn codex_config_toml(base_url: &str, sandbox_mode: &str) -> String {
    let model = toml_string(DEMO_MODEL_SLUG);
    let base_url = toml_string(base_url);
    let sandbox_mode = toml_string(sandbox_mode);
    format!(
        r#"# Written by codex-webchat for demo mode: Codex talks only to the embedded demo model.
model = {model}
model_provider = "demo"
approval_policy = "never"
sandbox_mode = {sandbox_mode}

[model_providers.demo]
name = "codex-webchat demo model"
base_url = {base_url}
wire_api = "responses"
# Retries would only repeat a deterministic answer (and turn `/fail` into several requests);
# only Codex's turn-level retries are on, which `/flaky` uses (each reported as an `error` with
# `willRetry`).
request_max_retries = 0
stream_max_retries = 5
# `/stream` may wait up to 60 s between words.
stream_idle_timeout_ms = 120000
# No env_key: Codex then sends no Authorization header and needs no login.

[features]
# Without these two Codex contacts github.com and chatgpt.com at startup.
plugins = false
apps = false
# Fail the turn at once when the demo model is unreachable instead of reconnecting forever.
unbounded_connection_retries = false

# Offer the model Codex's `update_plan` checklist tool (`/plan`); Codex does not offer it to a
# model it has no metadata for unless asked.
[tools.update_plan]
enabled = true

[analytics]
enabled = false
"#
    )
}

/// The model catalog demo mode gives Codex (`model_catalog_json`, which replaces Codex's bundled
/// catalog): the demo model alone, so `model/list` lists it. Codex 0.169 requires the fields
/// below; measured against the binary, a thread on this entry sends the demo model the same
/// tools as on the unknown-slug fallback it replaces (`exec_command`, no `apply_patch` tool),
/// only shorter base instructions.
pub fn model_catalog_json() -> String {
    let efforts: Vec<Value> = DEMO_EFFORTS
        .iter()
        .map(|e| json!({ "effort": e, "description": format!("{e} (the demo model ignores it)") }))
        .collect();
    json!({
        "models": [{
            "slug": DEMO_MODEL_SLUG,
            "display_name": "Demo model",
            "description": "The embedded offline demo model of codex-webchat",
            "default_reasoning_level": DEMO_DEFAULT_EFFORT,
            "supported_reasoning_levels": efforts,
            "shell_type": "shell_command",
            "visibility": "list",
            "supported_in_api": true,
            "priority": 1,
            "support_verbosity": false,
            "truncation_policy": { "mode": "tokens", "limit": 10000 },
            "experimental_supported_tools": [],
            "context_window": 272000,
            "base_instructions": "You are Codex, a coding agent, working with a person through \
                codex-webchat."
        }]
    })
    .to_string()
}

/// Writes demo mode's CODEX_HOME: `config.toml` ([`codex_config_toml`]) naming the model
/// catalog ([`model_catalog_json`]), which is written beside it.
pub fn write_codex_home(home: &Path, base_url: &str, sandbox_mode: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(home)?;
    let catalog = home.join(MODEL_CATALOG_FILE);
    std::fs::write(&catalog, model_catalog_json())?;
    // A top-level key, so it goes before the file's first table.
    let config = format!(
        "model_catalog_json = {}\n{}",
        toml_string(&catalog.to_string_lossy()),
        codex_config_toml(base_url, sandbox_mode)
    );
    std::fs::write(home.join("config.toml"), config)
}

/// A TOML basic string literal.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_images;
