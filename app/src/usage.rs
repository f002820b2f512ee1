//! The words for how much a session and the account have used, shared by the WebChat's header
//! meters and the terminal client's header: the context meter (tokens in the context against the
//! model's window, from `SessionSummary::usage`) and the account's rate limits (Codex's windows,
//! `AccountStatus::rate_limits`). Pure; integer arithmetic only (float formatting would cost the
//! wasm budget kilobytes).

use crate::wire::{ContextUsage, LimitWindow, Login, RateLimits};

/// What the header says about the account Codex works as, or `None` while it is not known.
pub fn login_text(login: &Login) -> Option<String> {
    Some(match login {
        Login::Unknown => return None,
        Login::Demo => "Demo model (offline)".to_owned(),
        Login::SignedOut => "Codex: not signed in".to_owned(),
        Login::ApiKey => "Codex: API key".to_owned(),
        Login::Chatgpt { email, plan } => match (email, plan) {
            (Some(email), Some(plan)) => format!("Codex: {email} ({plan})"),
            (Some(email), None) => format!("Codex: {email}"),
            (None, Some(plan)) => format!("Codex: ChatGPT ({plan})"),
            (None, None) => "Codex: ChatGPT".to_owned(),
        },
        Login::Other { kind } => format!("Codex: {kind}"),
    })
}

/// `12.3k` for 12,345; plain digits under 1,000; `1.2M` from a million. Integer arithmetic
/// (rounded down): float formatting would cost the wasm budget kilobytes.
fn short(n: u64) -> String {
    let (unit, suffix) = match n {
        0..=999 => return n.to_string(),
        1_000..=999_999 => (1_000, "k"),
        _ => (1_000_000, "M"),
    };
    let tenths = n / (unit / 10);
    format!("{}.{}{suffix}", tenths / 10, tenths % 10)
}

/// What the meter says.
pub fn meter_text(usage: Option<ContextUsage>) -> String {
    match usage {
        None => "Context: no turns yet".to_owned(),
        Some(ContextUsage {
            tokens,
            window: Some(window),
            ..
        }) if window > 0 => {
            let percent = (tokens.saturating_mul(100) / window).min(100);
            format!(
                "Context: {} / {} tokens ({percent}%)",
                short(tokens),
                short(window)
            )
        }
        Some(usage) => format!("Context: {} tokens", short(usage.tokens)),
    }
}

/// `5h`, `7d`, `90m`: a window's length as people say it.
fn window_label(mins: Option<u64>) -> String {
    match mins {
        Some(m) if m > 0 && m % 1_440 == 0 => format!("{}d", m / 1_440),
        Some(m) if m > 0 && m % 60 == 0 => format!("{}h", m / 60),
        Some(m) => format!("{m}m"),
        None => "window".to_owned(),
    }
}

/// What the rate-limit line says, or `None` when Codex reported no window.
pub fn limits_text(limits: Option<RateLimits>) -> Option<String> {
    let limits = limits?;
    let windows: Vec<String> = [limits.primary, limits.secondary]
        .into_iter()
        .flatten()
        .map(
            |LimitWindow {
                 used_percent,
                 window_mins,
                 ..
             }| { format!("{} {used_percent}%", window_label(window_mins)) },
        )
        .collect();
    (!windows.is_empty()).then(|| format!("Limits: {}", windows.join(" · ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_named_without_secrets_or_not_at_all_while_unknown() {
        assert_eq!(login_text(&Login::Unknown), None);
        assert_eq!(login_text(&Login::Demo).unwrap(), "Demo model (offline)");
        assert_eq!(
            login_text(&Login::SignedOut).unwrap(),
            "Codex: not signed in"
        );
        assert_eq!(login_text(&Login::ApiKey).unwrap(), "Codex: API key");
        let chatgpt = Login::Chatgpt {
            email: Some("a@b.c".into()),
            plan: Some("plus".into()),
        };
        assert_eq!(login_text(&chatgpt).unwrap(), "Codex: a@b.c (plus)");
        let plan_only = Login::Chatgpt {
            email: None,
            plan: Some("pro".into()),
        };
        assert_eq!(login_text(&plan_only).unwrap(), "Codex: ChatGPT (pro)");
    }

    #[test]
    fn rate_limits_show_each_reported_window_or_nothing() {
        assert_eq!(limits_text(None), None);
        assert_eq!(limits_text(Some(RateLimits::default())), None);
        let window = |used_percent, window_mins| LimitWindow {
            used_percent,
            window_mins,
            resets_at: None,
        };
        assert_eq!(
            limits_text(Some(RateLimits {
                primary: Some(window(23, Some(300))),
                secondary: Some(window(41, Some(10_080))),
            })),
            Some("Limits: 5h 23% · 7d 41%".to_owned())
        );
        assert_eq!(
            limits_text(Some(RateLimits {
                primary: None,
                secondary: Some(window(7, Some(90))),
            })),
            Some("Limits: 90m 7%".to_owned())
        );
        assert_eq!(
            limits_text(Some(RateLimits {
                primary: Some(window(1, None)),
                secondary: None,
            })),
            Some("Limits: window 1%".to_owned())
        );
    }

    #[test]
    fn the_meter_says_tokens_against_the_window_or_that_nothing_is_known_yet() {
        assert_eq!(meter_text(None), "Context: no turns yet");
        let usage = |tokens, window| ContextUsage {
            tokens,
            window,
            total: 1,
        };
        assert_eq!(
            meter_text(Some(usage(12_345, Some(200_000)))),
            "Context: 12.3k / 200.0k tokens (6%)"
        );
        assert_eq!(meter_text(Some(usage(512, None))), "Context: 512 tokens");
        assert_eq!(
            meter_text(Some(usage(300, Some(0)))),
            "Context: 300 tokens",
            "a zero window is no window"
        );
        assert_eq!(
            meter_text(Some(usage(2_500_000, Some(1_000_000)))),
            "Context: 2.5M / 1.0M tokens (100%)"
        );
    }
}
