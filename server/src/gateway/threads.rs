//! Thread binding: which Codex thread serves a session, and getting it loaded in the current
//! app-server process.
//!
//! One thread per session, bound in the store. A thread is resumed lazily on a session's first send
//! after a (re)start of Codex, once even when sends race (the slot's thread lock is the single
//! flight). A binding whose fingerprints no longer match, or whose resume fails, is replaced by a
//! fresh thread. This module decides start versus resume; it never touches runs.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use app::wire::{EventBody, NoticeLevel, SessionKey};

use super::{now_ms, Gateway, GatewayError};
use crate::codex::{CodexError, Epoch};
use crate::store::ThreadBinding;

/// A thread loaded in a given Codex process.
pub(super) struct BoundThread {
    pub thread_id: String,
    pub epoch: Epoch,
}

/// The `message` tool every thread gets. Changing it changes the tools fingerprint, which starts
/// fresh threads: Codex fixes a thread's dynamic tools when the thread is created.
pub fn message_tool() -> Value {
    json!({
        "name": "message",
        "description": "Send a message to the person you are working with. In this chat, a send \
            without channel and target is shown to the user as your reply; your final text is \
            private. Give channel and target only to deliver to an external channel.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["send"]},
                "message": {"type": "string", "description": "The text to send (Markdown)."},
                "channel": {"type": "string", "description": "External channel name."},
                "target": {"type": "string", "description": "Target within the channel."}
            },
            "required": ["action", "message"],
            "additionalProperties": false
        }
    })
}

const DEVELOPER_INSTRUCTIONS: &str = "You are chatting with a person through codex-webchat. \
Only what you send with the `message` tool reaches them; your final answer text is private. \
Reply with `message` {\"action\":\"send\",\"message\":\"...\"}.";

struct Fingerprints {
    tools: String,
    config: String,
}

impl Gateway {
    fn fingerprints(&self) -> Fingerprints {
        let o = &self.inner.opts;
        Fingerprints {
            tools: sha256(&json!([message_tool()]).to_string()),
            config: sha256(&format!(
                "{}\0{}\0{}\0{}",
                o.model_label,
                o.sandbox,
                o.cwd.display(),
                DEVELOPER_INSTRUCTIONS
            )),
        }
    }

    fn thread_params(&self) -> Value {
        let o = &self.inner.opts;
        json!({
            "cwd": o.cwd,
            "approvalPolicy": "never",
            "sandbox": o.sandbox,
        })
    }

    /// The session's thread, loaded in the current Codex process.
    pub(super) async fn ensure_thread(&self, key: &SessionKey) -> Result<String, GatewayError> {
        let slot = self.slot(key);
        let mut bound = slot.thread.lock().await;
        let epoch = self
            .inner
            .codex
            .ready(self.inner.opts.codex_ready_timeout)
            .await?;
        if let Some(b) = bound.as_ref().filter(|b| b.epoch == epoch) {
            return Ok(b.thread_id.clone());
        }
        let fp = self.fingerprints();
        let thread_id = match self.inner.store.binding(key)? {
            Some(b) if b.tools_fingerprint == fp.tools && b.config_fingerprint == fp.config => {
                let mut params = self.thread_params();
                params["threadId"] = json!(b.thread_id);
                params["excludeTurns"] = json!(true);
                match self.inner.codex.thread_resume(params).await {
                    Ok(info) => {
                        self.inner.store.put_binding(
                            key,
                            &ThreadBinding {
                                updated_ms: now_ms(),
                                ..b
                            },
                        )?;
                        tracing::info!(session = %key, thread = %info.thread_id, "thread resumed");
                        info.thread_id
                    }
                    Err(e @ (CodexError::NotRunning(_) | CodexError::Timeout { .. })) => {
                        return Err(e.into())
                    }
                    Err(e) => {
                        tracing::warn!(session = %key, thread = %b.thread_id, error = %e,
                            "resume failed; starting a fresh thread");
                        self.emit_logged(
                            key,
                            None,
                            false,
                            EventBody::Notice {
                                level: NoticeLevel::Warning,
                                text: "The previous Codex thread could not be resumed; this \
                                       session continues on a new thread (earlier turns are \
                                       still shown here, but Codex does not remember them)."
                                    .to_owned(),
                            },
                        );
                        self.inner.store.clear_binding(key)?;
                        self.start_thread(key, &fp).await?
                    }
                }
            }
            Some(_) => {
                tracing::info!(session = %key, "thread binding is out of date; starting a fresh thread");
                self.inner.store.clear_binding(key)?;
                self.start_thread(key, &fp).await?
            }
            None => self.start_thread(key, &fp).await?,
        };
        *bound = Some(BoundThread {
            thread_id: thread_id.clone(),
            epoch,
        });
        Ok(thread_id)
    }

    async fn start_thread(
        &self,
        key: &SessionKey,
        fp: &Fingerprints,
    ) -> Result<String, GatewayError> {
        let mut params = self.thread_params();
        params["ephemeral"] = json!(false);
        params["dynamicTools"] = json!([message_tool()]);
        params["developerInstructions"] = json!(DEVELOPER_INSTRUCTIONS);
        let info = self.inner.codex.thread_start(params).await?;
        let now = now_ms();
        self.inner.store.put_binding(
            key,
            &ThreadBinding {
                thread_id: info.thread_id.clone(),
                relay_generation: None,
                tools_fingerprint: fp.tools.clone(),
                config_fingerprint: fp.config.clone(),
                created_ms: now,
                updated_ms: now,
            },
        )?;
        tracing::info!(session = %key, thread = %info.thread_id, "thread started");
        Ok(info.thread_id)
    }

    /// Forgets that the session's thread is loaded, so the next `ensure_thread` resumes it.
    pub(super) async fn forget_loaded_thread(&self, key: &SessionKey) {
        *self.slot(key).thread.lock().await = None;
    }
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}
