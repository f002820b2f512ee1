//! The transcript's event log: appending (gap-free per-session sequence numbers, idempotency
//! keys) and reading back (by range, by key), with the decoding that stands a placeholder in for
//! a row that no longer decodes.
//!
//! Part of the store: it uses the store's connection and helpers, and must not know what the
//! events mean beyond the record's `kind` (which the page window's query reads).

use app::wire::{NoticeLevel, Seq, SessionKey};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::record::{self, Record, RecordBody};
use super::{
    select_last_seq, seq_from_sql, seq_to_sql, sql_limit, unknown, Store, StoreError,
    UNREADABLE_EVENT_TEXT,
};
use crate::ids::RunId;

/// An event to append; the store assigns its sequence number.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    pub run: Option<&'a RunId>,
    pub private: bool,
    pub body: &'a RecordBody,
    /// A globally unique key that makes the append idempotent (a browser's send id, a tool call
    /// id). Appending with a key that is already stored returns the stored event instead.
    pub idem_key: Option<&'a str>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// What [`Store::append`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Appended {
    /// A new event was written.
    Inserted(Record),
    /// The idempotency key was already stored; this is the event stored with it then, which may
    /// belong to another session (keys are global) and may differ from what was just offered.
    Existing(Record),
}

impl Appended {
    pub fn event(&self) -> &Record {
        match self {
            Appended::Inserted(e) | Appended::Existing(e) => e,
        }
    }

    pub fn into_event(self) -> Record {
        match self {
            Appended::Inserted(e) | Appended::Existing(e) => e,
        }
    }
}

/// The kinds of event a run answers (a typed message, a background request): where a page may
/// start, and what a session left last by a process that died before its run.
const REQUEST_KINDS: [&str; 2] = ["user_message", "background_request"];

impl Store {
    /// Sessions whose newest event is a request (see [`REQUEST_KINDS`]), through the partial
    /// index of migration 9: as many rows as there are such sessions, whatever the store's size.
    pub fn sessions_ending_in_a_request(&self) -> Result<Vec<SessionKey>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT key FROM sessions INDEXED BY sessions_ending_in_a_request
             WHERE last_is_request = 1",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let raw = row?;
            match SessionKey::parse(&raw) {
                Ok(key) => out.push(key),
                Err(e) => tracing::warn!(key = %raw, error = %e,
                    "skipping a stored session with an invalid key"),
            }
        }
        Ok(out)
    }

    /// The first event after `after` that starts a run's worth of transcript (a user message or a
    /// background request), if any: where a page of recent history may begin without cutting a
    /// run in half.
    pub fn first_request_after(
        &self,
        session: &SessionKey,
        after: Seq,
    ) -> Result<Option<Seq>, StoreError> {
        let found: Option<i64> = self
            .lock()
            .prepare_cached(
                "SELECT MIN(seq) FROM events WHERE session_key = ?1 AND seq > ?2
                 AND kind IN ('user_message', 'background_request')",
            )?
            .query_row(params![session.as_str(), seq_to_sql(after)], |r| r.get(0))?;
        found.map(|s| seq_from_sql(s).map(Seq)).transpose()
    }

    /// Appends one event in one transaction.
    ///
    /// If `idem_key` is already stored, nothing is written and the event stored with that key is
    /// returned as [`Appended::Existing`], whichever session it belongs to (keys are global).
    /// Otherwise the event gets `seq = last_seq + 1` of its session, and the session's `last_seq`
    /// and `updated_ms` move with it. The returned event is exactly what a later read returns.
    pub fn append(&self, session: &SessionKey, ev: NewEvent<'_>) -> Result<Appended, StoreError> {
        // Encode before taking the lock: it is the only part of an append that is not I/O.
        let payload = record::encode(ev.body)
            .map_err(|e| StoreError::Corrupt(format!("event body does not encode: {e}")))?;

        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front, so the read of `last_seq` and the insert that
        // depends on it cannot interleave with another writer, even one in another process.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(idem_key) = ev.idem_key {
            if let Some((_, existing)) = select_by_idem_key(&tx, idem_key)? {
                // Nothing was written; dropping `tx` just ends the read.
                return Ok(Appended::Existing(existing));
            }
        }
        let last: i64 = tx
            .prepare_cached("SELECT last_seq FROM sessions WHERE key = ?1")?
            .query_row(params![session.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| unknown(session))?;
        let seq = last
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt(format!("session {session} has no seq left")))?;
        tx.prepare_cached(
            "INSERT INTO events
                 (session_key, seq, at_ms, run_id, kind, private, payload, idem_key, format)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            session.as_str(),
            seq,
            ev.at_ms,
            ev.run.map(RunId::as_str),
            ev.body.kind(),
            ev.private,
            payload,
            ev.idem_key,
            record::RECORD_FORMAT
        ])?;
        super::search::index(
            &tx,
            session,
            seq,
            tx.last_insert_rowid(),
            ev.private,
            ev.body,
        )?;
        // Whether the session now ends in a request is what a start's recovery looks up
        // (migration 9): kept here, in the append's own transaction, so it is never stale.
        tx.prepare_cached(
            "UPDATE sessions SET last_seq = ?2, updated_ms = MAX(updated_ms, ?3),
                                 last_is_request = ?4
             WHERE key = ?1",
        )?
        .execute(params![
            session.as_str(),
            seq,
            ev.at_ms,
            REQUEST_KINDS.contains(&ev.body.kind())
        ])?;
        tx.commit()?;

        Ok(Appended::Inserted(Record {
            seq: Seq(seq_from_sql(seq)?),
            at_ms: ev.at_ms,
            run: ev.run.cloned(),
            private: ev.private,
            body: ev.body.clone(),
        }))
    }

    /// Approval requests that never ended (no event under their end key,
    /// [`approval_end_key`]): what a previous process left waiting. Oldest first.
    pub fn open_approvals(&self) -> Result<Vec<(SessionKey, Seq, Option<RunId>)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT e.session_key, e.seq, e.run_id FROM events e INDEXED BY events_approval_requests
             WHERE e.kind = 'approval_requested'
               AND NOT EXISTS (SELECT 1 FROM events x
                               WHERE x.idem_key = 'approval-end:' || e.session_key || ':' || e.seq)
             ORDER BY e.at_ms, e.seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, seq, run) = row?;
            let key = SessionKey::parse(&key)
                .map_err(|e| StoreError::Corrupt(format!("stored session key {key:?}: {e}")))?;
            out.push((key, Seq(seq_from_sql(seq)?), run.map(RunId::from)));
        }
        Ok(out)
    }

    /// The event stored with `idem_key`, and its session.
    pub fn by_idem_key(&self, idem_key: &str) -> Result<Option<(SessionKey, Record)>, StoreError> {
        select_by_idem_key(&self.lock(), idem_key)
    }

    /// Up to `limit` events of `session` with `seq > after`, in ascending order; private events
    /// only when `include_private`.
    pub fn events_after(
        &self,
        session: &SessionKey,
        after: Seq,
        limit: usize,
        include_private: bool,
    ) -> Result<Vec<Record>, StoreError> {
        let conn = self.lock();
        // Checked first so that an unknown session is an error, not an empty transcript.
        select_last_seq(&conn, session)?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, at_ms, run_id, private, payload, format FROM events
             WHERE session_key = ?1 AND seq > ?2 AND (?3 OR private = 0)
             ORDER BY seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                session.as_str(),
                seq_to_sql(after),
                include_private,
                sql_limit(limit)
            ],
            RawEvent::from_row,
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.decode(session.as_str())?);
        }
        Ok(out)
    }

    /// The sequence number of the session's newest event (`Seq::ZERO` when it has none).
    pub fn last_seq(&self, session: &SessionKey) -> Result<Seq, StoreError> {
        select_last_seq(&self.lock(), session)
    }
}

