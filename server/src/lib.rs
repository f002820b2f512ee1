//! codex-webchat's server: the axum edge, the gateway that runs chat sessions on Codex, the Codex
//! app-server adapter, the embedded demo model, and the SQLite store.
//!
//! Layout (dependencies point down the list, never up; `scripts/module_cycles.py` checks it):
//! - `tui`: the terminal client (`codex-webchat tui`): state, drawing and the terminal loop; it
//!   talks to the server only through `client` and draws untrusted text only through `escape`.
//! - `client`: the terminal client's side of the server API (HTTP and a live WebSocket); it
//!   speaks only `app::wire`, never to anything below, as a browser does.
//! - `serve`: start-up and shutdown glue; builds everything below and wires it together.
//! - `web`: HTTP and WebSocket edge, Leptos SSR, the one error mapping that reaches clients.
//! - `config`: command line, environment and file configuration (reads `[channels]`, hook deny
//!   rules and `[[schedules]]` through their own modules' types).
//! - `scheduler`: the background task that fires schedules at their times, through a clock.
//! - `demo_model`: an OpenAI Responses-compatible endpoint on loopback for offline use. Its code
//!   uses nothing below; it sits above `gateway` only because its tests read the gateway's
//!   background-run note (the demo model must not take what the gateway adds for user text).
//! - `gateway`: sessions, runs, message delivery, the live event hub. Owns every state machine.
//! - `channels`: outbound channels (the `Channel` trait, the router, the webhook) and
//!   `[channels]`. Knows nothing of sessions or runs.
//! - `hook`: the native hook relay: registry, policy, endpoint, `hook relay` command, hook config.
//! - `codex`: the Codex app-server process and its JSON-RPC protocol. Knows nothing of chats.
//! - `store`: SQLite. The only module that writes SQL.
//! - `markdown`: Markdown to sanitised HTML.
//! - `highlight`: syntax highlighting of code blocks as flat `hl-` spans (for `markdown`).
//! - `escape`: the escaping points for terminal output and log lines (never HTML).
//! - `schedule`: `[[schedules]]` for background runs and the 5-field cron (UTC) they use.
//! - `fault`: crash points for the crash-matrix tests (no-ops unless built with `fault-injection`).
//! - `ids`: the identifiers that cross modules (`RunId`, `ThreadId`, `TurnId`, `CallId`).

pub mod channels;
pub mod client;
pub mod codex;
pub mod config;
pub mod demo_model;
pub mod escape;
pub mod fault;
pub mod gateway;
pub mod highlight;
pub mod hook;
pub mod ids;
pub mod markdown;
pub mod schedule;
pub mod scheduler;
pub mod serve;
pub mod store;
pub mod tui;
pub mod web;
