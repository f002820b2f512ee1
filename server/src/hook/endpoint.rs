//! The relay endpoint: a small HTTP server of its own on `127.0.0.1:0` (loopback by
//! construction, never on the WebChat's address) that answers hook processes.
//!
//! `POST /hook/v1/invoke` with `Authorization: Bearer <token>` and a JSON body
//! `{provider, relayId, generation, event, payload}`. The call is validated by the registry,
//! decided by the policy, reported to the gateway's [`HookSink`], and answered with
//! `{ok: true, result: {stdout, stderr, exitCode}}` for the hook process to print verbatim, or
//! `{ok: false, error}` with 401 (credential), 404 (unknown relay), 410 (stale generation), 400
//! (any other refusal or a malformed request), 413 (too large) or 500 (the sink failed).
//!
//! The token is 256 random bits, new on every start, compared in constant time. The address and
//! token are published in an endpoint file (`{version: 1, pid, addr, token}`, mode 0600, written
//! through a temporary file and a rename so a reader never sees half of it); hook processes find
//! the file through [`super::ENDPOINT_ENV`], so after a restart on another port they find the new
//! address. The token never appears on a command line.
//!
//! This module must not decide anything itself: it wires registry, policy, sink and renderer to
//! HTTP and owns the endpoint file.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::policy::{Decision, ToolPolicy};
use super::registry::{Invocation, RelayError, RelayRegistry, Validated};
use super::render::{render_decision, HookOutput};
use super::{HookError, HookEvent, MAX_PAYLOAD_BYTES};

/// The one route.
pub const INVOKE_PATH: &str = "/hook/v1/invoke";

/// The endpoint file's format version.
pub const ENDPOINT_FILE_VERSION: u32 = 1;

/// A full payload plus room for the envelope (and JSON escaping of the envelope's strings).
pub const MAX_BODY_BYTES: usize = MAX_PAYLOAD_BYTES + 64 * 1024;

/// How long `shutdown` waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The endpoint file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFile {
    pub version: u32,
    pub pid: u32,
    pub addr: SocketAddr,
    pub token: String,
}

/// The request body of [`INVOKE_PATH`]; `P` is the payload's raw JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvokeRequest<P> {
    pub provider: String,
    #[serde(rename = "relayId")]
    pub relay_id: String,
    pub generation: String,
    pub event: HookEvent,
    pub payload: P,
}

/// The response body of [`INVOKE_PATH`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeResponse {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<HookOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the gateway learns about hook calls (to update tool cards). Called on the endpoint's
/// request task after the decision and before the answer is sent, so it must return quickly
/// (hand the facts to a channel, do not await anything).
pub trait HookSink: Send + Sync + 'static {
    /// An accepted call and the decision that will be returned for it.
    fn on_invocation(&self, call: &Validated, decision: &Decision);

    /// A refused call (forged, stale, expired, …). The default ignores it.
    fn on_rejection(&self, relay_id: &str, event: HookEvent, error: &RelayError) {
        let _ = (relay_id, event, error);
    }
}

/// A sink that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl HookSink for NullSink {
    fn on_invocation(&self, _call: &Validated, _decision: &Decision) {}
}

/// A running endpoint. Serves until [`EndpointHandle::shutdown`] or drop.
pub struct EndpointHandle {
    addr: SocketAddr,
    file: PathBuf,
    token: String,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

struct Shared {
    registry: RelayRegistry,
    policy: ToolPolicy,
    sink: Arc<dyn HookSink>,
    token: String,
}

/// Binds `127.0.0.1:0`, writes `endpoint_file` (creating its folder), and serves in the
/// background. Needs a Tokio runtime.
pub async fn start_endpoint(
    registry: RelayRegistry,
    policy: ToolPolicy,
    sink: Arc<dyn HookSink>,
    endpoint_file: PathBuf,
) -> Result<EndpointHandle, HookError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(HookError::Bind)?;
    let addr = listener.local_addr().map_err(HookError::Bind)?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let record = EndpointFile {
        version: ENDPOINT_FILE_VERSION,
        pid: std::process::id(),
        addr,
        token: token.clone(),
    };
    write_endpoint_file(&endpoint_file, &record).map_err(|source| HookError::EndpointFile {
        path: endpoint_file.clone(),
        source,
    })?;

