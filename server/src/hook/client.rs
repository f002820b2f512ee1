//! The `codex-webchat hook relay` command: what Codex runs for every hooked event.
//!
//! It reads the hook payload on stdin (at most 1 MiB; empty means `null`), finds the endpoint
//! through the file named by [`ENDPOINT_ENV`], POSTs the call with a minimal HTTP/1.1 client on a
//! blocking `TcpStream` (no runtime, no HTTP crate: it runs once per tool call and must start
//! fast), and returns what to print and the exit code. Everything (connect, write, read) happens
//! before its own deadline, `--timeout` ms from the start, which [`super::config::hook_command`]
//! sets below Codex's hook timeout: Codex fails open when a hook times out or crashes, so this
//! command must always answer, and answer "deny" for PreToolUse when it has no decision.
//!
//! A refused connection or a missing endpoint file (the server is starting or restarting) is
//! retried every 25 ms for a short while, re-reading the file each time so a new port and token
//! are picked up. Every other failure (garbled file, 401, 404, 410 stale registration, 5xx, a
//! broken answer, the deadline) renders the unavailable fallback at once; in particular a stale
//! registration is final and never retried another way. A deadline that passes while the
//! endpoint is still down (a retry's pause overran it on a busy machine) reads as unavailable,
//! with why the endpoint could not be reached: "timed out" means a reached endpoint did not
//! answer in time, so which of the two a hook reports does not depend on how fast it ran.
//!
//! It must not print anything itself (the caller prints the returned output), and must not panic
//! on any input.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use super::endpoint::{
    read_endpoint_file, EndpointFileError, InvokeRequest, InvokeResponse, INVOKE_PATH,
};
use super::render::{render_unavailable, HookOutput, Unavailable, UnavailableMode};
use super::{HookEvent, ENDPOINT_ENV, MAX_PAYLOAD_BYTES, PROVIDER_CODEX};

/// Pause between attempts while the endpoint is not (yet) there.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(25);
/// How long a missing endpoint is waited for (within the deadline). A server restart with Codex
/// still running is the only case it helps; longer would only delay the deny.
pub const RETRY_WINDOW: Duration = Duration::from_secs(1);
/// The relay's answers are a few hundred bytes; anything this large is not one.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// `codex-webchat hook relay` arguments. [`super::config::hook_command`] writes them.
#[derive(Clone, Debug, clap::Args)]
pub struct RelayArgs {
    /// The session's relay id.
    #[arg(long, value_name = "ID")]
    pub relay_id: String,
    /// The registration's generation.
    #[arg(long, value_name = "GENERATION")]
    pub generation: String,
    /// The hook event this command was installed for.
    #[arg(long, value_enum)]
    pub event: HookEvent,
    /// Answer within this many milliseconds (keep it below Codex's hook timeout).
    #[arg(long = "timeout", value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub timeout_ms: u64,
    /// What PreToolUse answers when the relay cannot: deny (fail closed) or noop.
    #[arg(long, value_enum, default_value = "deny")]
    pub pre_tool_use_unavailable: UnavailableMode,
    /// The relay provider.
    #[arg(long, default_value = PROVIDER_CODEX)]
    pub provider: String,
}

/// Time as the retry loop sees it: the real clock, or in tests a scripted one (so the answer
/// when the deadline passes mid-retry is tested without needing a slow machine).
trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, pause: Duration);
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

/// Runs the relay command: stdin, the endpoint file from [`ENDPOINT_ENV`], the deadline from now.
pub fn run_relay(args: &RelayArgs) -> HookOutput {
    let deadline = Instant::now() + Duration::from_millis(args.timeout_ms);
    let endpoint_file = std::env::var_os(ENDPOINT_ENV).map(PathBuf::from);
    let payload = read_payload(std::io::stdin().lock());
    relay(args, payload, endpoint_file.as_deref(), deadline)
}

/// Reads at most [`MAX_PAYLOAD_BYTES`] from `input`; more is an error.
pub fn read_payload(input: impl Read) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    let limit = u64::try_from(MAX_PAYLOAD_BYTES).unwrap_or(u64::MAX) + 1;
    input
        .take(limit)
        .read_to_end(&mut payload)
        .map_err(|e| format!("cannot read the hook payload on stdin: {e}"))?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err("the hook payload on stdin is larger than 1 MiB".to_owned());
    }
    Ok(payload)
}

