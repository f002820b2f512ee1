//! A file's diff as a card shows it (collapsible, open at first) (approval cards, `file_change` cards, the turn's diff): its
//! path, what happens to it, added and removed counts, and its lines as the server classified
//! them. Nothing here parses a diff; the server did (`gateway::diff`).
//!
//! The contract: `data-testid="diff"` holds one element per line with `data-line` =
//! `add|del|ctx` (a hunk header or a meta line is `ctx`, with its own class). Every string is
//! untrusted and is text (`html_text`), never markup.

use leptos::prelude::*;

use crate::text::html_text;
use crate::wire::{DiffLineKind, FileDiff};

/// One file: its head and its diff, line by line.
pub fn file_view(file: FileDiff) -> impl IntoView {
    let lines = file
        .lines
        .into_iter()
        .map(|line| {
            let class = match line.kind {
                DiffLineKind::Hunk => "diff-line hunk",
                DiffLineKind::Meta => "diff-line meta",
                _ => "diff-line",
            };
            view! { <div class=class data-line=line.kind.data_line()>{html_text(line.text)}</div> }
        })
        .collect_view();
    view! {
        <details class="approval-file" open>
            <summary class="approval-file-head">
                <code class="approval-path">{html_text(file.path)}</code>
                <span class="chip">{html_text(file.kind)}</span>
                <span class="diff-count add">"+" {file.added}</span>
                <span class="diff-count del">"−" {file.removed}</span>
            </summary>
            <div class="diff" data-testid="diff">{lines}</div>
        </details>
    }
}
