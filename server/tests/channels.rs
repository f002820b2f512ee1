//! Outbound channels and background runs end to end, with the real Codex binary and the demo
//! model: explicit webhook sends reach a loopback receiver and leave a delivery card, `webchat` is
//! refused as a channel, background runs (the API, a schedule's fire) have no internal sink, and
//! only their deliveries move the session's last channel.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::wire::{DeliveryStatus, Event, EventBody, Seq, SessionKey};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use codex_webchat::channels::webhook::{WebhookConfig, WebhookTarget};
use codex_webchat::channels::ChannelsConfig;
use codex_webchat::gateway::delivery::{LAST_FROM_WEBCHAT, NO_LAST_ROUTE, REQUIRES_TARGET};
use codex_webchat::schedule::ScheduleConfig;
use codex_webchat::scheduler::Launcher;
use codex_webchat::serve::{self, Running, ScheduleLauncher};
use serde_json::Value;

mod common;

/// A loopback webhook receiver that keeps every body it gets.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    /// Requests `/flaky` got; the first is answered 503.
    flaky_hits: Arc<Mutex<u32>>,
}

impl Receiver {
    fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> &'static str {
    r.bodies.lock().unwrap().push(body);
    "ok"
}

async fn receive_flaky(
    State(r): State<Receiver>,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, &'static str) {
    let first = {
        let mut hits = r.flaky_hits.lock().unwrap();
        *hits += 1;
        *hits == 1
    };
    if first {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try again");
    }
    r.bodies.lock().unwrap().push(body);
    (axum::http::StatusCode::OK, "ok")
}

/// A server whose webhook channel has one target, `ops`, pointing at a fresh receiver.
async fn start() -> (Running, Receiver, tempfile::TempDir) {
    let receiver = Receiver::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .route("/flaky", post(receive_flaky))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = common::data_dir("channels");
    let mut webhook = WebhookConfig::default();
    for (name, path) in [("ops", "/hook"), ("flaky", "/flaky")] {
        webhook.targets.insert(
            name.to_owned(),
            WebhookTarget {
                url: format!("{base}{path}"),
                headers: Default::default(),
            },
        );
    }
    let config = codex_webchat::config::Config {
        channels: ChannelsConfig {
            webhook: Some(webhook),
        },
        ..common::config(dir.path())
    };
    (serve::start(config).await.unwrap(), receiver, dir)
}

/// (channel, target, sent, detail) of every delivery outcome in `events` (a `sending` card is
/// completed by its outcome).
/// An internal event's text: the JSON the server rendered from the stored detail.
fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("an internal event's text is JSON")
}

