//! The native hook relay: how every tool call Codex runs natively (shell, file edits) is checked
//! by the gateway before it runs.
//!
//! Codex runs a command hook for PreToolUse, PostToolUse, PermissionRequest and Stop; that command
//! is this binary's own `codex-webchat hook relay --relay-id … --generation … --event … --timeout …`
//! ([`client`]). It reads the hook payload on stdin, finds the gateway's relay endpoint through the
//! endpoint file named by [`ENDPOINT_ENV`], and asks it over authenticated loopback HTTP
//! ([`endpoint`]). The endpoint validates the call against the [`registry`] (unknown relay,
//! expired, provider, generation fence with the legacy grace, event, payload), decides with the
//! [`policy`], tells the gateway through a [`endpoint::HookSink`], and answers in Codex's hook
//! output format ([`render`]). When no answer can be had, the command fails closed on its own
//! (Codex fails open). [`config`] builds the hook commands and the per-thread Codex `config`
//! that installs and trusts them; [`trust`] decides once per Codex process whether their trust
//! hashes are computed or learned.
//!
//! This module owns the relay protocol, the registry state and the hook command line. It must not
//! know about chats, runs, the store or the UI: which registration belongs to which thread, when
//! to register, renew and unregister, and what a decision means for a tool card are the gateway's.
//! Nothing here writes Codex's user configuration; trust travels in each thread's own `config`.

pub mod client;
pub mod config;
pub mod endpoint;
pub mod policy;
pub mod registry;
pub mod render;
pub mod trust;

use serde::{Deserialize, Serialize};

/// The environment variable that names the endpoint file for hook processes. The gateway sets it
/// in the Codex app-server's environment; hooks inherit it. The file, not the variable, holds the
/// address and the credential, so a restarted server on another port is found again.
pub const ENDPOINT_ENV: &str = "CODEX_WEBCHAT_HOOK_ENDPOINT";

/// The only relay provider there is.
pub const PROVIDER_CODEX: &str = "codex";

/// Largest hook payload accepted, on stdin and at the endpoint.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Deepest JSON nesting accepted in a payload.
pub const MAX_PAYLOAD_DEPTH: usize = 64;

/// A hook event the relay handles. Snake case on the command line and on the relay wire; Codex's
/// own names in its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum HookEvent {
    PreToolUse,
    PostToolUse,
    PermissionRequest,
    Stop,
}

impl HookEvent {
    pub const ALL: [HookEvent; 4] = [
        HookEvent::PreToolUse,
        HookEvent::PostToolUse,
        HookEvent::PermissionRequest,
        HookEvent::Stop,
    ];

    /// The command-line and wire name: `pre_tool_use`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreToolUse => "pre_tool_use",
            HookEvent::PostToolUse => "post_tool_use",
            HookEvent::PermissionRequest => "permission_request",
            HookEvent::Stop => "stop",
        }
    }

    /// Codex's configuration key and `hookEventName`: `PreToolUse`, ….
    pub fn codex_name(self) -> &'static str {
        match self {
            HookEvent::PreToolUse => "PreToolUse",
            HookEvent::PostToolUse => "PostToolUse",
            HookEvent::PermissionRequest => "PermissionRequest",
            HookEvent::Stop => "Stop",
        }
    }

    /// The inverse of [`HookEvent::as_str`].
    pub fn from_cli(name: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The inverse of [`HookEvent::codex_name`].
    pub fn from_codex(name: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.codex_name() == name)
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Failures of the relay's server-side plumbing (starting the endpoint, learning trust).
/// Validation failures of single invocations are [`registry::RelayError`].
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("could not bind the hook relay endpoint to 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    #[error("could not write the hook relay endpoint file {path}: {source}")]
    EndpointFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("codex: {0}")]
    Codex(#[from] crate::codex::CodexError),
    /// Codex's config is JSON: a path that is not UTF-8 cannot be written into a hook command.
    #[error("the executable path {0:?} is not UTF-8, so no hook command can name it")]
    NonUtf8Exe(std::path::PathBuf),
    /// Codex did not list or trust a gateway hook the way it was installed.
    #[error("hook trust: {0}")]
    Trust(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for event in HookEvent::ALL {
            assert_eq!(HookEvent::from_cli(event.as_str()), Some(event));
            assert_eq!(HookEvent::from_codex(event.codex_name()), Some(event));
            let wire = serde_json::to_value(event).expect("serialize");
            assert_eq!(wire, event.as_str());
            let parsed = <HookEvent as clap::ValueEnum>::from_str(event.as_str(), false);
            assert_eq!(parsed, Ok(event));
        }
        assert_eq!(HookEvent::from_cli("PreToolUse"), None);
    }
}