    let shared = Arc::new(Shared {
        registry,
        policy,
        sink,
        token: token.clone(),
    });
    let app = Router::new()
        .route(INVOKE_PATH, post(invoke))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared);
    let (stop, mut stop_rx) = watch::channel(false);
    let server = tokio::spawn(async move {
        // An error means the handle was dropped: stop as well.
        let shutdown = async move {
            let _ = stop_rx.wait_for(|stopped| *stopped).await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %err, "hook relay endpoint stopped with an error");
        }
    });
    tracing::info!(%addr, file = %endpoint_file.display(), "hook relay endpoint listening");
    Ok(EndpointHandle {
        addr,
        file: endpoint_file,
        token,
        stop,
        server: Some(server),
    })
}

impl EndpointHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint_file(&self) -> &Path {
        &self.file
    }

    /// Stops serving (requests in flight get a short grace) and removes the endpoint file if it
    /// still names this endpoint, so no hook sends the token to whatever takes the port next.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
                tracing::warn!("hook relay endpoint did not stop in time; aborting it");
                abort.abort();
            }
        }
        match read_endpoint_file(&self.file) {
            Ok(record) if record.token == self.token => {
                if let Err(e) = std::fs::remove_file(&self.file) {
                    tracing::warn!(error = %e, "could not remove the hook relay endpoint file");
                }
            }
            _ => {}
        }
    }
}

/// Writes the endpoint file atomically with mode 0600: a new temporary file beside it, fsync,
/// rename over the old one.
pub fn write_endpoint_file(path: &Path, record: &EndpointFile) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hook-relay.json".to_owned());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let text = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Why an endpoint file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EndpointFileError {
    #[error("endpoint file {path} is missing")]
    Missing { path: PathBuf },
    #[error("cannot read endpoint file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("endpoint file {path} is not usable: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Reads and checks an endpoint file: ours (same owner, not writable by group or others),
/// version 1, a loopback address, a 256-bit hex token. A file anyone else could have written
/// might point the hook, and the token, at a stranger's port.
pub fn read_endpoint_file(path: &Path) -> Result<EndpointFile, EndpointFileError> {
    use std::os::unix::fs::MetadataExt;
    let invalid = |reason: String| EndpointFileError::Invalid {
        path: path.to_owned(),
        reason,
    };
    use std::io::Read;
    let not_readable = |source| EndpointFileError::Read {
        path: path.to_owned(),
        source,
    };
    // One open file for both the checks and the read, so they are about the same file.
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointFileError::Missing {
                path: path.to_owned(),
            })
        }
        Err(source) => return Err(not_readable(source)),
    };
    let meta = file.metadata().map_err(not_readable)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(invalid(format!("owned by uid {}, not {me}", meta.uid())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(invalid(format!(
            "writable by others (mode {:o})",
            meta.mode() & 0o777
        )));
    }
    let mut text = Vec::new();
    file.take(4097)
        .read_to_end(&mut text)
        .map_err(not_readable)?;
    if text.len() > 4096 {
        return Err(invalid("too large".to_owned()));
    }
    let record: EndpointFile = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("not an endpoint record: {e}")))?;
    if record.version != ENDPOINT_FILE_VERSION {
        return Err(invalid(format!("unknown version {}", record.version)));
    }
    if !record.addr.ip().is_loopback() {
        return Err(invalid(format!(
            "{} is not a loopback address",
            record.addr
        )));
    }
    if record.token.len() != 64 || !record.token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("malformed token".to_owned()));
    }
    Ok(record)
}

