//! A store file written by the last release before the store had its own record type opens,
//! migrates and presents every event as that release did (issue 9: stored events are not wire
//! events). The fixture is `tests/fixtures/store/`; see the test's documentation.

use app::wire::{Seq, SessionKey};
use codex_webchat::ids::RunId;
use codex_webchat::store::{LastRoute, NewEvent, NoticeAbout, RecordBody, Store};

fn key(raw: &str) -> SessionKey {
    SessionKey::parse(raw).unwrap()
}

/// The store file the last release before records existed wrote (`fixtures/store/`): every event
/// kind, with and without each optional field, legacy shapes (a notice without `about`, a run
/// without `for_seq`), a rendered HTML and an internal text that were offered but never stored,
/// thread bindings, runs and a last route. `store-release-1.events.json` is what that release
/// presented for every event (as its events API sent them).
#[test]
fn a_store_written_by_the_previous_release_opens_migrates_and_presents_the_same() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webchat.sqlite3");
    std::fs::copy(fixtures.join("store-release-1.sqlite3"), &path).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("store-release-1.events.json")).unwrap(),
    )
    .unwrap();

    let store = Store::open(&path).unwrap();
    // The migration that added search indexed what was already stored: a message, a tool
    // card's command and its output (found at the card), and nothing of what is not findable.
    let found = |terms: &str| -> Vec<(String, u64)> {
        store
            .search(terms, true, 10)
            .unwrap()
            .into_iter()
            .map(|h| (h.session.to_string(), h.seq.0))
            .collect()
    };
    assert_eq!(found("second line"), [("s-fixture-chat".to_owned(), 1)]);
    assert_eq!(found("cargo workspace"), [("s-fixture-chat".to_owned(), 6)]);
    assert_eq!(found("3 passed"), [("s-fixture-chat".to_owned(), 6)]);
    let background = expected
        .as_object()
        .unwrap()
        .keys()
        .find(|k| *k != "s-fixture-chat")
        .unwrap();
    assert_eq!(found("Summarise"), [(background.clone(), 1)]);
    let mut shown = serde_json::Map::new();
    for (key, _) in expected.as_object().unwrap() {
        let key = SessionKey::parse(key).unwrap();
        let events: Vec<app::wire::Event> = store
            .events_after(&key, Seq::ZERO, usize::MAX, true)
            .unwrap()
            .into_iter()
            .map(codex_webchat::gateway::present)
            .collect();
        shown.insert(key.to_string(), serde_json::to_value(events).unwrap());
    }
    // The wire no longer carries what only the gateway reads (a notice's `about`) or what the
    // browser never parsed (an internal event's raw `detail`; its text is still sent).
    let mut expected = expected;
    for events in expected.as_object_mut().unwrap().values_mut() {
        for event in events.as_array_mut().unwrap() {
            let body = event["body"].as_object_mut().unwrap();
            match body["type"].as_str() {
                Some("notice") => body.remove("about"),
                Some("internal") => body.remove("detail"),
                _ => None,
            };
        }
    }
    // Rendering moves on while records stay: code in a reply is now highlighted on the server,
    // so the rendered HTML differs from what release 1 showed by the highlight spans alone.
    let unhighlighted = without_highlight_spans(&serde_json::Value::Object(shown).to_string());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&unhighlighted).unwrap(),
        expected
    );

    // What the gateway itself reads back is intact: the typed notice, the raw detail, the
    // bindings, the unfinished run, the last route, and idempotency keys.
    let chat = key("s-fixture-chat");
    let records = store
        .events_after(&chat, Seq::ZERO, usize::MAX, true)
        .unwrap();
    assert!(records.iter().any(|r| matches!(
        &r.body,
        RecordBody::Notice {
            about: Some(NoticeAbout::NotRun),
            ..
        }
    )));
    assert!(records.iter().any(|r| matches!(
        &r.body,
        RecordBody::Internal { detail, .. } if detail["relay"]["generation"] == 3
    )));
    let binding = store.binding(&chat).unwrap().unwrap();
    assert_eq!(binding.relay_generation.as_deref(), Some("g-0007"));
    assert_eq!(
        store.unfinished_runs().unwrap(),
        vec![(chat.clone(), RunId::new("run-0005"))]
    );
    assert_eq!(
        store.last_route(&key("s-fixture-background")).unwrap(),
        Some(LastRoute {
            channel: "webhook".into(),
            target: "ops".into()
        })
    );
    let (owner, reply) = store
        .by_idem_key("run-0001:internal-source-reply:call_msg_4")
        .unwrap()
        .unwrap();
    assert_eq!(owner, chat);
    assert!(matches!(reply.body, RecordBody::AssistantMessage { .. }));

    // The migration that lets a start find sessions left ending in a request without reading
    // every session marked exactly those whose stored newest event is one.
    let mut ending: Vec<String> = expected
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            let last = store
                .events_after(&key(k), Seq::ZERO, usize::MAX, true)
                .unwrap()
                .pop();
            matches!(
                last.map(|e| e.body),
                Some(RecordBody::UserMessage { .. } | RecordBody::BackgroundRequest { .. })
            )
        })
        .cloned()
        .collect();
    let mut listed: Vec<String> = store
        .sessions_ending_in_a_request()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    ending.sort();
    listed.sort();
    assert_eq!(listed, ending);

    // New appends go on from the stored sequence, in the current format.
    let next = store
        .append(
            &chat,
            NewEvent {
                run: None,
                private: false,
                body: &RecordBody::UserMessage {
                    text: "after the upgrade".into(),
                    client_id: "c-9".into(),
                    source: Default::default(),
                    steered: false,
                    images: Vec::new(),
                },
                idem_key: Some("c-9"),
                at_ms: 1_800_000_000_000,
            },
        )
        .unwrap();
    assert_eq!(next.event().seq, Seq(records.len() as u64 + 1));
    assert!(store
        .sessions_ending_in_a_request()
        .unwrap()
        .contains(&chat));
}

/// `json` with the highlight spans (`<span class=\"hl-…\">` and their `</span>`), the code
/// blocks' copy boxes and the replies' copy buttons taken out: all came after the release that
/// wrote the fixture.
fn without_highlight_spans(json: &str) -> String {
    let quoted = |s: &str| {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_owned()
    };
    let json: &str = &json
        .replace(&quoted(codex_webchat::markdown::COPY_MESSAGE), "")
        .replace(&quoted(codex_webchat::markdown::COPY_CODE), "<pre>")
        .replace("</pre></div>", "</pre>");
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find("<span class=\\\"hl-") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let end = after.find('>').expect("a closed tag") + 1;
        rest = &after[end..];
    }
    out.push_str(rest);
    out.replace("</span>", "")
}
