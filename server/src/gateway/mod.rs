//! The gateway: chat sessions, their runs on Codex threads, message delivery and live events.
//!
//! It owns every piece of chat state that is not in the store: which run is active per session,
//! which Codex thread serves which session, what is queued. Every transcript change goes through
//! [`Gateway::emit`], which appends to the store and publishes to the hub under one per-session lock,
//! so live subscribers see events in exactly the order the store numbered them. It never renders
//! HTML pages and never speaks HTTP; the `web` module does that.

mod account;
pub mod approval;
mod carry;
pub mod codex_threads;
pub mod delivery;
pub mod diff;
mod hooks;
pub mod hub;
pub mod mode;
mod organise;
mod present;
mod run;
mod signin;
pub mod threads;
mod workbench;
pub mod workspace;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::api::{PageError, PageSource};
use app::wire::{self, Event, PageData, Seq, SessionKey, SessionSummary};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

use crate::channels::Outbound;
use crate::codex::{Codex, CodexError, SupervisorEvent};
use crate::ids::RunId;
use crate::store::{Appended, NewEvent, RecordBody, Store, StoreError};
pub use carry::Exported;
use hub::Hub;
pub use organise::check_title;
pub use present::present;
use run::RunTable;
pub use run::{AttachedImage, NewMessage, RunStart, MAX_IMAGES};
pub use workbench::{check_choice, model_option};

/// Entries shown before a search result's when the page is opened at it (`?at=`).
const AT_CONTEXT: u64 = 10;

/// The sessions the page's sidebar lists and every tab is pushed, newest first. A person's
/// sessions grow by the thousand over a year; the page must not (each costs ~0.9 KiB of markup
/// and data), so older ones are a search or the all-sessions page away.
pub const SIDEBAR_SESSIONS: usize = 100;

/// The sessions `GET /api/v1/sessions` lists, newest first.
const API_SESSIONS: usize = 500;

/// Sessions per page of the all-sessions page (`GET /sessions`).
pub const ALL_SESSIONS_PAGE: usize = 200;

/// The title a session has until its first message names it.
pub const UNTITLED: &str = "New session";

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Bad input from a person or client; the message is meant to be shown to them.
    #[error("{0}")]
    BadInput(String),
    #[error("unknown session")]
    UnknownSession,
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
    #[error("Codex is unavailable: {0}")]
    Codex(#[from] CodexError),
    /// The hook relay could not be installed on the thread, so its native tools would run
    /// unchecked; the run is refused.
    #[error("native tools are unguarded: {0}")]
    Unguarded(String),
    /// No approval of this session has that id.
    #[error("unknown approval")]
    UnknownApproval,
    /// The approval is no longer waiting: someone answered first, or it was cancelled or
    /// expired. Says how it ended.
    #[error("this approval was already {}", .0.as_str())]
    ApprovalClosed(wire::ApprovalState),
    /// Codex refused a sign-in or sign-out; its words, never a key.
    #[error("Codex refused: {0}")]
    SignIn(String),
    /// Nothing can run now (Codex has no account, or could not start); says how to fix it.
    #[error("{0}")]
    Unusable(String),
}

/// Settings the gateway needs from the configuration.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// The configured workspaces: a session's thread works in the one it names (its `cwd` and,
    /// in the sandboxed modes, its writable root).
    pub workspaces: workspace::Workspaces,
    /// Codex sandbox mode a thread starts with (each turn then carries its session's mode).
    pub sandbox: String,
    /// The permission mode of new sessions.
    pub default_mode: wire::Mode,
    /// Names the model setup; part of the thread fingerprint so a switch starts fresh threads.
    pub model_label: String,
    /// A running turn with no progress for this long is interrupted.
    pub turn_stall: Duration,
    /// How long to wait for Codex to come up before a send fails.
    pub codex_ready_timeout: Duration,
    /// The native hook relay. `None` only where no native tool may run (unit tests).
    pub hooks: Option<HookSetup>,
}

/// What the gateway needs to install the hook relay on its threads.
#[derive(Clone)]
pub struct HookSetup {
    pub registry: crate::hook::registry::RelayRegistry,
    /// The executable Codex runs as the hook command (`<exe> hook relay …`).
    pub exe: PathBuf,
    /// Codex's timeout for one hook command.
    pub timeout_secs: u64,
    /// Whether each Codex process's trust hashes are computed or learned (see `hook::trust`).
    pub trust: crate::hook::trust::TrustMemo,
}

