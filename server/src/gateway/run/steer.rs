//! The send path of a person's message: stored once per client id, then either sent into the
//! session's running turn (`turn/steer`, when they asked to steer and the turn can take it) or
//! run, or queued behind the active run; and the turn input both `turn/start` and `turn/steer`
//! carry (the text, then each attached image as a `localImage` with its stored path).
//!
//! Whether a message may steer is decided by [`plan`], pure, from a view of the active run; why a
//! steer that went out failed is [`failure`]'s, read from the error Codex 0.169 answers (measured:
//! `tests/fixtures/codex/steer/errors.json`). A steer that cannot happen falls back to the queued
//! send, stored `steered: false`, with a notice that says so. This module never stores an image or
//! reads one (the web edge does, and hands over [`AttachedImage`]s), and never decides what a
//! notification means.

use std::path::PathBuf;

use serde_json::{json, Value};

use app::wire::{self, ImageRef, NoticeLevel, SessionKey};

use crate::codex::CodexError;
use crate::gateway::delivery::RunSource;
use crate::gateway::{lock, now_ms, title_from, validate_client_id, Gateway, GatewayError};
use crate::gateway::{SendOutcome, UNTITLED};
use crate::ids::{ThreadId, TurnId};
use crate::store::{Appended, RecordBody};

/// The most images one message may carry (PRODUCT: 8 at most).
pub const MAX_IMAGES: usize = 8;

/// What a person's client asked to send.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    /// Makes the send idempotent: the same id is stored (and run) once.
    pub client_id: String,
    pub text: String,
    pub source: wire::Source,
    /// Send it into the running turn rather than queue it.
    pub steer: bool,
    /// Images the web edge has found in its store, in the order they were attached.
    pub images: Vec<AttachedImage>,
}

/// An uploaded image attached to a message: what the transcript shows, and the absolute path of
/// the stored file that Codex reads (`localImage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedImage {
    pub image: ImageRef,
    pub path: PathBuf,
}

impl NewMessage {
    /// Refuses what no run can take. A message of images alone needs no words.
    pub(in crate::gateway) fn validate_for_send(&self) -> Result<(), GatewayError> {
        if self.images.is_empty() || !self.text.is_empty() {
            wire::validate_message(&self.text).map_err(GatewayError::BadInput)?;
        }
        validate_client_id(&self.client_id)?;
        if self.images.len() > MAX_IMAGES {
            return Err(GatewayError::BadInput(format!(
                "A message may carry at most {MAX_IMAGES} images ({} attached).",
                self.images.len()
            )));
        }
        Ok(())
    }

    fn image_paths(&self) -> Vec<PathBuf> {
        self.images.iter().map(|i| i.path.clone()).collect()
    }
}

/// What the decision needs to know of the session's active run.
#[derive(Clone, Copy, Debug)]
pub(super) struct RunView<'a> {
    pub source: RunSource,
    pub thread: Option<&'a ThreadId>,
    pub turn: Option<&'a TurnId>,
    /// An interrupt was asked for: the turn is ending.
    pub stopping: bool,
}

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// `turn/steer` into this turn.
    Steer { thread: ThreadId, turn: TurnId },
    /// The ordinary send: run now, or queue behind the active run. `Some` when a steer was asked
    /// for and could not be, and why.
    Queue(Option<Fallback>),
}

/// Why a message asked to steer was queued instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::gateway) enum Fallback {
    /// No run was active (it ended before the message arrived).
    NoRun,
    /// The run's turn has not started yet, so there is nothing to join.
    NotStarted,
    /// The run is being stopped.
    Stopping,
    /// The active run is a background run: its replies reach no one in this chat.
    Background,
    /// Codex said the turn had ended (or another had begun) when the steer reached it.
    TurnEnded,
    /// `turn/steer` failed for another reason (Codex restarting, say).
    Refused,
}

