//! One approval: a question Codex asked a person (run this command? apply this change? grant
//! these permissions? answer this question?), from the moment it is asked until it is closed.
//!
//! The state machine is pure and the same for every client: the first answer wins, whichever tab,
//! API call or terminal it comes from; a second answer is told the approval is no longer waiting
//! (and in what state it ended), never applied twice. Codex closing the request itself
//! (`serverRequest/resolved`, or the turn ending) closes it without an answer from us; Stop
//! cancels it; a Codex process that is gone (a Codex or server restart) leaves it `expired`,
//! never answerable again. [`Approval::advance`] is the one transition, and what it asks of the
//! caller is an [`Effect`]: reply to Codex with a decision, or only record the new state.
//!
//! This module must not talk to Codex, the store or clients: the gateway does that with the
//! effect, so the rules here are tested without any of them. Turning a [`Decision`] into the JSON
//! each request kind expects is the gateway's job too (the shapes differ per kind).

pub use app::wire::ApprovalKind;

/// A person's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept,
    /// Accept, and do not ask again for the same thing in this session (only where Codex offers
    /// it).
    AcceptForSession,
    Decline,
    /// A question's written answer (it accepts).
    Answer(String),
}

pub use app::wire::ApprovalState;

/// What can happen to an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A person answered.
    Answer(Decision),
    /// Codex closed the request itself: `serverRequest/resolved`, or the turn started, completed
    /// or was interrupted.
    ClosedByCodex,
    /// The person pressed Stop: the request is answered `cancel`, then the turn is interrupted.
    Stop,
    /// The Codex process that asked is gone (it exited, or the server restarted).
    CodexGone,
}

/// What a step asks of the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Effect {
    /// Answer Codex's open request with this (a `cancel` when `None`), then record the new
    /// state.
    Reply(Option<Decision>),
    /// Only record the new state: Codex is not waiting for an answer any more.
    Record,
}

/// Why a step was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Someone answered first, or the approval was closed; says how it ended.
    #[error("this approval was already {}", .0.as_str())]
    NotPending(ApprovalState),
    /// The answer does not fit the question (a written answer to a command, "for this session"
    /// where Codex did not offer it, an approval without a question's answer).
    #[error("{0}")]
    NotOffered(&'static str),
}

/// One approval's state and what it allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    kind: ApprovalKind,
    /// Codex offered "accept for this session" (`acceptForSession` in its decisions).
    for_session: bool,
    state: ApprovalState,
}

impl Approval {
    /// A new, pending approval.
    pub fn new(kind: ApprovalKind, for_session: bool) -> Approval {
        Approval {
            kind,
            for_session,
            state: ApprovalState::Pending,
        }
    }

    pub fn kind(&self) -> ApprovalKind {
        self.kind
    }

    pub fn state(&self) -> ApprovalState {
        self.state
    }

    /// Whether the card offers "approve for this session".
    pub fn offers_for_session(&self) -> bool {
        self.for_session
    }

    /// The one transition. A step on a closed approval is refused with how it ended, and changes
    /// nothing.
    pub fn advance(&mut self, step: Step) -> Result<Effect, ApprovalError> {
        if self.state != ApprovalState::Pending {
            return Err(ApprovalError::NotPending(self.state));
        }
        let (next, effect) = match step {
            Step::Answer(decision) => {
                let next = self.answered(&decision)?;
                (next, Effect::Reply(Some(decision)))
            }
            Step::Stop => (ApprovalState::Cancelled, Effect::Reply(None)),
            Step::ClosedByCodex => (ApprovalState::Cancelled, Effect::Record),
            Step::CodexGone => (ApprovalState::Expired, Effect::Record),
        };
        self.state = next;
        Ok(effect)
    }

