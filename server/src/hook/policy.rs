//! The tool policy: what the gateway answers to a validated hook call.
//!
//! Allow by default; deny rules match a regular expression against the shell command
//! (`tool_input.command`) of a PreToolUse or PermissionRequest call, and their reason is shown to
//! the model. PermissionRequest without a matching rule gets no decision (Codex falls through to
//! its normal approval path; a relay must never turn "no rule" into an approval). PostToolUse and
//! Stop are observed only.
//!
//! The policy is pure: it must not look at registrations, render output, or do I/O.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::HookEvent;

/// Used when a rule is built without a reason: Codex treats a deny with an empty reason as a
/// failed hook and runs the tool anyway (fail open), so a deny always carries one.
pub const DEFAULT_DENY_REASON: &str = "Denied by codex-webchat policy";

/// The gateway's answer to one hook call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny {
        reason: String,
    },
    /// No decision: Codex carries on as if there were no hook.
    NoOp,
}

impl Decision {
    /// The tool card's `data-relay` value for this decision.
    pub fn relay_label(&self) -> &'static str {
        match self {
            Decision::Allow => "allowed",
            Decision::Deny { .. } => "denied",
            Decision::NoOp => "none",
        }
    }
}

/// A deny rule as written in configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRuleSpec {
    /// A regular expression (Rust `regex` syntax) searched for in the shell command.
    pub pattern: String,
    /// Shown to the model (and the user) when the rule blocks a command.
    pub reason: String,
}

/// A compiled deny rule.
#[derive(Clone, Debug)]
pub struct DenyRule {
    pub pattern: Regex,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("invalid deny rule pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

impl DenyRule {
    /// Compiles a rule; an empty reason becomes [`DEFAULT_DENY_REASON`].
    pub fn new(pattern: &str, reason: &str) -> Result<DenyRule, PolicyError> {
        let compiled = Regex::new(pattern).map_err(|source| PolicyError::Pattern {
            pattern: pattern.to_owned(),
            source,
        })?;
        let reason = match reason.trim() {
            "" => DEFAULT_DENY_REASON.to_owned(),
            _ => reason.to_owned(),
        };
        Ok(DenyRule {
            pattern: compiled,
            reason,
        })
    }
}

/// Allow by default, deny by rule.
#[derive(Clone, Debug, Default)]
pub struct ToolPolicy {
    rules: Vec<DenyRule>,
}

impl ToolPolicy {
    /// No rules: every tool call is allowed.
    pub fn allow_all() -> ToolPolicy {
        ToolPolicy::default()
    }

    pub fn new(rules: Vec<DenyRule>) -> ToolPolicy {
        ToolPolicy { rules }
    }

    /// Compiles configured rules, failing on the first bad pattern.
    pub fn from_specs(specs: &[DenyRuleSpec]) -> Result<ToolPolicy, PolicyError> {
        let rules = specs
            .iter()
            .map(|spec| DenyRule::new(&spec.pattern, &spec.reason))
            .collect::<Result<_, _>>()?;
        Ok(ToolPolicy { rules })
    }

    pub fn rules(&self) -> &[DenyRule] {
        &self.rules
    }

    /// The decision for one validated hook call.
    pub fn decide(&self, event: HookEvent, payload: &Value) -> Decision {
        let denied = || {
            let command = shell_command(payload)?;
            self.rules
                .iter()
                .find(|rule| rule.pattern.is_match(&command))
                .map(|rule| Decision::Deny {
                    reason: rule.reason.clone(),
                })
        };
        match event {
            HookEvent::PreToolUse => denied().unwrap_or(Decision::Allow),
            HookEvent::PermissionRequest => denied().unwrap_or(Decision::NoOp),
            HookEvent::PostToolUse | HookEvent::Stop => Decision::NoOp,
        }
    }
}

/// The shell command of a tool call: `tool_input.command` as a string, or an argv array joined
/// with spaces (so a rule written for the command line also matches the argv form).
pub fn shell_command(payload: &Value) -> Option<String> {
    match payload.pointer("/tool_input/command")? {
        Value::String(command) => Some(command.clone()),
        Value::Array(argv) => {
            let parts: Option<Vec<&str>> = argv.iter().map(Value::as_str).collect();
            parts.map(|parts| parts.join(" "))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> ToolPolicy {
        ToolPolicy::from_specs(&[
            DenyRuleSpec {
                pattern: r"\brm\s+-rf\b".into(),
                reason: "no recursive deletes".into(),
            },
            DenyRuleSpec {
                pattern: r"^curl ".into(),
                reason: " ".into(),
            },
        ])
        .expect("valid rules")
    }

    fn shell(command: Value) -> Value {
        json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}})
    }

    #[test]
    fn allows_by_default_and_denies_by_rule() {
        let p = policy();
        assert_eq!(
            p.decide(HookEvent::PreToolUse, &shell(json!("echo hi"))),
            Decision::Allow
        );
        assert_eq!(
            p.decide(
                HookEvent::PreToolUse,
                &shell(json!("cd /x && rm -rf build"))
            ),
            Decision::Deny {
                reason: "no recursive deletes".into()
            }
        );
        assert_eq!(
            p.decide(HookEvent::PreToolUse, &shell(json!(["rm", "-rf", "/"]))),
            Decision::Deny {
                reason: "no recursive deletes".into()
            }
        );
        assert_eq!(
            p.decide(HookEvent::PreToolUse, &shell(json!("curl x"))),
            Decision::Deny {
                reason: DEFAULT_DENY_REASON.into()
            }
        );
        // Not a shell call (a dynamic tool): nothing to match, allowed.
        let message = json!({"tool_name": "message", "tool_input": {"action": "send"}});
        assert_eq!(p.decide(HookEvent::PreToolUse, &message), Decision::Allow);
        assert_eq!(
            ToolPolicy::allow_all().decide(HookEvent::PreToolUse, &shell(json!("rm -rf /"))),
            Decision::Allow
        );
    }

    #[test]
    fn permission_requests_are_never_approved_by_default() {
        let p = policy();
        assert_eq!(
            p.decide(HookEvent::PermissionRequest, &shell(json!("touch x"))),
            Decision::NoOp
        );
        assert!(matches!(
            p.decide(HookEvent::PermissionRequest, &shell(json!("rm -rf x"))),
            Decision::Deny { .. }
        ));
        for event in [HookEvent::PostToolUse, HookEvent::Stop] {
            assert_eq!(p.decide(event, &shell(json!("rm -rf x"))), Decision::NoOp);
        }
        assert_eq!(p.decide(HookEvent::Stop, &Value::Null), Decision::NoOp);
    }

    #[test]
    fn bad_patterns_are_reported() {
        let err = DenyRule::new("(", "x").unwrap_err();
        assert!(
            err.to_string().contains("invalid deny rule pattern \"(\""),
            "{err}"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(Decision::Allow.relay_label(), "allowed");
        assert_eq!(Decision::NoOp.relay_label(), "none");
        let deny = Decision::Deny { reason: "r".into() };
        assert_eq!(deny.relay_label(), "denied");
        assert_eq!(
            serde_json::to_value(&deny).unwrap(),
            json!({"decision": "deny", "reason": "r"})
        );
    }
}
