//! Finding and organising sessions from the sidebar: the search box (`search`, debounced;
//! Ctrl/Cmd+K focuses it, arrows and Enter open a result) and its results (`search-result`, each
//! a link to `/sessions/{key}?at={seq}` with its snippet, matches in `<mark>`, rendered and
//! escaped by the server), and each
//! session's actions: rename in place (`rename-session`, then `rename-input`), archive or put
//! back (`archive-session`), delete after a confirmation (`delete-session`).
//!
//! Every change goes to the server's API and comes back to every tab as the pushed session list;
//! nothing here changes the list itself, so what a tab shows is what the server has.

use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::SessionKey;

/// How long typing must pause before a search is sent.
#[cfg(feature = "hydrate")]
const DEBOUNCE_MS: u32 = 200;

/// The search box and, while it holds words, its results (in place of the session list). The
/// results are list items the server renders (`GET /api/v1/search?format=html`, escaped there)
/// and the page inserts as they come: no view of them in the browser's binary.
#[component]
pub fn SearchBox(searching: RwSignal<bool>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let input = NodeRef::<leptos::html::Input>::new();
    let list = NodeRef::<leptos::html::Ul>::new();
    let asked = StoredValue::new(0u32);
    let active = StoredValue::new(0usize);
    let on_input = move |ev: leptos::ev::Event| {
        let terms = event_target_value(&ev);
        asked.update_value(|n| *n += 1);
        search(terms, asked, list, active, searching, state.show_internals);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "ArrowDown" | "ArrowUp" => {
            ev.prevent_default();
            let down = ev.key() == "ArrowDown";
            active.update_value(|a| *a = if down { *a + 1 } else { a.saturating_sub(1) });
            select(list, active);
        }
        "Enter" => {
            if let Some(href) = selected_href(list, active) {
                ev.prevent_default();
                open(&href);
            }
        }
        "Escape" => {
            if let Some(i) = input.get() {
                i.set_value("");
            }
            asked.update_value(|n| *n += 1);
            searching.set(false);
        }
        _ => {}
    };
    #[cfg(feature = "hydrate")]
    {
        // Ctrl/Cmd+K from anywhere on the page; the page's other keys (`?`) ride the same
        // listener.
        let focus = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                if let Some(i) = input.get() {
                    let _ = i.focus();
                }
            } else {
                super::attention::on_key(&ev);
            }
        });
        on_cleanup(move || focus.remove());
    }
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
            <ul
                class="search-results"
                data-testid="search-results"
                node_ref=list
                hidden=move || !searching.get()
            ></ul>
        </div>
    }
}

/// The result links now in the list.
#[cfg(feature = "hydrate")]
fn result_links(list: NodeRef<leptos::html::Ul>) -> Vec<web_sys::Element> {
    let Some(list) = list.get() else {
        return Vec::new();
    };
    let Ok(found) = list.query_selector_all("a[data-testid=search-result]") else {
        return Vec::new();
    };
    (0..found.length())
        .filter_map(|i| found.item(i))
        .filter_map(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        .collect()
}

/// Marks the `active` result (`aria-selected`), keeping it within the list.
fn select(list: NodeRef<leptos::html::Ul>, active: StoredValue<usize>) {
    #[cfg(feature = "hydrate")]
    {
        let links = result_links(list);
        if links.is_empty() {
            return;
        }
        active.update_value(|a| *a = (*a).min(links.len() - 1));
        let at = active.get_value();
        for (i, link) in links.iter().enumerate() {
            let _ = link.set_attribute("aria-selected", if i == at { "true" } else { "false" });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (list, active);
}

/// Where the `active` result leads.
fn selected_href(list: NodeRef<leptos::html::Ul>, active: StoredValue<usize>) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        result_links(list)
            .get(active.get_value())
            .and_then(|a| a.get_attribute("href"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (list, active);
        None
    }
}

/// Asks the server for `terms` once typing paused and puts its answer in the list; an answer to
/// an older question is dropped.
fn search(
    terms: String,
    asked: StoredValue<u32>,
    list: NodeRef<leptos::html::Ul>,
    active: StoredValue<usize>,
    searching: RwSignal<bool>,
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
            searching.set(false);
            return;
        }
        let q = String::from(js_sys::encode_uri_component(&terms));
        let url = format!("/api/v1/search?q={q}&internals={internals}&format=html");
        let found = super::browser::fetch("GET", &url, None, None).await;
        if asked.get_value() != mine {
            return;
        }
        let html = found.unwrap_or_else(|e| {
            let p = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.create_element("li").ok());
            // The server's reason, as text.
            p.map(|li| {
                li.set_text_content(Some(&e));
                li.outer_html()
            })
            .unwrap_or_default()
        });
        if let Some(list) = list.get() {
            list.set_inner_html(&html);
        }
        active.set_value(0);
        select(list, active);
        searching.set(true);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (terms, asked, list, active, searching, internals);
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
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum Change {
    Title(String),
    Archived(bool),
    Delete,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
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
                Err(e) => state.flash.set(Some(super::state::Flash::Error(e))),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, key, what);
}

/// Starts renaming in place: the title element becomes editable and takes the focus.
#[cfg(feature = "hydrate")]
pub fn start_rename(el: Option<web_sys::HtmlElement>) {
    if let Some(el) = el {
        let _ = el.set_attribute("contenteditable", "plaintext-only");
        let _ = el.focus();
    }
}

/// Keys while a title is edited in place: Enter saves it, Escape puts the old one back. The
/// session and its old title are `fixed` (the header's) or the edited link's own
/// `data-session-key` and `data-title` (the sidebar's, whose handler is the list's).
pub fn rename_key(
    ev: leptos::ev::KeyboardEvent,
    state: ChatState,
    fixed: Option<(SessionKey, String)>,
) {
    #[cfg(feature = "hydrate")]
    {
        let Some(el) = edited(ev.target()) else {
            return;
        };
        let Some((key, title)) = fixed.or_else(|| identity(&el)) else {
            return;
        };
        match ev.key().as_str() {
            "Enter" => {
                ev.prevent_default();
                let _ = el.remove_attribute("contenteditable");
                let typed = el.text_content().unwrap_or_default();
                if typed.trim() != title {
                    change(state, key, Change::Title(typed));
                }
            }
            "Escape" => {
                end_rename(&el, &title);
                // The list held still while the title was edited: bring it up to date.
                state.sessions.update(|_| {});
            }
            _ => {}
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, state, fixed);
}

/// Leaving a title being edited without Enter puts the old one back.
pub fn rename_blur(ev: leptos::ev::FocusEvent, fixed: Option<String>) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = edited(ev.target()) {
        if let Some(title) = fixed.or_else(|| identity(&el).map(|(_, t)| t)) {
            end_rename(&el, &title);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, fixed);
}

/// The element an event happened on, if it is a title being edited.
#[cfg(feature = "hydrate")]
fn edited(target: Option<web_sys::EventTarget>) -> Option<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    target?
        .dyn_into::<web_sys::HtmlElement>()
        .ok()
        .filter(|el| el.has_attribute("contenteditable"))
}

/// A sidebar link's session and title.
#[cfg(feature = "hydrate")]
fn identity(el: &web_sys::HtmlElement) -> Option<(SessionKey, String)> {
    let key = SessionKey::parse(&el.get_attribute("data-session-key")?).ok()?;
    Some((key, el.get_attribute("data-title")?))
}

#[cfg(feature = "hydrate")]
fn end_rename(el: &web_sys::HtmlElement, title: &str) {
    let _ = el.remove_attribute("contenteditable");
    el.set_text_content(Some(title));
}
