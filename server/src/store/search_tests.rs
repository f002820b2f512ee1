//! The search index kept in step with the event log, and deleting a session with it.

use app::wire::{RelayDecision, SessionKey, Source, ToolStatus};

use super::record::RecordBody;
use super::*;
use crate::ids::CallId;

fn key(raw: &str) -> SessionKey {
    SessionKey::parse(raw).unwrap()
}

fn add(store: &Store, session: &SessionKey, private: bool, body: RecordBody) -> u64 {
    store
        .append(
            session,
            NewEvent {
                run: None,
                private,
                body: &body,
                idem_key: None,
                at_ms: 1,
            },
        )
        .unwrap()
        .event()
        .seq
        .0
}

fn user(text: &str) -> RecordBody {
    RecordBody::UserMessage {
        text: text.into(),
        client_id: format!("c-{text}"),
        source: Source::Webchat,
        steered: false,
        images: Vec::new(),
    }
}

/// `(session, seq, the snippet as text with [matches] bracketed)` of each hit.
fn found(store: &Store, terms: &str, internals: bool) -> Vec<(String, u64, String)> {
    store
        .search(terms, internals, 50)
        .unwrap()
        .into_iter()
        .map(|h| {
            let text = h
                .snippet
                .iter()
                .map(|s| {
                    if s.hit {
                        format!("[{}]", s.text)
                    } else {
                        s.text.clone()
                    }
                })
                .collect::<String>();
            (h.session.as_str().to_owned(), h.seq.0, text)
        })
        .collect()
}

fn search_rows(store: &Store) -> i64 {
    store
        .lock()
        .query_row("SELECT COUNT(*) FROM search", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn every_findable_entry_is_indexed_in_step_with_its_append() {
    let store = Store::open_in_memory().unwrap();
    let (a, b) = (key("a"), key("b"));
    store.create_session(&a, "Alpha", 1).unwrap();
    store.create_session(&b, "Beta", 1).unwrap();
    let asked = add(&store, &a, false, user("where is the kettle"));
    let replied = add(
        &store,
        &a,
        false,
        RecordBody::AssistantMessage {
            text: "The kettle is in the kitchen".into(),
            call_id: None,
        },
    );
    let tool = add(
        &store,
        &a,
        false,
        RecordBody::ToolStarted {
            call_id: CallId::from("call-1"),
            tool: "shell".into(),
            command: "ls cupboard".into(),
            relay: RelayDecision::None,
            detail: None,
        },
    );
    add(
        &store,
        &a,
        false,
        RecordBody::ToolFinished {
            target: app::wire::Seq(tool),
            status: ToolStatus::Completed,
            output: "teapot saucer".into(),
            exit_code: Some(0),
        },
    );
    let prose = add(
        &store,
        &b,
        true,
        RecordBody::ModelText {
            item_id: "m1".into(),
            text: "thinking about kett".into(),
        },
    );
    add(
        &store,
        &b,
        true,
        RecordBody::TextDone {
            target: app::wire::Seq(prose),
            text: "thinking about the kettle".into(),
        },
    );

    // Both of `a`'s entries, with the match marked; `b`'s prose is private.
    let hits = found(&store, "kettle", false);
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.contains(&("a".into(), asked, "where is the [kettle]".into())));
    assert!(hits.contains(&("a".into(), replied, "The [kettle] is in the kitchen".into())));
    let with_internals = found(&store, "kettle", true);
    assert_eq!(with_internals.len(), 3, "{with_internals:?}");
    // The finished text replaced the streamed one: one row for the entry, its final words.
    assert!(with_internals.contains(&("b".into(), prose, "thinking about the [kettle]".into())));
    // A tool card is one entry: its command and its output, found at the card's seq.
    assert_eq!(found(&store, "cupboard", false)[0].1, tool);
    assert_eq!(
        found(&store, "saucer", false),
        vec![("a".into(), tool, "ls cupboard teapot [saucer]".into())]
    );
    // The last word is a prefix (results follow typing); every word is required.
    assert_eq!(found(&store, "kitch", false).len(), 1);
    assert_eq!(found(&store, "kettle kitchen", false).len(), 1);
    assert_eq!(search_rows(&store), 4);
}

#[test]
fn a_search_term_that_is_markup_or_fts_syntax_is_inert_and_never_an_error() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    let seq = add(
        &store,
        &s,
        false,
        user("a <b>bold</b> \"quote\" OR NEAR(x) claim*"),
    );
    for terms in [
        "<b>", "\"", "\"quote", "OR", "NEAR(", "claim*", "*", "-x", "a:b", "(", ")", "^", "AND",
        "'", "\\",
    ] {
        let hits = store.search(terms, true, 10);
        assert!(hits.is_ok(), "{terms:?}: {hits:?}");
    }
    assert_eq!(found(&store, "<b>bold", false)[0].1, seq);
    assert_eq!(found(&store, "NEAR(x)", false)[0].1, seq);
    // Markup stays text in the snippet: clients escape it where they show it.
    assert!(found(&store, "bold", false)[0].2.contains("<b>[bold]</b>"));
}

