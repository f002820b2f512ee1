use std::collections::HashSet;
use std::thread;

use app::wire::{Mode, NoticeLevel, Seq, SessionKey};

use super::*;
use crate::ids::RunId;

fn key(raw: &str) -> SessionKey {
    SessionKey::parse(raw).unwrap()
}

fn text(t: &str) -> RecordBody {
    RecordBody::Notice {
        level: NoticeLevel::Info,
        text: t.to_owned(),
        about: None,
    }
}

fn new_event<'a>(body: &'a RecordBody, idem_key: Option<&'a str>, at_ms: i64) -> NewEvent<'a> {
    NewEvent {
        run: None,
        private: false,
        body,
        idem_key,
        at_ms,
    }
}

fn seqs(events: &[Record]) -> Vec<u64> {
    events.iter().map(|e| e.seq.0).collect()
}

fn pragma_text(store: &Store, name: &str) -> String {
    store
        .lock()
        .query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Text(s) => s,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        })
        .unwrap()
}

fn count_rows(store: &Store, sql: &str) -> i64 {
    store.lock().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn migrations_apply_to_a_fresh_file_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    // The parent folders do not exist yet; `open` makes them.
    let path = dir
        .path()
        .join("data")
        .join("nested")
        .join("webchat.sqlite3");
    let s1 = key("s1");
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(pragma_text(&store, "journal_mode"), "wal");
        assert_eq!(pragma_text(&store, "synchronous"), "1"); // NORMAL
        assert_eq!(pragma_text(&store, "foreign_keys"), "1");
        assert_eq!(
            pragma_text(&store, "user_version"),
            MIGRATIONS.len().to_string()
        );
        store.create_session(&s1, "First", 10).unwrap();
        store
            .append(&s1, new_event(&text("a"), Some("k1"), 11))
            .unwrap();
        store
            .put_binding(
                &s1,
                &ThreadBinding {
                    thread_id: "t1".into(),
                    relay_generation: Some("g1".into()),
                    tools_fingerprint: "tf".into(),
                    config_fingerprint: "cf".into(),
                    created_ms: 12,
                    updated_ms: 12,
                    workspace_path: None,
                },
            )
            .unwrap();
        store.checkpoint().unwrap();
    }
    assert!(path.exists());

    let store = Store::open(&path).unwrap();
    assert_eq!(pragma_text(&store, "journal_mode"), "wal");
    assert_eq!(
        pragma_text(&store, "user_version"),
        MIGRATIONS.len().to_string()
    );
    let session = store.session(&s1).unwrap().unwrap();
    assert_eq!(session.title, "First");
    assert_eq!(session.updated_ms, 11);
    assert_eq!(store.last_seq(&s1).unwrap(), Seq(1));
    assert_eq!(store.binding(&s1).unwrap().unwrap().thread_id, "t1");
    let ev = store.events_after(&s1, Seq::ZERO, 10, true).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].body, text("a"));
    // The sequence continues where it left off.
    let next = store.append(&s1, new_event(&text("b"), None, 13)).unwrap();
    assert_eq!(next.event().seq, Seq(2));
    // Reopening again applies nothing twice (the schema would fail on a second CREATE TABLE).
    drop(store);
    Store::open(&path).unwrap();
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    let store = Store::open(&path).unwrap();
    store
        .lock()
        .pragma_update(None, "user_version", MIGRATIONS.len() + 1)
        .unwrap();
    drop(store);
    match Store::open(&path) {
        Err(StoreError::Corrupt(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn seq_is_gap_free_and_per_session() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    store.create_session(&a, "A", 1).unwrap();
    store.create_session(&b, "B", 1).unwrap();
    assert_eq!(store.last_seq(&a).unwrap(), Seq::ZERO);
    for i in 0..5 {
        let ea = store.append(&a, new_event(&text("x"), None, 2)).unwrap();
        assert_eq!(ea.event().seq, Seq(i + 1));
        if i % 2 == 0 {
            let eb = store.append(&b, new_event(&text("y"), None, 2)).unwrap();
            assert_eq!(eb.event().seq, Seq(i / 2 + 1));
        }
    }
    assert_eq!(
        seqs(&store.events_after(&a, Seq::ZERO, 100, true).unwrap()),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        seqs(&store.events_after(&b, Seq::ZERO, 100, true).unwrap()),
        [1, 2, 3]
    );
    assert_eq!(store.last_seq(&a).unwrap(), Seq(5));
    assert_eq!(store.last_seq(&b).unwrap(), Seq(3));
}

#[test]
fn mirror_append_with_same_key_is_stored_once() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    let reply = RecordBody::AssistantMessage {
        text: "hello".into(),
        call_id: Some("call-1".into()),
    };
    let ev = NewEvent {
        run: Some(&RunId::new("run-1")),
        private: false,
        body: &reply,
        idem_key: Some("mirror:call-1"),
        at_ms: 5,
    };
    let first = store.append(&s, ev).unwrap();
    assert!(matches!(first, Appended::Inserted(_)));
    // A retry, even one that carries a different body and time, returns what was stored.
    let retry_body = RecordBody::AssistantMessage {
        text: "hello again".into(),
        call_id: Some("call-1".into()),
    };
    let second = store
        .append(
            &s,
            NewEvent {
                body: &retry_body,
                at_ms: 9,
                ..ev
            },
        )
        .unwrap();
    assert!(matches!(second, Appended::Existing(_)));
    assert_eq!(first.event(), second.event());
    assert_eq!(
        count_rows(
            &store,
            "SELECT COUNT(*) FROM events WHERE idem_key = 'mirror:call-1'"
        ),
        1
    );
    assert_eq!(store.last_seq(&s).unwrap(), Seq(1));
    assert_eq!(
        store.events_after(&s, Seq::ZERO, 10, true).unwrap().len(),
        1
    );

    let (owner, found) = store.by_idem_key("mirror:call-1").unwrap().unwrap();
    assert_eq!(owner, s);
    assert_eq!(&found, first.event());
    assert!(store.by_idem_key("nope").unwrap().is_none());

    // Keys are global: the same key offered for another session returns the original event.
    let other = key("other");
    store.create_session(&other, "O", 1).unwrap();
    let third = store.append(&other, ev).unwrap();
    assert_eq!(third, Appended::Existing(first.into_event()));
    assert_eq!(store.last_seq(&other).unwrap(), Seq::ZERO);
}

#[test]
fn concurrent_appends_from_several_threads_stay_gap_free() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite3")).unwrap();
    let sessions = [key("c1"), key("c2")];
    for s in &sessions {
        store.create_session(s, "C", 1).unwrap();
    }
    const THREADS: usize = 8;
    const PER_THREAD: usize = 40;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            let sessions = sessions.clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let body = text(&format!("{t}-{i}"));
                    let s = &sessions[i % 2];
                    // Every thread also races on a shared key per round: exactly one may win.
                    let shared = format!("shared-{i}");
                    store.append(s, new_event(&body, None, 2)).unwrap();
                    store.append(s, new_event(&body, Some(&shared), 2)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut total = 0;
    for s in &sessions {
        let events = store.events_after(s, Seq::ZERO, usize::MAX, true).unwrap();
        let expected: Vec<u64> = (1..=events.len() as u64).collect();
        assert_eq!(seqs(&events), expected);
        assert_eq!(store.last_seq(s).unwrap(), Seq(events.len() as u64));
        total += events.len();
    }
    // Unkeyed appends all land; each shared key lands once.
    assert_eq!(total, THREADS * PER_THREAD + PER_THREAD);
    let keyed: HashSet<String> = (0..PER_THREAD).map(|i| format!("shared-{i}")).collect();
    assert_eq!(
        count_rows(
            &store,
            "SELECT COUNT(*) FROM events WHERE idem_key IS NOT NULL"
        ) as usize,
        keyed.len()
    );
}

#[test]
fn events_after_pages_and_hides_private_events_unless_asked() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    for i in 1..=6 {
        let body = text(&format!("e{i}"));
        store
            .append(
                &s,
                NewEvent {
                    run: Some(&RunId::new("r")),
                    private: i % 3 == 0,
                    body: &body,
                    idem_key: None,
                    at_ms: i,
                },
            )
            .unwrap();
    }
    let all = store.events_after(&s, Seq::ZERO, 100, true).unwrap();
    assert_eq!(seqs(&all), [1, 2, 3, 4, 5, 6]);
    assert!(all[2].private && all[5].private && !all[0].private);
    assert_eq!(all[0].run, Some(RunId::new("r")));
    assert_eq!(all[0].at_ms, 1);

    let public = store.events_after(&s, Seq::ZERO, 100, false).unwrap();
    assert_eq!(seqs(&public), [1, 2, 4, 5]);

    assert_eq!(
        seqs(&store.events_after(&s, Seq(2), 2, true).unwrap()),
        [3, 4]
    );
    assert_eq!(
        seqs(&store.events_after(&s, Seq(2), 2, false).unwrap()),
        [4, 5]
    );
    assert!(store.events_after(&s, Seq(6), 10, true).unwrap().is_empty());
    assert!(store
        .events_after(&s, Seq(u64::MAX), 10, true)
        .unwrap()
        .is_empty());
    assert!(store
        .events_after(&s, Seq::ZERO, 0, true)
        .unwrap()
        .is_empty());
}

