//! Finding and organising sessions: search across transcripts, renaming, archiving and
//! deleting. Every change is published with the session list, so every tab and the terminal
//! client follow it live.
//!
//! Deleting is final: the transcript, its search rows and the thread binding go in one store
//! transaction, then the Codex thread is archived (best effort: the session is gone either way)
//! and the images only it used are left for the caller to remove (the web edge owns the image
//! folder). A session with a run in progress is not deleted: it must be stopped first.

use app::wire::{SearchHit, SessionKey, SessionSummary};
use serde_json::json;

use super::{lock, now_ms, Gateway, GatewayError};
use crate::store::StoreError;

/// Longest title a person may give, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest search, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Most hits one search returns.
pub const SEARCH_LIMIT: usize = 50;

fn known(e: StoreError) -> GatewayError {
    match e {
        StoreError::UnknownSession(_) => GatewayError::UnknownSession,
        other => other.into(),
    }
}

/// A title as given, on one line; an error a person can act on when it cannot be one.
pub fn check_title(title: &str) -> Result<String, GatewayError> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Err(GatewayError::BadInput("A title cannot be empty.".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(GatewayError::BadInput(format!(
            "A title has at most {MAX_TITLE_CHARS} characters."
        )));
    }
    if title.chars().any(char::is_control) {
        return Err(GatewayError::BadInput(
            "A title cannot hold control characters.".into(),
        ));
    }
    Ok(title)
}

impl Gateway {
    /// The entries matching `terms` in every session, best first; private ones only with
    /// `internals`.
    pub fn search(&self, terms: &str, internals: bool) -> Result<Vec<SearchHit>, GatewayError> {
        if terms.chars().count() > MAX_SEARCH_CHARS {
            return Err(GatewayError::BadInput(format!(
                "A search has at most {MAX_SEARCH_CHARS} characters."
            )));
        }
        Ok(self.inner.store.search(terms, internals, SEARCH_LIMIT)?)
    }

    /// Gives the session a title of the person's choosing.
    pub fn rename(&self, key: &SessionKey, title: &str) -> Result<SessionSummary, GatewayError> {
        let title = check_title(title)?;
        self.session(key)?;
        self.inner
            .store
            .set_title(key, &title, now_ms())
            .map_err(known)?;
        tracing::info!(session = %key, "session renamed");
        self.publish_session_list();
        self.session(key)
    }

    /// Puts the session away (`true`) or back.
    pub fn set_archived(
        &self,
        key: &SessionKey,
        archived: bool,
    ) -> Result<SessionSummary, GatewayError> {
        self.inner
            .store
            .set_archived(key, archived, now_ms())
            .map_err(known)?;
        tracing::info!(session = %key, archived, "session archive state changed");
        self.publish_session_list();
        self.session(key)
    }

    /// Deletes the session and all it stored; returns the ids of the images only it used.
    pub async fn delete_session(&self, key: &SessionKey) -> Result<Vec<String>, GatewayError> {
        if lock(&self.inner.runs).active_mut(key).is_some() {
            return Err(GatewayError::BadInput(
                "This session is running; stop it before deleting it.".into(),
            ));
        }
        let deleted = self.inner.store.delete_session(key).map_err(known)?;
        lock(&self.inner.slots).remove(key);
        tracing::info!(session = %key, "session deleted");
        self.publish_session_list();
        if let Some(thread) = deleted.thread {
            let archived = self
                .inner
                .codex
                .request("thread/archive", json!({ "threadId": thread }))
                .await;
            if let Err(e) = archived {
                tracing::info!(session = %key, %thread, error = %e,
                    "could not archive the deleted session's Codex thread");
            }
        }
        Ok(deleted.images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_trimmed_line_of_bounded_length() {
        assert_eq!(check_title("  My \n chat\t ").unwrap(), "My chat");
        assert!(check_title(" \n ").is_err());
        assert!(check_title(&"x".repeat(MAX_TITLE_CHARS + 1)).is_err());
        assert!(check_title(&"é".repeat(MAX_TITLE_CHARS)).is_ok());
        assert!(check_title("bell\u{7}").is_err());
    }
}
