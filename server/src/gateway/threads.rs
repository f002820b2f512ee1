//! Thread binding: which Codex thread serves a session, and getting it loaded in the current
//! app-server process.
//!
//! One thread per session, bound in the store. A thread is resumed lazily on a session's first send
//! after a (re)start of Codex, once even when sends race (the slot's thread lock is the single
//! flight). What to do is decided by a pure [`plan`] (reuse the loaded thread, resume the bound
//! one, or start fresh, and why) from what is loaded, the binding and its fingerprints; the plan
//! is then carried out. A resume refused because another process is still the thread's `active
//! writer` is retried with backoff; a resume that fails anyway (`no rollout found`, a writer that
//! stays, anything else) is replaced by a fresh thread, with a notice saying why. This module
//! decides start versus resume; it never touches runs.
//!
//! A thread works in its session's workspace (`cwd`); the binding remembers that folder, and a
//! binding whose workspace has since moved (the configuration was edited) is not resumed: the
//! session goes on with a fresh thread in the new folder, and a notice says why.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use app::wire::{NoticeLevel, SessionKey};

use super::{now_ms, Gateway, GatewayError};
use crate::codex::{CodexError, Epoch, ThreadInfo};
use crate::hook::registry::RegistrationHandle;
use crate::ids::ThreadId;
use crate::store::{RecordBody, ThreadBinding};

/// A thread loaded in a given Codex process.
#[derive(Clone, Debug)]
pub(super) struct BoundThread {
    pub thread_id: ThreadId,
    pub epoch: Epoch,
    /// The relay generation the thread's hook commands carry (`None` without a relay).
    pub generation: Option<String>,
    /// Why the thread's native tools would run unchecked, if they would.
    pub unguarded: Option<String>,
    /// The workspace folder it works in.
    pub workspace: PathBuf,
    /// Opened from Codex's home: made without our `message` tool, its completed agent messages
    /// are the replies.
    pub foreign: bool,
}

/// A thread ready for a turn.
pub(super) struct ReadyThread {
    pub thread_id: ThreadId,
    /// The Codex process the thread is loaded in.
    pub epoch: Epoch,
    pub relay: Option<(String, String)>,
    /// This run's relay registration; unregistered (deferred) when the run ends.
    pub handle: Option<RegistrationHandle>,
    pub unguarded: Option<String>,
    /// The workspace folder the thread works in (its `cwd`, the sandbox's writable root).
    pub workspace: PathBuf,
    /// Opened from Codex's home: its completed agent messages are the replies (see
    /// [`BoundThread::foreign`]).
    pub foreign: bool,
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

/// The tag around the context a background run's turn carries after its prompt. The demo model
/// treats it like Codex's own injected fragments (not the user's words).
pub const BACKGROUND_CONTEXT_TAG: &str = "codex_webchat_background_run";

/// What a background run's model is told besides its prompt: nobody reads the chat, so a
/// targetless send fails, and where it can deliver instead. `channels` describes the configured
/// outbound channels ([`crate::channels::Outbound::describe`]); `last` is the session's last
/// external route, if any.
pub fn background_context(origin: &str, channels: &str, last: Option<&str>) -> String {
    let last = match last {
        Some(route) => format!("channel \"last\" sends to this session's last channel ({route})"),
        None => "channel \"last\" is not usable yet (this session has not delivered anywhere)"
            .to_owned(),
    };
    format!(
        "<{BACKGROUND_CONTEXT_TAG} origin=\"{origin}\">\nThis is a background run ({origin}): \
         nobody is reading this chat, so a `message` send without channel and target fails. To \
         deliver, give a channel and a target; configured: {channels}. Or use {last}.\n\
         </{BACKGROUND_CONTEXT_TAG}>"
    )
}

/// What a thread was made with: its dynamic tools, the configuration its instructions and
/// sandbox come from, and its workspace folder. A binding whose fingerprints differ from
/// today's is not resumed.
struct Fingerprints {
    tools: String,
    config: String,
    /// The session's workspace folder as configured now.
    workspace: String,
}

/// How the session's thread gets loaded, decided from what is known (see [`plan`]).
#[derive(Debug)]
enum ThreadPlan<'a> {
    /// It is loaded in the current Codex process already.
    Reuse(&'a BoundThread),
    /// The binding is current: resume its thread under `generation`, the stored relay
    /// generation (Codex may still present the old command for the resumed thread). A binding
    /// from before generations were stored gets a new one, plus the bounded `grace` that accepts
    /// (and pins) the first foreign one.
    Resume {
        binding: ThreadBinding,
        generation: String,
        grace: Option<Duration>,
    },
    /// No binding may be resumed.
    StartFresh { reason: FreshReason },
}

/// Why a session gets a fresh thread without trying to resume one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FreshReason {
    /// The session has no thread yet.
    Unbound,
    /// Its thread was made with other tools or another configuration.
    OutOfDate,
    /// Its thread was started in a folder the session's workspace no longer is (the
    /// configuration moved it).
    WorkspaceMoved,
}