#[test]
fn sessions_list_most_recently_updated_first() {
    let store = Store::open_in_memory().unwrap();
    let (a, b, c) = (key("a"), key("b"), key("c"));
    store.create_session(&a, "A", 100).unwrap();
    store.create_session(&b, "B", 200).unwrap();
    store.create_session(&c, "C", 200).unwrap();
    let order = |limit| -> Vec<String> {
        store
            .list_sessions(limit)
            .unwrap()
            .into_iter()
            .map(|s| s.key.to_string())
            .collect()
    };
    // Equal times: the newer session first.
    assert_eq!(order(10), ["c", "b", "a"]);
    store.append(&a, new_event(&text("x"), None, 300)).unwrap();
    assert_eq!(order(10), ["a", "c", "b"]);
    store.set_title(&b, "Renamed", 400).unwrap();
    assert_eq!(order(10), ["b", "a", "c"]);
    assert_eq!(order(2), ["b", "a"]);
    assert_eq!(store.session(&b).unwrap().unwrap().title, "Renamed");
    // An append stamped earlier than the last update does not move the session back in time.
    store.append(&b, new_event(&text("x"), None, 50)).unwrap();
    assert_eq!(store.session(&b).unwrap().unwrap().updated_ms, 400);
}

#[test]
fn create_session_is_idempotent() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    let first = store.create_session(&s, "Original", 10).unwrap();
    assert_eq!(first.title, "Original");
    assert_eq!(first.updated_ms, 10);
    let again = store.create_session(&s, "Other", 99).unwrap();
    assert_eq!(again, first);
    assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM sessions"), 1);
}

