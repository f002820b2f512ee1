//! `codex-webchat tui`: the full-screen terminal client. It shows one session's transcript with
//! the WebChat's cards, a composer, the approval prompt, the session list and the sign-in screen,
//! over the public API only (the live connection in [`crate::client`]).
//!
//! This module owns the terminal: [`run`] enters raw mode, the alternate screen, mouse capture
//! and bracketed paste, and restores them when it returns, fails or panics. The state and its
//! key handling are pure ([`app`]), the drawing is a function of the state ([`render`], Markdown
//! in [`markdown`], the sign-in screen in [`signin`], the session picker's state in
//! [`picker_state`], the search and Codex threads screens in [`lookup`], [`finder`] and
//! [`threads`]), so both are tested without a terminal. It must not talk to the server itself
//! (it gives [`Command`]s to the connection and asks its caller for the HTTP calls it needs, a
//! new session, a session's rename, archive or deletion, the account's sign-in and sign-out, a
//! search, Codex's threads and the opening of one, without waiting for them), and it must not
//! draw untrusted text except through [`crate::escape::terminal`].

pub mod app;
mod composer;
pub mod earlier;
mod field;
pub mod finder;
pub mod lookup;
pub mod markdown;
mod picker;
pub mod picker_state;
pub mod render;
pub mod signin;
pub mod start;
mod style;
#[cfg(test)]
mod tests;
pub mod threads;

use std::future::Future;
use std::io::{self, Stdout};
use std::sync::Arc;

use ::app::wire::SessionKey;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use self::app::{App, Request};
use crate::client::{ClientError, Command, Endpoint, Update};

/// Runs the terminal client until the person quits (Ctrl+C twice) or the terminal's input ends.
///
/// - `endpoint`: the server (its address is shown in the header).
/// - `session`: the session to open; `None` opens the most recent one once the first
///   [`Update::Sessions`] arrives.
/// - `updates`: what the live connection reports, in order. The connection should report the
///   session list (`Update::Sessions`) when it connects and whenever it changes.
/// - `commands`: what the connection must do. The first command is the `Open` of the shown
///   session (from its latest [`earlier::RECENT`] events; the parts before come over HTTP on a
///   scroll to the top, [`Done::Earlier`]); switching sessions sends another `Open`, after which
///   events of other sessions are ignored.
/// - `carry_out`: carries out a [`Request`] over HTTP: a new session (Ctrl+N, `POST
///   /api/v1/sessions`, answered with [`Done::Session`]), a sign-in screen's account request
///   (answered with [`Done::Account`]; the account status itself follows by push), or a session
///   picker's change (`PATCH` or `DELETE /api/v1/sessions/{key}`, answered with
///   [`Done::Changed`] or [`Done::Deleted`]; the session list follows by push too), or a search
///   or Codex threads screen's request (`GET /api/v1/search`, `GET /api/v1/codex-threads`,
///   answered with [`Done::Found`]; `POST /api/v1/codex-threads/{id}/open`, answered with
///   [`Done::Session`]), or a part of the shown session's earlier events (`GET
///   /api/v1/sessions/{key}/events`, answered with [`Done::Earlier`]).
///   [`start::carry_out`] is the real one. Requests run while the screen goes on; an error
///   (the server's own words for a refusal) is shown on the status line and in the picker.
///
/// Returns when the person quits; an error only when the terminal itself fails. The terminal is
/// restored in every case, and by a panic hook (installed for the duration) before a panic's
/// message is printed.
pub async fn run<F, Fut>(
    endpoint: Endpoint,
    session: Option<SessionKey>,
    mut updates: UnboundedReceiver<Update>,
    commands: UnboundedSender<Command>,
    mut carry_out: F,
) -> io::Result<()>
where
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Result<Done, ClientError>>,
{
    let _hook = PanicHook::install();
    let mut guard = TerminalGuard::enter()?;
    let terminal = &mut guard.terminal;

    let mut app = App::new(endpoint.base_url.clone(), session);
    let give = |app: &mut App, list: Vec<Command>| {
        for command in list {
            if commands.send(command).is_err() {
                app.set_error("The connection to the server is gone; restart the client.");
            }
        }
    };
    let first = app.start();
    give(&mut app, first);

    let mut input = EventStream::new();
    let mut updates_open = true;
    let mut pending = FuturesUnordered::new();
    loop {
        terminal.draw(|frame| render::render(frame, &app))?;
        if app.should_quit() {
            break;
        }
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    let out = app.key(key);
                    give(&mut app, out);
                }
                Some(Ok(Event::Mouse(mouse))) => app.mouse(mouse),
                // Bracketed paste: a pasted line break is a new line, never a send.
                Some(Ok(Event::Paste(text))) => app.paste(&text),
                // A resize needs only the redraw at the top of the loop.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => break,
            },
            update = updates.recv(), if updates_open => match update {
                Some(update) => {
                    let out = app.update(update);
                    give(&mut app, out);
                    // Catch up on everything already waiting before drawing again.
                    while let Ok(update) = updates.try_recv() {
                        let out = app.update(update);
                        give(&mut app, out);
                    }
                }
                None => {
                    updates_open = false;
                    app.set_error("The connection to the server is gone; restart the client.");
                }
            },
            Some((failed, done)) = pending.next(), if !pending.is_empty() => {
                let out = settle(&mut app, failed, done);
                give(&mut app, out);
            }
        }
        if let Some(request) = app.take_request() {
            let failed = request.failure();
            pending.push(carry_out(request).map(move |done| (failed, done)));
        }
    }
    Ok(())
}

