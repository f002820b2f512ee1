//! The edge's one error mapping: how a failure becomes what a client is told, over HTTP and over
//! the WebSocket alike.
//!
//! Handlers return [`ApiError`]. A gateway failure converts into it unchanged (`?`), and
//! [`exposed`] is the single function that decides its status and the words a client sees; the
//! WebSocket's error frames use the same function (`ws.rs`). JSON bodies are read with
//! [`ApiJson`], so a malformed body is an `ApiError` like any other failure.
//!
//! A failure's internal detail (a storage error, why Codex is down) never reaches a client, and it
//! is logged exactly once: an HTTP response carries it in its extensions to [`log_errors`], the
//! middleware that logs it with the request line; a WebSocket frame has no middleware around it,
//! so the socket logs it where it sends the frame. Conversions never log (a `From` cannot know
//! whether its result will be shown, retried or dropped), and nothing here knows about routes.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use app::wire;

use crate::gateway::GatewayError;

/// Every failure the edge answers with. The JSON body is `{"error": "..."}`; its text comes from
/// [`ApiError::exposed`], never from a cause's own `Display`.
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
    /// A body over its limit (an image over 10 MB): 413.
    #[error("{0}")]
    TooLarge(String),
    #[error("internal error")]
    Internal,
    /// A gateway failure; what a client sees of it is [`exposed`]'s.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// What a client is told about a failure, and what only the log may know.
#[derive(Debug)]
pub struct Exposed {
    pub status: StatusCode,
    /// Safe to show: never a path, SQL, or process output.
    pub message: String,
    /// The internal cause, for the log; `None` when the message says everything there is.
    pub detail: Option<Detail>,
}

/// An internal cause to log once, and how loudly. Travels in a response's extensions from
/// [`ApiError::into_response`] to [`log_errors`]; it is taken out there, so it never goes further.
#[derive(Clone, Debug)]
pub struct Detail {
    /// `true` for a failure of the server itself (storage); `false` for a dependency that is
    /// expected to come and go (Codex restarting).
    pub severe: bool,
    /// What failed, in a few words ("storage error").
    pub what: &'static str,
    /// The cause's own text.
    pub error: String,
}

impl Detail {
    /// Logs the detail; `during` names what was being done (a request line, a socket frame).
    pub fn log(&self, during: &dyn std::fmt::Display) {
        if self.severe {
            tracing::error!(during = %during, error = %self.error, "request failed: {}", self.what);
        } else {
            tracing::warn!(during = %during, error = %self.error, "request failed: {}", self.what);
        }
    }
}

/// The one mapping from a gateway failure to its status, the words a client may see, and the
/// detail only the log may see.
pub fn exposed(e: &GatewayError) -> Exposed {
    let (status, message, detail) = match e {
        GatewayError::BadInput(m) => (StatusCode::BAD_REQUEST, m.clone(), None),
        GatewayError::UnknownSession => (StatusCode::NOT_FOUND, "unknown session".to_owned(), None),
        GatewayError::Codex(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Codex is not available right now; try again shortly".to_owned(),
            Some(Detail {
                severe: false,
                what: "Codex unavailable",
                error: err.to_string(),
            }),
        ),
        // The reason names what is unguarded, not where anything is; it is the person's to act on.
        GatewayError::Unguarded(m) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("native tools are unguarded: {m}"),
            None,
        ),
        GatewayError::UnknownApproval => {
            (StatusCode::NOT_FOUND, "unknown approval".to_owned(), None)
        }
        GatewayError::ApprovalClosed(state) => (
            StatusCode::CONFLICT,
            match state {
                wire::ApprovalState::Expired => {
                    "This approval expired when Codex restarted; send the message again.".to_owned()
                }
                wire::ApprovalState::Cancelled => "Already answered: it was cancelled.".to_owned(),
                other => format!("Already answered: it was {}.", other.as_str()),
            },
            None,
        ),
        GatewayError::SignIn(m) => (StatusCode::BAD_GATEWAY, format!("Codex refused: {m}"), None),
        GatewayError::Unusable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone(), None),
        GatewayError::Store(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not read or store that; please retry".to_owned(),
            Some(Detail {
                severe: true,
                what: "storage error",
                error: err.to_string(),
            }),
        ),
    };
    Exposed {
        status,
        message,
        detail,
    }
}

