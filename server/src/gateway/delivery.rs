//! Message delivery rules: where a `message` tool send goes, and what the model is told.
//!
//! This is the decision only — pure functions of the run's context and the tool arguments, so every
//! rule of `reference/openclaw-behavior.md` §2 is tested here without Codex or a store. Writing the
//! mirror and answering Codex happen in `runs`; outbound channels live in `outbound`.

use serde_json::{json, Value};

pub use crate::store::LastRoute;

/// The exact error for a send that has nowhere to go.
pub const REQUIRES_TARGET: &str = "Action send requires a target.";
/// The model-facing text of a reply delivered to the current run. It must not echo the message.
pub const SINK_TEXT: &str =
    "Sent visible reply to the current source conversation via internal-ui.";
/// The internal UI channel. Never a deliverable outbound channel.
pub const WEBCHAT: &str = "webchat";
/// The terminal client: an internal UI surface like the WebChat, never an outbound channel.
pub const TUI: &str = "tui";
/// The channel name that means "the session's last external channel".
pub const LAST: &str = "last";
/// The error for `channel: "last"` from a WebChat turn, which never inherits the last channel.
pub const LAST_FROM_WEBCHAT: &str = "channel \"last\" is for background runs: WebChat and terminal turns never use the session's last channel. Name a channel and target.";
/// The error for `channel: "last"` in a session that has not delivered anywhere yet.
pub const NO_LAST_ROUTE: &str = "channel \"last\" has nothing to use: this session has not delivered to an external channel yet. Name a channel and target.";

/// Where a run came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSource {
    /// A person typing in the WebChat; the run has a live UI to reply into.
    WebChat,
    /// A person typing in the terminal client (`codex-webchat tui` or `send`): the same internal
    /// UI surface as the WebChat, by the same rules.
    Tui,
    /// No UI: schedules and API-triggered runs.
    Background,
}

impl RunSource {
    /// A person at one of our own clients is waiting in the run: a targetless send is the run's
    /// reply, and the session's last channel is never theirs.
    pub fn is_internal_ui(self) -> bool {
        matches!(self, RunSource::WebChat | RunSource::Tui)
    }
}

/// How a run's replies reach the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// Only what the model sends with the `message` tool is visible; final prose is private.
    MessageToolOnly,
    /// The final assistant text is the reply.
    Automatic,
}

/// What the delivery rules need to know about the run making the call.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub source: RunSource,
    pub mode: DeliveryMode,
    pub session_key: String,
    /// The session's last external channel and target, read when the call arrives. Only
    /// background runs set it and only they may use it (`channel: "last"`).
    pub last_route: Option<LastRoute>,
}

/// The `message` tool's arguments, as the model sent them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendArgs {
    pub action: String,
    pub message: String,
    pub channel: Option<String>,
    pub target: Option<String>,
    pub to: Option<String>,
    pub channel_id: Option<String>,
    pub targets: Vec<String>,
    /// The first route field that is present but of the wrong type (`"channel": 5`). Such a send
    /// named a route, just not one we can read: it is refused, never taken as targetless (which
    /// would show it in the chat as a reply).
    pub malformed_route: Option<&'static str>,
}

/// The route fields, in the order their errors are reported.
const ROUTE_FIELDS: [&str; 4] = ["channel", "target", "to", "channelId"];

