//! One live WebSocket connection to the server that keeps itself up, as the browser's does.
//!
//! [`Live`] owns one task. The task connects (with the `Origin` of the base URL and the bearer
//! token), heartbeats with `ping` frames, and on any drop (a closed socket, a write that does
//! not go out, a heartbeat left unanswered) reports [`Update::Disconnected`] and reconnects with
//! backoff, then reports [`Update::Connected`] and resubscribes the current session after the
//! last event it delivered. Its consumer therefore sees every event of the subscribed session
//! exactly once and in order: events at or before the last delivered one are dropped, and a gap
//! (which the server's subscription never makes, but a stale frame could) resubscribes. Commands
//! given while the socket is down wait in order; a send that was not acknowledged before a drop
//! goes out again with the same client id, which the server stores once.
//!
//! It speaks only `app::wire` frames and never prints or escapes anything: text it passes on is
//! untrusted and is escaped where it is shown.

use std::collections::VecDeque;
use std::time::Duration;

use app::wire::{ClientFrame, Seq, ServerFrame, SessionKey, Source};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::http::error_chain;
use super::{Command, Endpoint, Update};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Timings of a [`Live`] connection. The defaults suit a person at a terminal; tests shorten
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    /// How often a `ping` goes out while the socket is up.
    pub ping_every: Duration,
    /// How long a `ping` may stay unanswered (and a write may take) before the socket counts as
    /// dropped.
    pub pong_within: Duration,
    /// The first wait before reconnecting; it doubles on each failed attempt…
    pub backoff_min: Duration,
    /// …up to this, and is back to `backoff_min` once a connection is up.
    pub backoff_max: Duration,
    /// How long opening the socket (TCP and the upgrade) may take.
    pub connect_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            ping_every: Duration::from_secs(10),
            pong_within: Duration::from_secs(10),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A live connection to the server's `/ws`, kept up by its own task.
pub struct Live {
    commands: mpsc::UnboundedSender<Command>,
    updates: mpsc::UnboundedReceiver<Update>,
    task: JoinHandle<()>,
}

impl Live {
    /// Starts connecting to `endpoint` at once, with the default timings. Spawns the connection's
    /// task, so it must be called inside a Tokio runtime.
    pub fn start(endpoint: Endpoint) -> Live {
        Live::start_with(endpoint, LiveOptions::default())
    }

    /// Starts connecting to `endpoint` at once, with these timings.
    pub fn start_with(endpoint: Endpoint, options: LiveOptions) -> Live {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (update_tx, updates) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(endpoint, options, command_rx, update_tx));
        Live {
            commands,
            updates,
            task,
        }
    }

    /// Queues a command; it goes out now if the socket is up, else once it is up again.
    pub fn command(&self, command: Command) {
        // The task ends only after `shutdown` (which consumes `self`) or a dropped receiver
        // (which `self` holds), so this cannot fail while `self` exists.
        let _ = self.commands.send(command);
    }

    /// The next update; `None` once the task has ended.
    pub async fn next(&mut self) -> Option<Update> {
        self.updates.recv().await
    }

    /// Closes the socket and waits for the task to end.
    pub async fn shutdown(self) {
        let Live {
            commands,
            updates,
            task,
        } = self;
        drop(commands);
        let _ = task.await;
        drop(updates);
    }
}

/// The one place a `send` frame is built: runs from the terminal carry source `tui`.
fn send_frame(session: SessionKey, client_id: String, text: String, steer: bool) -> ClientFrame {
    ClientFrame::Send {
        session,
        client_id,
        text,
        source: Source::Tui,
        steer,
        images: Vec::new(),
    }
}

/// What a command is on the wire.
fn frame_of(command: Command) -> ClientFrame {
    match command {
        Command::Subscribe { session, after } => ClientFrame::Subscribe {
            session,
            after,
            recent: None,
        },
        Command::Open { session, recent } => ClientFrame::Subscribe {
            session,
            after: Seq::ZERO,
            recent: Some(recent),
        },
        Command::Send {
            session,
            client_id,
            text,
            steer,
        } => send_frame(session, client_id, text, steer),
        Command::Stop { session } => ClientFrame::Stop { session },
        Command::Answer {
            session,
            approval,
            decision,
            answer,
        } => ClientFrame::Answer {
            session,
            approval,
            decision,
            answer,
        },
        Command::SetMode { session, mode } => ClientFrame::SetMode { session, mode },
    }
}