fn select_by_idem_key(
    conn: &Connection,
    idem_key: &str,
) -> Result<Option<(SessionKey, Record)>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT session_key, seq, at_ms, run_id, private, payload, format
             FROM events WHERE idem_key = ?1",
        )?
        .query_row(params![idem_key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                RawEvent {
                    seq: r.get(1)?,
                    at_ms: r.get(2)?,
                    run_id: r.get(3)?,
                    private: r.get(4)?,
                    payload: r.get(5)?,
                    format: r.get(6)?,
                },
            ))
        })
        .optional()?;
    let Some((raw_key, raw)) = found else {
        return Ok(None);
    };
    let key = SessionKey::parse(&raw_key).map_err(|e| {
        StoreError::Corrupt(format!("event with idempotency key {idem_key:?}: {e}"))
    })?;
    let event = raw.decode(&raw_key)?;
    Ok(Some((key, event)))
}

/// One `events` row as stored, before its payload is decoded.
struct RawEvent {
    seq: i64,
    at_ms: i64,
    run_id: Option<String>,
    private: bool,
    payload: String,
    format: i64,
}

impl RawEvent {
    /// Reads the columns `seq, at_ms, run_id, private, payload, format`, in that order.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
        Ok(RawEvent {
            seq: r.get(0)?,
            at_ms: r.get(1)?,
            run_id: r.get(2)?,
            private: r.get(3)?,
            payload: r.get(4)?,
            format: r.get(5)?,
        })
    }

    /// Decodes the payload, standing in the placeholder notice when it cannot be (see the module
    /// documentation for why).
    fn decode(self, session: &str) -> Result<Record, StoreError> {
        let seq = seq_from_sql(self.seq)?;
        let body = match record::decode(self.format, &self.payload) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(session = %session, seq, error = %e,
                    "stored transcript event does not decode; showing a placeholder");
                RecordBody::Notice {
                    level: NoticeLevel::Error,
                    text: UNREADABLE_EVENT_TEXT.to_owned(),
                    about: None,
                }
            }
        };
        Ok(Record {
            seq: Seq(seq),
            at_ms: self.at_ms,
            run: self.run_id.map(RunId::from),
            private: self.private,
            body,
        })
    }
}

/// The idempotency key of approval `seq`'s end event: one end per approval, however many
/// answers race, and what [`Store::open_approvals`] looks for.
pub fn approval_end_key(session: &SessionKey, seq: Seq) -> String {
    format!("approval-end:{session}:{seq}")
}
