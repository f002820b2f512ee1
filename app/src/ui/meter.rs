//! The header's meters. The context meter (`data-testid="context-meter"`): how much of the
//! model's context window the session's thread fills, from Codex's `thread/tokenUsage/updated`
//! as the server keeps it on the session (`SessionSummary::usage`), so it is the same after a
//! reload and follows every turn live through the session list; before Codex has reported
//! anything it says so rather than showing a made-up zero. The rate limits
//! (`data-testid="rate-limits"`): the account's windows as Codex last reported them
//! (`ChatState::account`, pushed to every tab), shown only when there are any.

use leptos::prelude::*;

use super::state::ChatState;
use crate::usage::{limits_text, login_text, meter_text};

/// Who Codex works as (`data-testid="account"`, `data-login` = the state), once known.
#[component]
pub fn AccountView() -> impl IntoView {
    let state = expect_context::<ChatState>();
    move || {
        state.account.with(|a| {
            let login = a.login.as_str();
            login_text(&a.login).map(|text| {
                view! {
                    <span class="account muted" data-testid="account" data-login=login>
                        {text}
                    </span>
                }
            })
        })
    }
}

#[component]
pub fn RateLimitsView() -> impl IntoView {
    let state = expect_context::<ChatState>();
    move || {
        limits_text(state.account.with(|a| a.rate_limits)).map(|text| {
            view! {
                <span class="rate-limits muted" data-testid="rate-limits" title="Codex usage limits">
                    {text}
                </span>
            }
        })
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