/// The subscribed session and how far its events have been delivered.
struct Subscription {
    session: SessionKey,
    last: Seq,
    /// A gap was seen and the session resubscribed; further gaps wait for its replay.
    resubscribed: bool,
    /// Opened at its latest `recent` events (`Command::Open`) and no event delivered yet: the
    /// first one says where the session was opened.
    recent: Option<u64>,
}

/// What the task keeps across connections.
struct State {
    subscription: Option<Subscription>,
    /// Commands that have not gone out yet, in order.
    pending: VecDeque<Command>,
    /// Sends that went out and have no `accepted` (or `error`) yet, in order.
    unacked: Vec<Command>,
    updates: mpsc::UnboundedSender<Update>,
    nonce: u64,
}

/// Why a connection ended.
enum End {
    /// `shutdown`, or the consumer is gone: the task ends.
    Shutdown,
    /// The socket dropped: reconnect.
    Dropped(String),
}

async fn run(
    endpoint: Endpoint,
    options: LiveOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    updates: mpsc::UnboundedSender<Update>,
) {
    let mut state = State {
        subscription: None,
        pending: VecDeque::new(),
        unacked: Vec::new(),
        updates,
        nonce: 0,
    };
    let mut backoff = options.backoff_min;
    loop {
        let connecting = connect(&endpoint, options.connect_timeout);
        tokio::pin!(connecting);
        let connected = loop {
            tokio::select! {
                result = &mut connecting => break result,
                command = commands.recv() => match command {
                    Some(command) => state.queue(command),
                    None => return,
                },
            }
        };
        let reason = match connected {
            Ok(socket) => {
                backoff = options.backoff_min;
                if !state.report(Update::Connected) {
                    return;
                }
                match state.serve(socket, &mut commands, &options).await {
                    End::Shutdown => return,
                    End::Dropped(reason) => reason,
                }
            }
            Err(reason) => reason,
        };
        // Sends that may not have arrived go out again first, in their order, with their ids.
        for command in state.unacked.drain(..).rev() {
            state.pending.push_front(command);
        }
        let retry_in = backoff;
        backoff = (backoff * 2).min(options.backoff_max);
        if !state.report(Update::Disconnected { retry_in, reason }) {
            return;
        }
        let wait = tokio::time::sleep(retry_in);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                command = commands.recv() => match command {
                    Some(command) => state.queue(command),
                    None => return,
                },
            }
        }
    }
}

/// Opens the socket: `ws://…/ws` with the base URL as `Origin` and the bearer token.
async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Socket, String> {
    let url = ws_url(&endpoint.base_url)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad server URL {url}: {e}"))?;
    let headers = request.headers_mut();
    headers.insert(
        "Origin",
        HeaderValue::from_str(&endpoint.base_url)
            .map_err(|_| format!("bad server URL {}", endpoint.base_url))?,
    );
    if let Some(token) = &endpoint.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the access token is not a valid header value".to_owned())?;
        headers.insert("Authorization", value);
    }
    match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(format!("no connection within {} s", timeout.as_secs())),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            Err(match response.status().as_u16() {
                401 => super::ClientError::Unauthorized.to_string(),
                status => format!("the server refused the connection ({status})"),
            })
        }
        Ok(Err(e)) => Err(error_chain(&e)),
    }
}

/// `http://host:port` → `ws://host:port/ws` (`https` → `wss`).
fn ws_url(base_url: &str) -> Result<String, String> {
    let base = base_url.trim_end_matches('/');
    if let Some(rest) = base.strip_prefix("http://") {
        Ok(format!("ws://{rest}/ws"))
    } else if let Some(rest) = base.strip_prefix("https://") {
        Ok(format!("wss://{rest}/ws"))
    } else {
        Err(format!(
            "the server URL must start with http://, not {base}"
        ))
    }
}

impl State {
    /// Passes an update to the consumer; `false` when it is gone.
    fn report(&self, update: Update) -> bool {
        self.updates.send(update).is_ok()
    }

