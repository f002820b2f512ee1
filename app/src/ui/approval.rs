//! An approval card's body: what Codex asks (a command and where it would run, a file change with
//! each file's diff, permissions, a question), Codex's reason, and either the answer buttons
//! (while pending) or how it ended.
//!
//! The contract: `data-testid="approval"` with `data-approval-kind` and `data-state`; while
//! pending, `approve`, `approve-session` (only when Codex offers it) and `decline` buttons, and for
//! a question an `answer` field whose text `approve` submits (an empty one is refused here); a
//! diff is `data-testid="diff"` with one element per line, `data-line` = `add|del|ctx`. A click
//! sends `Answer` for the card's event (`ChatState::command_now`); the server's `ApprovalEnded`
//! then completes the card and the row renders again without buttons. A pending card takes the
//! focus when it appears (its `approve` button, or a question's field); inside it, Escape
//! declines.
//!
//! Every string here is untrusted and is text (`html_text`), never markup.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::state::ChatState;
use crate::text::html_text;
use crate::transcript::ApprovalView;
use crate::wire::{ApprovalDecision, ApprovalKind, ApprovalState, FileDiff, Seq};

/// One line of a unified diff as the card shows it: its `data-line` (`add`, `del` or `ctx`),
/// whether it is a hunk header (`@@ … @@`, shown as context, styled apart), and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: &'static str,
    pub hunk: bool,
    pub text: String,
}