/// Applies what a [`Request`] came to: the new session opens, a changed session shows at once,
/// a deleted one leaves the list (the one shown gives way to the newest), a failure is the
/// error line (`failed`, the request's [`Request::failure`], then why). Returns what the
/// connection must do about it.
pub fn settle(app: &mut App, failed: &str, done: Result<Done, ClientError>) -> Vec<Command> {
    match done {
        Ok(Done::Session(key)) => return app.switch_to(key),
        Ok(Done::Account) => app.account_request_done(),
        Ok(Done::Changed(summary)) => app.changed(summary),
        Ok(Done::Deleted(key)) => return app.deleted(&key),
        Ok(Done::Found(answer)) => app.found(answer),
        Ok(Done::Earlier { session, events }) => app.earlier_loaded(&session, events),
        Err(e) => app.set_error(format!("{failed}: {e}")),
    }
    Vec::new()
}

/// What a [`Request`] came to.
#[derive(Debug)]
pub enum Done {
    /// The new session, to switch to.
    Session(SessionKey),
    /// The server took the account request.
    Account,
    /// The session as renamed, archived or unarchived.
    Changed(::app::wire::SessionSummary),
    /// The session is deleted.
    Deleted(SessionKey),
    /// A search's hits or Codex's threads, for the screen that asked.
    Found(lookup::Answer),
    /// A part of a session's earlier history (`Request::Earlier`).
    Earlier {
        session: SessionKey,
        events: Vec<::app::wire::Event>,
    },
}

/// The terminal in raw mode on the alternate screen with mouse capture; restored on drop.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(e) = crossterm::execute!(
            stdout,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        ) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was; safe to call more than once.
fn restore() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

type Hook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static;

/// A panic hook that restores the terminal before the previous hook prints the panic, so the
/// message is readable and the shell usable; the previous hook is back on drop.
struct PanicHook {
    previous: Arc<Box<Hook>>,
}

impl PanicHook {
    fn install() -> PanicHook {
        let previous: Arc<Box<Hook>> = Arc::new(std::panic::take_hook());
        let chained = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            restore();
            chained(info);
        }));
        PanicHook { previous }
    }
}

impl Drop for PanicHook {
    fn drop(&mut self) {
        // The hook cannot be changed while a panic unwinds; the chained one stays, harmlessly.
        if std::thread::panicking() {
            return;
        }
        let previous = Arc::clone(&self.previous);
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}
