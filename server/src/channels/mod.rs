//! Outbound channels: where an explicit `channel` + `target` send goes when it leaves the
//! server (a webhook today; a chat service tomorrow).
//!
//! It owns the `[channels]` configuration, the router that finds a send's channel
//! ([`router::Outbound`]), each channel's transport and retry policy (`webhook`), and the report
//! of what a delivery did. It must not decide *whether* a send may leave (the gateway's delivery
//! rules do, and they never route the WebChat here), must not write the transcript (the gateway
//! records the reports), and must not depend on the gateway: the gateway and the configuration
//! depend on it.
//!
//! Inside, dependencies point one way: `channel` (the trait and the shared types) imports
//! nothing here, each channel imports `channel`, and `router` imports both.

pub mod channel;
pub mod router;
pub mod webhook;

pub use channel::{Attempt, Channel, DeliveryReport, OutboundError, OutboundMessage};
pub use router::{ChannelsConfig, Outbound};
