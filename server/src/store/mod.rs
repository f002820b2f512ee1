//! The SQLite store: sessions, the transcript as an append-only event log with a gap-free
//! per-session sequence number, idempotency keys, Codex thread bindings and run bookkeeping.
//!
//! This is the only module that writes SQL, and its interface is deliberately narrow and
//! synchronous so that a PostgreSQL store for several gateway nodes can later sit behind the same
//! methods. One connection lives behind a `std::sync::Mutex`, held for exactly one call; every
//! call is short (a handful of indexed statements), so async callers may call it directly or via
//! `spawn_blocking` as their latency budget requires. The database runs in WAL mode with
//! `synchronous=NORMAL`: a committed event survives a killed server; only an OS crash or power cut
//! can lose the last few commits, and never corrupts the file. Checkpoints (copying the WAL into
//! the database, with an fsync) run on a background thread with a connection of its own, never
//! inside an append: done inline they put milliseconds on every thousandth live event.
//!
//! It must not know about runs' state machines, delivery rules or rendering: it stores and returns
//! what it is given, as its own [`Record`] type (`record.rs`), never as what a client is sent.
//! One exception, about keeping the log trustworthy: a stored payload that no longer decodes (a
//! hand-edited row, or a record written by a newer build in a format this one does not know) is
//! read back as an error [`RecordBody::Notice`] saying "unreadable transcript event", with its
//! sequence number, time, run and privacy intact, and a warning is logged. Failing the whole read
//! instead would hide every other event of the session behind one bad row, and skipping it
//! silently would make the transcript look complete when it is not.

mod events;
mod migrations;
pub mod record;
mod search;
#[cfg(test)]
mod search_tests;
mod sessions;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use app::wire::{Seq, SessionKey};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::ids::{RunId, ThreadId};

pub use events::{approval_end_key, Appended, NewEvent};
use migrations::{MIGRATIONS, SEARCH_INDEX_VERSION};
pub use record::{NoticeAbout, Record, RecordBody};
pub use sessions::Deleted;

/// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
/// Within one process the mutex already serialises access; this covers a second process (an
/// operator's `sqlite3` shell, a backup) holding the write lock for a moment.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The workspace name sessions get until the gateway says which is the default.
pub const DEFAULT_WORKSPACE: &str = "workspace";

/// The text of the placeholder that stands in for an event whose payload cannot be decoded.
pub const UNREADABLE_EVENT_TEXT: &str = "unreadable transcript event";

/// The values `runs.status` may take (enforced by a `CHECK` constraint in the schema).
pub mod run_status {
    pub const RUNNING: &str = "running";
    pub const COMPLETED: &str = "completed";
    pub const INTERRUPTED: &str = "interrupted";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The session key names no session. Carries the key.
    #[error("unknown session: {0}")]
    UnknownSession(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data this build cannot use (a schema from a newer build, an impossible value).
    #[error("store data is not usable: {0}")]
    Corrupt(String),
    #[error("store file error: {0}")]
    Io(String),
}

/// An external channel and target, as a session last delivered to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRoute {
    pub channel: String,
    pub target: String,
}

/// A session's Codex thread and what it was started with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadBinding {
    pub thread_id: ThreadId,
    /// The hook relay generation registered with the thread; `None` when written without one.
    pub relay_generation: Option<String>,
    pub tools_fingerprint: String,
    pub config_fingerprint: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The workspace path the thread was started in (`None`: a binding from before it was
    /// stored). A binding whose workspace has moved since is not resumed.
    pub workspace_path: Option<String>,
}

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// WAL frames beyond which the checkpointer also truncates the WAL (~64 MiB of 4 KiB pages). A
/// passive checkpoint never restarts the WAL while appends keep coming, and each append writes
/// several pages (the search index's among them), so a busy store's WAL would grow without end:
/// 100,000 appends in a row left a 5 GB WAL before this.
const WAL_TRUNCATE_FRAMES: i64 = 16_384;

/// A handle to the database. Cheap to clone; all clones share one connection.
#[derive(Clone, Debug)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The workspace name new sessions get when none is given ([`Store::adopt_workspace`]).
    default_workspace: Arc<Mutex<String>>,
    /// File-backed stores only; stops when the last clone is dropped.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// The thread that checkpoints the WAL, owned by the store. Dropping it stops the thread.
