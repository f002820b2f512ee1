//! The chat page: loads the session's page data and lays out sidebar, header, transcript and
//! composer, and keeps the tab's title (which counts the approvals waiting for a person).
//!
//! The transcript signal is built from the loaded data inside the `Suspense` children rather than
//! synced from the resource by an effect (leptos#4733): the server and the hydrating browser then
//! derive the same first tree from the same serialised data, and only the live connection changes
//! it afterwards.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use super::attention::{server_only, DRAWER_HTML, TOOLS_HTML};
use super::composer::Composer;
use super::entry::EntryView;
use super::history::Earlier;
use super::meter::{AccountView, ContextMeter, RateLimitsView};
use super::mode::ModeSelect;
use super::model::ModelSelect;
#[cfg(feature = "hydrate")]
use super::organise::start_rename;
use super::organise::{rename_blur, rename_key};
use super::sidebar::Sidebar;
use super::signin::{AccountActions, CodexDown};
use super::state::{ChatState, ConnState};
use crate::api::{load_page, PageResult};
use crate::text::html_text;
use crate::wire::{Event, ModelOption, PageData, PageLoadError, Seq};

/// The `/sessions/:key` route.
#[component]
pub fn ChatPage() -> impl IntoView {
    let key = page_address();
    let page = Resource::new_str(key, |(key, window, at)| load_page(key, window, at));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let PageResult { page, history } = page.await;
                match page {
                    Ok(data) => Either::Left(view! { <Chat page=data history/> }),
                    Err(err) => Either::Right(view! { <LoadError err/> }),
                }
            })}
        </Suspense>
    }
}

/// The page's session key, `?window=` and `?at=`, which the page data is loaded for: from the
/// router on the server.
#[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
fn page_address() -> impl Fn() -> (String, Option<u64>, Option<u64>) + Send + Sync + Copy + 'static
{
    use leptos_router::hooks::{use_params_map, use_query_map};

    let params = use_params_map();
    let query = use_query_map();
    move || {
        (
            params.read().get("key").unwrap_or_default(),
            query
                .read()
                .get("window")
                .and_then(|w| w.parse::<u64>().ok()),
            query.read().get("at").and_then(|w| w.parse::<u64>().ok()),
        )
    }
}

/// The session key in a chat page's path (`/sessions/:key`), matched as the server's router
/// matches it: one non-empty segment after `/sessions/`, a trailing slash allowed.
// Only the browser build calls it; the host tests below check it against the server's router.
#[cfg_attr(not(all(feature = "hydrate", not(feature = "ssr"))), allow(dead_code))]
pub fn chat_key(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/sessions/")?;
    let key = rest.strip_suffix('/').unwrap_or(rest);
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

/// In the browser, from the address itself (there is no router there, see `shell`). It never
/// changes during a page's life, and the data comes from the document, not from a request.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn page_address() -> impl Fn() -> (String, Option<u64>, Option<u64>) + Send + Sync + Copy + 'static
{
    || {
        let path = super::browser::path();
        (
            chat_key(&path).unwrap_or_default().to_owned(),
            super::browser::query("window").and_then(|w| w.parse::<u64>().ok()),
            super::browser::query("at").and_then(|w| w.parse::<u64>().ok()),
        )
    }
}

/// The page when the session could not be loaded: says why and offers a way on. Whether the
/// session does not exist (a 404) is the error's variant; its text is only shown.
#[component]
fn LoadError(err: PageLoadError) -> impl IntoView {
    let unknown = err.is_not_found();
    let reason = err.to_string();
    #[cfg(feature = "ssr")]
    if unknown {
        super::status::set_not_found();
    }
    let heading = if unknown {
        "Session not found"
    } else {
        "Could not load this session"
    };
    // Nothing on it is interactive, so the server alone renders the card (see `server_only`).
    #[cfg(feature = "ssr")]
    let card = format!(
        r#"<div class="card" role="alert"><h1>{heading}</h1><p class="muted">{}</p><p><a href="/" rel="external">Open the latest session</a></p><form method="post" action="/sessions"><button class="primary" data-testid="new-session" type="submit">New session</button></form></div>"#,
        crate::text::escape_html(&reason)
    );
    #[cfg(not(feature = "ssr"))]
    let card = {
        let _ = reason;
        String::new()
    };
    view! {
        <Title text=format!("{heading} · Codex WebChat")/>
        <main class="standalone" inner_html=card></main>
    }
}

/// The loaded chat page; `history`, the events before its live part, is rendered here once (on
/// the server: the browser has none and keeps what the server sent).
#[component]
fn Chat(page: PageData, history: Vec<Event>) -> impl IntoView {
    let state = ChatState::new(&page);
    provide_context(state);
    // The line for a page with nothing on it comes with the history: the stylesheet hides it
    // as soon as the transcript holds an entry (or a link to earlier ones).
    #[cfg(feature = "ssr")]
    let history = super::history::entries_html(&history, None, page.show_internals)
        + r#"<p class="empty">No messages yet. Type below to start.</p>"#;
    #[cfg(not(feature = "ssr"))]
    let history = {
        let _ = history;
        String::new()
    };

    // Browser only: effects never run during server rendering, and this one runs once, after
    // hydration, because it reads no signals.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        super::live::start(state);
        super::attention::install(state);
    });

    view! {
        <Title text=move || {
            page_title(
                &state.title(),
                state.transcript.with(|t| t.pending_approvals().count()),
                state.unseen.get(),
            )
        }/>
        <div class="app">
            <Sidebar workspaces=page.workspaces.clone() workspace=page.session.workspace.clone()/>
            <main class="chat">
                <ChatHeader
                    models=page.models.clone()
                    model=page.session.model.clone()
                    effort=page.session.effort.clone()
                    workspace=page.session.workspace.clone()
                />
                <TranscriptView history/>
                <Show when=move || state.transcript.with(|t| t.is_running())>
                    <Working/>
                </Show>
                <Composer/>
            </main>
        </div>
    }
}

