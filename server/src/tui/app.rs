//! The terminal client's state and its input handling, as pure functions: what the connection
//! reports goes in through [`App::update`], what a person types through [`App::key`] and
//! [`App::mouse`], and what the connection must do comes out as [`Command`]s.
//!
//! It owns the session list, the current session's [`Transcript`] (the same projection the
//! WebChat uses, so both show the same cards), the composer, the approval prompt, the scroll
//! position, the connection indicator, and whether the session picker, the sign-in screen, or the
//! search or Codex threads screen is open (their own state and keys are [`super::picker_state`]'s,
//! [`super::signin`]'s and [`super::lookup`]'s). It must
//! not do I/O, read clocks or draw: the loop in [`super::run`] does the I/O and
//! [`super::render`] draws, so all of this is testable without a terminal. Text it keeps is
//! untrusted and stays as received; it is escaped where it is drawn.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use app::transcript::{Applied, Entry, Transcript};
use app::wire::{
    AccountStatus, ApprovalDecision, ApprovalKind, EventBody, Mode, Seq, SessionKey,
    SessionSummary, MAX_MESSAGE_BYTES,
};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

pub use super::composer::Composer;
use super::earlier::Earlier;
pub use super::earlier::Request;
use super::lookup::{self, Answer, Lookup};
use super::picker_state::{self, Picker};
use super::signin::{Action, SignInScreen};
use crate::client::{Command, Update};

/// Lines one mouse wheel step scrolls.
const WHEEL_LINES: u16 = 3;

/// What the connection indicator says.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    /// Not up yet (the first attempt is under way).
    Connecting,
    Connected,
    /// Down; the next attempt is in `retry_in` (as of when it was reported).
    Disconnected {
        retry_in: Duration,
        reason: String,
    },
}

/// The whole state of the terminal client.
#[derive(Debug)]
pub struct App {
    /// Where the server is (shown in the header).
    server: String,
    sessions: Vec<SessionSummary>,
    session: Option<SessionKey>,
    transcript: Transcript,
    /// The shown session's events and where they start (opened at its end).
    earlier: Earlier,
    composer: Composer,
    /// A question's written answer, typed while the question is focused.
    answer: Composer,
    /// How many lines the transcript is scrolled up from its end (0: following the end). A
    /// draw that finds the transcript grew below a scrolled-up view adds the growth, so what
    /// is being read stays in place.
    pub(crate) scroll: Cell<u16>,
    /// The largest useful `scroll`, the transcript's height and its wrapped length and width, as
    /// of the last draw.
    pub(crate) max_scroll: Cell<u16>,
    pub(crate) drawn: Cell<(u16, u16)>,
    /// Each entry's drawn lines by `(seq, version)`, so a keystroke does not render every
    /// reply's Markdown again (filled by `render`, emptied on a session switch).
    pub(crate) lines: RefCell<HashMap<(Seq, u32), Vec<ratatui::text::Line<'static>>>>,
    pub(crate) page: Cell<u16>,
    connection: Connection,
    /// The Codex account as the server last reported it (rate limits).
    account: AccountStatus,
    show_internals: bool,
    error: Option<String>,
    quit_armed: bool,
    quit: bool,
    /// Approvals answered from here whose end has not arrived yet (not prompted again).
    answered: HashSet<Seq>,
    /// The approval the prompt is about, when several wait.
    focus: Option<Seq>,
    /// The session list, open.
    picker: Option<Picker>,
    /// The sign-in screen, open (F3).
    signin: Option<SignInScreen>,
    /// The search (Ctrl+F) or Codex threads (Ctrl+O) screen, open.
    lookup: Option<Lookup>,
    /// Client ids of sends not yet acknowledged.
    sending: Vec<String>,
    request: Option<Request>,
}

impl App {
    /// A client of the server at `server` that opens `session`, or (without one) the most
    /// recent session once the session list arrives.
    pub fn new(server: impl Into<String>, session: Option<SessionKey>) -> App {
        App {
            server: server.into(),
            sessions: Vec::new(),
            session,
            transcript: Transcript::default(),
            earlier: Earlier::default(),
            composer: Composer::default(),
            answer: Composer::default(),
            scroll: Cell::new(0),
            max_scroll: Cell::new(u16::MAX),
            drawn: Cell::new((0, 0)),
            lines: RefCell::new(HashMap::new()),
            page: Cell::new(10),
            connection: Connection::Connecting,
            account: AccountStatus::default(),
            show_internals: false,
            error: None,
            quit_armed: false,
            quit: false,
            answered: HashSet::new(),
            focus: None,
            picker: None,
            signin: None,
            lookup: None,
            sending: Vec::new(),
            request: None,
        }
    }

