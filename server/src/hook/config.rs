//! Installing the relay in Codex: the hook command line, the per-thread `config` object for
//! `thread/start` and `thread/resume`, and the trust Codex needs before it runs a hook.
//!
//! Codex skips untrusted hooks without a word, and trust is a hash over the whole hook definition
//! (event, matcher, command, timeout, statusMessage, …), so every new generation needs a new hash.
//! Two ways to get it: [`trust_hash`] computes it the way Codex 0.169 does (a fixture of hashes
//! captured from that binary pins it), and [`learn_trust_hashes`] learns it from Codex itself (a
//! throwaway ephemeral thread with the same hooks, `hooks/list`, `currentHash`). Which one a
//! Codex process gets is decided once per process by [`super::trust`]: the computed hashes are
//! used only after they matched learned ones in that process. Either way the hashes go as
//! `hooks.state` in the thread's own `config` next to the hooks.
//! Per-thread hooks and their trust are not persisted by Codex, so the same config must go with
//! every `thread/start` and every `thread/resume`, and [`verify_hooks_trusted`] should check the
//! thread's `hooks/list` afterwards: anything but "trusted" means the thread is unguarded.
//!
//! This module never writes Codex's user configuration and never decides when to install what.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{HookError, HookEvent};
use crate::codex::Codex;

/// `statusMessage` of every gateway hook (part of the trust hash: keep it constant).
pub const STATUS_MESSAGE: &str = "codex-webchat hook relay";

/// Codex's hook `source` for hooks from a thread's `config`.
const SESSION_FLAGS_SOURCE: &str = "sessionFlags";

/// The relay command's own deadline for a Codex hook timeout: the timeout minus a margin of a
/// fifth of it, at least 250 ms and at most 1 s (5 s gives 4000 ms, 1 s gives 750 ms), so the
/// command answers before Codex kills it (a killed hook fails open).
pub fn relay_deadline_ms(hook_timeout_secs: u64) -> u64 {
    let timeout = hook_timeout_secs.max(1).saturating_mul(1000);
    timeout - (timeout / 5).clamp(250, 1000)
}

/// The relay command's deadline as a `Duration`.
pub fn relay_deadline(hook_timeout_secs: u64) -> Duration {
    Duration::from_millis(relay_deadline_ms(hook_timeout_secs))
}

/// The hook command for one event, shell-quoted for Codex's `$SHELL -lc`:
/// `<exe> hook relay --relay-id <id> --generation <g> --event <event>
/// [--pre-tool-use-unavailable noop] --timeout <ms>`. The noop flag is only written for
/// PreToolUse. Fails if `exe` is not UTF-8 (it could not be written into Codex's config).
pub fn hook_command(
    exe: &Path,
    relay_id: &str,
    generation: &str,
    event: HookEvent,
    hook_timeout_secs: u64,
    pre_tool_use_unavailable_noop: bool,
) -> Result<String, HookError> {
    let exe = exe
        .to_str()
        .ok_or_else(|| HookError::NonUtf8Exe(exe.to_path_buf()))?;
    let deadline = relay_deadline_ms(hook_timeout_secs).to_string();
    let mut args = vec![
        exe,
        "hook",
        "relay",
        "--relay-id",
        relay_id,
        "--generation",
        generation,
        "--event",
        event.as_str(),
    ];
    if pre_tool_use_unavailable_noop && event == HookEvent::PreToolUse {
        args.extend(["--pre-tool-use-unavailable", "noop"]);
    }
    args.extend(["--timeout", &deadline]);
    let quoted: Vec<String> = args.into_iter().map(shell_quote).collect();
    Ok(quoted.join(" "))
}

/// The commands for all of `events` of one registration.
pub fn hook_commands(
    exe: &Path,
    relay_id: &str,
    generation: &str,
    events: &[HookEvent],
    hook_timeout_secs: u64,
    pre_tool_use_unavailable_noop: bool,
) -> Result<Vec<(HookEvent, String)>, HookError> {
    events
        .iter()
        .map(|&event| {
            let command = hook_command(
                exe,
                relay_id,
                generation,
                event,
                hook_timeout_secs,
                pre_tool_use_unavailable_noop,
            )?;
            Ok((event, command))
        })
        .collect()
}

