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
use super::organise::{change, start_rename, Change};
use super::organise::{rename_blur, rename_key, SearchBox};
use super::state::ChatState;
use crate::text::{display_title, escape_html};
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
            <div
                class="brand"
                inner_html=super::attention::server_only(
                    r#"<img src="/favicon.svg" alt="" width="22" height="22"><span>Codex WebChat</span>"#,
                )
            ></div>
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
            <div
                class="codex-threads-link"
                inner_html=super::attention::server_only(
                    r#"<a data-testid="open-codex-thread" href="/codex-threads" rel="external">Open a Codex thread…</a>"#,
                )
            ></div>
            <SearchBox searching/>
            <nav
                class="sessions"
                aria-label="Sessions"
                hidden=move || searching.get()
                on:click=move |ev| on_action(ev, state)
                on:keydown=move |ev| rename_key(ev, state, None)
                on:focusout=move |ev| rename_blur(ev, None)
            >
                {session_list(state, false)}
                <details class="archived" data-testid="archived-sessions" hidden=move || archived_count() == 0>
                    <summary>"Archived (" {archived_count} ")"</summary>
                    {session_list(state, true)}
                </details>
                // Only the newest sessions are listed here (the server's `SIDEBAR_SESSIONS`);
                // the rest are a search or this page away.
                <div
                    class="all-sessions-link"
                    inner_html=super::attention::server_only(
                        r#"<a data-testid="all-sessions" href="/sessions" rel="external">All sessions…</a>"#,
                    )
                ></div>
            </nav>
        </aside>
    }
}

/// The sessions that are (`archived`) or are not put away, as list items built from the pushed
/// session list ([`sessions_html`]). While a title in it is being edited the list is left alone,
/// and brought up to date when the edit ends.
fn session_list(state: ChatState, archived: bool) -> impl IntoView {
    let current = state.session.get_value();
    let list = NodeRef::<leptos::html::Ul>::new();
    let first = state
        .sessions
        .with_untracked(|l| sessions_html(l, &current, archived));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let html = state
            .sessions
            .with(|l| sessions_html(l, &state.session.get_value(), archived));
        if let Some(ul) = list.get() {
            let editing = ul
                .query_selector("[contenteditable]")
                .ok()
                .flatten()
                .is_some();
            if !editing {
                ul.set_inner_html(&html);
            }
        }
    });
    view! {
        <ul
            data-testid=if archived { "archived-list" } else { "session-list" }
            node_ref=list
            inner_html=first
        ></ul>
    }
}

/// The list items of the sessions that are (`archived`) or are not put away: each a link (its
/// title and key as data for renaming in place) and its actions. Every text through
/// [`escape_html`]; keys are checked identifiers.
pub fn sessions_html(sessions: &[SessionSummary], current: &SessionKey, archived: bool) -> String {
    let (action, icon, label) = if archived {
        ("unarchive", "↩", "Put back")
    } else {
        ("archive", "⤓", "Archive")
    };
    sessions
        .iter()
        .filter(|s| s.archived == archived)
        .map(|s| {
            let title = escape_html(&display_title(&s.title));
            let key = escape_html(s.key.as_str());
            let here = if s.key == *current { r#" aria-current="page""# } else { "" };
            format!(
                r#"<li class="session-item"><a data-testid="session" data-session-key="{key}" data-title="{title}" href="/sessions/{key}" rel="external"{here}>{title}</a><span class="session-actions"><button type="button" data-action="rename" data-testid="rename-session" title="Rename" aria-label="Rename">✎</button><button type="button" data-action="{action}" data-testid="archive-session" title="{label}" aria-label="{label}">{icon}</button><button type="button" data-action="delete" data-testid="delete-session" title="Delete" aria-label="Delete">✕</button></span></li>"#
            )
        })
        .collect()
}

/// A click on one of a session's actions: which one, on which session.
fn on_action(ev: leptos::ev::MouseEvent, state: ChatState) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(button) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|t| t.closest("button[data-action]").ok().flatten())
        else {
            return;
        };
        let Some(link) = button
            .closest("li")
            .ok()
            .flatten()
            .and_then(|li| li.query_selector("a[data-session-key]").ok().flatten())
        else {
            return;
        };
        let Some(key) = link
            .get_attribute("data-session-key")
            .and_then(|k| SessionKey::parse(&k).ok())
        else {
            return;
        };
        match button.get_attribute("data-action").as_deref() {
            Some("rename") => start_rename(link.dyn_into().ok()),
            Some("archive") => change(state, key, Change::Archived(true)),
            Some("unarchive") => change(state, key, Change::Archived(false)),
            Some("delete") => change(state, key, Change::Delete),
            _ => {}
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, state);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(key: &str, title: &str, archived: bool) -> SessionSummary {
        SessionSummary {
            key: SessionKey::parse(key).unwrap(),
            title: title.into(),
            updated_ms: 1,
            last_channel: None,
            mode: Default::default(),
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived,
        }
    }

    #[test]
    fn the_list_is_escaped_split_by_archive_and_marks_the_current_session() {
        let list = [
            summary("s-1", "<script>x</script> \"q\" & 'a'", false),
            summary("s-2", "put away", true),
        ];
        let current = SessionKey::parse("s-1").unwrap();
        let active = sessions_html(&list, &current, false);
        assert!(!active.contains("<script>"), "{active}");
        assert!(
            active.contains(">&lt;script&gt;x&lt;/script&gt; &quot;q&quot; &amp; &#39;a&#39;</a>"),
            "{active}"
        );
        assert!(active.contains(r#"data-title="&lt;script&gt;"#), "{active}");
        assert!(active.contains(r#"aria-current="page""#) && !active.contains("put away"));
        let archived = sessions_html(&list, &current, true);
        assert!(archived.contains("put away") && archived.contains(r#"data-action="unarchive""#));
        assert!(!archived.contains("aria-current"));
    }
}