/// The plan for loading a session's thread in Codex process `epoch`: `loaded` is the thread the
/// session has loaded (in whichever process), `binding` the one the store remembers, `fp` what a
/// thread is made with today. `new_generation` mints a relay generation when one is needed.
fn plan<'a>(
    loaded: Option<&'a BoundThread>,
    epoch: Epoch,
    binding: Option<ThreadBinding>,
    fp: &Fingerprints,
    new_generation: impl FnOnce() -> String,
) -> ThreadPlan<'a> {
    if let Some(loaded) = loaded.filter(|b| b.epoch == epoch) {
        return ThreadPlan::Reuse(loaded);
    }
    let Some(binding) = binding else {
        return ThreadPlan::StartFresh {
            reason: FreshReason::Unbound,
        };
    };
    // Checked first: the fingerprint covers the folder too, but this reason deserves a notice.
    if binding
        .workspace_path
        .as_deref()
        .is_some_and(|started_in| started_in != fp.workspace)
    {
        return ThreadPlan::StartFresh {
            reason: FreshReason::WorkspaceMoved,
        };
    }
    // A thread opened from Codex's home was made elsewhere: its fingerprints are never ours,
    // and it is resumed as it is, under a new generation (it never carried one of ours).
    if binding.is_foreign() {
        return ThreadPlan::Resume {
            binding,
            generation: new_generation(),
            grace: None,
        };
    }
    if binding.tools_fingerprint != fp.tools || binding.config_fingerprint != fp.config {
        return ThreadPlan::StartFresh {
            reason: FreshReason::OutOfDate,
        };
    }
    let (generation, grace) = match binding.relay_generation.as_deref() {
        Some(g) if crate::hook::registry::is_valid_token(g) => (g.to_owned(), None),
        _ => (new_generation(), Some(crate::hook::registry::LEGACY_GRACE)),
    };
    ThreadPlan::Resume {
        binding,
        generation,
        grace,
    }
}

/// A thread Codex has just started or resumed.
struct Started {
    thread_id: ThreadId,
    /// The relay generation its hook commands carry (`None` without a relay).
    generation: Option<String>,
    /// Why its native tools would run unchecked, if they would.
    unguarded: Option<String>,
}

/// Codex refused to resume a thread (no rollout, a writer that stays, anything but being down).
struct Refused(CodexError);

impl Gateway {
    /// Today's fingerprints for a thread working in `workspace`. The folder stays in the config
    /// fingerprint as it was before workspaces were configurable, so a binding from then still
    /// resumes in the default workspace's unchanged folder.
    fn fingerprints(&self, workspace: &Path) -> Fingerprints {
        let o = &self.inner.opts;
        Fingerprints {
            tools: sha256(&json!([message_tool()]).to_string()),
            config: sha256(&format!(
                "{}\0{}\0{}\0{}",
                o.model_label,
                o.sandbox,
                workspace.display(),
                DEVELOPER_INSTRUCTIONS
            )),
            workspace: workspace.to_string_lossy().into_owned(),
        }
    }

    fn thread_params(&self, workspace: &Path) -> Value {
        let o = &self.inner.opts;
        json!({
            "cwd": workspace,
            "approvalPolicy": "never",
            "sandbox": o.sandbox,
        })
    }

    /// The session's thread, loaded in the current Codex process, with its relay registered.
    pub(super) async fn ensure_thread(
        &self,
        key: &SessionKey,
    ) -> Result<ReadyThread, GatewayError> {
        let slot = self.slot(key);
        let mut bound = slot.thread.lock().await;
        let epoch = self
            .inner
            .codex
            .ready(self.inner.opts.codex_ready_timeout)
            .await?;
        let session = self.session(key)?;
        let workspace = self.session_workspace(&session)?;
        let fp = self.fingerprints(&workspace.path);
        let binding = self.inner.store.binding(key)?;
        let plan = plan(
            bound.as_ref(),
            epoch,
            binding,
            &fp,
            crate::hook::registry::new_generation,
        );
        let (thread, grace) = self
            .carry_out(key, epoch, plan, &fp, &workspace.path)
            .await?;
        let handle = self.register_relay(key, thread.generation.as_deref(), grace)?;
        let ready = self.ready_thread(key, &thread, handle);
        *bound = Some(thread);
        Ok(ready)
    }

