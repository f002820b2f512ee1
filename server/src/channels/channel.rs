//! What every outbound channel shares: the [`Channel`] trait, the message it is asked to deliver
//! ([`OutboundMessage`]), and what it reports back ([`DeliveryReport`], one [`Attempt`] per
//! request, [`OutboundError`] when the send did not arrive).
//!
//! This file exists so that the router and each channel can both depend on these types without
//! depending on each other: the router imports the channels it builds, a channel imports only
//! this. It holds data and the trait, nothing that sends, and it must not import the router or a
//! channel.

use app::wire::{DeliveryStatus, Seq};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{json, Value};

use crate::store::RecordBody;

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
    pub fn event_body(&self, updates: Option<Seq>) -> RecordBody {
        RecordBody::Delivery {
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