/// The relay command's logic with its inputs given: the stdin bytes (or why they could not be
/// read), the endpoint file path (`None`: the variable is not set) and the deadline.
pub fn relay(
    args: &RelayArgs,
    payload: Result<Vec<u8>, String>,
    endpoint_file: Option<&Path>,
    deadline: Instant,
) -> HookOutput {
    relay_on(&SystemClock, args, payload, endpoint_file, deadline)
}

fn relay_on(
    clock: &dyn Clock,
    args: &RelayArgs,
    payload: Result<Vec<u8>, String>,
    endpoint_file: Option<&Path>,
    deadline: Instant,
) -> HookOutput {
    let unavailable = |why, cause: &str| {
        render_unavailable(args.event, args.pre_tool_use_unavailable, why, cause)
    };
    let body = match payload.and_then(|payload| request_body(args, &payload)) {
        Ok(body) => body,
        Err(cause) => return unavailable(Unavailable::Unreachable, &cause),
    };
    let Some(endpoint_file) = endpoint_file else {
        return unavailable(
            Unavailable::Unreachable,
            &format!("{ENDPOINT_ENV} is not set"),
        );
    };
    match call_with_retry(clock, endpoint_file, &body, deadline) {
        Ok(output) => output,
        Err(Failure { why, cause }) => unavailable(why, &cause),
    }
}

/// The JSON body: the payload is passed through as the JSON text Codex wrote.
fn request_body(args: &RelayArgs, payload: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| "the hook payload on stdin is not UTF-8".to_owned())?;
    let text = if text.trim().is_empty() { "null" } else { text };
    let raw: &RawValue = serde_json::from_str(text)
        .map_err(|e| format!("the hook payload on stdin is not JSON: {e}"))?;
    let request = InvokeRequest {
        provider: args.provider.clone(),
        relay_id: args.relay_id.clone(),
        generation: args.generation.clone(),
        event: args.event,
        payload: raw,
    };
    serde_json::to_vec(&request).map_err(|e| format!("cannot encode the relay request: {e}"))
}

/// Why no decision was had.
#[derive(Debug)]
struct Failure {
    why: Unavailable,
    cause: String,
}

impl Failure {
    fn unreachable(cause: impl Into<String>) -> Failure {
        Failure {
            why: Unavailable::Unreachable,
            cause: cause.into(),
        }
    }

    fn timed_out(cause: impl Into<String>) -> Failure {
        Failure {
            why: Unavailable::TimedOut,
            cause: cause.into(),
        }
    }
}

/// One attempt's outcome: done (an answer or a final failure), worth another try, or no time
/// left to connect.
enum Attempt {
    Done(Result<HookOutput, Failure>),
    Retry(String),
    OutOfTime,
}

fn call_with_retry(
    clock: &dyn Clock,
    endpoint_file: &Path,
    body: &[u8],
    deadline: Instant,
) -> Result<HookOutput, Failure> {
    let give_up = deadline.min(clock.now() + RETRY_WINDOW);
    // Why the previous attempt could not reach the endpoint, once one could not.
    let mut down: Option<String> = None;
    loop {
        match attempt(clock, endpoint_file, body, deadline) {
            Attempt::Done(result) => return result,
            Attempt::OutOfTime => {
                return Err(match down {
                    // The deadline passed during a pause between retries: the endpoint was
                    // unreachable throughout, which is what the answer says.
                    Some(cause) => Failure::unreachable(cause),
                    None => Failure::timed_out("deadline passed before connecting"),
                });
            }
            Attempt::Retry(cause) => {
                let now = clock.now();
                if now + RETRY_INTERVAL >= give_up {
                    return Err(Failure::unreachable(cause));
                }
                // Polling is the only way to notice a server coming back; there is nothing to
                // wait on across processes.
                clock.sleep(RETRY_INTERVAL);
                down = Some(cause);
            }
        }
    }
}

fn attempt(clock: &dyn Clock, endpoint_file: &Path, body: &[u8], deadline: Instant) -> Attempt {
    let record = match read_endpoint_file(endpoint_file) {
        Ok(record) => record,
        Err(e @ EndpointFileError::Missing { .. }) => return Attempt::Retry(e.to_string()),
        Err(e) => return Attempt::Done(Err(Failure::unreachable(e.to_string()))),
    };
    let Some(remaining) = remaining(clock, deadline) else {
        return Attempt::OutOfTime;
    };
    let stream = match TcpStream::connect_timeout(&record.addr, remaining) {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            return Attempt::Retry(format!("connection to {} refused", record.addr))
        }
        Err(e) if is_timeout(&e) => {
            return Attempt::Done(Err(Failure::timed_out(format!(
                "connecting to {} timed out",
                record.addr
            ))))
        }
        Err(e) => {
            return Attempt::Done(Err(Failure::unreachable(format!(
                "cannot connect to {}: {e}",
                record.addr
            ))))
        }
    };
    Attempt::Done(exchange(
        clock,
        stream,
        record.addr,
        &record.token,
        body,
        deadline,
    ))
}

