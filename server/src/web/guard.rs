//! Request guards at the edge: `Host` against DNS rebinding, `Origin` against cross-site requests.
//!
//! Every request must name one of our own hosts. WebSocket upgrades and every method but GET/HEAD
//! (server functions included) must, when a browser sends an `Origin`, come from our own origin.
//! Non-browser clients send no `Origin` and are let through. This layer decides; it does not
//! authenticate anyone (`auth.rs`, behind it, does when a token is configured).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

#[derive(Clone, Debug)]
pub struct HostPolicy {
    hosts: Arc<Vec<String>>,
}

impl HostPolicy {
    /// The hosts a server answers to: its address and `localhost`, with the port.
    pub fn for_addr(addr: SocketAddr) -> HostPolicy {
        HostPolicy::with_public_hosts(addr, &[])
    }

    /// [`HostPolicy::for_addr`] plus configured public `host:port` names (for servers reached
    /// through another name, e.g. on a LAN or behind a proxy).
    pub fn with_public_hosts(addr: SocketAddr, public_hosts: &[String]) -> HostPolicy {
        let port = addr.port();
        let mut hosts = vec![
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
            addr.to_string(),
        ];
        hosts.extend(public_hosts.iter().cloned());
        hosts.dedup();
        HostPolicy {
            hosts: Arc::new(hosts),
        }
    }

    fn host_ok(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn origin_ok(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|h| self.host_ok(h))
    }

    /// Checks one request's headers.
    pub fn check(&self, method: &Method, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !self.host_ok(host) {
            return Err(ApiError::Forbidden("unexpected Host header"));
        }
        let is_upgrade = headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        let state_changing = !matches!(*method, Method::GET | Method::HEAD) || is_upgrade;
        if state_changing {
            if let Some(origin) = headers.get(header::ORIGIN) {
                let ok = origin.to_str().is_ok_and(|o| self.origin_ok(o));
                if !ok {
                    return Err(ApiError::Forbidden("cross-origin request refused"));
                }
            }
        }
        Ok(())
    }
}

pub async fn guard(State(policy): State<HostPolicy>, req: Request, next: Next) -> Response {
    match policy.check(req.method(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            // The path only: a query can hold a secret (a refused `/pair?code=…` link is still
            // unused, so its code would stay redeemable by anyone who reads the log).
            tracing::warn!(method = %req.method(), path = %req.uri().path(), error = %e, "request refused");
            e.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forged_host_is_refused() {
        let p = HostPolicy::for_addr("127.0.0.1:3000".parse().unwrap());
        assert!(p
            .check(&Method::GET, &headers(&[(header::HOST, "127.0.0.1:3000")]))
            .is_ok());
        assert!(p
            .check(&Method::GET, &headers(&[(header::HOST, "localhost:3000")]))
            .is_ok());
        assert!(p
            .check(
                &Method::GET,
                &headers(&[(header::HOST, "evil.example:3000")])
            )
            .is_err());
        assert!(p.check(&Method::GET, &headers(&[])).is_err());
    }

    #[test]
    fn configured_public_hosts_are_accepted_for_host_and_origin() {
        let p = HostPolicy::with_public_hosts(
            "0.0.0.0:3000".parse().unwrap(),
            &["chat.example.lan:3000".to_owned()],
        );
        let h = headers(&[
            (header::HOST, "Chat.Example.lan:3000"),
            (header::ORIGIN, "http://chat.example.lan:3000"),
        ]);
        assert!(p.check(&Method::POST, &h).is_ok());
        let other = headers(&[(header::HOST, "chat.example.lan:3001")]);
        assert!(p.check(&Method::GET, &other).is_err());
    }

    #[test]
    fn cross_origin_post_and_websocket_are_refused() {
        let p = HostPolicy::for_addr("127.0.0.1:3000".parse().unwrap());
        let post = |origin: &str| {
            p.check(
                &Method::POST,
                &headers(&[(header::HOST, "127.0.0.1:3000"), (header::ORIGIN, origin)]),
            )
        };
        assert!(post("http://127.0.0.1:3000").is_ok());
        assert!(post("http://evil.example").is_err());
        assert!(post("http://127.0.0.1:3001").is_err());
        let ws = p.check(
            &Method::GET,
            &headers(&[
                (header::HOST, "127.0.0.1:3000"),
                (header::UPGRADE, "websocket"),
                (header::ORIGIN, "http://evil.example"),
            ]),
        );
        assert!(ws.is_err());
        // A cross-origin GET of a page is fine: it changes nothing and cannot be read cross-site.
        assert!(p
            .check(
                &Method::GET,
                &headers(&[
                    (header::HOST, "127.0.0.1:3000"),
                    (header::ORIGIN, "http://evil.example")
                ])
            )
            .is_ok());
    }
}
