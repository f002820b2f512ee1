//! JSON-RPC over newline-delimited JSON on any byte stream pair, with no process in sight (so it is
//! tested over in-memory pipes). Owns the framing, the id counter for our requests, the pending map
//! and its timeouts, and the dispatch of everything the peer sends. It never interprets results.
//!
//! Two tasks per connection: a reader (stdout to dispatch) and a writer (a queue to stdin). Both
//! stop on their own when the streams close, and the owner also gets their handles to abort.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::protocol::{Inbound, Notification, RequestId, RpcErrorObj, ServerRequest};
use super::CodexError;

/// Longest stdout line we buffer. Codex lines carry whole threads on resume, so this is generous,
/// but bounded so a runaway line cannot exhaust memory.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// JSON-RPC "internal error": our answer to a server request nobody handles, and the code we
/// give an error response whose `error` member we cannot read.
pub const INTERNAL_ERROR: i64 = -32603;

type Reply = oneshot::Sender<Result<Value, CodexError>>;

/// Nobody is listening for inbound messages any more.
#[derive(Debug)]
pub struct Undelivered;

/// Where inbound messages go. On `Undelivered`, server requests are answered with an error so
/// the server never waits on us forever.
pub trait InboundSink: Send + 'static {
    fn deliver(&mut self, msg: Inbound) -> Result<(), Undelivered>;
}

impl<F: FnMut(Inbound) -> Result<(), Undelivered> + Send + 'static> InboundSink for F {
    fn deliver(&mut self, msg: Inbound) -> Result<(), Undelivered> {
        self(msg)
    }
}

enum Outgoing {
    Line(Vec<u8>),
    /// Flush and close our write side; for a child process this closes its stdin.
    Close,
}

struct Pending {
    /// `Some(reason)` once the connection is gone; new requests fail at once with it.
    closed: Option<String>,
    map: HashMap<i64, Reply>,
}

/// The one request whose parameters may hold a secret (`apiKey`).
pub const CARRIES_SECRET: &str = "account/login/start";

struct Shared {
    next_id: AtomicI64,
    pending: Mutex<Pending>,
    out: mpsc::UnboundedSender<Outgoing>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A poisoned lock only means a panic elsewhere mid-update of a plain map; keep going.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close(&self, reason: &str) {
        let drained: Vec<Reply> = {
            let mut p = self.lock();
            if p.closed.is_none() {
                p.closed = Some(reason.to_owned());
            }
            p.map.drain().map(|(_, reply)| reply).collect()
        };
        for reply in drained {
            let _ = reply.send(Err(CodexError::NotRunning(reason.to_owned())));
        }
        let _ = self.out.send(Outgoing::Close);
    }

    fn send_json(&self, v: &Value) -> Result<(), CodexError> {
        let mut line = serde_json::to_vec(v).map_err(|e| CodexError::Protocol(e.to_string()))?;
        // A sign-in may carry an API key on its way to Codex's own store: that line is never
        // logged, not even at trace level (docs/SECURITY.md).
        if v.get("method").and_then(Value::as_str) == Some(CARRIES_SECRET) {
            tracing::trace!("to codex: {CARRIES_SECRET} (not logged: it may carry a secret)");
        } else {
            tracing::trace!(line = %String::from_utf8_lossy(&line), "to codex");
        }
        line.push(b'\n');
        self.out
            .send(Outgoing::Line(line))
            .map_err(|_| CodexError::NotRunning("codex app-server input is closed".into()))
    }

    fn respond(
        &self,
        id: &RequestId,
        result: Result<Value, RpcErrorObj>,
    ) -> Result<(), CodexError> {
        let msg = match result {
            Ok(result) => json!({"id": id, "result": result}),
            Err(error) => json!({"id": id, "error": error}),
        };
        self.send_json(&msg)
    }

    /// Answers a server request that no one will handle, so the turn that sent it can go on.
    fn refuse(&self, id: &RequestId) {
        tracing::warn!(%id, "no handler for codex server request; refusing it");
        let error = RpcErrorObj::new(INTERNAL_ERROR, "codex-webchat is not handling requests");
        let _ = self.respond(id, Err(error));
    }
}

/// Cheap-clone handle to one JSON-RPC connection.
#[derive(Clone)]
pub struct RpcClient {
    shared: Arc<Shared>,
}

/// The connection's tasks; their owner aborts them when it is done with the connection.
pub struct RpcTasks {
    /// Finishes when the peer's output reaches EOF (or fails).
    pub reader: JoinHandle<()>,
    pub writer: JoinHandle<()>,
}