#[test]
fn binding_upsert_round_trips_including_a_missing_generation() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    assert_eq!(store.binding(&s).unwrap(), None);
    let mut b = ThreadBinding {
        thread_id: "thread-1".into(),
        relay_generation: None,
        tools_fingerprint: "tools".into(),
        config_fingerprint: "config".into(),
        created_ms: 10,
        updated_ms: 11,
        workspace_path: None,
    };
    store.put_binding(&s, &b).unwrap();
    assert_eq!(store.binding(&s).unwrap().as_ref(), Some(&b));

    b.relay_generation = Some("gen-2".into());
    b.thread_id = "thread-2".into();
    b.updated_ms = 20;
    store.put_binding(&s, &b).unwrap();
    assert_eq!(store.binding(&s).unwrap().as_ref(), Some(&b));

    b.relay_generation = None;
    store.put_binding(&s, &b).unwrap();
    assert_eq!(store.binding(&s).unwrap().as_ref(), Some(&b));
    assert_eq!(
        count_rows(&store, "SELECT COUNT(*) FROM thread_bindings"),
        1
    );

    store.clear_binding(&s).unwrap();
    assert_eq!(store.binding(&s).unwrap(), None);
    store.clear_binding(&s).unwrap();
}

#[test]
fn unknown_session_is_reported_as_such() {
    let store = Store::open_in_memory().unwrap();
    let ghost = key("ghost");
    let is_unknown = |r: Result<(), StoreError>| match r {
        Err(StoreError::UnknownSession(k)) => assert_eq!(k, "ghost"),
        other => panic!("expected UnknownSession, got {other:?}"),
    };
    let body = text("x");
    is_unknown(
        store
            .append(&ghost, new_event(&body, Some("k"), 1))
            .map(|_| ()),
    );
    is_unknown(store.events_after(&ghost, Seq::ZERO, 10, true).map(|_| ()));
    is_unknown(store.last_seq(&ghost).map(|_| ()));
    is_unknown(store.set_title(&ghost, "t", 1));
    is_unknown(store.run_started(&RunId::new("r"), &ghost, 1));
    is_unknown(store.put_binding(
        &ghost,
        &ThreadBinding {
            thread_id: "t".into(),
            relay_generation: None,
            tools_fingerprint: "a".into(),
            config_fingerprint: "b".into(),
            created_ms: 1,
            updated_ms: 1,
            workspace_path: None,
        },
    ));
    // Lookups answer "none"; clearing nothing is fine.
    assert_eq!(store.session(&ghost).unwrap(), None);
    assert_eq!(store.binding(&ghost).unwrap(), None);
    store.clear_binding(&ghost).unwrap();
    // The failed keyed append left nothing behind.
    assert!(store.by_idem_key("k").unwrap().is_none());
}

