//! Getting a person's attention and helping them act: a browser notification and a count in the
//! tab title when a run finishes or an approval waits while the tab is hidden, the copy buttons
//! on messages and code blocks, and the keyboard shortcuts sheet (`?`).
//!
//! Notification permission is asked only when the person clicks the header's bell, never on
//! load. A notification carries plain text (the session's title), which the browser shows as
//! text, so nothing here builds markup. The copy buttons come with the server's rendering of a
//! reply and its code blocks (`server::markdown::reply_html`); every click is handled by one
//! listener for the whole page.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::state::ChatState;
#[cfg(feature = "hydrate")]
use wasm_bindgen::JsCast;

/// Fixed markup for an `inner_html` that only the server needs: it renders it, and hydration
/// keeps what the server sent (tachys sets `inner_html` only when it builds an element, never when
/// it hydrates one), so the browser's binary carries none of it. Only for parts of the page that
/// are never built in the browser (no client routing: every page is hydrated, not built).
pub const fn server_only(html: &'static str) -> &'static str {
    if cfg!(feature = "ssr") {
        html
    } else {
        ""
    }
}

/// The small-screen drawer, without script: a checkbox, the header's ☰ that checks it and a
/// backdrop that unchecks it (both its labels); the stylesheet slides the sidebar in while it is
/// checked (`.app:has(.drawer-toggle:checked)`). Fixed markup, inserted as it is: as a view it
/// would cost the wasm budget.
pub const DRAWER_HTML: &str = r#"<input type="checkbox" id="drawer" class="drawer-toggle" autocomplete="off" aria-hidden="true" tabindex="-1"><label for="drawer" class="drawer-open" data-testid="drawer-open" title="Sessions" aria-label="Sessions">☰</label><label for="drawer" class="drawer-backdrop" aria-hidden="true"></label>"#;

/// The header's bell (asks for notification permission; `data-permission` says what the browser
/// answered) and the shortcuts button. Fixed markup, inserted as it is, like [`DRAWER_HTML`].
pub const TOOLS_HTML: &str = r#"<button type="button" class="bell" data-action="notify" data-testid="notify" title="Notify me when a run finishes or an approval waits while this tab is hidden" aria-label="Notifications"></button><button type="button" class="help" data-action="shortcuts" data-testid="shortcuts-button" title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">?</button>"#;

/// The shortcuts sheet: a `<dialog>` that `?` (or the header's `?` button) opens and Escape or
/// its button closes.
#[component]
pub fn ShortcutsSheet() -> impl IntoView {
    view! {
        <dialog class="shortcuts" data-testid="shortcuts" aria-label="Keyboard shortcuts">
            <h2>"Keyboard shortcuts"</h2>
            <dl>
                <dt><kbd>"Enter"</kbd></dt><dd>"Send"</dd>
                <dt><kbd>"Shift+Enter"</kbd></dt><dd>"New line"</dd>
                <dt><kbd>"Ctrl+Enter"</kbd></dt><dd>"Steer the running turn"</dd>
                <dt><kbd>"Ctrl+K"</kbd></dt><dd>"Search sessions; ↑ ↓ and Enter open a result"</dd>
                <dt><kbd>"y"</kbd>" " <kbd>"a"</kbd>" " <kbd>"n"</kbd></dt><dd>"Approve, approve for the session, decline (on an approval)"</dd>
                <dt><kbd>"?"</kbd></dt><dd>"This sheet"</dd>
                <dt><kbd>"Esc"</kbd></dt><dd>"Close it"</dd>
            </dl>
            <form method="dialog"><button class="primary">"Close"</button></form>
        </dialog>
    }
}

/// Installs the page's listeners: clicks (copy, the sheet, the bell) and the tab becoming
/// visible again (the count is cleared). They live as long as the page.
#[cfg(feature = "hydrate")]
pub fn install(state: ChatState) {
    show_permission();
    let clicks = window_event_listener(leptos::ev::click, move |ev| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Ok(Some(button)) = target.closest("button.copy") {
            copy(&button);
        } else if let Ok(Some(_)) = target.closest("[data-action=shortcuts]") {
            open_sheet();
        } else if let Ok(Some(_)) = target.closest("[data-action=notify]") {
            ask_permission();
        }
    });
    let shown = window_event_listener(leptos::ev::visibilitychange, move |_| {
        if !hidden() {
            state.unseen.set(0);
        }
    });
    on_cleanup(move || {
        clicks.remove();
        shown.remove();
    });
}

/// `?` outside a text field opens the shortcuts sheet (the page's one keydown listener, in
/// `organise`, hands its other keys here).
#[cfg(feature = "hydrate")]
pub fn on_key(ev: &web_sys::KeyboardEvent) {
    if ev.key() != "?" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    let typing = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("input, textarea, select, [contenteditable]").ok())
        .flatten()
        .is_some();
    if !typing {
        ev.prevent_default();
        open_sheet();
    }
}

/// Live events arrived: a finished run or a new approval while the tab is hidden counts in the
/// title and, once the person allowed it, shows a notification.
#[cfg(feature = "hydrate")]
pub fn noticed(state: ChatState, approvals: u32, finished: u32) {
    if !hidden() || approvals + finished == 0 {
        return;
    }
    state.unseen.update(|n| *n += approvals + finished);
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let heading = if approvals > 0 {
        "Codex is waiting for your approval"
    } else {
        "Codex finished"
    };
    let options = web_sys::NotificationOptions::new();
    options.set_body(&state.title());
    // One notification per session: a newer one replaces the older.
    options.set_tag(state.session.get_value().as_str());
    let _ = web_sys::Notification::new_with_options(heading, &options);
}

#[cfg(feature = "hydrate")]
fn hidden() -> bool {
    document().hidden()
}

#[cfg(feature = "hydrate")]
fn open_sheet() {
    if let Some(dialog) = document()
        .query_selector("dialog.shortcuts")
        .ok()
        .flatten()
        .and_then(|d| d.dyn_into::<web_sys::HtmlDialogElement>().ok())
    {
        if !dialog.open() {
            let _ = dialog.show_modal();
        }
    }
}

/// Marks the bell with the permission as it is (`default`, `granted` or `denied`); the
/// stylesheet shows each.
#[cfg(feature = "hydrate")]
fn show_permission() {
    let permission = match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => "granted",
        web_sys::NotificationPermission::Denied => "denied",
        _ => "default",
    };
    if let Ok(Some(bell)) = document().query_selector("[data-action=notify]") {
        let _ = bell.set_attribute("data-permission", permission);
    }
}

#[cfg(feature = "hydrate")]
fn ask_permission() {
    if let Ok(asked) = web_sys::Notification::request_permission() {
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
            show_permission();
        });
    }
}

/// Copies the text of the code block or message the button belongs to, and says so on the
/// button (`data-copied`).
#[cfg(feature = "hydrate")]
fn copy(button: &web_sys::Element) {
    // A code block's button sits in the block's box, a reply's at the start of the reply; the
    // buttons have no text of their own.
    let parent = button.parent_element();
    let source = if button.get_attribute("data-copy").as_deref() == Some("code") {
        parent.and_then(|b| b.query_selector("pre").ok().flatten())
    } else {
        parent
    };
    let Some(text) = source.and_then(|s| s.text_content()) else {
        return;
    };
    let written = window().navigator().clipboard().write_text(&text);
    let button = button.clone();
    leptos::task::spawn_local(async move {
        let done = wasm_bindgen_futures::JsFuture::from(written).await.is_ok();
        let _ = button.set_attribute("data-copied", if done { "true" } else { "false" });
    });
}