    /// The state an answer leads to, if the answer fits this approval.
    fn answered(&self, decision: &Decision) -> Result<ApprovalState, ApprovalError> {
        let question = self.kind == ApprovalKind::Question;
        match decision {
            Decision::Answer(_) if question => Ok(ApprovalState::Accepted),
            Decision::Answer(_) => Err(ApprovalError::NotOffered(
                "only a question takes a written answer",
            )),
            Decision::Accept if question => Err(ApprovalError::NotOffered(
                "a question needs an answer to approve",
            )),
            Decision::Accept => Ok(ApprovalState::Accepted),
            Decision::AcceptForSession if self.for_session => Ok(ApprovalState::AcceptedForSession),
            Decision::AcceptForSession => Err(ApprovalError::NotOffered(
                "Codex did not offer to approve this for the session",
            )),
            Decision::Decline => Ok(ApprovalState::Declined),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier, Mutex};

    use super::*;

    #[test]
    fn the_first_answer_wins_and_a_second_is_told_how_it_ended() {
        let mut a = Approval::new(ApprovalKind::Command, true);
        assert_eq!(
            a.advance(Step::Answer(Decision::Accept)),
            Ok(Effect::Reply(Some(Decision::Accept)))
        );
        assert_eq!(a.state(), ApprovalState::Accepted);
        let second = a.advance(Step::Answer(Decision::Decline));
        assert_eq!(
            second,
            Err(ApprovalError::NotPending(ApprovalState::Accepted))
        );
        assert_eq!(
            second.unwrap_err().to_string(),
            "this approval was already accepted"
        );
        assert_eq!(a.state(), ApprovalState::Accepted, "nothing changed");
    }

    #[test]
    fn concurrent_answers_race_and_exactly_one_wins() {
        for _ in 0..50 {
            let approval = Arc::new(Mutex::new(Approval::new(ApprovalKind::FileChange, true)));
            let start = Arc::new(Barrier::new(4));
            let answers = [
                Decision::Accept,
                Decision::Decline,
                Decision::AcceptForSession,
                Decision::Accept,
            ];
            let handles: Vec<_> = answers
                .into_iter()
                .map(|d| {
                    let (approval, start) = (approval.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        let result = approval.lock().unwrap().advance(Step::Answer(d));
                        result
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let replies: Vec<_> = results.iter().filter_map(|r| r.clone().ok()).collect();
            assert_eq!(replies.len(), 1, "{results:?}");
            let ended = approval.lock().unwrap().state();
            assert_ne!(ended, ApprovalState::Pending);
            assert!(results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| *r == Err(ApprovalError::NotPending(ended))));
        }
    }

    #[test]
    fn stop_cancels_with_a_reply_and_codex_closing_it_only_records() {
        let mut stopped = Approval::new(ApprovalKind::Command, false);
        assert_eq!(stopped.advance(Step::Stop), Ok(Effect::Reply(None)));
        assert_eq!(stopped.state(), ApprovalState::Cancelled);

        let mut resolved = Approval::new(ApprovalKind::Command, false);
        assert_eq!(resolved.advance(Step::ClosedByCodex), Ok(Effect::Record));
        assert_eq!(resolved.state(), ApprovalState::Cancelled);
        assert_eq!(
            resolved.advance(Step::Stop),
            Err(ApprovalError::NotPending(ApprovalState::Cancelled)),
            "a closed request is not answered again"
        );
    }

    #[test]
    fn an_approval_whose_codex_is_gone_expires_and_can_never_be_answered() {
        let mut a = Approval::new(ApprovalKind::Permissions, true);
        assert_eq!(a.advance(Step::CodexGone), Ok(Effect::Record));
        assert_eq!(a.state().as_str(), "expired");
        for step in [
            Step::Answer(Decision::Accept),
            Step::Stop,
            Step::ClosedByCodex,
            Step::CodexGone,
        ] {
            assert_eq!(
                a.advance(step),
                Err(ApprovalError::NotPending(ApprovalState::Expired))
            );
        }
    }

    #[test]
    fn answers_must_fit_the_question() {
        let mut command = Approval::new(ApprovalKind::Command, false);
        assert!(matches!(
            command.advance(Step::Answer(Decision::AcceptForSession)),
            Err(ApprovalError::NotOffered(_))
        ));
        assert!(matches!(
            command.advance(Step::Answer(Decision::Answer("yes".into()))),
            Err(ApprovalError::NotOffered(_))
        ));
        assert_eq!(
            command.state(),
            ApprovalState::Pending,
            "a misfit changes nothing"
        );
        assert_eq!(
            command.advance(Step::Answer(Decision::Decline)),
            Ok(Effect::Reply(Some(Decision::Decline)))
        );
        assert_eq!(command.state().as_str(), "declined");

        let mut question = Approval::new(ApprovalKind::Question, false);
        assert!(matches!(
            question.advance(Step::Answer(Decision::Accept)),
            Err(ApprovalError::NotOffered(_))
        ));
        assert_eq!(
            question.advance(Step::Answer(Decision::Answer("blue".into()))),
            Ok(Effect::Reply(Some(Decision::Answer("blue".into()))))
        );
        assert_eq!(question.state(), ApprovalState::Accepted);

        let mut session = Approval::new(ApprovalKind::FileChange, true);
        assert!(session.offers_for_session());
        assert_eq!(
            session.advance(Step::Answer(Decision::AcceptForSession)),
            Ok(Effect::Reply(Some(Decision::AcceptForSession)))
        );
        assert_eq!(session.state().as_str(), "accepted-for-session");
    }

    #[test]
    fn kinds_and_states_use_the_contracts_names() {
        let kinds = [
            ApprovalKind::Command,
            ApprovalKind::FileChange,
            ApprovalKind::Permissions,
            ApprovalKind::Question,
        ];
        assert_eq!(
            kinds.map(ApprovalKind::as_str),
            ["command", "file-change", "permissions", "question"]
        );
        let states = [
            ApprovalState::Pending,
            ApprovalState::Accepted,
            ApprovalState::AcceptedForSession,
            ApprovalState::Declined,
            ApprovalState::Cancelled,
            ApprovalState::Expired,
        ];
        assert_eq!(
            states.map(ApprovalState::as_str),
            [
                "pending",
                "accepted",
                "accepted-for-session",
                "declined",
                "cancelled",
                "expired"
            ]
        );
    }
}