impl std::fmt::Debug for HookSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSetup")
            .field("exe", &self.exe)
            .field("timeout_secs", &self.timeout_secs)
            .finish_non_exhaustive()
    }
}

/// The result of a background request.
#[derive(Clone, Debug, PartialEq)]
pub struct BackgroundOutcome {
    /// The request's transcript entry.
    pub seq: Seq,
    /// `None` when the same request had been stored before (nothing new happened).
    pub start: Option<RunStart>,
}

/// The result of a send.
#[derive(Clone, Debug, PartialEq)]
pub struct SendOutcome {
    pub seq: Seq,
    /// The same client id had been stored before; nothing new happened.
    pub duplicate: bool,
}

#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    codex: Codex,
    outbound: Outbound,
    opts: GatewayOptions,
    slots: Mutex<HashMap<SessionKey, Arc<Slot>>>,
    runs: Mutex<RunTable>,
    /// Background work the gateway started (run set-up, tool calls, interrupts). Drained on
    /// shutdown.
    tasks: Mutex<JoinSet<()>>,
    shutdown: watch::Sender<bool>,
    /// The newest Codex epoch whose exit the dispatcher has handled (0: none yet).
    exited_epoch: AtomicU64,
    /// The session list changed and has not been published yet.
    sessions_dirty: std::sync::atomic::AtomicBool,
    /// `message` tool calls being answered, by their result key: repeats wait for the first.
    calls_in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Approvals waiting for a person (`run::approvals`). Never locked together with `runs`.
    approvals: Mutex<Vec<run::Pending>>,
    /// The Codex account and Codex's health as clients' headers show them, and a sign-in in
    /// progress (`account`, `signin`).
    account: account::AccountCell,
    /// Sessions a previous process left something open in, until recovered (`run::recovery`).
    recovering: run::Recovering,
    /// Codex's models, as its current process listed them (`workbench`).
    models: Mutex<workbench::ModelCache>,
    /// Held while asking Codex for its models: one `model/list` per process, however many ask.
    models_refresh: tokio::sync::Mutex<()>,
}

/// Per-session serialisation points.
#[derive(Default)]
struct Slot {
    /// Held while appending and publishing, so publish order equals sequence order.
    emit: Mutex<()>,
    /// Held while finding or creating the session's Codex thread: one start/resume at a time.
    thread: tokio::sync::Mutex<Option<threads::BoundThread>>,
    /// Written while a steer is on its way to Codex and until its message is stored; a reply
    /// waits for it (`run::steer`), so it never lands above the message it answers.
    steering: tokio::sync::RwLock<()>,
}

impl Gateway {
    /// Starts the gateway's dispatcher on Codex's event stream, and the recovery of what a
    /// previous process left open.
    pub fn start(
        store: Store,
        codex: Codex,
        events: tokio::sync::mpsc::UnboundedReceiver<SupervisorEvent>,
        outbound: Outbound,
        opts: GatewayOptions,
    ) -> Result<Gateway, GatewayError> {
        let gw = Gateway {
            inner: Arc::new(Inner {
                store,
                hub: Hub::default(),
                codex,
                outbound,
                opts,
                slots: Mutex::default(),
                runs: Mutex::default(),
                tasks: Mutex::new(JoinSet::new()),
                shutdown: watch::channel(false).0,
                exited_epoch: AtomicU64::new(0),
                calls_in_flight: Mutex::default(),
                approvals: Mutex::default(),
                models: Mutex::default(),
                models_refresh: tokio::sync::Mutex::new(()),
                sessions_dirty: std::sync::atomic::AtomicBool::new(false),
                account: account::AccountCell::default(),
                recovering: run::Recovering::default(),
            }),
        };
        // Sessions from before workspaces worked in the one folder the default stands for.
        let adopted = gw
            .inner
            .store
            .adopt_workspace(gw.inner.opts.workspaces.default_workspace().name.as_str())?;
        if adopted > 0 {
            tracing::info!(
                adopted,
                "sessions from before workspaces use the default workspace"
            );
        }
        // Only found here (indexed queries); recovered after the server listens, each session
        // before any request touches it (`run::recovery`).
        gw.find_leftovers()?;
        gw.recover_in_background();
        let dispatcher = gw.clone();
        let shutdown = gw.inner.shutdown.subscribe();
        gw.spawn(async move { dispatcher.dispatch(events, shutdown).await });
        Ok(gw)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn codex(&self) -> &Codex {
        &self.inner.codex
    }

    /// How long a running turn may go without progress before the watchdog interrupts it.
    fn turn_stall(&self) -> Duration {
        self.inner.opts.turn_stall
    }

    /// Stops background work and Codex. Runs still in progress are closed as interrupted so the
    /// transcript says what happened.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        // Codex goes away with the server: what waited for a person can never be answered.
        self.close_approvals(run::Closing::CodexGone, |_| true);
        let open = lock(&self.inner.runs).open_runs();
        for (session, run_id) in open {
            self.finish_run(
                &session,
                &run_id,
                wire::RunOutcome::Interrupted,
                Some("the server shut down".to_owned()),
            );
        }
        let mut tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        self.inner.codex.shutdown().await;
    }