/// Sends the request and interprets the answer.
fn exchange(
    clock: &dyn Clock,
    mut stream: TcpStream,
    addr: SocketAddr,
    token: &str,
    body: &[u8],
    deadline: Instant,
) -> Result<HookOutput, Failure> {
    let _ = stream.set_nodelay(true);
    let head = format!(
        "POST {INVOKE_PATH} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let io_failure = |what: &str, e: std::io::Error| {
        if is_timeout(&e) {
            Failure::timed_out(format!("no answer from {addr} before the deadline"))
        } else {
            Failure::unreachable(format!("{what} {addr} failed: {e}"))
        }
    };
    for chunk in [head.as_bytes(), body] {
        let remaining = remaining(clock, deadline)
            .ok_or_else(|| Failure::timed_out("deadline passed while sending"))?;
        stream
            .set_write_timeout(Some(remaining))
            .map_err(|e| io_failure("writing to", e))?;
        stream
            .write_all(chunk)
            .map_err(|e| io_failure("writing to", e))?;
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let remaining = remaining(clock, deadline).ok_or_else(|| {
            Failure::timed_out(format!("no answer from {addr} before the deadline"))
        })?;
        stream
            .set_read_timeout(Some(remaining))
            .map_err(|e| io_failure("reading from", e))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > MAX_RESPONSE_BYTES {
                    return Err(Failure::unreachable("the relay's answer is too large"));
                }
                if response_complete(&raw) {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_failure("reading from", e)),
        }
    }
    interpret(&raw)
}

