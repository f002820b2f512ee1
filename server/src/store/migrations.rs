//! The schema, as an append-only list of migrations.
//!
//! Migration `i` (0-based) takes a database from `PRAGMA user_version = i` to `i + 1`. Entries are
//! never edited or reordered once released, only appended: a database written by an older build
//! must reach the current schema by running exactly the entries it has not seen.

/// Every migration, oldest first. The database's `user_version` is how many of these it has had.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE sessions (
        key         TEXT PRIMARY KEY NOT NULL,
        title       TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL DEFAULT 0
    );
    -- The session list is "most recently updated first"; rowid breaks ties (newest first).
    CREATE INDEX sessions_by_updated ON sessions(updated_ms);

    CREATE TABLE events (
        session_key TEXT NOT NULL REFERENCES sessions(key),
        seq         INTEGER NOT NULL,
        at_ms       INTEGER NOT NULL,
        run_id      TEXT,
        kind        TEXT NOT NULL,          -- the body's "type", for queries and diagnostics
        private     INTEGER NOT NULL,
        payload     TEXT NOT NULL,          -- JSON of app::wire::EventBody; authoritative
        idem_key    TEXT UNIQUE,
        PRIMARY KEY (session_key, seq)
    );

    CREATE TABLE thread_bindings (
        session_key         TEXT PRIMARY KEY NOT NULL REFERENCES sessions(key),
        thread_id           TEXT NOT NULL,
        relay_generation    TEXT NULL,
        tools_fingerprint   TEXT NOT NULL,
        config_fingerprint  TEXT NOT NULL,
        created_ms          INTEGER NOT NULL,
        updated_ms          INTEGER NOT NULL
    );

    CREATE TABLE runs (
        run_id      TEXT PRIMARY KEY NOT NULL,
        session_key TEXT NOT NULL,
        status      TEXT NOT NULL
                    CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
        started_ms  INTEGER NOT NULL,
        ended_ms    INTEGER
    );
    -- Startup looks for runs a killed server left open; there are few, so index only those.
    CREATE INDEX runs_running ON runs(started_ms) WHERE status = 'running';
    "#,
    // 2: the session's last external route (channel and target a background run delivered to),
    // which `channel: "last"` sends reuse. NULL until the first such delivery.
    r#"
    ALTER TABLE sessions ADD COLUMN last_channel TEXT NULL;
    ALTER TABLE sessions ADD COLUMN last_target TEXT NULL;
    ALTER TABLE sessions ADD COLUMN last_channel_ms INTEGER NULL;
    "#,
    // 3: the format each event's payload was written in (`store::record`). Every row before
    // this migration is format 1, the only one there was.
    r#"
    ALTER TABLE events ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    "#,
    // 4: the session's permission mode (`app::wire::Mode`'s names). Sessions from before ran
    // every turn unsandboxed and never asked; they become `auto`, the product's default, since
    // being asked can be undone and an unconfined command cannot.
    r#"
    ALTER TABLE sessions ADD COLUMN mode TEXT NOT NULL DEFAULT 'auto';
    "#,
    // 5: the session's workspace (a configured name, never a path), model and reasoning effort
    // (NULL: Codex's default), and the workspace path a thread binding was started in. Sessions
    // from before worked in the one workspace there was: NULL here, and the gateway adopts them
    // into the configured default at start (`Store::adopt_workspace`), since only it knows the
    // name. Bindings from before have no path: their config fingerprint already covered it.
    r#"
    ALTER TABLE sessions ADD COLUMN workspace TEXT NULL;
    ALTER TABLE sessions ADD COLUMN model TEXT NULL;
    ALTER TABLE sessions ADD COLUMN effort TEXT NULL;
    ALTER TABLE thread_bindings ADD COLUMN workspace_path TEXT NULL;
    "#,
    // 6: the session's context usage as Codex last reported it (`thread/tokenUsage/updated`),
    // for the header's meter: tokens in the context now, the model's window (NULL when Codex
    // does not know it), and the thread's total. All NULL until the first report.
    r#"
    ALTER TABLE sessions ADD COLUMN usage_tokens INTEGER NULL;
    ALTER TABLE sessions ADD COLUMN usage_window INTEGER NULL;
    ALTER TABLE sessions ADD COLUMN usage_total INTEGER NULL;
    "#,
    // 7: archiving (`archived_ms`, NULL while not archived) and full-text search: one FTS5 row
    // per findable transcript entry, its rowid the entry's event's rowid (`store::search`; the
    // rows of events stored before are written by `search::backfill` right after this).
    r#"
    ALTER TABLE sessions ADD COLUMN archived_ms INTEGER NULL;
    CREATE VIRTUAL TABLE search USING fts5(
        text,
        session_key UNINDEXED,
        seq UNINDEXED,
        private UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    "#,
    // 8: which session a Codex thread is bound to, looked up by thread (a thread listed from
    // Codex's home that is open in a session already links to it).
    r#"
    CREATE INDEX thread_bindings_thread ON thread_bindings (thread_id);
    "#,
    // 9: what a start looks for, found without reading every session or event
    // (`gateway::run::recovery`): whether a session's newest event is a request (a message or a
    // background request: a process that died before its run started leaves one last), kept by
    // the append; the approval requests (a few among millions of events); and sessions from
    // before workspaces (none after the first start, so the adoption's update finds them at once).
    r#"
    ALTER TABLE sessions ADD COLUMN last_is_request INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET last_is_request = 1 WHERE EXISTS (
        SELECT 1 FROM events e
        WHERE e.session_key = sessions.key AND e.seq = sessions.last_seq
          AND e.kind IN ('user_message', 'background_request'));
    CREATE INDEX sessions_ending_in_a_request ON sessions (key) WHERE last_is_request = 1;
    CREATE INDEX events_approval_requests ON events (at_ms, seq) WHERE kind = 'approval_requested';
    CREATE INDEX sessions_without_workspace ON sessions (key) WHERE workspace IS NULL;
    "#,
];

/// The migration (its 1-based version) after which the stored events are indexed for search.
pub(super) const SEARCH_INDEX_VERSION: usize = 7;
