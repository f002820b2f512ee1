//! A page's history and its live part: which of the page's events the browser must hold to keep
//! the page current, and which only need to be shown.
//!
//! A long session's page is mostly entries nothing will change again (a finished run's reply,
//! tool cards, ended approvals). The server renders those once, as HTML the browser keeps
//! (`ui::history`), and the hydration payload carries only the *live part*: the events from the
//! first entry a later event can still change (a streaming reply, a running tool, a waiting
//! approval, a send without its outcome) or from the start of a run still in progress. A session
//! at rest has no live part at all. Earlier history comes a part at a time, [`part_start`]
//! deciding where a part begins, as a page's window does: at a message, so no run is cut in half.
//!
//! Pure functions of the events, like the projection they rely on: the split is checked against
//! the projection of the whole (the two halves must make exactly its entries), and when they do
//! not, the page stays all live, as it was before there was a split.

use crate::transcript::{Entry, Transcript};
use crate::wire::{ApprovalState, DeliveryStatus, Event, EventBody, PageData, ToolStatus};

/// Takes the page's events before its live part out of `page.events` and returns them. Called
/// once, on the server, before the page is rendered and its data serialised.
pub fn split(page: &mut PageData) -> Vec<Event> {
    let start = live_start(&page.events);
    let live = page.events.split_off(start);
    std::mem::replace(&mut page.events, live)
}

/// The index of the first event of the live part of `events` (in sequence order):
/// `events.len()` when nothing can change any more, 0 when everything stays live.
pub fn live_start(events: &[Event]) -> usize {
    let whole = Transcript::from_events(events);
    let open = whole
        .entries()
        .iter()
        .filter(|e| is_open(e))
        .map(|e| e.seq)
        .min();
    // Runs still going, from their start: the browser needs their `run_started` (the working
    // indicator, the background label of what they write next).
    let mut running = Vec::new();
    for e in events {
        match &e.body {
            EventBody::RunStarted { run_id, .. } => running.push((run_id.as_str(), e.seq)),
            EventBody::RunFinished { run_id, .. } => running.retain(|(r, _)| r != run_id),
            _ => {}
        }
    }
    let from = open.into_iter().chain(running.iter().map(|r| r.1)).min();
    let start = from.map_or(events.len(), |from| {
        events.partition_point(|e| e.seq < from)
    });
    // Exact by construction: the history projected alone and the live part projected alone must
    // make the whole's entries, one for one; otherwise the page stays all live.
    let (history, live) = events.split_at(start);
    let mut halves = Transcript::from_events(history).entries().to_vec();
    halves.extend_from_slice(Transcript::from_events(live).entries());
    if halves == whole.entries() {
        start
    } else {
        0
    }
}

/// Whether a later event can still change the entry.
fn is_open(e: &Entry) -> bool {
    e.streaming
        || e.tool
            .as_ref()
            .is_some_and(|t| t.status == ToolStatus::Running)
        || e.approval
            .as_ref()
            .is_some_and(|a| a.state == ApprovalState::Pending)
        || e.delivery
            .as_ref()
            .is_some_and(|d| d.status == DeliveryStatus::Sending)
}

/// Where a part of earlier history that ends at `before` begins, given the events after the
/// part's earliest possible start (`before` minus [`crate::wire::HISTORY_PART`]), in order: the
/// index of its first event and the sequence number the part after it (further up) ends at. A
/// part starts at the first message (or background request) inside it, as a page does, or, when
/// it holds none (one very long run), at its earliest start.
pub fn part_start(events: &[Event], edge: u64, before: u64) -> (usize, u64) {
    let request = events
        .iter()
        .take_while(|e| e.seq.0 <= before)
        .position(|e| {
            matches!(
                e.body,
                EventBody::UserMessage { .. } | EventBody::BackgroundRequest { .. }
            )
        });
    match request {
        Some(i) => (i, events[i].seq.0 - 1),
        None => (0, edge),
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