    /// Carries out `plan`: the thread it leaves loaded in Codex process `epoch`, and the legacy
    /// grace its relay registration gets.
    async fn carry_out(
        &self,
        key: &SessionKey,
        epoch: Epoch,
        plan: ThreadPlan<'_>,
        fp: &Fingerprints,
        workspace: &Path,
    ) -> Result<(BoundThread, Option<Duration>), GatewayError> {
        let mut foreign = false;
        let (started, grace) = match plan {
            // The thread keeps the hook commands it was loaded with; the caller makes sure the
            // relay still answers for them (a registration expires when a session idles long).
            ThreadPlan::Reuse(loaded) => return Ok((loaded.clone(), None)),
            ThreadPlan::Resume {
                binding,
                generation,
                grace,
            } => match self
                .resume(key, epoch, &binding, generation, workspace)
                .await?
            {
                Ok(resumed) => {
                    foreign = binding.is_foreign();
                    (resumed, grace)
                }
                // Another Codex (its terminal UI, say) still works in the thread this session
                // was opened on: a fresh thread would lose it, so the send fails and says why.
                Err(Refused(e)) if binding.is_foreign() && e.is_active_writer() => {
                    tracing::info!(session = %key, thread = %binding.thread_id, error = %e,
                        "the opened Codex thread has another active writer");
                    return Err(GatewayError::Unusable(ACTIVE_WRITER_ELSEWHERE.to_owned()));
                }
                Err(Refused(e)) => {
                    let fresh = self
                        .replace_thread(key, epoch, fp, &binding.thread_id, e, workspace)
                        .await?;
                    (fresh, None)
                }
            },
            ThreadPlan::StartFresh { reason } => {
                match reason {
                    FreshReason::Unbound => {}
                    FreshReason::OutOfDate => {
                        tracing::info!(session = %key, "thread binding is out of date; starting a fresh thread");
                        self.inner.store.clear_binding(key)?;
                    }
                    FreshReason::WorkspaceMoved => {
                        tracing::info!(session = %key, workspace = %workspace.display(),
                            "the session's workspace moved; starting a fresh thread");
                        self.emit_logged(
                            key,
                            None,
                            false,
                            RecordBody::Notice {
                                level: NoticeLevel::Warning,
                                text: workspace_moved_notice(workspace),
                                about: None,
                            },
                        );
                        self.inner.store.clear_binding(key)?;
                    }
                }
                (self.start_thread(key, epoch, fp, workspace).await?, None)
            }
        };
        let thread = BoundThread {
            thread_id: started.thread_id,
            epoch,
            generation: started.generation,
            unguarded: started.unguarded,
            workspace: workspace.to_path_buf(),
            foreign,
        };
        Ok((thread, grace))
    }

    /// Resumes the bound thread under `generation`. A resume Codex refuses is [`Refused`]: the
    /// session goes on with a fresh thread. Errors (Codex is down, the store fails) fail the run.
    async fn resume(
        &self,
        key: &SessionKey,
        epoch: Epoch,
        binding: &ThreadBinding,
        generation: String,
        workspace: &Path,
    ) -> Result<Result<Started, Refused>, GatewayError> {
        let mut params = self.thread_params(workspace);
        params["threadId"] = json!(binding.thread_id);
        params["excludeTurns"] = json!(true);
        let commands = self
            .install_hooks(key, epoch, &generation, &mut params, workspace)
            .await?;
        let info = match self.resume_thread(key, params).await {
            Ok(info) => info,
            Err(e @ (CodexError::NotRunning(_) | CodexError::Timeout { .. })) => {
                return Err(e.into())
            }
            Err(e) => return Ok(Err(Refused(e))),
        };
        self.inner.store.put_binding(
            key,
            &ThreadBinding {
                updated_ms: now_ms(),
                relay_generation: commands.as_ref().map(|_| generation.clone()),
                ..binding.clone()
            },
        )?;
        tracing::info!(session = %key, thread = %info.thread_id, "thread resumed");
        let unguarded = self.check_hooks(&info.thread_id, commands.as_deref()).await;
        Ok(Ok(Started {
            thread_id: info.thread_id,
            generation: commands.map(|_| generation),
            unguarded,
        }))
    }

