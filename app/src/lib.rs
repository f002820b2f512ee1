//! The WebChat: Leptos views, the page-data server function, and the wire types shared with the
//! server.
//!
//! This crate never talks to Codex or the store. On the server (`ssr`) it renders from a
//! [`api::PageSource`] the server provides as context; in the browser (`hydrate`) it hydrates that
//! render and follows the session over one WebSocket. Everything in `wire` and `transcript` is
//! plain, feature-free Rust so both sides share one projection of the transcript; `json` is the
//! browser's own reader and writer for those types (the wasm carries no serde_json).

pub mod api;
pub mod history;
pub mod json;
pub mod text;
pub mod transcript;
mod ui;
pub mod usage;
pub mod wire;

#[cfg(feature = "ssr")]
pub use ui::history_part;
pub use ui::{shell, App};