impl RpcClient {
    pub fn spawn<R, W, S>(reader: R, writer: W, sink: S) -> (RpcClient, RpcTasks)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
        S: InboundSink,
    {
        Self::spawn_with_limit(reader, writer, sink, MAX_LINE)
    }

    pub fn spawn_with_limit<R, W, S>(
        reader: R,
        writer: W,
        sink: S,
        max_line: usize,
    ) -> (RpcClient, RpcTasks)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
        S: InboundSink,
    {
        let (out, out_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next_id: AtomicI64::new(0),
            pending: Mutex::new(Pending {
                closed: None,
                map: HashMap::new(),
            }),
            out,
        });
        let lines = LineReader::new(BufReader::with_capacity(64 * 1024, reader), max_line);
        let tasks = RpcTasks {
            reader: tokio::spawn(read_loop(lines, shared.clone(), sink)),
            writer: tokio::spawn(write_loop(writer, out_rx, shared.clone())),
        };
        (RpcClient { shared }, tasks)
    }

    /// Sends a request and waits for its response, at most `timeout`.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CodexError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut p = self.shared.lock();
            if let Some(reason) = &p.closed {
                return Err(CodexError::NotRunning(reason.clone()));
            }
            p.map.insert(id, tx);
        }
        let sent = self
            .shared
            .send_json(&json!({"id": id, "method": method, "params": params}));
        if let Err(e) = sent {
            self.shared.lock().map.remove(&id);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CodexError::NotRunning("connection dropped".into())),
            Err(_) => {
                self.shared.lock().map.remove(&id);
                Err(CodexError::Timeout {
                    method: method.to_owned(),
                })
            }
        }
    }

    /// Sends a notification; `Value::Null` params are left out (`{"method":"initialized"}`).
    pub fn notify(&self, method: &str, params: Value) -> Result<(), CodexError> {
        let mut msg = Map::new();
        msg.insert("method".into(), method.into());
        if !params.is_null() {
            msg.insert("params".into(), params);
        }
        self.shared.send_json(&Value::Object(msg))
    }

    /// Answers a server request, echoing its id verbatim.
    pub fn respond(
        &self,
        id: &RequestId,
        result: Result<Value, RpcErrorObj>,
    ) -> Result<(), CodexError> {
        self.shared.respond(id, result)
    }

    /// Answers a server request with an error: nobody is there to handle it.
    pub fn refuse(&self, id: &RequestId) {
        self.shared.refuse(id);
    }

    /// Fails every pending and future request with `NotRunning(reason)` and closes our output.
    pub fn close(&self, reason: &str) {
        self.shared.close(reason);
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
) {
    while let Some(msg) = rx.recv().await {
        let result = match msg {
            Outgoing::Line(line) => match writer.write_all(&line).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            },
            Outgoing::Close => break,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "codex app-server input failed");
            shared.close(&format!("writing to codex app-server failed: {e}"));
            break;
        }
    }
    // Dropping the writer closes the peer's input, which is how the app-server is asked to exit.
    let _ = writer.shutdown().await;
}

async fn read_loop<R: AsyncBufRead + Unpin, S: InboundSink>(
    mut lines: LineReader<R>,
    shared: Arc<Shared>,
    mut sink: S,
) {
    let reason = loop {
        match lines.next_line().await {
            Ok(Some(Line::Complete(line))) => dispatch(&line, &shared, &mut sink),
            Ok(Some(Line::TooLong(len))) => {
                tracing::warn!(len, "discarded an over-long line from codex app-server");
            }
            Ok(None) => break "codex app-server closed its output".to_owned(),
            Err(e) => break format!("reading from codex app-server failed: {e}"),
        }
    };
    tracing::debug!(%reason, "codex rpc reader stopped");
    shared.close(&reason);
}

