//! The outbound router: explicit `channel` + `target` sends leave through here.
//!
//! Channels are registered by name at start from the configuration. The router never knows about
//! the WebChat: the internal UI is not a channel, and the delivery rules refuse it before a send
//! gets here.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OutboundError {
    #[error("Unknown channel: {channel}. Configured channels: {configured}.")]
    UnknownChannel { channel: String, configured: String },
    #[error("Delivery to {channel}:{target} failed: {reason}")]
    Failed {
        channel: String,
        target: String,
        reason: String,
    },
}

/// One outbound channel (a webhook, a chat service, ...).
pub trait Channel: Send + Sync {
    /// Delivers `text` to `target`; returns a short human-readable receipt.
    fn deliver<'a>(
        &'a self,
        target: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<String, OutboundError>>;
}

#[derive(Clone, Default)]
pub struct Outbound {
    channels: BTreeMap<String, Arc<dyn Channel>>,
}

impl Outbound {
    pub fn with_channel(mut self, name: &str, channel: Arc<dyn Channel>) -> Outbound {
        self.channels.insert(name.to_ascii_lowercase(), channel);
        self
    }

    pub async fn deliver(
        &self,
        channel: &str,
        target: &str,
        text: &str,
    ) -> Result<String, OutboundError> {
        match self.channels.get(&channel.to_ascii_lowercase()) {
            Some(ch) => ch.deliver(target, text).await,
            None => Err(OutboundError::UnknownChannel {
                channel: channel.to_owned(),
                configured: if self.channels.is_empty() {
                    "none".to_owned()
                } else {
                    self.channels.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
