//! Signing Codex in and out from the header, and the notice that Codex cannot start.
//!
//! The button (`account-action`) opens a panel (`signin-panel`): for a signed-out Codex, the
//! device-code flow (`signin-device`; then the code, `device-code`, and where to enter it,
//! `device-url`, with `signin-waiting`, until Codex says it completed, failed or expired;
//! `signin-cancel` ends it) and an API key field (`api-key`, `signin-api-key`); for a signed-in
//! one, `sign-out`; a failure as `signin-error`. Every screen follows the account status the
//! server pushes (`ServerFrame::Account`), so a sign-in started in another tab or the terminal
//! shows here too.
//!
//! The panel's content is HTML built as a string from the account status ([`panel_html`], every
//! text through `text::escape_html`, the address a link only when it is `https://`), with one
//! delegated click and submit handler: the browser's binary then carries a string builder
//! instead of a view per part. The key is sent once in a `POST` body and the field is cleared;
//! the page never keeps it.

use leptos::prelude::*;

use super::state::ChatState;
use crate::text::escape_html;
use crate::wire::{AccountStatus, CodexHealth, Login, SignIn};

/// The panel's content for `account`; empty where nothing can be done (the demo model, an
/// account not known yet).
pub fn panel_html(account: &AccountStatus) -> String {
    if matches!(account.login, Login::Demo | Login::Unknown) {
        return String::new();
    }
    let mut out = String::new();
    match (&account.signin, &account.login) {
        (
            Some(SignIn::Waiting {
                user_code,
                verification_url,
            }),
            _,
        ) => {
            let url = escape_html(verification_url);
            let link = if verification_url.starts_with("https://") {
                format!(
                    r#"<a data-testid="device-url" href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>"#
                )
            } else {
                format!(r#"<code data-testid="device-url">{url}</code>"#)
            };
            out.push_str(&format!(
                r#"<p>On any device, open {link} and enter this code:</p><p class="device-code" data-testid="device-code">{}</p><p class="muted" data-testid="signin-waiting">Waiting for you to approve it…</p><button type="button" data-action="cancel" data-testid="signin-cancel">Cancel</button>"#,
                escape_html(user_code)
            ));
        }
        (_, Login::SignedOut) => out.push_str(concat!(
            r#"<button type="button" data-action="device" data-testid="signin-device">"#,
            "Sign in with ChatGPT (device code)</button>",
            r#"<form class="api-key-form" data-action="api-key">"#,
            r#"<input type="password" name="api_key" data-testid="api-key" autocomplete="off" "#,
            r#"placeholder="or paste an OpenAI API key" aria-label="OpenAI API key">"#,
            r#"<button type="submit" data-testid="signin-api-key">Use key</button></form>"#,
        )),
        _ => out.push_str(
            r#"<button type="button" data-action="logout" data-testid="sign-out">Sign Codex out</button>"#,
        ),
    }
    if let Some(SignIn::Failed { message }) = &account.signin {
        out.push_str(&format!(
            r#"<p class="error" data-testid="signin-error">{}</p>"#,
            escape_html(message)
        ));
    }
    out
}

#[component]
pub fn AccountActions() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let open = RwSignal::new(false);
    let panel = NodeRef::<leptos::html::Div>::new();
    let login = move || state.account.with(|a| a.login.clone());
    let offered = move || !matches!(login(), Login::Demo | Login::Unknown);
    let pending = move || state.account.with(|a| a.signin.is_some());
    let on_click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(action) = action_of(&ev) {
            if action != "api-key" {
                send(&action, None, panel);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, panel);
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let key = panel.get().and_then(|p| {
                let input = p.query_selector("input[name=api_key]").ok()??;
                let input: web_sys::HtmlInputElement =
                    wasm_bindgen::JsCast::dyn_into(input).ok()?;
                let value = input.value();
                input.set_value("");
                Some(value)
            });
            send("api-key", key, panel);
        }
    };
    view! {
        <span class="account-actions" hidden=move || !offered()>
            <button
                type="button"
                class="account-action"
                data-testid="account-action"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || if login() == Login::SignedOut { "Sign in" } else { "Account" }}
            </button>
            <div
                class="signin-panel"
                data-testid="signin-panel"
                role="dialog"
                node_ref=panel
                hidden=move || !open.get() && !pending()
                inner_html=move || state.account.with(panel_html)
                on:click=on_click
                on:submit=on_submit
            ></div>
        </span>
    }
}

