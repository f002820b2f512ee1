//! What the gateway knows of the Codex account and of Codex itself, for every client's header:
//! who Codex works as (`account/read`, asked whenever Codex is ready and again on
//! `account/updated`; the demo model needs none), its rate limits (`account/rateLimits/read` for
//! a ChatGPT account once Codex is ready, then `account/rateLimits/updated`), and whether the
//! app-server could start at all. One value for the whole server (one Codex home, one account),
//! kept in a `watch` so each socket sends a change once and a late subscriber starts from the
//! latest.
//!
//! It keeps and merges what Codex said, and answers one question for the run engine: whether a
//! run can succeed at all ([`Gateway::refusal`]), so a send that cannot is refused at once with
//! a notice instead of a turn that spins. Sign-in flows are `signin`'s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use app::wire::{AccountStatus, CodexHealth, Login, RateLimits, SignIn};
use serde_json::Value;
use tokio::sync::watch;

use super::Gateway;
use crate::codex::Epoch;

/// The account state and what goes with it.
pub(super) struct AccountCell {
    pub(super) status: watch::Sender<AccountStatus>,
    /// The device-code sign-in Codex is waiting on (`loginId`), if any.
    pub(super) pending_login: Mutex<Option<String>>,
    /// The newest Codex epoch that became ready (0: none yet): an exit of a later epoch means
    /// Codex could not start.
    ready_epoch: AtomicU64,
}

impl Default for AccountCell {
    fn default() -> Self {
        AccountCell {
            status: watch::channel(AccountStatus::default()).0,
            pending_login: Mutex::new(None),
            ready_epoch: AtomicU64::new(0),
        }
    }
}

/// The notice a send gets while Codex has no account.
pub const NOT_SIGNED_IN: &str = "Codex is not signed in, so it cannot answer. Sign in from the \
     account button at the top of the page (or run `codex-webchat login`), then send again.";

/// Why a run cannot succeed now, as the notice a refused send gets; `None` when it can.
pub fn refusal(status: &AccountStatus) -> Option<String> {
    if let CodexHealth::Down { reason } = &status.codex {
        return Some(format!(
            "Codex could not start, so nothing can run: {reason}. Check `--codex-bin` and \
             `CODEX_HOME`; starting it is retried every few seconds."
        ));
    }
    (status.login == Login::SignedOut).then(|| NOT_SIGNED_IN.to_owned())
}

/// Merges a rate-limit update into what is known. Codex's updates are sparse: a window it does
/// not mention keeps its last value (the schema: "does not clear a previously observed value").
pub fn merge_rate_limits(known: Option<RateLimits>, update: RateLimits) -> Option<RateLimits> {
    let known = known.unwrap_or_default();
    let merged = RateLimits {
        primary: update.primary.or(known.primary),
        secondary: update.secondary.or(known.secondary),
    };
    (merged != RateLimits::default()).then_some(merged)
}

/// `account/read`'s answer as the header says it. Nothing secret is kept: an API key account is
/// only named as one.
pub fn login_of(read: &Value) -> Login {
    let account = read.get("account").filter(|a| !a.is_null());
    let Some(account) = account else {
        let needs = read
            .get("requiresOpenaiAuth")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        return if needs {
            Login::SignedOut
        } else {
            // The provider needs no OpenAI account (a custom provider).
            Login::Other {
                kind: "no account needed".to_owned(),
            }
        };
    };
    let text = |k: &str| account.get(k).and_then(Value::as_str).map(str::to_owned);
    match account.get("type").and_then(Value::as_str) {
        Some("apiKey") => Login::ApiKey,
        Some("chatgpt") => Login::Chatgpt {
            email: text("email"),
            plan: text("planType"),
        },
        Some(kind) => Login::Other {
            kind: kind.to_owned(),
        },
        None => Login::Unknown,
    }
}

impl Gateway {
    /// Asks Codex who it works as (after it became ready, or said its account changed) and
    /// tells every client. In demo mode the demo model answers and no account is asked for.
    pub(crate) fn refresh_login(&self) {
        if self.inner.opts.model_label == "demo" {
            self.set_login(Login::Demo);
            return;
        }
        let gw = self.clone();
        self.spawn(async move { gw.read_login().await });
    }

