//! Images at the HTTP edge (a whole server on the fake app-server): `POST /api/v1/images` stores
//! an image under its SHA-256 with the type sniffed from its bytes (never from its name or
//! Content-Type), refuses what is not an image or is over 10 MB, `GET /api/v1/images/{id}`
//! serves it back with that type, `nosniff` and a long cache, only to authenticated clients when
//! a token is configured, and a send refuses unknown ids and more than 8 images.

mod common;

use std::path::{Path, PathBuf};

use codex_webchat::config::{AuthSettings, AuthToken, Config};
use codex_webchat::serve::{self, Running};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FAKE_CODEX: &str = env!("CARGO_BIN_EXE_codex-webchat-fake-codex");
const TOKEN: &str = "images-test-token-0123456789abcdef";
/// A real 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn config(dir: &Path) -> Config {
    let mut config = common::config(dir);
    config.codex_bin = PathBuf::from(FAKE_CODEX);
    config
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn local(server: &Running) -> std::net::SocketAddr {
    let mut addr = server.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    addr
}

/// One raw HTTP/1.1 request with a binary body; `extra` are further header lines.
async fn request(server: &Running, method: &str, path: &str, extra: &[&str], body: &[u8]) -> Reply {
    let mut tcp = tokio::net::TcpStream::connect(local(server)).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        local(server),
        body.len()
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    // A refusal may come before the whole body is read, and the server may then close.
    let _ = tcp.write_all(body).await;
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked")
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

async fn upload(server: &Running, name: &str, content_type: &str, body: &[u8]) -> Reply {
    request(
        server,
        "POST",
        &format!("/api/v1/images?name={name}"),
        &[&format!("Content-Type: {content_type}")],
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_png_named_txt_is_stored_as_png_and_served_back_with_its_sniffed_type() {
    let dir = common::data_dir("images-png");
    let server = serve::start(config(dir.path())).await.unwrap();
    let reply = upload(&server, "x.txt", "text/plain", PNG).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let image = reply.json();
    assert_eq!(image["name"], "x.txt");
    assert_eq!(image["mime"], "image/png");
    let id = image["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 64);
    // Content-addressed under the data folder.
    assert_eq!(
        std::fs::read(dir.path().join("images").join(&id)).unwrap(),
        PNG
    );
    // The same bytes again are the same image.
    let again = upload(&server, "y.png", "image/png", PNG).await;
    assert_eq!(again.json()["id"], id.as_str());

    let served = request(&server, "GET", &format!("/api/v1/images/{id}"), &[], b"").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body, PNG);
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert!(
        served
            .header("cache-control")
            .is_some_and(|c| c.contains("max-age=31536000")),
        "{:?}",
        served.headers
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_named_png_and_oversized_images_are_refused_with_clear_errors() {
    let dir = common::data_dir("images-refused");
    let server = serve::start(config(dir.path())).await.unwrap();

    let text = upload(&server, "x.png", "image/png", b"just some text").await;
    assert_eq!(text.status, 400);
    assert_eq!(
        text.json()["error"],
        "Only PNG, JPEG, WebP and GIF images can be attached."
    );
    let svg = upload(
        &server,
        "x.svg",
        "image/svg+xml",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    )
    .await;
    assert_eq!(svg.status, 400);

    let empty = upload(&server, "x.png", "image/png", b"").await;
    assert_eq!(empty.status, 400);

    let mut big = PNG.to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let too_big = upload(&server, "big.png", "image/png", &big).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.json()["error"], "The image is larger than 10 MB.");
    // Exactly 10 MB is allowed.
    big.truncate(10 * 1024 * 1024);
    assert_eq!(
        upload(&server, "ok.png", "image/png", &big).await.status,
        201
    );

    // Nothing but the one accepted image was stored.
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("images"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().contains('.'))
        .collect();
    assert_eq!(stored.len(), 1);

    for (path, status) in [
        ("/api/v1/images/..%2Fwebchat.sqlite3", 400),
        (&format!("/api/v1/images/{}", "A".repeat(64)), 400),
        (&format!("/api/v1/images/{}", "b".repeat(64)), 404),
    ] {
        let reply = request(&server, "GET", path, &[], b"").await;
        assert_eq!(reply.status, status, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_with_unknown_or_more_than_eight_images_is_refused_and_stores_nothing() {
    let dir = common::data_dir("images-send");
    let server = serve::start(config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    let id = upload(&server, "a.png", "image/png", PNG).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = |images: Vec<String>| {
        serde_json::to_vec(&serde_json::json!({"text": "look", "images": images})).unwrap()
    };
    let path = format!("/api/v1/sessions/{key}/messages");
    let json = ["Content-Type: application/json"];

    let nine = request(&server, "POST", &path, &json, &send(vec![id.clone(); 9])).await;
    assert_eq!(nine.status, 400);
    assert_eq!(
        nine.json()["error"],
        "A message may carry at most 8 images."
    );
    let unknown = "c".repeat(64);
    let reply = request(&server, "POST", &path, &json, &send(vec![unknown.clone()])).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains(&unknown)),
        "{}",
        reply.json()
    );
    let bad = request(&server, "POST", &path, &json, &send(vec!["../x".into()])).await;
    assert_eq!(bad.status, 400);
    assert!(server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 100)
        .unwrap()
        .is_empty());

    // Eight known images are accepted and stored with the message.
    let ok = request(&server, "POST", &path, &json, &send(vec![id.clone(); 8])).await;
    assert_eq!(ok.status, 202, "{}", String::from_utf8_lossy(&ok.body));
    let events = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 100)
        .unwrap();
    let images = events
        .iter()
        .find_map(|e| match &e.body {
            app::wire::EventBody::UserMessage { images, .. } => Some(images.clone()),
            _ => None,
        })
        .expect("the message");
    assert_eq!(images.len(), 8);
    assert_eq!(images[0].id, id);
    assert_eq!(images[0].name, "a.png");
    assert_eq!(images[0].mime, "image/png");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_image_needs_the_token_like_the_rest_of_the_api() {
    let dir = common::data_dir("images-auth");
    let config = Config {
        addr: "0.0.0.0:0".parse().unwrap(),
        auth: AuthSettings {
            token: Some(AuthToken::new(TOKEN).unwrap()),
            public_hosts: Vec::new(),
        },
        ..config(dir.path())
    };
    let server = serve::start(config).await.unwrap();
    let bearer = format!("Authorization: Bearer {TOKEN}");

    let refused = upload(&server, "a.png", "image/png", PNG).await;
    assert_eq!(refused.status, 401);
    let uploaded = request(
        &server,
        "POST",
        "/api/v1/images?name=a.png",
        &[&bearer],
        PNG,
    )
    .await;
    assert_eq!(uploaded.status, 201);
    let id = uploaded.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/images/{id}");

    let anonymous = request(&server, "GET", &path, &[], b"").await;
    assert_eq!(anonymous.status, 401);
    assert_ne!(anonymous.body, PNG);
    let wrong = request(&server, "GET", &path, &["Authorization: Bearer nope"], b"").await;
    assert_eq!(wrong.status, 401);
    let served = request(&server, "GET", &path, &[&bearer], b"").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body, PNG);
    server.shutdown().await;
}
