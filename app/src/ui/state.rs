//! The chat page's shared state: the signals the views read and the commands they send to the
//! live connection.
//!
//! Everything here exists on both sides so the server and the browser build the same tree from
//! the same initial values. Only the browser ever changes the signals (from [`super::live`]) or
//! installs a command sender; on the server the sender stays empty and nothing is sent.

// Several items here are only constructed by the browser-side code; a server-only build would
// otherwise warn about them.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use futures::channel::mpsc::UnboundedSender;
use leptos::html::{Select, Textarea, Ul};
use leptos::prelude::*;

use crate::json;
use crate::text::display_title;
use crate::transcript::{Entry, Transcript};
use crate::wire::{
    AccountStatus, ApprovalDecision, ImageRef, Mode, PageData, Seq, SessionKey, SessionSummary,
};

/// The `data-state` of the connection indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connected,
    /// Trying to (re)connect; also the server-rendered state, since no socket exists yet.
    Reconnecting,
    /// The browser says it is offline, or several attempts in a row failed (retries continue).
    Offline,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connected => "connected",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnState::Connected => "Live",
            ConnState::Reconnecting => "Connecting…",
            ConnState::Offline => "Offline",
        }
    }
}

/// A message the user sent that the server has not acknowledged yet (the outbox).
///
/// It is shown as a "sending…" line, never as a transcript entry: the stored user message arrives
/// as an event like any other, so nothing is drawn twice or flashes away. The outbox is kept in
/// the tab's session storage as JSON, `[{"client_id": …, "text": …}]` (with `"steer": true` and
/// `"images": [ids]` when it has them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pending {
    /// Reused on every resend so the server stores the message once.
    pub client_id: String,
    pub text: String,
    /// Send it into the running turn (the server queues it when there is none to join).
    pub steer: bool,
    /// Ids of the uploaded images it carries.
    pub images: Vec<String>,
}

impl json::FromJson for Pending {
    fn read(r: &mut json::Reader<'_>) -> Result<Self, json::Error> {
        Ok(json::read_fields!(r, Pending { client_id, text; steer, images }))
    }
}

impl json::ToJson for Pending {
    fn write(&self, out: &mut String) {
        let mut o = json::ObjectWriter::new(out);
        o.str("client_id", &self.client_id).str("text", &self.text);
        if self.steer {
            o.bool("steer", true);
        }
        if !self.images.is_empty() {
            o.strs("images", &self.images);
        }
        o.end();
    }
}

/// What the view asks of the live connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Send the outbox item with this client id now, if the socket is open (otherwise it goes
    /// out with the rest of the outbox on the next open).
    Send(String),
    /// Interrupt the running turn.
    Stop,
    /// The browser's `online`/`offline` status changed.
    NetworkChanged,
    /// Answer the approval whose card is the event `approval`.
    Answer {
        approval: Seq,
        decision: ApprovalDecision,
        answer: Option<String>,
    },
    /// Change the session's permission mode (from the next turn on).
    SetMode(Mode),
    /// Change the session's model and reasoning effort (`None`: the default), from the next
    /// turn on.
    SetModel {
        model: Option<String>,
        effort: Option<String>,
    },
}

/// A line under the composer.
#[derive(Clone, Debug, PartialEq)]
pub enum Flash {
    /// Input the composer refused to send (empty); cleared by typing.
    Hint(String),
    /// Something that failed; stays until the next successful send.
    Error(String),
}