#[derive(Debug)]
struct Checkpointer {
    /// Asks for a checkpoint now and gets its `(wal frames, frames checkpointed)`; dropping the
    /// sender stops the thread.
    requests: Option<std::sync::mpsc::Sender<std::sync::mpsc::Sender<(i64, i64)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (requests, incoming) =
            std::sync::mpsc::channel::<std::sync::mpsc::Sender<(i64, i64)>>();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".to_owned())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                loop {
                    // Every interval, or when asked; a dropped sender (the store is gone) ends it.
                    let reply = match incoming.recv_timeout(CHECKPOINT_EVERY) {
                        Ok(reply) => Some(reply),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    };
                    // PASSIVE never waits for readers or the writer; what it cannot copy now it
                    // copies next time.
                    let mut done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    });
                    // A long WAL: wait for the writer (bounded by the busy timeout) and start it
                    // over, so the file stays small however busy the store is.
                    if matches!(done, Ok((frames, _)) if frames > WAL_TRUNCATE_FRAMES) {
                        done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                        });
                    }
                    match (done, reply) {
                        (Ok(frames), Some(reply)) => {
                            let _ = reply.send(frames);
                        }
                        (Ok(_), None) => {}
                        (Err(e), _) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                    }
                }
            })
            .map_err(|e| StoreError::Io(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            requests: Some(requests),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and its parent directory, switches it to
    /// WAL mode and applies any migrations it has not had yet.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Io(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        let conn = Connection::open(path)?;
        let mut store = Self::init(conn, true)?;
        store._checkpointer = Some(Arc::new(Checkpointer::start(path)?));
        Ok(store)
    }

    /// A private, empty database that disappears when the last clone is dropped (tests, tools).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(mut conn: Connection, file_backed: bool) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if file_backed {
            // The pragma answers with the mode actually in effect; some file systems (network
            // mounts) cannot do WAL. The store still works in rollback-journal mode, only with
            // readers and the writer blocking each other, so say so rather than refuse to start.
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode = %mode, "SQLite did not switch to WAL mode; continuing");
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        if file_backed {
            // The background checkpointer does this work (see the module docs).
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            default_workspace: Arc::new(Mutex::new(DEFAULT_WORKSPACE.to_owned())),
            _checkpointer: None,
        })
    }

    /// Takes the connection for one call.
    ///
    /// A poisoned mutex is recovered rather than propagated: the only state behind it is the
    /// connection, and a panic while it was held unwound through `Transaction`'s drop, which rolls
    /// back, so the connection is consistent and the next caller can use it.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn binding(&self, session: &SessionKey) -> Result<Option<ThreadBinding>, StoreError> {
        let conn = self.lock();
        let binding = conn
            .prepare_cached(
                "SELECT thread_id, relay_generation, tools_fingerprint, config_fingerprint,
                        created_ms, updated_ms, workspace_path
                 FROM thread_bindings WHERE session_key = ?1",
            )?
            .query_row(params![session.as_str()], |r| {
                Ok(ThreadBinding {
                    thread_id: ThreadId::from(r.get::<_, String>(0)?),
                    relay_generation: r.get(1)?,
                    tools_fingerprint: r.get(2)?,
                    config_fingerprint: r.get(3)?,
                    created_ms: r.get(4)?,
                    updated_ms: r.get(5)?,
                    workspace_path: r.get(6)?,
                })
            })
            .optional()?;
        Ok(binding)
    }

    /// Writes the session's binding, replacing any previous one field by field as given.
    /// The session each of `threads` is bound to, for those bound to one.
    pub fn sessions_on_threads(
        &self,
        threads: &[&str],
    ) -> Result<Vec<(ThreadId, SessionKey)>, StoreError> {
        let conn = self.lock();
        let mut query = conn.prepare_cached(
            "SELECT session_key FROM thread_bindings WHERE thread_id = ?1 LIMIT 1",
        )?;
        let mut found = Vec::new();
        for thread in threads {
            let key: Option<String> = query.query_row(params![thread], |r| r.get(0)).optional()?;
            if let Some(key) = key.and_then(|k| SessionKey::parse(&k).ok()) {
                found.push((ThreadId::from(thread.to_string()), key));
            }
        }
        Ok(found)
    }

    pub fn put_binding(&self, session: &SessionKey, b: &ThreadBinding) -> Result<(), StoreError> {
        let conn = self.lock();
        // The foreign key would refuse the row too, but as an opaque constraint error.
        select_last_seq(&conn, session)?;
        conn.prepare_cached(
            "INSERT INTO thread_bindings (session_key, thread_id, relay_generation,
                 tools_fingerprint, config_fingerprint, created_ms, updated_ms, workspace_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (session_key) DO UPDATE SET
                 thread_id = excluded.thread_id,
                 relay_generation = excluded.relay_generation,
                 tools_fingerprint = excluded.tools_fingerprint,
                 config_fingerprint = excluded.config_fingerprint,
                 created_ms = excluded.created_ms,
                 updated_ms = excluded.updated_ms,
                 workspace_path = excluded.workspace_path",
        )?
        .execute(params![
            session.as_str(),
            b.thread_id.as_str(),
            b.relay_generation,
            b.tools_fingerprint,
            b.config_fingerprint,
            b.created_ms,
            b.updated_ms,
            b.workspace_path
        ])?;
        Ok(())
    }

    /// Removes the session's binding. Clearing what is not there (or an unknown session) is not
    /// an error: the caller's goal, "no binding", holds either way.
    pub fn clear_binding(&self, session: &SessionKey) -> Result<(), StoreError> {
        self.lock()
            .prepare_cached("DELETE FROM thread_bindings WHERE session_key = ?1")?
            .execute(params![session.as_str()])?;
        Ok(())
    }

    /// Records a run as `running`. Recording the same run id again changes nothing.
    pub fn run_started(
        &self,
        run_id: &RunId,
        session: &SessionKey,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        select_last_seq(&conn, session)?;
        conn.prepare_cached(
            "INSERT INTO runs (run_id, session_key, status, started_ms)
             VALUES (?1, ?2, 'running', ?3)
             ON CONFLICT (run_id) DO NOTHING",
        )?
        .execute(params![run_id.as_str(), session.as_str(), now_ms])?;
        Ok(())
    }

    /// Records how a run ended: `status` is one of `completed`, `interrupted`, `failed` (see
    /// [`run_status`]; anything outside the schema's list is a `Sqlite` constraint error).
    ///
    /// The first ending wins: a run that is no longer `running` (say, closed as interrupted on
    /// startup) keeps its status, and an unknown run id changes nothing. Both are logged, not
    /// errors, because the caller has nothing left to do about either.
    pub fn run_finished(
        &self,
        run_id: &RunId,
        status: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let changed = self
            .lock()
            .prepare_cached(
                "UPDATE runs SET status = ?2, ended_ms = ?3
                 WHERE run_id = ?1 AND status = 'running' AND ?2 <> 'running'",
            )?
            .execute(params![run_id.as_str(), status, now_ms])?;
        if changed == 0 {
            tracing::debug!(run = %run_id, status = %status,
                "run_finished changed nothing (unknown run, already finished, or status running)");
        }
        Ok(())
    }

    /// Runs still marked `running`, oldest first: after a restart, the ones a killed server left.
    pub fn unfinished_runs(&self) -> Result<Vec<(SessionKey, RunId)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT session_key, run_id FROM runs WHERE status = 'running' ORDER BY started_ms",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (raw_key, run_id) = row?;
            match SessionKey::parse(&raw_key) {
                Ok(key) => out.push((key, RunId::from(run_id))),
                Err(e) => tracing::warn!(key = %raw_key, run = %run_id, error = %e,
                    "skipping an unfinished run with an invalid session key"),
            }
        }
        Ok(out)
    }

    /// Folds the write-ahead log back into the database file and truncates it. Not needed for
    /// durability (committed data is already safe); useful on clean shutdown so the data folder
    /// is one self-contained file, and to bound the log's size.
    /// Has the background checkpointer run now; returns `(wal frames, frames checkpointed)`, or
    /// `None` for a store without one (in memory).
    pub fn background_checkpoint(&self) -> Option<(i64, i64)> {
        let requests = self._checkpointer.as_ref()?.requests.as_ref()?;
        let (reply, answer) = std::sync::mpsc::channel();
        requests.send(reply).ok()?;
        answer.recv().ok()
    }

    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Brings the schema up to date in one transaction, so a crash mid-way leaves the old version and