/// Quotes one word for a POSIX shell: bare if it only has safe characters, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b);
    if !word.is_empty() && word.bytes().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The per-thread `config` for `thread/start` and `thread/resume`: one matcher-less group with
/// one command hook per event, and `hooks.state` trusting each hook whose key is in
/// `trusted_hashes` (omitted when empty, as [`learn_trust_hashes`] needs).
pub fn thread_hook_config(
    commands: &[(HookEvent, String)],
    hook_timeout_secs: u64,
    trusted_hashes: &HashMap<String, String>,
) -> Value {
    let mut hooks = Map::new();
    for (event, command) in commands {
        hooks.insert(
            event.codex_name().to_owned(),
            json!([{"hooks": [{
                "type": "command",
                "command": command,
                "timeout": hook_timeout_secs.max(1),
                "statusMessage": STATUS_MESSAGE,
            }]}]),
        );
    }
    if !trusted_hashes.is_empty() {
        let mut keys: Vec<_> = trusted_hashes.iter().collect();
        keys.sort();
        let state: Map<String, Value> = keys
            .into_iter()
            .map(|(key, hash)| (key.clone(), json!({"trusted_hash": hash})))
            .collect();
        hooks.insert("state".to_owned(), Value::Object(state));
    }
    json!({ "hooks": hooks })
}

/// The gateway commands in a thread config built by [`thread_hook_config`].
pub fn config_commands(config: &Value) -> Vec<(HookEvent, String)> {
    let Some(hooks) = config.get("hooks").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut commands = Vec::new();
    for (name, groups) in hooks {
        let Some(event) = HookEvent::from_codex(name) else {
            continue;
        };
        let handlers = groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|group| group.get("hooks")?.as_array())
            .flatten();
        for handler in handlers {
            if let Some(command) = handler.get("command").and_then(Value::as_str) {
                commands.push((event, command.to_owned()));
            }
        }
    }
    commands
}

/// Codex's key for the one hook of `event` in a thread's `config` built by
/// [`thread_hook_config`]: the session-flags layer, matcher group 0, handler 0.
pub fn session_hook_key(event: HookEvent) -> String {
    format!("/<session-flags>/config.toml:{}:0:0", event.as_str())
}