    /// The commands to give the connection first: follow the chosen session from its latest
    /// events (`earlier`).
    pub fn start(&self) -> Vec<Command> {
        self.session
            .iter()
            .map(|session| Command::Open {
                session: session.clone(),
                recent: super::earlier::RECENT,
            })
            .collect()
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn session(&self) -> Option<&SessionKey> {
        self.session.as_ref()
    }

    pub fn sessions(&self) -> &[SessionSummary] {
        &self.sessions
    }

    /// The current session as the list describes it (`None` until the list names it).
    pub fn summary(&self) -> Option<&SessionSummary> {
        let key = self.session.as_ref()?;
        self.sessions.iter().find(|s| &s.key == key)
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn composer(&self) -> &Composer {
        &self.composer
    }

    pub fn answer(&self) -> &Composer {
        &self.answer
    }

    pub fn scroll(&self) -> u16 {
        self.scroll.get()
    }

    pub fn account(&self) -> &AccountStatus {
        &self.account
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn show_internals(&self) -> bool {
        self.show_internals
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn set_error(&mut self, message: impl Into<String>) {
        let message = message.into();
        if let Some(lookup) = self.lookup.as_mut() {
            lookup.failed(&message);
        }
        self.error = Some(message);
        if let Some(screen) = self.signin.as_mut() {
            screen.settle();
        }
    }

    /// The sign-in screen, when open.
    pub fn signin(&self) -> Option<&SignInScreen> {
        self.signin.as_ref()
    }

    /// The search or Codex threads screen, when open.
    pub fn lookup(&self) -> Option<&Lookup> {
        self.lookup.as_ref()
    }

    /// The loop carried out a search or listed Codex's threads: the open screen shows it.
    pub fn found(&mut self, answer: Answer) {
        if let Some(lookup) = self.lookup.as_mut() {
            lookup.answer(answer);
        }
    }

    /// The loop carried out an account request: the screen stops saying it is asking.
    pub fn account_request_done(&mut self) {
        if let Some(screen) = self.signin.as_mut() {
            screen.settle();
        }
    }

    /// Ctrl+C was pressed once; the next one quits.
    pub fn quit_armed(&self) -> bool {
        self.quit_armed
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether a send is waiting for the server to store it.
    pub fn is_sending(&self) -> bool {
        !self.sending.is_empty()
    }

    /// The open session list: its selected row and prompt.
    pub fn picker(&self) -> Option<&Picker> {
        self.picker.as_ref()
    }

    /// What the loop must do over HTTP, once.
    pub fn take_request(&mut self) -> Option<Request> {
        self.request.take()
    }

    /// The approvals the prompt can ask about: pending, and not answered from here yet.
    pub fn open_approvals(&self) -> impl Iterator<Item = &Entry> {
        self.transcript
            .pending_approvals()
            .filter(|e| !self.answered.contains(&e.seq))
    }

    /// The approval the prompt over the composer is about, if one waits.
    pub fn focused_approval(&self) -> Option<&Entry> {
        let focused = self
            .focus
            .and_then(|seq| self.open_approvals().find(|e| e.seq == seq));
        focused.or_else(|| self.open_approvals().next())
    }

    /// Switches to `session`: an empty transcript, followed from its latest events.
    pub fn switch_to(&mut self, session: SessionKey) -> Vec<Command> {
        self.clear_view();
        self.picker = None;
        self.lookup = None;
        self.session = Some(session.clone());
        vec![Command::Open {
            session,
            recent: super::earlier::RECENT,
        }]
    }

    /// Whether the shown session has events before the ones shown (scroll up to load them).
    pub fn has_earlier(&self) -> bool {
        self.earlier.more()
    }

    /// A part of the shown session's earlier history came: it goes above what is shown.
    pub fn earlier_loaded(&mut self, session: &SessionKey, part: Vec<app::wire::Event>) {
        if self.session.as_ref() == Some(session) {
            self.earlier.prepend(part, &mut self.transcript);
        }
    }

    /// The loop carried out a rename or an archive: the list shows the session as the server
    /// answered at once (the pushed list that follows agrees).
    pub fn changed(&mut self, summary: SessionSummary) {
        if let Some(s) = self.sessions.iter_mut().find(|s| s.key == summary.key) {
            *s = summary;
        }
    }

    /// The loop deleted `session` on the server: it leaves the list at once (the pushed list
    /// agrees). When it was the one shown, the newest remaining session opens (the picker stays
    /// open), or with none left a new one is asked for.
    pub fn deleted(&mut self, session: &SessionKey) -> Vec<Command> {
        let before = self.sessions.clone();
        self.sessions.retain(|s| &s.key != session);
        if let Some(picker) = self.picker.as_mut() {
            picker.follow(&before, &self.sessions);
        }
        if self.session.as_ref() != Some(session) {
            return Vec::new();
        }
        let newest = self.sessions.iter().max_by_key(|s| s.updated_ms);
        match newest.map(|s| s.key.clone()) {
            Some(key) => {
                let picker = self.picker.take();
                let out = self.switch_to(key);
                self.picker = picker;
                out
            }
            None => {
                self.clear_view();
                self.session = None;
                self.request = Some(Request::NewSession);
                Vec::new()
            }
        }
    }

    /// Forgets what is shown of the current session.
    fn clear_view(&mut self) {
        self.transcript = Transcript::default();
        self.earlier = Earlier::default();
        self.lines.borrow_mut().clear();
        self.scroll.set(0);
        self.answered.clear();
        self.focus = None;
        self.answer = Composer::default();
    }

    /// Applies what the connection reported; returns what the connection must do about it.
    pub fn update(&mut self, update: Update) -> Vec<Command> {
        match update {
            Update::Connected => self.connection = Connection::Connected,
            Update::Disconnected { retry_in, reason } => {
                self.connection = Connection::Disconnected { retry_in, reason }
            }
            Update::Event { session, event } => {
                if self.session.as_ref() != Some(&session) {
                    // A late event of the session switched away from.
                    return Vec::new();
                }
                // The stored message itself acknowledges a send as well as `Accepted` does.
                if let EventBody::UserMessage { client_id, .. } = &event.body {
                    self.sending.retain(|id| id != client_id);
                }
                self.earlier.opening(&event, &mut self.transcript);
                match self.transcript.apply(&event) {
                    Applied::Applied => self.earlier.keep(event),
                    Applied::Duplicate => {}
                    // The connection promises no gaps; should one appear anyway, ask again
                    // from what is shown rather than show a hole.
                    Applied::Gap { .. } => {
                        return vec![Command::Subscribe {
                            session,
                            after: self.transcript.last_seq(),
                        }]
                    }
                }
            }
            Update::Account(account) => {
                self.account = account;
                if let Some(screen) = self.signin.as_mut() {
                    screen.settle();
                }
            }
            Update::Sessions(list) => {
                let before = std::mem::replace(&mut self.sessions, list);
                if let Some(picker) = self.picker.as_mut() {
                    picker.follow(&before, &self.sessions);
                }
                if self.session.is_none() {
                    let newest = self.sessions.iter().max_by_key(|s| s.updated_ms);
                    if let Some(key) = newest.map(|s| s.key.clone()) {
                        return self.switch_to(key);
                    }
                }
            }
            Update::Accepted { client_id, .. } => self.sending.retain(|id| *id != client_id),
            Update::Error { client_id, message } => {
                if let Some(id) = client_id {
                    self.sending.retain(|s| *s != id);
                }
                // An answer the server refused (already answered elsewhere, ...) is asked again
                // until its end arrives.
                self.answered.clear();
                self.error = Some(message);
            }
        }
        Vec::new()
    }

    /// Handles a key; returns what the connection must do.
    pub fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            if self.quit_armed {
                self.quit = true;
            }
            self.quit_armed = true;
            return Vec::new();
        }
        self.quit_armed = false;
        if let Some(screen) = self.signin.as_mut() {
            match screen.key(&key, &self.account) {
                Action::None => {}
                Action::Close => self.signin = None,
                Action::Request(request) => {
                    self.error = None;
                    self.request = Some(Request::Account(request));
                }
                Action::Error(message) => self.error = Some(message),
            }
            return Vec::new();
        }
        if let Some(lookup) = self.lookup.as_mut() {
            match lookup.key(&key) {
                lookup::Action::None => {}
                lookup::Action::Close => self.lookup = None,
                lookup::Action::Ask(find) => {
                    self.error = None;
                    self.request = Some(Request::Find(find));
                }
                lookup::Action::Switch(chosen) if Some(&chosen) != self.session.as_ref() => {
                    return self.switch_to(chosen)
                }
                lookup::Action::Switch(_) => self.lookup = None,
            }
            return Vec::new();
        }
        if self.picker.is_some() {
            return self.picker_key(key);
        }
        match key.code {
            KeyCode::PageUp => self.scroll_up(self.page.get().max(1)),
            KeyCode::PageDown => self.scroll_down(self.page.get().max(1)),
            KeyCode::Up if !self.question_focused() => self.scroll_up(1),
            KeyCode::Down if !self.question_focused() => self.scroll_down(1),
            KeyCode::Char('t') if ctrl => self.show_internals = !self.show_internals,
            KeyCode::Char('p') if ctrl => {
                let current = self
                    .session
                    .as_ref()
                    .and_then(|k| self.sessions.iter().position(|s| &s.key == k));
                self.picker = Some(Picker::at(current.unwrap_or(0)));
            }
            KeyCode::Char('n') if ctrl => self.request = Some(Request::NewSession),
            KeyCode::Char('f') if ctrl => self.lookup = Some(Lookup::search()),
            KeyCode::Char('o') if ctrl => {
                let (screen, find) = Lookup::threads();
                self.lookup = Some(screen);
                self.request = Some(Request::Find(find));
            }
            KeyCode::F(2) => return self.cycle_mode(),
            KeyCode::F(3) => self.signin = Some(SignInScreen::default()),
            KeyCode::Esc => {
                return self
                    .session
                    .iter()
                    .map(|session| Command::Stop {
                        session: session.clone(),
                    })
                    .collect()
            }
            _ => {
                if self.focused_approval().is_some() {
                    return self.approval_key(key);
                }
                return self.composer_key(key);
            }
        }
        Vec::new()
    }

    /// Handles pasted text (bracketed paste): into the sign-in screen's key line while it is
    /// open, else into the search query (nowhere while the Codex threads screen is open), else
    /// into the session picker's rename line (nowhere else while the picker is open),
    /// else into the question's answer when one is focused, else into the composer, line breaks
    /// and all; nothing is sent.
    pub fn paste(&mut self, text: &str) {
        if let Some(screen) = self.signin.as_mut() {
            screen.paste(text);
            return;
        }
        if let Some(lookup) = self.lookup.as_mut() {
            lookup.paste(text);
            return;
        }
        if let Some(picker) = self.picker.as_mut() {
            picker.paste(text);
            return;
        }
        let question = self.question_focused();
        if self.focused_approval().is_some() && !question {
            return;
        }
        let target = if question {
            &mut self.answer
        } else {
            &mut self.composer
        };
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for c in text.chars() {
            // An answer is one line.
            target.insert(if question && c == '\n' { ' ' } else { c });
        }
    }

    /// Handles a mouse event (the wheel scrolls the transcript).
    pub fn mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_LINES),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_LINES),
            _ => {}
        }
    }

    fn scroll_up(&mut self, lines: u16) {
        let max = self.max_scroll.get();
        self.scroll
            .set(self.scroll().saturating_add(lines).min(max));
        // At the top of what is held: the part before it, unless the loop is busy with another.
        if let (Some(session), None) = (&self.session, &self.request) {
            if let Some(before) = self.earlier.at_top(self.scroll() >= max) {
                let session = session.clone();
                self.request = Some(Request::Earlier { session, before });
            }
        }
    }

    fn scroll_down(&mut self, lines: u16) {
        let max = self.max_scroll.get();
        self.scroll
            .set(self.scroll().min(max).saturating_sub(lines));
    }

    fn question_focused(&self) -> bool {
        self.focused_approval()
            .and_then(|e| e.approval.as_ref())
            .is_some_and(|a| a.kind == ApprovalKind::Question)
    }

    fn cycle_mode(&mut self) -> Vec<Command> {
        let Some(summary) = self.summary() else {
            return Vec::new();
        };
        let at = Mode::ALL
            .iter()
            .position(|m| *m == summary.mode)
            .unwrap_or(0);
        let mode = Mode::ALL[(at + 1) % Mode::ALL.len()];
        // The header changes when the session list says it did, not before.
        vec![Command::SetMode {
            session: summary.key.clone(),
            mode,
        }]
    }

    fn picker_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some(picker) = self.picker.as_mut() else {
            return Vec::new();
        };
        match picker.key(&key, &self.sessions) {
            picker_state::Action::None => {}
            picker_state::Action::Close => self.picker = None,
            picker_state::Action::Open(chosen) => {
                self.picker = None;
                if Some(&chosen) != self.session.as_ref() {
                    return self.switch_to(chosen);
                }
            }
            picker_state::Action::Change(change) => {
                self.error = None;
                self.request = Some(Request::Change(change));
            }
        }
        Vec::new()
    }

    fn approval_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let Some((seq, kind, for_session)) = self.focused_approval().and_then(|e| {
            let a = e.approval.as_ref()?;
            Some((e.seq, a.kind, a.for_session))
        }) else {
            return Vec::new();
        };
        let Some(session) = self.session.clone() else {
            return Vec::new();
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Tab {
            let open: Vec<Seq> = self.open_approvals().map(|e| e.seq).collect();
            let at = open.iter().position(|s| *s == seq).unwrap_or(0);
            self.focus = open.get((at + 1) % open.len().max(1)).copied();
            self.answer = Composer::default();
            return Vec::new();
        }
        let (decision, answer) = if kind == ApprovalKind::Question {
            match key.code {
                KeyCode::Enter => {
                    if self.answer.text().trim().is_empty() {
                        self.error = Some("Type an answer first.".to_owned());
                        return Vec::new();
                    }
                    (ApprovalDecision::Accept, Some(self.answer.take()))
                }
                KeyCode::Char('d') if ctrl => (ApprovalDecision::Decline, None),
                _ => {
                    self.answer.edit(&key);
                    return Vec::new();
                }
            }
        } else {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') if !ctrl => {
                    (ApprovalDecision::Accept, None)
                }
                KeyCode::Char('a') | KeyCode::Char('A') if !ctrl && for_session => {
                    (ApprovalDecision::AcceptForSession, None)
                }
                KeyCode::Char('n') | KeyCode::Char('N') if !ctrl => {
                    (ApprovalDecision::Decline, None)
                }
                _ => return Vec::new(),
            }
        };
        self.answered.insert(seq);
        self.focus = None;
        self.error = None;
        vec![Command::Answer {
            session,
            approval: seq,
            decision,
            answer,
        }]
    }

    fn composer_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let newline = match key.code {
            KeyCode::Enter => key
                .modifiers
                .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT),
            // Ctrl+J is a line feed where a terminal cannot tell Alt+Enter apart.
            KeyCode::Char('j') => key.modifiers.contains(KeyModifiers::CONTROL),
            _ => false,
        };
        if newline {
            self.composer.insert('\n');
            return Vec::new();
        }
        // Ctrl+S steers: the text goes into the running turn (with no run, it is a plain send).
        let steer = key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code != KeyCode::Enter && !steer {
            self.composer.edit(&key);
            return Vec::new();
        }
        let steer = steer && self.transcript.is_running();
        let text = self.composer.text();
        if text.trim().is_empty() {
            return Vec::new();
        }
        if text.len() > MAX_MESSAGE_BYTES {
            self.error = Some(format!(
                "The message is too long ({} bytes; at most {MAX_MESSAGE_BYTES}).",
                text.len()
            ));
            return Vec::new();
        }
        let Some(session) = self.session.clone() else {
            self.error = Some("No session yet (Ctrl+N starts one).".to_owned());
            return Vec::new();
        };
        let client_id = uuid::Uuid::new_v4().to_string();
        self.sending.push(client_id.clone());
        self.error = None;
        self.scroll.set(0);
        vec![Command::Send {
            session,
            client_id,
            text: self.composer.take(),
            steer,
        }]
    }
}
