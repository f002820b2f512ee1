//! The webhook channel against a loopback receiver: retries on 5xx, none on 4xx, connection
//! errors, bounded timeouts, headers and body, unknown targets, and the attempt reports that the
//! transcript records.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::wire::DeliveryStatus;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use codex_webchat::channels::webhook::{RetryPolicy, WebhookChannel, WebhookConfig, WebhookTarget};
use codex_webchat::channels::{ChannelsConfig, DeliveryReport, OutboundMessage};
use codex_webchat::store::RecordBody;
use serde_json::{json, Value};

/// One request the receiver got.
struct Hit {
    headers: HeaderMap,
    body: Value,
}

/// A loopback webhook receiver: answers with the scripted statuses in order (then 200), or never.
#[derive(Clone)]
struct Receiver {
    script: Arc<Mutex<VecDeque<u16>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
    hang: bool,
}

impl Receiver {
    fn hits(&self) -> std::sync::MutexGuard<'_, Vec<Hit>> {
        self.hits.lock().unwrap()
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    r.hits.lock().unwrap().push(Hit {
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    if r.hang {
        // Accepts the request and never answers: only the sender's timeout ends the attempt.
        std::future::pending::<()>().await;
    }
    let code = r.script.lock().unwrap().pop_front().unwrap_or(200);
    let status = StatusCode::from_u16(code).unwrap();
    match code {
        300..=399 => (status, [("location", "http://127.0.0.1:9/elsewhere")], "").into_response(),
        200..=299 => (status, "ok").into_response(),
        _ => (status, "no such hook").into_response(),
    }
}

/// Starts a receiver; returns its hook URL (with a secret-looking path) and its record.
async fn receiver(script: &[u16], hang: bool) -> (String, Receiver) {
    let r = Receiver {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        hits: Arc::default(),
        hang,
    };
    let app = Router::new()
        .route("/hooks/s3cret-token", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hooks/s3cret-token"), r)
}

fn config(url: &str, headers: &[(&str, &str)]) -> WebhookConfig {
    WebhookConfig {
        targets: BTreeMap::from([(
            "ops".to_owned(),
            WebhookTarget {
                url: url.to_owned(),
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
        )]),
        ..WebhookConfig::default()
    }
}

/// Short waits so failures take milliseconds; the shape of the policy is the production one.
fn fast(max_attempts: u32, attempt_timeout: Duration, total_timeout: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        attempt_timeout,
        total_timeout,
        first_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

fn channel(url: &str, policy: RetryPolicy) -> WebhookChannel {
    WebhookChannel::new(&config(url, &[]))
        .unwrap()
        .with_policy(policy)
}

async fn send(ch: &WebhookChannel, target: &str) -> DeliveryReport {
    ch.send(OutboundMessage {
        target,
        text: "hi",
        session: Some("main"),
    })
    .await
}

fn statuses(r: &DeliveryReport) -> Vec<Option<u16>> {
    r.attempts.iter().map(|a| a.status).collect()
}

/// Nothing the channel reports may contain the hook URL's secret path.
fn assert_no_secret(r: &DeliveryReport) {
    let all = format!("{:?} {}", r, r.internal_detail());
    assert!(!all.contains("s3cret"), "secret leaked: {all}");
}

#[tokio::test]
async fn server_errors_are_retried_until_success_and_every_attempt_is_reported() {
    let (url, rx) = receiver(&[500, 503], false).await;
    let ch = channel(
        &url,
        fast(3, Duration::from_secs(5), Duration::from_secs(10)),
    );
    let report = send(&ch, "ops").await;
    assert_eq!(
        report.outcome,
        Ok("Sent to webhook:ops (HTTP 200 after 3 attempts).".to_owned())
    );
    assert_eq!(statuses(&report), vec![Some(500), Some(503), Some(200)]);
    assert_eq!(
        report.attempts.iter().map(|a| a.n).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        report.attempts[0].error.as_deref(),
        Some("HTTP 500 Internal Server Error: no such hook")
    );
    assert!(report.attempts[1]
        .error
        .as_deref()
        .unwrap()
        .starts_with("HTTP 503"));
    assert_eq!(report.attempts[2].error, None);
    assert_eq!(
        report.event_body(None),
        RecordBody::Delivery {
            channel: "webhook".into(),
            target: "ops".into(),
            status: DeliveryStatus::Sent,
            attempts: 3,
            detail: "Sent to webhook:ops (HTTP 200 after 3 attempts).".into(),
            updates: None,
        }
    );
    let detail = report.internal_detail();
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(detail["attempts"][1]["status"], 503);
    // The same body every time.
    let hits = rx.hits();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.body == hits[0].body));
    assert_no_secret(&report);
}

#[tokio::test]
async fn a_first_time_success_is_one_attempt() {
    let (url, rx) = receiver(&[], false).await;
    let report = send(
        &channel(
            &url,
            fast(3, Duration::from_secs(5), Duration::from_secs(10)),
        ),
        "OPS",
    )
    .await;
    // Target names match case-insensitively; the report uses the configured spelling.
    assert_eq!(
        report.outcome,
        Ok("Sent to webhook:ops (HTTP 200).".to_owned())
    );
    assert_eq!(report.target, "ops");
    assert_eq!(statuses(&report), vec![Some(200)]);
    assert_eq!(rx.hits().len(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (url, rx) = receiver(&[404, 500], false).await;
    let report = send(
        &channel(
            &url,
            fast(3, Duration::from_secs(5), Duration::from_secs(10)),
        ),
        "ops",
    )
    .await;
    assert_eq!(statuses(&report), vec![Some(404)]);
    assert_eq!(
        report.model_text(),
        "Delivery to webhook:ops failed: HTTP 404 Not Found: no such hook (1 attempt)"
    );
    assert_eq!(rx.hits().len(), 1);
    match report.event_body(None) {
        RecordBody::Delivery {
            status, attempts, ..
        } => assert_eq!((status, attempts), (DeliveryStatus::Failed, 1)),
        other => panic!("expected a delivery, got {other:?}"),
    }
    assert_no_secret(&report);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (url, rx) = receiver(&[302], false).await;
    let report = send(
        &channel(
            &url,
            fast(3, Duration::from_secs(5), Duration::from_secs(10)),
        ),
        "ops",
    )
    .await;
    assert_eq!(statuses(&report), vec![Some(302)]);
    assert!(
        report.model_text().contains("redirects are not followed"),
        "{}",
        report.model_text()
    );
    assert_eq!(rx.hits().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_then_fail() {
    // A port that was just free: nothing listens, so every connect is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hooks/s3cret-token");
    let report = send(
        &channel(
            &url,
            fast(3, Duration::from_secs(5), Duration::from_secs(10)),
        ),
        "ops",
    )
    .await;
    assert_eq!(statuses(&report), vec![None, None, None]);
    for a in &report.attempts {
        let e = a.error.as_deref().unwrap();
        // The root cause, not reqwest's layers ("error sending request: client error ...").
        assert!(e.starts_with("connection failed: "), "{e}");
        assert!(
            e.contains("refused") && !e.contains("error sending request"),
            "{e}"
        );
    }
    let text = report.model_text();
    assert!(
        text.starts_with("Delivery to webhook:ops failed: connection failed: "),
        "{text}"
    );
    assert!(text.ends_with("(3 attempts)"), "{text}");
    assert!(!report.is_sent());
    assert_no_secret(&report);
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_bounded_per_attempt() {
    // The receiver never answers, so only the per-attempt limit ends an attempt; the limit is
    // long enough for the request to arrive on a busy machine (each arrival is checked below),
    // and the total far longer still, so what ends the send cannot depend on speed.
    let (url, rx) = receiver(&[], true).await;
    let started = Instant::now();
    let report = send(
        &channel(
            &url,
            fast(2, Duration::from_secs(1), Duration::from_secs(120)),
        ),
        "ops",
    )
    .await;
    let took = started.elapsed();
    assert_eq!(statuses(&report), vec![None, None]);
    for a in &report.attempts {
        assert_eq!(a.error.as_deref(), Some("no response within 1s"));
        assert!(a.elapsed_ms >= 1_000 && a.elapsed_ms < 60_000, "{a:?}");
    }
    assert_eq!(
        report.model_text(),
        "Delivery to webhook:ops failed: no response within 1s (2 attempts)"
    );
    // Two attempts' worth, not the total's.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    // Both requests did arrive: a timeout is retried, so delivery is at least once.
    assert_eq!(rx.hits().len(), 2);
}

#[tokio::test]
async fn the_whole_send_is_bounded_by_the_total_timeout() {
    // The receiver never answers and one attempt may take far longer than the total: only the
    // total can end the send, however busy the machine.
    let (url, _rx) = receiver(&[], true).await;
    let started = Instant::now();
    let report = send(
        &channel(
            &url,
            fast(3, Duration::from_secs(120), Duration::from_millis(300)),
        ),
        "ops",
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
    // The only attempt got what was left of the total (a hair under 300ms), and there was no
    // time for another.
    assert_eq!(statuses(&report), vec![None]);
    let text = report.model_text();
    assert!(
        text.starts_with("Delivery to webhook:ops failed: no response within "),
        "{text}"
    );
    assert!(
        text.ends_with("(1 attempt; no time left for another within 300ms)"),
        "{text}"
    );
}

#[tokio::test]
async fn configured_headers_and_the_json_body_are_sent() {
    let (url, rx) = receiver(&[], false).await;
    let ch = WebhookChannel::new(&config(
        &url,
        &[("Authorization", "Bearer t0ken"), ("X-Team", "ops")],
    ))
    .unwrap();
    let report = send(&ch, "ops").await;
    assert!(report.is_sent(), "{report:?}");
    let hits = rx.hits();
    let h = &hits[0];
    assert_eq!(h.headers["authorization"], "Bearer t0ken");
    assert_eq!(h.headers["x-team"], "ops");
    assert_eq!(h.headers["content-type"], "application/json");
    assert!(h.headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("codex-webchat/"));
    assert_eq!(
        h.body,
        json!({"text": "hi", "content": "hi", "target": "ops", "session": "main"})
    );
    // Nothing about the header values reaches the report.
    assert!(!format!("{report:?}").contains("t0ken"));
}

#[tokio::test]
async fn the_router_reports_unknown_targets_and_channels_clearly() {
    let (url, rx) = receiver(&[], false).await;
    let channels: ChannelsConfig = toml::from_str(&format!(
        "[webhook.targets.ops]\nurl = \"{url}\"\n\n[webhook.targets.alerts]\nurl = \"{url}\"\n"
    ))
    .unwrap();
    let out = channels.outbound().unwrap();
    let msg = |target| OutboundMessage {
        target,
        text: "hi",
        session: None,
    };
    let report = out.deliver_reported("webhook", msg("x")).await;
    assert!(report.attempts.is_empty());
    assert_eq!(
        report.model_text(),
        "Unknown webhook target: x. Configured targets: alerts, ops."
    );
    assert_eq!(
        out.deliver("slack", "ops", "hi")
            .await
            .unwrap_err()
            .to_string(),
        "Unknown channel: slack. Configured channels: webhook."
    );
    // The router never knows the WebChat (the delivery rules refuse it before this point).
    assert!(out.deliver("webchat", "ops", "hi").await.is_err());
    assert_eq!(rx.hits().len(), 0);
    // And the configured one goes through, body without a session when there is none.
    assert_eq!(
        out.deliver("Webhook", "ops", "hi").await,
        Ok("Sent to webhook:ops (HTTP 200).".to_owned())
    );
    assert_eq!(
        rx.hits()[0].body,
        json!({"text": "hi", "content": "hi", "target": "ops"})
    );
}
