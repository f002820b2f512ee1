//! The browser's WebSocket: one per tab, JSON frames (`app::wire::ClientFrame`/`ServerFrame`).
//!
//! A subscription is gap-free and duplicate-free: it subscribes to the hub *before* reading the
//! store, sends everything after the client's last sequence number, then forwards live events,
//! skipping what it already sent and re-reading the store whenever it detects a hole (a lagging
//! receiver, or an event newer than the next expected one). The socket owns its tasks; they end
//! when the socket closes. A gateway failure becomes an `error` frame through the edge's one
//! mapping ([`super::error::exposed`]), in the same words an HTTP request would get; this module
//! has no error wording of its own for them.

use std::sync::Arc;
use std::time::Duration;

use app::wire::{AccountStatus, ClientFrame, Event, Seq, ServerFrame, SessionKey};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::error;
use super::AppState;
use crate::gateway::{Gateway, GatewayError};

/// Largest frame a browser may send: a maximal message plus JSON overhead.
const MAX_FRAME: usize = app::wire::MAX_MESSAGE_BYTES * 2 + 4096;
/// A socket that sends nothing (not even a ping) for this long is considered gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Events read from the store per catch-up query.
const CATCH_UP_PAGE: usize = 1000;

/// Per-socket read buffer. The default (128 KiB, allocated up front) made 10,000 idle tabs cost
/// over a gigabyte; browser frames are small, and a larger one still arrives, in several reads.
const READ_BUFFER: usize = 4 * 1024;

pub async fn handler(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(MAX_FRAME)
        .read_buffer_size(READ_BUFFER)
        // Frames are written as they come (each send flushes anyway), so no write buffer is kept.
        .write_buffer_size(0)
        .on_upgrade(move |socket| client(socket, state.gateway, state.images))
}

/// What the writer sends: a frame to encode, or one already encoded for every socket. The frame
/// is boxed: an event frame is large, and every queued session-list entry would otherwise pay
/// for it.
enum Outgoing {
    Frame(Box<ServerFrame>),
    Encoded(Arc<crate::gateway::hub::SessionsFrame>),
}

impl From<ServerFrame> for Outgoing {
    fn from(frame: ServerFrame) -> Outgoing {
        Outgoing::Frame(Box::new(frame))
    }
}

async fn client(socket: WebSocket, gw: Gateway, images: super::images::ImageStore) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut rx) = mpsc::channel::<Outgoing>(256);
    let tx = FrameSender(out.clone());
    let writer = tokio::spawn(async move {
        while let Some(outgoing) = rx.recv().await {
            let text = match outgoing {
                Outgoing::Encoded(list) => list.json.clone(),
                Outgoing::Frame(frame) => match serde_json::to_string(&frame) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!(error = %e, "could not encode a frame");
                        continue;
                    }
                },
            };
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let sessions = tokio::spawn(follow_sessions(gw.clone(), out.clone()));
    let account = tokio::spawn(follow_account(gw.clone(), out));
    let mut subscription: Option<JoinHandle<()>> = None;

    loop {
        let msg = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(_))) | Ok(None) => break,
            Err(_) => {
                tracing::debug!("websocket idle for too long; closing");
                break;
            }
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            Message::Binary(_) => {
                let _ = tx
                    .send(error_frame(None, "binary frames are not supported"))
                    .await;
                continue;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let frame = match serde_json::from_str::<ClientFrame>(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx
                    .send(error_frame(None, &format!("malformed frame: {e}")))
                    .await;
                continue;
            }
        };
        match frame {
            ClientFrame::Subscribe {
                session,
                after,
                recent,
            } => {
                if let Some(old) = subscription.take() {
                    old.abort();
                }
                // A client opening a long session at its end (`recent`) follows from where the
                // latest part of it starts, as a page of it would. Either way the session must
                // exist (`recent_start` checks it too).
                let after = match recent {
                    Some(events) if after == Seq::ZERO => gw.recent_start(&session, events),
                    _ => gw.session(&session).map(|_| after),
                };
                match after {
                    Ok(after) => {
                        subscription =
                            Some(tokio::spawn(follow(gw.clone(), session, after, tx.clone())));
                    }
                    Err(e) => {
                        let _ = tx.send(gateway_error_frame(None, &e)).await;
                    }
                }
            }
            ClientFrame::Send {
                session,
                client_id,
                text,
                source,
                steer,
                images: ids,
            } => {
                let message =
                    super::images::message(&images, &client_id, text, source, steer, &ids);
                let sent = match message {
                    Ok(message) => gw.send_message(&session, message).await.map_err(Into::into),
                    Err(e) => Err(e),
                };
                let reply = match sent {
                    Ok(out) => ServerFrame::Accepted {
                        client_id,
                        seq: out.seq,
                        duplicate: out.duplicate,
                    },
                    Err(e) => api_error_frame(Some(client_id), &e),
                };
                let _ = tx.send(reply).await;
            }
            ClientFrame::Stop { session } => {
                gw.stop(&session);
            }
            // Success shows as the approval's end event (every tab gets it); only a refusal is
            // this socket's own.
            ClientFrame::Answer {
                session,
                approval,
                decision,
                answer,
            } => {
                if let Err(e) = gw.answer(&session, approval, decision, answer).await {
                    let _ = tx.send(gateway_error_frame(None, &e)).await;
                }
            }
            ClientFrame::SetMode { session, mode } => {
                if let Err(e) = gw.set_mode(&session, mode) {
                    let _ = tx.send(gateway_error_frame(None, &e)).await;
                }
            }
            ClientFrame::SetModel {
                session,
                model,
                effort,
            } => {
                let result = gw
                    .set_model(&session, model.as_deref(), effort.as_deref())
                    .await;
                if let Err(e) = result {
                    let _ = tx.send(gateway_error_frame(None, &e)).await;
                }
            }
            ClientFrame::Ping { nonce } => {
                let _ = tx.send(ServerFrame::Pong { nonce }).await;
            }
        }
    }
    if let Some(s) = subscription {
        s.abort();
    }
    sessions.abort();
    account.abort();
    drop(tx);
    let _ = writer.await;
}

