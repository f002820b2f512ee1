//! The outbound router: explicit `channel` + `target` sends leave through here.
//!
//! Channels are registered by name at start from the configuration (`webhook` is the first, see
//! [`super::webhook`]). The router never knows about the WebChat: the internal UI is not a channel,
//! and the delivery rules refuse it before a send gets here.
//!
//! Every delivery produces a [`DeliveryReport`]: each request a channel made ([`Attempt`]) and the
//! final outcome, so the caller can record all of it in the transcript
//! ([`DeliveryReport::event_body`] for the card, [`DeliveryReport::internal_detail`] for *show
//! internals*). This module does not write the transcript itself and never retries: retry policy
//! belongs to each channel, which knows what its failures mean.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::wire::{DeliveryStatus, EventBody, Seq};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::webhook::{WebhookChannel, WebhookConfig, WebhookConfigError};

/// `[channels]`: the configuration of every outbound channel. A channel without a section is not
/// registered, so sends to it fail with [`OutboundError::UnknownChannel`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// `[channels.webhook]`.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
}

impl ChannelsConfig {
    /// Validates every section and builds the router with its channels.
    pub fn outbound(&self) -> Result<Outbound, WebhookConfigError> {
        let mut out = Outbound::default();
        if let Some(webhook) = &self.webhook {
            out = out.with_channel(
                super::webhook::CHANNEL,
                Arc::new(WebhookChannel::new(webhook)?),
            );
        }
        Ok(out)
    }
}

#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum OutboundError {
    #[error("Unknown channel: {channel}. Configured channels: {configured}.")]
    UnknownChannel { channel: String, configured: String },
    #[error("Unknown {channel} target: {target}. Configured targets: {configured}.")]
    UnknownTarget {
        channel: String,
        target: String,
        configured: String,
    },
    #[error("Delivery to {channel}:{target} failed: {reason}")]
    Failed {
        channel: String,
        target: String,
        reason: String,
    },
}

/// What a channel is asked to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundMessage<'a> {
    /// The channel's own name for the destination (a configured webhook target, ...).
    pub target: &'a str,
    pub text: &'a str,
    /// The chat session the send came from, when there is one; channels may pass it on.
    pub session: Option<&'a str>,
}

/// One request a channel made while delivering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1-based.
    pub n: u32,
    /// The response status, when there was a response.
    pub status: Option<u16>,
    /// Why the attempt did not succeed (connection error, timeout, error status). Never contains
    /// the destination URL or headers: those may be secrets.
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Everything a delivery did, for the transcript and for the model.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryReport {
    pub channel: String,
    pub target: String,
    /// In order; empty when the send was refused before any request (unknown channel or target).
    pub attempts: Vec<Attempt>,
    /// A short human-readable receipt, or why the delivery failed.
    pub outcome: Result<String, OutboundError>,
}

impl DeliveryReport {
    /// A send refused before any request was made.
    pub fn refused(channel: &str, target: &str, error: OutboundError) -> DeliveryReport {
        DeliveryReport {
            channel: channel.to_owned(),
            target: target.to_owned(),
            attempts: Vec::new(),
            outcome: Err(error),
        }
    }

    pub fn is_sent(&self) -> bool {
        self.outcome.is_ok()
    }

    /// The text the model is told: the receipt, or the error.
    pub fn model_text(&self) -> String {
        match &self.outcome {
            Ok(receipt) => receipt.clone(),
            Err(e) => e.to_string(),
        }
    }

    /// The transcript event for the delivery card; `updates` is the `sending` card it
    /// completes, if one was written.
    pub fn event_body(&self, updates: Option<Seq>) -> EventBody {
        EventBody::Delivery {
            updates,
            channel: self.channel.clone(),
            target: self.target.clone(),
            status: if self.is_sent() {
                DeliveryStatus::Sent
            } else {
                DeliveryStatus::Failed
            },
            attempts: u32::try_from(self.attempts.len()).unwrap_or(u32::MAX),
            detail: self.model_text(),
        }
    }