#[test]
fn a_corrupt_payload_row_reads_as_a_placeholder_notice() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    store
        .append(&s, new_event(&text("before"), None, 1))
        .unwrap();
    store
        .append(&s, new_event(&text("damaged"), Some("bad"), 2))
        .unwrap();
    store
        .append(&s, new_event(&text("after"), None, 3))
        .unwrap();
    store
        .lock()
        .execute(
            "UPDATE events SET payload = '{\"type\":\"from_the_future\"', private = 1 WHERE seq = 2",
            [],
        )
        .unwrap();

    let events = store.events_after(&s, Seq::ZERO, 10, true).unwrap();
    assert_eq!(seqs(&events), [1, 2, 3]);
    assert_eq!(events[0].body, text("before"));
    assert_eq!(
        events[1].body,
        RecordBody::Notice {
            level: NoticeLevel::Error,
            text: UNREADABLE_EVENT_TEXT.to_owned(),
            about: None,
        }
    );
    assert!(events[1].private, "row metadata is kept");
    assert_eq!(events[1].at_ms, 2);
    assert_eq!(events[2].body, text("after"));
    let (_, by_key) = store.by_idem_key("bad").unwrap().unwrap();
    assert_eq!(by_key, events[1]);
}

#[test]
fn a_record_is_stored_as_its_kind_and_format_1_json_and_reads_back_equal() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    let body = RecordBody::AssistantMessage {
        text: "**hi**".into(),
        call_id: None,
    };
    let inserted = store
        .append(&s, new_event(&body, None, 1))
        .unwrap()
        .into_event();
    let stored = store.events_after(&s, Seq::ZERO, 1, true).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], inserted);
    let (kind, format, payload): (String, i64, String) = store
        .lock()
        .query_row("SELECT kind, format, payload FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(kind, "assistant_message");
    assert_eq!(format, record::RECORD_FORMAT);
    // Markdown only: the HTML a reader gets is rendered on the way out, never stored.
    assert_eq!(payload, r#"{"type":"assistant_message","text":"**hi**"}"#);
}

#[test]
fn a_record_in_a_format_this_build_does_not_know_reads_as_a_placeholder() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    store
        .append(&s, new_event(&text("from a newer build"), None, 1))
        .unwrap();
    store
        .lock()
        .execute("UPDATE events SET format = 2", [])
        .unwrap();
    let events = store.events_after(&s, Seq::ZERO, 10, true).unwrap();
    assert_eq!(
        events[0].body,
        RecordBody::Notice {
            level: NoticeLevel::Error,
            text: UNREADABLE_EVENT_TEXT.to_owned(),
            about: None,
        }
    );
}

#[test]
fn runs_are_tracked_until_they_finish_and_the_first_ending_wins() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    store.create_session(&a, "A", 1).unwrap();
    store.create_session(&b, "B", 1).unwrap();
    store.run_started(&RunId::new("r1"), &a, 10).unwrap();
    store.run_started(&RunId::new("r2"), &b, 20).unwrap();
    store.run_started(&RunId::new("r1"), &a, 30).unwrap(); // repeated: no change
    assert_eq!(
        store.unfinished_runs().unwrap(),
        [(a.clone(), RunId::new("r1")), (b.clone(), RunId::new("r2"))]
    );

    store
        .run_finished(&RunId::new("r1"), run_status::INTERRUPTED, 40)
        .unwrap();
    store
        .run_finished(&RunId::new("r1"), run_status::COMPLETED, 50)
        .unwrap();
    store
        .run_finished(&RunId::new("missing"), run_status::FAILED, 50)
        .unwrap();
    assert_eq!(store.unfinished_runs().unwrap(), [(b, RunId::new("r2"))]);
    let (status, ended): (String, i64) = store
        .lock()
        .query_row(
            "SELECT status, ended_ms FROM runs WHERE run_id = 'r1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), ended), ("interrupted", 40));

    assert!(matches!(
        store.run_finished(&RunId::new("r2"), "exploded", 60),
        Err(StoreError::Sqlite(_))
    ));
    assert_eq!(store.unfinished_runs().unwrap().len(), 1);
}