async fn invoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &shared.token) {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized".to_owned());
    }
    let request: InvokeRequest<Box<RawValue>> = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("invalid relay request: {e}"),
            )
        }
    };
    let invocation = Invocation {
        provider: &request.provider,
        relay_id: &request.relay_id,
        generation: &request.generation,
        event: request.event,
        payload: request.payload.get().as_bytes(),
    };
    let validated = match shared.registry.validate(&invocation) {
        Ok(validated) => validated,
        Err(error) => {
            tracing::warn!(relay_id = %request.relay_id, event = %request.event, %error,
                "native hook relay call refused");
            let sink = &shared.sink;
            let reported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sink.on_rejection(&request.relay_id, request.event, &error)
            }));
            if reported.is_err() {
                tracing::error!("hook sink panicked on a rejection");
            }
            let status =
                StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            return refuse(status, error.to_string());
        }
    };
    let decision = shared.policy.decide(validated.event, &validated.payload);
    tracing::debug!(relay_id = %validated.relay_id, event = %validated.event,
        decision = decision.relay_label(), via_grace = validated.via_grace,
        "native hook relay call decided");
    // The sink is the gateway's code; a bug there must fail this one call (the hook command then
    // fails closed), not take the endpoint down.
    let sink = &shared.sink;
    let reported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sink.on_invocation(&validated, &decision)
    }));
    if reported.is_err() {
        tracing::error!("hook sink panicked");
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "native hook relay sink failed".to_owned(),
        );
    }
    let result = render_decision(validated.event, &decision);
    Json(InvokeResponse {
        ok: true,
        result: Some(result),
        error: None,
    })
    .into_response()
}

fn refuse(status: StatusCode, error: String) -> Response {
    let body = InvokeResponse {
        ok: false,
        result: None,
        error: Some(error),
    };
    (status, Json(body)).into_response()
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let Some(presented) = value.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    constant_time_eq(presented, token.as_bytes())
}

/// Compares without an early exit, so the time taken says nothing about where a guess went
/// wrong. (The length is not secret: every token is 64 hex digits.)
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_header_is_required() {
        let token = "t".repeat(64);
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, &token));
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert!(authorized(&headers, &token));
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        assert!(!authorized(&headers, &token));
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(!authorized(&headers, &token));
    }

    #[test]
    fn endpoint_file_is_private_atomic_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hook-relay.json");
        let record = EndpointFile {
            version: 1,
            pid: 42,
            addr: "127.0.0.1:4567".parse().unwrap(),
            token: "a".repeat(64),
        };
        write_endpoint_file(&path, &record).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_endpoint_file(&path).unwrap(), record);
        // Rewriting replaces it and leaves no temporary files behind.
        let moved = EndpointFile {
            addr: "127.0.0.1:5678".parse().unwrap(),
            ..record.clone()
        };
        write_endpoint_file(&path, &moved).unwrap();
        assert_eq!(read_endpoint_file(&path).unwrap(), moved);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("hook-relay.json")]);

        let missing = read_endpoint_file(&dir.path().join("none.json")).unwrap_err();
        assert!(
            matches!(missing, EndpointFileError::Missing { .. }),
            "{missing}"
        );

        let bad = |text: &str| {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            read_endpoint_file(&path).unwrap_err().to_string()
        };
        assert!(bad("{").contains("not an endpoint record"));
        let remote =
            serde_json::json!({"version":1,"pid":1,"addr":"10.0.0.1:80","token":"a".repeat(64)});
        assert!(bad(&remote.to_string()).contains("not a loopback address"));
        let v2 =
            serde_json::json!({"version":2,"pid":1,"addr":"127.0.0.1:80","token":"a".repeat(64)});
        assert!(bad(&v2.to_string()).contains("unknown version 2"));

        write_endpoint_file(&path, &record).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = read_endpoint_file(&path).unwrap_err().to_string();
        assert!(err.contains("writable by others"), "{err}");
    }
}
