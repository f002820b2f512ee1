//! Renders the chat page from made-up data through the real SSR path (`web::with_pages`, the same
//! function the server's router uses) and checks, with a real HTML5 parser (html5ever, through
//! `scraper`), that untrusted text stayed text. Shared by `tests/untrusted_render.rs` and the
//! `ssr_page` fuzz target (`fuzz/fuzz_targets/ssr_page.rs`), which include this file by path.
//!
//! The check compares a page holding the hostile text with a *baseline* page of the same shape
//! whose text is harmless (every character but `\n` replaced by as many `x` as it has bytes, so
//! output folding, which depends on lines and bytes, folds the same way):
//! - the documents have the same elements with the same attribute names, in the same order
//!   (nothing was injected into `<head>` or `<body>`, no `<meta>`, no handler attribute);
//! - `<head>` holds exactly one `<title>`, whose text is the session name as the views show it;
//! - every place the text is shown holds it exactly (as `app::text::for_html` normalises it:
//!   NUL and CR are what an HTML parser would make of them anyway);
//! - every `<script>` is the baseline's, but for the hydration payload, which decodes to exactly
//!   the page data the page was rendered from (it neither ended early nor lost anything).

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use app::api::{PageError, PageSource, SharedPageSource};
use app::text::{display_title, for_html};
use app::transcript::Transcript;
use app::wire::{
    ApprovalKind, ApprovalState, DeliveryStatus, Event, EventBody, NoticeLevel, PageData,
    RelayDecision, RunOutcome, Seq, SessionKey, SessionSummary, ToolStatus,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use leptos::config::LeptosOptions;
use scraper::{ElementRef, Html, Node, Selector};
use tower::ServiceExt;

/// Serves one fixed page, whatever the session key.
pub struct FixedPage(pub PageData);

impl PageSource for FixedPage {
    fn page(
        &self,
        _: &SessionKey,
        _: bool,
        _: u64,
        _: Option<app::wire::Seq>,
    ) -> Result<PageData, PageError> {
        Ok(self.0.clone())
    }
}

/// A session named `title` whose transcript shows `text` in every text-bearing entry: the user
/// message, a plain-text reply, a tool card's name (text and `data-tool`), command and output, a
/// notice, a delivery's receipt, as the origin of a background run (`data-background`), and in
/// approval cards: a file change that was approved (its subject, path, diff, `cwd` and reason), a
/// question that was answered (the answer), and a command still waiting (its buttons rendered,
/// and the page title counting it). The first run is over, so its entries are the page's history
/// (rendered once, as HTML); the waiting command belongs to a second run, still going: the live
/// part, which hydration starts from.
pub fn page_with(title: &str, text: &str) -> PageData {
    let session = SessionSummary {
        key: SessionKey::parse("s1").expect("valid key"),
        title: title.to_owned(),
        updated_ms: 0,
        last_channel: None,
        mode: app::wire::Mode::Auto,
        workspace: String::new(),
        model: None,
        effort: None,
        usage: None,
        archived: false,
    };
    let bodies = vec![
        EventBody::UserMessage {
            text: text.to_owned(),
            client_id: "c1".into(),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
        EventBody::RunStarted {
            run_id: "r1".into(),
            for_seq: Some(Seq(1)),
            background: Some(text.to_owned()),
        },
        EventBody::AssistantMessage {
            text: text.to_owned(),
            html: None,
            call_id: None,
        },
        EventBody::ToolStarted {
            call_id: "call-1".into(),
            tool: text.to_owned(),
            command: text.to_owned(),
            relay: RelayDecision::Allowed,
            // A file change's card: the path and the diff are the model's.
            detail: Some(app::wire::ToolDetail::Files {
                files: vec![codex_webchat::gateway::diff::present_file(
                    &codex_webchat::store::record::StoredDiff {
                        path: text.to_owned(),
                        kind: "update".into(),
                        diff: text.to_owned(),
                    },
                )],
            }),
        },
        EventBody::ToolFinished {
            target: Seq(4),
            status: ToolStatus::Completed,
            output: text.to_owned(),
            exit_code: Some(0),
        },
        EventBody::Notice {
            level: NoticeLevel::Warning,
            text: text.to_owned(),
        },
        EventBody::Delivery {
            channel: "webhook".into(),
            target: "ops".into(),
            status: DeliveryStatus::Sent,
            attempts: 1,
            detail: format!("Receiver said: {text}"),
            updates: None,
        },
        EventBody::ApprovalRequested {
            kind: ApprovalKind::FileChange,
            item_id: Some("call-2".into()),
            subject: text.to_owned(),
            cwd: Some(text.to_owned()),
            reason: Some(text.to_owned()),
            changes: vec![codex_webchat::gateway::diff::present_file(
                &codex_webchat::store::record::StoredDiff {
                    path: text.to_owned(),
                    kind: "update".into(),
                    diff: text.to_owned(),
                },
            )],
            for_session: true,
        },
        EventBody::ApprovalEnded {
            target: Seq(8),
            state: ApprovalState::Accepted,
            answer: None,
        },
        EventBody::ApprovalRequested {
            kind: ApprovalKind::Question,
            item_id: None,
            subject: text.to_owned(),
            cwd: None,
            reason: None,
            changes: vec![],
            for_session: false,
        },
        EventBody::ApprovalEnded {
            target: Seq(10),
            state: ApprovalState::Accepted,
            answer: Some(text.to_owned()),
        },
        EventBody::RunFinished {
            run_id: "r1".into(),
            outcome: RunOutcome::Completed,
            error: None,
        },
        EventBody::RunStarted {
            run_id: "r2".into(),
            for_seq: None,
            background: None,
        },
        EventBody::ApprovalRequested {
            kind: ApprovalKind::Command,
            item_id: Some("call-3".into()),
            subject: text.to_owned(),
            cwd: Some(text.to_owned()),
            reason: Some(text.to_owned()),
            changes: vec![],
            for_session: true,
        },
    ];
    let events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            seq: Seq(i as u64 + 1),
            at_ms: 0,
            run: match i {
                0 => None,
                1..=11 => Some("r1".to_owned()),
                _ => Some("r2".to_owned()),
            },
            private: false,
            body,
        })
        .collect();
    PageData {
        session: session.clone(),
        sessions: vec![session],
        last_seq: Seq(events.len() as u64),
        events,
        show_internals: false,
        earlier: 0,
        window: app::wire::HISTORY_WINDOW,
        models: Vec::new(),
        workspaces: Vec::new(),
        account: Default::default(),
        highlight: None,
    }
}