impl Fallback {
    /// The notice the transcript gets, right after the queued message.
    pub(super) fn notice(self) -> &'static str {
        match self {
            Fallback::NoRun | Fallback::Stopping | Fallback::TurnEnded => {
                "The turn ended before your message could join it; it was queued as a new message."
            }
            Fallback::NotStarted => {
                "The turn had not started yet, so your message could not join it; it was queued as a new message."
            }
            Fallback::Background => {
                "A background run is working in this session; your message was queued as a new message."
            }
            Fallback::Refused => {
                "Your message could not join the running turn; it was queued as a new message."
            }
        }
    }
}

/// Decides where a message goes: into the running turn only when the person asked to steer, a run
/// of one of our clients is active, its turn is known and it is not being stopped.
pub(super) fn plan(steer: bool, run: Option<RunView<'_>>) -> Plan {
    if !steer {
        return Plan::Queue(None);
    }
    let Some(run) = run else {
        return Plan::Queue(Some(Fallback::NoRun));
    };
    if run.source == RunSource::Background {
        return Plan::Queue(Some(Fallback::Background));
    }
    if run.stopping {
        return Plan::Queue(Some(Fallback::Stopping));
    }
    match (run.thread, run.turn) {
        (Some(thread), Some(turn)) => Plan::Steer {
            thread: thread.clone(),
            turn: turn.clone(),
        },
        _ => Plan::Queue(Some(Fallback::NotStarted)),
    }
}

/// Why `turn/steer` failed. Codex 0.169 answers `no active turn to steer` once the turn is over,
/// and ``expected active turn id `X` but found `Y` `` once another turn runs.
pub(super) fn failure(err: &CodexError) -> Fallback {
    match err {
        CodexError::Rpc { message, .. }
            if message.contains("no active turn")
                || message.contains("expected active turn id") =>
        {
            Fallback::TurnEnded
        }
        _ => Fallback::Refused,
    }
}

/// The `input` of a turn or a steer: the text, each image as a `localImage`, then the background
/// note when there is one.
pub(super) fn turn_input(text: &str, images: &[PathBuf], context: Option<&str>) -> Vec<Value> {
    let mut input = Vec::with_capacity(2 + images.len());
    if !text.is_empty() || images.is_empty() {
        input.push(json!({"type": "text", "text": text, "text_elements": []}));
    }
    input.extend(
        images
            .iter()
            .map(|path| json!({"type": "localImage", "path": path})),
    );
    if let Some(context) = context {
        input.push(json!({"type": "text", "text": context, "text_elements": []}));
    }
    input
}

impl Gateway {
    /// Sends a person's message: into the running turn when it asks to steer and the turn can
    /// take it, otherwise stored and run (or queued) as usual, with a notice when a steer fell
    /// back. Idempotent per client id.
    pub async fn send_message(
        &self,
        key: &SessionKey,
        message: NewMessage,
    ) -> Result<SendOutcome, GatewayError> {
        message.validate_for_send()?;
        self.session(key)?;
        if let Some((_, stored)) = self.inner.store.by_idem_key(&message_idem(key, &message))? {
            return Ok(SendOutcome {
                seq: stored.seq,
                duplicate: true,
            });
        }
        let planned = {
            let mut runs = lock(&self.inner.runs);
            let run = runs.active_mut(key);
            plan(message.steer, run.as_deref().map(|r| r.steer_view()))
        };
        let fallback = match planned {
            Plan::Queue(fallback) => fallback,
            Plan::Steer { thread, turn } => {
                let slot = self.slot(key);
                let _steering = slot.steering.write().await;
                let params = json!({
                    "threadId": thread,
                    "expectedTurnId": turn,
                    "input": turn_input(&message.text, &message.image_paths(), None),
                });
                // Sent before the message is stored: only an accepted steer may be stored
                // `steered: true` (the store is append-only). A reply Codex sends meanwhile
                // waits for the record (`after_pending_steers`), so it lands below it.
                match self.inner.codex.request("turn/steer", params).await {
                    Ok(_) => {
                        let (outcome, _) = self.record_message(key, &message, true)?;
                        return Ok(outcome);
                    }
                    Err(e) => {
                        tracing::info!(session = %key, turn = %turn, error = %e,
                            "turn/steer refused; the message is queued instead");
                        Some(failure(&e))
                    }
                }
            }
        };
        self.queue_message(key, message, fallback)
    }

