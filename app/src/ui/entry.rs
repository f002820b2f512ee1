//! One transcript row: a user message, an assistant reply, a tool card, a delivery card, an
//! approval card (its body is [`super::approval`]), or a notice.
//!
//! Rows are immutable views of an [`Entry`]: when the entry changes (a stream delta, a tool
//! result, an approval's end) its `version` changes and the list renders a new row. The markup
//! carries the test contract (`data-testid="entry"`, `data-kind`, `data-seq`, `data-private`,
//! and for tools `data-tool`/`data-relay`/`data-status`; a delivery card is a tool entry with
//! `data-tool="delivery"` and `data-relay="none"`, and no `data-status`). Assistant HTML comes
//! sanitised from the server and is inserted as is; everything else is text, so nothing a model
//! or a tool prints can become markup.

use leptos::either::{Either, EitherOf3, EitherOf6};
use leptos::prelude::*;

use super::approval::approval_body;
use super::detail::detail_view;
use crate::text::{html_text, pre_text};
use crate::transcript::{DeliveryView, Entry, EntryKind, ToolView, DELIVERY_TOOL};
use crate::wire::{DeliveryStatus, NoticeLevel, RelayDecision, ToolStatus};

/// Output longer than this is folded into a `<details>` so one tool call cannot bury the chat.
const FOLD_LINES: usize = 24;
const FOLD_CHARS: usize = 4_000;

