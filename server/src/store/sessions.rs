//! The session list's rows: creating sessions and reading them back as `SessionSummary`s (one
//! column list and one row mapping for both), and the settings a session carries (title, mode,
//! workspace, model, usage, last route).
//!
//! Part of the store: it uses the store's connection and helpers, and knows nothing of events.

use std::sync::PoisonError;

use app::wire::{ContextUsage, Mode, SessionKey, SessionSummary};
use rusqlite::{params, Connection, OptionalExtension};

use super::{sql_count, sql_limit, unknown, LastRoute, Store, StoreError};

impl Store {
    /// Creates a session in the default mode, or returns the existing one unchanged.
    pub fn create_session(
        &self,
        key: &SessionKey,
        title: &str,
        now_ms: i64,
    ) -> Result<SessionSummary, StoreError> {
        self.create_session_in(key, title, Mode::default(), now_ms)
    }

    /// Creates a session in `mode`, or returns the existing one unchanged (title, mode and times
    /// included).
    pub fn create_session_in(
        &self,
        key: &SessionKey,
        title: &str,
        mode: Mode,
        now_ms: i64,
    ) -> Result<SessionSummary, StoreError> {
        let workspace = self
            .default_workspace
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        self.create_session_with(key, title, mode, &workspace, now_ms)
    }

    /// Creates a session in `mode` working in the workspace named `workspace` (a configured
    /// name, checked by the caller), or returns the existing one unchanged.
    pub fn create_session_with(
        &self,
        key: &SessionKey,
        title: &str,
        mode: Mode,
        workspace: &str,
        now_ms: i64,
    ) -> Result<SessionSummary, StoreError> {
        let conn = self.lock();
        conn.prepare_cached(
            "INSERT INTO sessions (key, title, created_ms, updated_ms, last_seq, mode, workspace)
             VALUES (?1, ?2, ?3, ?3, 0, ?4, ?5)
             ON CONFLICT (key) DO NOTHING",
        )?
        .execute(params![
            key.as_str(),
            title,
            now_ms,
            mode.as_str(),
            workspace
        ])?;
        select_session(&conn, key)?.ok_or_else(|| unknown(key))
    }

    /// Makes `name` the workspace of new sessions created without one, and of every session
    /// stored before sessions had a workspace (their threads ran in the one folder there was,
    /// which the configuration's default stands for). Returns how many sessions it adopted.
    pub fn adopt_workspace(&self, name: &str) -> Result<usize, StoreError> {
        *self
            .default_workspace
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = name.to_owned();
        let adopted = self
            .lock()
            .prepare_cached(
                "UPDATE sessions INDEXED BY sessions_without_workspace SET workspace = ?1
                 WHERE workspace IS NULL",
            )?
            .execute(params![name])?;
        Ok(adopted)
    }

