//! The live connection (browser only): one WebSocket per tab that keeps the page current.
//!
//! A single task owns the socket and runs a loop: open, `Subscribe` after the last applied
//! sequence number, flush the outbox, then apply events, acknowledgements and commands until the
//! socket dies; then back off (exponentially, with jitter) and open again. Because every
//! subscription names the last applied sequence number and [`Transcript::apply`] drops
//! duplicates and reports gaps, a reconnect never loses or repeats an entry.
//!
//! Liveness: a `Ping` goes out every 15 s whatever else is happening (the server also closes
//! sockets that stay silent), and a ping left unanswered by any frame for 20 s means the socket
//! is dead even if the browser has not noticed yet.
//!
//! Sends are idempotent by client id: an outbox item is sent once per socket (on open, or when
//! queued while open) until the server answers `Accepted` or `Error` for its id, so a retried
//! message is stored once however often the connection drops. Stop, an approval's answer and a
//! mode change are never queued: the view hands them over only while connected
//! (`ChatState::command_now`), and they go out as one frame each.

use futures::channel::mpsc::{unbounded, UnboundedReceiver};
use futures::{pin_mut, select, FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::browser;
use super::state::{backoff_ms, ChatState, Command, ConnState, Flash, Pending};
use crate::json;
use crate::transcript::Applied;
use crate::wire::{ClientFrame, Event, EventBody, Seq, ServerFrame};

/// Give up on an opening socket after this long and try again.
const OPEN_TIMEOUT_MS: u32 = 10_000;
/// How often the loop checks the heartbeat.
const TICK_MS: u32 = 5_000;
const PING_EVERY_MS: f64 = 15_000.0;
/// A ping with no frame at all since then for this long means the socket is dead.
const PONG_GRACE_MS: f64 = 20_000.0;
/// After this many failed attempts in a row the indicator says "offline" (retries continue).
const OFFLINE_AFTER_FAILURES: u32 = 5;
/// Frames already received are applied together, so a catch-up of many events renders once.
const MAX_BATCH: usize = 1_000;

/// What ended one socket's life.
enum Outcome {
    /// The socket never opened.
    Failed,
    /// The socket was open and then closed, errored or went silent.
    Dropped,
    /// The page is gone; stop for good.
    Disposed,
}

/// Starts the live connection for the page. Called once, from an effect, after hydration.
pub fn start(state: ChatState) {
    let (tx, rx) = unbounded::<Command>();
    state.commands.set_value(Some(tx.clone()));
    restore_outbox(state);

    // The outbox survives a reload (per tab) so an offline send is never lost.
    Effect::new(move |_| {
        let key = state.session.get_value();
        let json = state
            .outbox
            .with(|o| (!o.is_empty()).then(|| json::to_string(&o[..])));
        browser::save_outbox(key.as_str(), json.as_deref());
    });

    // Network changes short-circuit the backoff (online) or drop a socket that the browser
    // knows is useless (offline) instead of waiting for the heartbeat to notice.
    let online = window_event_listener(leptos::ev::online, {
        let tx = tx.clone();
        move |_| {
            let _ = tx.unbounded_send(Command::NetworkChanged);
        }
    });
    let offline = window_event_listener(leptos::ev::offline, move |_| {
        let _ = tx.unbounded_send(Command::NetworkChanged);
    });
    on_cleanup(move || {
        online.remove();
        offline.remove();
    });

    // A card that was already waiting when the page loaded gets the focus, as a new one does.
    if state
        .transcript
        .with_untracked(|t| t.pending_approvals().next().is_some())
    {
        browser::focus_waiting_approval();
    }

    spawn_local(run(state, rx));
}

fn restore_outbox(state: ChatState) {
    let key = state.session.get_value();
    let saved = browser::load_outbox(key.as_str())
        .and_then(|json| json::from_str::<Vec<Pending>>(&json).ok())
        .unwrap_or_default();
    if !saved.is_empty() {
        state.outbox.set(saved);
    }
}

fn disposed(state: ChatState) -> bool {
    state.transcript.is_disposed() || state.commands.is_disposed()
}

fn set_conn(state: ChatState, conn: ConnState) {
    if state.conn.try_get_untracked() != Some(conn) {
        state.conn.try_set(conn);
    }
}

/// The state shown while not connected.
fn waiting_state(failures: u32) -> ConnState {
    if failures >= OFFLINE_AFTER_FAILURES || !browser::online() {
        ConnState::Offline
    } else {
        ConnState::Reconnecting
    }
}

async fn run(state: ChatState, mut rx: UnboundedReceiver<Command>) {
    let Some(url) = browser::ws_url() else {
        set_conn(state, ConnState::Offline);
        return;
    };
    let mut failures: u32 = 0;
    loop {
        if disposed(state) {
            return;
        }
        set_conn(state, waiting_state(failures));
        let outcome = match WebSocket::open(&url) {
            Ok(ws) => connection(state, ws, &mut rx).await,
            Err(_) => Outcome::Failed,
        };
        match outcome {
            Outcome::Disposed => return,
            // It worked until now: the next attempt comes quickly.
            Outcome::Dropped => failures = 0,
            Outcome::Failed => failures = failures.saturating_add(1),
        }
        if disposed(state) {
            return;
        }
        set_conn(state, waiting_state(failures));
        let delay = backoff_ms(failures, browser::random());
        if !backoff(state, &mut rx, delay).await {
            return;
        }
    }
}

/// Waits out a backoff delay while handling commands. Returns `false` when the page is gone.
async fn backoff(state: ChatState, rx: &mut UnboundedReceiver<Command>, delay_ms: u32) -> bool {
    let timer = TimeoutFuture::new(delay_ms).fuse();
    pin_mut!(timer);
    loop {
        let cmd = rx.next().fuse();
        pin_mut!(cmd);
        select! {
            _ = timer => return true,
            cmd = cmd => match cmd {
                None => return false,
                // The network is back: retry now rather than at the end of a long backoff.
                Some(Command::NetworkChanged) if browser::online() => return true,
                Some(Command::NetworkChanged) => set_conn(state, ConnState::Offline),
                // Sends go out with the outbox on open; the rest are refused while disconnected
                // (`ChatState::command_now`), so anything here raced a drop and is let go.
                Some(
                    Command::Send(_)
                    | Command::Stop
                    | Command::Answer { .. }
                    | Command::SetMode(_)
                    | Command::SetModel { .. },
                ) => {}
            },
        }
    }
}

async fn send_frame(ws: &mut WebSocket, frame: &ClientFrame) -> Result<(), ()> {
    ws.send(Message::Text(json::to_string(frame)))
        .await
        .map_err(|_| ())
}

fn subscribe_frame(state: ChatState) -> ClientFrame {
    ClientFrame::Subscribe {
        session: state.session.get_value(),
        after: state.transcript.with_untracked(|t| t.last_seq()),
        recent: None,
    }
}

fn send_message_frame(state: ChatState, pending: &Pending) -> ClientFrame {
    ClientFrame::Send {
        session: state.session.get_value(),
        client_id: pending.client_id.clone(),
        text: pending.text.clone(),
        source: Default::default(),
        steer: pending.steer,
        images: pending.images.clone(),
    }
}

/// The frame for a command that is sent as it comes (not through the outbox).
fn control_frame(state: ChatState, command: Command) -> Option<ClientFrame> {
    let session = state.session.get_value();
    Some(match command {
        Command::Stop => ClientFrame::Stop { session },
        Command::Answer {
            approval,
            decision,
            answer,
        } => ClientFrame::Answer {
            session,
            approval,
            decision,
            answer,
        },
        Command::SetMode(mode) => ClientFrame::SetMode { session, mode },
        Command::SetModel { model, effort } => ClientFrame::SetModel {
            session,
            model,
            effort,
        },
        Command::Send(_) | Command::NetworkChanged => return None,
    })
}

/// Everything one socket does, from open to close.
async fn connection(
    state: ChatState,
    mut ws: WebSocket,
    rx: &mut UnboundedReceiver<Command>,
) -> Outcome {
    // The sink is ready once the socket has left CONNECTING: open, or failed. Sending only after
    // checking which keeps a failed socket from being written to (a console warning otherwise).
    let settled = {
        let ready = futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).fuse();
        let timeout = TimeoutFuture::new(OPEN_TIMEOUT_MS).fuse();
        pin_mut!(ready, timeout);
        select! {
            ready = ready => ready.is_ok(),
            _ = timeout => false,
        }
    };
    if !settled || !matches!(ws.state(), State::Open) {
        return Outcome::Failed;
    }
    if send_frame(&mut ws, &subscribe_frame(state)).await.is_err() {
        return Outcome::Failed;
    }
    if disposed(state) {
        return Outcome::Disposed;
    }
    set_conn(state, ConnState::Connected);

    // Client ids sent on this socket: a queued `Command::Send` for an item the open-time flush
    // already sent must not send it twice.
    let mut sent: Vec<String> = Vec::new();
    for pending in state.outbox.get_untracked() {
        if send_frame(&mut ws, &send_message_frame(state, &pending))
            .await
            .is_err()
        {
            return Outcome::Dropped;
        }
        sent.push(pending.client_id);
    }

    let mut ticks = IntervalStream::new(TICK_MS);
    let mut last_frame = browser::now_ms();
    let mut last_ping = last_frame;
    let mut nonce: u64 = 0;
    // The last sequence number a gap made us re-subscribe after, so a burst of out-of-order
    // frames causes one re-subscription, not one per frame.
    let mut resubscribed_after: Option<Seq> = None;

    enum Step {
        Frame(Option<Result<Message, gloo_net::websocket::WebSocketError>>),
        Command(Option<Command>),
        Tick,
    }

    loop {
        let step = {
            let frame = ws.next().fuse();
            let cmd = rx.next().fuse();
            let tick = ticks.next().fuse();
            pin_mut!(frame, cmd, tick);
            select! {
                f = frame => Step::Frame(f),
                c = cmd => Step::Command(c),
                _ = tick => Step::Tick,
            }
        };
        match step {
            Step::Frame(Some(Ok(first))) => {
                last_frame = browser::now_ms();
                let mut batch = vec![first];
                let mut ended = false;
                while batch.len() < MAX_BATCH {
                    match ws.next().now_or_never() {
                        Some(Some(Ok(m))) => batch.push(m),
                        Some(_) => {
                            ended = true;
                            break;
                        }
                        None => break,
                    }
                }
                if disposed(state) {
                    return Outcome::Disposed;
                }
                let gap = handle_frames(state, batch, &mut sent);
                if let Some(after) = gap {
                    if resubscribed_after != Some(after)
                        && send_frame(&mut ws, &subscribe_frame(state)).await.is_err()
                    {
                        return Outcome::Dropped;
                    }
                    resubscribed_after = Some(after);
                }
                if ended {
                    return Outcome::Dropped;
                }
            }
            // An error event, a close, or the end of the stream: this socket is done.
            Step::Frame(_) => return Outcome::Dropped,
            Step::Command(None) => return Outcome::Disposed,
            Step::Command(Some(Command::Send(client_id))) => {
                if sent.contains(&client_id) {
                    continue;
                }
                let pending = state
                    .outbox
                    .with_untracked(|o| o.iter().find(|p| p.client_id == client_id).cloned());
                if let Some(pending) = pending {
                    if send_frame(&mut ws, &send_message_frame(state, &pending))
                        .await
                        .is_err()
                    {
                        return Outcome::Dropped;
                    }
                    sent.push(client_id);
                }
            }
            Step::Command(Some(Command::NetworkChanged)) => {
                if !browser::online() {
                    return Outcome::Dropped;
                }
            }
            // Stop, an approval's answer, a mode change: one frame each, now.
            Step::Command(Some(command)) => {
                if let Some(frame) = control_frame(state, command) {
                    if send_frame(&mut ws, &frame).await.is_err() {
                        return Outcome::Dropped;
                    }
                }
            }
            Step::Tick => {
                if disposed(state) {
                    return Outcome::Disposed;
                }
                let now = browser::now_ms();
                if last_ping > last_frame && now - last_ping > PONG_GRACE_MS {
                    return Outcome::Dropped;
                }
                if now - last_ping >= PING_EVERY_MS {
                    nonce = nonce.wrapping_add(1);
                    if send_frame(&mut ws, &ClientFrame::Ping { nonce })
                        .await
                        .is_err()
                    {
                        return Outcome::Dropped;
                    }
                    // Only a ping sent after the last frame can be "unanswered".
                    last_ping = now.max(last_frame + 1.0);
                }
            }
        }
    }
}

