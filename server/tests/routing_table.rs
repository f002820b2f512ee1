//! The delivery rules as one table: every run source (WebChat, terminal, background) × delivery mode ×
//! form of the send's route × whether the named channel is configured × whether the session has
//! a last route. Each row states its expected outcome literally, so a change to any rule shows up
//! as the exact rows it changes.

use std::sync::Arc;

use codex_webchat::channels::{Attempt, Channel, DeliveryReport, Outbound, OutboundMessage};
use codex_webchat::gateway::delivery::{
    route, DeliveryMode, LastRoute, Route, RunContext, RunSource, SendArgs, LAST_FROM_WEBCHAT,
    NO_LAST_ROUTE, REQUIRES_TARGET,
};
use futures::future::BoxFuture;
use serde_json::{json, Value};

/// A channel that delivers everything.
struct Ok200;

impl Channel for Ok200 {
    fn deliver<'a>(&'a self, m: OutboundMessage<'a>) -> BoxFuture<'a, DeliveryReport> {
        Box::pin(async move {
            DeliveryReport {
                channel: String::new(),
                target: m.target.to_owned(),
                attempts: vec![Attempt {
                    n: 1,
                    status: Some(200),
                    error: None,
                    elapsed_ms: 0,
                }],
                outcome: Ok("sent".to_owned()),
            }
        })
    }
}

/// What happened to a send, end to end (route, then the router).
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Delivered to the current run (the internal UI sink).
    Sink,
    /// Delivered by the router to `channel:target`.
    Sent(&'static str, &'static str),
    /// Refused with an error starting with this text.
    Refused(&'static str),
}

use Outcome::{Refused, Sent, Sink};

const UNKNOWN_CHANNEL: &str = "Unknown channel: webhook. Configured channels: none.";
const NOT_DELIVERABLE: &str = "webchat is not a deliverable channel";
const TUI_NOT_DELIVERABLE: &str = "tui is not a deliverable channel";

/// The forms of route a send can carry.
fn forms() -> Vec<(&'static str, Value)> {
    vec![
        ("targetless", json!({})),
        (
            "channel+target",
            json!({"channel": "webhook", "target": "ops"}),
        ),
        ("channelId+to", json!({"channelId": "webhook", "to": "ops"})),
        ("channel only", json!({"channel": "webhook"})),
        ("target only", json!({"target": "ops"})),
        ("targets only", json!({"targets": ["ops"]})),
        (
            "blank strings",
            json!({"channel": " ", "target": "", "targets": [" "]}),
        ),
        (
            "webchat channel",
            json!({"channel": "webchat", "target": "x"}),
        ),
        ("tui channel", json!({"channel": "TUI", "target": "x"})),
        ("last", json!({"channel": "last"})),
        (
            "last + target",
            json!({"channel": "last", "target": "alerts"}),
        ),
    ]
}

/// The expected outcome: one literal row per combination that differs.
fn expected(
    source: RunSource,
    mode: DeliveryMode,
    form: &str,
    configured: bool,
    has_last: bool,
) -> Outcome {
    let internal_ui = matches!(source, RunSource::WebChat | RunSource::Tui);
    let sink_applies = internal_ui && mode == DeliveryMode::MessageToolOnly;
    match (form, configured, has_last) {
        ("targetless" | "blank strings", ..) if sink_applies => Sink,
        ("targetless" | "blank strings", ..) => Refused(REQUIRES_TARGET),
        ("channel+target" | "channelId+to", true, _) => Sent("webhook", "ops"),
        ("channel+target" | "channelId+to", false, _) => Refused(UNKNOWN_CHANNEL),
        ("channel only" | "target only" | "targets only", ..) => Refused(REQUIRES_TARGET),
        ("webchat channel", ..) => Refused(NOT_DELIVERABLE),
        ("tui channel", ..) => Refused(TUI_NOT_DELIVERABLE),
        ("last" | "last + target", ..) if internal_ui => Refused(LAST_FROM_WEBCHAT),
        ("last" | "last + target", _, false) => Refused(NO_LAST_ROUTE),
        ("last", true, true) => Sent("webhook", "digest"),
        ("last + target", true, true) => Sent("webhook", "alerts"),
        ("last" | "last + target", false, true) => Refused(UNKNOWN_CHANNEL),
        (other, ..) => panic!("no expectation for form {other}"),
    }
}

async fn outcome(ctx: &RunContext, args: &Value, out: &Outbound) -> Outcome {
    let mut v = args.clone();
    v["action"] = json!("send");
    v["message"] = json!("hi");
    match route(ctx, &SendArgs::from_value(&v)) {
        Route::CurrentRun { text } => {
            assert_eq!(text, "hi");
            Sink
        }
        Route::Outbound {
            channel,
            target,
            text,
        } => {
            assert_eq!(text, "hi");
            let report = out
                .deliver_reported(
                    &channel,
                    OutboundMessage {
                        target: &target,
                        text: &text,
                        session: Some("main"),
                    },
                )
                .await;
            match report.outcome {
                Ok(_) => Sent(leak(report.channel), leak(report.target)),
                Err(e) => Refused(leak(e.to_string())),
            }
        }
        Route::Reject(msg) => Refused(leak(msg)),
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `Refused(prefix)` matches any error starting with `prefix`.
fn matches(want: &Outcome, got: &Outcome) -> bool {
    match (want, got) {
        (Refused(w), Refused(g)) => g.starts_with(w),
        _ => want == got,
    }
}

#[tokio::test]
async fn every_combination_of_source_mode_route_form_and_configuration() {
    let configured = Outbound::default().with_channel("webhook", Arc::new(Ok200));
    let unconfigured = Outbound::default();
    let mut rows = 0;
    let mut failures = Vec::new();
    for source in [RunSource::WebChat, RunSource::Tui, RunSource::Background] {
        for mode in [DeliveryMode::MessageToolOnly, DeliveryMode::Automatic] {
            for has_last in [false, true] {
                let ctx = RunContext {
                    source,
                    mode,
                    session_key: "main".into(),
                    last_route: has_last.then(|| LastRoute {
                        channel: "webhook".into(),
                        target: "digest".into(),
                    }),
                };
                for (form, args) in forms() {
                    for is_configured in [false, true] {
                        let out = if is_configured {
                            &configured
                        } else {
                            &unconfigured
                        };
                        let want = expected(source, mode, form, is_configured, has_last);
                        let got = outcome(&ctx, &args, out).await;
                        rows += 1;
                        if !matches(&want, &got) {
                            failures.push(format!(
                                "{source:?} {mode:?} {form} configured={is_configured} last={has_last}: want {want:?}, got {got:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(rows, 3 * 2 * 2 * 11 * 2);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_blank_session_key_never_gets_the_sink() {
    let ctx = RunContext {
        source: RunSource::WebChat,
        mode: DeliveryMode::MessageToolOnly,
        session_key: " ".into(),
        last_route: None,
    };
    let args = SendArgs::from_value(&json!({"action": "send", "message": "hi"}));
    assert_eq!(route(&ctx, &args), Route::Reject(REQUIRES_TARGET.into()));
}
