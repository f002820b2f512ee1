//! The Content-Security-Policy of every response.
//!
//! Pages rendered by Leptos get a policy with the per-request nonce that leptos_axum generates
//! (`leptos::nonce::provide_nonce`, run before our own request context): Leptos puts that same
//! nonce on every inline script it writes (the serialised resource data of an async render), and
//! so does the shell on the hydration bootstrap (`app::ui::shell`), so inline scripts without it,
//! injected or not, never run. Every other response gets the same policy without a nonce, so no inline script at
//! all. Styles come from the stylesheet only; the one inline style the server emits, the table
//! cell alignment the Markdown sanitiser keeps, is allowed by its exact hash.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use base64::Engine as _;
use leptos::prelude::use_context;
use sha2::{Digest, Sha256};

/// The `style` attribute values `markdown::render` may emit (see `filter_attribute` there).
const ALLOWED_STYLE_ATTRIBUTES: [&str; 3] = [
    "text-align: left",
    "text-align: center",
    "text-align: right",
];

/// `'unsafe-hashes'` lets only these exact attribute values through, not inline style in general.
static STYLE_ATTR_SOURCES: LazyLock<String> = LazyLock::new(|| {
    let mut out = String::from("'unsafe-hashes'");
    for value in ALLOWED_STYLE_ATTRIBUTES {
        let digest = Sha256::digest(value.as_bytes());
        out.push_str(" 'sha256-");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(digest));
        out.push('\'');
    }
    out
});

/// The policy; `nonce` admits the inline scripts carrying it.
pub fn policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    // 'wasm-unsafe-eval' compiles the app's WebAssembly and allows nothing else; connect-src
    // 'self' covers the same-origin WebSocket.
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; \
         style-src-attr {}; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        *STYLE_ATTR_SOURCES
    )
}

/// The policy for responses not rendered by Leptos: no inline script at all.
pub fn default_policy() -> HeaderValue {
    // Only ASCII from the constants above; cannot fail.
    HeaderValue::from_str(&policy(None))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

/// Runs inside Leptos' per-request context (after leptos_axum provided the nonce and the
/// response options): puts the nonce-bearing policy on the page's response.
pub fn provide_page_policy() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&policy(Some(&nonce))) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_the_nonce_and_the_markdown_alignment_hashes() {
        let p = policy(Some("abc"));
        assert!(
            p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"),
            "{p}"
        );
        // sha256("text-align: center"), computed independently with openssl.
        assert!(
            p.contains("'sha256-Y9v1MZrln1N8aPBY5lmpxYKwFkcp/nyBMMEnn7WFjuw='"),
            "{p}"
        );
        assert!(!policy(None).contains("nonce"));
        assert!(!p.contains("unsafe-inline"));
    }
}