/// The working indicator: how long the run has gone, and Codex's latest retry while that is the
/// run's latest news (`Codex is retrying: <message> (attempt N)`, untrusted text).
#[component]
fn Working() -> impl IntoView {
    let state = expect_context::<ChatState>();
    // The browser's clock, ticked once a second while the indicator is shown. `None` on the
    // server and until the first tick, so the hydrated tree matches the rendered one.
    let now = RwSignal::new(None::<i64>);
    #[cfg(feature = "hydrate")]
    if let Ok(tick) = set_interval_with_handle(
        move || now.set(Some(super::browser::now_ms() as i64)),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || tick.clear());
    }
    let elapsed = move || {
        let started = state.transcript.with(|t| t.started_ms())?;
        Some(crate::transcript::elapsed_label(now.get()? - started))
    };
    let retrying = move || state.transcript.with(|t| t.retrying());
    view! {
        <div class="working" data-testid="working" role="status">
            <span class="spinner" aria-hidden="true"></span>
            "Working…"
            {move || {
                elapsed()
                    .map(|e| view! { <span class="elapsed" data-testid="elapsed">{e}</span> })
            }}
            {move || {
                retrying()
                    .map(|r| {
                        view! {
                            <span class="retrying" data-testid="retrying">
                                {html_text(r)}
                            </span>
                        }
                    })
            }}
        </div>
    }
}

/// The tab's title: the session's, prefixed with the number of approvals waiting for a person
/// while there are any, so a tab in the background says it needs someone; otherwise with the
/// number of runs that finished while the tab was hidden (`unseen`).
fn page_title(title: &str, waiting: usize, unseen: u32) -> String {
    match (waiting, unseen) {
        (0, 0) => format!("{title} · Codex WebChat"),
        (0, n) => format!("({n}) {title} · Codex WebChat"),
        (n, _) => format!("({n}) Approval needed · {title} · Codex WebChat"),
    }
}