#[component]
pub fn EntryView(mut entry: Entry) -> impl IntoView {
    let kind = entry.kind.as_str();
    let seq_n = entry.seq.0;
    let seq = seq_n.to_string();
    let private = entry.private.then_some("true");
    let tool_name = entry
        .tool
        .as_ref()
        .map(|t| html_text(t.tool.clone()))
        .or_else(|| entry.delivery.as_ref().map(|_| DELIVERY_TOOL.to_owned()));
    let relay = entry.tool.as_ref().map(|t| t.relay.as_str()).or_else(|| {
        entry
            .delivery
            .as_ref()
            .map(|_| RelayDecision::None.as_str())
    });
    let status = entry.tool.as_ref().map(|t| t.status.as_str());
    let source = entry.source;
    let steered = entry.steered.then_some("true");
    let level = entry.notice_level.map(level_str);
    let mut class = format!("entry entry-{kind}");
    if entry.private {
        class.push_str(" private");
    }
    if entry.streaming {
        class.push_str(" streaming");
    }
    if entry.delivery.is_some() {
        class.push_str(" delivery");
    }
    // The stylesheet labels these rows with the origin (`data-background`), so every entry of a
    // background run says so without markup of its own.
    let background = entry.background.take().map(html_text);
    if background.is_some() {
        class.push_str(" background");
    }
    if let Some(level) = level {
        class.push_str(" notice-");
        class.push_str(level);
    }
    // `Either*` rather than `into_any()`: every erased view carries its own copy of the
    // (async) hydration code, which the wasm budget cannot afford per row type.
    let delivery = entry.delivery.take();
    let approval = entry.approval.take();
    let body = match (entry.kind, entry.tool.take(), delivery, approval) {
        (EntryKind::User, ..) => EitherOf6::A(user_body(entry)),
        (EntryKind::Assistant, ..) => EitherOf6::B(assistant_body(entry)),
        (EntryKind::Tool, Some(tool), ..) => EitherOf6::C(tool_body(tool, entry.private)),
        (EntryKind::Tool, None, Some(delivery), _) => EitherOf6::D(delivery_body(delivery, entry)),
        (EntryKind::Approval, _, _, Some(approval)) => {
            EitherOf6::F(approval_body(entry.seq, approval))
        }
        // The projection always attaches a tool, delivery or approval view to those entries;
        // without one the text is still worth showing, as a plain note.
        (EntryKind::Tool | EntryKind::Approval, ..) | (EntryKind::Notice, ..) => {
            EitherOf6::E(notice_body(entry))
        }
    };
    // The entry a search result opened the page at.
    let highlighted = use_context::<super::state::ChatState>()
        .and_then(|s| s.highlight)
        .filter(|h| *h == seq_n)
        .map(|_| "true");
    view! {
        <article
            class=class
            data-testid="entry"
            data-kind=kind
            data-seq=seq
            data-highlighted=highlighted
            data-private=private
            data-tool=tool_name
            data-relay=relay
            data-status=status
            data-background=background
            data-source=source
            data-steered=steered
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

/// A user message: its text and its images as thumbnails (the file names are untrusted text).
/// A steered message says so through the row's `data-steered`, which the stylesheet labels.
fn user_body(entry: Entry) -> impl IntoView {
    let images = (!entry.images.is_empty()).then(|| {
        let thumbnails = entry
            .images
            .into_iter()
            .map(|image| {
                let src = image.url();
                let name = html_text(image.name);
                view! { <img data-testid="image" src=src alt=name loading="lazy" /> }
            })
            .collect_view();
        view! { <div class="images">{thumbnails}</div> }
    });
    view! {
        <div class="who">"You"</div>
        // The copy button has no text of its own, so the bubble's text is the message's.
        <div class="bubble text">
            <button type="button" class="copy" data-copy="message" aria-label="Copy message"></button>
            {html_text(entry.text)}
        </div>
        {images}
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
        None => {
            Either::Right(view! { <div class="prose text">{html_text(entry.text)}{caret}</div> })
        }
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
        detail,
    } = tool;
    // A card with a detail (files, a plan) says what it did there; "No output." would only add
    // noise.
    let quiet = detail.is_some() && output.is_empty() && status != ToolStatus::Running;
    let exit = exit_code.map(|code| {
        view! { <span class=if code == 0 { "chip ok" } else { "chip bad" }>"exit " {code}</span> }
    });
    let status_class = match status {
        ToolStatus::Running => "chip running",
        ToolStatus::Completed => "chip ok",
        ToolStatus::Failed | ToolStatus::Declined => "chip bad",
        ToolStatus::Interrupted => "chip warn",
    };
    let relay_class = match relay.as_str() {
        "allowed" => "chip ok",
        "denied" | "unavailable" => "chip bad",
        _ => "chip",
    };
    let output_view = if quiet {
        None
    } else if output.is_empty() {
        let note = if status == ToolStatus::Running {
            "Running…"
        } else {
            "No output."
        };
        Some(EitherOf3::A(
            view! { <p class="tool-empty muted">{note}</p> },
        ))
    } else {
        let lines = output.lines().count();
        if lines > FOLD_LINES || output.len() > FOLD_CHARS {
            Some(EitherOf3::B(view! {
                <details class="tool-fold">
                    <summary>"Output (" {lines} " lines)"</summary>
                    <pre class="tool-output">{pre_text(output)}</pre>
                </details>
            }))
        } else {
            Some(EitherOf3::C(
                view! { <pre class="tool-output">{pre_text(output)}</pre> },
            ))
        }
    };
    view! {
        <div class="tool-head">
            <span class="tool-name">{html_text(name)}</span>
            <span class=status_class>{status.as_str()}</span>
            <span class=relay_class title="What the hook relay decided">
                "relay: " {relay.as_str()}
            </span>
            {exit}
            {private_badge(private)}
        </div>
        <pre class="tool-command">
            <code>{html_text(command)}</code>
        </pre>
        {detail.map(detail_view)}
        {output_view}
    }
}

/// One compact line: the channel and target, whether it went, how many attempts it took, and the
/// receipt or error below it only when it says more than the line does.
fn delivery_body(delivery: DeliveryView, entry: Entry) -> impl IntoView {
    let (status_class, icon) = match delivery.status {
        DeliveryStatus::Sending => ("chip running", "…"),
        DeliveryStatus::Sent => ("chip ok", "✓"),
        DeliveryStatus::Failed => ("chip bad", "✗"),
        DeliveryStatus::Unknown => ("chip running", "?"),
    };
    let attempts = match delivery.attempts {
        0 => None,
        1 => Some("1 attempt".to_owned()),
        n => Some(format!("{n} attempts")),
    }
    .map(|a| view! { <span class="chip">{a}</span> });
    let detail = (!delivery.detail.trim().is_empty() && delivery.detail != entry.text).then(
        || view! { <div class="delivery-detail muted">{html_text(delivery.detail.clone())}</div> },
    );
    view! {
        <div class="tool-head">
            <span class="tool-name">{DELIVERY_TOOL}</span>
            <span class=status_class>{icon} " " {delivery.status.as_str()}</span>
            {attempts}
            {private_badge(entry.private)}
        </div>
        <div class="delivery-text text">{html_text(entry.text)}</div>
        {detail}
    }
}

fn notice_body(entry: Entry) -> impl IntoView {
    view! {
        <div class="notice-text text">{private_badge(entry.private)} {html_text(entry.text)}</div>
    }
}

#[cfg(all(test, feature = "ssr"))]
#[path = "entry_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "entry_user_tests.rs"]
mod user_tests;