#[test]
fn deleting_a_session_takes_its_transcript_search_rows_binding_and_lone_images() {
    let store = Store::open_in_memory().unwrap();
    let (gone, kept) = (key("gone"), key("kept"));
    store.create_session(&gone, "Gone", 1).unwrap();
    store.create_session(&kept, "Kept", 1).unwrap();
    let image = |id: &str| app::wire::ImageRef {
        id: id.into(),
        name: "x.png".into(),
        mime: "image/png".into(),
    };
    for (session, text, images) in [
        (&gone, "shared words", vec![image("aa"), image("bb")]),
        (&kept, "shared words", vec![image("bb")]),
    ] {
        add(
            &store,
            session,
            false,
            RecordBody::UserMessage {
                text: text.into(),
                client_id: format!("c-{session}"),
                source: Source::Webchat,
                steered: false,
                images,
            },
        );
    }
    store
        .put_binding(
            &gone,
            &ThreadBinding {
                thread_id: crate::ids::ThreadId::from("thread-9"),
                relay_generation: None,
                tools_fingerprint: "t".into(),
                config_fingerprint: "c".into(),
                created_ms: 1,
                updated_ms: 1,
                workspace_path: None,
            },
        )
        .unwrap();
    assert_eq!(found(&store, "shared", false).len(), 2);

    let deleted = store.delete_session(&gone).unwrap();
    assert_eq!(
        deleted,
        Deleted {
            thread: Some("thread-9".into()),
            images: vec!["aa".into()],
        }
    );
    assert_eq!(
        found(&store, "shared", false),
        vec![("kept".into(), 1, "[shared] words".into())]
    );
    assert!(store.session(&gone).unwrap().is_none());
    assert!(store.binding(&gone).unwrap().is_none());
    assert_eq!(search_rows(&store), 1);
    assert!(matches!(
        store.delete_session(&gone),
        Err(StoreError::UnknownSession(_))
    ));
}

#[test]
fn archiving_is_a_flag_that_keeps_the_session_listed_and_searchable() {
    let store = Store::open_in_memory().unwrap();
    let s = key("s");
    store.create_session(&s, "S", 1).unwrap();
    add(&store, &s, false, user("archived words"));
    store.set_archived(&s, true, 5).unwrap();
    assert!(store.session(&s).unwrap().unwrap().archived);
    assert!(store.list_sessions(10).unwrap()[0].archived);
    assert_eq!(found(&store, "archived", false).len(), 1);
    store.set_archived(&s, false, 6).unwrap();
    assert!(!store.session(&s).unwrap().unwrap().archived);
    assert!(matches!(
        store.set_archived(&key("nope"), true, 1),
        Err(StoreError::UnknownSession(_))
    ));
}

/// Regression: a passive checkpoint never restarts the WAL while appends keep coming, and with the
/// search index each append writes several pages, so a busy store's WAL grew without bound
/// (5 GB after 100,000 appends in a row). Past a limit the checkpointer now truncates it.
#[test]
fn a_busy_store_keeps_its_wal_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sqlite3");
    let store = Store::open(&path).unwrap();
    let s = key("busy");
    store.create_session(&s, "Busy", 1).unwrap();
    for i in 0..2_000 {
        add(
            &store,
            &s,
            false,
            user(&format!("message {i} about kettles and teapots")),
        );
    }
    store.background_checkpoint().expect("a checkpoint ran");
    let wal = std::fs::metadata(dir.path().join("busy.sqlite3-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(wal < 64 * 1024 * 1024, "the WAL is {wal} bytes");
    assert_eq!(
        found(&store, "kettles", false).len(),
        50,
        "the data is all there"
    );
}