#[test]
fn last_route_is_remembered_per_session_and_listed() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    store.create_session(&a, "A", 10).unwrap();
    store.create_session(&b, "B", 11).unwrap();
    assert_eq!(store.last_route(&a).unwrap(), None);
    assert_eq!(store.session(&a).unwrap().unwrap().last_channel, None);
    let route = LastRoute {
        channel: "webhook".into(),
        target: "ops".into(),
    };
    store.set_last_route(&a, &route, 20).unwrap();
    assert_eq!(store.last_route(&a).unwrap(), Some(route));
    assert_eq!(store.last_route(&b).unwrap(), None);
    assert_eq!(
        store.session(&a).unwrap().unwrap().last_channel.as_deref(),
        Some("webhook:ops")
    );
    let list = store.list_sessions(10).unwrap();
    // Remembering a route is not an update: the list order stays by what people did.
    assert_eq!(list[0].key, b);
    assert_eq!(list[1].last_channel.as_deref(), Some("webhook:ops"));
    assert!(matches!(
        store.set_last_route(
            &key("nope"),
            &LastRoute {
                channel: "x".into(),
                target: "y".into()
            },
            1
        ),
        Err(StoreError::UnknownSession(_))
    ));
    assert!(matches!(
        store.last_route(&key("nope")),
        Err(StoreError::UnknownSession(_))
    ));
}

#[test]
fn a_database_from_before_last_routes_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        // What the first release wrote: migration 1 only, and a session in it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO sessions (key, title, created_ms, updated_ms, last_seq)
             VALUES ('old', 'Old', 1, 2, 0)",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        pragma_text(&store, "user_version"),
        MIGRATIONS.len().to_string()
    );
    let old = key("old");
    assert_eq!(store.session(&old).unwrap().unwrap().title, "Old");
    assert_eq!(store.last_route(&old).unwrap(), None);
    let route = LastRoute {
        channel: "webhook".into(),
        target: "ops".into(),
    };
    store.set_last_route(&old, &route, 3).unwrap();
    drop(store);
    assert_eq!(
        Store::open(&path).unwrap().last_route(&old).unwrap(),
        Some(route)
    );
}

#[test]
fn appends_never_checkpoint_inline_and_the_background_checkpointer_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite3")).unwrap();
    // An inline checkpoint would put an fsync into some append.
    assert_eq!(pragma_text(&store, "wal_autocheckpoint"), "0");
    let s1 = key("s1");
    store.create_session(&s1, "S", 1).unwrap();
    for i in 0..200 {
        store
            .append(&s1, new_event(&text(&format!("event {i}")), None, i))
            .unwrap();
    }
    let (frames, copied) = store.background_checkpoint().unwrap();
    assert!(frames > 0, "the WAL had frames to copy");
    assert_eq!(copied, frames, "nothing held the checkpoint back");
    assert_eq!(
        Store::open_in_memory().unwrap().background_checkpoint(),
        None
    );
    // The store still works after its checkpoints, and the data is all there.
    assert_eq!(store.last_seq(&s1).unwrap(), Seq(200));
}

#[test]
fn context_usage_is_kept_per_session_and_listed() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    store.create_session(&a, "A", 10).unwrap();
    store.create_session(&b, "B", 11).unwrap();
    assert_eq!(store.session(&a).unwrap().unwrap().usage, None);
    let usage = app::wire::ContextUsage {
        tokens: 1010,
        window: Some(258_400),
        total: 9090,
    };
    store.set_usage(&a, usage).unwrap();
    assert_eq!(store.session(&a).unwrap().unwrap().usage, Some(usage));
    let list = store.list_sessions(10).unwrap();
    // Usage is not an update: the list order stays by what people did.
    assert_eq!(list[0].key, b);
    assert_eq!(list[0].usage, None);
    assert_eq!(list[1].usage, Some(usage));
    // A window Codex does not know stays unknown; a later report replaces the earlier one.
    let unknown_window = app::wire::ContextUsage {
        tokens: 5,
        window: None,
        total: u64::MAX,
    };
    store.set_usage(&a, unknown_window).unwrap();
    let read = store.session(&a).unwrap().unwrap().usage.unwrap();
    assert_eq!(read.window, None);
    assert_eq!(read.tokens, 5);
    assert_eq!(read.total, i64::MAX as u64, "clamped to what SQLite holds");
    assert!(matches!(
        store.set_usage(&key("nope"), usage),
        Err(StoreError::UnknownSession(_))
    ));
}

