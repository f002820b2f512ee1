//! Signing Codex in and out from the header, and the notice that Codex cannot start.
//!
//! The button (`account-action`) opens a panel (`signin-panel`): for a signed-out Codex, the
//! device-code flow (`signin-device`; then the code, `device-code`, and where to enter it,
//! `device-url`, until Codex says it completed, failed or expired) and an API key field
//! (`api-key`, `signin-api-key`); for a signed-in one, `sign-out`. Each part is always in the
//! page and hidden while it does not apply. Every screen follows the
//! account status the server pushes (`ServerFrame::Account`), so a sign-in started in another
//! tab or the terminal shows here too. The key is sent once in a `POST` body and the field is
//! cleared; the page never keeps it. Codex's words (an error, the address) are text; the
//! address becomes a link only when it is `https://`.

use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::{CodexHealth, Login, SignIn};

/// What a click on one of the panel's buttons asks the server.
#[derive(Clone, Copy)]
enum Action {
    DeviceCode,
    ApiKey,
    Cancel,
    SignOut,
}

#[component]
pub fn AccountActions() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let open = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let key = NodeRef::<leptos::html::Input>::new();
    let login = move || state.account.with(|a| a.login.clone());
    let signed_out = move || login() == Login::SignedOut;
    let waiting = move || {
        state.account.with(|a| match &a.signin {
            Some(SignIn::Waiting {
                user_code,
                verification_url,
            }) => Some((user_code.clone(), verification_url.clone())),
            _ => None,
        })
    };
    let shown_error = move || {
        error.get().or_else(|| {
            state.account.with(|a| match &a.signin {
                Some(SignIn::Failed { message }) => Some(message.clone()),
                _ => None,
            })
        })
    };
    let act = move |action: Action| {
        error.set(None);
        busy.set(true);
        let api_key = match action {
            Action::ApiKey => key.get().map(|k| {
                let value = k.value();
                k.set_value("");
                value
            }),
            _ => None,
        };
        send(action, api_key, error, busy);
    };
    // One fixed structure whose parts are hidden or shown: branching views would each cost the
    // wasm their own code.
    view! {
        <span
            class="account-actions"
            // The demo model needs no account, and an unknown state offers nothing to act on.
            hidden=move || matches!(login(), Login::Demo | Login::Unknown)
        >
            <button
                type="button"
                class="account-action"
                data-testid="account-action"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || if signed_out() { "Sign in" } else { "Account" }}
            </button>
            <div
                class="signin-panel"
                data-testid="signin-panel"
                role="dialog"
                hidden=move || !open.get() && waiting().is_none() && shown_error().is_none()
            >
                <div class="signin-device" hidden=move || waiting().is_none()>
                    <p>
                        "On any device, open "
                        <a
                            data-testid="device-url"
                            href=move || waiting().map(|(_, url)| url).filter(|u| u.starts_with("https://"))
                            target="_blank"
                            rel="noopener noreferrer"
                        >
                            {move || waiting().map(|(_, url)| url)}
                        </a>
                        " and enter this code:"
                    </p>
                    <p class="device-code" data-testid="device-code">
                        {move || waiting().map(|(code, _)| code)}
                    </p>
                    <p class="muted" data-testid="signin-waiting">"Waiting for you to approve it…"</p>
                    <button type="button" data-testid="signin-cancel" on:click=move |_| act(Action::Cancel)>
                        "Cancel"
                    </button>
                </div>
                <div class="signin-choices" hidden=move || waiting().is_some() || !signed_out()>
                    <button
                        type="button"
                        data-testid="signin-device"
                        disabled=move || busy.get()
                        on:click=move |_| act(Action::DeviceCode)
                    >
                        "Sign in with ChatGPT (device code)"
                    </button>
                    <form
                        class="api-key-form"
                        on:submit=move |ev| {
                            ev.prevent_default();
                            act(Action::ApiKey);
                        }
                    >
                        <input
                            type="password"
                            data-testid="api-key"
                            autocomplete="off"
                            placeholder="or paste an OpenAI API key"
                            node_ref=key
                        />
                        <button type="submit" data-testid="signin-api-key" disabled=move || busy.get()>
                            "Use key"
                        </button>
                    </form>
                </div>
                <button
                    type="button"
                    data-testid="sign-out"
                    hidden=move || waiting().is_some() || signed_out()
                    disabled=move || busy.get()
                    on:click=move |_| act(Action::SignOut)
                >
                    "Sign Codex out"
                </button>
                <p class="error" data-testid="signin-error" hidden=move || shown_error().is_none()>
                    {shown_error}
                </p>
            </div>
        </span>
    }
}

/// Sends one sign-in action; the result shows through the account status the server pushes,
/// or as the server's reason under the panel.
fn send(
    action: Action,
    api_key: Option<String>,
    error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let (url, body) = match action {
            Action::DeviceCode => (
                "/api/v1/account/login",
                r#"{"method":"device_code"}"#.to_owned(),
            ),
            Action::ApiKey => {
                // JSON-escaped by the browser's own encoder, which costs the wasm nothing.
                let key = js_sys::JSON::stringify(&api_key.unwrap_or_default().into())
                    .map(String::from)
                    .unwrap_or_default();
                (
                    "/api/v1/account/login",
                    format!(r#"{{"method":"api_key","api_key":{key}}}"#),
                )
            }
            Action::Cancel => ("/api/v1/account/login/cancel", String::new()),
            Action::SignOut => ("/api/v1/account/logout", String::new()),
        };
        let body = wasm_bindgen::JsValue::from(body);
        let result =
            super::browser::fetch("POST", url, Some(&body), Some("application/json")).await;
        if let Err(e) = result {
            error.set(Some(e));
        }
        busy.set(false);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (action, api_key, error, busy);
}

/// A banner while Codex cannot start (`codex-down`), with the reason it gave.
#[component]
pub fn CodexDown() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let reason = move || {
        state.account.with(|a| match &a.codex {
            CodexHealth::Down { reason } => Some(reason.clone()),
            _ => None,
        })
    };
    view! {
        <div class="codex-down" data-testid="codex-down" role="alert" hidden=move || reason().is_none()>
            "Codex could not start: "
            {reason}
            ". Nothing can run until it does; check --codex-bin and CODEX_HOME (it is retried every few seconds)."
        </div>
    }
}
