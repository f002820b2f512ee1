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

use super::state::ChatState;
use crate::text::display_title;

#[component]
pub fn Sidebar(
    /// The configured workspaces' names, the default first.
    workspaces: Vec<String>,
    /// The current session's workspace, preselected.
    workspace: String,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let current = state.session.get_value();
    let single = workspaces.len() < 2;
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
            <nav class="sessions" aria-label="Sessions">
                <ul data-testid="session-list">
                    <For
                        each=move || state.sessions.get()
                        key=|s| (s.key.clone(), s.title.clone())
                        children=move |s| {
                            let is_current = s.key == current;
                            let href = format!("/sessions/{}", s.key);
                            view! {
                                <li>
                                    <a
                                        data-testid="session"
                                        data-session-key=s.key.to_string()
                                        href=href
                                        rel="external"
                                        aria-current=is_current.then_some("page")
                                    >
                                        {display_title(&s.title)}
                                    </a>
                                </li>
                            }
                        }
                    />
                </ul>
            </nav>
        </aside>
    }
}
