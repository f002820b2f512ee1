//! The run engine driven through a gateway whose Codex never starts: recovery, stop and the
//! queue, and the `message` tool's paths (tool calls are made by hand).

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use app::wire::{DeliveryStatus, NoticeLevel, RunOutcome, Seq, SessionKey};

use super::phase::Step;
use super::RunStart;
use crate::channels::OutboundMessage;
use crate::gateway::delivery::{self, RunSource};
use crate::gateway::{lock, Gateway};
use crate::ids::{CallId, RunId};
use crate::store::{NoticeAbout, RecordBody};

/// A gateway whose Codex never starts: enough to drive tool calls by hand.
fn offline_gateway() -> Gateway {
    gateway_on(
        crate::store::Store::open_in_memory().unwrap(),
        Duration::from_millis(10),
    )
}

/// A gateway whose Codex never starts, on `store`; sends wait `ready` for Codex.
fn gateway_on(store: crate::store::Store, ready: Duration) -> Gateway {
    gateway_with(store, ready, crate::channels::Outbound::default())
}

fn gateway_with(
    store: crate::store::Store,
    ready: Duration,
    outbound: crate::channels::Outbound,
) -> Gateway {
    let dir = std::env::temp_dir();
    let (codex, events) = crate::codex::Codex::start(crate::codex::CodexOptions::new(
        dir.join("no-such-codex-binary"),
        dir.join("no-such-codex-home"),
        dir.clone(),
    ));
    Gateway::start(
        store,
        codex,
        events,
        outbound,
        crate::gateway::GatewayOptions {
            workspaces: crate::gateway::workspace::Workspaces::single(dir),
            sandbox: "read-only".into(),
            default_mode: app::wire::Mode::Auto,
            model_label: "test".into(),
            turn_stall: Duration::from_secs(60),
            codex_ready_timeout: ready,
            hooks: None,
        },
    )
    .unwrap()
}

/// The session's notices, read as a request does: after the session's restart recovery.
fn notices(gw: &Gateway, key: &SessionKey) -> Vec<String> {
    gw.session(key).unwrap();
    gw.store()
        .events_after(key, Seq::ZERO, 1000, true)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            RecordBody::Notice { text, .. } => Some(text),
            _ => None,
        })
        .collect()
}

/// A store as a process killed between storing a message and starting its run leaves it: the
/// session's last event is a user message no run answers.
async fn store_with_a_lost_message() -> (crate::store::Store, SessionKey) {
    let store = crate::store::Store::open_in_memory().unwrap();
    let gw = gateway_on(store.clone(), Duration::from_millis(10));
    let key = gw.create_session().unwrap().key;
    gw.emit(
        &key,
        None,
        false,
        RecordBody::UserMessage {
            text: "lost?".into(),
            client_id: "c1".into(),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
        None,
    )
    .unwrap();
    gw.shutdown().await;
    (store, key)
}

#[tokio::test]
async fn a_message_stored_without_a_run_before_a_crash_gets_a_notice_at_restart() {
    let (store, key) = store_with_a_lost_message().await;
    let gw = gateway_on(store.clone(), Duration::from_millis(10));
    let found = notices(&gw, &key);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("1 message was not run"), "{found:?}");
    gw.shutdown().await;
    // A second restart does not say it again.
    let gw = gateway_on(store, Duration::from_millis(10));
    assert_eq!(notices(&gw, &key).len(), 1);
    gw.shutdown().await;
}

/// Recovery reads a notice's kind, so every not-run notice must carry it.
#[tokio::test]
async fn not_run_notices_carry_their_kind() {
    let (store, key) = store_with_a_lost_message().await;
    let gw = gateway_on(store, Duration::from_millis(10));
    gw.recovery_finished().await;
    let kinds: Vec<_> = gw
        .store()
        .events_after(&key, Seq::ZERO, 1000, true)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            RecordBody::Notice { about, .. } => Some(about),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![Some(NoticeAbout::NotRun)]);
    gw.shutdown().await;
}

