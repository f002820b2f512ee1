//! Threads in Codex's own home (`CODEX_HOME`): listing the ones a session could be opened on,
//! and opening one.
//!
//! Only threads whose folder is a configured workspace are listed (Codex filters by `cwd`), since
//! a session works in a configured workspace and no client may name a path. Opening one creates a
//! session in that workspace, writes the thread's earlier turns into it once (read with
//! `thread/read`, through the run projection), and binds the session to the thread as a *foreign*
//! thread: made without our `message` tool, so its fingerprints are not ours and it is resumed as
//! it is, its model's prose being the reply. A thread open in a session already is not opened
//! twice: the listing and the open both lead to that session.
//!
//! Opening reads; it never loads the thread (loading takes the thread's writer lock from a Codex
//! still working in it). The session's first send resumes it, and if another Codex still holds
//! it, the send fails with a message that says so (see `threads`).

use std::path::Path;

use app::wire::{CodexThread, NoticeLevel, SessionKey, SessionSummary};
use serde_json::{json, Value};

use super::{now_ms, Gateway, GatewayError};
use crate::ids::ThreadId;
use crate::store::{RecordBody, ThreadBinding};

/// The fingerprints of a binding to a thread made elsewhere (see [`ThreadBinding::is_foreign`]).
pub const FOREIGN: &str = "codex-thread";
/// Most threads one listing asks Codex for.
const LIST_LIMIT: u32 = 100;
/// Longest title taken from a thread's preview, in characters.
const TITLE_CHARS: usize = 80;

impl ThreadBinding {
    /// A binding to a thread opened from Codex's home rather than started by us.
    pub fn is_foreign(&self) -> bool {
        self.tools_fingerprint == FOREIGN
    }
}