    /// Waits until no steer of the session is between Codex and the store. A reply written after
    /// this answers only what was stored before it: a steer sent later was not yet in the turn.
    pub(super) async fn after_pending_steers(&self, key: &SessionKey) {
        let slot = self.slot(key);
        drop(slot.steering.read().await);
    }

    /// The ordinary send: stores the message (`steered: false`), says why when it was meant to
    /// steer, and runs it or queues it behind the active run.
    pub(in crate::gateway) fn queue_message(
        &self,
        key: &SessionKey,
        message: NewMessage,
        fallback: Option<Fallback>,
    ) -> Result<SendOutcome, GatewayError> {
        let (outcome, inserted) = self.record_message(key, &message, false)?;
        if !inserted {
            return Ok(outcome);
        }
        if let Some(fallback) = fallback {
            self.emit_logged(
                key,
                None,
                false,
                RecordBody::Notice {
                    level: NoticeLevel::Info,
                    text: fallback.notice().to_owned(),
                    about: None,
                },
            );
        }
        crate::fault::point("after-message-stored");
        let ui = match message.source {
            wire::Source::Webchat => RunSource::WebChat,
            wire::Source::Tui => RunSource::Tui,
        };
        let images = message.image_paths();
        self.start_or_queue_run(key, message.text, outcome.seq, ui, None, images);
        Ok(outcome)
    }

    /// Stores the message once per client id and names the session after it; `true` with the
    /// outcome when it is new.
    fn record_message(
        &self,
        key: &SessionKey,
        message: &NewMessage,
        steered: bool,
    ) -> Result<(SendOutcome, bool), GatewayError> {
        let session = self.session(key)?;
        let appended = self.emit(
            key,
            None,
            false,
            RecordBody::UserMessage {
                text: message.text.clone(),
                client_id: message.client_id.clone(),
                source: message.source,
                steered,
                images: message.images.iter().map(|i| i.image.clone()).collect(),
            },
            Some(&message_idem(key, message)),
        )?;
        let (event, inserted) = match appended {
            Appended::Inserted(e) => (e, true),
            Appended::Existing(e) => (e, false),
        };
        if inserted {
            if session.title == UNTITLED {
                let title = if message.text.trim().is_empty() {
                    "Images".to_owned()
                } else {
                    title_from(&message.text)
                };
                self.inner.store.set_title(key, &title, now_ms())?;
            }
            self.publish_session_list();
        }
        Ok((
            SendOutcome {
                seq: event.seq,
                duplicate: !inserted,
            },
            inserted,
        ))
    }
}