    /// Takes a command while the socket is down: a subscription applies now (and goes out on
    /// connecting), everything else waits in order.
    fn queue(&mut self, command: Command) {
        match command {
            Command::Subscribe { session, after } => self.subscribe(session, after, None),
            Command::Open { session, recent } => self.subscribe(session, Seq::ZERO, Some(recent)),
            other => self.pending.push_back(other),
        }
    }

    fn subscribe(&mut self, session: SessionKey, after: Seq, recent: Option<u64>) {
        self.subscription = Some(Subscription {
            session,
            last: after,
            resubscribed: false,
            recent,
        });
    }

    /// Runs one connection until it drops or the task is told to end.
    async fn serve(
        &mut self,
        socket: Socket,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        options: &LiveOptions,
    ) -> End {
        let (mut sink, mut stream) = socket.split();
        let write_within = options.pong_within;
        macro_rules! write {
            ($frame:expr) => {
                if let Err(reason) = write(&mut sink, &$frame, write_within).await {
                    return End::Dropped(reason);
                }
            };
        }
        // The subscription resumes after the last event delivered; then what waited goes out.
        if let Some(sub) = &mut self.subscription {
            sub.resubscribed = false;
            write!(ClientFrame::Subscribe {
                session: sub.session.clone(),
                after: sub.last,
                recent: sub.recent,
            });
        }
        while let Some(command) = self.pending.pop_front() {
            let is_send = matches!(command, Command::Send { .. });
            if is_send {
                self.unacked.push(command.clone());
            }
            if let Err(reason) = write(&mut sink, &frame_of(command.clone()), write_within).await {
                if !is_send {
                    // A send is kept in `unacked`; anything else waits for the next connection.
                    self.pending.push_front(command);
                }
                return End::Dropped(reason);
            }
        }
        let mut ping =
            tokio::time::interval_at(Instant::now() + options.ping_every, options.ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The nonce of the ping waiting for its pong, and by when it must come.
        let mut awaiting: Option<(u64, Instant)> = None;
        loop {
            let deadline = awaiting.map(|(_, at)| at);
            tokio::select! {
                message = stream.next() => {
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None => {
                            return End::Dropped("the server closed the connection".to_owned());
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return End::Dropped(error_chain(&e)),
                    };
                    let frame = match serde_json::from_str::<ServerFrame>(text.as_str()) {
                        Ok(frame) => frame,
                        Err(e) => {
                            // A frame this client does not know (a newer server) is skipped.
                            tracing::debug!(error = %e, "unreadable frame from the server");
                            continue;
                        }
                    };
                    if let ServerFrame::Pong { nonce } = frame {
                        if awaiting.is_some_and(|(n, _)| n == nonce) {
                            awaiting = None;
                        }
                        continue;
                    }
                    match self.receive(frame) {
                        Received::Nothing => {}
                        Received::Resubscribe(frame) => write!(frame),
                        Received::ConsumerGone => return End::Shutdown,
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else {
                        let _ = tokio::time::timeout(write_within, sink.close()).await;
                        return End::Shutdown;
                    };
                    match command {
                        Command::Subscribe { session, after } => {
                            self.subscribe(session.clone(), after, None);
                            write!(ClientFrame::Subscribe { session, after, recent: None });
                        }
                        Command::Open { session, recent } => {
                            self.subscribe(session.clone(), Seq::ZERO, Some(recent));
                            write!(frame_of(Command::Open { session, recent }));
                        }
                        command @ Command::Send { .. } => {
                            self.unacked.push(command.clone());
                            write!(frame_of(command));
                        }
                        command => {
                            if let Err(reason) = write(&mut sink, &frame_of(command.clone()), write_within).await {
                                self.pending.push_front(command);
                                return End::Dropped(reason);
                            }
                        }
                    }
                }
                _ = ping.tick() => {
                    if awaiting.is_none() {
                        self.nonce += 1;
                        awaiting = Some((self.nonce, Instant::now() + options.pong_within));
                        write!(ClientFrame::Ping { nonce: self.nonce });
                    }
                }
                () = sleep_until(deadline) => {
                    return End::Dropped(format!(
                        "no answer to a heartbeat within {} ms",
                        options.pong_within.as_millis()
                    ));
                }
            }
        }
    }

    /// Handles one frame from the server (not a pong).
    fn receive(&mut self, frame: ServerFrame) -> Received {
        let update = match frame {
            ServerFrame::Event { session, event } => {
                let Some(sub) = &mut self.subscription else {
                    return Received::Nothing;
                };
                if session == sub.session && sub.recent.take().is_some() {
                    // The session was opened at its latest events: they start here.
                    sub.last = Seq(event.seq.0.saturating_sub(1)).max(sub.last);
                }
                if session != sub.session || event.seq <= sub.last {
                    // Another session's (a subscription switched away from), or seen already.
                    return Received::Nothing;
                }
                if event.seq != sub.last.next() {
                    if sub.resubscribed {
                        return Received::Nothing;
                    }
                    sub.resubscribed = true;
                    return Received::Resubscribe(ClientFrame::Subscribe {
                        session: sub.session.clone(),
                        after: sub.last,
                        recent: None,
                    });
                }
                sub.resubscribed = false;
                sub.last = event.seq;
                Update::Event { session, event }
            }
            ServerFrame::Accepted {
                client_id,
                seq,
                duplicate,
            } => {
                self.acknowledge(&client_id);
                Update::Accepted {
                    client_id,
                    seq,
                    duplicate,
                }
            }
            ServerFrame::Error { client_id, message } => {
                if let Some(id) = &client_id {
                    // Refused: sending it again would be refused again.
                    self.acknowledge(id);
                }
                Update::Error { client_id, message }
            }
            ServerFrame::Sessions { sessions } => Update::Sessions(sessions),
            ServerFrame::Account { account } => Update::Account(account),
            ServerFrame::Pong { .. } => return Received::Nothing,
        };
        if self.report(update) {
            Received::Nothing
        } else {
            Received::ConsumerGone
        }
    }

    fn acknowledge(&mut self, client_id: &str) {
        self.unacked.retain(
            |command| !matches!(command, Command::Send { client_id: id, .. } if id == client_id),
        );
    }
}

enum Received {
    Nothing,
    Resubscribe(ClientFrame),
    ConsumerGone,
}

async fn write(
    sink: &mut futures::stream::SplitSink<Socket, Message>,
    frame: &ClientFrame,
    within: Duration,
) -> Result<(), String> {
    let text = serde_json::to_string(frame).map_err(|e| format!("cannot encode a frame: {e}"))?;
    match tokio::time::timeout(within, sink.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(_) => Err(format!(
            "a frame could not be written within {} ms",
            within.as_millis()
        )),
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_follows_the_base_url() {
        assert_eq!(
            ws_url("http://127.0.0.1:3000").unwrap(),
            "ws://127.0.0.1:3000/ws"
        );
        assert_eq!(
            ws_url("https://chat.example.lan/").unwrap(),
            "wss://chat.example.lan/ws"
        );
        assert!(ws_url("ftp://x").is_err());
    }

    /// A session opened at its latest events (`Command::Open`): its first event is where it
    /// starts, not a gap; a real gap after it still resubscribes from the last delivered.
    #[test]
    fn an_opened_session_starts_at_its_first_event_and_gaps_after_it_still_count() {
        let (updates, mut delivered) = mpsc::unbounded_channel();
        let mut state = State {
            subscription: None,
            pending: VecDeque::new(),
            unacked: Vec::new(),
            updates,
            nonce: 0,
        };
        let session = SessionKey::parse("s").unwrap();
        state.queue(Command::Open {
            session: session.clone(),
            recent: 200,
        });
        let event = |seq| ServerFrame::Event {
            session: session.clone(),
            event: app::wire::Event {
                seq: Seq(seq),
                at_ms: 0,
                run: None,
                private: false,
                body: app::wire::EventBody::Notice {
                    level: app::wire::NoticeLevel::Info,
                    text: String::new(),
                },
            },
        };
        assert!(matches!(state.receive(event(801)), Received::Nothing));
        assert!(matches!(
            delivered.try_recv(),
            Ok(Update::Event { event, .. }) if event.seq == Seq(801)
        ));
        let Received::Resubscribe(frame) = state.receive(event(803)) else {
            panic!("a gap after the first event resubscribes");
        };
        assert_eq!(
            frame,
            ClientFrame::Subscribe {
                session,
                after: Seq(801),
                recent: None,
            }
        );
    }
}