/// Codex's trust hash of one command hook, computed. Codex hashes a normalised identity of the
/// hook rather than its source text: an object with the event's snake-case label
/// (`event_name`), the group's `matcher` (absent here: our groups have none) and `hooks`, a list
/// holding only this handler with its timeout filled in (Codex's default is 600 s, its minimum
/// 1 s), `async` spelled out and fields without a value left out (it passes through TOML, which
/// has no null). The object's keys are sorted at every level, it is written as compact JSON, and
/// the hash is `sha256:` and the SHA-256 of those bytes in lowercase hex. `statusMessage` is
/// `None` only for hooks without one (ours always have [`STATUS_MESSAGE`]).
pub fn trust_hash(
    event: HookEvent,
    command: &str,
    timeout_secs: u64,
    status_message: Option<&str>,
) -> String {
    let mut handler = Map::new();
    handler.insert("type".to_owned(), json!("command"));
    handler.insert("command".to_owned(), json!(command));
    handler.insert("timeout".to_owned(), json!(timeout_secs.max(1)));
    handler.insert("async".to_owned(), json!(false));
    if let Some(status) = status_message {
        handler.insert("statusMessage".to_owned(), json!(status));
    }
    let identity = json!({
        "event_name": event.as_str(),
        "hooks": [Value::Object(handler)],
    });
    let bytes = serde_json::to_vec(&sorted_keys(identity)).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `value` with every object's keys in byte order, whatever order serde_json's map keeps.
fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

/// The computed trust hash of each of `commands` as [`thread_hook_config`] installs them, keyed
/// as Codex keys them: what [`learn_trust_hashes`] would learn from a Codex that hashes as 0.169
/// does.
pub fn computed_trust_hashes(
    commands: &[(HookEvent, String)],
    hook_timeout_secs: u64,
) -> HashMap<String, String> {
    commands
        .iter()
        .map(|(event, command)| {
            (
                session_hook_key(*event),
                trust_hash(*event, command, hook_timeout_secs, Some(STATUS_MESSAGE)),
            )
        })
        .collect()
}

/// Learns Codex's trust hash of every gateway hook in `config` (a [`thread_hook_config`] value;
/// any `hooks.state` in it is ignored): starts a throwaway ephemeral thread in `cwd` with the same
/// hooks and no trust, reads `hooks/list {threadId}`, and returns `key -> currentHash` for each
/// of them. The throwaway is unsubscribed and, with a zero unload delay, unloaded at once; its
/// `thread/started` and `thread/closed` notifications reach the caller's event stream and are to
/// be ignored.
pub async fn learn_trust_hashes(
    codex: &Codex,
    cwd: &Path,
    config: &Value,
) -> Result<HashMap<String, String>, HookError> {
    let commands = config_commands(config);
    if commands.is_empty() {
        return Ok(HashMap::new());
    }
    let mut hooks = config.get("hooks").cloned().unwrap_or_else(|| json!({}));
    if let Some(hooks) = hooks.as_object_mut() {
        hooks.remove("state");
    }
    let params = json!({
        "cwd": cwd,
        "ephemeral": true,
        // The delay is not part of any hook's hash; it makes `thread/unsubscribe` unload the
        // throwaway now instead of after Codex's idle timeout.
        "config": {"hooks": hooks, "thread_unload_delay_secs": 0},
    });
    let thread = codex.thread_start(params).await?;
    let listed = codex.hooks_list(&thread.thread_id).await;
    if let Err(e) = codex
        .request("thread/unsubscribe", json!({"threadId": thread.thread_id}))
        .await
    {
        tracing::warn!(thread_id = %thread.thread_id, error = %e,
            "could not release the hook trust throwaway thread");
    }
    let listed = listed?;
    let found = gateway_hooks(&listed, &commands);
    let mut hashes = HashMap::new();
    for (event, command) in &commands {
        let entry = found
            .iter()
            .find(|h| h.command == *command && h.event == Some(*event))
            .ok_or_else(|| {
                HookError::Trust(format!(
                    "Codex did not list the {} hook of the throwaway thread: {}",
                    event.codex_name(),
                    listing_errors(&listed)
                ))
            })?;
        if entry.current_hash.is_empty() {
            return Err(HookError::Trust(format!(
                "Codex listed the {} hook without a hash",
                event.codex_name()
            )));
        }
        hashes.insert(entry.key.clone(), entry.current_hash.clone());
    }
    Ok(hashes)
}

/// Checks a thread's `hooks/list` result: every one of `commands` must be listed for its event,
/// enabled and trusted. Anything else means Codex would run that thread's tools unguarded.
pub fn verify_hooks_trusted(
    hooks_list: &Value,
    commands: &[(HookEvent, String)],
) -> Result<(), HookError> {
    let found = gateway_hooks(hooks_list, commands);
    let mut problems = Vec::new();
    for (event, command) in commands {
        match found
            .iter()
            .find(|h| h.command == *command && h.event == Some(*event))
        {
            None => problems.push(format!("{} is not installed", event.codex_name())),
            Some(h) if !h.enabled => problems.push(format!("{} is disabled", event.codex_name())),
            Some(h) if h.trust_status != "trusted" => problems.push(format!(
                "{} is {}",
                event.codex_name(),
                if h.trust_status.is_empty() {
                    "of unknown trust"
                } else {
                    &h.trust_status
                }
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(HookError::Trust(format!(
            "the thread's relay hooks are unguarded: {}",
            problems.join(", ")
        )))
    }
}

/// One hook as `hooks/list` shows it.
#[derive(Debug)]
struct ListedHook {
    key: String,
    command: String,
    event: Option<HookEvent>,
    current_hash: String,
    trust_status: String,
    enabled: bool,
}

/// The hooks in a `hooks/list` result that come from a thread's config and run one of `commands`.
fn gateway_hooks(hooks_list: &Value, commands: &[(HookEvent, String)]) -> Vec<ListedHook> {
    let ours: HashSet<&str> = commands.iter().map(|(_, c)| c.as_str()).collect();
    let str_of = |hook: &Value, field: &str| {
        hook.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    hooks_list
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("hooks")?.as_array())
        .flatten()
        .filter(|hook| hook.get("source").and_then(Value::as_str) == Some(SESSION_FLAGS_SOURCE))
        .filter(|hook| {
            hook.get("command")
                .and_then(Value::as_str)
                .is_some_and(|c| ours.contains(c))
        })
        .map(|hook| ListedHook {
            key: str_of(hook, "key"),
            command: str_of(hook, "command"),
            event: hook
                .get("eventName")
                .and_then(Value::as_str)
                .and_then(event_from_listing),
            current_hash: str_of(hook, "currentHash"),
            trust_status: str_of(hook, "trustStatus"),
            enabled: hook
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
        .collect()
}

/// `hooks/list` spells events in camel case (`preToolUse`).
fn event_from_listing(name: &str) -> Option<HookEvent> {
    HookEvent::ALL.into_iter().find(|e| {
        let codex = e.codex_name();
        codex[..1].to_ascii_lowercase() + &codex[1..] == name
    })
}

fn listing_errors(hooks_list: &Value) -> String {
    let errors: Vec<String> = hooks_list
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("errors")?.as_array())
        .flatten()
        .map(Value::to_string)
        .collect();
    if errors.is_empty() {
        "no errors reported".to_owned()
    } else {
        errors.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_margin_is_a_fifth_clamped() {
        assert_eq!(relay_deadline_ms(5), 4000);
        assert_eq!(relay_deadline_ms(1), 750);
        assert_eq!(relay_deadline_ms(7), 6000);
        assert_eq!(relay_deadline_ms(2), 1600);
        assert_eq!(relay_deadline_ms(60), 59_000);
        assert_eq!(relay_deadline_ms(0), 750, "Codex's minimum is 1 s");
        assert_eq!(relay_deadline(5), Duration::from_secs(4));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            shell_quote("/usr/bin/codex-webchat"),
            "/usr/bin/codex-webchat"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn thread_config_shape() {
        let commands = vec![
            (HookEvent::PreToolUse, "relay pre".to_owned()),
            (HookEvent::Stop, "relay stop".to_owned()),
        ];
        let bare = thread_hook_config(&commands, 5, &HashMap::new());
        assert_eq!(
            bare,
            json!({"hooks": {
                "PreToolUse": [{"hooks": [{"type": "command", "command": "relay pre",
                    "timeout": 5, "statusMessage": "codex-webchat hook relay"}]}],
                "Stop": [{"hooks": [{"type": "command", "command": "relay stop",
                    "timeout": 5, "statusMessage": "codex-webchat hook relay"}]}],
            }})
        );
        let hashes = HashMap::from([(
            "/<session-flags>/config.toml:pre_tool_use:0:0".to_owned(),
            "sha256:ab".to_owned(),
        )]);
        let trusted = thread_hook_config(&commands, 5, &hashes);
        assert_eq!(
            trusted["hooks"]["state"],
            json!({"/<session-flags>/config.toml:pre_tool_use:0:0": {"trusted_hash": "sha256:ab"}})
        );
        let mut listed = config_commands(&trusted);
        listed.sort_by_key(|(e, _)| e.as_str());
        assert_eq!(listed, {
            let mut c = commands.clone();
            c.sort_by_key(|(e, _)| e.as_str());
            c
        });
    }

    /// What Codex 0.169.0 reported in `hooks/list` for hook definitions
    /// (`tests/fixtures/codex/hook_trust`, captured by its `capture.py`).
    fn captured() -> Vec<Value> {
        let fixture: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/codex/hook_trust/hashes.json"
        ))
        .expect("fixture");
        assert_eq!(fixture["codex"], "0.169.0", "the pinned Codex");
        fixture["hooks"].as_array().expect("hooks").clone()
    }

    #[test]
    fn computed_trust_hashes_are_the_ones_codex_0_169_reports() {
        let hooks = captured();
        assert!(hooks.len() >= 15, "{hooks:?}");
        for hook in &hooks {
            let event = HookEvent::from_codex(hook["event"].as_str().unwrap()).unwrap();
            let computed = trust_hash(
                event,
                hook["command"].as_str().unwrap(),
                hook["timeout"].as_u64().unwrap(),
                hook["statusMessage"].as_str(),
            );
            assert_eq!(computed, hook["currentHash"], "{hook}");
            assert_eq!(session_hook_key(event), hook["key"], "{hook}");
        }
    }

    /// The captured relay hooks are the commands `hook_commands` writes (odd executable paths
    /// included), so the fixture covers what the gateway installs.
    #[test]
    fn the_captured_relay_hooks_are_the_gateways_own_commands() {
        let hooks = captured();
        let cases = [
            (
                "/usr/local/bin/codex-webchat",
                "codex-6033bcabe0703bcfb34ff682d48038fddbe38024",
                "d6caf224a8fd49201ce1ec70cc4fb9d4",
                10,
            ),
            (
                "/opt/chat apps/it's/codex-webchat",
                "codex-0000000000000000000000000000000000000001",
                "00000000000000000000000000000001",
                1,
            ),
            (
                "/home/zoë/bin/codex-webchat",
                "codex-ffffffffffffffffffffffffffffffffffffffff",
                "ffffffffffffffffffffffffffffffff",
                600,
            ),
        ];
        for (exe, relay_id, generation, timeout) in cases {
            let commands = hook_commands(
                Path::new(exe),
                relay_id,
                generation,
                &HookEvent::ALL,
                timeout,
                false,
            )
            .unwrap();
            let computed = computed_trust_hashes(&commands, timeout);
            assert_eq!(computed.len(), HookEvent::ALL.len());
            for (event, command) in &commands {
                let hook = hooks
                    .iter()
                    .find(|h| h["command"] == command.as_str())
                    .unwrap_or_else(|| panic!("{command} was not captured"));
                assert_eq!(hook["event"], event.codex_name());
                assert_eq!(hook["timeout"], timeout);
                assert_eq!(hook["statusMessage"], STATUS_MESSAGE);
                assert_eq!(computed[&session_hook_key(*event)], hook["currentHash"]);
            }
        }
    }

    fn listing(trust: &str, command: &str) -> Value {
        json!({"data": [{"cwd": "/w", "errors": [], "warnings": [], "hooks": [
            {"key": "/<session-flags>/config.toml:pre_tool_use:0:0", "eventName": "preToolUse",
             "command": command, "source": "sessionFlags", "enabled": true,
             "currentHash": "sha256:1", "trustStatus": trust},
            {"key": "/home/u/.codex/config.toml:pre_tool_use:0:0", "eventName": "preToolUse",
             "command": command, "source": "user", "enabled": true,
             "currentHash": "sha256:2", "trustStatus": "trusted"},
        ]}]})
    }

    #[test]
    fn verification_accepts_only_trusted_thread_hooks() {
        let commands = vec![(HookEvent::PreToolUse, "relay pre".to_owned())];
        verify_hooks_trusted(&listing("trusted", "relay pre"), &commands).expect("trusted");
        // The same command in the user's config does not count: it is not the thread's.
        let err = verify_hooks_trusted(&listing("modified", "relay pre"), &commands).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hook trust: the thread's relay hooks are unguarded: PreToolUse is modified"
        );
        let err = verify_hooks_trusted(&listing("trusted", "relay old"), &commands).unwrap_err();
        assert!(
            err.to_string().contains("PreToolUse is not installed"),
            "{err}"
        );
        assert!(verify_hooks_trusted(&json!({}), &commands).is_err());
        assert_eq!(
            event_from_listing("permissionRequest"),
            Some(HookEvent::PermissionRequest)
        );
        assert_eq!(event_from_listing("sessionStart"), None);
    }
}
