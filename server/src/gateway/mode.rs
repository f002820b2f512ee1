//! What a session's permission mode means to Codex: the `approvalPolicy` and `sandboxPolicy` a
//! `turn/start` carries (PRODUCT.md, "Permission modes and approvals"). The gateway decides the
//! mode; this module only translates it, as a pure function, so the table is tested on its own
//! and the run engine merges the result into its `turn/start` params.
//!
//! Codex 0.169 applies both overrides to the turn that carries them and to every later turn of
//! the thread (it notifies `thread/settings/updated`), so a mode change between turns takes effect
//! on the next `turn/start`. The shapes are those of the generated `TurnStartParams` schema
//! (`codex app-server generate-json-schema`): `approvalPolicy` is one of `"untrusted"`,
//! `"on-request"`, `"never"`; `sandboxPolicy` is tagged by `type` (`dangerFullAccess`,
//! `readOnly {networkAccess}`, `workspaceWrite {writableRoots, networkAccess, excludeTmpdirEnvVar,
//! excludeSlashTmp}`).

use std::path::{Path, PathBuf};

use app::wire::Mode;
use serde_json::{json, Map, Value};

/// Why a mode's policy could not be built for a workspace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModePolicyError {
    /// Codex takes writable roots as absolute paths only.
    #[error("the workspace must be an absolute path, not {0:?}")]
    RelativeWorkspace(PathBuf),
    /// JSON carries text; a path that is not UTF-8 cannot be named to Codex.
    #[error("the workspace path is not valid UTF-8: {0:?}")]
    NonUtf8Workspace(PathBuf),
}

/// The `turn/start` overrides for one mode.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPolicy {
    /// `approvalPolicy`: `never`, `on-request` or `untrusted`.
    pub approval_policy: &'static str,
    /// `sandboxPolicy`, a tagged object.
    pub sandbox_policy: Value,
}

impl TurnPolicy {
    /// `{"approvalPolicy": .., "sandboxPolicy": ..}`, to merge into `turn/start` params.
    pub fn to_params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        params.insert("approvalPolicy".to_owned(), json!(self.approval_policy));
        params.insert("sandboxPolicy".to_owned(), self.sandbox_policy.clone());
        params
    }

    /// `params` (a `turn/start` params object) with this policy's two fields set; any earlier
    /// value of those fields is replaced. A non-object `params` is returned unchanged.
    pub fn apply(&self, mut params: Value) -> Value {
        if let Value::Object(map) = &mut params {
            map.extend(self.to_params());
        }
        params
    }
}

/// The policy of `mode` for a session whose workspace (Codex's `cwd`) is `workspace`:
///
/// | mode | `approvalPolicy` | `sandboxPolicy` |
/// |---|---|---|
/// | `full-access` | `never` | `dangerFullAccess` |
/// | `auto` | `on-request` | `workspaceWrite`, writable root: the workspace |
/// | `ask` | `untrusted` | `workspaceWrite`, writable root: the workspace |
/// | `read-only` | `on-request` | `readOnly` |
///
/// Network access stays off in the sandboxed modes. The workspace-write sandbox keeps Codex's
/// defaults for temporary folders (`/tmp` and `$TMPDIR` stay writable), since compilers and test
/// runners need them. The workspace is checked even for modes that do not name it, so a bad
/// workspace fails the same way whatever the mode.
pub fn turn_policy(mode: Mode, workspace: &Path) -> Result<TurnPolicy, ModePolicyError> {
    if !workspace.is_absolute() {
        return Err(ModePolicyError::RelativeWorkspace(workspace.to_path_buf()));
    }
    let root = workspace
        .to_str()
        .ok_or_else(|| ModePolicyError::NonUtf8Workspace(workspace.to_path_buf()))?;
    let workspace_write = json!({
        "type": "workspaceWrite",
        "writableRoots": [root],
        "networkAccess": false,
        "excludeTmpdirEnvVar": false,
        "excludeSlashTmp": false,
    });
    let (approval_policy, sandbox_policy) = match mode {
        Mode::FullAccess => ("never", json!({ "type": "dangerFullAccess" })),
        Mode::Auto => ("on-request", workspace_write),
        Mode::Ask => ("untrusted", workspace_write),
        Mode::ReadOnly => (
            "on-request",
            json!({ "type": "readOnly", "networkAccess": false }),
        ),
    };
    Ok(TurnPolicy {
        approval_policy,
        sandbox_policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORK: &str = "/srv/sessions/s1/work";

    fn policy(mode: Mode) -> Value {
        Value::Object(turn_policy(mode, Path::new(WORK)).unwrap().to_params())
    }

    #[test]
    fn every_mode_maps_to_the_contract_table() {
        assert_eq!(
            policy(Mode::FullAccess),
            json!({ "approvalPolicy": "never", "sandboxPolicy": { "type": "dangerFullAccess" } })
        );
        let workspace_write = json!({
            "type": "workspaceWrite",
            "writableRoots": [WORK],
            "networkAccess": false,
            "excludeTmpdirEnvVar": false,
            "excludeSlashTmp": false,
        });
        assert_eq!(
            policy(Mode::Auto),
            json!({ "approvalPolicy": "on-request", "sandboxPolicy": workspace_write })
        );
        assert_eq!(
            policy(Mode::Ask),
            json!({ "approvalPolicy": "untrusted", "sandboxPolicy": workspace_write })
        );
        assert_eq!(
            policy(Mode::ReadOnly),
            json!({
                "approvalPolicy": "on-request",
                "sandboxPolicy": { "type": "readOnly", "networkAccess": false },
            })
        );
    }

    #[test]
    fn apply_sets_both_fields_and_keeps_the_rest() {
        let params = json!({
            "threadId": "t1",
            "input": [],
            "approvalPolicy": "never",
        });
        let applied = turn_policy(Mode::ReadOnly, Path::new(WORK))
            .unwrap()
            .apply(params);
        assert_eq!(applied["threadId"], "t1");
        assert_eq!(applied["input"], json!([]));
        assert_eq!(applied["approvalPolicy"], "on-request");
        assert_eq!(applied["sandboxPolicy"]["type"], "readOnly");
        assert_eq!(
            turn_policy(Mode::Auto, Path::new(WORK))
                .unwrap()
                .apply(json!(null)),
            json!(null)
        );
    }

    #[test]
    fn a_relative_workspace_is_refused_in_every_mode() {
        for mode in Mode::ALL {
            assert_eq!(
                turn_policy(mode, Path::new("work")),
                Err(ModePolicyError::RelativeWorkspace(PathBuf::from("work"))),
                "{mode}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_workspace_that_is_not_utf8_is_refused() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(OsStr::from_bytes(b"/srv/\xff/work"));
        assert_eq!(
            turn_policy(Mode::Auto, odd),
            Err(ModePolicyError::NonUtf8Workspace(odd.to_path_buf()))
        );
    }
}