fn cards(events: &[Event]) -> Vec<(String, String, bool, String)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Delivery {
                channel,
                target,
                status,
                detail,
                ..
            } if *status != DeliveryStatus::Sending => Some((
                channel.clone(),
                target.clone(),
                *status == DeliveryStatus::Sent,
                detail.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// Starts a background run of `prompt` from the API in `key` and returns its events once it has
/// finished.
async fn background(
    server: &Running,
    key: &SessionKey,
    prompt: &str,
    client_id: &str,
) -> Vec<Event> {
    let after = server.gateway.store().last_seq(key).unwrap();
    server
        .gateway
        .start_background(key, "api", prompt, client_id)
        .unwrap();
    until_run_finished(server, key, after).await
}

/// Waits (bounded) until the session's newest run has finished; returns the events after `after`.
async fn until_run_finished(
    server: &Running,
    key: &SessionKey,
    after: app::wire::Seq,
) -> Vec<Event> {
    let mut live = server.gateway.subscribe(key);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let events = server.gateway.events_after(key, after, 10_000).unwrap();
        if events
            .iter()
            .any(|e| matches!(e.body, EventBody::RunFinished { .. }))
        {
            return events;
        }
        tokio::time::timeout_at(deadline, live.recv())
            .await
            .expect("the run did not finish within 90 s")
            .expect("hub closed");
    }
}

#[tokio::test]
async fn a_webchat_webhook_send_is_delivered_with_a_card_and_leaves_the_last_channel_unset() {
    let (server, receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let events = common::turn(&server, &key, "c1", "/send webhook ops hi there").await;
    assert_eq!(receiver.texts(), vec!["hi there".to_owned()]);
    let body = receiver.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["target"], "ops");
    assert_eq!(body["session"], key.as_str());
    let got = cards(&events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str(), got[0].2),
        ("webhook", "ops", true)
    );
    // The card said "sending" before the request was made, and the outcome completes it.
    let sending: Vec<_> = events
        .iter()
        .filter(|e| {
            matches!(&e.body, EventBody::Delivery { status: DeliveryStatus::Sending, channel, target, .. }
                if channel == "webhook" && target == "ops")
        })
        .map(|e| e.seq)
        .collect();
    assert_eq!(sending.len(), 1, "{events:?}");
    assert!(events.iter().any(|e| matches!(&e.body,
        EventBody::Delivery { status: DeliveryStatus::Sent, updates: Some(card), .. }
            if *card == sending[0] && e.seq > *card)));
    // Explicit sends never show up as chat replies, and WebChat turns never set the last channel.
    assert!(common::replies(&events).is_empty());
    assert_eq!(server.gateway.session(&key).unwrap().last_channel, None);
    // Every attempt is kept for show-internals.
    assert!(events.iter().any(|e| e.private
        && matches!(&e.body, EventBody::Internal { label, text }
            if label == "delivery attempts" && json(text)["attempts"][0]["status"] == 200)));
    server.shutdown().await;
}

#[tokio::test]
async fn a_retried_delivery_shows_every_attempt_in_the_transcript() {
    let (server, receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let events = common::turn(&server, &key, "c1", "/send webhook flaky second time lucky").await;
    assert_eq!(receiver.texts(), vec!["second time lucky".to_owned()]);
    let card = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Delivery {
                status, attempts, ..
            } if *status != DeliveryStatus::Sending => Some((*status, *attempts)),
            _ => None,
        })
        .expect("a delivery outcome");
    assert_eq!(card, (DeliveryStatus::Sent, 2));
    let statuses: Vec<Value> = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Internal { label, text } if label == "delivery attempts" => Some(
                json(text)["attempts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["status"].clone())
                    .collect(),
            ),
            _ => None,
        })
        .expect("the attempts");
    assert_eq!(statuses, vec![Value::from(503), Value::from(200)]);
    server.shutdown().await;
}

#[tokio::test]
async fn webchat_is_refused_as_a_channel_and_unknown_targets_are_clear_errors() {
    let (server, receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let events = common::turn(&server, &key, "c1", "/send webchat x hi").await;
    let got = cards(&events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].2), ("webchat", false));
    assert!(
        got[0].3.contains("not a deliverable channel"),
        "{}",
        got[0].3
    );
    let events = common::turn(&server, &key, "c2", "/send webhook nope hi").await;
    let got = cards(&events);
    assert!(
        got[0].3.starts_with("Unknown webhook target: nope."),
        "{}",
        got[0].3
    );
    let events = common::turn(&server, &key, "c3", "/send slack ops hi").await;
    assert!(
        cards(&events)[0]
            .3
            .starts_with("Unknown channel: slack. Configured channels: webhook."),
        "{:?}",
        cards(&events)
    );
    assert!(receiver.texts().is_empty());
    // Refused without a request, so nothing ever said "sending".
    let all = server.gateway.events_after(&key, Seq::ZERO, 1_000).unwrap();
    assert!(!all.iter().any(|e| matches!(
        e.body,
        EventBody::Delivery {
            status: DeliveryStatus::Sending,
            ..
        }
    )));
    server.shutdown().await;
}

