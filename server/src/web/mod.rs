//! The HTTP edge: routes, the JSON API, the WebSocket, Leptos SSR and static files.
//!
//! Handlers are thin: they parse and validate input (JSON bodies through [`error::ApiJson`]), call
//! the gateway, and return [`error::ApiError`], whose one mapping decides what a client is told
//! (`error.rs`; the WebSocket's error frames use the same one). Every request passes the
//! Host/Origin guard first, then authentication (`auth.rs`, a no-op without an access token).
//! Every response carries a Content-Security-Policy (`csp.rs`), and a failure's internal detail is
//! logged once, by [`error::log_errors`] around every route. Nothing here holds chat state or
//! talks to Codex.

mod account;
mod all_sessions;
mod arena;
pub mod assets;
pub mod auth;
mod codex_threads;
pub mod csp;
pub mod error;
pub mod guard;
mod history;
pub mod images;
mod organise;
mod ws;

use std::sync::Arc;

use app::api::SharedPageSource;
use app::wire::{Seq, SessionKey, SessionSummary};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde::{Deserialize, Serialize};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::gateway::Gateway;
use auth::Auth;
use error::{ApiError, ApiJson};
use guard::HostPolicy;

#[derive(Clone)]
pub struct AppState {
    pub gateway: Gateway,
    pub leptos: LeptosOptions,
    pub hosts: HostPolicy,
    pub auth: Auth,
    /// Uploaded images (`<data>/images`).
    pub images: images::ImageStore,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

impl FromRef<AppState> for Auth {
    fn from_ref(s: &AppState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<AppState> for HostPolicy {
    fn from_ref(s: &AppState) -> Self {
        s.hosts.clone()
    }
}

/// The Leptos pages (the chat route, and the fallback for unknown paths and static files),
/// rendered from `source`. The same function serves the real router and the tests and fuzz
/// target that render pages from made-up data (`tests/untrusted_render.rs`).
pub fn with_pages<S>(router: Router<S>, state: &S, source: SharedPageSource) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    LeptosOptions: FromRef<S>,
{
    let routes = route_list().to_vec();
    let options = LeptosOptions::from_ref(state);
    let context = move || {
        provide_context(source.clone());
        csp::provide_page_policy();
    };
    router
        .leptos_routes_with_context(state, routes, context.clone(), move || {
            app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<S, _>(
            context,
            app::shell,
        ))
        // Innermost: a request resumes in its own reactive arena (see `arena`).
        .layer(axum::middleware::from_fn(arena::sticky))
}

/// The app's routes, generated once per process.
///
/// Generating them renders the app once with resource loading suppressed through a
/// *process-global* flag (leptos_server's `SuppressResourceLoad`, leptos#4773): a page resource
/// whose first poll falls inside that window waits forever, and its response never ends. So the
/// list is made once, before any server of this process can render a page, and every later
/// router (a restart in the same process, each test's server) reuses it.
fn route_list() -> &'static [leptos_axum::AxumRouteListing] {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App))
}

pub fn router(state: AppState) -> Router {
    let source: SharedPageSource = Arc::new(state.gateway.clone());
    let api = Router::new()
        .route("/", get(root))
        .route("/pair", get(auth::pair))
        .route("/api/v1/pairing", post(auth::new_pairing))
        .route(
            "/sessions",
            get(all_sessions::page).post(create_session_form),
        )
        .route("/healthz", get(account::healthz))
        .route("/ws", get(ws::handler))
        .route(
            "/api/v1/sessions",
            get(list_sessions).post(create_session_api),
        )
        .route(
            "/api/v1/sessions/{key}",
            get(get_session)
                .patch(patch_session)
                .delete(organise::delete_session),
        )
        .route("/api/v1/images", post(images::upload))
        .route("/api/v1/images/{id}", get(images::serve))
        .route("/api/v1/models", get(get_models))
        .route("/api/v1/search", get(organise::search))
        .route("/api/v1/codex-threads", get(codex_threads::list))
        .route("/api/v1/codex-threads/{id}/open", post(codex_threads::open))
        .route("/codex-threads", get(codex_threads::page))
        .route("/codex-threads/{id}", post(codex_threads::open_form))
        .route("/api/v1/sessions/{key}/export", get(organise::export))
        .route(
            "/api/v1/sessions/import",
            post(organise::import).layer(axum::extract::DefaultBodyLimit::max(
                organise::MAX_IMPORT_BYTES,
            )),
        )
        .route("/api/v1/account", get(account::get_account))
        .route("/api/v1/account/login", post(account::post_login))
        .route("/api/v1/account/login/cancel", post(account::post_cancel))
        .route("/api/v1/account/logout", post(account::post_logout))
        .route("/api/v1/sessions/{key}/approvals/{id}", post(post_answer))
        .route("/api/v1/sessions/{key}/events", get(get_events))
        .route("/api/v1/sessions/{key}/history", get(history::part))
        .route("/api/v1/sessions/{key}/messages", post(post_message))
        .route("/api/v1/sessions/{key}/stop", post(post_stop))
        .route("/api/v1/sessions/{key}/runs", post(post_background_run));
    with_pages(api, &state, source)
        // Inside the Host/Origin guard: a forged Host is refused before anything else.
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.hosts.clone(),
            guard::guard,
        ))
        // Outside every route and check, so each failure's detail is logged once, whoever
        // answered.
        .layer(axum::middleware::from_fn(error::log_errors))
        .layer(CompressionLayer::new())
        // The request's span names its path only: a query can hold a pairing code.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages already carry their nonce policy; everything else gets the one without a nonce.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp::default_policy(),
        ))
        .with_state(state)
}

