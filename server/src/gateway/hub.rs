//! The live event hub: one broadcast channel per session that has listeners.
//!
//! The hub only fans out events that the store has already assigned a sequence number; it never
//! decides order or keeps history. A subscriber that falls behind is told so (`Lagged`) and catches
//! up from the store, so a slow tab can never lose an event or hold others back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::wire::{Event, SessionKey, SessionSummary};
use tokio::sync::broadcast;

/// How many events a subscriber may fall behind before it must catch up from the store.
const CAPACITY: usize = 1024;

/// A session list as published: the list, and its WebSocket frame serialised once for every
/// subscriber (with thousands of open tabs, serialising it per socket was the dominant cost).
#[derive(Debug)]
pub struct SessionsFrame {
    pub sessions: Vec<SessionSummary>,
    /// `ServerFrame::Sessions` as JSON text.
    pub json: String,
}

type SessionList = Arc<SessionsFrame>;

#[derive(Clone, Default)]
pub struct Hub {
    sessions: Arc<Mutex<HashMap<SessionKey, broadcast::Sender<Arc<Event>>>>>,
    list: Arc<Mutex<Option<broadcast::Sender<SessionList>>>>,
}

impl Hub {
    pub fn subscribe(&self, session: &SessionKey) -> broadcast::Receiver<Arc<Event>> {
        let mut map = lock(&self.sessions);
        map.entry(session.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    pub fn publish(&self, session: &SessionKey, event: Arc<Event>) {
        let mut map = lock(&self.sessions);
        if let Some(tx) = map.get(session) {
            if tx.send(event).is_err() {
                // Nobody listens any more; drop the channel so idle sessions cost nothing.
                map.remove(session);
            }
        }
    }

    pub fn subscribe_sessions(&self) -> broadcast::Receiver<SessionList> {
        lock(&self.list)
            .get_or_insert_with(|| broadcast::channel(16).0)
            .subscribe()
    }

    pub fn publish_sessions(&self, sessions: Vec<SessionSummary>) {
        if let Some(tx) = lock(&self.list).as_ref() {
            let frame = app::wire::ServerFrame::Sessions { sessions };
            let json = match serde_json::to_string(&frame) {
                Ok(json) => json,
                Err(e) => {
                    tracing::error!(error = %e, "could not encode the session list");
                    return;
                }
            };
            let app::wire::ServerFrame::Sessions { sessions } = frame else {
                return;
            };
            let _ = tx.send(Arc::new(SessionsFrame { sessions, json }));
        }
    }
}

/// The hub's maps hold no invariants a panic could break halfway, so a poisoned lock is still fine
/// to use.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
