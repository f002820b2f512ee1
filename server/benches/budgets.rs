//! `cargo bench -p codex-webchat --bench budgets`: measures the budgets of PRODUCT.md that do not
//! need a browser, and prints the figures. Timings are read, not enforced (they depend on the
//! machine); the one figure that does not, the chat page's compressed script (wasm + JS at most
//! 200 KB as the browser loads it, brotli), makes the bench exit non-zero when it is over.
//!
//! What it measures (release build, in-process server, the real Codex binary in the background):
//! first page after start, idle RSS, SSR of a 1,000-entry session and of a 10,000-entry one
//! (paged), export of the 10,000-entry one (Markdown and JSON), search over 100,000 events,
//! reconnect catch-up of 1,000 missed events over the WebSocket, store append rate, and
//! the compressed size of the chat page's wasm + JS (from `target/site`, so run `cargo leptos build --release` first for that line).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use app::wire::{ClientFrame, Seq, ServerFrame, SessionKey};
use codex_webchat::config::{Config, ModelMode};
use codex_webchat::store::{NewEvent, RecordBody};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn config(dir: &std::path::Path) -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        model: ModelMode::Demo,
        codex_bin: root().join(codex_webchat::config::BUNDLED_CODEX),
        codex_home: Some(dir.join("codex-home")),
        site_root: root().join("target/site"),
        sandbox: "danger-full-access".to_owned(),
        default_mode: app::wire::Mode::Auto,
        turn_stall: Duration::from_secs(120),
        codex_request_timeout: Duration::from_secs(60),
        hook_timeout_secs: 10,
        hook_exe: None,
        deny_rules: Vec::new(),
        auth: Default::default(),
        channels: Default::default(),
        schedules: Vec::new(),
        workspaces: Vec::new(),
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (String, usize) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tcp.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    (text.lines().next().unwrap_or("").to_owned(), buf.len())
}

/// The size of `path` compressed by `program` (`gzip` or `brotli`, at their best) to stdout.
fn compressed_size(program: &str, path: &std::path::Path) -> Option<usize> {
    // Brotli 1.0.9 (Debian's) wants the quality as a separate argument: `-q11` is an error.
    let best: &[&str] = if program == "brotli" {
        &["-q", "11"]
    } else {
        &["-9"]
    };
    let out = std::process::Command::new(program)
        .args(best)
        .arg("-c")
        .arg(path)
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout.len())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::Builder::new()
        .prefix("bench")
        .tempdir_in(root().join("target"))
        .unwrap();
    println!(
        "codex-webchat budgets (see PRODUCT.md for the targets; only the script size is enforced)"
    );

    let started = Instant::now();
    let server = codex_webchat::serve::start(config(dir.path()))
        .await
        .unwrap();
    let (status, _) = get(server.addr, "/healthz").await;
    let to_health = started.elapsed();
    let (status_root, _) = get(server.addr, "/").await;
    println!(
        "first response after start: {:.1} ms (healthz {status}); first page (/ -> redirect) at {:.1} ms ({status_root})",
        to_health.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
    let _ = server.gateway.codex().ready(Duration::from_secs(30)).await;
    println!(
        "RSS of this process at idle (server + bench harness, Codex excluded): {:.1} MiB",
        rss_mib()
    );

    // A session with 1,000 visible entries, then one with 10,000: each page holds the most
    // recent window (200 events; the rest a scroll up away), so both cost the same.
    let store = server.gateway.store().clone();
    let key = server.gateway.create_session().unwrap().key;
    let t = Instant::now();
    fill(&store, &key, 1_000);
    let per_append = t.elapsed() / 1000;
    println!(
        "store append: {:.1} µs per event (1,000 events)",
        per_append.as_secs_f64() * 1e6
    );
    ssr(server.addr, &key, "a 1,000-entry session").await;
    let long = server.gateway.create_session().unwrap().key;
    fill(&store, &long, 10_000);
    ssr(server.addr, &long, "a 10,000-entry session (paged)").await;

    // Export of the 10,000-entry session, both formats.
    for (what, run) in [("Markdown", true), ("JSON", false)] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            if run {
                std::hint::black_box(server.gateway.export_markdown(&long).unwrap());
            } else {
                std::hint::black_box(
                    serde_json::to_string(&server.gateway.export_json(&long).unwrap()).unwrap(),
                );
            }
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "export of a 10,000-event session as {what}: median {:.1} ms (budget < 200 ms)",
            percentile(&times, 0.5).as_secs_f64() * 1e3
        );
    }

    // Search over 100,000 events: 89 more sessions of 1,000, then common, rare and prefix terms.
    for _ in 0..89 {
        let more = server.gateway.create_session().unwrap().key;
        fill(&store, &more, 1_000);
    }
    let mut times = Vec::new();
    for round in 0..40 {
        for terms in [
            "words",
            "number 4217",
            "paragra",
            "link example",
            "nothing-matches-this",
        ] {
            let t = Instant::now();
            let hits = server.gateway.search(terms, round % 2 == 0).unwrap();
            times.push(t.elapsed());
            std::hint::black_box(hits);
        }
    }
    times.sort();
    println!(
        "search over 100,000 events ({} queries of 5 kinds): p50 {:.2} ms, p95 {:.2} ms (budget p95 < 20 ms)",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3
    );

    // Reconnect and catch up 1,000 missed events.
    let mut times = Vec::new();
    for _ in 0..10 {
        times.push(catch_up(server.addr, &key, 1000).await);
    }
    times.sort();
    println!(
        "reconnect + catch-up of 1,000 events over the WebSocket: median {:.1} ms, p90 {:.1} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3
    );

    let script_ok = script_size();
    println!("RSS after the runs above: {:.1} MiB", rss_mib());
    server.shutdown().await;
    if !script_ok {
        std::process::exit(1);
    }
}