/// The page's state, shared by context. Every field is a handle, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub session: StoredValue<SessionKey>,
    /// Fixed for the page's lifetime: toggling it reloads, so server and browser agree.
    pub show_internals: bool,
    pub transcript: RwSignal<Transcript>,
    pub sessions: RwSignal<Vec<SessionSummary>>,
    /// The current session's title as first rendered, for when the list does not contain it.
    pub title: StoredValue<String>,
    /// The session's last external channel as first rendered, likewise.
    pub last_channel: StoredValue<Option<String>>,
    /// The session's permission mode as first rendered, likewise.
    pub mode: StoredValue<Mode>,
    /// The session as first rendered, for what [`ChatState::current`] reads.
    pub first: StoredValue<SessionSummary>,
    /// The Codex account (its rate limits), as rendered and then as pushed by the server.
    pub account: RwSignal<AccountStatus>,
    /// Events before the first one shown (0: the whole history is on the page).
    pub earlier: u64,
    /// The history window the page was rendered with.
    pub window: u64,
    /// The entry a search result opened the page at (`?at=`), marked and scrolled to.
    pub highlight: Option<u64>,
    pub conn: RwSignal<ConnState>,
    pub outbox: RwSignal<Vec<Pending>>,
    pub flash: RwSignal<Option<Flash>>,
    pub composer: NodeRef<Textarea>,
    /// Images uploaded for the next message, shown under the composer until it is sent.
    pub attachments: StoredValue<Vec<ImageRef>>,
    /// The list under the composer that shows them (kept by hand, see `composer`).
    pub attachment_list: NodeRef<Ul>,
    /// Uploads still under way; a send waits for them.
    pub uploading: StoredValue<u32>,
    /// The header's mode select, which [`ChatState::show_mode`] keeps on the session's mode.
    pub mode_select: NodeRef<Select>,
    /// Whether new entries scroll the transcript to its end: true while the reader is at the end,
    /// and again after they send something.
    pub follow: StoredValue<bool>,
    /// Installed by the live connection in the browser; `None` on the server.
    pub commands: StoredValue<Option<UnboundedSender<Command>>>,
    /// Runs finished and approvals asked while the tab was hidden, for the tab's title.
    pub unseen: RwSignal<u32>,
}

impl ChatState {
    pub fn new(page: &PageData) -> ChatState {
        ChatState {
            session: StoredValue::new(page.session.key.clone()),
            show_internals: page.show_internals,
            transcript: RwSignal::new(
                Transcript::from_events(&page.events).continuing(page.last_seq),
            ),
            sessions: RwSignal::new(page.sessions.clone()),
            title: StoredValue::new(page.session.title.clone()),
            last_channel: StoredValue::new(page.session.last_channel.clone()),
            mode: StoredValue::new(page.session.mode),
            first: StoredValue::new(page.session.clone()),
            account: RwSignal::new(page.account.clone()),
            earlier: page.earlier,
            highlight: page.highlight.map(|s| s.0),
            window: page.window,
            conn: RwSignal::new(ConnState::Reconnecting),
            outbox: RwSignal::new(Vec::new()),
            flash: RwSignal::new(None),
            composer: NodeRef::new(),
            attachments: StoredValue::new(Vec::new()),
            attachment_list: NodeRef::new(),
            uploading: StoredValue::new(0),
            mode_select: NodeRef::new(),
            follow: StoredValue::new(true),
            commands: StoredValue::new(None),
            unseen: RwSignal::new(0),
        }
    }

    /// Whether an entry is shown: private prose only with "show internals" on.
    pub fn visible(&self, entry: &Entry) -> bool {
        !entry.private || self.show_internals
    }

    /// The current session's title, following renames pushed in the session list.
    pub fn title(&self) -> String {
        let key = self.session.get_value();
        let from_list = self
            .sessions
            .with(|list| list.iter().find(|s| s.key == key).map(|s| s.title.clone()));
        display_title(&from_list.unwrap_or_else(|| self.title.get_value()))
    }

    /// The session's last external channel (`webhook:ops`), following updates pushed in the
    /// session list.
    pub fn last_channel(&self) -> Option<String> {
        let key = self.session.get_value();
        self.sessions
            .with(|list| {
                list.iter()
                    .find(|s| s.key == key)
                    .map(|s| s.last_channel.clone())
            })
            .unwrap_or_else(|| self.last_channel.get_value())
    }

    /// `read` of the current session as the session list has it now (following changes pushed
    /// by any tab or turn), or as first rendered when the list does not hold it.
    pub fn current<T>(&self, read: impl Fn(&SessionSummary) -> T) -> T {
        let key = self.session.get_value();
        self.sessions
            .with(|list| list.iter().find(|s| s.key == key).map(&read))
            .unwrap_or_else(|| self.first.with_value(&read))
    }

