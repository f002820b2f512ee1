//! The one error type that reaches HTTP clients.
//!
//! Handlers return [`ApiError`]; it logs the detail and answers with a stable JSON body
//! `{"error": "..."}` that never contains internal details (paths, SQL, process output).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::gateway::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// No valid token or session cookie on a server that requires one.
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal,
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::BadInput(m) => ApiError::BadRequest(m),
            GatewayError::UnknownSession => ApiError::NotFound("unknown session"),
            GatewayError::Codex(e) => {
                tracing::warn!(error = %e, "request failed: Codex unavailable");
                ApiError::Unavailable("Codex is not available right now; try again shortly".into())
            }
            GatewayError::Unguarded(m) => {
                ApiError::Unavailable(format!("native tools are unguarded: {m}"))
            }
            GatewayError::Store(e) => {
                tracing::error!(error = %e, "request failed: storage error");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = (status, Json(json!({"error": self.to_string()}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