    /// Sets the model and reasoning effort a session's next turn asks for (`None`: Codex's
    /// default). Not an update for the session list's order.
    pub fn set_model(
        &self,
        key: &SessionKey,
        model: Option<&str>,
        effort: Option<&str>,
    ) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached("UPDATE sessions SET model = ?2, effort = ?3 WHERE key = ?1")?
            .execute(params![key.as_str(), model, effort])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    /// Changes a session's permission mode (the next turn runs with it). Not an update for the
    /// session list's order.
    pub fn set_mode(&self, key: &SessionKey, mode: Mode) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached("UPDATE sessions SET mode = ?2 WHERE key = ?1")?
            .execute(params![key.as_str(), mode.as_str()])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    /// Keeps the session's context usage as Codex last reported it. Not an update for the
    /// session list's order.
    pub fn set_usage(&self, key: &SessionKey, usage: ContextUsage) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE sessions SET usage_tokens = ?2, usage_window = ?3, usage_total = ?4
                 WHERE key = ?1",
            )?
            .execute(params![
                key.as_str(),
                sql_count(usage.tokens),
                usage.window.map(sql_count),
                sql_count(usage.total)
            ])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    pub fn session(&self, key: &SessionKey) -> Result<Option<SessionSummary>, StoreError> {
        select_session(&self.lock(), key)
    }

    /// The sessions, most recently updated first (archived ones too: clients list those
    /// apart). A row whose key no longer parses (a hand-edited row) is left out, so every other
    /// session stays reachable.
    pub fn list_sessions(&self, limit: usize) -> Result<Vec<SessionSummary>, StoreError> {
        self.list_sessions_from(0, limit)
    }

    /// [`Store::list_sessions`] after skipping the `offset` most recent: a page of the whole
    /// list (the all-sessions page; the skipped rows are walked in the index, so a deep page
    /// costs more, and only that page).
    pub fn list_sessions_from(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT key, {SUMMARY_COLUMNS} FROM sessions
             ORDER BY updated_ms DESC, rowid DESC LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = stmt.query_map(params![sql_limit(limit), sql_limit(offset)], |r| {
            let raw: String = r.get(0)?;
            Ok(SessionKey::parse(&raw)
                .map_err(|e| (raw, e.to_string()))
                .map(|key| summary_of(key, r)))
        })?;
        let mut out = Vec::new();
        for row in rows {
            match row? {
                Ok(summary) => out.push(summary?),
                Err((raw, e)) => tracing::warn!(key = %raw, error = %e,
                    "skipping a stored session with an invalid key"),
            }
        }
        Ok(out)
    }

    /// Renames a session; it counts as an update for the session list's order.
    pub fn set_title(&self, key: &SessionKey, title: &str, now_ms: i64) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE sessions SET title = ?2, updated_ms = MAX(updated_ms, ?3) WHERE key = ?1",
            )?
            .execute(params![key.as_str(), title, now_ms])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    /// Remembers the last external channel and target the session delivered to. It does not
    /// count as an update for the session list's order (nobody typed anything).
    pub fn set_last_route(
        &self,
        key: &SessionKey,
        route: &LastRoute,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE sessions SET last_channel = ?2, last_target = ?3, last_channel_ms = ?4
                 WHERE key = ?1",
            )?
            .execute(params![key.as_str(), route.channel, route.target, now_ms])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    /// The session's last external route, if it has delivered anywhere yet.
    pub fn last_route(&self, key: &SessionKey) -> Result<Option<LastRoute>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .lock()
            .prepare_cached("SELECT last_channel, last_target FROM sessions WHERE key = ?1")?
            .query_row(params![key.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match row {
            None => Err(unknown(key)),
            Some((Some(channel), Some(target))) => Ok(Some(LastRoute { channel, target })),
            Some(_) => Ok(None),
        }
    }
}

/// A stored mode name as a [`Mode`]. Only this build's names are ever written; anything else is
/// a hand-edited row, read as the mode that confines and asks (`read-only` would refuse work the
/// person chose, `full-access` would run it unconfined).
fn stored_mode(raw: String) -> Mode {
    Mode::parse(&raw).unwrap_or_else(|| {
        tracing::warn!(mode = %raw, "reading an unknown stored mode as auto");
        Mode::Auto
    })
}

/// `channel:target` for the session list, when both are set.
fn route_label(channel: Option<String>, target: Option<String>) -> Option<String> {
    Some(format!("{}:{}", channel?, target?))
}

/// The stored context usage, once Codex has reported one (a negative count, which only a
/// hand-edited row could hold, reads as none).
fn stored_usage(
    tokens: Option<i64>,
    window: Option<i64>,
    total: Option<i64>,
) -> Option<ContextUsage> {
    Some(ContextUsage {
        tokens: u64::try_from(tokens?).ok()?,
        window: window.and_then(|w| u64::try_from(w).ok()),
        total: u64::try_from(total?).ok()?,
    })
}

