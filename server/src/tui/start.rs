//! `codex-webchat tui`: finds the server and the session, opens the live connection, and hands
//! both to the terminal loop ([`super::run`]).
//!
//! Everything that can fail before the terminal is taken over (an unreachable server, a refused
//! token, an unknown session) fails here, as one line on stderr and exit status 2, so a person
//! never has to read an error through a full-screen UI. It also carries out the loop's HTTP
//! requests ([`carry_out`]: a new session, the session picker's changes, the sign-in screen's,
//! the search and Codex threads screens').
//! It owns no state of its own: the connection is `client::live`'s, the screen the loop's.

use tokio::sync::mpsc;

use app::wire::{Seq, SessionKey};

use super::app::Request;
use super::lookup::{Answer, Find};
use super::picker_state::SessionChange;
use super::signin::AccountRequest;
use super::Done;
use crate::client::live::Live;
use crate::client::{http, ClientError, Endpoint, Update};
use crate::config::TuiArgs;
use crate::escape::terminal::sanitize_line;

/// Exit status for bad usage, an unreachable server, a refused token or an unknown session.
const EXIT_USAGE: u8 = 2;

/// Runs the terminal client until the person quits; the process's exit status.
pub async fn main(args: &TuiArgs) -> u8 {
    let endpoint = Endpoint {
        base_url: args.server.url.clone(),
        token: args.server.token.clone(),
    };
    let (session, sessions) = match opening(&endpoint, args.session.as_ref()).await {
        Ok(found) => found,
        Err(why) => {
            eprintln!("codex-webchat: {}", sanitize_line(&why));
            return EXIT_USAGE;
        }
    };
    let mut live = Live::start(endpoint.clone());
    let (updates_tx, updates_rx) = mpsc::unbounded_channel();
    let (commands_tx, mut commands_rx) = mpsc::unbounded_channel();
    // The list as it is now: the socket reports it only when it changes.
    let _ = updates_tx.send(Update::Sessions(sessions));
    // One task carries the connection both ways; it ends when the loop drops its ends.
    let pump = tokio::spawn(async move {
        loop {
            tokio::select! {
                update = live.next() => match update {
                    Some(update) => {
                        if updates_tx.send(update).is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                command = commands_rx.recv() => match command {
                    Some(command) => live.command(command),
                    None => break,
                },
            }
        }
        live.shutdown().await;
    });
    let result = super::run(
        endpoint.clone(),
        Some(session),
        updates_rx,
        commands_tx,
        |request| carry_out(endpoint.clone(), request),
    )
    .await;
    let _ = pump.await;
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "codex-webchat: the terminal failed: {}",
                sanitize_line(&e.to_string())
            );
            1
        }
    }
}

/// Carries out one of the loop's [`Request`]s over HTTP; what it came to.
pub async fn carry_out(endpoint: Endpoint, request: Request) -> Result<Done, ClientError> {
    let endpoint = &endpoint;
    match request {
        Request::NewSession => http::create_session(endpoint)
            .await
            .map(|s| Done::Session(s.key)),
        Request::Account(request) => account(endpoint, request).await.map(|()| Done::Account),
        Request::Change(SessionChange::Rename { session, title }) => {
            http::rename_session(endpoint, &session, &title)
                .await
                .map(Done::Changed)
        }
        Request::Change(SessionChange::Archive { session, archived }) => {
            http::set_archived(endpoint, &session, archived)
                .await
                .map(Done::Changed)
        }
        Request::Change(SessionChange::Delete { session }) => {
            http::delete_session(endpoint, &session).await?;
            Ok(Done::Deleted(session))
        }
        Request::Find(Find::Search(query)) => {
            let hits = http::search(endpoint, &query).await?;
            Ok(Done::Found(Answer::Hits { query, hits }))
        }
        Request::Earlier { session, before } => {
            let from = Seq(before.0.saturating_sub(super::earlier::PART));
            let count = usize::try_from(before.0 - from.0).unwrap_or(usize::MAX);
            http::events_after(endpoint, &session, from, count)
                .await
                .map(|events| Done::Earlier { session, events })
        }
        Request::Find(Find::Threads) => http::codex_threads(endpoint)
            .await
            .map(|threads| Done::Found(Answer::Threads(threads))),
        Request::Find(Find::OpenThread(id)) => http::open_codex_thread(endpoint, &id)
            .await
            .map(|s| Done::Session(s.key)),
    }
}

/// One of the sign-in screen's requests; the key (if any) goes into its request and is dropped.
async fn account(endpoint: &Endpoint, request: AccountRequest) -> Result<(), ClientError> {
    match request {
        AccountRequest::DeviceCode => http::login_device_code(endpoint).await.map(drop),
        AccountRequest::ApiKey(key) => http::login_api_key(endpoint, key.expose()).await.map(drop),
        AccountRequest::Cancel => http::cancel_login(endpoint).await,
        AccountRequest::Logout => http::logout(endpoint).await.map(drop),
    }
}

/// The session to open (the one asked for, else the most recent, else a new one) and the
/// session list, or why the client cannot start.
async fn opening(
    endpoint: &Endpoint,
    asked: Option<&SessionKey>,
) -> Result<(SessionKey, Vec<app::wire::SessionSummary>), String> {
    let mut sessions = http::sessions(endpoint).await.map_err(|e| e.to_string())?;
    let key = match asked {
        Some(key) => {
            http::session(endpoint, key)
                .await
                .map_err(|e| e.to_string())?
                .key
        }
        None => match sessions.first() {
            Some(newest) => newest.key.clone(),
            None => {
                let created = http::create_session(endpoint)
                    .await
                    .map_err(|e| e.to_string())?;
                let key = created.key.clone();
                sessions.push(created);
                key
            }
        },
    };
    Ok((key, sessions))
}