impl SendArgs {
    /// Reads the tool arguments leniently: unknown keys are ignored, and so are wrong types of
    /// the message fields. `SendMessage`, `content` and `text` are accepted as aliases of
    /// `message`. A route field of the wrong type is remembered in `malformed_route`.
    pub fn from_value(v: &Value) -> SendArgs {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let wrong = |k: &str| v.get(k).is_some_and(|x| !x.is_null() && !x.is_string());
        let targets_wrong = v.get("targets").is_some_and(|t| match t {
            Value::Null => false,
            Value::Array(items) => items.iter().any(|i| !i.is_string()),
            _ => true,
        });
        let malformed_route = ROUTE_FIELDS
            .into_iter()
            .find(|k| wrong(k))
            .or(targets_wrong.then_some("targets"));
        SendArgs {
            malformed_route,
            action: s("action").unwrap_or_default(),
            message: s("message")
                .or_else(|| s("SendMessage"))
                .or_else(|| s("content"))
                .or_else(|| s("text"))
                .unwrap_or_default(),
            channel: s("channel"),
            target: s("target"),
            to: s("to"),
            channel_id: s("channelId"),
            targets: v
                .get("targets")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn has_explicit_route(&self) -> bool {
        let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
        set(&self.channel)
            || set(&self.target)
            || set(&self.to)
            || set(&self.channel_id)
            || self.targets.iter().any(|t| !t.trim().is_empty())
    }
}

/// The decision for one send.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// Deliver to the current run's UI (the internal sink) and mirror into the transcript.
    CurrentRun { text: String },
    /// Deliver through the outbound router.
    Outbound {
        channel: String,
        target: String,
        text: String,
    },
    /// Refuse with this model-facing error.
    Reject(String),
}

/// Applies the delivery rules in their fixed order.
pub fn route(ctx: &RunContext, args: &SendArgs) -> Route {
    if args.action != "send" {
        return Route::Reject(format!(
            "Unsupported message action {:?}; only \"send\" is available.",
            args.action
        ));
    }
    if let Some(field) = args.malformed_route {
        let kind = if field == "targets" {
            "a list of strings"
        } else {
            "a string"
        };
        return Route::Reject(format!(
            "Invalid route: `{field}` must be {kind}. Name a channel and target as strings, or leave both out."
        ));
    }
    if sink_applies(ctx, args) {
        if args.message.trim().is_empty() {
            return Route::Reject("send requires text or media".to_owned());
        }
        return Route::CurrentRun {
            text: args.message.clone(),
        };
    }
    let pick = |a: &Option<String>, b: &Option<String>| {
        a.as_deref()
            .filter(|s| !s.trim().is_empty())
            .or(b.as_deref().filter(|s| !s.trim().is_empty()))
            .map(|s| s.trim().to_owned())
    };
    let channel = pick(&args.channel, &args.channel_id);
    let target = pick(&args.target, &args.to);
    if let Some(ui) = [WEBCHAT, TUI].into_iter().find(|ui| {
        channel
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(ui))
    }) {
        return Route::Reject(format!(
            "{ui} is not a deliverable channel: replies reach the WebChat and the terminal only as the current run's reply."
        ));
    }
    // `last` stands for the session's last external route; an explicit target still wins.
    // WebChat turns never inherit it, not even when they ask.
    let (channel, target) = match channel {
        Some(c) if c.eq_ignore_ascii_case(LAST) && ctx.source.is_internal_ui() => {
            return Route::Reject(LAST_FROM_WEBCHAT.to_owned())
        }
        Some(c) if c.eq_ignore_ascii_case(LAST) => match &ctx.last_route {
            Some(last) => (
                Some(last.channel.clone()),
                target.or_else(|| Some(last.target.clone())),
            ),
            None => return Route::Reject(NO_LAST_ROUTE.to_owned()),
        },
        other => (other, target),
    };
    match (channel, target) {
        (Some(channel), Some(target)) => {
            if args.message.trim().is_empty() {
                return Route::Reject("send requires text or media".to_owned());
            }
            Route::Outbound {
                channel,
                target,
                text: args.message.clone(),
            }
        }
        _ => Route::Reject(REQUIRES_TARGET.to_owned()),
    }
}

/// The sink guard: send, `message_tool_only`, an internal UI source (WebChat or terminal), a non-blank session key, and no
/// explicit route of any form (`targets` counts too).
fn sink_applies(ctx: &RunContext, args: &SendArgs) -> bool {
    args.action == "send"
        && ctx.mode == DeliveryMode::MessageToolOnly
        && ctx.source.is_internal_ui()
        && !ctx.session_key.trim().is_empty()
        && !args.has_explicit_route()
}

/// The result details of a current-run delivery. The message text is deliberately absent: the
/// model must not be fed its own words back.
pub fn sink_details() -> Value {
    json!({
        "status": "ok",
        "deliveryStatus": "sent",
        "channel": WEBCHAT,
        "target": "current-run",
        "sourceReplyDeliveryMode": "message_tool_only",
        "sourceReplySink": "internal-ui",
    })
}