/// The `data-action` of the button a click landed on, if any.
#[cfg(feature = "hydrate")]
fn action_of(ev: &leptos::ev::MouseEvent) -> Option<String> {
    use wasm_bindgen::JsCast;
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    target
        .closest("button[data-action]")
        .ok()??
        .get_attribute("data-action")
}

/// Sends one sign-in action; the result shows through the account status the server pushes,
/// or as the server's reason at the panel's end.
#[cfg(feature = "hydrate")]
fn send(action: &str, api_key: Option<String>, panel: NodeRef<leptos::html::Div>) {
    let (url, body) = match action {
        "device" => (
            "/api/v1/account/login",
            r#"{"method":"device_code"}"#.to_owned(),
        ),
        "api-key" => {
            // JSON-escaped by the browser's own encoder, which costs the wasm nothing.
            let key = js_sys::JSON::stringify(&api_key.unwrap_or_default().into())
                .map(String::from)
                .unwrap_or_default();
            (
                "/api/v1/account/login",
                format!(r#"{{"method":"api_key","api_key":{key}}}"#),
            )
        }
        "cancel" => ("/api/v1/account/login/cancel", String::new()),
        "logout" => ("/api/v1/account/logout", String::new()),
        _ => return,
    };
    leptos::task::spawn_local(async move {
        let body = wasm_bindgen::JsValue::from(body);
        let result =
            super::browser::fetch("POST", url, Some(&body), Some("application/json")).await;
        if let (Err(e), Some(panel)) = (result, panel.get()) {
            // The server's reason, as text.
            if let Some(p) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.create_element("p").ok())
            {
                let _ = p.set_attribute("class", "error");
                let _ = p.set_attribute("data-testid", "signin-error");
                p.set_text_content(Some(&e));
                let _ = panel.append_child(&p);
            }
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(login: Login, signin: Option<SignIn>) -> AccountStatus {
        AccountStatus {
            login,
            signin,
            ..AccountStatus::default()
        }
    }

    #[test]
    fn the_panel_offers_what_the_account_state_allows() {
        assert_eq!(panel_html(&status(Login::Demo, None)), "");
        assert_eq!(panel_html(&status(Login::Unknown, None)), "");
        let out = panel_html(&status(Login::SignedOut, None));
        assert!(
            out.contains(r#"data-testid="signin-device""#)
                && out.contains(r#"data-testid="api-key""#)
        );
        assert!(!out.contains("sign-out"));
        let signed_in = panel_html(&status(Login::ApiKey, None));
        assert!(signed_in.contains(r#"data-testid="sign-out""#) && !signed_in.contains("api-key"));
    }

    #[test]
    fn codes_addresses_and_messages_from_codex_stay_text() {
        let waiting = panel_html(&status(
            Login::SignedOut,
            Some(SignIn::Waiting {
                user_code: "<b>AB</b>".into(),
                verification_url: "https://auth.example/device?a=1&b=\"2\"".into(),
            }),
        ));
        assert!(waiting.contains(">&lt;b&gt;AB&lt;/b&gt;<"), "{waiting}");
        assert!(
            waiting.contains(r#"href="https://auth.example/device?a=1&amp;b=&quot;2&quot;""#),
            "{waiting}"
        );
        let script = panel_html(&status(
            Login::SignedOut,
            Some(SignIn::Waiting {
                user_code: "X".into(),
                verification_url: "javascript:alert(1)".into(),
            }),
        ));
        assert!(!script.contains("href="), "not a link: {script}");
        let failed = panel_html(&status(
            Login::SignedOut,
            Some(SignIn::Failed {
                message: "<img src=x onerror=alert(1)>".into(),
            }),
        ));
        assert!(
            failed.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{failed}"
        );
        assert!(!failed.contains("<img"), "{failed}");
    }
}
