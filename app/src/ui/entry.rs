//! One transcript row: a user message, an assistant reply, a tool card, or a notice.
//!
//! Rows are immutable views of an [`Entry`]: when the entry changes (a stream delta, a tool
//! result) its `version` changes and the list renders a new row. The markup carries the test
//! contract (`data-testid="entry"`, `data-kind`, `data-seq`, `data-private`, and for tools
//! `data-tool`/`data-relay`). Assistant HTML comes sanitised from the server and is inserted as
//! is; everything else is text, so nothing a model or a tool prints can become markup.

use leptos::either::{Either, EitherOf3, EitherOf4};
use leptos::prelude::*;

use crate::transcript::{Entry, EntryKind, ToolView};
use crate::wire::{NoticeLevel, ToolStatus};

/// Output longer than this is folded into a `<details>` so one tool call cannot bury the chat.
const FOLD_LINES: usize = 24;
const FOLD_CHARS: usize = 4_000;

#[component]
pub fn EntryView(mut entry: Entry) -> impl IntoView {
    let kind = entry.kind.as_str();
    let seq = entry.seq.to_string();
    let private = entry.private.then_some("true");
    let tool_name = entry.tool.as_ref().map(|t| t.tool.clone());
    let relay = entry.tool.as_ref().map(|t| t.relay.as_str());
    let level = entry.notice_level.map(level_str);
    let mut class = format!("entry entry-{kind}");
    if entry.private {
        class.push_str(" private");
    }
    if entry.streaming {
        class.push_str(" streaming");
    }
    if let Some(level) = level {
        class.push_str(" notice-");
        class.push_str(level);
    }
    // `Either*` rather than `into_any()`: every erased view carries its own copy of the
    // (async) hydration code, which the wasm budget cannot afford per row type.
    let body = match (entry.kind, entry.tool.take()) {
        (EntryKind::User, _) => EitherOf4::A(user_body(entry)),
        (EntryKind::Assistant, _) => EitherOf4::B(assistant_body(entry)),
        (EntryKind::Tool, Some(tool)) => EitherOf4::C(tool_body(tool, entry.private)),
        // The projection always attaches a tool view to tool entries; without one the text is
        // still worth showing, as a plain note.
        (EntryKind::Tool, None) | (EntryKind::Notice, _) => EitherOf4::D(notice_body(entry)),
    };
    view! {
        <article
            class=class
            data-testid="entry"
            data-kind=kind
            data-seq=seq
            data-private=private
            data-tool=tool_name
            data-relay=relay
        >
            {body}
        </article>
    }
}

fn level_str(level: NoticeLevel) -> &'static str {
    match level {
        NoticeLevel::Info => "info",
        NoticeLevel::Warning => "warning",
        NoticeLevel::Error => "error",
    }
}

fn private_badge(private: bool) -> impl IntoView {
    private.then(|| {
        view! {
            <span class="badge" title="Only shown with “Show internals” on">"internal"</span>
        }
    })
}

fn user_body(entry: Entry) -> impl IntoView {
    view! {
        <div class="who">"You"</div>
        <div class="bubble text">{entry.text}</div>
    }
}

fn assistant_body(entry: Entry) -> impl IntoView {
    let caret = entry
        .streaming
        .then(|| view! { <span class="caret" aria-label="still writing"></span> });
    let content = match entry.html {
        // Sanitised on the server (markdown rendered once, there); never re-rendered here, so
        // hydration sees the very same string.
        Some(html) => Either::Left(view! { <div class="prose" inner_html=html></div> }),
        None => Either::Right(view! { <div class="prose text">{entry.text}{caret}</div> }),
    };
    view! {
        <div class="who">"Assistant" {private_badge(entry.private)}</div>
        {content}
    }
}

fn tool_body(tool: ToolView, private: bool) -> impl IntoView {
    let ToolView {
        tool: name,
        command,
        relay,
        status,
        output,
        exit_code,
    } = tool;
    let exit = exit_code.map(|code| {
        view! { <span class=if code == 0 { "chip ok" } else { "chip bad" }>"exit " {code}</span> }
    });
    let status_class = match status {
        ToolStatus::Running => "chip running",
        ToolStatus::Completed => "chip ok",
        ToolStatus::Failed | ToolStatus::Declined => "chip bad",
    };
    let relay_class = match relay.as_str() {
        "allowed" => "chip ok",
        "denied" | "unavailable" => "chip bad",
        _ => "chip",
    };
    let output_view = if output.is_empty() {
        let note = if status == ToolStatus::Running {
            "Running…"
        } else {
            "No output."
        };
        EitherOf3::A(view! { <p class="tool-empty muted">{note}</p> })
    } else {
        let lines = output.lines().count();
        if lines > FOLD_LINES || output.len() > FOLD_CHARS {
            EitherOf3::B(view! {
                <details class="tool-fold">
                    <summary>"Output (" {lines} " lines)"</summary>
                    <pre class="tool-output">{output}</pre>
                </details>
            })
        } else {
            EitherOf3::C(view! { <pre class="tool-output">{output}</pre> })
        }
    };
    view! {
        <div class="tool-head">
            <span class="tool-name">{name}</span>
            <span class=status_class>{status.as_str()}</span>
            <span class=relay_class title="What the hook relay decided">
                "relay: " {relay.as_str()}
            </span>
            {exit}
            {private_badge(private)}
        </div>
        <pre class="tool-command">
            <code>{command}</code>
        </pre>
        {output_view}
    }
}

fn notice_body(entry: Entry) -> impl IntoView {
    view! {
        <div class="notice-text text">{private_badge(entry.private)} {entry.text}</div>
    }
}