    // --- sessions ---------------------------------------------------------------------------

    /// A new session in the default workspace (see [`Gateway::create_session_in`]).
    pub fn create_session(&self) -> Result<SessionSummary, GatewayError> {
        self.create_session_in(None)
    }

    /// The most recently used session, or a new one when there is none.
    pub fn newest_or_new_session(&self) -> Result<SessionSummary, GatewayError> {
        match self.inner.store.list_sessions(1)?.into_iter().next() {
            Some(s) => Ok(s),
            None => self.create_session(),
        }
    }

    /// Changes a session's permission mode; its next turn runs with it (a running turn keeps
    /// the mode it started with). Every open tab learns it from the session list.
    pub fn set_mode(
        &self,
        key: &SessionKey,
        mode: wire::Mode,
    ) -> Result<SessionSummary, GatewayError> {
        match self.inner.store.set_mode(key, mode) {
            Err(StoreError::UnknownSession(_)) => return Err(GatewayError::UnknownSession),
            other => other?,
        }
        tracing::info!(session = %key, %mode, "permission mode changed");
        self.publish_session_list();
        self.session(key)
    }

    pub fn sessions(&self) -> Result<Vec<SessionSummary>, GatewayError> {
        Ok(self.inner.store.list_sessions(API_SESSIONS)?)
    }

    /// Page `page` (0: the newest) of every session, [`ALL_SESSIONS_PAGE`] to a page, and
    /// whether an older page follows.
    pub fn sessions_page(&self, page: usize) -> Result<(Vec<SessionSummary>, bool), GatewayError> {
        let offset = page.saturating_mul(ALL_SESSIONS_PAGE);
        let mut list = self
            .inner
            .store
            .list_sessions_from(offset, ALL_SESSIONS_PAGE + 1)?;
        let more = list.len() > ALL_SESSIONS_PAGE;
        list.truncate(ALL_SESSIONS_PAGE);
        Ok((list, more))
    }

    /// The session's summary. Every request about one session asks for it first, so this is
    /// where such a request waits for the session's restart recovery (`run::recovery`).
    pub fn session(&self, key: &SessionKey) -> Result<SessionSummary, GatewayError> {
        self.recovered(key);
        self.inner
            .store
            .session(key)?
            .ok_or(GatewayError::UnknownSession)
    }

    /// Events after `after`, ready for a client (HTML filled in).
    pub fn events_after(
        &self,
        key: &SessionKey,
        after: Seq,
        limit: usize,
    ) -> Result<Vec<Event>, GatewayError> {
        self.session(key)?;
        Ok(self
            .inner
            .store
            .events_after(key, after, limit, true)?
            .into_iter()
            .map(present)
            .collect())
    }

    /// Subscribes to a session's live events. Subscribe first, then read the store: see
    /// `web::ws` for the catch-up that makes this gap-free.
    pub fn subscribe(&self, key: &SessionKey) -> broadcast::Receiver<Arc<Event>> {
        self.inner.hub.subscribe(key)
    }

    pub fn subscribe_sessions(&self) -> broadcast::Receiver<Arc<hub::SessionsFrame>> {
        self.inner.hub.subscribe_sessions()
    }