    /// Every attempt and the outcome as JSON, for a private `Internal` event beside the card.
    pub fn internal_detail(&self) -> Value {
        let (ok, text) = match &self.outcome {
            Ok(receipt) => (true, receipt.clone()),
            Err(e) => (false, e.to_string()),
        };
        json!({
            "channel": self.channel,
            "target": self.target,
            "sent": ok,
            "outcome": text,
            "attempts": self.attempts,
        })
    }
}

/// One outbound channel (a webhook, a chat service, ...).
pub trait Channel: Send + Sync {
    /// Delivers `message`, retrying as the channel sees fit, and reports every attempt. It must
    /// finish in bounded time: the model's tool call waits for it.
    fn deliver<'a>(&'a self, message: OutboundMessage<'a>) -> BoxFuture<'a, DeliveryReport>;

    /// The names of the targets it knows, sorted (what a model may pass as `target`); empty when
    /// the channel takes free-form targets.
    fn target_names(&self) -> Vec<String> {
        Vec::new()
    }
}

#[derive(Clone, Default)]
pub struct Outbound {
    channels: BTreeMap<String, Arc<dyn Channel>>,
}

impl Outbound {
    /// Registers `channel` under `name` (case-insensitive).
    pub fn with_channel(mut self, name: &str, channel: Arc<dyn Channel>) -> Outbound {
        self.channels.insert(name.to_ascii_lowercase(), channel);
        self
    }