/// `/` opens the most recent session, or a new one.
async fn root(State(s): State<AppState>) -> Result<Redirect, ApiError> {
    let session = s.gateway.newest_or_new_session()?;
    Ok(Redirect::to(&format!("/sessions/{}", session.key)))
}

/// The new-session form's fields: the sidebar's workspace select (a configured name).
#[derive(Deserialize, Default)]
struct NewSessionForm {
    workspace: Option<String>,
}

/// The new-session form: works without JavaScript, answers with a redirect to the new session
/// in the chosen workspace (none chosen: the default one).
async fn create_session_form(
    State(s): State<AppState>,
    form: Result<axum::Form<NewSessionForm>, axum::extract::rejection::FormRejection>,
) -> Result<Redirect, ApiError> {
    use axum::extract::rejection::FormRejection;
    let form = match form {
        Ok(axum::Form(form)) => form,
        // A bare POST (no body, no form type) is the default workspace, as before.
        Err(FormRejection::InvalidFormContentType(_)) => NewSessionForm::default(),
        Err(e) => return Err(ApiError::BadRequest(format!("invalid form: {e}"))),
    };
    let workspace = form.workspace.filter(|w| !w.is_empty());
    let session = s.gateway.create_session_in(workspace.as_deref())?;
    Ok(Redirect::to(&format!("/sessions/{}", session.key)))
}

/// The models Codex offers (`model/list`, asked once per Codex process).
async fn get_models(
    State(s): State<AppState>,
) -> Result<Json<Vec<app::wire::ModelOption>>, ApiError> {
    Ok(Json(s.gateway.models().await?))
}