/// two processes opening the same file at once apply each migration exactly once.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len();
    let applied = usize::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {version}")))?;
    if applied > known {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {applied}, newer than this build's {known}; \
             refusing to open it rather than misread it"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.execute_batch(sql)?;
        // `user_version` lives in the database header and is written by this transaction too.
        tx.pragma_update(None, "user_version", index + 1)?;
        if index + 1 == SEARCH_INDEX_VERSION {
            search::backfill(&tx)?;
        }
        tracing::info!(version = index + 1, "applied store migration");
    }
    tx.commit()?;
    Ok(())
}

/// SQLite integers are signed; a count beyond `i64::MAX` is stored as the largest there is.
fn sql_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unknown(key: &SessionKey) -> StoreError {
    StoreError::UnknownSession(key.as_str().to_owned())
}

fn select_last_seq(conn: &Connection, key: &SessionKey) -> Result<Seq, StoreError> {
    let last: i64 = conn
        .prepare_cached("SELECT last_seq FROM sessions WHERE key = ?1")?
        .query_row(params![key.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| unknown(key))?;
    Ok(Seq(seq_from_sql(last)?))
}

fn seq_from_sql(raw: i64) -> Result<u64, StoreError> {
    u64::try_from(raw).map_err(|_| StoreError::Corrupt(format!("negative sequence number {raw}")))
}

/// SQLite integers are signed; a `Seq` beyond `i64::MAX` cannot be stored, so "after" it means
/// "after everything".
fn seq_to_sql(seq: Seq) -> i64 {
    i64::try_from(seq.0).unwrap_or(i64::MAX)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