/// Issue 14: a start no longer recovers before it serves. A request for a session the start
/// found something left open in recovers that session first. The test's runtime has one thread
/// and nothing here awaits, so the background recovery cannot have run: only the request's own
/// wait can have written the notice it reads.
#[tokio::test]
async fn a_request_for_a_session_still_being_recovered_recovers_it_first() {
    let (store, key) = store_with_a_lost_message().await;
    let gw = gateway_on(store, Duration::from_millis(10));
    let notices: Vec<String> = gw
        .events_after(&key, Seq::ZERO, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            app::wire::EventBody::Notice { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("1 message was not run"),
        "{notices:?}"
    );
    gw.shutdown().await;
}

/// What no request touches is recovered in the background: a run left open closes as
/// interrupted and a lost message gets its notice, with nobody asking for either session; a
/// session that ended cleanly gets nothing.
#[tokio::test]
async fn the_background_recovery_reaches_sessions_no_request_touches() {
    let (store, lost) = store_with_a_lost_message().await;
    let key = |raw: &str| SessionKey::parse(raw).unwrap();
    let (open, clean) = (key("left-open"), key("clean"));
    for k in [&open, &clean] {
        store.create_session(k, "t", 1).unwrap();
    }
    let run = RunId::from("run-left-open".to_owned());
    store.run_started(&run, &open, 1).unwrap();
    for body in [
        RecordBody::UserMessage {
            text: "answered".into(),
            client_id: "c2".into(),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
        RecordBody::AssistantMessage {
            text: "yes".into(),
            call_id: None,
        },
    ] {
        let ev = crate::store::NewEvent {
            run: None,
            private: false,
            body: &body,
            idem_key: None,
            at_ms: 2,
        };
        store.append(&clean, ev).unwrap();
    }

    let gw = gateway_on(store.clone(), Duration::from_millis(10));
    // Guards against a recovery that never ends; the figure is not a timing requirement.
    tokio::time::timeout(Duration::from_secs(60), gw.recovery_finished())
        .await
        .expect("the background recovery never finished");
    let raw = |key: &SessionKey| store.events_after(key, Seq::ZERO, 1000, true).unwrap();
    assert!(
        raw(&lost).iter().any(|e| matches!(
            &e.body,
            RecordBody::Notice {
                about: Some(NoticeAbout::NotRun),
                ..
            }
        )),
        "{:?}",
        raw(&lost)
    );
    assert!(
        raw(&open).iter().any(|e| matches!(
            &e.body,
            RecordBody::RunFinished { run_id, outcome: RunOutcome::Interrupted, .. } if *run_id == run
        )),
        "{:?}",
        raw(&open)
    );
    assert!(store.unfinished_runs().unwrap().is_empty());
    assert_eq!(raw(&clean).len(), 2, "{:?}", raw(&clean));
    gw.shutdown().await;
}

#[tokio::test]
async fn a_background_request_left_without_a_run_gets_its_own_notice_at_restart() {
    let store = crate::store::Store::open_in_memory().unwrap();
    let gw = gateway_on(store.clone(), Duration::from_millis(10));
    let key = gw.create_session().unwrap().key;
    for body in [
        RecordBody::UserMessage {
            text: "typed".into(),
            client_id: "c1".into(),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
        RecordBody::BackgroundRequest {
            origin: "schedule nightly".into(),
            prompt: "/say x".into(),
        },
    ] {
        gw.emit(&key, None, false, body, None).unwrap();
    }
    gw.shutdown().await;
    let gw = gateway_on(store.clone(), Duration::from_millis(10));
    assert_eq!(
        notices(&gw, &key),
        vec![
            "1 message was not run because the server stopped before its turn came. Send it again to run it.".to_owned(),
            "1 background request was not run because the server stopped before it started.".to_owned(),
        ]
    );
    gw.shutdown().await;
    let gw = gateway_on(store, Duration::from_millis(10));
    assert_eq!(notices(&gw, &key).len(), 2);
    gw.shutdown().await;
}

#[tokio::test]
async fn stop_keeps_queued_background_requests_and_shutdown_starts_nothing_queued() {
    let gw = gateway_on(
        crate::store::Store::open_in_memory().unwrap(),
        Duration::from_secs(600),
    );
    let key = gw.create_session().unwrap().key;
    gw.send(&key, "c0", "first").unwrap();
    let bg = gw.start_background(&key, "api", "/say x", "r1").unwrap();
    assert_eq!(bg.start, Some(RunStart::Queued));
    gw.send(&key, "c1", "second").unwrap();
    assert!(gw.stop(&key));
    assert_eq!(
        notices(&gw, &key),
        vec!["Stopped: 1 queued message was not run. Send it again to run it.".to_owned()]
    );
    assert!(gw.background_queued(&key, "api"));
    // Shutting down closes the first run; the queued background request must not start.
    gw.shutdown().await;
    let started = gw
        .store()
        .events_after(&key, Seq::ZERO, 1000, true)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.body, RecordBody::RunStarted { .. }))
        .count();
    assert_eq!(started, 1);
}

#[tokio::test]
async fn a_late_tool_call_from_an_ended_turn_is_not_taken_for_the_next_run() {
    let gw = offline_gateway();
    let key = gw.create_session().unwrap().key;
    let first = bind_run(&gw, &key, RunSource::Background);
    // A call naming another turn than the run's own belongs to no run.
    let other = gw
        .message_tool_call(
            &"t1".into(),
            &"u0".into(),
            &CallId::from("c0"),
            &json!({"action": "send", "message": "x"}),
        )
        .await;
    assert_eq!(other["success"], false);
    gw.finish_run(&key, &first, RunOutcome::Interrupted, None);
    // The next run (a WebChat one, with a sink) is bound, its turn not known yet.
    bind_run_on(&gw, &key, RunSource::WebChat, None);
    let late = gw
        .message_tool_call(
            &"t1".into(),
            &"u1".into(),
            &CallId::from("c1"),
            &json!({"action": "send", "message": "late"}),
        )
        .await;
    assert_eq!(late["success"], false);
    assert!(replies(&gw, &key).is_empty());
    let own = gw
        .message_tool_call(
            &"t1".into(),
            &"u2".into(),
            &CallId::from("c2"),
            &json!({"action": "send", "message": "mine"}),
        )
        .await;
    assert_eq!(own["success"], true);
    assert_eq!(replies(&gw, &key), vec!["mine".to_owned()]);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_repeated_call_id_in_flight_waits_for_the_first_and_delivers_once() {
    let gw = gateway_with_test_channel();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::Background);
    let args = json!({"action": "send", "message": "x", "channel": "test", "target": "counted"});
    let (a, b) = tokio::join!(call(&gw, "c1", args.clone()), call(&gw, "c1", args));
    assert_eq!(a, b);
    assert_eq!(cards(&gw, &key).len(), 1);
    assert_eq!(COUNTED.load(std::sync::atomic::Ordering::SeqCst), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_long_history_is_paged_from_the_first_message_inside_the_window() {
    use app::api::PageSource;
    let gw = offline_gateway();
    let key = gw.create_session().unwrap().key;
    // 600 exchanges of 3 events: a message, a reply, a notice (1,800 events).
    for i in 0..600 {
        for body in [
            RecordBody::UserMessage {
                text: format!("m{i}"),
                client_id: format!("c{i}"),
                source: Default::default(),
                steered: false,
                images: Vec::new(),
            },
            RecordBody::AssistantMessage {
                text: format!("r{i}"),
                call_id: None,
            },
            RecordBody::Notice {
                level: NoticeLevel::Info,
                text: format!("n{i}"),
                about: None,
            },
        ] {
            gw.emit(&key, None, false, body, None).unwrap();
        }
    }
    let page = gw.page(&key, false, 1_000, None).unwrap();
    // The window's edge (seq 800) falls inside an exchange; the page starts at the next
    // message, seq 802 (messages are 1, 4, 7, ...).
    assert_eq!(page.earlier, 801);
    assert_eq!(page.events[0].seq, Seq(802));
    assert!(
        matches!(&page.events[0].body, app::wire::EventBody::UserMessage { text, .. } if text == "m267")
    );
    assert_eq!(page.events.len(), 999);
    assert_eq!(page.last_seq, Seq(1_800));
    assert_eq!(page.window, 1_000);
    // A window as large as the history shows all of it.
    let all = gw.page(&key, false, 4_000, None).unwrap();
    assert_eq!((all.earlier, all.events.len()), (0, 1_800));
    // One run longer than the window: the page starts at the window's edge.
    let long = gw.create_session().unwrap().key;
    for i in 0..50 {
        gw.emit(
            &long,
            None,
            false,
            RecordBody::Notice {
                level: NoticeLevel::Info,
                text: format!("n{i}"),
                about: None,
            },
            None,
        )
        .unwrap();
    }
    let page = gw.page(&long, false, 20, None).unwrap();
    assert_eq!((page.earlier, page.events.len()), (30, 20));
    gw.shutdown().await;
}

#[tokio::test]
async fn stop_with_queued_messages_says_they_were_not_run() {
    // Codex never comes up within the test, so the first run stays in set-up and the
    // next two sends queue behind it.
    let gw = gateway_on(
        crate::store::Store::open_in_memory().unwrap(),
        Duration::from_secs(600),
    );
    let key = gw.create_session().unwrap().key;
    for (i, text) in ["first", "second", "third"].iter().enumerate() {
        gw.send(&key, &format!("c{i}"), text).unwrap();
    }
    assert!(gw.stop(&key));
    let found = notices(&gw, &key);
    assert_eq!(
        found,
        vec!["Stopped: 2 queued messages were not run. Send them again to run them.".to_owned()]
    );
    gw.shutdown().await;
}

/// Makes a run of `source` the session's active run (replacing any), on thread `t1` with turn
/// `u1`. Returns its id.
fn bind_run(gw: &Gateway, key: &SessionKey, source: RunSource) -> RunId {
    bind_run_on(gw, key, source, Some("u1"))
}

/// [`bind_run`], with the turn Codex has named so far.
fn bind_run_on(gw: &Gateway, key: &SessionKey, source: RunSource, turn: Option<&str>) -> RunId {
    let mut runs = lock(&gw.inner.runs);
    let id = runs.claim(key, source);
    assert!(runs.bind_thread(key, &id, &"t1".into(), None, None));
    if let Some(turn) = turn {
        let run = runs.run_mut(key, &id).unwrap();
        let _ = run.advance(Step::TurnKnown(turn.into(), Instant::now()));
    }
    id
}

fn replies(gw: &Gateway, key: &SessionKey) -> Vec<String> {
    gw.store()
        .events_after(key, Seq::ZERO, 1000, true)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            RecordBody::AssistantMessage { text, .. } => Some(text),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn message_tool_mirror_is_written_once_and_a_repeated_call_id_gets_the_stored_result() {
    let gw = offline_gateway();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::WebChat);
    let args = json!({"action": "send", "message": "hello there"});
    let first = gw
        .message_tool_call(&"t1".into(), &"u1".into(), &CallId::from("call-1"), &args)
        .await;
    let again = gw
        .message_tool_call(&"t1".into(), &"u1".into(), &CallId::from("call-1"), &args)
        .await;
    assert_eq!(first, again);
    assert_eq!(first["success"], true);
    assert_eq!(first["contentItems"][0]["text"], delivery::SINK_TEXT);
    // The model is not fed its own words back.
    assert!(!first.to_string().contains("hello there"));
    assert_eq!(replies(&gw, &key), vec!["hello there".to_owned()]);
    // A different call id is a different reply.
    gw.message_tool_call(&"t1".into(), &"u1".into(), &CallId::from("call-2"), &args)
        .await;
    assert_eq!(replies(&gw, &key).len(), 2);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_background_run_has_no_sink_and_stores_no_reply() {
    let gw = offline_gateway();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::Background);
    let out = gw
        .message_tool_call(
            &"t1".into(),
            &"u1".into(),
            &CallId::from("call-1"),
            &json!({"action": "send", "message": "x"}),
        )
        .await;
    assert_eq!(out["success"], false);
    assert_eq!(out["contentItems"][0]["text"], delivery::REQUIRES_TARGET);
    assert!(replies(&gw, &key).is_empty());
    gw.shutdown().await;
}

#[tokio::test]
async fn explicit_sends_go_to_the_router_and_unknown_channels_are_clear_errors() {
    let gw = offline_gateway();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::WebChat);
    let out = gw
        .message_tool_call(
            &"t1".into(),
            &"u1".into(),
            &CallId::from("call-1"),
            &json!({"action": "send", "message": "x", "channel": "slack", "target": "ops"}),
        )
        .await;
    assert_eq!(out["success"], false);
    assert!(out["contentItems"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Unknown channel: slack"));
    assert!(replies(&gw, &key).is_empty());
    gw.shutdown().await;
}

#[tokio::test]
async fn a_tool_call_for_a_thread_without_a_run_is_answered_with_an_error() {
    let gw = offline_gateway();
    let out = gw
        .message_tool_call(
            &"unknown-thread".into(),
            &"u1".into(),
            &CallId::from("c"),
            &json!({"action": "send", "message": "x"}),
        )
        .await;
    assert_eq!(out["success"], false);
    gw.shutdown().await;
}

/// A channel that accepts every target except `down`, with one attempt.
struct Accepting;

/// Deliveries to the target `counted` (only one test uses it).
static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl crate::channels::Channel for Accepting {
    fn deliver<'a>(
        &'a self,
        message: OutboundMessage<'a>,
    ) -> futures::future::BoxFuture<'a, crate::channels::DeliveryReport> {
        Box::pin(async move {
            if message.target == "counted" {
                COUNTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Still delivering when a repeat of the call arrives.
                tokio::task::yield_now().await;
            }
            let ok = message.target != "down";
            crate::channels::DeliveryReport {
                channel: "test".into(),
                target: message.target.into(),
                attempts: vec![crate::channels::Attempt {
                    n: 1,
                    status: Some(if ok { 200 } else { 503 }),
                    error: None,
                    elapsed_ms: 0,
                }],
                outcome: if ok {
                    Ok(format!("Sent to test:{}.", message.target))
                } else {
                    Err(crate::channels::OutboundError::Failed {
                        channel: "test".into(),
                        target: message.target.into(),
                        reason: "HTTP 503".into(),
                    })
                },
            }
        })
    }
}

fn gateway_with_test_channel() -> Gateway {
    gateway_with(
        crate::store::Store::open_in_memory().unwrap(),
        Duration::from_millis(10),
        crate::channels::Outbound::default().with_channel("test", std::sync::Arc::new(Accepting)),
    )
}

/// Every delivery card of the session: (channel, target, sent, detail).
fn cards(gw: &Gateway, key: &SessionKey) -> Vec<(String, String, bool, String)> {
    gw.store()
        .events_after(key, Seq::ZERO, 1000, true)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            RecordBody::Delivery {
                channel,
                target,
                status,
                detail,
                ..
                // Outcomes only; a `sending` card is completed by its outcome.
            } if status != DeliveryStatus::Sending => {
                Some((channel, target, status == DeliveryStatus::Sent, detail))
            }
            _ => None,
        })
        .collect()
}