/// Migration 5: sessions from before workspaces have none until the gateway adopts them into
/// its default; their bindings have no workspace path. Model and effort start unset.
#[test]
fn sessions_from_before_workspaces_are_adopted_into_the_default_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions (key, title, created_ms, updated_ms, last_seq)
             VALUES ('old', 'Old', 1, 2, 0);
             INSERT INTO thread_bindings (session_key, thread_id, tools_fingerprint,
                 config_fingerprint, created_ms, updated_ms)
             VALUES ('old', 't-old', 'tf', 'cf', 1, 1);",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let old = key("old");
    let before = store.session(&old).unwrap().unwrap();
    assert_eq!(
        (before.workspace.as_str(), before.model, before.effort),
        ("", None, None)
    );
    assert_eq!(store.binding(&old).unwrap().unwrap().workspace_path, None);

    assert_eq!(store.adopt_workspace("main").unwrap(), 1);
    assert_eq!(store.session(&old).unwrap().unwrap().workspace, "main");
    // Adopting again changes nothing; new sessions without a workspace get the default.
    assert_eq!(store.adopt_workspace("main").unwrap(), 0);
    let fresh = store.create_session(&key("fresh"), "F", 3).unwrap();
    assert_eq!(fresh.workspace, "main");
    let chosen = store
        .create_session_with(&key("other"), "O", Mode::Ask, "side", 4)
        .unwrap();
    assert_eq!(
        (chosen.workspace.as_str(), chosen.mode),
        ("side", Mode::Ask)
    );
    // An existing session is returned unchanged, workspace included.
    let again = store
        .create_session_with(&key("other"), "X", Mode::Auto, "main", 5)
        .unwrap();
    assert_eq!(again, chosen);
}

#[test]
fn a_sessions_model_and_effort_are_stored_listed_and_cleared() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    store.set_model(&s, Some("m1"), Some("high")).unwrap();
    let listed = store.list_sessions(10).unwrap();
    assert_eq!(listed[0].model.as_deref(), Some("m1"));
    assert_eq!(listed[0].effort.as_deref(), Some("high"));
    store.set_model(&s, None, None).unwrap();
    let cleared = store.session(&s).unwrap().unwrap();
    assert_eq!((cleared.model, cleared.effort), (None, None));
    assert!(matches!(
        store.set_model(&key("nope"), Some("m"), None),
        Err(StoreError::UnknownSession(_))
    ));

    let b = ThreadBinding {
        thread_id: "t".into(),
        relay_generation: None,
        tools_fingerprint: "a".into(),
        config_fingerprint: "b".into(),
        created_ms: 1,
        updated_ms: 1,
        workspace_path: Some("/w/one".into()),
    };
    store.put_binding(&s, &b).unwrap();
    assert_eq!(store.binding(&s).unwrap(), Some(b));
}

/// Issue 14: a start finds the sessions a dead process left ending in a request through an
/// index kept by the append, not by reading every session's last event.
#[test]
fn the_sessions_ending_in_a_request_follow_every_append() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    for k in [&a, &b] {
        store.create_session(k, "t", 1).unwrap();
    }
    let message = RecordBody::UserMessage {
        text: "hi".into(),
        client_id: "c".into(),
        source: Default::default(),
        steered: false,
        images: Vec::new(),
    };
    let background = RecordBody::BackgroundRequest {
        origin: "api".into(),
        prompt: "p".into(),
    };
    assert!(store.sessions_ending_in_a_request().unwrap().is_empty());
    store.append(&a, new_event(&message, None, 2)).unwrap();
    store.append(&b, new_event(&background, None, 2)).unwrap();
    let mut listed = store.sessions_ending_in_a_request().unwrap();
    listed.sort();
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    store
        .append(&a, new_event(&text("answered"), None, 3))
        .unwrap();
    assert_eq!(
        store.sessions_ending_in_a_request().unwrap(),
        vec![b.clone()]
    );
    // An idempotent repeat writes nothing, so it changes nothing either.
    store
        .append(&b, new_event(&text("x"), Some("k"), 4))
        .unwrap();
    store.append(&b, new_event(&message, Some("k"), 5)).unwrap();
    assert!(store.sessions_ending_in_a_request().unwrap().is_empty());
}