    /// Asks Codex who it works as and tells every client; for a ChatGPT account also reads its
    /// rate limits (Codex refuses that read for any other account).
    pub(crate) async fn read_login(&self) {
        let read = match self
            .inner
            .codex
            .request("account/read", serde_json::json!({}))
            .await
        {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "could not read Codex's account");
                return;
            }
        };
        let login = login_of(&read);
        let chatgpt = matches!(login, Login::Chatgpt { .. });
        self.set_login(login);
        if !chatgpt {
            // Only a ChatGPT account has rate limits: a previous account's must not linger.
            self.clear_rate_limits();
        } else {
            match self
                .inner
                .codex
                .request("account/rateLimits/read", Value::Null)
                .await
            {
                Ok(read) => self.update_rate_limits(crate::codex::rate_limits(
                    read.get("rateLimits").unwrap_or(&Value::Null),
                )),
                Err(e) => tracing::info!(error = %e, "could not read the account's rate limits"),
            }
        }
    }

    /// Why a run cannot succeed now ([`refusal`]). In Codex mode, while the account is not
    /// known yet (Codex just became ready), it is asked first, so the first send after a start
    /// is judged like any other.
    pub(crate) async fn refusal_now(&self) -> Option<String> {
        if self.inner.opts.model_label != "demo" && self.account().login == Login::Unknown {
            self.read_login().await;
        }
        refusal(&self.account())
    }

    /// Codex process `epoch` is ready.
    pub(crate) fn codex_ready(&self, epoch: Epoch) {
        self.inner
            .account
            .ready_epoch
            .fetch_max(epoch.0, Ordering::SeqCst);
        self.set_codex(CodexHealth::Ready);
    }

    /// Codex process `epoch` ended. One that never became ready could not start: every client
    /// hears why. A sign-in it was waiting on is over.
    pub(crate) fn codex_exited(&self, epoch: Epoch, reason: &str) {
        let started = self.inner.account.ready_epoch.load(Ordering::SeqCst) >= epoch.0;
        self.set_codex(if started {
            CodexHealth::Starting
        } else {
            CodexHealth::Down {
                reason: reason.to_owned(),
            }
        });
        let pending = super::lock(&self.inner.account.pending_login).take();
        if pending.is_some() {
            self.set_signin(Some(SignIn::Failed {
                message: "Codex restarted during the sign-in; start it again.".to_owned(),
            }));
        }
    }

    fn set_codex(&self, codex: CodexHealth) {
        self.inner.account.status.send_if_modified(|account| {
            let changed = account.codex != codex;
            account.codex = codex;
            changed
        });
    }

    pub(super) fn set_signin(&self, signin: Option<SignIn>) {
        self.inner.account.status.send_if_modified(|account| {
            let changed = account.signin != signin;
            account.signin = signin;
            changed
        });
    }

    fn set_login(&self, login: Login) {
        self.inner.account.status.send_if_modified(|account| {
            let changed = account.login != login;
            account.login = login;
            changed
        });
    }

    /// The account as the header shows it now.
    pub fn account(&self) -> AccountStatus {
        self.inner.account.status.borrow().clone()
    }

    /// Every later change of [`Gateway::account`].
    pub fn subscribe_account(&self) -> watch::Receiver<AccountStatus> {
        self.inner.account.status.subscribe()
    }

    fn clear_rate_limits(&self) {
        self.inner.account.status.send_if_modified(|account| {
            let changed = account.rate_limits.is_some();
            account.rate_limits = None;
            changed
        });
    }

    /// Codex reported rate limits; clients hear of it only if something changed.
    pub(crate) fn update_rate_limits(&self, update: RateLimits) {
        self.inner.account.status.send_if_modified(|account| {
            let merged = merge_rate_limits(account.rate_limits, update);
            let changed = merged != account.rate_limits;
            account.rate_limits = merged;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::LimitWindow;

    fn window(used_percent: u32) -> Option<LimitWindow> {
        Some(LimitWindow {
            used_percent,
            window_mins: Some(300),
            resets_at: None,
        })
    }

    #[test]
    fn account_read_answers_become_a_login_without_secrets() {
        use serde_json::json;
        assert_eq!(
            login_of(&json!({"account": null, "requiresOpenaiAuth": true})),
            Login::SignedOut
        );
        assert_eq!(
            login_of(&json!({"account": {"type": "apiKey"}, "requiresOpenaiAuth": true})),
            Login::ApiKey
        );
        assert_eq!(
            login_of(
                &json!({"account": {"type": "chatgpt", "email": "a@b.c", "planType": "plus"},
                "requiresOpenaiAuth": true})
            ),
            Login::Chatgpt {
                email: Some("a@b.c".into()),
                plan: Some("plus".into())
            }
        );
        assert_eq!(
            login_of(&json!({"account": {"type": "gcp"}, "requiresOpenaiAuth": false})),
            Login::Other { kind: "gcp".into() }
        );
        assert_eq!(
            login_of(&json!({"account": null, "requiresOpenaiAuth": false})),
            Login::Other {
                kind: "no account needed".into()
            }
        );
    }

    #[test]
    fn a_sparse_update_keeps_the_windows_it_does_not_mention() {
        assert_eq!(merge_rate_limits(None, RateLimits::default()), None);
        let first = merge_rate_limits(
            None,
            RateLimits {
                primary: window(10),
                secondary: window(40),
            },
        );
        let second = merge_rate_limits(
            first,
            RateLimits {
                primary: window(12),
                secondary: None,
            },
        );
        assert_eq!(
            second,
            Some(RateLimits {
                primary: window(12),
                secondary: window(40),
            })
        );
    }
}
