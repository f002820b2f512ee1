//! Finding and organising sessions from the sidebar: the search box (`search`, debounced;
//! Ctrl/Cmd+K focuses it, arrows and Enter open a result) and its results (`search-result`, each
//! a link to `/sessions/{key}?at={seq}` with its snippet, matches in `<mark>`), and each
//! session's actions: rename in place (`rename-session`, then `rename-input`), archive or put
//! back (`archive-session`), delete after a confirmation (`delete-session`).
//!
//! Every change goes to the server's API and comes back to every tab as the pushed session list;
//! nothing here changes the list itself, so what a tab shows is what the server has. A search
//! result's text is text (Leptos escapes it); the snippet's matches are marked up here, from the
//! server's plain pieces.

use leptos::prelude::*;

use super::state::{ChatState, Flash};
use crate::wire::{SearchHit, SessionKey};

/// How long typing must pause before a search is sent.
#[cfg(feature = "hydrate")]
const DEBOUNCE_MS: u32 = 200;

/// The search box and, while it holds words, its results (in place of the session list).
#[component]
pub fn SearchBox(hits: RwSignal<Option<Vec<SearchHit>>>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let active = RwSignal::new(0usize);
    let input = NodeRef::<leptos::html::Input>::new();
    let asked = StoredValue::new(0u32);
    let on_input = move |ev: leptos::ev::Event| {
        let terms = event_target_value(&ev);
        asked.update_value(|n| *n += 1);
        search(terms, asked, hits, active, state.show_internals);
    };
    let href = |h: &SearchHit| format!("/sessions/{}?at={}", h.session, h.seq.0);
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = hits.with(|h| h.as_ref().map_or(0, Vec::len));
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = (*a + 1).min(count - 1));
            }
            "ArrowUp" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = a.saturating_sub(1));
            }
            "Enter" => {
                let target = hits.with(|h| h.as_ref()?.get(active.get()).map(href));
                if let Some(target) = target {
                    ev.prevent_default();
                    open(&target);
                }
            }
            "Escape" => {
                if let Some(i) = input.get() {
                    i.set_value("");
                }
                asked.update_value(|n| *n += 1);
                hits.set(None);
            }
            _ => {}
        }
    };
    #[cfg(feature = "hydrate")]
    {
        // Ctrl/Cmd+K from anywhere on the page.
        let focus = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                if let Some(i) = input.get() {
                    let _ = i.focus();
                }
            }
        });
        on_cleanup(move || focus.remove());
    }
    let results = move || {
        hits.get().map(|list| {
            let none = list.is_empty().then(|| view! { <li class="muted">"No matches"</li> });
            let rows = list
                .into_iter()
                .enumerate()
                .map(|(i, hit)| {
                    let to = href(&hit);
                    let snippet = hit
                        .snippet
                        .into_iter()
                        .map(|s| {
                            if s.hit {
                                leptos::either::Either::Left(view! { <mark>{s.text}</mark> })
                            } else {
                                leptos::either::Either::Right(s.text)
                            }
                        })
                        .collect_view();
                    view! {
                        <li>
                            <a
                                data-testid="search-result"
                                data-session-key=hit.session.to_string()
                                data-seq=hit.seq.0
                                href=to
                                rel="external"
                                aria-selected=move || (active.get() == i).to_string()
                            >
                                <span class="search-title">{crate::text::display_title(&hit.title)}</span>
                                <span class="search-snippet">{snippet}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view();
            (none, rows)
        })
    };
    view! {
        <div class="search">
            <input
                type="search"
                data-testid="search"
                placeholder="Search sessions (Ctrl+K)"
                aria-label="Search sessions"
                autocomplete="off"
                node_ref=input
                on:input=on_input
                on:keydown=on_key
            />
            <ul class="search-results" data-testid="search-results" hidden=move || hits.with(Option::is_none)>
                {results}
            </ul>
        </div>
    }
}

/// Asks the server for `terms` once typing paused; an answer to an older question is dropped.
fn search(
    terms: String,
    asked: StoredValue<u32>,
    hits: RwSignal<Option<Vec<SearchHit>>>,
    active: RwSignal<usize>,
    internals: bool,
) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let mine = asked.get_value();
        gloo_timers::future::TimeoutFuture::new(DEBOUNCE_MS).await;
        if asked.get_value() != mine {
            return;
        }
        if terms.trim().is_empty() {
            hits.set(None);
            return;
        }
        let q = String::from(js_sys::encode_uri_component(&terms));
        let url = format!("/api/v1/search?q={q}&internals={internals}");
        let found = super::browser::fetch("GET", &url, None, None)
            .await
            .and_then(|body| {
                crate::json::from_str::<Vec<SearchHit>>(&body).map_err(|e| e.to_string())
            });
        if asked.get_value() != mine {
            return;
        }
        active.set(0);
        hits.set(Some(found.unwrap_or_default()));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (terms, asked, hits, active, internals);
}

/// Follows a link as a full page load, as the sidebar's links do.
fn open(href: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(href);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = href;
}

/// What one of a session's actions asks the server.
#[derive(Clone)]
pub enum Change {
    Title(String),
    Archived(bool),
    Delete,
}

/// Sends a change of session `key`; the session list the server pushes shows the result, a
/// refusal shows as the page's error.
pub fn change(state: ChatState, key: SessionKey, what: Change) {
    #[cfg(feature = "hydrate")]
    {
        if matches!(what, Change::Delete) {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Delete this session and everything in it? This cannot be undone.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if !sure {
                return;
            }
        }
        let deleting = matches!(what, Change::Delete);
        leptos::task::spawn_local(async move {
            let url = format!("/api/v1/sessions/{key}");
            let result = match what {
                Change::Delete => super::browser::fetch("DELETE", &url, None, None).await,
                Change::Title(title) => {
                    let title = js_sys::JSON::stringify(&title.into())
                        .map(String::from)
                        .unwrap_or_default();
                    let body = wasm_bindgen::JsValue::from(format!(r#"{{"title":{title}}}"#));
                    super::browser::fetch("PATCH", &url, Some(&body), Some("application/json"))
                        .await
                }
                Change::Archived(archived) => {
                    let body = wasm_bindgen::JsValue::from(format!(r#"{{"archived":{archived}}}"#));
                    super::browser::fetch("PATCH", &url, Some(&body), Some("application/json"))
                        .await
                }
            };
            match result {
                // The current session is gone: the newest one (or a new one) opens instead.
                Ok(_) if deleting && state.session.get_value() == key => open("/"),
                Ok(_) => {}
                Err(e) => state.flash.set(Some(Flash::Error(e))),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, key, what);
}

/// A title being edited in place (`rename-input`): Enter saves, Escape or leaving cancels.
#[component]
pub fn RenameInput(key: SessionKey, title: String, editing: RwSignal<bool>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = input.get() {
            let _ = i.focus();
            i.select();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            let value = input.get().map(|i| i.value()).unwrap_or_default();
            editing.set(false);
            change(state, key.clone(), Change::Title(value));
        }
        "Escape" => editing.set(false),
        _ => {}
    };
    view! {
        <input
            class="rename-input"
            data-testid="rename-input"
            aria-label="New title"
            maxlength="200"
            value=title
            node_ref=input
            on:keydown=on_key
            on:blur=move |_| editing.set(false)
        />
    }
}