impl ApiError {
    /// What a client is told about this failure (see [`exposed`] for the gateway's).
    pub fn exposed(&self) -> Exposed {
        let plain = |status: StatusCode, message: String| Exposed {
            status,
            message,
            detail: None,
        };
        match self {
            ApiError::Gateway(e) => exposed(e),
            ApiError::BadRequest(m) => plain(StatusCode::BAD_REQUEST, m.clone()),
            ApiError::NotFound(m) => plain(StatusCode::NOT_FOUND, (*m).to_owned()),
            ApiError::Forbidden(m) => plain(StatusCode::FORBIDDEN, (*m).to_owned()),
            ApiError::Unauthorized(m) => plain(StatusCode::UNAUTHORIZED, (*m).to_owned()),
            ApiError::TooLarge(m) => plain(StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            ApiError::Internal => plain(StatusCode::INTERNAL_SERVER_ERROR, self.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Exposed {
            status,
            message,
            detail,
        } = self.exposed();
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(detail) = detail {
            response.extensions_mut().insert(detail);
        }
        response
    }
}

/// Logs the internal detail of a failed request once, with its request line, and removes it from
/// the response. Wraps every route (see `router`), so no handler logs what it returns.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // Cloning a `Uri` shares its bytes; no copy of the path is made for requests that succeed.
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    if let Some(detail) = response.extensions_mut().remove::<Detail>() {
        detail.log(&format_args!("{method} {}", uri.path()));
    }
    response
}

/// A JSON request body whose rejection is an [`ApiError`]: a body that is not JSON, not the
/// expected shape, or not labelled `application/json` is a 400 with the parser's reason, in the
/// same `{"error": ...}` body as every other failure. Every JSON handler takes its body this way.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn gateway_failures_map_once_and_keep_internals_out_of_the_message() {
        let store =
            GatewayError::Store(StoreError::Io("/secret/path.db: permission denied".into()));
        let e = exposed(&store);
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("secret"), "{}", e.message);
        let detail = e.detail.expect("a storage failure is logged");
        assert!(detail.severe && detail.error.contains("secret"));

        let e = exposed(&GatewayError::UnknownSession);
        assert_eq!(
            (e.status, e.message.as_str(), e.detail.is_none()),
            (StatusCode::NOT_FOUND, "unknown session", true)
        );
        let e = exposed(&GatewayError::BadInput("Message is empty.".into()));
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::BAD_REQUEST, "Message is empty.")
        );
    }

    #[tokio::test]
    async fn the_detail_rides_in_the_response_and_the_body_has_the_safe_words() {
        let store =
            GatewayError::Store(StoreError::Io("/secret/path.db: permission denied".into()));
        let response = ApiError::from(store).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<Detail>().is_some());
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("secret"), "{body}");
        assert!(body.contains("please retry"), "{body}");
    }

    fn storage_failure() -> ApiError {
        GatewayError::Store(StoreError::Io("/secret/path.db: permission denied".into())).into()
    }

    #[tokio::test]
    async fn log_errors_takes_the_detail_out_of_the_response() {
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async { Err::<(), _>(storage_failure()) }),
            )
            .layer(axum::middleware::from_fn(log_errors));
        let request = Request::get("/").body(axum::body::Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<Detail>().is_none());
    }

    #[tokio::test]
    async fn a_json_body_that_does_not_parse_is_a_400_with_the_common_body() {
        use tower::ServiceExt;
        #[derive(serde::Deserialize)]
        struct Body {
            text: String,
        }
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(|ApiJson(body): ApiJson<Body>| async move { body.text }),
        );
        let call = |content_type: &'static str, body: &'static str| {
            let app = app.clone();
            async move {
                let request = Request::post("/")
                    .header(axum::http::header::CONTENT_TYPE, content_type)
                    .body(axum::body::Body::from(body))
                    .unwrap();
                let response = app.oneshot(request).await.unwrap();
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), 4096)
                    .await
                    .unwrap();
                (status, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        assert_eq!(
            call("application/json", r#"{"text":"hi"}"#).await,
            (StatusCode::OK, "hi".to_owned())
        );
        for (content_type, body) in [
            ("application/json", r#"{"words":"hi"}"#),
            ("application/json", "not json"),
            ("text/plain", r#"{"text":"hi"}"#),
        ] {
            let (status, reply) = call(content_type, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
            let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
            assert!(
                reply["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{reply}"
            );
        }
    }
}
