//! The account routes and `/healthz`: what Codex works as and whether it runs, and signing it
//! in and out.
//!
//! Signing in is the operator's: a loopback server (every peer is on this machine) or one with
//! an access token, whose requests carry the token or the session cookie a pairing link (issued
//! with the token) gave. That is exactly what `auth` admits, so these handlers add no check of
//! their own; `tests/signin.rs` proves an unauthenticated request is refused. An API key in a
//! request body goes to the gateway and nowhere else: a body that does not parse is refused
//! with a fixed message, never the parser's (which could quote it).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::AppState;
use app::wire::{AccountStatus, CodexHealth};

/// `GET /api/v1/account`.
pub async fn get_account(State(s): State<AppState>) -> Json<AccountStatus> {
    Json(s.gateway.account())
}

#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
enum LoginBody {
    DeviceCode,
    ApiKey { api_key: String },
}

const LOGIN_SHAPE: &str = "send {\"method\": \"device_code\"} or \
     {\"method\": \"api_key\", \"api_key\": \"...\"} as application/json";

/// `POST /api/v1/account/login`: a device-code sign-in (answers with the code and where to
/// enter it) or an API key for Codex to keep (answers with the account status).
pub async fn post_login(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed = json_type
        .then(|| serde_json::from_slice::<LoginBody>(&body).ok())
        .flatten();
    match parsed.ok_or_else(|| ApiError::BadRequest(LOGIN_SHAPE.to_owned()))? {
        LoginBody::DeviceCode => {
            let code = s.gateway.start_device_login().await?;
            Ok(Json(json!({
                "user_code": code.user_code,
                "verification_url": code.verification_url,
            }))
            .into_response())
        }
        LoginBody::ApiKey { api_key } => {
            s.gateway.login_api_key(&api_key).await?;
            Ok(Json(s.gateway.account()).into_response())
        }
    }
}

/// `POST /api/v1/account/login/cancel`: ends a device-code sign-in in progress.
pub async fn post_cancel(State(s): State<AppState>) -> StatusCode {
    s.gateway.cancel_login().await;
    StatusCode::NO_CONTENT
}

/// `POST /api/v1/account/logout`: Codex forgets its credentials.
pub async fn post_logout(State(s): State<AppState>) -> Result<Json<AccountStatus>, ApiError> {
    s.gateway.logout().await?;
    Ok(Json(s.gateway.account()))
}

/// `GET /healthz`: 200 while this server runs. The body says whether Codex runs too (`codex`:
/// `starting`, `ready`, or `down` with the reason it could not start) and its account state, so
/// a monitor sees a Codex that cannot start without reading the log.
pub async fn healthz(State(s): State<AppState>) -> Json<serde_json::Value> {
    let account = s.gateway.account();
    let (status, codex_error) = match &account.codex {
        CodexHealth::Down { reason } => ("degraded", Some(reason.clone())),
        _ => ("ok", None),
    };
    Json(json!({
        "status": status,
        "codex": account.codex.as_str(),
        "codex_error": codex_error,
        "account": account.login.as_str(),
    }))
}