/// `text` with every character but `\n` replaced by as many `x` as it has UTF-8 bytes.
pub fn harmless_like(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_owned()
            } else {
                "x".repeat(c.len_utf8())
            }
        })
        .collect()
}

/// The chat page for `page`, as the server renders it.
pub async fn render(page: PageData) -> String {
    let options = LeptosOptions::builder()
        .output_name("webchat")
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .env(leptos::config::Env::PROD)
        .build();
    let source: SharedPageSource = Arc::new(FixedPage(page));
    let router =
        codex_webchat::web::with_pages(Router::new(), &options, source).with_state(options);
    let response = router
        .oneshot(
            Request::get("/sessions/s1")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8(body.to_vec()).expect("the page is UTF-8")
}

/// One runtime for every render in the process, and every render a task on it, as in the
/// server. (Renders on several test threads once now and then waited forever: each built its own
/// router, and building one suppressed every resource in the process for a moment, leptos#4773;
/// `web::with_pages` now generates the route list once per process, see
/// `tests/ssr_liveness.rs`.)
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// [`render`] from synchronous code (tests, the fuzz target): a task on the shared runtime, as a
/// request is one in the server.
pub fn render_blocking(page: PageData) -> String {
    let task = runtime().spawn(render(page));
    runtime().block_on(task).expect("the render task")
}

/// [`check_text`] from synchronous code: a task on the shared runtime.
pub fn check_text_blocking(title: &str, text: &str) -> Result<(), String> {
    let (title, text) = (title.to_owned(), text.to_owned());
    let task = runtime().spawn(async move { check_text(&title, &text).await });
    runtime().block_on(task).expect("the check task")
}

/// Renders the page for (`title`, `text`) and its baseline and checks every property above.
pub async fn check_text(title: &str, text: &str) -> Result<(), String> {
    let page = page_with(title, text);
    let hostile = render(page.clone()).await;
    let baseline = render(page_with(&harmless_like(title), &harmless_like(text))).await;
    check(&hostile, &baseline, &page, title, text)
}

/// The element names with their attribute names, in document order.
fn shape(doc: &Html) -> Vec<(String, Vec<String>)> {
    doc.root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .map(|e| {
            let mut attrs: Vec<String> = e.value().attrs().map(|(n, _)| n.to_owned()).collect();
            attrs.sort();
            (e.value().name().to_owned(), attrs)
        })
        .collect()
}

fn texts(doc: &Html, css: &str) -> Vec<String> {
    let selector = Selector::parse(css).expect("selector");
    doc.select(&selector)
        .map(|e| e.text().collect::<String>())
        .collect()
}

fn attrs(doc: &Html, css: &str, name: &str) -> Vec<String> {
    let selector = Selector::parse(css).expect("selector");
    doc.select(&selector)
        .filter_map(|e| e.value().attr(name).map(str::to_owned))
        .collect()
}

/// The text inside every `<script>`, in order.
fn scripts(doc: &Html) -> Vec<String> {
    texts(doc, "script")
}

/// How Leptos hands a resolved resource to hydration: a JS string literal holding JSON (with
/// `<` as `\u003c`), written as Rust's `{:?}` writes a string (hydration_context 0.3, `ssr.rs`).
const PAYLOAD_PREFIX: &str = "__RESOLVED_RESOURCES[0] = ";

/// What a JS engine makes of a double-quoted string literal that uses only the escapes Rust's
/// `{:?}` writes; any other escape, a raw quote or a line break inside is an error (the browser
/// would read something else, or fail).
fn decode_js_string(literal: &str) -> Result<String, String> {
    let inner = literal
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .ok_or("payload is no string literal")?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' | '\r' => return Err(format!("raw {c:?} inside the payload literal")),
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('\'') => out.push('\''),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                // `\0` then a digit is an octal escape to a JS engine, not NUL.
                Some('0') if chars.clone().next().is_some_and(|d| d.is_ascii_digit()) => {
                    return Err("`\\0` before a digit in the payload literal".into())
                }
                Some('0') => out.push('\0'),
                Some('u') => {
                    if chars.next() != Some('{') {
                        return Err("\\u without braces in the payload literal".into());
                    }
                    let hex: String = chars.by_ref().take_while(|&h| h != '}').collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("bad \\u{{{hex}}} in the payload literal"))?;
                    out.push(code);
                }
                other => {
                    return Err(format!(
                        "unexpected escape \\{other:?} in the payload literal"
                    ))
                }
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The page data in the payload script.
fn decode_payload(literal: &str) -> Result<PageData, String> {
    let literal = literal.trim_end().trim_end_matches(';');
    let json = decode_js_string(literal)?;
    #[derive(serde::Deserialize)]
    enum Outcome {
        Ok(PageData),
    }
    match serde_json::from_str::<Outcome>(&json) {
        Ok(Outcome::Ok(page)) => Ok(page),
        Err(e) => Err(format!("payload is no page data: {e}")),
    }
}

pub fn check(
    hostile: &str,
    baseline: &str,
    page: &PageData,
    title: &str,
    text: &str,
) -> Result<(), String> {
    let doc = Html::parse_document(hostile);
    let base = Html::parse_document(baseline);

    let (got, want) = (shape(&doc), shape(&base));
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b);
        return Err(format!(
            "the page's elements differ from the baseline's (first difference at element {at:?}: {:?} vs {:?}; {} vs {} elements)",
            at.and_then(|i| got.get(i)),
            at.and_then(|i| want.get(i)),
            got.len(),
            want.len()
        ));
    }

    let titles = texts(&doc, "head > title");
    let want_title = format!("{} · Codex WebChat", display_title(title));
    let waiting = Transcript::from_events(&page.events)
        .pending_approvals()
        .count();
    let want_title = match waiting {
        0 => want_title,
        n => format!("({n}) Approval needed · {want_title}"),
    };
    if titles != [want_title.clone()] {
        return Err(format!("<head> titles {titles:?}, want [{want_title:?}]"));
    }
    if texts(&doc, "title").len() != 1 {
        return Err("more than one <title> in the document".into());
    }

    let shown = for_html(text).into_owned();
    for css in [
        ".entry-user .bubble",
        ".entry-assistant .prose",
        ".tool-command code",
        ".tool-output",
    ] {
        let got = texts(&doc, css);
        let ok = got == [shown.clone()]
            || shown.is_empty()
                && match css {
                    // Empty output is said in words ("No output."), not shown as an empty block.
                    ".tool-output" => got.is_empty(),
                    // Leptos renders an empty text as one space (hydration needs a node).
                    _ => got == [" "],
                };
        if !ok {
            return Err(format!("{css} holds {got:?}, want [{shown:?}]"));
        }
    }
    let tool_names = texts(&doc, ".entry-tool:not(.delivery) .tool-name");
    if tool_names != [shown.clone()] && !(shown.is_empty() && tool_names == [" "]) {
        return Err(format!("the tool name is {tool_names:?}, want [{shown:?}]"));
    }
    let tool_attrs = attrs(&doc, ".entry-tool:not(.delivery)", "data-tool");
    if tool_attrs != [shown.clone()] {
        return Err(format!("data-tool is {tool_attrs:?}, want [{shown:?}]"));
    }
    let origins = attrs(&doc, "[data-background]", "data-background");
    if origins.is_empty() || origins.iter().any(|o| *o != shown) {
        return Err(format!(
            "data-background is {origins:?}, want {shown:?} on every run entry"
        ));
    }
    let notices = texts(&doc, ".notice-text");
    if notices.len() != 1 || notices[0].trim_start() != shown.trim_start() {
        return Err(format!("the notice holds {notices:?}, want {shown:?}"));
    }
    let detail = format!("Receiver said: {shown}");
    let details = texts(&doc, ".delivery-detail");
    if details != [detail.clone()] {
        return Err(format!(
            "the delivery detail is {details:?}, want [{detail:?}]"
        ));
    }

    // Approval cards: every piece of what was asked, and the answer, exactly as given.
    // (An empty subject is left out: there is nothing to show.)
    let subjects = if text.is_empty() { 0 } else { 3 };
    for (css, want) in [
        (".approval-subject", subjects),
        (".approval-dir", 2),
        (".approval-why", 2),
        // The approved change's file and the tool card's.
        (".approval-path", 2),
        (".approval-answer", 1),
    ] {
        let got = texts(&doc, css);
        let ok = got.len() == want
            && got
                .iter()
                .all(|g| *g == shown || shown.is_empty() && g == " ");
        if !ok {
            return Err(format!("{css} holds {got:?}, want {want} × {shown:?}"));
        }
    }
    // Each diff (the approval's and the tool card's), one element per line, each holding its
    // line (CR LF is a line break, and the final one ends the last line).
    let lines = texts(&doc, "[data-testid=diff] [data-line]");
    let raw = text.strip_suffix('\n').unwrap_or(text);
    let one: Vec<String> = if raw.is_empty() {
        vec![]
    } else {
        raw.split('\n')
            .map(|l| for_html(l.strip_suffix('\r').unwrap_or(l)).into_owned())
            .collect()
    };
    let want_lines = [one.clone(), one].concat();
    let same_lines = lines.len() == want_lines.len()
        && lines
            .iter()
            .zip(&want_lines)
            .all(|(g, w)| g == w || w.is_empty() && g == " ");
    if !same_lines {
        return Err(format!(
            "the diff's lines are {lines:?}, want {want_lines:?}"
        ));
    }
    // Each line carries the class the server gave it (`gateway::diff` classifies; its own tests
    // say how), in page order.
    let kinds = attrs(&doc, "[data-testid=diff] [data-line]", "data-line");
    let want_kinds: Vec<&str> = page
        .events
        .iter()
        .flat_map(|e| match &e.body {
            EventBody::ApprovalRequested { changes, .. } => changes.clone(),
            EventBody::ToolStarted {
                detail: Some(app::wire::ToolDetail::Files { files }),
                ..
            } => files.clone(),
            _ => Vec::new(),
        })
        .flat_map(|f| f.lines)
        .map(|l| l.kind.data_line())
        .collect();
    if kinds != want_kinds {
        return Err(format!(
            "the diff's data-line are {kinds:?}, want {want_kinds:?}"
        ));
    }
    // The pending command's buttons, and nothing else's.
    let buttons = attrs(&doc, "[data-testid=approval] button", "data-testid");
    if buttons != ["approve", "approve-session", "decline"] {
        return Err(format!("the approval buttons are {buttons:?}"));
    }

    // The hydration payload: the scripts are the baseline's, except the one that carries the
    // page data, which must decode to exactly the data the page was rendered from: its live part
    // (the history is in the page once, as HTML).
    let mut live = page.clone();
    app::history::split(&mut live);
    let (got, want) = (scripts(&doc), scripts(&base));
    if got.len() != want.len() {
        return Err(format!("{} scripts, want {}", got.len(), want.len()));
    }
    let mut payloads = 0;
    for (g, w) in got.iter().zip(&want) {
        match g.strip_prefix(PAYLOAD_PREFIX) {
            Some(literal) => {
                payloads += 1;
                let decoded = decode_payload(literal)?;
                if decoded != live {
                    return Err(format!(
                        "the hydration payload decodes to other data: {decoded:?}"
                    ));
                }
            }
            None if g != w => return Err(format!("script {g:?} differs from {w:?}")),
            None => {}
        }
    }
    if payloads != 1 {
        return Err(format!("{payloads} page-data payloads, want 1"));
    }
    Ok(())
}

/// Nodes of `doc` that are text directly under `<html>` or `<head>`: none in a well-formed page.
pub fn stray_text(doc: &Html) -> Vec<String> {
    doc.tree
        .nodes()
        .filter_map(|n| match n.value() {
            Node::Text(t) if !t.trim().is_empty() => {
                let parent = n
                    .parent()
                    .and_then(|p| p.value().as_element().map(|e| e.name().to_owned()));
                matches!(parent.as_deref(), Some("html") | Some("head")).then(|| t.to_string())
            }
            _ => None,
        })
        .collect()
}
