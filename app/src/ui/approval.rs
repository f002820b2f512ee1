//! An approval card's body: what Codex asks (a command and where it would run, a file change with
//! each file's diff, permissions, a question), Codex's reason, and either the answer buttons
//! (while pending) or how it ended.
//!
//! The contract: `data-testid="approval"` with `data-approval-kind` and `data-state`; while
//! pending, `approve`, `approve-session` (only when Codex offers it) and `decline` buttons, and for
//! a question an `answer` field whose text `approve` submits (an empty one is refused here); a
//! diff is `data-testid="diff"` with one element per line, `data-line` = `add|del|ctx`. A click
//! sends `Answer` for the card's event (`ChatState::command_now`); the server's `ApprovalEnded`
//! then completes the card and the row renders again without buttons; a refusal (an error frame,
//! e.g. "Already answered") shows under the composer like any other. A pending card takes the
//! focus when it appears, live or on load (its `approve` button, or a question's field: the live
//! connection calls `browser::focus_waiting_approval`); inside it, Escape declines.
//!
//! Every string here is untrusted and is text (`html_text`), never markup.

use leptos::either::Either;
use leptos::prelude::*;

use super::diff::file_view;
use super::state::ChatState;
use crate::text::html_text;
use crate::transcript::ApprovalView;
use crate::wire::{ApprovalDecision, ApprovalKind, ApprovalState, Seq};

/// What the card asks, as a heading.
fn heading(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Command => "Run this command?",
        ApprovalKind::FileChange => "Apply these changes?",
        ApprovalKind::Permissions => "Grant these permissions?",
        ApprovalKind::Question => "Codex asks",
    }
}

/// How an approval stands, in words, with its chip's class.
fn outcome(kind: ApprovalKind, state: ApprovalState) -> (&'static str, &'static str) {
    match state {
        ApprovalState::Pending => ("chip running", "Waiting for you"),
        ApprovalState::Accepted if kind == ApprovalKind::Question => ("chip ok", "Answered"),
        ApprovalState::Accepted => ("chip ok", "Approved"),
        ApprovalState::AcceptedForSession => ("chip ok", "Approved for this session"),
        ApprovalState::Declined => ("chip bad", "Declined"),
        ApprovalState::Cancelled => ("chip", "Cancelled"),
        ApprovalState::Expired => ("chip warn", "Expired — send the message again"),
    }
}

/// The body of the approval card for the event `seq`.
///
/// Kept to few distinct view types (the wasm budget pays per type, not per element): every kind
/// has the same parts, and the parts that repeat are one function each ([`detail`], [`button`]).
pub fn approval_body(seq: Seq, approval: ApprovalView) -> impl IntoView {
    let ApprovalView {
        kind,
        subject,
        cwd,
        reason,
        changes,
        for_session,
        state,
        answer,
        ..
    } = approval;
    let pending = state == ApprovalState::Pending;
    let question = kind == ApprovalKind::Question;
    let (chip_class, said) = outcome(kind, state);

    let chat = use_context::<ChatState>();
    let field = NodeRef::<leptos::html::Input>::new();
    // Browser only (no event reaches a server render).
    let send = move |decision: ApprovalDecision| {
        #[cfg(feature = "hydrate")]
        if let Some(chat) = chat {
            use super::state::{Command, Flash};
            let mut answer = None;
            if question && decision != ApprovalDecision::Decline {
                let text = field.get_untracked().map(|f| f.value()).unwrap_or_default();
                if text.trim().is_empty() {
                    chat.flash
                        .set(Some(Flash::Hint("Type an answer first.".to_owned())));
                    return;
                }
                answer = Some(text);
            }
            let sent = chat.command_now(
                Command::Answer {
                    approval: seq,
                    decision,
                    answer,
                },
                "the approval cannot be answered",
            );
            // The "type an answer" hint has done its job.
            if sent && matches!(chat.flash.get_untracked(), Some(Flash::Hint(_))) {
                chat.flash.set(None);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (decision, chat, field, seq);
    };
    // Enter needs nothing here: the buttons act on it themselves, and the answer field submits.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if pending && ev.key() == "Escape" {
            ev.prevent_default();
            send(ApprovalDecision::Decline);
        }
    };

    let end = if pending {
        Either::Left(view! {
            <div class="approval-actions">
                {question
                    .then(|| {
                        view! {
                            <input
                                type="text"
                                class="approval-field"
                                data-testid="answer"
                                autocomplete="off"
                                placeholder="Your answer"
                                aria-label="Your answer"
                                node_ref=field
                                on:keydown=move |ev| {
                                    if ev.key() == "Enter" && !ev.is_composing() {
                                        ev.prevent_default();
                                        send(ApprovalDecision::Accept);
                                    }
                                }
                            />
                        }
                    })}
                {button(
                    "primary",
                    "approve",
                    if question { "Send answer" } else { "Approve" },
                    ApprovalDecision::Accept,
                    send,
                )}
                {for_session
                    .then(|| {
                        button(
                            "",
                            "approve-session",
                            "Approve for this session",
                            ApprovalDecision::AcceptForSession,
                            send,
                        )
                    })}
                {button("danger", "decline", "Decline", ApprovalDecision::Decline, send)}
            </div>
            <p class="keys muted">"Enter approves · Esc declines"</p>
        })
    } else {
        Either::Right(view! {
            <p class="approval-outcome" data-testid="approval-outcome">{said}</p>
            {detail("Answer: ", "approval-answer text", answer)}
        })
    };

    view! {
        <div
            class="approval"
            data-testid="approval"
            data-approval-kind=kind.as_str()
            data-state=state.as_str()
            role="group"
            aria-label=heading(kind)
            on:keydown=on_keydown
        >
            <div class="tool-head">
                <span class="approval-heading">{heading(kind)}</span>
                <span class=chip_class>{said}</span>
            </div>
            {(!subject.is_empty())
                .then(|| view! { <div class="approval-subject">{html_text(subject)}</div> })}
            {changes.into_iter().map(file_view).collect_view()}
            {detail("in ", "approval-dir", cwd)}
            {detail("Reason: ", "approval-why text", reason)}
            {end}
        </div>
    }
}

/// A labelled line of the card (where a command runs, Codex's reason, a question's answer), when
/// there is something to say.
fn detail(label: &'static str, class: &'static str, text: Option<String>) -> impl IntoView {
    text.map(|text| {
        view! {
            <p class="approval-detail">
                <span class="muted">{label}</span>
                <span class=class>{html_text(text)}</span>
            </p>
        }
    })
}

/// One of the card's answer buttons (a real `<button>`: Enter and Space click it).
fn button(
    class: &'static str,
    testid: &'static str,
    label: &'static str,
    decision: ApprovalDecision,
    send: impl Fn(ApprovalDecision) + 'static,
) -> impl IntoView {
    view! {
        <button class=class data-testid=testid type="button" on:click=move |_| send(decision)>
            {label}
        </button>
    }
}
