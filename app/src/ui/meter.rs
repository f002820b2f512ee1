//! The header's context meter (`data-testid="context-meter"`): how much of the model's context
//! window the session's thread fills, from Codex's `thread/tokenUsage/updated` as the server
//! keeps it on the session (`SessionSummary::usage`), so it is the same after a reload and follows
//! every turn live through the session list. Before Codex has reported anything it says so
//! rather than showing a made-up zero.

use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::ContextUsage;

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

#[component]
pub fn ContextMeter() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let usage = move || state.current(|s| s.usage);
    view! {
        <span
            class="context-meter muted"
            data-testid="context-meter"
            data-tokens=move || usage().map(|u| u.tokens)
            data-window=move || usage().and_then(|u| u.window)
            title=move || {
                usage()
                    .map(|u| format!("{} tokens used by this thread so far", u.total))
                    .unwrap_or_default()
            }
        >
            {move || meter_text(usage())}
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
