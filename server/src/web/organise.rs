//! The routes that find and organise sessions: `GET /api/v1/search` and
//! `DELETE /api/v1/sessions/{key}` (renaming and archiving ride `PATCH`, in `mod.rs`). They only
//! translate HTTP; the gateway decides, and the images a deleted session alone used are removed
//! here because this edge owns the image folder.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::{parse_key, AppState};
use crate::escape::html::escape;
use app::wire::SearchHit;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Private entries (model prose, reasoning) too, as with "show internals".
    #[serde(default)]
    internals: bool,
    /// `html`: the results as the sidebar's list items (what the page inserts as it is).
    #[serde(default)]
    format: Option<String>,
}

/// `GET /api/v1/search?q=…[&internals=true][&format=html]`: matching entries across sessions,
/// best first: JSON `SearchHit`s, or the sidebar's list items.
pub async fn search(
    State(s): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let hits = s.gateway.search(&query.q, query.internals)?;
    Ok(match query.format.as_deref() {
        Some("html") => Html(results_html(&hits)).into_response(),
        _ => Json(hits).into_response(),
    })
}

/// The sidebar's result items; every piece of text through [`escape`], the one step for this
/// path. Keys and sequence numbers are validated identifiers and numbers.
pub fn results_html(hits: &[SearchHit]) -> String {
    if hits.is_empty() {
        return r#"<li class="muted" data-testid="no-results">No matches</li>"#.to_owned();
    }
    let mut out = String::new();
    for hit in hits {
        let snippet: String = hit
            .snippet
            .iter()
            .map(|s| {
                if s.hit {
                    format!("<mark>{}</mark>", escape(&s.text))
                } else {
                    escape(&s.text)
                }
            })
            .collect();
        out.push_str(&format!(
            r#"<li><a data-testid="search-result" data-session-key="{key}" data-seq="{seq}" href="/sessions/{key}?at={seq}" rel="external" aria-selected="false"><span class="search-title">{title}</span><span class="search-snippet">{snippet}</span></a></li>"#,
            key = escape(hit.session.as_str()),
            seq = hit.seq.0,
            title = escape(&app::text::display_title(&hit.title)),
        ));
    }
    out
}

/// `DELETE /api/v1/sessions/{key}`: the session and all it stored.
pub async fn delete_session(
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = parse_key(&key)?;
    for id in s.gateway.delete_session(&key).await? {
        if let Err(e) = s.images.remove(&id) {
            tracing::warn!(session = %key, image = %id, error = %e,
                "could not remove a deleted session's image");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
