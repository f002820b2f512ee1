//! `GET /api/v1/sessions/{key}/history?before=N[&internals=true]`: the part of a session's
//! history that ends at event `N`, as the HTML the chat page inserts above what it shows when the
//! reader scrolls up (`app::history_part`: the transcript's own rows, escaped by its views, in a
//! `<div class="history-part" data-earlier="M">`; `M` is where the next part up ends, 0 at the
//! session's start).
//!
//! A part covers at most `HISTORY_PART` events and starts at its first message, as a page does.
//! The events after `N` are read too, as many again: an entry of the part that a later event
//! completed (a tool's result after a message queued in the middle of its run) is shown as it
//! ended, as a page that held both would show it.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::error::ApiError;
use super::{parse_key, AppState};
use app::wire::{Seq, HISTORY_PART};

#[derive(Deserialize)]
pub struct HistoryQuery {
    /// The last event of the part: the page's first shown event is the one after it.
    before: u64,
    /// Private entries too, as with "show internals".
    #[serde(default)]
    internals: bool,
}

pub async fn part(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Html<String>, ApiError> {
    let key = parse_key(&key)?;
    let edge = q.before.saturating_sub(HISTORY_PART);
    let span = usize::try_from(q.before - edge + HISTORY_PART).unwrap_or(usize::MAX);
    let events = s.gateway.events_after(&key, Seq(edge), span)?;
    Ok(Html(app::history_part(
        &events,
        edge,
        q.before,
        q.internals,
    )))
}
