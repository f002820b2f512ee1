//! Restart recovery, after the server listens: what a previous process left open (runs still
//! marked running, approvals still waiting, messages stored with no run) is found through indexed
//! queries only, never a read of every session, so a start costs the same on a store of a year's
//! use as on an empty one. The sessions found are then recovered one at a time by a background
//! task; a request that touches a session still waiting recovers that session first, on the spot,
//! and waits for nothing else.
//!
//! This module owns the list of sessions still to recover and the order of one session's
//! recovery (approvals, then runs, then messages left without a run). Closing each thing is
//! `lifecycle`'s and `approvals`' work; this module writes nothing itself.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use app::wire::{Seq, SessionKey};

use crate::gateway::{lock, Gateway, GatewayError};
use crate::ids::RunId;

/// The sessions a start found something left open in, until each is recovered.
pub(in crate::gateway) struct Recovering {
    /// Each session still to recover, with what was found for it. The inner lock is held for
    /// the whole of that session's recovery, so a second caller waits until it is finished.
    pending: Mutex<HashMap<SessionKey, Arc<Mutex<Option<Leftovers>>>>>,
    /// True once nothing is left to recover: every later check returns at once.
    done: watch::Sender<bool>,
}

impl Default for Recovering {
    fn default() -> Recovering {
        Recovering {
            pending: Mutex::default(),
            done: watch::Sender::new(false),
        }
    }
}

/// What a previous process left open in one session.
#[derive(Debug, Default)]
struct Leftovers {
    /// Approval requests nobody answered (oldest first) and the run each belonged to.
    approvals: Vec<(Seq, Option<RunId>)>,
    /// Runs still marked running.
    runs: Vec<RunId>,
    /// The session's newest event is a request.
    ends_in_request: bool,
}

thread_local! {
    /// The session this thread is recovering right now. Recovery's own writes go through the
    /// same `emit` every write does, and must not wait for the recovery they are part of.
    static RECOVERING_HERE: RefCell<Option<SessionKey>> = const { RefCell::new(None) };
}

impl Gateway {
    /// Finds what a previous process left open and notes each session to recover; returns how
    /// many. Every query goes through an index holding only such rows (the store's migration 9),
    /// so this costs the same whatever the store's size.
    pub(in crate::gateway) fn find_leftovers(&self) -> Result<usize, GatewayError> {
        let store = &self.inner.store;
        let mut found: HashMap<SessionKey, Leftovers> = HashMap::new();
        for (key, seq, run) in store.open_approvals()? {
            found.entry(key).or_default().approvals.push((seq, run));
        }
        for (key, run) in store.unfinished_runs()? {
            found.entry(key).or_default().runs.push(run);
        }
        // A session whose newest event is a request: the process may have died between storing
        // it and starting its run. Whether a run answers it is for the session's recovery to read.
        for key in store.sessions_ending_in_a_request()? {
            found.entry(key).or_default().ends_in_request = true;
        }
        let count = found.len();
        let recovering = &self.inner.recovering;
        let mut pending = lock(&recovering.pending);
        for (key, leftovers) in found {
            pending.insert(key, Arc::new(Mutex::new(Some(leftovers))));
        }
        recovering.done.send_replace(pending.is_empty());
        Ok(count)
    }

    /// Recovers every session [`Gateway::find_leftovers`] noted, one after the other, in a task
    /// of the gateway's own (drained on shutdown; what it did not reach is found again at the
    /// next start).
    pub(in crate::gateway) fn recover_in_background(&self) {
        let keys: Vec<SessionKey> = lock(&self.inner.recovering.pending)
            .keys()
            .cloned()
            .collect();
        if keys.is_empty() {
            return;
        }
        tracing::info!(
            sessions = keys.len(),
            "recovering what the previous process left open"
        );
        let gw = self.clone();
        self.spawn(async move {
            for key in keys {
                gw.recovered(&key);
                // A session's recovery is a few store writes; let requests in between them.
                tokio::task::yield_now().await;
            }
            gw.inner.recovering.done.send_replace(true);
        });
    }

    /// Makes sure `key` is recovered before the caller goes on: nothing to do for a session the
    /// start found nothing in (or once everything is recovered), the recovery itself if it has
    /// not begun, or a wait while another thread is doing it.
    pub(in crate::gateway) fn recovered(&self, key: &SessionKey) {
        let recovering = &self.inner.recovering;
        if *recovering.done.borrow() {
            return;
        }
        if RECOVERING_HERE.with(|here| here.borrow().as_ref() == Some(key)) {
            return;
        }
        let Some(cell) = lock(&recovering.pending).get(key).cloned() else {
            return;
        };
        let mut slot = lock(&cell);
        if let Some(leftovers) = slot.take() {
            RECOVERING_HERE.with(|here| *here.borrow_mut() = Some(key.clone()));
            let result = self.recover_session(key, leftovers);
            RECOVERING_HERE.with(|here| *here.borrow_mut() = None);
            if let Err(e) = result {
                // What was not closed is still open in the store: the next start finds it again.
                tracing::error!(session = %key, error = %e, "could not recover a session");
            }
        }
        lock(&recovering.pending).remove(key);
    }

    /// Resolves once every session the start found is recovered.
    #[cfg(test)]
    pub(in crate::gateway) async fn recovery_finished(&self) {
        let mut done = self.inner.recovering.done.subscribe();
        // The sender lives as long as the gateway: an error cannot happen while `self` does.
        let _ = done.wait_for(|done| *done).await;
    }

    /// One session's recovery, in the order a person reads it: approvals that can no longer be
    /// answered expire, runs that cannot be running any more close as interrupted, then messages
    /// no run answered get their notice.
    fn recover_session(&self, key: &SessionKey, leftovers: Leftovers) -> Result<(), GatewayError> {
        for (seq, run) in leftovers.approvals {
            self.expire_left_approval(key, seq, run.as_ref());
        }
        for run_id in &leftovers.runs {
            self.close_left_open_run(key, run_id)?;
        }
        if leftovers.ends_in_request || !leftovers.runs.is_empty() {
            self.notice_unrun_messages(key)?;
        }
        Ok(())
    }
}
