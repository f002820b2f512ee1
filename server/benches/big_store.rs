//! `cargo bench -p codex-webchat --bench big_store`: issue 14's "big store" case. A year of heavy
//! use, 100,000 sessions and 2,000,000 events, is written through the store's own API (the same
//! append every event takes), then the real `codex-webchat` binary is started on it, in its own
//! process (so its RSS is the server's alone), and measured: spawn → first HTTP answer, idle RSS,
//! a session's page, the session list, and a search. Each figure is printed next to its budget;
//! nothing is asserted beyond "the server answered what it should".
//!
//! Writing the store takes minutes, so it is kept in `target/bench-big-store/` and reused while
//! its generator's version (below) is the same; a store from an older build is migrated on open,
//! as a person's would be. `BIG_STORE_SESSIONS` makes a smaller store (another folder) when
//! working on the bench itself.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::wire::SessionKey;
use codex_webchat::store::{NewEvent, RecordBody, Store};

mod support;
use support::{root, rss_mib, start, Server};

/// Bump when what the generator writes changes: the kept store is then written again.
const GENERATOR_VERSION: u32 = 1;
const SESSIONS: usize = 100_000;
const EVENTS_PER_SESSION: usize = 20;
/// The one long session: 200 messages (100 turns), the page budget's case.
const LONG_SESSION_TURNS: usize = 100;
/// How many times each request is timed.
const SAMPLES: usize = 30;

const WORDS: [&str; 16] = [
    "cargo",
    "build",
    "failing",
    "test",
    "parser",
    "schema",
    "migration",
    "sqlite",
    "deploy",
    "branch",
    "review",
    "refactor",
    "latency",
    "memory",
    "socket",
    "render",
];

fn key(i: usize) -> SessionKey {
    SessionKey::parse(&format!("big-{i:06}")).unwrap()
}

fn long_key() -> SessionKey {
    SessionKey::parse("big-long").unwrap()
}

/// A line of plausible chat text: findable words, different in every event.
fn line(i: usize, j: usize) -> String {
    let w = |k: usize| WORDS[(i * 7 + j * 3 + k) % WORDS.len()];
    format!(
        "Session {i} step {j}: the {} {} after the {} {}; see `src/{}.rs` line {}.",
        w(0),
        w(1),
        w(2),
        w(3),
        w(4),
        (i + j) % 400
    )
}

fn append(store: &Store, key: &SessionKey, body: &RecordBody, at_ms: i64) {
    store
        .append(
            key,
            NewEvent {
                run: None,
                private: false,
                body,
                idem_key: None,
                at_ms,
            },
        )
        .unwrap();
}

fn user(text: String) -> RecordBody {
    RecordBody::UserMessage {
        text,
        client_id: String::new(),
        source: Default::default(),
        steered: false,
        images: Vec::new(),
    }
}

fn reply(text: String) -> RecordBody {
    RecordBody::AssistantMessage {
        text,
        call_id: None,
    }
}

