//! What the gateway knows of the Codex account, for every client's header: its rate limits as
//! Codex last reported them (`account/rateLimits/updated`). One value for the whole server (one
//! Codex home, one account), kept in a `watch` so each socket sends a change once and a late
//! subscriber starts from the latest.
//!
//! It only keeps and merges what Codex said; it decides nothing about runs.

use app::wire::{AccountStatus, RateLimits};
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

impl Gateway {
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