/// Sends every event after `after`, then live ones, with no gap and no duplicate.
async fn follow(gw: Gateway, key: SessionKey, after: Seq, tx: FrameSender) {
    // Subscribe first: anything appended from here on is either in the store read below or
    // arrives on the receiver (or both; the sequence check drops the second copy).
    let mut live = gw.subscribe(&key);
    let mut last = after;
    if catch_up(&gw, &key, &mut last, &tx).await.is_err() {
        return;
    }
    loop {
        match live.recv().await {
            Ok(event) => {
                if event.seq <= last {
                    continue;
                }
                if event.seq != last.next() {
                    // A hole: the store has what we missed, this event included.
                    if catch_up(&gw, &key, &mut last, &tx).await.is_err() {
                        return;
                    }
                    continue;
                }
                if send_event(&tx, &key, &event).await.is_err() {
                    return;
                }
                last = event.seq;
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(session = %key, skipped = n, "subscriber lagged; catching up from the store");
                if catch_up(&gw, &key, &mut last, &tx).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Reads and sends everything after `last` from the store, advancing `last`.
async fn catch_up(
    gw: &Gateway,
    key: &SessionKey,
    last: &mut Seq,
    tx: &FrameSender,
) -> Result<(), ()> {
    loop {
        let events = match gw.events_after(key, *last, CATCH_UP_PAGE) {
            Ok(e) => e,
            Err(e) => {
                let _ = tx.send(gateway_error_frame(None, &e)).await;
                return Err(());
            }
        };
        let n = events.len();
        for event in events {
            let seq = event.seq;
            send_event(tx, key, &Arc::new(event)).await?;
            *last = seq;
        }
        if n < CATCH_UP_PAGE {
            return Ok(());
        }
    }
}

async fn send_event(tx: &FrameSender, key: &SessionKey, event: &Arc<Event>) -> Result<(), ()> {
    tx.send(ServerFrame::Event {
        session: key.clone(),
        event: Event::clone(event),
    })
    .await
    .map_err(|_| ())
}

async fn follow_sessions(gw: Gateway, tx: mpsc::Sender<Outgoing>) {
    let mut rx = gw.subscribe_sessions();
    loop {
        match rx.recv().await {
            Ok(list) => {
                if tx.send(Outgoing::Encoded(list)).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The account's changes (its rate limits), starting with what is known now when there is
/// anything (a socket that reconnects may have missed a change; with nothing known the page's
/// own copy is already right).
async fn follow_account(gw: Gateway, tx: mpsc::Sender<Outgoing>) {
    let mut rx = gw.subscribe_account();
    let mut first = true;
    loop {
        let account = rx.borrow_and_update().clone();
        if !(first && account == AccountStatus::default()) {
            let frame = ServerFrame::Account { account };
            if tx.send(frame.into()).await.is_err() {
                return;
            }
        }
        first = false;
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The frame side of a socket's outgoing queue (`send` as on an `mpsc::Sender<ServerFrame>`).
#[derive(Clone)]
struct FrameSender(mpsc::Sender<Outgoing>);

impl FrameSender {
    async fn send(&self, frame: ServerFrame) -> Result<(), ()> {
        self.0.send(frame.into()).await.map_err(|_| ())
    }
}

fn error_frame(client_id: Option<String>, message: &str) -> ServerFrame {
    ServerFrame::Error {
        client_id,
        message: message.to_owned(),
    }
}

/// The error frame for any failure at the edge, in the words HTTP gives for it.
fn api_error_frame(client_id: Option<String>, e: &error::ApiError) -> ServerFrame {
    let exposed = e.exposed();
    if let Some(detail) = &exposed.detail {
        detail.log(&"websocket frame");
    }
    error_frame(client_id, &exposed.message)
}

/// The error frame for a gateway failure, in the words HTTP gives for it ([`error::exposed`]).
/// A frame has no middleware around it, so its internal detail is logged here, once.
fn gateway_error_frame(client_id: Option<String>, e: &GatewayError) -> ServerFrame {
    let exposed = error::exposed(e);
    if let Some(detail) = &exposed.detail {
        detail.log(&"websocket frame");
    }
    error_frame(client_id, &exposed.message)
}
