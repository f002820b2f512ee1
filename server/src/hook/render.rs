//! Decisions in Codex's command-hook output format (0.169.0): what the hook process prints on
//! stdout and stderr and its exit code, plus the fallbacks the relay command prints when it gets
//! no decision.
//!
//! Codex reads exit 0 with empty stdout as "no decision" and exit 0 with JSON as a decision. It
//! rejects `permissionDecision: "allow"` for PreToolUse ("unsupported permissionDecision:allow")
//! and a deny without a non-empty reason, and treats either as a failed hook, which fails open:
//! so allow is rendered as empty stdout and every deny carries a reason. Exit 2 with the reason
//! on stderr would also block; the JSON deny is used because it is the one form that also works
//! for PermissionRequest and says which event it answers.
//!
//! Pure functions; no I/O.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::policy::{Decision, DEFAULT_DENY_REASON};
use super::HookEvent;

/// The fallback reason when the relay could not be asked.
pub const UNAVAILABLE: &str = "Native hook relay unavailable";
/// The fallback reason when the relay command's own deadline passed while waiting for an answer.
pub const TIMED_OUT: &str = "Native hook relay timed out";

/// What a hook process prints and how it exits. Also the endpoint's `result` on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

/// `--pre-tool-use-unavailable`: what PreToolUse does when the relay cannot answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UnavailableMode {
    /// Fail closed: deny the tool call.
    #[default]
    Deny,
    /// No decision: only for relays with no pre-tool policy to enforce.
    Noop,
}

/// Why the relay command got no decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// Not reachable, refused, stale, or answered with an error.
    Unreachable,
    /// Asked, but no answer before the command's deadline.
    TimedOut,
}

/// `decision` for `event` in Codex's format.
pub fn render_decision(event: HookEvent, decision: &Decision) -> HookOutput {
    let stdout = match (event, decision) {
        (HookEvent::PreToolUse, Decision::Deny { reason }) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": non_empty(reason),
            }
        })
        .to_string(),
        (HookEvent::PermissionRequest, Decision::Allow) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "allow"},
            }
        })
        .to_string(),
        (HookEvent::PermissionRequest, Decision::Deny { reason }) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": "deny", "message": non_empty(reason)},
            }
        })
        .to_string(),
        // PreToolUse allow is "no objection"; PostToolUse and Stop are only observed.
        _ => String::new(),
    };
    HookOutput {
        stdout,
        stderr: String::new(),
        exit_code: 0,
    }
}

/// The fallback when the relay could not give a decision: PreToolUse is denied (unless `mode` is
/// `Noop`), PermissionRequest is denied, the others are no-ops. `cause` goes to stderr as
/// `native hook relay unavailable: <cause>` for Codex's hook log.
pub fn render_unavailable(
    event: HookEvent,
    mode: UnavailableMode,
    why: Unavailable,
    cause: &str,
) -> HookOutput {
    let reason = match why {
        Unavailable::Unreachable => UNAVAILABLE,
        Unavailable::TimedOut => TIMED_OUT,
    };
    let decision = match (event, mode) {
        (HookEvent::PreToolUse, UnavailableMode::Noop) => Decision::NoOp,
        (HookEvent::PreToolUse | HookEvent::PermissionRequest, _) => Decision::Deny {
            reason: reason.to_owned(),
        },
        (HookEvent::PostToolUse | HookEvent::Stop, _) => Decision::NoOp,
    };
    let mut out = render_decision(event, &decision);
    out.stderr = format!("native hook relay unavailable: {cause}\n");
    out
}

fn non_empty(reason: &str) -> &str {
    if reason.trim().is_empty() {
        DEFAULT_DENY_REASON
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn stdout_json(out: &HookOutput) -> Value {
        serde_json::from_str(&out.stdout).expect("stdout is JSON")
    }

    #[test]
    fn decisions_in_codex_format() {
        let deny = Decision::Deny {
            reason: "no".into(),
        };
        let out = render_decision(HookEvent::PreToolUse, &deny);
        assert_eq!(
            stdout_json(&out),
            json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                "permissionDecision": "deny", "permissionDecisionReason": "no"}})
        );
        assert_eq!(out.exit_code, 0);
        assert_eq!(
            render_decision(HookEvent::PreToolUse, &Decision::Allow),
            HookOutput::default()
        );
        assert_eq!(
            stdout_json(&render_decision(
                HookEvent::PermissionRequest,
                &Decision::Allow
            )),
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                "decision": {"behavior": "allow"}}})
        );
        assert_eq!(
            stdout_json(&render_decision(HookEvent::PermissionRequest, &deny)),
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                "decision": {"behavior": "deny", "message": "no"}}})
        );
        for event in HookEvent::ALL {
            assert_eq!(
                render_decision(event, &Decision::NoOp),
                HookOutput::default()
            );
        }
        for event in [HookEvent::PostToolUse, HookEvent::Stop] {
            assert_eq!(render_decision(event, &deny), HookOutput::default());
        }
        let empty = Decision::Deny { reason: "".into() };
        let out = stdout_json(&render_decision(HookEvent::PreToolUse, &empty));
        assert_eq!(
            out["hookSpecificOutput"]["permissionDecisionReason"],
            DEFAULT_DENY_REASON
        );
    }

    #[test]
    fn unavailable_fallbacks() {
        use UnavailableMode::{Deny, Noop};
        let out = render_unavailable(
            HookEvent::PreToolUse,
            Deny,
            Unavailable::Unreachable,
            "down",
        );
        assert_eq!(
            stdout_json(&out)["hookSpecificOutput"]["permissionDecisionReason"],
            "Native hook relay unavailable"
        );
        assert_eq!(out.stderr, "native hook relay unavailable: down\n");
        assert_eq!(out.exit_code, 0);
        let out = render_unavailable(HookEvent::PreToolUse, Deny, Unavailable::TimedOut, "slow");
        assert_eq!(
            stdout_json(&out)["hookSpecificOutput"]["permissionDecisionReason"],
            "Native hook relay timed out"
        );
        let out = render_unavailable(
            HookEvent::PreToolUse,
            Noop,
            Unavailable::Unreachable,
            "down",
        );
        assert_eq!(out.stdout, "");
        assert_eq!(out.exit_code, 0);
        let out = render_unavailable(
            HookEvent::PermissionRequest,
            Noop,
            Unavailable::Unreachable,
            "down",
        );
        assert_eq!(
            stdout_json(&out)["hookSpecificOutput"]["decision"],
            json!({"behavior": "deny", "message": "Native hook relay unavailable"})
        );
        for event in [HookEvent::PostToolUse, HookEvent::Stop] {
            let out = render_unavailable(event, Deny, Unavailable::Unreachable, "down");
            assert_eq!((out.stdout.as_str(), out.exit_code), ("", 0));
        }
    }

    #[test]
    fn wire_shape() {
        let out = HookOutput {
            stdout: "a".into(),
            stderr: "b".into(),
            exit_code: 2,
        };
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!({"stdout": "a", "stderr": "b", "exitCode": 2})
        );
    }
}