#[tokio::test]
async fn a_background_run_has_no_sink_its_webhook_send_works_and_becomes_the_last_channel() {
    let (server, receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let after = server.gateway.store().last_seq(&key).unwrap();
    server
        .gateway
        .start_background(
            &key,
            "api",
            "/say nobody will read this\n/send webhook ops from the background",
            "req-1",
        )
        .unwrap();
    let events = until_run_finished(&server, &key, after).await;
    assert!(matches!(
        &events[0].body,
        EventBody::BackgroundRequest { origin, .. } if origin == "api"
    ));
    assert!(events.iter().any(|e| matches!(
        &e.body,
        EventBody::RunStarted { background: Some(origin), for_seq: Some(seq), .. }
            if origin == "api" && *seq == events[0].seq
    )));
    let got = cards(&events);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        ("".into(), "".into(), false, REQUIRES_TARGET.into())
    );
    assert_eq!(
        (got[1].0.as_str(), got[1].1.as_str(), got[1].2),
        ("webhook", "ops", true)
    );
    assert!(common::replies(&events).is_empty());
    assert_eq!(receiver.texts(), vec!["from the background".to_owned()]);
    assert_eq!(
        server
            .gateway
            .session(&key)
            .unwrap()
            .last_channel
            .as_deref(),
        Some("webhook:ops")
    );

    // A later background run can use it with `channel: "last"`...
    let events = background(&server, &key, "/send last via last", "req-2").await;
    assert!(cards(&events)[0].2, "{:?}", cards(&events));
    assert_eq!(receiver.texts().last().unwrap(), "via last");
    // ...but WebChat turns never inherit it: not when they ask for it...
    let events = common::turn(&server, &key, "c1", "/send last via the chat").await;
    assert_eq!(
        cards(&events),
        vec![("last".into(), "".into(), false, LAST_FROM_WEBCHAT.into())]
    );
    // ...and not for a targetless send, which still goes to the chat.
    let events = common::turn(&server, &key, "c2", "/say just here").await;
    assert_eq!(common::replies(&events), vec!["just here".to_owned()]);
    assert!(cards(&events).is_empty());
    assert_eq!(receiver.texts().len(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_background_runs_model_is_told_nobody_reads_the_chat_and_where_to_deliver() {
    // The thread's standing instructions describe WebChat turns ("a send without channel and
    // target is your reply"), which is wrong for a background run; its turn carries a note that
    // says so, and Codex must pass it on to the model.
    let (server, _receiver, _dir) = start().await;
    let demo = server.demo_model().expect("demo mode");
    let notes = || {
        demo.context_fragments()
            .into_iter()
            .filter(|f| f.starts_with("<codex_webchat_background_run"))
            .collect::<Vec<_>>()
    };
    let key = server.gateway.create_session().unwrap().key;
    let events = common::turn(&server, &key, "c1", "/say typed in the chat").await;
    assert_eq!(
        common::replies(&events),
        vec!["typed in the chat".to_owned()]
    );
    assert_eq!(notes(), Vec::<String>::new(), "WebChat turns carry no note");

    let events = background(&server, &key, "/send webhook ops first", "req-1").await;
    assert!(cards(&events)[0].2, "{:?}", cards(&events));
    let first = notes();
    assert_eq!(first.len(), 1, "{first:?}");
    for part in [
        "This is a background run (api)",
        "a `message` send without channel and target fails",
        "configured: webhook (targets: flaky, ops)",
        "is not usable yet",
    ] {
        assert!(first[0].contains(part), "{part:?} not in {:?}", first[0]);
    }
    assert!(
        !first[0].contains("127.0.0.1"),
        "no webhook URL: {:?}",
        first[0]
    );

    // The next one knows the last channel the first delivered to.
    background(&server, &key, "/send last second", "req-2").await;
    let all = notes();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[1].contains("last channel (webhook:ops)"),
        "{:?}",
        all[1]
    );

    // Whatever it is told, a background run cannot address the WebChat.
    let events = background(&server, &key, "/send webchat x nope", "req-3").await;
    let got = cards(&events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        !got[0].2 && got[0].3.contains("not a deliverable channel"),
        "{got:?}"
    );
    assert!(common::replies(&events).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn channel_last_without_a_last_route_is_refused() {
    let (server, receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    server
        .gateway
        .start_background(&key, "api", "/send last hello", "req-1")
        .unwrap();
    let events = until_run_finished(&server, &key, app::wire::Seq::ZERO).await;
    assert_eq!(
        cards(&events),
        vec![("last".into(), "".into(), false, NO_LAST_ROUTE.into())]
    );
    assert!(receiver.texts().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_schedule_fire_runs_in_its_own_session_once_per_fire_time() {
    let (server, receiver, _dir) = start().await;
    let schedules = codex_webchat::schedule::parse_all(&[ScheduleConfig {
        name: Some("nightly".into()),
        cron: "0 3 * * *".into(),
        session: "ops-digest".into(),
        prompt: "/say no target\n/send webhook ops nightly digest".into(),
    }])
    .unwrap();
    let launcher = ScheduleLauncher(server.gateway.clone());
    let key = SessionKey::parse("ops-digest").unwrap();
    // The session does not exist until the schedule first fires.
    assert!(server.gateway.session(&key).is_err());
    let mut sessions = server.gateway.subscribe_sessions();
    launcher.launch(&schedules[0], 1_000_000);
    sessions.recv().await.unwrap();
    let events = until_run_finished(&server, &key, app::wire::Seq::ZERO).await;
    // The same fire time again (a clock stepped back) changes nothing.
    launcher.launch(&schedules[0], 1_000_000);
    let session = server.gateway.session(&key).unwrap();
    assert_eq!(session.title, "Schedule nightly");
    assert_eq!(session.last_channel.as_deref(), Some("webhook:ops"));
    assert!(matches!(
        &events[0].body,
        EventBody::BackgroundRequest { origin, .. } if origin == "schedule nightly"
    ));
    let got = cards(&events);
    assert_eq!(got[0].3, REQUIRES_TARGET);
    assert!(got[1].2);
    assert_eq!(receiver.texts(), vec!["nightly digest".to_owned()]);
    let all = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 1000)
        .unwrap();
    assert_eq!(
        all.iter()
            .filter(|e| matches!(e.body, EventBody::BackgroundRequest { .. }))
            .count(),
        1
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_runs_api_starts_background_runs_idempotently_and_checks_its_input() {
    let (server, _receiver, _dir) = start().await;
    let key = server.gateway.create_session().unwrap().key;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/v1/sessions/{key}/runs", server.addr);
    let post = |body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let r = http.post(&url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut live = server.gateway.subscribe(&key);
    let (status, first) = post(serde_json::json!({"prompt": "/final ok", "client_id": "a1"})).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["status"], "started");
    let (status, again) = post(serde_json::json!({"prompt": "/final ok", "client_id": "a1"})).await;
    assert_eq!((status, &again["status"]), (200, &Value::from("duplicate")));
    assert_eq!(again["seq"], first["seq"]);
    for (body, want) in [
        (serde_json::json!({"prompt": "  "}), "Message is empty."),
        (
            serde_json::json!({"prompt": "x", "client_id": "../x"}),
            "client_id must be",
        ),
        (serde_json::json!({"text": "x"}), "prompt"),
    ] {
        let (status, reply) = post(body).await;
        assert_eq!(status, 400, "{reply}");
        assert!(reply.to_string().contains(want), "{reply}");
    }
    let missing = http
        .post(format!("http://{}/api/v1/sessions/nope/runs", server.addr))
        .json(&serde_json::json!({"prompt": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    // The run really ran, as a background run.
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(90), live.recv())
            .await
            .expect("no run finished within 90 s")
            .unwrap();
        if let EventBody::RunFinished { .. } = ev.body {
            break;
        }
        if let EventBody::RunStarted { background, .. } = &ev.body {
            assert_eq!(background.as_deref(), Some("api"));
        }
    }
    server.shutdown().await;
}