    /// Moves the session to a fresh thread after its bound one could not be resumed, and tells
    /// the person.
    async fn replace_thread(
        &self,
        key: &SessionKey,
        epoch: Epoch,
        fp: &Fingerprints,
        thread_id: &ThreadId,
        e: CodexError,
        workspace: &Path,
    ) -> Result<Started, GatewayError> {
        tracing::warn!(session = %key, thread = %thread_id, error = %e,
            "resume failed; starting a fresh thread");
        self.emit_logged(
            key,
            None,
            false,
            RecordBody::Notice {
                level: NoticeLevel::Warning,
                text: resume_failure_notice(&e),
                about: None,
            },
        );
        self.inner.store.clear_binding(key)?;
        self.start_thread(key, epoch, fp, workspace).await
    }

    /// What a run needs of its loaded thread.
    fn ready_thread(
        &self,
        key: &SessionKey,
        b: &BoundThread,
        handle: Option<RegistrationHandle>,
    ) -> ReadyThread {
        ReadyThread {
            handle,
            thread_id: b.thread_id.clone(),
            epoch: b.epoch,
            relay: b
                .generation
                .clone()
                .map(|g| (crate::hook::registry::relay_id_for(key.as_str()), g)),
            unguarded: b.unguarded.clone(),
            workspace: b.workspace.clone(),
            foreign: b.foreign,
        }
    }

    /// Registers the session's relay under `generation` for one run, replacing any older
    /// registration at once (a pending deferred unregister of the old one then does nothing).
    fn register_relay(
        &self,
        key: &SessionKey,
        generation: Option<&str>,
        grace: Option<Duration>,
    ) -> Result<Option<RegistrationHandle>, GatewayError> {
        let (Some(hooks), Some(generation)) = (&self.inner.opts.hooks, generation) else {
            return Ok(None);
        };
        let relay_id = crate::hook::registry::relay_id_for(key.as_str());
        hooks
            .registry
            .register(crate::hook::registry::Registration {
                relay_id,
                generation: generation.to_owned(),
                provider: crate::hook::PROVIDER_CODEX.to_owned(),
                session_key: key.to_string(),
                allowed_events: crate::hook::HookEvent::ALL.into_iter().collect(),
                ttl: crate::hook::registry::DEFAULT_TTL,
                legacy_grace: grace,
            })
            .map(Some)
            .map_err(|e| GatewayError::Unguarded(e.to_string()))
    }

    /// Puts the trusted per-thread hook config for `generation` into `params`. Codex does not
    /// persist per-thread hooks, so this goes on every start and every resume. The trust hashes
    /// are computed or learned from Codex process `epoch`, as `hook::trust` settled for it.
    async fn install_hooks(
        &self,
        key: &SessionKey,
        epoch: Epoch,
        generation: &str,
        params: &mut Value,
        workspace: &Path,
    ) -> Result<Option<Vec<(crate::hook::HookEvent, String)>>, GatewayError> {
        let Some(hooks) = &self.inner.opts.hooks else {
            return Ok(None);
        };
        let relay_id = crate::hook::registry::relay_id_for(key.as_str());
        let commands = crate::hook::config::hook_commands(
            &hooks.exe,
            &relay_id,
            generation,
            &crate::hook::HookEvent::ALL,
            hooks.timeout_secs,
            false,
        )
        .map_err(|e| GatewayError::Unguarded(e.to_string()))?;
        let config = hooks
            .trust
            .thread_config(
                &self.inner.codex,
                epoch,
                workspace,
                &commands,
                hooks.timeout_secs,
            )
            .await
            .map_err(|e| match e {
                crate::hook::HookError::Codex(c) => GatewayError::Codex(c),
                other => GatewayError::Unguarded(other.to_string()),
            })?;
        params["config"] = config;
        Ok(Some(commands))
    }

    /// Asks Codex which hooks the thread will really run. Anything but our commands, trusted,
    /// means its native tools would run unchecked.
    async fn check_hooks(
        &self,
        thread_id: &ThreadId,
        commands: Option<&[(crate::hook::HookEvent, String)]>,
    ) -> Option<String> {
        let commands = commands?;
        match self.inner.codex.hooks_list(thread_id).await {
            Ok(list) => crate::hook::config::verify_hooks_trusted(&list, commands)
                .err()
                .map(|e| e.to_string()),
            Err(e) => Some(format!("Codex could not list the thread's hooks: {e}")),
        }
    }

