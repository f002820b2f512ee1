//! The session list and the new-session control.
//!
//! Links are plain `<a rel="external">`: switching sessions is a full page load on purpose. The
//! server renders a session in milliseconds, and a fresh document per session means one socket,
//! one transcript and one hydration per page, with no client-side route state to get wrong.
//!
//! The new-session form carries the workspace select (`data-testid="workspace"`, the configured
//! names, the current session's workspace preselected): the server creates the session in the
//! chosen one. With a single workspace the select is hidden but stays in the form and the DOM.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::organise::start_rename;
use super::organise::{change, rename_blur, rename_key, Change, SearchBox};
use super::state::ChatState;
use crate::text::display_title;
use crate::wire::{SessionKey, SessionSummary};

#[component]
pub fn Sidebar(
    /// The configured workspaces' names, the default first.
    workspaces: Vec<String>,
    /// The current session's workspace, preselected.
    workspace: String,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let single = workspaces.len() < 2;
    let searching = RwSignal::new(false);
    let archived_count = move || {
        state
            .sessions
            .with(|l| l.iter().filter(|s| s.archived).count())
    };
    let options = super::model::options(
        workspaces.into_iter().map(|n| (n.clone(), n)).collect(),
        &workspace,
    );
    view! {
        <aside class="sidebar">
            <div class="brand">
                <img src="/favicon.svg" alt="" width="22" height="22"/>
                <span>"Codex WebChat"</span>
            </div>
            // A plain form so a new session works before (and without) the wasm.
            <form class="new-session" method="post" action="/sessions">
                <select
                    name="workspace"
                    data-testid="workspace"
                    autocomplete="off"
                    aria-label="Workspace of the new session"
                    title="The folder the new session's Codex works in"
                    hidden=single
                >
                    {options}
                </select>
                <button class="primary" data-testid="new-session" type="submit">
                    "New session"
                </button>
            </form>
            <SearchBox searching/>
            <nav class="sessions" aria-label="Sessions" hidden=move || searching.get()>
                <ul data-testid="session-list">{session_list(state, false)}</ul>
                <details class="archived" data-testid="archived-sessions" hidden=move || archived_count() == 0>
                    <summary>"Archived (" {archived_count} ")"</summary>
                    <ul>{session_list(state, true)}</ul>
                </details>
            </nav>
        </aside>
    }
}

/// The sessions that are (`archived`) or are not put away; one function, so the list's code is
/// in the binary once for both.
fn session_list(state: ChatState, archived: bool) -> impl IntoView {
    view! {
        <For
            each=move || state.sessions.get().into_iter().filter(move |s| s.archived == archived)
            key=|s| (s.key.clone(), s.title.clone())
            children=move |s| session_item(state, s, &state.session.get_value())
        />
    }
}

/// One session in the list: its link (its title editable while renamed) and its actions.
fn session_item(state: ChatState, s: SessionSummary, current: &SessionKey) -> impl IntoView {
    let is_current = s.key == *current;
    let href = format!("/sessions/{}", s.key);
    let (key, title, archived) = (s.key, s.title, s.archived);
    let shown = display_title(&title);
    let link = NodeRef::<leptos::html::A>::new();
    let (edit_key, edit_title, blur_title) = (key.clone(), shown.clone(), shown.clone());
    let (archive_key, delete_key) = (key.clone(), key.clone());
    view! {
        <li class="session-item">
            <a
                data-testid="session"
                data-session-key=key.to_string()
                href=href
                rel="external"
                aria-current=is_current.then_some("page")
                node_ref=link
                on:keydown=move |ev| rename_key(ev, state, &edit_key, &edit_title)
                on:blur=move |ev| rename_blur(ev, &blur_title)
            >
                {shown}
            </a>
            <span class="session-actions">
                <button
                    type="button"
                    data-testid="rename-session"
                    title="Rename"
                    aria-label="Rename"
                    on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        start_rename(link.get().map(Into::into));
                    }
                >
                    "✎"
                </button>
                <button
                    type="button"
                    data-testid="archive-session"
                    title=if archived { "Put back" } else { "Archive" }
                    aria-label=if archived { "Put back" } else { "Archive" }
                    on:click=move |_| change(state, archive_key.clone(), Change::Archived(!archived))
                >
                    {if archived { "↩" } else { "⤓" }}
                </button>
                <button
                    type="button"
                    data-testid="delete-session"
                    title="Delete"
                    aria-label="Delete"
                    on:click=move |_| change(state, delete_key.clone(), Change::Delete)
                >
                    "✕"
                </button>
            </span>
        </li>
    }
}
