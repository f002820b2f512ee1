//! What the gateway knows of the Codex account, for every client's header: who Codex works as
//! (`account/read`, asked whenever Codex is ready and again on `account/updated`; the demo model
//! needs none) and its rate limits as Codex last reported them (`account/rateLimits/updated`). One value for the whole server (one
//! Codex home, one account), kept in a `watch` so each socket sends a change once and a late
//! subscriber starts from the latest.
//!
//! It only keeps and merges what Codex said; it decides nothing about runs.

use app::wire::{AccountStatus, Login, RateLimits};
use serde_json::Value;
use tokio::sync::watch;

use super::Gateway;

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
        self.spawn(async move {
            match gw
                .inner
                .codex
                .request("account/read", serde_json::json!({}))
                .await
            {
                Ok(read) => gw.set_login(login_of(&read)),
                Err(e) => tracing::warn!(error = %e, "could not read Codex's account"),
            }
        });
    }

    fn set_login(&self, login: Login) {
        self.inner.account.send_if_modified(|account| {
            let changed = account.login != login;
            account.login = login;
            changed
        });
    }

    /// The account as the header shows it now.
    pub fn account(&self) -> AccountStatus {
        self.inner.account.borrow().clone()
    }

    /// Every later change of [`Gateway::account`].
    pub fn subscribe_account(&self) -> watch::Receiver<AccountStatus> {
        self.inner.account.subscribe()
    }

    /// Codex reported rate limits; clients hear of it only if something changed.
    pub(crate) fn update_rate_limits(&self, update: RateLimits) {
        self.inner.account.send_if_modified(|account| {
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