/// A tool result in Codex's `item/tool/call` response shape.
pub fn tool_result(success: bool, text: &str, details: Option<&Value>) -> Value {
    let mut items = vec![json!({"type": "inputText", "text": text})];
    if let Some(d) = details {
        items.push(json!({"type": "inputText", "text": d.to_string()}));
    }
    json!({"contentItems": items, "success": success})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webchat() -> RunContext {
        RunContext {
            source: RunSource::WebChat,
            mode: DeliveryMode::MessageToolOnly,
            session_key: "main".into(),
            last_route: None,
        }
    }

    fn send(v: Value) -> SendArgs {
        SendArgs::from_value(&v)
    }

    #[test]
    fn sink_takes_a_targetless_send_from_a_webchat_message_tool_only_run() {
        let r = route(&webchat(), &send(json!({"action":"send","message":"hi"})));
        assert_eq!(r, Route::CurrentRun { text: "hi".into() });
        let d = sink_details();
        assert_eq!(d["channel"], "webchat");
        assert_eq!(d["target"], "current-run");
        assert_eq!(d["sourceReplySink"], "internal-ui");
        assert!(!SINK_TEXT.contains("hi"));
    }

    #[test]
    fn automatic_mode_rejects_a_targetless_send() {
        let ctx = RunContext {
            mode: DeliveryMode::Automatic,
            ..webchat()
        };
        let r = route(&ctx, &send(json!({"action":"send","message":"hi"})));
        assert_eq!(r, Route::Reject(REQUIRES_TARGET.into()));
    }

    #[test]
    fn background_source_has_no_sink() {
        let ctx = RunContext {
            source: RunSource::Background,
            ..webchat()
        };
        let r = route(&ctx, &send(json!({"action":"send","message":"hi"})));
        assert_eq!(r, Route::Reject(REQUIRES_TARGET.into()));
    }

    #[test]
    fn blank_session_key_has_no_sink() {
        let ctx = RunContext {
            session_key: "  ".into(),
            ..webchat()
        };
        let r = route(&ctx, &send(json!({"action":"send","message":"hi"})));
        assert_eq!(r, Route::Reject(REQUIRES_TARGET.into()));
    }

    #[test]
    fn explicit_route_bypasses_the_sink() {
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","channel":"webhook","target":"ops"})),
        );
        assert_eq!(
            r,
            Route::Outbound {
                channel: "webhook".into(),
                target: "ops".into(),
                text: "hi".into()
            }
        );
        // `to` and `channelId` are the aliases of target and channel.
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","channelId":"webhook","to":"ops"})),
        );
        assert!(matches!(r, Route::Outbound { .. }));
    }

    #[test]
    fn targets_alone_are_rejected() {
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","targets":["ops"]})),
        );
        assert_eq!(r, Route::Reject(REQUIRES_TARGET.into()));
        // Blank entries do not count as a route, so the sink still applies.
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","targets":[" "]})),
        );
        assert!(matches!(r, Route::CurrentRun { .. }));
    }

    #[test]
    fn a_route_field_of_the_wrong_type_is_refused_not_taken_as_targetless() {
        // Read leniently, `"channel": 5` would count as absent and the send would land in the
        // chat as a reply; it named a route, so it is refused instead.
        for (args, field) in [
            (
                json!({"action":"send","message":"hi","channel":5}),
                "channel",
            ),
            (
                json!({"action":"send","message":"hi","target":{"id":"ops"}}),
                "target",
            ),
            (json!({"action":"send","message":"hi","to":["ops"]}), "to"),
            (
                json!({"action":"send","message":"hi","channelId":true}),
                "channelId",
            ),
            (
                json!({"action":"send","message":"hi","targets":"ops"}),
                "targets",
            ),
            (
                json!({"action":"send","message":"hi","targets":[1]}),
                "targets",
            ),
        ] {
            match route(&webchat(), &send(args.clone())) {
                Route::Reject(msg) => assert!(
                    msg.starts_with(&format!("Invalid route: `{field}` must be")),
                    "{args}: {msg}"
                ),
                other => panic!("{args}: expected a rejection, got {other:?}"),
            }
        }
        // Null is the same as leaving the field out.
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","channel":null,"targets":null})),
        );
        assert!(matches!(r, Route::CurrentRun { .. }));
    }

    #[test]
    fn a_channel_without_target_is_rejected() {
        let r = route(
            &webchat(),
            &send(json!({"action":"send","message":"hi","channel":"webhook"})),
        );
        assert_eq!(r, Route::Reject(REQUIRES_TARGET.into()));
    }

    #[test]
    fn webchat_is_never_a_deliverable_channel() {
        for ctx in [
            webchat(),
            RunContext {
                source: RunSource::Background,
                ..webchat()
            },
        ] {
            let r = route(
                &ctx,
                &send(json!({"action":"send","message":"hi","channel":"WebChat","target":"x"})),
            );
            match r {
                Route::Reject(msg) => assert!(msg.contains("not a deliverable channel")),
                other => panic!("expected a rejection, got {other:?}"),
            }
        }
    }

    #[test]
    fn empty_text_and_other_actions_are_rejected() {
        let r = route(&webchat(), &send(json!({"action":"send","message":"  "})));
        assert_eq!(r, Route::Reject("send requires text or media".into()));
        let r = route(&webchat(), &send(json!({"action":"poll","message":"x"})));
        assert!(matches!(r, Route::Reject(_)));
    }

    #[test]
    fn tool_result_has_codex_shape() {
        let v = tool_result(true, SINK_TEXT, Some(&sink_details()));
        assert_eq!(v["success"], true);
        assert_eq!(v["contentItems"][0]["type"], "inputText");
        assert_eq!(v["contentItems"][0]["text"], SINK_TEXT);
        assert!(v["contentItems"][1]["text"]
            .as_str()
            .unwrap()
            .contains("internal-ui"));
    }
}