/// Title, workspace, the account's rate limits, the context meter, the permission mode, model
/// and effort, the show-internals toggle and the connection indicator.
#[component]
fn ChatHeader(
    models: Vec<ModelOption>,
    model: Option<String>,
    effort: Option<String>,
    workspace: String,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let conn = state.conn;
    let heading = NodeRef::<leptos::html::H1>::new();
    let toggle_internals = move |_| {
        #[cfg(feature = "hydrate")]
        super::browser::set_show_internals(!state.show_internals);
    };
    view! {
        <header class="chat-header">
            // Fixed markup the server alone renders: as views they would cost the wasm budget.
            <span class="drawer" inner_html=server_only(DRAWER_HTML)></span>
            <div class="chat-heading">
                <div class="chat-title-row">
                    // Made anew whenever the title changes, so an edit in place never leaves
                    // the heading out of step with the session.
                    {move || {
                        let title = state.title();
                        let (edited, left) = (title.clone(), title.clone());
                        view! {
                            <h1
                                class="chat-title"
                                node_ref=heading
                                on:keydown=move |ev| {
                                    let fixed = (state.session.get_value(), edited.clone());
                                    rename_key(ev, state, Some(fixed))
                                }
                                on:blur=move |ev| rename_blur(ev, Some(left.clone()))
                            >
                                {title}
                            </h1>
                        }
                    }}
                    <button
                        type="button"
                        class="rename-title"
                        data-testid="rename-title"
                        title="Rename this session"
                        aria-label="Rename this session"
                        on:click=move |_| {
                            #[cfg(feature = "hydrate")]
                            start_rename(heading.get().map(Into::into));
                        }
                    >
                        "✎"
                    </button>
                </div>
                // Where `channel: "last"` sends from this session's background runs go.
                <span
                    class="last-channel muted"
                    data-testid="last-channel"
                    data-channel=move || state.last_channel()
                    title="The last external channel a background run of this session delivered to"
                >
                    "Last channel: "
                    {move || state.last_channel().unwrap_or_else(|| "none".to_owned())}
                </span>
                // The workspace and the export links never change on a page: the server alone
                // renders them (see `server_only`).
                <span class="workspace-export" inner_html=workspace_export(&workspace, state)></span>
            </div>
            <div class="chat-controls">
                <AccountView/>
                <AccountActions/>
                <RateLimitsView/>
                <ContextMeter/>
                <ModeSelect/>
                <ModelSelect models model effort/>
                <label class="toggle">
                    // autocomplete=off: browsers otherwise restore a checkbox's old state on
                    // reload, which would contradict the server's (cookie-derived) rendering.
                    <input
                        type="checkbox"
                        data-testid="show-internals"
                        autocomplete="off"
                        checked=state.show_internals
                        on:change=toggle_internals
                    />
                    <span>"Show internals"</span>
                </label>
                <span class="tools" inner_html=server_only(TOOLS_HTML)></span>
                <span
                    class="connection"
                    data-testid="connection"
                    data-state=move || conn.get().as_str()
                    role="status"
                    title=move || match conn.get() {
                        ConnState::Connected => "Receiving live updates",
                        ConnState::Reconnecting => "Connecting to the server…",
                        ConnState::Offline => "Not connected; still retrying",
                    }
                >
                    <span class="dot" aria-hidden="true"></span>
                    {move || conn.get().label()}
                </span>
            </div>
        </header>
        <CodexDown/>
    }
}

/// The header's workspace name and export links, as HTML (the name escaped; the key is a checked
/// identifier); empty in the browser, which keeps what the server rendered.
fn workspace_export(workspace: &str, state: ChatState) -> String {
    if cfg!(not(feature = "ssr")) {
        return String::new();
    }
    let key = state.session.get_value();
    format!(
        r#"<span class="workspace-name muted" data-testid="workspace-name" title="The workspace this session's Codex works in">Workspace: {}</span> <span class="export muted">Export: <a data-testid="export-md" href="/api/v1/sessions/{key}/export?format=md" download>Markdown</a> · <a data-testid="export-json" href="/api/v1/sessions/{key}/export?format=json" download>JSON</a></span>"#,
        crate::text::escape_html(workspace)
    )
}

