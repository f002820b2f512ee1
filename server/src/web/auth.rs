//! Authentication for servers that have an access token: the bearer token, one-time pairing
//! links, and the session cookie a pairing link is traded for.
//!
//! Without a token (the loopback default) this layer lets everything through and the Host/Origin
//! guard is the only check. With one, every request but `/pair` and the favicon needs either
//! `Authorization: Bearer <token>` or the session cookie. The cookie is stateless: a random id and
//! an HMAC of it under the token, so it survives restarts and changing the token revokes every
//! cookie at once. Pairing codes live in memory only (a restart prints a new one). Secrets are
//! compared in constant time and never logged. This module does not check Host or Origin; the
//! guard in front of it does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::config::AuthToken;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "codex_webchat_session";
/// How long a pairing link can be used.
pub const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the browser keeps the session cookie: 30 days.
const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// At most this many unused pairing codes are kept; issuing more drops the oldest.
const MAX_PENDING_CODES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The server's authentication state; cheap to clone. [`Auth::open`] requires nothing.
#[derive(Clone, Default)]
pub struct Auth {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// SHA-256 of the token: comparing fixed-length digests hides the token's length.
    token_digest: [u8; 32],
    /// The HMAC key for session cookies (the token itself).
    cookie_key: Vec<u8>,
    /// SHA-256 of each unused pairing code and when it expires.
    pending: Mutex<HashMap<[u8; 32], Instant>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl Auth {
    /// No authentication: every request that passes the Host/Origin guard is served.
    pub fn open() -> Auth {
        Auth { inner: None }
    }

    /// Requires the token or a session cookie on every request.
    pub fn with_token(token: &AuthToken) -> Auth {
        Auth {
            inner: Some(Arc::new(Inner {
                token_digest: Sha256::digest(token.expose().as_bytes()).into(),
                cookie_key: token.expose().as_bytes().to_vec(),
                pending: Mutex::new(HashMap::new()),
            })),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// A new single-use pairing code, valid for [`PAIRING_TTL`]; `None` without a token.
    pub fn issue_pairing_code(&self) -> Option<String> {
        let inner = self.inner.as_ref()?;
        let code = hex::encode(rand::random::<[u8; 32]>());
        let now = Instant::now();
        let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, expires| *expires > now);
        while pending.len() >= MAX_PENDING_CODES {
            let oldest = pending.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k);
            match oldest {
                Some(k) => pending.remove(&k),
                None => break,
            };
        }
        pending.insert(Sha256::digest(code.as_bytes()).into(), now + PAIRING_TTL);
        Some(code)
    }

    /// Consumes a pairing code: true once per issued, unexpired code.
    fn redeem(&self, code: &str) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        // Looked up by digest, so lookup timing tells nothing about the code itself.
        let digest: [u8; 32] = Sha256::digest(code.as_bytes()).into();
        let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        matches!(pending.remove(&digest), Some(expires) if expires > Instant::now())
    }

    fn mac(inner: &Inner) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        HmacSha256::new_from_slice(&inner.cookie_key).expect("HMAC takes any key length")
    }

    /// A new session cookie value: `<random id>.<HMAC(id)>`, both hex.
    fn new_session_value(inner: &Inner) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut mac = Self::mac(inner);
        mac.update(id.as_bytes());
        format!("{id}.{}", hex::encode(mac.finalize().into_bytes()))
    }

    fn session_ok(inner: &Inner, value: &str) -> bool {
        let Some((id, tag)) = value.split_once('.') else {
            return false;
        };
        let Ok(tag) = hex::decode(tag) else {
            return false;
        };
        let mut mac = Self::mac(inner);
        mac.update(id.as_bytes());
        mac.verify_slice(&tag).is_ok()
    }

    fn bearer_ok(inner: &Inner, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|presented| {
                let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
                bool::from(digest.ct_eq(&inner.token_digest))
            })
    }

    fn cookie_ok(inner: &Inner, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .any(|(_, value)| Self::session_ok(inner, value))
    }

    /// Checks one request. Open servers, `/pair` and the favicon need nothing.
    pub fn check(&self, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        if path == "/pair" || path.starts_with("/favicon.") {
            return Ok(());
        }
        if Self::bearer_ok(inner, headers) || Self::cookie_ok(inner, headers) {
            return Ok(());
        }
        Err(ApiError::Unauthorized(
            "authentication required: open a pairing link or send the access token",
        ))
    }
}