fn dispatch<S: InboundSink>(line: &[u8], shared: &Shared, sink: &mut S) {
    let text = line.trim_ascii();
    if text.is_empty() {
        return;
    }
    tracing::trace!(line = %String::from_utf8_lossy(text), "from codex");
    let mut obj = match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return warn_skip("not a JSON object", text),
        Err(_) => return warn_skip("malformed JSON", text),
    };
    let method = match obj.remove("method") {
        Some(Value::String(m)) => Some(m),
        Some(_) => return warn_skip("non-string method", text),
        None => None,
    };
    let id = obj.remove("id").filter(|id| !id.is_null());
    let params = obj.remove("params").unwrap_or(Value::Null);
    match (method, id) {
        (Some(method), None) => {
            let note = Notification::parse(&method, params);
            // Notifications are fire-and-forget: nobody listening is not the server's problem.
            let _ = sink.deliver(Inbound::Notification(note));
        }
        (Some(method), Some(id)) => {
            let Ok(id) = serde_json::from_value::<RequestId>(id) else {
                return warn_skip("server request with an unusable id", text);
            };
            let request = ServerRequest::parse(&method, params);
            let msg = Inbound::Request {
                id: id.clone(),
                request,
            };
            if sink.deliver(msg).is_err() {
                shared.refuse(&id);
            }
        }
        (None, Some(id)) => {
            let result = match obj.remove("error") {
                Some(e) => Err(RpcErrorObj::deserialize(&e)
                    .unwrap_or_else(|_| RpcErrorObj::new(INTERNAL_ERROR, e.to_string()))),
                None => Ok(obj.remove("result").unwrap_or(Value::Null)),
            };
            let reply = id.as_i64().and_then(|n| shared.lock().map.remove(&n));
            match reply {
                Some(reply) => {
                    let _ = reply.send(result.map_err(|e| CodexError::Rpc {
                        code: e.code,
                        message: e.message,
                    }));
                }
                // Late (timed out) or foreign: nothing waits for it.
                None => tracing::warn!(%id, "codex response to an unknown request id"),
            }
        }
        (None, None) => warn_skip("neither method nor id", text),
    }
}

fn warn_skip(what: &str, line: &[u8]) {
    const SHOWN: usize = 200;
    let shown = String::from_utf8_lossy(&line[..line.len().min(SHOWN)]);
    tracing::warn!(len = line.len(), line = %shown, "skipped codex line: {what}");
}

pub enum Line {
    Complete(Vec<u8>),
    /// A line longer than the limit; its bytes were dropped as they arrived.
    TooLong(usize),
}

