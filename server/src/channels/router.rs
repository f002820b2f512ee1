//! The outbound router: explicit `channel` + `target` sends leave through here.
//!
//! Channels are registered by name at start from the `[channels]` configuration
//! ([`ChannelsConfig`]; `webhook` is the first, see [`super::webhook`]). The router never knows
//! about the WebChat: the internal UI is not a channel, and the delivery rules refuse it before a
//! send gets here.
//!
//! Every delivery produces a [`DeliveryReport`]: each request a channel made
//! ([`super::channel::Attempt`]) and the final outcome, so the caller can record all of it in the
//! transcript ([`DeliveryReport::event_body`] for the card, [`DeliveryReport::internal_detail`]
//! for *show internals*). This module does not write the transcript itself and never retries:
//! retry policy belongs to each channel, which knows what its failures mean. It builds the
//! channels it is configured with, so it imports them; a channel never imports the router.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::channel::{Channel, DeliveryReport, OutboundError, OutboundMessage};
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
    use crate::channels::channel::Attempt;
    use app::wire::{DeliveryStatus, Seq};

    use crate::store::RecordBody;
    use futures::future::BoxFuture;

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
            RecordBody::Delivery {
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
            RecordBody::Delivery {
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
