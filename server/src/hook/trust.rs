//! Trust for the relay's hooks, settled once per Codex process: whether that process hashes hook
//! definitions the way [`super::config::trust_hash`] computes it.
//!
//! Every thread start and resume needs the trust hash of its own hook commands (each carries the
//! session's relay id and the thread's generation, so no two threads share one). Learning a hash
//! costs a throwaway Codex thread, and a thread start costs Codex a login shell for its shell
//! snapshot, so learning per thread doubles what a new session costs Codex. Computing is free,
//! but only right while Codex hashes as we think. So the first install after Codex (re)started
//! learns the hashes of its commands and compares them with the computed ones: equal, and every
//! later install in that process computes (no throwaway); different (a Codex that changed its
//! algorithm), and a warning is logged once for that process and every install keeps learning,
//! which is slower but still right. The commands of different sessions differ only in two hex
//! tokens, so one comparison speaks for all of them. Concurrent first installs wait for the one
//! comparison instead of each starting a throwaway; a comparison that fails (Codex went away)
//! settles nothing and the next install tries again.
//!
//! Either way the gateway's `hooks/list` check after each start and resume stays the safety
//! net: a thread whose hooks Codex does not list as trusted is unguarded and refused.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::config::{computed_trust_hashes, learn_trust_hashes, thread_hook_config};
use super::{HookError, HookEvent};
use crate::codex::{Codex, Epoch};

/// What a Codex process was found to do with hook trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its hashes are the computed ones: installs compute them.
    Computed,
    /// Its hashes differ from the computed ones: installs learn them, one throwaway each.
    Learned,
}

/// The per-process trust verdict, shared by every install of one gateway (cheap to clone).
#[derive(Clone, Default)]
pub struct TrustMemo {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The verdict and the process it is about. Held across the one comparison a process gets,
    /// so concurrent first installs wait for it.
    verdict: tokio::sync::Mutex<Option<(Epoch, Verdict)>>,
    /// Throwaway threads started to learn hashes, over the memo's life.
    throwaways: AtomicU64,
}

impl TrustMemo {
    /// The trusted per-thread `config` for `commands` ([`thread_hook_config`] with their trust
    /// hashes), for a thread in `cwd` on Codex process `epoch`: computed once that process showed
    /// it hashes as we do, else learned from it (see the module doc).
    pub async fn thread_config(
        &self,
        codex: &Codex,
        epoch: Epoch,
        cwd: &Path,
        commands: &[(HookEvent, String)],
        hook_timeout_secs: u64,
    ) -> Result<Value, HookError> {
        let untrusted = thread_hook_config(commands, hook_timeout_secs, &HashMap::new());
        let computed = computed_trust_hashes(commands, hook_timeout_secs);
        let hashes = self
            .hashes(epoch, computed, || async {
                self.inner.throwaways.fetch_add(1, Ordering::Relaxed);
                learn_trust_hashes(codex, cwd, &untrusted).await
            })
            .await?;
        Ok(thread_hook_config(commands, hook_timeout_secs, &hashes))
    }

    /// How many throwaway threads were started to learn hashes.
    pub fn throwaway_threads(&self) -> u64 {
        self.inner.throwaways.load(Ordering::Relaxed)
    }

    /// The verdict on Codex process `epoch`, if one was reached.
    pub async fn verdict(&self, epoch: Epoch) -> Option<Verdict> {
        match *self.inner.verdict.lock().await {
            Some((e, verdict)) if e == epoch => Some(verdict),
            _ => None,
        }
    }

    /// The hashes to trust on process `epoch`: `computed` once that process has the verdict
    /// [`Verdict::Computed`], else what `learn` (called at most once) finds, reaching the
    /// verdict on the way when the process has none yet.
    async fn hashes<F, Fut>(
        &self,
        epoch: Epoch,
        computed: HashMap<String, String>,
        learn: F,
    ) -> Result<HashMap<String, String>, HookError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<HashMap<String, String>, HookError>>,
    {
        let mut verdict = self.inner.verdict.lock().await;
        match *verdict {
            Some((e, Verdict::Computed)) if e == epoch => return Ok(computed),
            // Learning needs no verdict to wait for, and a process gone by (its install raced a
            // restart) must not overwrite its successor's.
            Some((e, Verdict::Learned)) if e == epoch => {
                drop(verdict);
                return learn().await;
            }
            Some((e, _)) if e > epoch => {
                drop(verdict);
                return learn().await;
            }
            _ => {}
        }
        let learned = learn().await?;
        let found = if learned == computed {
            tracing::info!(%epoch, "Codex hashes hook trust as computed; no more throwaway threads for this process");
            Verdict::Computed
        } else {
            tracing::warn!(%epoch, ?learned, ?computed,
                "Codex's hook trust hashes differ from the computed ones; learning them for every thread of this process (one throwaway thread each)");
            Verdict::Learned
        };
        *verdict = Some((epoch, found));
        Ok(learned)
    }
}

#[cfg(test)]
mod tests;