    /// Marks the session list changed; the dispatcher publishes it on its next tick (at most
    /// every 100 ms), so a burst of changes (a hundred sessions titled at once) goes out once to
    /// every open tab instead of a hundred times.
    fn publish_session_list(&self) {
        self.inner
            .sessions_dirty
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Publishes the session list if it changed since the last time.
    fn publish_session_list_if_changed(&self) {
        if !self
            .inner
            .sessions_dirty
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        match self.inner.store.list_sessions(SIDEBAR_SESSIONS) {
            Ok(list) => self.inner.hub.publish_sessions(list),
            Err(e) => tracing::warn!(error = %e, "could not read the session list"),
        }
    }

    // --- sends ------------------------------------------------------------------------------

    /// Stores a user message typed in the WebChat (once per `client_id`) and runs it, or queues
    /// it behind the session's active run.
    pub fn send(
        &self,
        key: &SessionKey,
        client_id: &str,
        text: &str,
    ) -> Result<SendOutcome, GatewayError> {
        self.send_from(key, client_id, text, wire::Source::Webchat)
    }

    /// [`Gateway::send`] for a message typed in `source` (the WebChat or the terminal client:
    /// both internal UI surfaces of the run, by the same rules).
    pub fn send_from(
        &self,
        key: &SessionKey,
        client_id: &str,
        text: &str,
        source: wire::Source,
    ) -> Result<SendOutcome, GatewayError> {
        let message = NewMessage {
            client_id: client_id.to_owned(),
            text: text.to_owned(),
            source,
            steer: false,
            images: Vec::new(),
        };
        // Validated before anything is looked up, as every send is (`run::steer`).
        message.validate_for_send()?;
        self.queue_message(key, message, None)
    }

    /// Stores a background request (`origin` says who asked: `schedule <name>`, `api`) once per
    /// `idem_key` and runs it in the session's thread with no UI source, or queues it behind the
    /// session's active run. Such a run has no internal sink: its targetless sends fail, and only
    /// explicit channel sends reach anyone.
    pub fn start_background(
        &self,
        key: &SessionKey,
        origin: &str,
        prompt: &str,
        idem_key: &str,
    ) -> Result<BackgroundOutcome, GatewayError> {
        wire::validate_message(prompt).map_err(GatewayError::BadInput)?;
        let session = self.session(key)?;
        let appended = self.emit(
            key,
            None,
            false,
            RecordBody::BackgroundRequest {
                origin: origin.to_owned(),
                prompt: prompt.to_owned(),
            },
            Some(&format!("background:{key}:{idem_key}")),
        )?;
        let event = match appended {
            Appended::Inserted(e) => e,
            Appended::Existing(e) => {
                return Ok(BackgroundOutcome {
                    seq: e.seq,
                    start: None,
                })
            }
        };
        if session.title == UNTITLED {
            self.inner
                .store
                .set_title(key, &title_from(prompt), now_ms())?;
        }
        self.publish_session_list();
        let start = self.start_or_queue_run(
            key,
            prompt.to_owned(),
            event.seq,
            delivery::RunSource::Background,
            Some(origin.to_owned()),
            Vec::new(),
        );
        Ok(BackgroundOutcome {
            seq: event.seq,
            start: Some(start),
        })
    }

    /// Whether a background request from `origin` is waiting in `key`'s queue (a schedule then
    /// skips a fire rather than pile runs up behind a slow one).
    pub fn background_queued(&self, key: &SessionKey, origin: &str) -> bool {
        lock(&self.inner.runs).has_queued_from(key, origin)
    }

    /// The session with this key, created with `title` if it does not exist (schedules name
    /// their session in the configuration).
    pub fn ensure_session(
        &self,
        key: &SessionKey,
        title: &str,
    ) -> Result<SessionSummary, GatewayError> {
        if let Some(s) = self.inner.store.session(key)? {
            return Ok(s);
        }
        let s = self.inner.store.create_session(key, title, now_ms())?;
        self.publish_session_list();
        Ok(s)
    }

    // --- emission ---------------------------------------------------------------------------

    /// Appends an event and publishes it to live subscribers, in sequence order.
    fn emit(
        &self,
        key: &SessionKey,
        run: Option<&RunId>,
        private: bool,
        body: RecordBody,
        idem_key: Option<&str>,
    ) -> Result<Appended, StoreError> {
        // Nothing new lands in a session before what a restart left in it is closed.
        self.recovered(key);
        let slot = self.slot(key);
        let _order = lock(&slot.emit);
        let appended = self.inner.store.append(
            key,
            NewEvent {
                run,
                private,
                body: &body,
                idem_key,
                at_ms: now_ms(),
            },
        )?;
        if let Appended::Inserted(event) = &appended {
            self.inner
                .hub
                .publish(key, Arc::new(present(event.clone())));
        }
        Ok(appended)
    }

    /// `emit` for events whose loss would only cost detail: failures are logged, not returned.
    fn emit_logged(&self, key: &SessionKey, run: Option<&RunId>, private: bool, body: RecordBody) {
        if let Err(e) = self.emit(key, run, private, body, None) {
            tracing::error!(session = %key, error = %e, "could not store a transcript event");
        }
    }

    fn slot(&self, key: &SessionKey) -> Arc<Slot> {
        lock(&self.inner.slots)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut tasks = lock(&self.inner.tasks);
        // Reap finished tasks so the set does not grow with every run.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }
}

impl PageSource for Gateway {
    fn page(
        &self,
        key: &SessionKey,
        show_internals: bool,
        window: u64,
        at: Option<Seq>,
    ) -> Result<PageData, PageError> {
        self.recovered(key);
        let session = match self.inner.store.session(key) {
            Ok(Some(s)) => s,
            Ok(None) => return Err(PageError::UnknownSession),
            Err(e) => {
                tracing::error!(session = %key, error = %e, "page: could not read the session");
                return Err(PageError::Internal);
            }
        };
        let read =
            || -> Result<(Vec<SessionSummary>, Vec<crate::store::Record>, Seq), StoreError> {
                let sessions = self.inner.store.list_sessions(SIDEBAR_SESSIONS)?;
                let mut start = self.history_start(key, window)?;
                // A search result's entry: the page starts early enough to hold it.
                if let Some(at) = at.filter(|at| at.0 > 0 && at.0 <= start.0) {
                    start = Seq(at.0.saturating_sub(AT_CONTEXT + 1));
                }
                let events = self
                    .inner
                    .store
                    .events_after(key, start, usize::MAX, true)?;
                Ok((sessions, events, start))
            };
        let (sessions, events, start) = read().map_err(|e| {
            tracing::error!(session = %key, error = %e, "page: could not read the transcript");
            PageError::Internal
        })?;
        let last_seq = events.last().map(|e| e.seq).unwrap_or(start);
        Ok(PageData {
            session,
            sessions,
            events: events.into_iter().map(present).collect(),
            last_seq,
            show_internals,
            earlier: start.0,
            window,
            models: self.models_now(),
            workspaces: self.inner.opts.workspaces.names(),
            account: self.account(),
            highlight: at.filter(|at| at.0 > start.0 && at.0 <= last_seq.0),
        })
    }
}

impl Gateway {
    /// Where the latest `events` of a session start (the event before them): as a page of them
    /// would, at a message, so no run is cut in half. For a client that opens a long session at
    /// its end and fetches earlier events only when asked.
    pub fn recent_start(&self, key: &SessionKey, events: u64) -> Result<Seq, GatewayError> {
        self.session(key)?;
        Ok(self.history_start(key, events)?)
    }

    /// The event a page of the `window` most recent events starts after: just before the first
    /// message (or background request) inside the window, so no run is cut in half; when the
    /// window holds none (one very long run), the window's plain start.
    fn history_start(&self, key: &SessionKey, window: u64) -> Result<Seq, StoreError> {
        let last = self.inner.store.last_seq(key)?;
        if last.0 <= window {
            return Ok(Seq::ZERO);
        }
        let edge = Seq(last.0 - window);
        Ok(match self.inner.store.first_request_after(key, edge)? {
            Some(first) => Seq(first.0 - 1),
            None => edge,
        })
    }
}

/// A client id (a send's or an API request's idempotency key): narrow, so it is safe in keys.
pub(crate) fn validate_client_id(id: &str) -> Result<(), GatewayError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(GatewayError::BadInput(
            "client_id must be 1-100 characters of letters, digits, '-' or '_'".to_owned(),
        ))
    }
}

/// A session title from its first message: the first line, at most 60 characters.
fn title_from(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    if title.is_empty() {
        UNTITLED.to_owned()
    } else {
        title
    }
}

fn new_session_key() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("s-{}", &id[..16])
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The gateway's maps stay consistent across a panic (each update is a single insert or remove),
/// so a poisoned lock is still safe to use.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(title_from("  hello\nworld"), "hello");
        assert_eq!(title_from(&"x".repeat(70)).chars().count(), 61);
        assert_eq!(title_from("   "), UNTITLED);
    }

    #[test]
    fn client_ids_are_narrow() {
        assert!(validate_client_id("a-b_C9").is_ok());
        for bad in ["", "a b", "../x", &"a".repeat(101)] {
            assert!(validate_client_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_keys_are_valid() {
        assert!(SessionKey::parse(&new_session_key()).is_ok());
    }
}