/// The columns [`summary_of`] reads, after the key (column 0).
const SUMMARY_COLUMNS: &str = "title, updated_ms, last_channel, last_target, mode,
    COALESCE(workspace, ''), model, effort, usage_tokens, usage_window, usage_total, archived_ms";

/// One row of `SELECT key, {SUMMARY_COLUMNS}` as the session list shows it.
fn summary_of(key: SessionKey, r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    Ok(SessionSummary {
        key,
        title: r.get(1)?,
        updated_ms: r.get(2)?,
        last_channel: route_label(r.get(3)?, r.get(4)?),
        mode: stored_mode(r.get(5)?),
        workspace: r.get(6)?,
        model: r.get(7)?,
        effort: r.get(8)?,
        usage: stored_usage(r.get(9)?, r.get(10)?, r.get(11)?),
        archived: r.get::<_, Option<i64>>(12)?.is_some(),
    })
}

pub(super) fn select_session(
    conn: &Connection,
    key: &SessionKey,
) -> Result<Option<SessionSummary>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT key, {SUMMARY_COLUMNS} FROM sessions WHERE key = ?1"
        ))?
        .query_row(params![key.as_str()], |r| summary_of(key.clone(), r))
        .optional()?;
    Ok(found)
}

/// What deleting a session left for its caller to clean up outside the database.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The Codex thread the session was bound to (to archive in Codex).
    pub thread: Option<String>,
    /// Images its messages carried that no other session's do (content ids, to delete).
    pub images: Vec<String>,
}

impl Store {
    /// Puts a session away (`true`) or back. Not an update for the list's order.
    pub fn set_archived(
        &self,
        key: &SessionKey,
        archived: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE sessions SET archived_ms = CASE WHEN ?2 THEN COALESCE(archived_ms, ?3)
                 END WHERE key = ?1",
            )?
            .execute(params![key.as_str(), archived, now_ms])?;
        if changed == 0 {
            return Err(unknown(key));
        }
        Ok(())
    }

    /// Deletes a session and everything stored of it (its transcript, search rows, thread
    /// binding and runs) in one transaction.
    pub fn delete_session(&self, key: &SessionKey) -> Result<Deleted, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if super::sessions::select_session(&tx, key)?.is_none() {
            return Err(unknown(key));
        }
        let thread: Option<String> = tx
            .prepare_cached("SELECT thread_id FROM thread_bindings WHERE session_key = ?1")?
            .query_row(params![key.as_str()], |r| r.get(0))
            .optional()?;
        let images: Vec<String> = tx
            .prepare_cached(
                "SELECT DISTINCT json_extract(i.value, '$.id')
                 FROM events e, json_each(e.payload, '$.images') i
                 WHERE e.session_key = ?1 AND e.kind = 'user_message'",
            )?
            .query_map(params![key.as_str()], |r| r.get::<_, Option<String>>(0))?
            .filter_map(|r| r.transpose())
            .collect::<Result<_, _>>()?;
        for sql in [
            "DELETE FROM search WHERE rowid IN (SELECT rowid FROM events WHERE session_key = ?1)",
            "DELETE FROM events WHERE session_key = ?1",
            "DELETE FROM thread_bindings WHERE session_key = ?1",
            "DELETE FROM runs WHERE session_key = ?1",
            "DELETE FROM sessions WHERE key = ?1",
        ] {
            tx.prepare_cached(sql)?.execute(params![key.as_str()])?;
        }
        // Images are stored once per content: keep one another session still shows.
        let mut only_here = Vec::new();
        for id in images {
            let elsewhere: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM events
                     WHERE kind = 'user_message' AND instr(payload, ?1) > 0)",
                )?
                .query_row(params![id], |r| r.get(0))?;
            if !elsewhere {
                only_here.push(id);
            }
        }
        tx.commit()?;
        Ok(Deleted {
            thread,
            images: only_here,
        })
    }
}
