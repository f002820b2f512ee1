//! The composer: the textarea, Send and Stop, the outbox line and inline errors.
//!
//! The typed text lives in the textarea itself (read through a node ref), not in a signal bound
//! with `prop:value`: hydration would otherwise overwrite whatever was typed before the wasm
//! arrived. A send validates, gets a client id, joins the outbox and only then clears the field;
//! anything refused stays in the field, and a message the server rejects is put back.

use leptos::ev;
use leptos::prelude::*;

use super::state::{ChatState, ConnState, Flash};

#[component]
pub fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let running = move || state.transcript.with(|t| t.is_running());

    let on_keydown = move |ev: ev::KeyboardEvent| {
        // Enter sends, Shift+Enter is a newline; an IME composition's Enter is neither.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit(state);
        }
    };
    let on_input = move |_| {
        if matches!(state.flash.get_untracked(), Some(Flash::Hint(_))) {
            state.flash.set(None);
        }
    };
    let on_stop = move |_| stop(state);

    view! {
        <div class="composer">
            <div class="composer-row">
                <textarea
                    data-testid="composer"
                    node_ref=state.composer
                    rows="2"
                    placeholder="Message Codex…"
                    aria-label="Message"
                    on:keydown=on_keydown
                    on:input=on_input
                ></textarea>
                <div class="composer-buttons">
                    <button
                        class="primary"
                        data-testid="send"
                        type="button"
                        on:click=move |_| submit(state)
                    >
                        "Send"
                    </button>
                    <button
                        class="danger"
                        data-testid="stop"
                        type="button"
                        disabled=move || !running()
                        on:click=on_stop
                    >
                        "Stop"
                    </button>
                </div>
            </div>
            <div class="composer-status" aria-live="polite">
                <For
                    each=move || state.outbox.get()
                    key=|p| p.client_id.clone()
                    children=move |p| {
                        let label = move || {
                            if state.conn.get() == ConnState::Connected {
                                "Sending…"
                            } else {
                                "Waiting for the connection:"
                            }
                        };
                        view! {
                            <p class="pending">
                                <span class="pending-label">{label}</span>
                                " "
                                <span class="pending-text">{preview(&p.text)}</span>
                            </p>
                        }
                    }
                />
                {move || {
                    state
                        .flash
                        .get()
                        .map(|flash| {
                            let (class, role, text) = match flash {
                                Flash::Hint(text) => ("hint", None, text),
                                Flash::Error(text) => ("error", Some("alert"), text),
                            };
                            view! { <p class=class role=role>{text}</p> }
                        })
                }}
                <p class="keys muted">"Enter to send · Shift+Enter for a new line"</p>
            </div>
        </div>
    }
}

/// The first line of a message, shortened, for the outbox line.
fn preview(text: &str) -> String {
    const MAX: usize = 80;
    let line = text.trim().lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(MAX).collect();
    if line.chars().count() > MAX || text.trim().lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// Validates the composer's text and queues it. Browser only; the server never handles events.
fn submit(state: ChatState) {
    #[cfg(feature = "hydrate")]
    {
        use super::state::{Command, Pending};
        use crate::wire::{validate_message, MAX_MESSAGE_BYTES};

        let Some(area) = state.composer.get_untracked() else {
            return;
        };
        let text = area.value();
        if text.trim().is_empty() {
            state
                .flash
                .set(Some(Flash::Hint("Type a message first.".to_owned())));
            return;
        }
        if let Err(reason) = validate_message(&text) {
            let reason = if text.len() > MAX_MESSAGE_BYTES {
                format!("{reason} Shorten it and send again; your text is still here.",)
            } else {
                reason
            };
            state.flash.set(Some(Flash::Error(reason)));
            return;
        }
        let pending = Pending {
            client_id: super::browser::new_client_id(),
            text,
        };
        let client_id = pending.client_id.clone();
        state.outbox.update(|o| o.push(pending));
        state.flash.set(None);
        // Whoever sends wants to see the reply, wherever they had scrolled to.
        state.follow.set_value(true);
        // Queued: from here the outbox owns the text, so the field can be cleared.
        area.set_value("");
        // If the socket is closed this goes nowhere; the outbox is flushed on the next open.
        state.command(Command::Send(client_id));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// Asks the server to interrupt the running turn.
fn stop(state: ChatState) {
    #[cfg(feature = "hydrate")]
    {
        use super::state::Command;
        // A stop must not be queued: sent later it could interrupt a turn the user never saw.
        state.command_now(Command::Stop, "the run cannot be stopped");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn preview_shortens_long_and_multiline_text() {
        assert_eq!(preview("  hi  "), "hi");
        assert_eq!(preview("one\ntwo"), "one…");
        let long = "x".repeat(100);
        assert_eq!(preview(&long).chars().count(), 81);
    }
}
