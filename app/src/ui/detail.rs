//! What a tool card shows beyond its command line, from the server's `ToolDetail`: the files a
//! change touched (each a collapsible diff, [`super::diff`]), the turn's plan as a checklist, an
//! MCP call's arguments. The same markup live and after reload, because both render the same
//! wire value; a `ToolUpdated` replaces the detail and the row renders again.
//!
//! The contract: a plan is `data-testid="plan"` with one `data-testid="plan-step"` per step,
//! `data-status` = pending|in_progress|completed. Every string is untrusted text (`html_text`).

use leptos::either::EitherOf3;
use leptos::prelude::*;

use super::diff::file_view;
use crate::text::html_text;
use crate::wire::ToolDetail;

pub fn detail_view(detail: ToolDetail) -> impl IntoView {
    match detail {
        ToolDetail::Files { files } => EitherOf3::A(view! {
            <div class="tool-files">{files.into_iter().map(file_view).collect_view()}</div>
        }),
        ToolDetail::Plan { steps, explanation } => EitherOf3::B(view! {
            {explanation.map(|e| view! { <p class="plan-note">{html_text(e)}</p> })}
            <ol class="plan" data-testid="plan">
                {steps
                    .into_iter()
                    .map(|s| {
                        view! {
                            <li data-testid="plan-step" data-status=s.status.as_str()>
                                {html_text(s.step)}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        }),
        ToolDetail::Mcp {
            server,
            tool,
            arguments,
        } => EitherOf3::C(view! {
            <p class="tool-mcp muted">{html_text(server)} " · " {html_text(tool)}</p>
            <pre class="tool-args">
                <code>{html_text(arguments)}</code>
            </pre>
        }),
    }
}