/// Splits a byte stream into `\n`-terminated lines without ever buffering more than `max` bytes.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            max,
        }
    }

    /// The next line without its `\n`; `None` at EOF. A final line without `\n` is still returned.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut discarded: Option<usize> = None;
        loop {
            let chunk = self.inner.fill_buf().await?;
            if chunk.is_empty() {
                return Ok(match discarded {
                    Some(len) => Some(Line::TooLong(len)),
                    None if self.buf.is_empty() => None,
                    None => Some(Line::Complete(std::mem::take(&mut self.buf))),
                });
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            match &mut discarded {
                Some(len) => *len += part.len(),
                None if self.buf.len() + part.len() > self.max => {
                    discarded = Some(self.buf.len() + part.len());
                    // Release the memory too: the next line starts small again.
                    self.buf = Vec::new();
                }
                None => self.buf.extend_from_slice(part),
            }
            let used = newline.map_or(chunk.len(), |i| i + 1);
            self.inner.consume(used);
            if newline.is_some() {
                return Ok(Some(match discarded {
                    Some(len) => Line::TooLong(len),
                    None => Line::Complete(std::mem::take(&mut self.buf)),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncBufReadExt, AsyncWriteExt, DuplexStream, Lines};

    /// Waits that end on an event: generous, as a busy machine may need. (The one deadline under
    /// test, `slow`'s, is on a request the peer never answers in time.)
    const T: Duration = Duration::from_secs(60);

    /// The fake server's side of the pipe pair.
    struct Peer {
        lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
        out: tokio::io::WriteHalf<DuplexStream>,
    }

    impl Peer {
        async fn send(&mut self, raw: &str) {
            self.out
                .write_all(raw.as_bytes())
                .await
                .expect("peer write");
            self.out.flush().await.expect("peer flush");
        }
        async fn recv(&mut self) -> Value {
            let line = tokio::time::timeout(T, self.lines.next_line())
                .await
                .expect("peer recv timeout")
                .expect("peer read")
                .expect("peer EOF");
            serde_json::from_str(&line).expect("client sent JSON")
        }
    }

    fn setup(max_line: usize) -> (RpcClient, RpcTasks, Peer, mpsc::UnboundedReceiver<Inbound>) {
        let (client_io, server_io) = duplex(1 << 16);
        let (cr, cw) = tokio::io::split(client_io);
        let (sr, sw) = tokio::io::split(server_io);
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = move |m: Inbound| tx.send(m).map_err(|_| Undelivered);
        let (client, tasks) = RpcClient::spawn_with_limit(cr, cw, sink, max_line);
        let peer = Peer {
            lines: BufReader::new(sr).lines(),
            out: sw,
        };
        (client, tasks, peer, rx)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Inbound>) -> Inbound {
        tokio::time::timeout(T, rx.recv())
            .await
            .expect("inbound timeout")
            .expect("inbound closed")
    }

    #[tokio::test]
    async fn request_response_and_error() {
        let (client, _tasks, mut peer, _rx) = setup(MAX_LINE);
        let c = client.clone();
        let call =
            tokio::spawn(async move { c.request("thread/start", json!({"cwd":"/x"}), T).await });
        let req = peer.recv().await;
        assert_eq!(req["method"], "thread/start");
        assert_eq!(req["params"]["cwd"], "/x");
        assert!(req.get("jsonrpc").is_none());
        let id = req["id"].as_i64().expect("numeric id");
        peer.send(&format!("{{\"id\":{id},\"result\":{{\"ok\":1}}}}\n"))
            .await;
        assert_eq!(call.await.expect("join").expect("ok"), json!({"ok":1}));

        let c = client.clone();
        let call = tokio::spawn(async move { c.request("turn/start", json!({}), T).await });
        let id = peer.recv().await["id"].clone();
        peer.send(&format!(
            "{{\"error\":{{\"code\":-32600,\"message\":\"thread not found: t\"}},\"id\":{id}}}\n"
        ))
        .await;
        let err = call.await.expect("join").expect_err("rpc error");
        assert!(err.is_thread_not_found(), "{err:?}");
    }

    #[tokio::test]
    async fn notifications_and_initialized_shape() {
        let (client, _tasks, mut peer, mut rx) = setup(MAX_LINE);
        client.notify("initialized", Value::Null).expect("notify");
        assert_eq!(peer.recv().await, json!({"method":"initialized"}));
        peer.send("{\"method\":\"turn/started\",\"params\":{\"threadId\":\"t\",\"turn\":{\"id\":\"u\"}},\"emittedAtMs\":1}\n").await;
        peer.send("{\"method\":\"brand/new\",\"params\":{\"x\":1},\"extra\":true}\n")
            .await;
        assert_eq!(
            next(&mut rx).await,
            Inbound::Notification(Notification::TurnStarted {
                thread_id: "t".into(),
                turn_id: "u".into()
            })
        );
        assert!(matches!(next(&mut rx).await,
            Inbound::Notification(Notification::Other { method, params }) if method == "brand/new" && params["x"] == 1));
    }

    #[tokio::test]
    async fn server_requests_keep_their_ids_verbatim() {
        let (client, _tasks, mut peer, mut rx) = setup(MAX_LINE);
        peer.send("{\"id\":0,\"method\":\"item/tool/call\",\"params\":{\"threadId\":\"t\",\"turnId\":\"u\",\"callId\":\"c\",\"tool\":\"message\",\"arguments\":{}}}\n").await;
        peer.send(
            "{\"id\":\"srv-7\",\"method\":\"mcpServer/elicitation/request\",\"params\":{}}\n",
        )
        .await;
        let Inbound::Request { id, request } = next(&mut rx).await else {
            panic!("expected a request")
        };
        assert_eq!(id, RequestId::Num(0));
        assert!(matches!(request, ServerRequest::ToolCall { .. }));
        let Inbound::Request { id: id2, request } = next(&mut rx).await else {
            panic!("expected a request")
        };
        assert_eq!(id2, RequestId::Str("srv-7".into()));
        assert!(matches!(request, ServerRequest::Other { .. }));

        client
            .respond(&id2, Err(RpcErrorObj::new(-32601, "unsupported")))
            .expect("respond");
        client
            .respond(&id, Ok(json!({"success":true})))
            .expect("respond");
        assert_eq!(
            peer.recv().await,
            json!({"id":"srv-7","error":{"code":-32601,"message":"unsupported"}})
        );
        assert_eq!(peer.recv().await, json!({"id":0,"result":{"success":true}}));
    }

    #[tokio::test]
    async fn garbage_is_skipped_and_reader_survives() {
        let (client, tasks, mut peer, mut rx) = setup(1024);
        let huge = format!(
            "{{\"method\":\"x\",\"params\":\"{}\"}}\n",
            "a".repeat(10_000)
        );
        peer.send("not json at all\n").await;
        peer.send("[1,2,3]\n\n   \r\n").await;
        peer.send("{\"method\":42}\n{\"foo\":1}\n").await;
        peer.send(&huge).await;
        // A response to an id we never used, and one with a string id: dropped with a warning.
        peer.send("{\"id\":999,\"result\":{}}\n{\"id\":\"zz\",\"result\":{}}\n")
            .await;
        peer.send("{\"id\":{\"o\":1},\"method\":\"item/tool/call\",\"params\":{}}\n")
            .await;
        peer.send("{\"method\":\"after/garbage\",\"params\":{}}\r\n")
            .await;
        assert!(matches!(next(&mut rx).await,
            Inbound::Notification(Notification::Other { method, .. }) if method == "after/garbage"));
        assert!(!tasks.reader.is_finished());
        // The connection still works for requests.
        let c = client.clone();
        let call = tokio::spawn(async move { c.request("ping", Value::Null, T).await });
        let id = peer.recv().await["id"].clone();
        peer.send(&format!("{{\"id\":{id},\"result\":\"pong\"}}\n"))
            .await;
        assert_eq!(call.await.expect("join").expect("ok"), json!("pong"));
    }

    #[tokio::test]
    async fn line_longer_than_default_limit_is_discarded() {
        let (_client, _tasks, mut peer, mut rx) = setup(MAX_LINE);
        let huge = format!(
            "{{\"method\":\"big\",\"params\":\"{}\"}}\n",
            "b".repeat(MAX_LINE + 10)
        );
        let writer = tokio::spawn(async move {
            peer.send(&huge).await;
            peer.send("{\"method\":\"small\"}\n").await;
            peer
        });
        assert!(matches!(next(&mut rx).await,
            Inbound::Notification(Notification::Other { method, .. }) if method == "small"));
        writer.await.expect("join");
    }

    #[tokio::test]
    async fn line_reader_limits() {
        let data: &[u8] = b"12345\n123456\nab\n1234567890\ntail";
        let mut r = LineReader::new(BufReader::with_capacity(4, data), 5);
        let mut got = Vec::new();
        while let Some(line) = r.next_line().await.expect("read") {
            got.push(match line {
                Line::Complete(b) => String::from_utf8(b).expect("utf8"),
                Line::TooLong(n) => format!("<{n}>"),
            });
        }
        assert_eq!(got, ["12345", "<6>", "ab", "<10>", "tail"]);
    }

    #[tokio::test]
    async fn timeout_then_late_response_is_ignored() {
        let (client, _tasks, mut peer, _rx) = setup(MAX_LINE);
        let err = client
            .request("slow", Value::Null, Duration::from_millis(50))
            .await
            .expect_err("timeout");
        assert!(matches!(err, CodexError::Timeout { ref method } if method == "slow"));
        let id = peer.recv().await["id"].clone();
        peer.send(&format!("{{\"id\":{id},\"result\":1}}\n")).await;
        let c = client.clone();
        let call = tokio::spawn(async move { c.request("next", Value::Null, T).await });
        let req = peer.recv().await;
        assert_ne!(req["id"], id, "ids are never reused");
        peer.send(&format!("{{\"id\":{},\"result\":2}}\n", req["id"]))
            .await;
        assert_eq!(call.await.expect("join").expect("ok"), json!(2));
    }

    #[tokio::test]
    async fn eof_fails_pending_and_later_requests() {
        let (client, tasks, mut peer, _rx) = setup(MAX_LINE);
        let c = client.clone();
        let call = tokio::spawn(async move { c.request("hang", Value::Null, T).await });
        peer.recv().await;
        drop(peer);
        let err = call.await.expect("join").expect_err("not running");
        assert!(matches!(err, CodexError::NotRunning(_)), "{err:?}");
        tokio::time::timeout(T, tasks.reader)
            .await
            .expect("reader ends")
            .expect("join");
        let err = client
            .request("again", Value::Null, T)
            .await
            .expect_err("closed");
        assert!(matches!(err, CodexError::NotRunning(_)), "{err:?}");
    }

    #[tokio::test]
    async fn requests_are_refused_when_nobody_listens() {
        let (_client, _tasks, mut peer, rx) = setup(MAX_LINE);
        drop(rx);
        peer.send("{\"method\":\"just/notify\"}\n").await;
        peer.send("{\"id\":3,\"method\":\"item/tool/call\",\"params\":{}}\n")
            .await;
        let answer = peer.recv().await;
        assert_eq!(answer["id"], 3);
        assert_eq!(answer["error"]["code"], INTERNAL_ERROR);
    }

    #[tokio::test]
    async fn close_closes_peer_input() {
        let (client, _tasks, mut peer, _rx) = setup(MAX_LINE);
        client.close("shutting down");
        let eof = tokio::time::timeout(T, peer.lines.next_line())
            .await
            .expect("eof in time");
        assert!(matches!(eof, Ok(None)));
        let err = client
            .request("x", Value::Null, T)
            .await
            .expect_err("closed");
        assert_eq!(err, CodexError::NotRunning("shutting down".into()));
    }
}