    /// The channels and their targets in words, for a model: `webhook (targets: alerts, ops)`,
    /// or `none`.
    pub fn describe(&self) -> String {
        if self.channels.is_empty() {
            return "none".to_owned();
        }
        self.channels
            .iter()
            .map(|(name, channel)| match channel.target_names().as_slice() {
                [] => name.clone(),
                targets => format!("{name} (targets: {})", targets.join(", ")),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The registered names of `channel` and `target` when a send there will be attempted (the
    /// channel exists and knows the target; names match case-insensitively), else `None`: the
    /// send will be refused without a request.
    pub fn resolve(&self, channel: &str, target: &str) -> Option<(String, String)> {
        let name = channel.trim().to_ascii_lowercase();
        let known = self.channels.get(&name)?.target_names();
        let target = target.trim();
        if known.is_empty() {
            return Some((name, target.to_owned()));
        }
        let found = known
            .iter()
            .find(|t| t.as_str() == target)
            .or_else(|| known.iter().find(|t| t.eq_ignore_ascii_case(target)))?;
        Some((name, found.clone()))
    }

    /// The registered channel names, sorted.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.keys().cloned().collect()
    }

    /// Delivers `text` to `target` on `channel`; the receipt or the error only. See
    /// [`Outbound::deliver_reported`] for the attempts.
    pub async fn deliver(
        &self,
        channel: &str,
        target: &str,
        text: &str,
    ) -> Result<String, OutboundError> {
        self.deliver_reported(
            channel,
            OutboundMessage {
                target,
                text,
                session: None,
            },
        )
        .await
        .outcome
    }

    /// Delivers `message` on `channel` and reports every attempt and the outcome.
    pub async fn deliver_reported(
        &self,
        channel: &str,
        message: OutboundMessage<'_>,
    ) -> DeliveryReport {
        let name = channel.to_ascii_lowercase();
        match self.channels.get(&name) {
            Some(ch) => {
                let mut report = ch.deliver(message).await;
                // The card names the channel the way it is registered, whatever the channel
                // calls itself.
                report.channel = name;
                report
            }
            None => DeliveryReport::refused(
                channel,
                message.target,
                OutboundError::UnknownChannel {
                    channel: channel.to_owned(),
                    configured: if self.channels.is_empty() {
                        "none".to_owned()
                    } else {
                        self.channel_names().join(", ")
                    },
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what it was asked and answers with one successful attempt.
    struct Echo;

    impl Channel for Echo {
        fn deliver<'a>(&'a self, message: OutboundMessage<'a>) -> BoxFuture<'a, DeliveryReport> {
            Box::pin(async move {
                DeliveryReport {
                    channel: "echo-internal".into(),
                    target: message.target.into(),
                    attempts: vec![Attempt {
                        n: 1,
                        status: Some(200),
                        error: None,
                        elapsed_ms: 1,
                    }],
                    outcome: Ok(format!(
                        "echoed {} for {}",
                        message.text,
                        message.session.unwrap_or("-")
                    )),
                }
            })
        }
    }

    #[test]
    fn describe_names_every_channel_and_its_targets() {
        assert_eq!(Outbound::default().describe(), "none");
        let webhook: WebhookConfig = toml::from_str(
            r#"
            [targets.ops]
            url = "http://127.0.0.1:9/a"
            [targets.alerts]
            url = "http://127.0.0.1:9/b"
            "#,
        )
        .unwrap();
        let out = ChannelsConfig {
            webhook: Some(webhook),
        }
        .outbound()
        .unwrap()
        .with_channel("Echo", Arc::new(Echo));
        // Sorted by channel, then target; no URL (a secret) in sight.
        assert_eq!(out.describe(), "echo; webhook (targets: alerts, ops)");
        // What a send will be attempted for, under the registered names.
        assert_eq!(
            out.resolve(" WebHook", "OPS"),
            Some(("webhook".into(), "ops".into()))
        );
        assert_eq!(out.resolve("webhook", "nobody"), None);
        assert_eq!(out.resolve("slack", "ops"), None);
        // A channel without named targets takes any.
        assert_eq!(
            out.resolve("echo", " anyone "),
            Some(("echo".into(), "anyone".into()))
        );
    }

    #[tokio::test]
    async fn unknown_channel_is_a_clear_error() {
        let err = Outbound::default()
            .deliver("slack", "ops", "hi")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unknown channel: slack. Configured channels: none."
        );
        let out = Outbound::default().with_channel("Echo", Arc::new(Echo));
        let report = out
            .deliver_reported(
                "slack",
                OutboundMessage {
                    target: "ops",
                    text: "hi",
                    session: None,
                },
            )
            .await;
        assert!(report.attempts.is_empty());
        assert_eq!(
            report.model_text(),
            "Unknown channel: slack. Configured channels: echo."
        );
        match report.event_body(None) {
            EventBody::Delivery {
                status, attempts, ..
            } => assert_eq!((status, attempts), (DeliveryStatus::Failed, 0)),
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    #[test]
    fn channels_config_registers_configured_channels_only() {
        let none: ChannelsConfig = toml::from_str("").unwrap();
        assert!(none.outbound().unwrap().channel_names().is_empty());
        let c: ChannelsConfig =
            toml::from_str("[webhook.targets.ops]\nurl = \"http://127.0.0.1:9/\"\n").unwrap();
        assert_eq!(c.outbound().unwrap().channel_names(), vec!["webhook"]);
        assert!(toml::from_str::<ChannelsConfig>("[slack]\n").is_err());
        let bad: ChannelsConfig =
            toml::from_str("[webhook.targets.ops]\nurl = \"nope\"\n").unwrap();
        assert!(bad.outbound().is_err());
    }

    #[tokio::test]
    async fn a_registered_channel_delivers_and_reports_under_its_registered_name() {
        let out = Outbound::default().with_channel("Echo", Arc::new(Echo));
        assert_eq!(out.channel_names(), vec!["echo".to_owned()]);
        assert_eq!(
            out.deliver("ECHO", "ops", "hi").await,
            Ok("echoed hi for -".to_owned())
        );
        let report = out
            .deliver_reported(
                "echo",
                OutboundMessage {
                    target: "ops",
                    text: "hi",
                    session: Some("main"),
                },
            )
            .await;
        assert_eq!(report.channel, "echo");
        assert_eq!(
            report.event_body(Some(Seq(4))),
            EventBody::Delivery {
                channel: "echo".into(),
                target: "ops".into(),
                status: DeliveryStatus::Sent,
                attempts: 1,
                detail: "echoed hi for main".into(),
                updates: Some(Seq(4)),
            }
        );
        let detail = report.internal_detail();
        assert_eq!(detail["sent"], true);
        assert_eq!(detail["attempts"][0]["status"], 200);
        assert_eq!(detail["attempts"][0]["n"], 1);
    }
}
