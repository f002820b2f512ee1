//! Small browser helpers for the hydrated page (compiled only with `hydrate`).
//!
//! Each wraps one web API and degrades quietly when it is missing: a page that cannot scroll or
//! read a clock must still show and send messages.

use leptos::html::Section;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::SHOW_INTERNALS_COOKIE;

/// How close to the end (in CSS pixels) still counts as "reading the latest".
const NEAR_END_PX: i32 = 80;

/// Milliseconds since the epoch (for heartbeats and backoff only; never rendered).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A uniform random number in `[0, 1)`, for backoff jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// A random RFC 4122 version-4 id for one send.
///
/// `crypto.getRandomValues` rather than `crypto.randomUUID`: the latter exists only in secure
/// contexts, and the server may be reached over plain HTTP on a LAN address.
pub fn new_client_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // No Web Crypto at all: Math.random is weaker but the id only needs to be unique per
        // session, not secret.
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The page's path, e.g. `/sessions/abc` (where the server's router is compiled in too, it reads
/// the path itself).
#[cfg(not(feature = "ssr"))]
pub fn path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default()
}

/// A query parameter of the page's address, decoded as the address bar's `URLSearchParams` does.
pub fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// Whether the browser believes it has a network (`navigator.onLine`); assumes yes if unknown.
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// The WebSocket address: same host, `ws`/`wss` following the page's scheme.
pub fn ws_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

/// Remembers the show-internals choice in its cookie and reloads, so the server renders the new
/// view and hydration starts from the same state.
pub fn set_show_internals(on: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(doc) = window
        .document()
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
    {
        let value = if on { "1" } else { "0" };
        let _ = doc.set_cookie(&format!(
            "{SHOW_INTERNALS_COOKIE}={value}; path=/; SameSite=Strict; max-age=31536000"
        ));
    }
    let _ = window.location().reload();
}

/// Whether the transcript is scrolled to (about) its end.
pub fn near_end(scroller: NodeRef<Section>) -> bool {
    scroller
        .get_untracked()
        .is_none_or(|el| el.scroll_height() - el.scroll_top() - el.client_height() <= NEAR_END_PX)
}

/// Scrolls the transcript to its end once the pending DOM update has been laid out.
pub fn scroll_to_end(scroller: NodeRef<Section>) {
    request_animation_frame(move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    });
}

/// Scrolls the transcript so the entry with sequence number `seq` (or, if that one is hidden, the
/// first entry after it) sits at the top, once the page has been laid out.
pub fn scroll_to_seq(scroller: NodeRef<Section>, seq: u64) {
    request_animation_frame(move || {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let Ok(rows) = el.query_selector_all("[data-seq]") else {
            return;
        };
        for i in 0..rows.length() {
            let Some(row) = rows
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            let at = row
                .get_attribute("data-seq")
                .and_then(|s| s.parse::<u64>().ok());
            if at.is_some_and(|at| at >= seq) {
                row.scroll_into_view();
                return;
            }
        }
    });
}

/// Reads the saved outbox of a session (messages not yet acknowledged when the page was left).
pub fn load_outbox(key: &str) -> Option<String> {
    session_storage()?.get_item(&outbox_key(key)).ok()?
}

/// Saves (or, when empty, forgets) the outbox, so a reload while offline loses nothing.
pub fn save_outbox(key: &str, json: Option<&str>) {
    if let Some(storage) = session_storage() {
        let _ = match json {
            Some(json) => storage.set_item(&outbox_key(key), json),
            None => storage.remove_item(&outbox_key(key)),
        };
    }
}

fn outbox_key(key: &str) -> String {
    format!("cw_outbox:{key}")
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Moves the focus to the newest approval card still waiting for an answer (its answer field for
/// a question, else its `approve` button), once the pending DOM update has been laid out.
pub fn focus_waiting_approval() {
    request_animation_frame(|| {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Ok(cards) = doc.query_selector_all(r#"[data-testid="approval"][data-state="pending"]"#)
        else {
            return;
        };
        let target = cards
            .length()
            .checked_sub(1)
            .and_then(|last| cards.item(last))
            .and_then(|card| card.dyn_into::<web_sys::Element>().ok())
            .and_then(|card| {
                // The field comes first in the card, so a question's answer field wins.
                card.query_selector(r#"[data-testid="answer"],[data-testid="approve"]"#)
                    .ok()
                    .flatten()
            })
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(target) = target {
            let _ = target.focus();
        }
    });
}

/// `method url` with `body` (sent with `content_type`, or as the browser labels a `File`); the
/// answer's text, or the server's reason (`{"error": "…"}`) when it refused.
pub async fn fetch(
    method: &str,
    url: &str,
    body: Option<&wasm_bindgen::JsValue>,
    content_type: Option<&str>,
) -> Result<String, String> {
    use wasm_bindgen_futures::JsFuture;

    let failed = |_| "the request failed".to_owned();
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(body);
    }
    if let Some(content_type) = content_type {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"Content-Type".into(), &content_type.into());
        init.set_headers(&headers);
    }
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
    let body = JsFuture::from(response.text().map_err(failed)?)
        .await
        .map_err(failed)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        Ok(body)
    } else {
        // `{"error": "…"}`: read by the browser's own JSON parser, which costs the wasm nothing.
        let error = js_sys::JSON::parse(&body)
            .and_then(|v| js_sys::Reflect::get(&v, &"error".into()))
            .ok()
            .and_then(|e| e.as_string());
        Err(error.unwrap_or_else(|| format!("refused ({})", response.status())))
    }
}