/// Whether `a` and `b` name the same folder (as given, or once both are resolved).
fn same_folder(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Seconds since the epoch (Codex's dates) as milliseconds.
fn ms(thread: &Value, field: &str) -> i64 {
    thread
        .get(field)
        .and_then(Value::as_i64)
        .unwrap_or_default()
        .saturating_mul(1000)
}

/// A thread's title: its name, or the first line of its preview, shortened.
fn title_of(thread: &Value) -> String {
    let named = thread
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let raw = named.unwrap_or_else(|| thread.get("preview").and_then(Value::as_str).unwrap_or(""));
    let line = raw.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut title: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(TITLE_CHARS)
        .collect();
    if line.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    match title.trim() {
        "" => "Codex thread".to_owned(),
        t => t.to_owned(),
    }
}

impl Gateway {
    /// The threads in Codex's home that worked in a configured workspace, most recent first,
    /// each with the session it is open in, if any.
    pub async fn codex_threads(&self) -> Result<Vec<CodexThread>, GatewayError> {
        let workspaces = &self.inner.opts.workspaces;
        // Right after start Codex may still be starting: wait for it (bounded), as a send does.
        self.inner
            .codex
            .ready(self.inner.opts.codex_ready_timeout)
            .await?;
        let cwds: Vec<String> = workspaces
            .iter()
            .map(|w| w.path.to_string_lossy().into_owned())
            .collect();
        let answer = self
            .inner
            .codex
            .request(
                "thread/list",
                json!({"limit": LIST_LIMIT, "sortKey": "updated_at", "cwd": cwds}),
            )
            .await?;
        let listed = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ids: Vec<&str> = listed
            .iter()
            .filter_map(|t| t.get("id").and_then(Value::as_str))
            .collect();
        let open = self.inner.store.sessions_on_threads(&ids)?;
        let mut threads = Vec::new();
        for t in &listed {
            let (Some(id), Some(cwd)) = (
                t.get("id").and_then(Value::as_str),
                t.get("cwd").and_then(Value::as_str),
            ) else {
                continue;
            };
            let Some(workspace) = workspaces
                .iter()
                .find(|w| same_folder(&w.path, Path::new(cwd)))
            else {
                continue;
            };
            threads.push(CodexThread {
                id: id.to_owned(),
                title: title_of(t),
                workspace: workspace.name.as_str().to_owned(),
                cwd: cwd.to_owned(),
                created_ms: ms(t, "createdAt"),
                updated_ms: ms(t, "updatedAt"),
                session: open
                    .iter()
                    .find(|(thread, _)| thread.as_str() == id)
                    .map(|(_, key)| key.clone()),
            });
        }
        Ok(threads)
    }

    /// A session on Codex thread `id`: the one it is open in already, or a new one in its
    /// workspace holding its earlier turns.
    pub async fn open_codex_thread(&self, id: &str) -> Result<SessionSummary, GatewayError> {
        let bad = |why: &str| {
            GatewayError::BadInput(format!("This Codex thread cannot be opened: {why}"))
        };
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad("that is not a thread id"));
        }
        if let Some((_, key)) = self.inner.store.sessions_on_threads(&[id])?.pop() {
            return self.session(&key);
        }
        self.inner
            .codex
            .ready(self.inner.opts.codex_ready_timeout)
            .await?;
        let read = self
            .inner
            .codex
            .request("thread/read", json!({"threadId": id, "includeTurns": true}))
            .await
            .map_err(|e| match e {
                crate::codex::CodexError::NotRunning(_)
                | crate::codex::CodexError::Timeout { .. } => GatewayError::Codex(e),
                // Codex's own words (an unknown or malformed id): a client's mistake.
                other => bad(&other.to_string()),
            })?;
        let thread = read.get("thread").cloned().unwrap_or_default();
        let cwd = thread
            .get("cwd")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let workspace = self
            .inner
            .opts
            .workspaces
            .iter()
            .find(|w| same_folder(&w.path, Path::new(cwd)))
            .cloned()
            .ok_or_else(|| bad("its folder is not one of the configured workspaces"))?;
        let session = self.create_session_in(Some(workspace.name.as_str()))?;
        let key = session.key;
        let turns = thread
            .get("turns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        self.write_opened(&key, id, &turns)?;
        let now = now_ms();
        self.inner.store.put_binding(
            &key,
            &ThreadBinding {
                thread_id: ThreadId::from(id.to_owned()),
                relay_generation: None,
                tools_fingerprint: FOREIGN.to_owned(),
                config_fingerprint: FOREIGN.to_owned(),
                created_ms: now,
                updated_ms: now,
                workspace_path: Some(workspace.path.to_string_lossy().into_owned()),
            },
        )?;
        let title =
            super::check_title(&title_of(&thread)).unwrap_or_else(|_| "Codex thread".to_owned());
        self.inner.store.set_title(&key, &title, now)?;
        tracing::info!(session = %key, thread = id, turns = turns.len(), "Codex thread opened");
        self.publish_session_list();
        self.session(&key)
    }

    /// The opened thread's earlier turns, between two notices that say where they came from.
    fn write_opened(
        &self,
        key: &SessionKey,
        id: &str,
        turns: &[Value],
    ) -> Result<(), GatewayError> {
        let written = self.write_history(key, turns)?;
        let earlier = if written < turns.len() {
            format!(" (its most recent {written} of {} turns)", turns.len())
        } else {
            String::new()
        };
        self.emit(
            key,
            None,
            false,
            RecordBody::Notice {
                level: NoticeLevel::Info,
                text: format!(
                    "Opened Codex thread {id}{earlier}. The turns above were made in Codex; \
                     what you send now continues the thread here."
                ),
                about: None,
            },
            None,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_name_or_the_first_line_of_the_preview_shortened() {
        assert_eq!(
            title_of(&json!({"name": "Fix CI", "preview": "x"})),
            "Fix CI"
        );
        assert_eq!(
            title_of(&json!({"name": null, "preview": "\n  <b>hi</b> there\nmore"})),
            "<b>hi</b> there"
        );
        let long = "w".repeat(100);
        assert_eq!(
            title_of(&json!({"preview": long})).chars().count(),
            TITLE_CHARS + 1
        );
        assert_eq!(title_of(&json!({"preview": ""})), "Codex thread");
    }
}
