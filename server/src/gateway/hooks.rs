//! The gateway's side of the hook relay: what an accepted hook call means for the transcript.
//!
//! The relay endpoint validates and decides; this module only records. A PreToolUse decision for
//! a native tool is remembered until the tool's item starts (so its card says `allowed`), and a
//! denied call — which Codex never turns into an item — gets a card of its own. The raw hook
//! traffic is kept as private internals.

use serde_json::{json, Value};

use app::wire::{RelayDecision, SessionKey, ToolStatus};

use super::{lock, Gateway};
use crate::hook::endpoint::HookSink;
use crate::hook::policy::{self, Decision};
use crate::hook::registry::{RelayError, Validated};
use crate::hook::HookEvent;
use crate::ids::CallId;
use crate::store::RecordBody;

impl HookSink for Gateway {
    fn on_invocation(&self, call: &Validated, decision: &Decision) {
        let Ok(key) = SessionKey::parse(&call.session_key) else {
            return;
        };
        let payload = &call.payload;
        let tool_name = payload
            .get("tool_name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let tool_use_id = payload
            .get("tool_use_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let native = !tool_name.is_empty() && tool_name != "message";
        let run_id = lock(&self.inner.runs).active_mut(&key).map(|run| {
            if native && call.event == HookEvent::PreToolUse && !tool_use_id.is_empty() {
                let relay = match decision {
                    Decision::Deny { .. } => RelayDecision::Denied,
                    Decision::Allow | Decision::NoOp => RelayDecision::Allowed,
                };
                run.record_relay_decision(CallId::from(tool_use_id.clone()), relay);
            }
            run.id().clone()
        });
        self.emit_logged(
            &key,
            run_id.as_ref(),
            true,
            RecordBody::Internal {
                label: format!("hook {}", call.event.codex_name()),
                detail: json!({
                    "tool": tool_name,
                    "toolUseId": tool_use_id,
                    "generation": call.generation,
                    "viaGrace": call.via_grace,
                    "decision": decision,
                }),
            },
        );
        // A denied native call never becomes a Codex item: its card comes from here.
        if let (true, HookEvent::PreToolUse, Decision::Deny { reason }) =
            (native, call.event, decision)
        {
            let command = policy::shell_command(payload).unwrap_or_else(|| {
                payload
                    .get("tool_input")
                    .map(Value::to_string)
                    .unwrap_or_default()
            });
            let started = self.emit(
                &key,
                run_id.as_ref(),
                false,
                RecordBody::ToolStarted {
                    call_id: CallId::from(tool_use_id),
                    tool: tool_label(tool_name),
                    command,
                    relay: RelayDecision::Denied,
                    detail: None,
                },
                None,
            );
            match started {
                Ok(appended) => self.emit_logged(
                    &key,
                    run_id.as_ref(),
                    false,
                    RecordBody::ToolFinished {
                        target: appended.event().seq,
                        status: ToolStatus::Declined,
                        output: format!("Blocked by the hook relay: {reason}"),
                        exit_code: None,
                    },
                ),
                Err(e) => {
                    tracing::error!(session = %key, error = %e, "could not store a denied tool card")
                }
            }
        }
    }

    fn on_rejection(&self, relay_id: &str, event: HookEvent, error: &RelayError) {
        tracing::warn!(relay_id, event = event.as_str(), error = %error, "hook relay call refused");
    }
}

/// The card's tool name for a Codex hook `tool_name`.
fn tool_label(tool_name: &str) -> String {
    match tool_name {
        "Bash" | "exec_command" | "shell" => "shell".to_owned(),
        "apply_patch" | "Edit" | "Write" => "edit".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}