    /// A fresh thread always gets a fresh generation: commands of any earlier thread of this
    /// session stay fenced.
    async fn start_thread(
        &self,
        key: &SessionKey,
        epoch: Epoch,
        fp: &Fingerprints,
        workspace: &Path,
    ) -> Result<Started, GatewayError> {
        let generation = crate::hook::registry::new_generation();
        let mut params = self.thread_params(workspace);
        params["ephemeral"] = json!(false);
        params["dynamicTools"] = json!([message_tool()]);
        params["developerInstructions"] = json!(DEVELOPER_INSTRUCTIONS);
        let commands = self
            .install_hooks(key, epoch, &generation, &mut params, workspace)
            .await?;
        let info = self.inner.codex.thread_start(params).await?;
        let now = now_ms();
        let generation = commands.as_ref().map(|_| generation);
        self.inner.store.put_binding(
            key,
            &ThreadBinding {
                thread_id: info.thread_id.clone(),
                relay_generation: generation.clone(),
                tools_fingerprint: fp.tools.clone(),
                config_fingerprint: fp.config.clone(),
                created_ms: now,
                updated_ms: now,
                workspace_path: Some(fp.workspace.clone()),
            },
        )?;
        tracing::info!(session = %key, thread = %info.thread_id, "thread started");
        let unguarded = self.check_hooks(&info.thread_id, commands.as_deref()).await;
        Ok(Started {
            thread_id: info.thread_id,
            generation,
            unguarded,
        })
    }

    /// `thread/resume`, retried with backoff while Codex reports that another process is still
    /// the thread's active writer: that is a previous app-server (or one we lost track of) that
    /// has not let go of the rollout yet, and it usually does within moments. Any other error, or
    /// a writer that stays, is returned for the caller's fallback.
    async fn resume_thread(
        &self,
        key: &SessionKey,
        params: Value,
    ) -> Result<ThreadInfo, CodexError> {
        let mut backoff = ACTIVE_WRITER_BACKOFF.iter();
        loop {
            match self.inner.codex.thread_resume(params.clone()).await {
                Err(e) if e.is_active_writer() => match backoff.next() {
                    Some(delay) => {
                        tracing::info!(session = %key, ?delay, error = %e,
                            "thread has another active writer; retrying the resume");
                        tokio::time::sleep(*delay).await;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    /// How the hook relay's trust hashes are found for each Codex process (`None` without a
    /// relay); its throwaway count is what tests and benches read.
    pub fn hook_trust(&self) -> Option<&crate::hook::trust::TrustMemo> {
        self.inner.opts.hooks.as_ref().map(|h| &h.trust)
    }

    /// Forgets that the session's thread is loaded, so the next `ensure_thread` resumes it.
    pub(super) async fn forget_loaded_thread(&self, key: &SessionKey) {
        *self.slot(key).thread.lock().await = None;
    }
}

/// Waits between `thread/resume` attempts while another process is the thread's active writer;
/// after the last one the session moves to a fresh thread (about 1.75 s in all).
const ACTIVE_WRITER_BACKOFF: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// Why a send to a session opened on a Codex thread failed while another Codex works in it.
pub const ACTIVE_WRITER_ELSEWHERE: &str = "This Codex thread is open in another Codex program \
(it has an active writer), so it cannot continue here. Close it there (quit that Codex), then \
send your message again.";

/// What the person is told when their session's thread could not be resumed.
fn resume_failure_notice(e: &CodexError) -> String {
    let why = if e.is_no_rollout() {
        "Codex has no saved history for the previous thread"
    } else if e.is_active_writer() {
        "Another Codex process still holds the previous thread"
    } else {
        "The previous Codex thread could not be resumed"
    };
    format!(
        "{why}; this session continues on a new thread (earlier turns are still shown here, \
         but Codex does not remember them)."
    )
}

/// What the person is told when their session's thread is not resumed because the workspace's
/// folder changed in the configuration.
fn workspace_moved_notice(now: &Path) -> String {
    format!(
        "This session's workspace is now {}, not the folder its Codex thread was started in; \
         it continues on a new thread there (earlier turns are still shown here, but Codex does \
         not remember them).",
        now.display()
    )
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests;
