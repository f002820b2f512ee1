//! The server's HTTP API as the terminal client calls it: list, read, create, rename, archive
//! and delete sessions, read a session's events after a sequence number, stop a run, search,
//! list Codex's own threads and open one, and read the Codex account and sign Codex in and out.
//!
//! Each call is one request with the bearer token (when the endpoint has one) and maps every
//! failure to a [`ClientError`] whose text is one line a person can act on. It owns no state: a
//! `reqwest::Client` lives for one call, so calls work from any runtime (each test has its own).
//! It must not print anything or escape text for a terminal; its callers do that. An API key
//! it is given goes into one request body and nowhere else (no error, no log).

use std::time::Duration;

use app::wire::{AccountStatus, CodexThread, Event, SearchHit, Seq, SessionKey, SessionSummary};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::{ClientError, Endpoint};

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest server error text kept in a [`ClientError::Server`].
const MAX_ERROR_TEXT: usize = 300;

/// The sessions, most recent first.
pub async fn sessions(endpoint: &Endpoint) -> Result<Vec<SessionSummary>, ClientError> {
    let response = request(endpoint, Method::GET, "/api/v1/sessions", None, None).await?;
    decode(response).await
}

/// One session; [`ClientError::UnknownSession`] when there is none with this key.
pub async fn session(endpoint: &Endpoint, key: &SessionKey) -> Result<SessionSummary, ClientError> {
    let path = format!("/api/v1/sessions/{key}");
    let response = request(endpoint, Method::GET, &path, Some(key), None).await?;
    decode(response).await
}

/// A new session, in the server's default mode.
pub async fn create_session(endpoint: &Endpoint) -> Result<SessionSummary, ClientError> {
    let response = request(endpoint, Method::POST, "/api/v1/sessions", None, None).await?;
    decode(response).await
}

/// Renames the session (`PATCH {"title"}`); the session as renamed. The server folds the
/// title's whitespace and refuses an empty or overlong one ([`ClientError::Server`], its words).
pub async fn rename_session(
    endpoint: &Endpoint,
    key: &SessionKey,
    title: &str,
) -> Result<SessionSummary, ClientError> {
    patch_session(endpoint, key, &serde_json::json!({ "title": title })).await
}

/// Puts the session away (`archived`) or back (`PATCH {"archived"}`); the session afterwards.
pub async fn set_archived(
    endpoint: &Endpoint,
    key: &SessionKey,
    archived: bool,
) -> Result<SessionSummary, ClientError> {
    patch_session(endpoint, key, &serde_json::json!({ "archived": archived })).await
}

async fn patch_session(
    endpoint: &Endpoint,
    key: &SessionKey,
    body: &serde_json::Value,
) -> Result<SessionSummary, ClientError> {
    let path = format!("/api/v1/sessions/{key}");
    let response = request(endpoint, Method::PATCH, &path, Some(key), Some(body)).await?;
    decode(response).await
}

/// Deletes the session and all it stored; a running one is refused ([`ClientError::Server`]
/// with the server's words: stop it first).
pub async fn delete_session(endpoint: &Endpoint, key: &SessionKey) -> Result<(), ClientError> {
    let path = format!("/api/v1/sessions/{key}");
    request(endpoint, Method::DELETE, &path, Some(key), None).await?;
    Ok(())
}

/// Up to `limit` (1 to 10,000; the server clamps) of the session's events after `after`, in order.
pub async fn events_after(
    endpoint: &Endpoint,
    key: &SessionKey,
    after: Seq,
    limit: usize,
) -> Result<Vec<Event>, ClientError> {
    let path = format!("/api/v1/sessions/{key}/events?after={after}&limit={limit}");
    let response = request(endpoint, Method::GET, &path, Some(key), None).await?;
    decode(response).await
}

/// Interrupts the session's running turn; `true` when there was one to stop.
pub async fn stop(endpoint: &Endpoint, key: &SessionKey) -> Result<bool, ClientError> {
    #[derive(serde::Deserialize)]
    struct Stopping {
        stopping: bool,
    }
    let path = format!("/api/v1/sessions/{key}/stop");
    let response = request(endpoint, Method::POST, &path, Some(key), None).await?;
    Ok(decode::<Stopping>(response).await?.stopping)
}

/// The entries that match `words` across every session, best first (at most 50; model prose not
/// included). The server refuses more than 200 characters ([`ClientError::Server`], its words).
pub async fn search(endpoint: &Endpoint, words: &str) -> Result<Vec<SearchHit>, ClientError> {
    let path = format!("/api/v1/search?q={}", percent_encode(words));
    let response = request(endpoint, Method::GET, &path, None, None).await?;
    decode(response).await
}

/// The threads in Codex's own home that worked in a configured workspace, most recently updated
/// first; `503` ([`ClientError::Server`]) while Codex is unavailable.
pub async fn codex_threads(endpoint: &Endpoint) -> Result<Vec<CodexThread>, ClientError> {
    let path = "/api/v1/codex-threads";
    let response = request(endpoint, Method::GET, path, None, None).await?;
    decode(response).await
}