fn remaining(clock: &dyn Clock, deadline: Instant) -> Option<Duration> {
    Some(deadline.checked_duration_since(clock.now())?).filter(|d| !d.is_zero())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

/// A parsed HTTP response.
#[derive(Debug, PartialEq, Eq)]
struct HttpResponse {
    status: u16,
    body: Vec<u8>,
}

/// Whether `raw` already holds a whole response with a `Content-Length` body (so we need not
/// wait for the server to close).
fn response_complete(raw: &[u8]) -> bool {
    let Some(split) = find(raw, b"\r\n\r\n") else {
        return false;
    };
    let Ok(head) = std::str::from_utf8(&raw[..split]) else {
        return false;
    };
    header_value(head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| raw.len() >= split + 4 + len)
}

fn parse_http(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = find(raw, b"\r\n\r\n").ok_or("the relay's answer has no complete header")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "the relay's header is not UTF-8")?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next(), parts.next());
    let status = match (version, code.and_then(|c| c.parse::<u16>().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => code,
        _ => return Err(format!("bad status line {status_line:?}")),
    };
    let rest = &raw[split + 4..];
    let chunked = header_value(head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = header_value(head, "content-length") {
        let len: usize = len.parse().map_err(|_| "bad content-length")?;
        rest.get(..len)
            .ok_or("the relay's answer was cut short")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse { status, body })
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("bad chunked body")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("the relay's answer was cut short")?;
        body.extend_from_slice(chunk);
        rest = rest
            .get(size + 2..)
            .ok_or("the relay's answer was cut short")?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The endpoint's answer: its `result` on `200 {ok: true}`, otherwise why not.
fn interpret(raw: &[u8]) -> Result<HookOutput, Failure> {
    let response = parse_http(raw).map_err(Failure::unreachable)?;
    let parsed: Option<InvokeResponse> = serde_json::from_slice(&response.body).ok();
    match (response.status, parsed) {
        (
            200,
            Some(InvokeResponse {
                ok: true,
                result: Some(result),
                ..
            }),
        ) => Ok(result),
        (status, Some(InvokeResponse { error: Some(e), .. })) => Err(Failure::unreachable(
            format!("the relay refused the call (HTTP {status}): {e}"),
        )),
        (status, _) => Err(Failure::unreachable(format!(
            "the relay answered HTTP {status} without a decision"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn args(event: HookEvent) -> RelayArgs {
        RelayArgs {
            relay_id: "r1".into(),
            generation: "g1".into(),
            event,
            timeout_ms: 2000,
            pre_tool_use_unavailable: UnavailableMode::Deny,
            provider: "codex".into(),
        }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    fn reason(out: &HookOutput) -> String {
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON deny");
        v["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .expect("reason")
            .to_owned()
    }

    #[test]
    fn payload_is_passed_through_and_empty_means_null() {
        let a = args(HookEvent::PreToolUse);
        let body = request_body(&a, b" {\"a\": [1, 2]}\n").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"provider": "codex", "relayId": "r1", "generation": "g1",
                "event": "pre_tool_use", "payload": {"a": [1, 2]}})
        );
        let body = request_body(&a, b"  \n").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["payload"], serde_json::Value::Null);
        assert!(request_body(&a, b"{nope").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn oversized_stdin_is_refused() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(read_payload(&big[..])
            .unwrap_err()
            .contains("larger than 1 MiB"));
        assert_eq!(read_payload(&b"{}"[..]).unwrap(), b"{}");
    }

    #[test]
    fn bad_stdin_and_missing_variable_fail_closed() {
        let out = relay(
            &args(HookEvent::PreToolUse),
            Ok(b"{nope".to_vec()),
            Some(Path::new("/nonexistent")),
            soon(),
        );
        assert_eq!(reason(&out), "Native hook relay unavailable");
        assert!(out
            .stderr
            .starts_with("native hook relay unavailable: the hook payload"));
        let out = relay(&args(HookEvent::PreToolUse), Ok(Vec::new()), None, soon());
        assert!(out
            .stderr
            .contains("CODEX_WEBCHAT_HOOK_ENDPOINT is not set"));
        assert_eq!(reason(&out), "Native hook relay unavailable");
    }

    /// Scripted time: `now` moves only when the relay pauses, by the pause plus `overrun` (how
    /// late a busy machine wakes it), so the outcome never depends on how fast the test runs.
    struct ScriptedClock {
        start: Instant,
        now: std::cell::Cell<Instant>,
        pauses: std::cell::Cell<u32>,
        overrun: Duration,
    }

    impl ScriptedClock {
        fn new(overrun: Duration) -> ScriptedClock {
            let start = Instant::now();
            ScriptedClock {
                start,
                now: std::cell::Cell::new(start),
                pauses: std::cell::Cell::new(0),
                overrun,
            }
        }

        fn after(&self, d: Duration) -> Instant {
            self.start + d
        }

        fn elapsed(&self) -> Duration {
            self.now.get() - self.start
        }
    }

    impl Clock for ScriptedClock {
        fn now(&self) -> Instant {
            self.now.get()
        }

        fn sleep(&self, pause: Duration) {
            self.pauses.set(self.pauses.get() + 1);
            self.now.set(self.now.get() + pause + self.overrun);
        }
    }

    /// An endpoint file naming a loopback port nobody listens on: every connection is refused.
    fn file_for_a_closed_port(dir: &Path) -> PathBuf {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let file = dir.join("hook-relay.json");
        let record = super::super::endpoint::EndpointFile {
            version: 1,
            pid: 1,
            addr,
            token: "c".repeat(64),
        };
        super::super::endpoint::write_endpoint_file(&file, &record).unwrap();
        file
    }

    #[test]
    fn a_missing_endpoint_file_is_retried_briefly_then_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("hook-relay.json");
        // A deadline shorter than the retry window ends the retries by the deadline...
        let clock = ScriptedClock::new(Duration::ZERO);
        let out = relay_on(
            &clock,
            &args(HookEvent::PreToolUse),
            Ok(b"{}".to_vec()),
            Some(&missing),
            clock.after(Duration::from_millis(200)),
        );
        assert_eq!(reason(&out), "Native hook relay unavailable");
        assert!(out.stderr.contains("is missing"), "{}", out.stderr);
        assert!(clock.pauses.get() > 1, "retried");
        assert!(
            clock.elapsed() <= Duration::from_millis(200),
            "{:?}",
            clock.elapsed()
        );
        // ...and a longer one by the retry window: a hook does not wait its whole deadline for a
        // server that is not there.
        let clock = ScriptedClock::new(Duration::ZERO);
        let out = relay_on(
            &clock,
            &args(HookEvent::PreToolUse),
            Ok(b"{}".to_vec()),
            Some(&missing),
            clock.after(Duration::from_secs(60)),
        );
        assert_eq!(reason(&out), "Native hook relay unavailable");
        assert!(
            clock.elapsed() <= RETRY_WINDOW && clock.elapsed() + RETRY_INTERVAL >= RETRY_WINDOW,
            "{:?}",
            clock.elapsed()
        );
    }

    #[test]
    fn a_refused_connection_is_unavailable_even_when_a_pause_overruns_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_for_a_closed_port(dir.path());
        // On time, and with every pause waking long after the deadline (a busy machine): the
        // endpoint was down throughout, so both say "unavailable" with the refusal, never
        // "timed out".
        for overrun in [Duration::ZERO, Duration::from_secs(5)] {
            let clock = ScriptedClock::new(overrun);
            let out = relay_on(
                &clock,
                &args(HookEvent::PreToolUse),
                Ok(b"{}".to_vec()),
                Some(&file),
                clock.after(Duration::from_millis(300)),
            );
            assert_eq!(reason(&out), "Native hook relay unavailable", "{overrun:?}");
            assert!(
                out.stderr
                    .starts_with("native hook relay unavailable: connection to 127.0.0.1:"),
                "{overrun:?}: {}",
                out.stderr
            );
            assert!(clock.pauses.get() >= 1, "{overrun:?}: retried");
        }
    }

    #[test]
    fn a_deadline_gone_before_the_first_attempt_reads_as_timed_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_for_a_closed_port(dir.path());
        let clock = ScriptedClock::new(Duration::ZERO);
        let out = relay_on(
            &clock,
            &args(HookEvent::PreToolUse),
            Ok(b"{}".to_vec()),
            Some(&file),
            clock.now(),
        );
        assert_eq!(reason(&out), "Native hook relay timed out");
        assert!(
            out.stderr.contains("deadline passed before connecting"),
            "{}",
            out.stderr
        );
        assert_eq!(clock.pauses.get(), 0);
    }

    #[test]
    fn a_garbled_endpoint_file_is_not_retried() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hook-relay.json");
        std::fs::write(&file, "{garbage").unwrap();
        let clock = ScriptedClock::new(Duration::ZERO);
        let out = relay_on(
            &clock,
            &args(HookEvent::PreToolUse),
            Ok(b"{}".to_vec()),
            Some(&file),
            clock.after(Duration::from_secs(60)),
        );
        assert_eq!(reason(&out), "Native hook relay unavailable");
        assert!(
            out.stderr.contains("not an endpoint record"),
            "{}",
            out.stderr
        );
        assert_eq!(clock.pauses.get(), 0, "retried a garbled file");
    }

    #[test]
    fn http_parsing() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA";
        assert!(response_complete(plain));
        assert_eq!(
            parse_http(plain).unwrap(),
            HttpResponse {
                status: 200,
                body: b"hello".to_vec()
            }
        );
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel"
        ));
        let chunked =
            b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_http(chunked).unwrap(),
            HttpResponse {
                status: 410,
                body: b"abcde".to_vec()
            }
        );
        assert!(parse_http(b"garbage").is_err());
        assert!(parse_http(b"SMTP 220\r\n\r\n").is_err());
        assert!(parse_http(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nab").is_err());
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    fn http(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn answers_are_interpreted() {
        let ok = http(
            "200 OK",
            r#"{"ok":true,"result":{"stdout":"x","stderr":"y","exitCode":0}}"#,
        );
        let out = interpret(&ok).expect("decision");
        assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("x", "y"));
        let stale = http(
            "410 Gone",
            r#"{"ok":false,"error":"native hook relay bridge stale registration"}"#,
        );
        let err = interpret(&stale).unwrap_err();
        assert_eq!(
            err.cause,
            "the relay refused the call (HTTP 410): native hook relay bridge stale registration"
        );
        let err = interpret(b"HTTP/1.1 500 Oops\r\n\r\n").unwrap_err();
        assert_eq!(err.cause, "the relay answered HTTP 500 without a decision");
        // `ok: true` without a result is not a decision either.
        let err = interpret(&http("200 OK", r#"{"ok":true}"#)).unwrap_err();
        assert_eq!(err.cause, "the relay answered HTTP 200 without a decision");
    }

    /// A server that accepts and never answers: the deadline turns it into "timed out".
    #[test]
    fn a_silent_endpoint_times_out_before_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hook-relay.json");
        let record = super::super::endpoint::EndpointFile {
            version: 1,
            pid: 1,
            addr,
            token: "b".repeat(64),
        };
        super::super::endpoint::write_endpoint_file(&file, &record).unwrap();
        let started = Instant::now();
        let out = relay(
            &args(HookEvent::PreToolUse),
            Ok(b"{}".to_vec()),
            Some(&file),
            Instant::now() + Duration::from_millis(300),
        );
        let took = started.elapsed();
        // Only the deadline can end a call to an endpoint that never answers: it is not over
        // before it, and it is over (the bound only catches a hang, however busy the machine).
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(60),
            "{took:?}"
        );
        assert_eq!(reason(&out), "Native hook relay timed out");
        drop(listener);
    }
}
