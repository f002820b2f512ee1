//! codex-webchat's server: the axum edge, the gateway that runs chat sessions on Codex, the Codex
//! app-server adapter, the embedded demo model, and the SQLite store.
//!
//! Layout (dependencies point down the list, never up):
//! - `web`: HTTP and WebSocket edge, Leptos SSR, the one error type that reaches clients.
//! - `gateway`: sessions, runs, message delivery, the live event hub. Owns every state machine.
//! - `hook`: the native hook relay: registry, policy, endpoint, `hook relay` command, hook config.
//! - `codex`: the Codex app-server process and its JSON-RPC protocol. Knows nothing of chats.
//! - `demo_model`: an OpenAI Responses-compatible endpoint on loopback for offline use.
//! - `store`: SQLite. The only module that writes SQL.
//! - `markdown`: Markdown to sanitised HTML.
//! - `escape`: the escaping points for terminal output and log lines (never HTML).
//! - `scheduler`: the background task that fires schedules at their times, through a clock.
//! - `schedule`: `[[schedules]]` for background runs and the 5-field cron (UTC) they use.
//! - `config`: command line, environment and file configuration.
//! - `serve`: start-up and shutdown glue.
//! - `fault`: crash points for the crash-matrix tests (no-ops unless built with `fault-injection`).

pub mod codex;
pub mod config;
pub mod demo_model;
pub mod escape;
pub mod fault;
pub mod gateway;
pub mod hook;
pub mod markdown;
pub mod schedule;
pub mod scheduler;
pub mod serve;
pub mod store;
pub mod web;