/// The session on Codex thread `id`: a new one holding its earlier turns, or the one it is open
/// in already. Not a thread id, an unknown thread or a folder outside the workspaces is refused
/// (`400`, the server's words).
pub async fn open_codex_thread(
    endpoint: &Endpoint,
    id: &str,
) -> Result<SessionSummary, ClientError> {
    let path = format!("/api/v1/codex-threads/{}/open", percent_encode(id));
    let response = request(endpoint, Method::POST, &path, None, None).await?;
    decode(response).await
}

/// `text` for a URL's query value or path segment: every byte but the unreserved ones
/// (`A–Z a–z 0–9 - . _ ~`) as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What Codex works as, whether it runs, and a sign-in in progress.
pub async fn account(endpoint: &Endpoint) -> Result<AccountStatus, ClientError> {
    let response = request(endpoint, Method::GET, "/api/v1/account", None, None).await?;
    decode(response).await
}

/// A device-code sign-in's code and where to enter it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_url: String,
}

/// Starts a device-code sign-in (ending one in progress); every client's account status shows
/// it as waiting until Codex says it completed, failed or expired.
pub async fn login_device_code(endpoint: &Endpoint) -> Result<DeviceCode, ClientError> {
    let body = serde_json::json!({"method": "device_code"});
    let response = request(endpoint, Method::POST, LOGIN, None, Some(&body)).await?;
    decode(response).await
}

/// Hands Codex an OpenAI API key to keep; the account status once Codex took it. The key is in
/// the request body only.
pub async fn login_api_key(endpoint: &Endpoint, key: &str) -> Result<AccountStatus, ClientError> {
    let body = serde_json::json!({"method": "api_key", "api_key": key});
    let response = request(endpoint, Method::POST, LOGIN, None, Some(&body)).await?;
    decode(response).await
}

/// Ends a device-code sign-in in progress (nothing when there is none).
pub async fn cancel_login(endpoint: &Endpoint) -> Result<(), ClientError> {
    let path = "/api/v1/account/login/cancel";
    request(endpoint, Method::POST, path, None, None).await?;
    Ok(())
}

/// Signs Codex out; the account status afterwards.
pub async fn logout(endpoint: &Endpoint) -> Result<AccountStatus, ClientError> {
    let path = "/api/v1/account/logout";
    let response = request(endpoint, Method::POST, path, None, None).await?;
    decode(response).await
}

const LOGIN: &str = "/api/v1/account/login";

/// Sends one request to `path` (with `body` as JSON, if any) and turns a refusal into its
/// [`ClientError`]. `session` is the session the path names: its 404 means
/// [`ClientError::UnknownSession`].
async fn request(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    session: Option<&SessionKey>,
    body: Option<&serde_json::Value>,
) -> Result<Response, ClientError> {
    let unreachable = |reason: String| ClientError::Unreachable {
        url: endpoint.base_url.clone(),
        reason,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        // Redirects are not part of this API; one would only lead somewhere unexpected.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| unreachable(error_chain(&e)))?;
    let mut builder: RequestBuilder =
        client.request(method, format!("{}{path}", endpoint.base_url));
    if let Some(token) = &endpoint.token {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = body {
        builder = builder.json(body);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status == StatusCode::UNAUTHORIZED {
        return Err(ClientError::Unauthorized);
    }
    if let (StatusCode::NOT_FOUND, Some(key)) = (status, session) {
        return Err(ClientError::UnknownSession(key.to_string()));
    }
    let body = response.text().await.unwrap_or_default();
    Err(ClientError::Server {
        status: status.as_u16(),
        message: error_text(&body),
    })
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let body = response
        .bytes()
        .await
        .map_err(|e| ClientError::Protocol(error_chain(&e)))?;
    serde_json::from_slice(&body).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// The server's own words from an `{"error": …}` body, else the body's first line (bounded).
fn error_text(body: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.lines().next().unwrap_or("").to_owned());
    let text = text.trim();
    if text.is_empty() {
        return "(no error text)".to_owned();
    }
    truncate(text, MAX_ERROR_TEXT)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Why a request failed, on one line: the deepest cause, which is what a person can act on
/// ("Connection refused (os error 111)"); reqwest's own text ("error sending request for url
/// …") says nothing more than that the request failed.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut deepest = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        deepest = cause.to_string();
        source = cause.source();
    }
    deepest.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_prefers_the_servers_error_field() {
        assert_eq!(
            error_text(r#"{"error":"Message is empty."}"#),
            "Message is empty."
        );
        assert_eq!(error_text("plain\nsecond"), "plain");
        assert_eq!(error_text(""), "(no error text)");
        let long = "é".repeat(400);
        assert!(error_text(&long).len() <= MAX_ERROR_TEXT + '…'.len_utf8());
    }

    #[test]
    fn percent_encode_keeps_only_unreserved_bytes() {
        assert_eq!(percent_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
        assert_eq!(
            percent_encode("a b&q=1#x/é+%"),
            "a%20b%26q%3D1%23x%2F%C3%A9%2B%25"
        );
        assert_eq!(percent_encode(""), "");
    }
}