fn last_channel(gw: &Gateway, key: &SessionKey) -> Option<String> {
    gw.session(key).unwrap().last_channel
}

async fn call(gw: &Gateway, id: &str, args: Value) -> Value {
    gw.message_tool_call(&"t1".into(), &"u1".into(), &CallId::from(id), &args)
        .await
}

#[tokio::test]
async fn webchat_turns_never_set_the_last_channel_but_background_runs_do() {
    let gw = gateway_with_test_channel();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::WebChat);
    let sent = call(
        &gw,
        "c1",
        json!({"action": "send", "message": "x", "channel": "test", "target": "ops"}),
    )
    .await;
    assert_eq!(sent["success"], true);
    assert_eq!(last_channel(&gw, &key), None);
    assert_eq!(
        cards(&gw, &key),
        vec![(
            "test".into(),
            "ops".into(),
            true,
            "Sent to test:ops.".into()
        )]
    );

    bind_run(&gw, &key, RunSource::Background);
    // A failed delivery does not become the last channel either.
    let failed = call(
        &gw,
        "c2",
        json!({"action": "send", "message": "x", "channel": "test", "target": "down"}),
    )
    .await;
    assert_eq!(failed["success"], false);
    assert_eq!(last_channel(&gw, &key), None);
    call(
        &gw,
        "c3",
        json!({"action": "send", "message": "x", "channel": "test", "target": "digest"}),
    )
    .await;
    assert_eq!(last_channel(&gw, &key).as_deref(), Some("test:digest"));
    gw.shutdown().await;
}