fn message_idem(key: &SessionKey, message: &NewMessage) -> String {
    format!("user:{key}:{}", message.client_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread() -> ThreadId {
        ThreadId::from("t1")
    }

    fn turn() -> TurnId {
        TurnId::from("u1")
    }

    fn view<'a>(thread: Option<&'a ThreadId>, turn: Option<&'a TurnId>) -> RunView<'a> {
        RunView {
            source: RunSource::WebChat,
            thread,
            turn,
            stopping: false,
        }
    }

    #[test]
    fn a_message_that_does_not_ask_to_steer_is_queued_without_a_notice() {
        let (t, u) = (thread(), turn());
        assert_eq!(
            plan(false, Some(view(Some(&t), Some(&u)))),
            Plan::Queue(None)
        );
        assert_eq!(plan(false, None), Plan::Queue(None));
    }

    #[test]
    fn a_steer_joins_a_running_turn_of_our_clients() {
        let (t, u) = (thread(), turn());
        for source in [RunSource::WebChat, RunSource::Tui] {
            let run = RunView {
                source,
                ..view(Some(&t), Some(&u))
            };
            assert_eq!(
                plan(true, Some(run)),
                Plan::Steer {
                    thread: t.clone(),
                    turn: u.clone()
                }
            );
        }
    }

    #[test]
    fn a_steer_with_nothing_to_join_is_queued_and_says_why() {
        let (t, u) = (thread(), turn());
        assert_eq!(plan(true, None), Plan::Queue(Some(Fallback::NoRun)));
        assert_eq!(
            plan(true, Some(view(None, None))),
            Plan::Queue(Some(Fallback::NotStarted))
        );
        assert_eq!(
            plan(true, Some(view(Some(&t), None))),
            Plan::Queue(Some(Fallback::NotStarted))
        );
        let stopping = RunView {
            stopping: true,
            ..view(Some(&t), Some(&u))
        };
        assert_eq!(
            plan(true, Some(stopping)),
            Plan::Queue(Some(Fallback::Stopping))
        );
        let background = RunView {
            source: RunSource::Background,
            ..view(Some(&t), Some(&u))
        };
        assert_eq!(
            plan(true, Some(background)),
            Plan::Queue(Some(Fallback::Background))
        );
    }

    #[test]
    fn codex_saying_the_turn_is_over_reads_as_the_turn_ended() {
        // Both answers as measured against Codex 0.169.
        for message in [
            "no active turn to steer",
            "expected active turn id `u1` but found `u2`",
        ] {
            let err = CodexError::Rpc {
                code: -32600,
                message: message.to_owned(),
            };
            assert_eq!(failure(&err), Fallback::TurnEnded, "{message}");
        }
        let other = CodexError::NotRunning("restarting".to_owned());
        assert_eq!(failure(&other), Fallback::Refused);
        assert_eq!(
            Fallback::TurnEnded.notice(),
            "The turn ended before your message could join it; it was queued as a new message."
        );
    }

    #[test]
    fn images_follow_the_text_and_precede_the_background_note() {
        let images = [PathBuf::from("/d/images/a"), PathBuf::from("/d/images/b")];
        let input = turn_input("look", &images, Some("<note/>"));
        let kinds: Vec<&str> = input.iter().filter_map(|i| i["type"].as_str()).collect();
        assert_eq!(kinds, ["text", "localImage", "localImage", "text"]);
        assert_eq!(input[1]["path"], "/d/images/a");
        assert_eq!(input[2]["path"], "/d/images/b");
        assert_eq!(input[0]["text"], "look");
        // Images alone: no empty text part.
        let alone = turn_input("", &images[..1], None);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0]["type"], "localImage");
    }

    #[test]
    fn a_message_with_too_many_images_is_refused() {
        let image = AttachedImage {
            image: ImageRef {
                id: "a".repeat(64),
                name: "x.png".into(),
                mime: "image/png".into(),
            },
            path: PathBuf::from("/d/images/x"),
        };
        let message = |n: usize| NewMessage {
            client_id: "c1".into(),
            text: "look".into(),
            images: vec![image.clone(); n],
            ..NewMessage::default()
        };
        assert!(message(MAX_IMAGES).validate_for_send().is_ok());
        assert!(matches!(
            message(MAX_IMAGES + 1).validate_for_send(),
            Err(GatewayError::BadInput(m)) if m.contains("at most 8 images")
        ));
        let words_only = NewMessage {
            images: Vec::new(),
            text: "  ".into(),
            ..message(0)
        };
        assert!(words_only.validate_for_send().is_err());
        let images_only = NewMessage {
            text: String::new(),
            ..message(1)
        };
        assert!(images_only.validate_for_send().is_ok());
    }
}