/// The kept store for `sessions` sessions, written first if it is not there yet.
fn big_store(sessions: usize) -> PathBuf {
    let dir = root()
        .join("target")
        .join(format!("bench-big-store-v{GENERATOR_VERSION}-{sessions}"));
    let done = dir.join("complete");
    if done.is_file() {
        println!("  (reusing the store in {})", dir.display());
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("webchat.sqlite3")).unwrap();
    let t = Instant::now();
    let start_ms: i64 = 1_700_000_000_000;
    for i in 0..sessions {
        let k = key(i);
        let at = start_ms + i as i64 * 1000;
        store.create_session(&k, &line(i, 0), at).unwrap();
        for j in 0..EVENTS_PER_SESSION / 2 {
            append(&store, &k, &user(line(i, 2 * j)), at + j as i64);
            append(&store, &k, &reply(line(i, 2 * j + 1)), at + j as i64);
        }
        if i % 10_000 == 9_999 {
            println!(
                "  writing the store: {} sessions in {:.0} s",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    let long = long_key();
    let at = start_ms + sessions as i64 * 1000;
    store.create_session(&long, "a long session", at).unwrap();
    for j in 0..LONG_SESSION_TURNS {
        append(&store, &long, &user(line(sessions, 2 * j)), at + j as i64);
        let text = format!(
            "{}\n\nWith **some** markdown and a [link](https://example.com):\n\n```rust\nfn f() {{}}\n```",
            line(sessions, 2 * j + 1)
        );
        append(&store, &long, &reply(text), at + j as i64);
    }
    store.checkpoint().unwrap();
    drop(store);
    std::fs::write(&done, b"").unwrap();
    println!(
        "  wrote {} sessions, {} events in {:.0} s",
        sessions + 1,
        sessions * EVENTS_PER_SESSION + 2 * LONG_SESSION_TURNS,
        t.elapsed().as_secs_f64()
    );
    dir
}

/// Starts the server on `dir` and returns it with the time from spawn to the first answer to an
/// HTTP request (`/healthz`, sent as soon as the server says it listens).
fn start_timed(dir: &Path) -> (Server, Duration) {
    let t = Instant::now();
    let server = start(dir, None);
    // A plain blocking request: no client set-up inside the measured time beyond the socket.
    let answered = http_get(&server.addr, "/healthz").0;
    let first = t.elapsed();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    (server, first)
}

/// One HTTP/1.1 GET on a fresh connection; the answer's head and body, and its size.
fn http_get(addr: &str, path: &str) -> (String, usize) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let n = out.len();
    (String::from_utf8_lossy(&out).into_owned(), n)
}

/// Median and p95 of `SAMPLES` timed GETs of `path`, and the answer's size.
fn timed(addr: &str, path: &str, expect: &str) -> String {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let (answer, n) = http_get(addr, path);
        times.push(t.elapsed());
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer:.300}");
        assert!(answer.contains(expect), "{path} lacks {expect:?}");
        size = n;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.1} ms, p95 {:.1} ms, {} KiB",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        size / 1024
    )
}

fn main() {
    let sessions = std::env::var("BIG_STORE_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SESSIONS);
    println!(
        "codex-webchat big-store budgets: {} sessions, {} events (figures, next to their budgets)",
        sessions + 1,
        sessions * EVENTS_PER_SESSION + 2 * LONG_SESSION_TURNS
    );
    let dir = big_store(sessions);
    let db = dir.join("webchat.sqlite3");
    println!(
        "  store file: {:.0} MiB",
        std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / (1024.0 * 1024.0)
    );

    // The first start after writing may migrate (an older kept store); the figure is a later
    // start's, as a person restarting sees it: three starts, the median.
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let (server, first) = start_timed(&dir);
        firsts.push(first);
        drop(server);
    }
    firsts.sort();
    println!(
        "  spawn -> first HTTP answer: median {:.1} ms of 3 starts (budget <= 50 ms)",
        firsts[1].as_secs_f64() * 1000.0
    );

    let (server, _) = start_timed(&dir);
    let addr = server.addr.clone();
    let mid = key(sessions / 2);
    println!(
        "  page of a 20-event session: {}",
        timed(&addr, &format!("/sessions/{mid}"), "data-testid=\"entry\"")
    );
    println!(
        "  page of the 200-message session: {} (the browser's figure is end2end's page bench, budget <= 150 ms)",
        timed(&addr, &format!("/sessions/{}", long_key()), "data-testid=\"entry\"")
    );
    println!(
        "  session list (GET /api/v1/sessions): {}",
        timed(&addr, "/api/v1/sessions", &key(sessions - 1).to_string())
    );
    println!(
        "  search (GET /api/v1/search?q=sqlite+migration): {}",
        timed(&addr, "/api/v1/search?q=sqlite+migration", "big-")
    );
    // Idle: the requests above are answered and nothing else is running.
    println!(
        "  RSS idle after those requests: {:.1} MiB (budget <= 40 MB)",
        rss_mib(server.child.id())
    );
}
