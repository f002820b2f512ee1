//! The transcript's history in the page: the entries no later event can change (see
//! [`crate::history`]), rendered once by the server as HTML the browser keeps, and earlier parts
//! of a long session loaded above them as the reader scrolls up.
//!
//! Each entry is the row the browser would build itself ([`EntryView`], rendered to a string), so
//! the markup, its test contract and its escaping are the views' own: untrusted text is escaped
//! by Leptos here exactly as in a live row. The page's history sits in a `<div>` whose
//! `inner_html` only the server fills (hydration keeps what the server sent, see
//! `attention::server_only`), so its text is in the document once, not again in the hydration
//! payload, and nothing of it is in the wasm. An earlier part is the same HTML from
//! `GET /api/v1/sessions/{key}/history?before=…`: a `<div class="history-part"
//! data-earlier="…">` (laid out as if it were not there) that the page inserts first in that
//! `<div>`; `data-earlier` is where the next part up ends (0: the session's start).

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::state::{ChatState, Flash};

/// The rows of `events` as HTML (server only): every entry the reader sees (private ones only
/// with `show_internals`), up to `upto` when given. Inside the page, each is marked as a search
/// result's entry like any other row (the page's state is in context).
#[cfg(feature = "ssr")]
pub fn entries_html(
    events: &[crate::wire::Event],
    upto: Option<crate::wire::Seq>,
    show_internals: bool,
) -> String {
    use super::entry::EntryView;

    let transcript = crate::transcript::Transcript::from_events(events);
    // Under an owner of its own (an approval card holds a signal), inheriting the page's context.
    Owner::new().with(|| {
        transcript
            .entries()
            .iter()
            .filter(|e| (!e.private || show_internals) && upto.is_none_or(|u| e.seq <= u))
            .map(|entry| view! { <EntryView entry=entry.clone()/> }.to_html())
            .collect()
    })
}

/// The part of history that ends at `before`, as the page inserts it, from the events after
/// `edge` (`before` minus [`crate::wire::HISTORY_PART`]) onwards. Events after `before` may
/// follow: they complete entries of the part (a tool's result after a message queued in the
/// middle of its run), and are not shown themselves.
#[cfg(feature = "ssr")]
pub fn history_part(
    events: &[crate::wire::Event],
    edge: u64,
    before: u64,
    show_internals: bool,
) -> String {
    let (start, earlier) = crate::history::part_start(events, edge, before);
    let rows = entries_html(
        &events[start..],
        Some(crate::wire::Seq(before)),
        show_internals,
    );
    format!(r#"<div class="history-part" data-earlier="{earlier}">{rows}</div>"#)
}

/// What the page knows about the history above it: where the next part up ends (0: nothing is
/// left), whether it is being fetched, and the `<div>` parts go into.
// Only the browser reads where the next part ends.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy)]
pub struct Earlier {
    pub before: StoredValue<u64>,
    pub loading: StoredValue<bool>,
    /// Where the transcript was scrolled to last time, to tell the reader going up from the
    /// page going down (to its end, or to keep a place after a part came in).
    pub top: StoredValue<i32>,
    pub history: NodeRef<leptos::html::Div>,
}

impl Earlier {
    pub fn new(before: u64) -> Earlier {
        Earlier {
            before: StoredValue::new(before),
            loading: StoredValue::new(false),
            top: StoredValue::new(0),
            history: NodeRef::new(),
        }
    }

    /// The transcript scrolled: going up, within a screen of the top, the next part up is
    /// fetched. Only going up: the page scrolling itself to its end is not the reader asking.
    #[cfg(feature = "hydrate")]
    pub fn scrolled(self, state: ChatState, scroller: NodeRef<leptos::html::Section>) {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let top = el.scroll_top();
        let up = top < self.top.get_value();
        self.top.set_value(top);
        if up && top < el.client_height() {
            self.load(state, scroller);
        }
    }

    /// Fetches the next part up and puts it above what is shown, the reader's place kept (the
    /// distance from the transcript's end stays what it was).
    #[cfg(feature = "hydrate")]
    fn load(self, state: ChatState, scroller: NodeRef<leptos::html::Section>) {
        let before = self.before.get_value();
        if before == 0 || self.loading.get_value() {
            return;
        }
        self.loading.set_value(true);
        let key = state.session.get_value();
        let url = format!(
            "/api/v1/sessions/{key}/history?before={before}&internals={}",
            state.show_internals
        );
        leptos::task::spawn_local(async move {
            let part = super::browser::fetch("GET", &url, None, None).await;
            let (Some(el), Some(history)) =
                (scroller.get_untracked(), self.history.get_untracked())
            else {
                return;
            };
            match part {
                Ok(html) => {
                    let from_end = el.scroll_height() - el.scroll_top();
                    let _ = history.insert_adjacent_html("afterbegin", &html);
                    el.set_scroll_top(el.scroll_height() - from_end);
                    let next = history
                        .first_element_child()
                        .and_then(|p| p.get_attribute("data-earlier"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    self.before.set_value(next);
                }
                Err(e) => state.flash.set(Some(Flash::Error(e))),
            }
            self.loading.set_value(false);
        });
    }
}