/// Everything the chat page loads as script, compressed, in bytes (KB = 1,000 bytes).
const SCRIPT_BUDGET: usize = 200_000;

/// Prints the compressed size of the chat page's wasm + JS against [`SCRIPT_BUDGET`]: brotli, what
/// the server sends a browser that accepts it (Chromium does, also over plain HTTP on loopback;
/// `scripts/precompress.sh` writes the `.br` files), and gzip for a browser that does not. Returns
/// `false` when the brotli figure is over: unlike the timings, a size does not depend on the
/// machine, so the bench fails on it (after printing every other figure).
fn script_size() -> bool {
    let pkg = root().join("target/site/pkg");
    let sizes = |program| {
        Some((
            compressed_size(program, &pkg.join("webchat.wasm"))?,
            compressed_size(program, &pkg.join("webchat.js"))?,
        ))
    };
    let Some((gz_wasm, gz_js)) = sizes("gzip") else {
        println!("chat page script: not built (run cargo leptos build --release)");
        return true;
    };
    let Some((wasm, js)) = sizes("brotli") else {
        println!("chat page script: brotli is missing (scripts/setup.sh installs it)");
        return false;
    };
    let total = wasm + js;
    let verdict = if total <= SCRIPT_BUDGET {
        format!("ok, {} B to spare", SCRIPT_BUDGET - total)
    } else {
        format!("OVER BUDGET by {} B", total - SCRIPT_BUDGET)
    };
    println!(
        "chat page script, brotli -q11 (what the browser loads): wasm {wasm} B + JS {js} B = \
         {total} B = {:.1} KB (budget: wasm + JS <= {} KB): {verdict}; gzip -9 for browsers \
         without brotli: {} B",
        total as f64 / 1000.0,
        SCRIPT_BUDGET / 1000,
        gz_wasm + gz_js,
    );
    total <= SCRIPT_BUDGET
}

/// Appends `n` entries to `key`: user messages and Markdown replies, alternating.
fn fill(store: &codex_webchat::store::Store, key: &SessionKey, n: u32) {
    for i in 0..n {
        let body = if i % 2 == 0 {
            RecordBody::UserMessage {
                text: format!("message number {i} with some words in it"),
                client_id: format!("c{i}"),
                source: Default::default(),
                steered: false,
                images: Vec::new(),
            }
        } else {
            RecordBody::AssistantMessage {
                text: format!("**Reply {i}**: a paragraph with `code`, a [link](https://example.com) and a list:\n\n- one\n- two\n"),
                call_id: Some(format!("call{i}").into()),
            }
        };
        store
            .append(
                key,
                NewEvent {
                    run: None,
                    private: false,
                    body: &body,
                    idem_key: None,
                    at_ms: 0,
                },
            )
            .unwrap();
    }
}

/// Fetches the session's page 20 times (after a warm-up) and prints the server time.
async fn ssr(addr: std::net::SocketAddr, key: &SessionKey, what: &str) {
    let page = format!("/sessions/{key}");
    let _ = get(addr, &page).await; // warm-up
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (status, n) = get(addr, &page).await;
        times.push(t.elapsed());
        bytes = n;
        assert!(status.contains("200"), "{status}");
    }
    times.sort();
    println!(
        "SSR of {what}: median {:.1} ms, p90 {:.1} ms ({} KiB of HTML)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3,
        bytes / 1024
    );
}

/// Connects, subscribes from 0 and returns the time until the `n`-th event arrived.
async fn catch_up(addr: std::net::SocketAddr, key: &SessionKey, n: u64) -> Duration {
    let t = Instant::now();
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let frame = ClientFrame::Subscribe {
        session: key.clone(),
        after: Seq::ZERO,
        recent: None,
    };
    ws.send(Message::Text(serde_json::to_string(&frame).unwrap().into()))
        .await
        .unwrap();
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            if let Ok(ServerFrame::Event { event, .. }) = serde_json::from_str(t.as_str()) {
                if event.seq.0 >= n {
                    break;
                }
            }
        }
    }
    t.elapsed()
}