#[tokio::test]
async fn channel_last_uses_the_last_route_and_is_a_clear_error_without_one() {
    let gw = gateway_with_test_channel();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::Background);
    let none = call(
        &gw,
        "c1",
        json!({"action": "send", "message": "x", "channel": "last"}),
    )
    .await;
    assert_eq!(none["success"], false);
    assert_eq!(none["contentItems"][0]["text"], delivery::NO_LAST_ROUTE);
    call(
        &gw,
        "c2",
        json!({"action": "send", "message": "x", "channel": "test", "target": "digest"}),
    )
    .await;
    let via_last = call(
        &gw,
        "c3",
        json!({"action": "send", "message": "y", "channel": "last"}),
    )
    .await;
    assert_eq!(via_last["success"], true);
    // WebChat turns never use it, even when they ask.
    bind_run(&gw, &key, RunSource::WebChat);
    let from_chat = call(
        &gw,
        "c4",
        json!({"action": "send", "message": "z", "channel": "LAST", "target": "ops"}),
    )
    .await;
    assert_eq!(from_chat["success"], false);
    assert_eq!(
        from_chat["contentItems"][0]["text"],
        delivery::LAST_FROM_WEBCHAT
    );
    assert_eq!(last_channel(&gw, &key).as_deref(), Some("test:digest"));
    let got: Vec<(String, String, bool)> = cards(&gw, &key)
        .into_iter()
        .map(|(c, t, sent, _)| (c, t, sent))
        .collect();
    assert_eq!(
        got,
        vec![
            ("last".into(), "".into(), false),
            ("test".into(), "digest".into(), true),
            ("test".into(), "digest".into(), true),
            ("LAST".into(), "ops".into(), false),
        ]
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn refused_sends_leave_one_failed_card_with_the_error() {
    let gw = gateway_with_test_channel();
    let key = gw.create_session().unwrap().key;
    bind_run(&gw, &key, RunSource::Background);
    let args = json!({"action": "send", "message": "x"});
    call(&gw, "c1", args.clone()).await;
    call(&gw, "c1", args).await;
    bind_run(&gw, &key, RunSource::WebChat);
    call(
        &gw,
        "c2",
        json!({"action": "send", "message": "x", "channel": "webchat", "target": "x"}),
    )
    .await;
    let got = cards(&gw, &key);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        (
            "".into(),
            "".into(),
            false,
            delivery::REQUIRES_TARGET.into()
        )
    );
    assert_eq!(
        (got[1].0.as_str(), got[1].1.as_str(), got[1].2),
        ("webchat", "x", false)
    );
    assert!(
        got[1].3.contains("not a deliverable channel"),
        "{}",
        got[1].3
    );
    gw.shutdown().await;
}