/// The middleware: refuses unauthenticated requests with 401 when a token is configured.
pub async fn require(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    match auth.check(req.uri().path(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::warn!(method = %req.method(), uri = %req.uri().path(), "unauthenticated request refused");
            e.into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct PairQuery {
    code: Option<String>,
}

/// `GET /pair?code=…`: trades a pairing code for the session cookie.
///
/// Answers with a small page rather than a redirect: a SameSite=Strict cookie set while following
/// a link from another site is not sent on the redirect that link started, so the person clicks
/// (or the page refreshes) into the chat as a same-site navigation.
pub async fn pair(
    State(auth): State<Auth>,
    Query(q): Query<PairQuery>,
) -> Result<Response, ApiError> {
    let Some(inner) = &auth.inner else {
        return Err(ApiError::NotFound(
            "pairing is off: this server needs no token",
        ));
    };
    if !q.code.as_deref().is_some_and(|c| auth.redeem(c)) {
        tracing::warn!("pairing refused: unknown, used or expired code");
        return Err(ApiError::Unauthorized(
            "this pairing link is invalid, already used or expired",
        ));
    }
    tracing::info!("a browser was paired");
    let cookie = format!(
        "{COOKIE_NAME}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Strict",
        Auth::new_session_value(inner)
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ApiError::Internal)?;
    let page = Html(concat!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"refresh\" content=\"0; url=/\">",
        "<title>Paired · Codex WebChat</title></head>",
        "<body><p>This browser is paired. <a href=\"/\">Open the chat</a>.</p></body></html>"
    ));
    let mut response = page.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /api/v1/pairing` (authenticated): a new pairing link path for another browser.
pub async fn new_pairing(State(auth): State<Auth>) -> Result<Json<serde_json::Value>, ApiError> {
    let code = auth.issue_pairing_code().ok_or(ApiError::NotFound(
        "pairing is off: this server needs no token",
    ))?;
    Ok(Json(serde_json::json!({
        "path": format!("/pair?code={code}"),
        "expires_in_secs": PAIRING_TTL.as_secs(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::with_token(&AuthToken::new("t".repeat(40)).unwrap())
    }

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn open_servers_need_nothing_and_token_servers_need_token_or_cookie() {
        assert!(Auth::open()
            .check("/api/v1/sessions", &HeaderMap::new())
            .is_ok());
        let a = auth();
        assert!(a.check("/api/v1/sessions", &HeaderMap::new()).is_err());
        assert!(a.check("/pair", &HeaderMap::new()).is_ok());
        assert!(a.check("/favicon.svg", &HeaderMap::new()).is_ok());
        let bearer = format!("Bearer {}", "t".repeat(40));
        assert!(a
            .check("/ws", &with(header::AUTHORIZATION, &bearer))
            .is_ok());
        assert!(a
            .check("/ws", &with(header::AUTHORIZATION, "Bearer nope"))
            .is_err());
        let inner = a.inner.as_ref().unwrap();
        let cookie = format!("x=1; {COOKIE_NAME}={}", Auth::new_session_value(inner));
        assert!(a.check("/", &with(header::COOKIE, &cookie)).is_ok());
        // A cookie made under another token is worthless here.
        let other = Auth::with_token(&AuthToken::new("u".repeat(40)).unwrap());
        let foreign = format!(
            "{COOKIE_NAME}={}",
            Auth::new_session_value(other.inner.as_ref().unwrap())
        );
        assert!(a.check("/", &with(header::COOKIE, &foreign)).is_err());
        assert!(a
            .check("/", &with(header::COOKIE, &format!("{COOKIE_NAME}=abc.zz")))
            .is_err());
    }

    #[test]
    fn pairing_codes_are_single_use() {
        let a = auth();
        let code = a.issue_pairing_code().unwrap();
        assert!(!a.redeem("not-a-code"));
        assert!(a.redeem(&code));
        assert!(!a.redeem(&code));
        assert!(Auth::open().issue_pairing_code().is_none());
    }
}
