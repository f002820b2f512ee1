//! The HTML document around the app and the router with its single route.
//!
//! Only `/sessions/:key` is a Leptos route; `/`, `POST /sessions`, `/ws` and the JSON API belong
//! to axum. The route renders with `SsrMode::Async`: the server waits for the page data and
//! sends one complete document, so the transcript is in the HTML itself (readable and testable
//! before the wasm loads) instead of arriving later as out-of-order stream chunks.
//!
//! The router exists on the server only. Every navigation is a full page load (links are
//! `rel="external"`, forms post to axum), so the browser has nothing to route: it hydrates the
//! page the server chose, picked again from the address by [`chat_key`](super::chat::chat_key). Leaving
//! `leptos_router` out of the wasm keeps it inside its budget (README, "Budgets").

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};

use super::attention::{server_only, ShortcutsSheet};
use super::chat::ChatPage;

/// The document the server renders around [`App`]. Only `<body>` is hydrated, so everything in
/// `<head>` here is static and safe to differ from what the client would build.
pub fn shell(options: leptos::config::LeptosOptions) -> impl IntoView {
    // The stylesheet is linked here rather than through leptos_meta so it is in the first bytes
    // of the document; `id="leptos"` is what cargo-leptos' live reload swaps during development.
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // Same-origin, not no-referrer: under no-referrer a form POST (the new-session
                // button) carries `Origin: null`, which the server's Origin check refuses.
                // Nothing leaves the origin either way.
                <meta name="referrer" content="same-origin"/>
                <link id="leptos" rel="stylesheet" href=css/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <Scripts options/>
                <MetaTags/>
            </head>
            // Tests wait for `true`; the wasm entry flips it once hydration has finished.
            <body data-hydrated="false">
                <App/>
                // After the hydrated root, so the wasm carries none of its text: the browser
                // only opens it (`attention`).
                <ShortcutsSheet/>
            </body>
        </html>
    }
}

/// The hydration bootstrap, as `leptos::HydrationScripts` writes it (without its islands,
/// hashed file names and deferred start, which this app does not use) but for one thing: leptos
/// 0.8 writes the request's nonce into both preload links' `crossorigin`, which copies the nonce
/// out of the one element that needs it (the inline script) and gives `crossorigin` a value it
/// does not have. Here the module preload has none (module scripts are always fetched in CORS
/// mode, with same-origin credentials, as the import that uses it), and the wasm preload has an
/// empty one (anonymous: what `fetch` asks for, so the preloaded response is the one used).
#[component]
fn Scripts(options: leptos::config::LeptosOptions) -> impl IntoView {
    let pkg = options.site_pkg_dir.to_string();
    let js = options.output_name.to_string();
    // cargo-leptos (and `.cargo/config.toml` for plain cargo builds) names the wasm like the
    // script; wasm-bindgen's own default ends in `_bg`.
    let wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
        js.clone()
    } else {
        format!("{js}_bg")
    };
    let start = format!(
        "{HYDRATION_JS}({:?}, {pkg:?}, {js:?}, {wasm:?}, false);",
        ""
    );
    view! {
        <link rel="modulepreload" href=format!("/{pkg}/{js}.js")/>
        <link
            rel="preload"
            href=format!("/{pkg}/{wasm}.wasm")
            r#as="fetch"
            r#type="application/wasm"
            crossorigin=""
        />
        <script type="module" nonce=leptos::nonce::use_nonce()>{start}</script>
    }
}

/// leptos 0.8.23's `hydration_script.js`: loads the script, then the wasm, then hydrates.
const HYDRATION_JS: &str = r#"(function (root, pkg_path, output_name, wasm_output_name, defer) {
	const hydrate = () =>
		import(`${root}/${pkg_path}/${output_name}.js`)
			.then(mod => {
				mod.default({module_or_path: `${root}/${pkg_path}/${wasm_output_name}.wasm`}).then(() => {
					mod.hydrate();
				});
			});
	if (defer && "requestIdleCallback" in window) {
		window.requestIdleCallback(hydrate, { timeout: 2000 });
	} else {
		hydrate();
	}
})"#;

/// The root component: meta context and the page for the address.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        // Every `<Title>` below is formatted here, the one escaping point for the page title.
        <Title formatter=title_for_page/>
        {pages()}
    }
}

/// On the server: the router. Its route list also tells axum which paths are pages, and to
/// render them with `SsrMode::Async`.
#[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
fn pages() -> impl IntoView {
    use leptos_router::components::{Route, Router, Routes};
    use leptos_router::{path, SsrMode};

    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/sessions/:key") view=ChatPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// In the browser: the page the router rendered on the server. The router and its routes add
/// no markup of their own, so hydrating that page directly walks the same DOM.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn pages() -> impl IntoView {
    use leptos::either::Either;

    if super::chat::chat_key(&super::browser::path()).is_some() {
        Either::Left(view! { <ChatPage/> })
    } else {
        Either::Right(view! { <NotFound/> })
    }
}

/// On the server the title text is written into `<head>` as is by `leptos_meta` (see
/// [`crate::text::escape_title`]), so it is escaped here; in the browser it is set as
/// `document.title`, which takes text, so escaping there would show the entities.
fn title_for_page(text: String) -> String {
    #[cfg(feature = "ssr")]
    {
        crate::text::escape_title(&text)
    }
    #[cfg(not(feature = "ssr"))]
    {
        text
    }
}

/// The not-found page's card, fixed markup.
const NOT_FOUND_HTML: &str = r#"<div class="card"><h1>Page not found</h1><p>There is nothing at this address.</p><p><a href="/" rel="external">Open the latest session</a></p></div>"#;

/// Any path the router does not know. axum answers most such paths itself; this covers the ones
/// that reach Leptos (for example a bare `/sessions/`).
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    super::status::set_not_found();
    // Nothing on it is interactive, so the server alone renders the card (see `server_only`).
    view! {
        <Title text="Not found · Codex WebChat"/>
        <main class="standalone" inner_html=server_only(NOT_FOUND_HTML)></main>
    }
}