/// Splits a diff into lines (`\n`; a CR before it is part of the line break) and classifies
/// each by its first character: `+` adds, `-` deletes, anything else is context. No text is
/// dropped but the final line break.
pub fn diff_lines(diff: &str) -> Vec<DiffLine> {
    let diff = diff.strip_suffix('\n').unwrap_or(diff);
    if diff.is_empty() {
        return Vec::new();
    }
    diff.split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let kind = match line.as_bytes().first() {
                Some(b'+') => "add",
                Some(b'-') => "del",
                _ => "ctx",
            };
            DiffLine {
                kind,
                hunk: line.starts_with("@@"),
                text: html_text(line.to_owned()),
            }
        })
        .collect()
}

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
    let approve = NodeRef::<leptos::html::Button>::new();
    let refused = RwSignal::new(false);
    // Browser only (no event reaches a server render).
    let send = move |decision: ApprovalDecision| {
        #[cfg(feature = "hydrate")]
        {
            let mut answer = None;
            if question && decision != ApprovalDecision::Decline {
                let text = field.get_untracked().map(|f| f.value()).unwrap_or_default();
                if text.trim().is_empty() {
                    refused.set(true);
                    if let Some(f) = field.get_untracked() {
                        let _ = f.focus();
                    }
                    return;
                }
                answer = Some(text);
            }
            if let Some(chat) = chat {
                chat.command_now(
                    super::state::Command::Answer {
                        approval: seq,
                        decision,
                        answer,
                    },
                    "the approval cannot be answered",
                );
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (decision, chat, field, refused, seq);
    };

    #[cfg(feature = "hydrate")]
    if pending {
        // A waiting card takes the focus once it is in the page (hydrated, or added live).
        Effect::new(move |_| {
            let target: Option<web_sys::HtmlElement> = if question {
                field.get().map(Into::into)
            } else {
                approve.get().map(Into::into)
            };
            if let Some(target) = target {
                let _ = target.focus();
            }
        });
    }

    // Enter needs nothing here: the buttons act on it themselves, the answer field below submits.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if pending && ev.key() == "Escape" {
            ev.prevent_default();
            send(ApprovalDecision::Decline);
        }
    };
    let on_field_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.is_composing() {
            ev.prevent_default();
            send(ApprovalDecision::Accept);
        }
    };

    let asked = match kind {
        ApprovalKind::Command => EitherOf3::A(view! {
            <pre class="approval-command">
                <code class="approval-subject">{html_text(subject)}</code>
            </pre>
        }),
        ApprovalKind::FileChange => EitherOf3::B(view! {
            {(!subject.is_empty())
                .then(|| view! { <p class="approval-subject text">{html_text(subject)}</p> })}
            {changes.into_iter().map(file_view).collect_view()}
        }),
        ApprovalKind::Permissions | ApprovalKind::Question => EitherOf3::C(view! {
            <p class="approval-subject text">{html_text(subject)}</p>
        }),
    };
    let cwd = cwd.map(|cwd| {
        view! {
            <p class="approval-cwd muted">"in " <code class="approval-dir">{html_text(cwd)}</code></p>
        }
    });
    let reason = reason.map(|reason| {
        view! {
            <p class="approval-reason">
                <span class="muted">"Reason: "</span>
                <span class="approval-why text">{html_text(reason)}</span>
            </p>
        }
    });

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
                                on:input=move |_| refused.set(false)
                                on:keydown=on_field_keydown
                            />
                        }
                    })}
                <button
                    class="primary"
                    data-testid="approve"
                    type="button"
                    node_ref=approve
                    on:click=move |_| send(ApprovalDecision::Accept)
                >
                    {if question { "Send answer" } else { "Approve" }}
                </button>
                {for_session
                    .then(|| {
                        view! {
                            <button
                                data-testid="approve-session"
                                type="button"
                                on:click=move |_| send(ApprovalDecision::AcceptForSession)
                            >
                                "Approve for this session"
                            </button>
                        }
                    })}
                <button
                    class="danger"
                    data-testid="decline"
                    type="button"
                    on:click=move |_| send(ApprovalDecision::Decline)
                >
                    "Decline"
                </button>
            </div>
            {move || {
                refused
                    .get()
                    .then(|| view! { <p class="hint" role="alert">"Type an answer first."</p> })
            }}
            <p class="keys muted">"Enter approves · Esc declines"</p>
        })
    } else {
        Either::Right(view! {
            <p class="approval-outcome" data-testid="approval-outcome">{said}</p>
            {answer
                .map(|answer| {
                    view! {
                        <p class="approval-answered">
                            <span class="muted">"Answer: "</span>
                            <span class="approval-answer text">{html_text(answer)}</span>
                        </p>
                    }
                })}
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
            {asked}
            {cwd}
            {reason}
            {end}
        </div>
    }
}

/// One file of a proposed change: its path, what happens to it, and its diff line by line.
fn file_view(file: FileDiff) -> impl IntoView {
    let lines = diff_lines(&file.diff)
        .into_iter()
        .map(|line| {
            let class = if line.hunk {
                "diff-line hunk"
            } else {
                "diff-line"
            };
            view! { <div class=class data-line=line.kind>{line.text}</div> }
        })
        .collect_view();
    view! {
        <div class="approval-file">
            <div class="approval-file-head">
                <code class="approval-path">{html_text(file.path)}</code>
                <span class="chip">{html_text(file.kind)}</span>
            </div>
            <div class="diff" data-testid="diff">{lines}</div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(diff: &str) -> Vec<(&'static str, bool, String)> {
        diff_lines(diff)
            .into_iter()
            .map(|l| (l.kind, l.hunk, l.text))
            .collect()
    }

    #[test]
    fn diff_lines_are_classified_by_their_first_character() {
        assert_eq!(
            kinds("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n\\ No newline\n"),
            vec![
                ("del", false, "--- a/x".to_owned()),
                ("add", false, "+++ b/x".to_owned()),
                ("ctx", true, "@@ -1 +1 @@".to_owned()),
                ("del", false, "-old".to_owned()),
                ("add", false, "+new".to_owned()),
                ("ctx", false, " same".to_owned()),
                ("ctx", false, "\\ No newline".to_owned()),
            ]
        );
    }

    #[test]
    fn no_text_is_lost_but_the_final_line_break() {
        assert!(diff_lines("").is_empty());
        assert!(diff_lines("\n").is_empty());
        assert_eq!(
            kinds("+a\r\n\n-b\rc\0"),
            vec![
                ("add", false, "+a".to_owned()),
                ("ctx", false, String::new()),
                // A lone CR stays in its line, as an HTML parser would read it (a line feed).
                ("del", false, "-b\nc\u{FFFD}".to_owned()),
            ]
        );
        assert_eq!(
            kinds("no newline at all"),
            vec![("ctx", false, "no newline at all".to_owned())]
        );
    }
}