fn parse_key(raw: &str) -> Result<SessionKey, ApiError> {
    SessionKey::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn list_sessions(State(s): State<AppState>) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    Ok(Json(s.gateway.sessions()?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewSession {
    /// The session's permission mode; the configured `default_mode` when absent.
    mode: Option<app::wire::Mode>,
    /// A configured workspace's name; the default workspace when absent. Never a path.
    workspace: Option<String>,
}

/// Creates a session; the body (`{"mode": ...}`) is optional.
async fn create_session_api(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let new: NewSession = if body.iter().all(u8::is_ascii_whitespace) {
        NewSession::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let mut session = s.gateway.create_session_in(new.workspace.as_deref())?;
    if let Some(mode) = new.mode.filter(|m| *m != session.mode) {
        session = s.gateway.set_mode(&session.key, mode)?;
    }
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchSession {
    /// The permission mode from the next turn on.
    mode: Option<app::wire::Mode>,
    /// The model from the next turn on; `null`: Codex's default. Absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    model: Option<Option<String>>,
    /// The reasoning effort from the next turn on; `null`: the model's default. Absent:
    /// unchanged, unless the model changes (then the new model's default).
    #[serde(default, deserialize_with = "present")]
    effort: Option<Option<String>>,
    /// A title of the person's choosing (one line, at most 200 characters).
    title: Option<String>,
    /// Put away (`true`) or back (`false`).
    archived: Option<bool>,
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`); absent is `None` (serde's
/// `default`).
fn present<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

/// Changes a session's settings: its mode, model and reasoning effort.
async fn patch_session(
    State(s): State<AppState>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PatchSession>,
) -> Result<Json<SessionSummary>, ApiError> {
    let key = parse_key(&key)?;
    let mut session = s.gateway.session(&key)?;
    if body.model.is_some() || body.effort.is_some() {
        let model = match body.model.clone() {
            Some(model) => model,
            None => session.model.clone(),
        };
        let effort = match (body.effort, &body.model) {
            (Some(effort), _) => effort,
            (None, Some(_)) => None,
            (None, None) => session.effort.clone(),
        };
        // Checked (and refused) before the mode changes, so a bad request changes nothing.
        session = s
            .gateway
            .set_model(&key, model.as_deref(), effort.as_deref())
            .await?;
    }
    if let Some(title) = &body.title {
        // Checked first too: a bad title changes nothing.
        crate::gateway::check_title(title)?;
    }
    if let Some(mode) = body.mode {
        session = s.gateway.set_mode(&key, mode)?;
    }
    if let Some(title) = &body.title {
        session = s.gateway.rename(&key, title)?;
    }
    if let Some(archived) = body.archived {
        session = s.gateway.set_archived(&key, archived)?;
    }
    Ok(Json(session))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostAnswer {
    decision: app::wire::ApprovalDecision,
    /// A question's written answer.
    answer: Option<String>,
}

/// Answers an approval (its id is its card's `seq`). Idempotent: the same answer again gets the
/// same reply; a different one after the first gets 409 with how it ended.
async fn post_answer(
    State(s): State<AppState>,
    Path((key, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PostAnswer>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = parse_key(&key)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest("an approval id is a number".to_owned()))?;
    let state = s
        .gateway
        .answer(&key, Seq(id), body.decision, body.answer)
        .await?;
    Ok(Json(serde_json::json!({ "state": state })))
}

async fn get_session(
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<SessionSummary>, ApiError> {
    Ok(Json(s.gateway.session(&parse_key(&key)?)?))
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn get_events(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Vec<app::wire::Event>>, ApiError> {
    let key = parse_key(&key)?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    Ok(Json(s.gateway.events_after(&key, Seq(q.after), limit)?))
}

#[derive(Deserialize)]
struct PostMessage {
    text: String,
    /// Makes a retried request idempotent; generated when absent.
    client_id: Option<String>,
    /// The client it was typed in (`webchat`, the default, or `tui`).
    #[serde(default)]
    source: app::wire::Source,
    /// Send it into the running turn (`turn/steer`); queued when there is none to join.
    #[serde(default)]
    steer: bool,
    /// Ids of images uploaded with `POST /api/v1/images`, attached in this order.
    #[serde(default)]
    images: Vec<String>,
}

#[derive(Serialize)]
struct PostMessageReply {
    seq: Seq,
    duplicate: bool,
    client_id: String,
}

async fn post_message(
    State(s): State<AppState>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    let client_id = body
        .client_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let message = images::message(
        &s.images,
        &client_id,
        body.text,
        body.source,
        body.steer,
        &body.images,
    )?;
    let out = s.gateway.send_message(&key, message).await?;
    let status = if out.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(PostMessageReply {
            seq: out.seq,
            duplicate: out.duplicate,
            client_id,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostRun {
    prompt: String,
    /// Makes a retried request idempotent; generated when absent.
    client_id: Option<String>,
}

#[derive(Serialize)]
struct PostRunReply {
    /// The background request's transcript entry.
    seq: Seq,
    /// `started`, `queued` (behind the session's active run) or `duplicate` (this `client_id`
    /// was seen before; nothing new happened).
    status: &'static str,
    client_id: String,
}

/// Starts a background run: no UI source, so targetless sends fail and only explicit channel
/// sends reach anyone. The transcript marks it as started by `api`.
async fn post_background_run(
    State(s): State<AppState>,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<PostRun>,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    let client_id = body
        .client_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    crate::gateway::validate_client_id(&client_id)?;
    let out = s
        .gateway
        .start_background(&key, "api", &body.prompt, &format!("api:{client_id}"))?;
    let (code, status) = match out.start {
        Some(crate::gateway::RunStart::Started) => (StatusCode::ACCEPTED, "started"),
        Some(crate::gateway::RunStart::Queued) => (StatusCode::ACCEPTED, "queued"),
        Some(crate::gateway::RunStart::Refused) => (StatusCode::SERVICE_UNAVAILABLE, "refused"),
        None => (StatusCode::OK, "duplicate"),
    };
    Ok((
        code,
        Json(PostRunReply {
            seq: out.seq,
            status,
            client_id,
        }),
    )
        .into_response())
}

async fn post_stop(
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = parse_key(&key)?;
    s.gateway.session(&key)?;
    let stopped = s.gateway.stop(&key);
    Ok(Json(serde_json::json!({ "stopping": stopped })))
}