/// The transcript: the history the server rendered (`history`, HTML), then one row per visible
/// entry of the live part, kept scrolled to the end while the reader is there; earlier history
/// is loaded above as the reader scrolls up.
#[component]
fn TranscriptView(history: String) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let transcript = state.transcript;
    let scroller = NodeRef::<leptos::html::Section>::new();
    let follow = state.follow;
    let earlier = Earlier::new(state.earlier);

    // Rows are keyed by (seq, version): an entry that changed gets a fresh row, an unchanged one
    // keeps its DOM. The keys are cheap to compute; the entry itself is cloned only for new rows.
    let rows = move || {
        transcript.with(|t| {
            t.entries()
                .iter()
                .filter(|e| state.visible(e))
                .map(|e| (e.seq, e.version))
                .collect::<Vec<_>>()
        })
    };
    let row = move |(seq, _version): (Seq, u32)| {
        let entry = transcript.with_untracked(|t| {
            let entries = t.entries();
            entries
                .binary_search_by_key(&seq, |e| e.seq)
                .ok()
                .map(|i| entries[i].clone())
        });
        entry.map(|entry| view! { <EntryView entry/> })
    };

    #[cfg(feature = "hydrate")]
    {
        // Arrived through "Show earlier messages": the reader was at the entry that used to open
        // the page, so keep it in view rather than jumping to the end.
        // Or through a search result: the entry it found is where the reader wants to be.
        let from = super::browser::query("from")
            .and_then(|s| s.parse::<u64>().ok())
            .or(state.highlight);
        if let Some(seq) = from {
            follow.set_value(false);
            super::browser::scroll_to_seq(scroller, seq);
        }
        Effect::new(move |_| {
            transcript.track();
            if follow.get_value() {
                super::browser::scroll_to_end(scroller);
            }
        });
        // A smaller viewport (a phone keyboard opening, a rotated screen) must not leave a
        // reader who was at the end looking at older entries.
        let resize = window_event_listener(leptos::ev::resize, move |_| {
            if follow.get_value() {
                super::browser::scroll_to_end(scroller);
            }
        });
        on_cleanup(move || resize.remove());
    }
    let on_scroll = move |_| {
        #[cfg(feature = "hydrate")]
        {
            follow.set_value(super::browser::near_end(scroller));
            earlier.scrolled(state, scroller);
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let _ = follow;

    // A long history starts at a recent run; the rest comes a part at a time as the reader
    // scrolls up. The link is a full page load of a larger window, which the server renders like
    // any other page (before the page is hydrated, without scripts, from the keyboard); the
    // stylesheet hides it once the session's first part is in.
    let more = (state.earlier > 0).then(|| {
        let href = format!(
            "/sessions/{}?window={}&from={}",
            state.session.get_value(),
            state.window.saturating_mul(4),
            state.earlier + 1
        );
        view! {
            <p class="earlier">
                <a data-testid="load-earlier" href=href rel="external">
                    "Show earlier messages"
                </a>
            </p>
        }
    });
    view! {
        <section
            class="transcript"
            data-testid="transcript"
            aria-live="polite"
            aria-label="Transcript"
            node_ref=scroller
            on:scroll=on_scroll
        >
            {more}
            <div class="history" data-testid="history" node_ref=earlier.history inner_html=history></div>
            <For each=rows key=|k| *k children=row/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::{chat_key, page_title};

    #[test]
    fn the_title_says_when_approvals_are_waiting_and_only_then() {
        assert_eq!(page_title("Plan", 0, 0), "Plan · Codex WebChat");
        assert_eq!(
            page_title("Plan", 1, 0),
            "(1) Approval needed · Plan · Codex WebChat"
        );
        assert_eq!(
            page_title("Plan", 3, 2),
            "(3) Approval needed · Plan · Codex WebChat"
        );
        // Runs that finished while the tab was hidden, when nothing waits.
        assert_eq!(page_title("Plan", 0, 2), "(2) Plan · Codex WebChat");
    }

    /// The cases follow `leptos_router` 0.8's matching of `/sessions/:key` (a static segment, then
    /// a parameter that takes one non-empty segment; a route matches when nothing but an
    /// optional `/` is left), on the undecoded path, as both the server and the browser see it.
    #[test]
    fn chat_key_matches_the_chat_route_as_the_router_does() {
        for (path, key) in [
            ("/sessions/abc", Some("abc")),
            ("/sessions/abc/", Some("abc")),
            ("/sessions/a%2Fb", Some("a%2Fb")),
            ("/sessions/../x", None),
            ("/sessions/", None),
            ("/sessions", None),
            ("/sessions//", None),
            ("/sessions//x", None),
            ("/sessions/abc//", None),
            ("/sessions/abc/x", None),
            ("/sessionsx/abc", None),
            ("/", None),
            ("", None),
        ] {
            assert_eq!(chat_key(path), key, "{path}");
        }
    }
}
