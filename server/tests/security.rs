//! The security edge of a real server (real Codex binary, demo model): a non-loopback bind needs
//! an access token and refuses everything without it (pages, API, WebSocket, server functions,
//! static files), the bearer token and the cookie from a single-use pairing link work, the
//! Host/Origin guard still applies to authenticated requests, and every page carries a
//! Content-Security-Policy whose nonce is on every inline script. (Cross-origin and forged-Host
//! refusals on a loopback server are in `web_edge.rs`.)

mod common;

use codex_webchat::config::{AuthSettings, AuthToken, Config};
use codex_webchat::serve::{self, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "security-test-token-0123456789abcdef";
const PUBLIC_HOST: &str = "chat.example.lan:8443";

/// A parsed HTTP/1.1 response.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the test connects: a server bound to `0.0.0.0` is reached through `127.0.0.1`.
fn local(server: &Running) -> std::net::SocketAddr {
    let mut addr = server.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

/// Sends one raw request (`Connection: close` is added) and reads the whole answer.
async fn request(server: &Running, head: &str, body: &str) -> Reply {
    let mut tcp = tokio::net::TcpStream::connect(local(server)).await.unwrap();
    let raw = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tcp.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn get(server: &Running, path: &str, extra: &str) -> Reply {
    let host = local(server);
    request(
        server,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}{extra}"),
        "",
    )
    .await
}

/// Opens the WebSocket with the given extra headers; the HTTP status of a refusal, or 101.
async fn ws_status(server: &Running, headers: &[(&'static str, String)]) -> u16 {
    let mut req = format!("ws://{}/ws", local(server))
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, resp)) => {
            let _ = ws.close(None).await;
            resp.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("WebSocket failed without an HTTP answer: {e}"),
    }
}

fn token_config(dir: &std::path::Path) -> Config {
    Config {
        addr: "0.0.0.0:0".parse().unwrap(),
        auth: AuthSettings {
            token: Some(AuthToken::new(TOKEN).unwrap()),
            public_hosts: vec![PUBLIC_HOST.to_owned()],
        },
        ..common::config(dir)
    }
}

#[tokio::test]
async fn a_non_loopback_bind_without_a_token_does_not_start() {
    let dir = common::data_dir("sec-notoken");
    let config = Config {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..common::config(dir.path())
    };
    let err = match serve::start(config).await {
        Ok(running) => {
            running.shutdown().await;
            panic!("a non-loopback server without a token must not start")
        }
        Err(e) => e.to_string(),
    };
    assert!(err.contains("without an access token"), "{err}");
    assert!(err.contains("CODEX_WEBCHAT_TOKEN"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_a_non_loopback_server_refuses_everything() {
    let dir = common::data_dir("sec-refuse");
    let server = serve::start(token_config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let host = local(&server);

    for path in [
        "/".to_owned(),
        format!("/sessions/{key}"),
        "/api/v1/sessions".to_owned(),
        format!("/api/v1/sessions/{key}/events"),
        "/healthz".to_owned(),
        "/api/v1/account".to_owned(),
        "/pkg/webchat.js".to_owned(),
        "/no-such-page".to_owned(),
    ] {
        let reply = get(&server, &path, "").await;
        assert_eq!(reply.status, 401, "GET {path}: {}", reply.body);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{path}");
    }
    // A wrong token and a forged cookie are no better than none.
    let wrong = get(
        &server,
        "/api/v1/sessions",
        "\r\nAuthorization: Bearer security-test-token-0123456789abcdeX",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let forged = get(
        &server,
        "/api/v1/sessions",
        "\r\nCookie: codex_webchat_session=00.00",
    )
    .await;
    assert_eq!(forged.status, 401);

    let same_origin = format!("\r\nOrigin: http://{host}");
    let server_fn = request(
        &server,
        &format!(
            "POST /api/page HTTP/1.1\r\nHost: {host}{same_origin}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        &format!("session={key}"),
    )
    .await;
    assert_eq!(server_fn.status, 401, "{}", server_fn.body);
    let create = request(
        &server,
        &format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {host}{same_origin}"),
        "",
    )
    .await;
    assert_eq!(create.status, 401);
    let message = request(
        &server,
        &format!(
            "POST /api/v1/sessions/{key}/messages HTTP/1.1\r\nHost: {host}{same_origin}\r\nContent-Type: application/json"
        ),
        r#"{"text":"hi"}"#,
    )
    .await;
    assert_eq!(message.status, 401);
    // Signing Codex in or out is the operator's: without the token, none of it.
    for (path, body) in [
        ("/api/v1/account/login", r#"{"method":"device_code"}"#),
        (
            "/api/v1/account/login",
            r#"{"method":"api_key","api_key":"sk-x"}"#,
        ),
        ("/api/v1/account/login/cancel", ""),
        ("/api/v1/account/logout", ""),
    ] {
        let reply = request(
            &server,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: {host}{same_origin}\r\nContent-Type: application/json"
            ),
            body,
        )
        .await;
        assert_eq!(reply.status, 401, "POST {path}");
    }
    assert_eq!(
        ws_status(&server, &[("origin", format!("http://{host}"))]).await,
        401
    );
    // Nothing got through to the gateway.
    assert_eq!(
        server.gateway.store().last_seq(&key).unwrap(),
        app::wire::Seq::ZERO
    );
    assert_eq!(server.gateway.sessions().unwrap().len(), 1);

    // The Host guard runs first: a forged Host is refused as such, token or not.
    let rebound = request(
        &server,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: rebound.example:{}\r\nAuthorization: Bearer {TOKEN}",
            host.port()
        ),
        "",
    )
    .await;
    assert_eq!(rebound.status, 403);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_and_the_paired_cookie_work_and_origin_is_still_checked() {
    let dir = common::data_dir("sec-auth");
    let server = serve::start(token_config(dir.path())).await.unwrap();
    let host = local(&server);
    let bearer = format!("\r\nAuthorization: Bearer {TOKEN}");

    let listed = get(&server, "/api/v1/sessions", &bearer).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    // The configured public host name is accepted in Host and Origin.
    let public = request(
        &server,
        &format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\nOrigin: http://{PUBLIC_HOST}{bearer}"),
        "",
    )
    .await;
    assert_eq!(public.status, 201, "{}", public.body);
    // Authenticated or not, a cross-origin write is refused.
    let cross = request(
        &server,
        &format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example{bearer}"
        ),
        "",
    )
    .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        ws_status(
            &server,
            &[
                ("origin", "http://evil.example".to_owned()),
                ("authorization", format!("Bearer {TOKEN}")),
            ]
        )
        .await,
        403
    );

    // Pairing: the link sets an HttpOnly, SameSite=Strict session cookie, once.
    let link = server.pairing_link().unwrap();
    assert!(
        link.starts_with(&format!("http://{PUBLIC_HOST}/pair?code=")),
        "{link}"
    );
    let code = link.rsplit_once("code=").unwrap().1;
    let paired = get(&server, &format!("/pair?code={code}"), "").await;
    assert_eq!(paired.status, 200, "{}", paired.body);
    let set_cookie = paired.header("set-cookie").unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let again = get(&server, &format!("/pair?code={code}"), "").await;
    assert_eq!(again.status, 401, "a pairing link works once");
    let unknown = get(&server, "/pair?code=deadbeef", "").await;
    assert_eq!(unknown.status, 401);

    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let with_cookie = format!("\r\nCookie: {cookie}");
    let key = server.gateway.create_session().unwrap().key;
    let page = get(&server, &format!("/sessions/{key}"), &with_cookie).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-testid=\"composer\""));
    let server_fn = request(
        &server,
        &format!(
            "POST /api/page HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}{with_cookie}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        &format!("session={key}"),
    )
    .await;
    assert_ne!(server_fn.status, 401, "{}", server_fn.body);
    assert_ne!(server_fn.status, 403, "{}", server_fn.body);
    assert_eq!(
        ws_status(
            &server,
            &[("origin", format!("http://{host}")), ("cookie", cookie)]
        )
        .await,
        101
    );

    // An authenticated client can mint a pairing link for another browser.
    let minted = request(
        &server,
        &format!("POST /api/v1/pairing HTTP/1.1\r\nHost: {host}{bearer}"),
        "",
    )
    .await;
    assert_eq!(minted.status, 200, "{}", minted.body);
    let path: serde_json::Value = serde_json::from_str(&minted.body).unwrap();
    let path = path["path"].as_str().unwrap().to_owned();
    assert_eq!(get(&server, &path, "").await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_csp_whose_nonce_is_on_every_inline_script() {
    let dir = common::data_dir("sec-csp");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let page = get(&server, &format!("/sessions/{key}"), "").await;
    assert_eq!(page.status, 200);
    let csp = page
        .header("content-security-policy")
        .expect("pages carry a CSP")
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page policy names a nonce");
    assert!(nonce.len() >= 16, "{csp}");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let scripts: Vec<&str> = page.body.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "hydration needs its bootstrap script");
    for script in &scripts {
        let tag = script.split('>').next().unwrap_or("");
        let inline = !tag.contains("src=");
        if inline {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "an inline script without the page's nonce: <script{tag}>"
            );
        }
    }
    // A new page gets a new nonce.
    let again = get(&server, &format!("/sessions/{key}"), "").await;
    assert!(!again
        .header("content-security-policy")
        .unwrap()
        .contains(nonce));
    // The not-found page is a Leptos page too, with its own nonce on its scripts.
    let missing = get(&server, "/sessions/", "").await;
    assert_eq!(missing.status, 404);
    let missing_csp = missing.header("content-security-policy").unwrap();
    let missing_nonce = missing_csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the not-found page's policy names a nonce");
    assert!(missing.body.contains(&format!(
        "<script type=\"module\" nonce=\"{missing_nonce}\">"
    )));
    // Everything else gets the policy without a nonce: no inline script at all.
    let api = get(&server, "/api/v1/sessions", "").await;
    let api_csp = api.header("content-security-policy").unwrap();
    assert!(
        api_csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{api_csp}"
    );
    server.shutdown().await;
}