/// Applies a batch of received frames. Returns the last applied sequence number when an event
/// skipped ahead, i.e. when the caller must re-subscribe from there.
fn handle_frames(state: ChatState, batch: Vec<Message>, sent: &mut Vec<String>) -> Option<Seq> {
    let key = state.session.get_value();
    let mut events: Vec<Event> = Vec::new();
    for message in batch {
        // The server only sends text frames; anything else is ignored rather than fatal.
        let Message::Text(text) = message else {
            continue;
        };
        let frame = match json::from_str::<ServerFrame>(&text) {
            Ok(frame) => frame,
            Err(err) => {
                leptos::logging::warn!("ignoring a malformed frame from the server: {err}");
                continue;
            }
        };
        match frame {
            ServerFrame::Event { session, event } => {
                if session == key {
                    events.push(event);
                }
            }
            ServerFrame::Accepted { client_id, .. } => {
                sent.retain(|id| *id != client_id);
                state
                    .outbox
                    .update(|o| o.retain(|p| p.client_id != client_id));
            }
            ServerFrame::Error {
                client_id: Some(client_id),
                message,
            } => {
                sent.retain(|id| *id != client_id);
                let mut failed = None;
                state.outbox.update(|o| {
                    if let Some(i) = o.iter().position(|p| p.client_id == client_id) {
                        failed = Some(o.remove(i));
                    }
                });
                if let Some(failed) = failed {
                    restore_text(state, &failed.text);
                    state.flash.set(Some(Flash::Error(format!(
                        "Not sent: {}. Your text is back in the message box.",
                        message.trim_end_matches('.')
                    ))));
                } else {
                    state.flash.set(Some(Flash::Error(message)));
                }
            }
            // Not a send's: an approval's answer or a mode change was refused (the select goes
            // back to the session's mode).
            ServerFrame::Error {
                client_id: None,
                message,
            } => {
                state.flash.set(Some(Flash::Error(message)));
                state.show_mode();
            }
            // The select follows a mode changed in any tab; other changes to the list leave it
            // alone (a change of its own may be on its way to the server).
            ServerFrame::Sessions { sessions } => {
                let before = state.mode();
                state.sessions.set(sessions);
                if state.mode() != before {
                    state.show_mode();
                }
            }
            ServerFrame::Account { account } => state.account.set(account),
            ServerFrame::Pong { .. } => {}
        }
    }
    if events.is_empty() {
        return None;
    }
    let mut gap = None;
    let mut asked = false;
    let (mut approvals, mut finished) = (0, 0);
    state.transcript.maybe_update(|t| {
        let mut changed = false;
        for event in &events {
            match t.apply(event) {
                Applied::Applied => {
                    changed = true;
                    match event.body {
                        EventBody::ApprovalRequested { .. } => {
                            asked = true;
                            approvals += 1;
                        }
                        EventBody::RunFinished { .. } => finished += 1,
                        _ => {}
                    }
                }
                Applied::Duplicate => {}
                Applied::Gap { .. } => {
                    // Everything after a gap would be a gap too; the re-subscription resends it.
                    gap = Some(t.last_seq());
                    break;
                }
            }
        }
        changed
    });
    if asked {
        browser::focus_waiting_approval();
    }
    super::attention::noticed(state, approvals, finished);
    gap
}

/// Puts a rejected message back into the composer without overwriting what is there now.
fn restore_text(state: ChatState, text: &str) {
    let Some(area) = state.composer.get_untracked() else {
        return;
    };
    let current = area.value();
    if current.trim().is_empty() {
        area.set_value(text);
    } else {
        area.set_value(&format!("{text}\n\n{current}"));
    }
}