    /// The session's permission mode, following changes pushed in the session list (made in this
    /// tab or another).
    pub fn mode(&self) -> Mode {
        let key = self.session.get_value();
        self.sessions
            .with(|list| list.iter().find(|s| s.key == key).map(|s| s.mode))
            .unwrap_or_else(|| self.mode.get_value())
    }

    /// Puts the mode select back on the session's mode: after the session list changed (a mode
    /// changed in any tab) and after an error (a change that was refused). The select is not
    /// bound to a signal (that costs the wasm budget more than these few calls).
    #[cfg(feature = "hydrate")]
    pub fn show_mode(&self) {
        if let Some(select) = self.mode_select.get_untracked() {
            select.set_value(self.mode().as_str());
        }
    }

    /// Hands a command that must not wait for a later connection (a stop, an answer, a mode
    /// change) to the live connection, if it is connected now. Otherwise says so under the
    /// composer and returns `false`: sent later, it could act on something the person no longer
    /// sees.
    pub fn command_now(&self, command: Command, what: &str) -> bool {
        if self.conn.get_untracked() == ConnState::Connected && self.command(command) {
            return true;
        }
        self.flash.set(Some(Flash::Error(format!(
            "Not connected, so {what} right now."
        ))));
        #[cfg(feature = "hydrate")]
        self.show_mode();
        false
    }

    /// Hands a command to the live connection. Returns `false` when there is none (server
    /// render, or the page is being torn down).
    pub fn command(&self, command: Command) -> bool {
        self.commands
            .try_with_value(|tx| {
                tx.as_ref()
                    .is_some_and(|tx| tx.unbounded_send(command).is_ok())
            })
            .unwrap_or(false)
    }
}

/// The first reconnect delay, doubled per failed attempt up to [`BACKOFF_MAX_MS`].
pub const BACKOFF_START_MS: f64 = 500.0;
pub const BACKOFF_MAX_MS: f64 = 10_000.0;

/// How long to wait before the next connection attempt, after `failures` failed attempts in a
/// row. `jitter` is a random number in `[0, 1)`: half of each delay is random ("equal jitter"),
/// so tabs cut off by the same server restart do not all come back at the same instant.
pub fn backoff_ms(failures: u32, jitter: f64) -> u32 {
    let doubled = BACKOFF_START_MS * f64::from(1u32 << failures.min(8));
    let base = doubled.min(BACKOFF_MAX_MS);
    (base * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_to_ten_seconds() {
        assert_eq!(backoff_ms(0, 1.0), 500);
        assert_eq!(backoff_ms(1, 1.0), 1_000);
        assert_eq!(backoff_ms(4, 1.0), 8_000);
        assert_eq!(backoff_ms(5, 1.0), 10_000);
        assert_eq!(backoff_ms(u32::MAX, 1.0), 10_000);
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(5, 0.0), 5_000);
    }

    #[test]
    fn the_outbox_reads_back_what_it_saved() {
        let outbox = vec![
            Pending {
                client_id: "c1".into(),
                text: "two\nlines \"quoted\"".into(),
                ..Pending::default()
            },
            Pending {
                client_id: "c2".into(),
                text: String::new(),
                steer: true,
                images: vec!["ab".into(), "cd".into()],
            },
        ];
        let saved = json::to_string(&outbox[..]);
        assert_eq!(
            saved,
            r#"[{"client_id":"c1","text":"two\nlines \"quoted\""},{"client_id":"c2","text":"","steer":true,"images":["ab","cd"]}]"#
        );
        assert_eq!(json::from_str::<Vec<Pending>>(&saved).unwrap(), outbox);
    }

    #[test]
    fn untitled_sessions_get_a_label() {
        assert_eq!(display_title("  "), "Untitled session");
        assert_eq!(display_title(" Plan "), "Plan");
    }
}
