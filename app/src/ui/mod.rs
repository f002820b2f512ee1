//! The WebChat views: the HTML shell, the one chat route, and the live connection behind it.
//!
//! The server renders a whole session page (sidebar, transcript, composer) from
//! [`crate::api::get_page`] before any script runs, so history is readable at once; the browser
//! then hydrates that exact tree and keeps it current over one WebSocket ([`live`], hydrate
//! only). Both sides fold events with the same [`crate::transcript::Transcript`], so what a reload
//! shows and what the live view shows cannot drift apart.
//!
//! Layout of the module: [`shell`] (document and router), `chat` (the page and its layout),
//! `sidebar` (with the new session's workspace select), `mode` (the header's permission-mode
//! select), `model` (its model and effort selects), `entry` (one transcript row), `history`
//! (the rows the server alone renders, and earlier ones loaded on a scroll up),
//! `approval` (an approval card's body and its answer buttons), `attention` (notifications, the
//! title's count, copy buttons, the shortcuts sheet), `composer`, `state` (the page's
//! shared signals and the commands the view sends to the socket), `status` (a page's HTTP
//! status, server only), `live` and `browser` (hydrate-only glue).

mod approval;
mod attention;
#[cfg(feature = "hydrate")]
mod browser;
mod chat;
mod composer;
mod detail;
mod diff;
mod entry;
mod history;
#[cfg(feature = "hydrate")]
mod live;
mod meter;
mod mode;
mod model;
mod organise;
mod shell;
mod sidebar;
mod signin;
mod state;
#[cfg(feature = "ssr")]
mod status;

#[cfg(feature = "ssr")]
pub use history::history_part;
pub use shell::{shell, App};
