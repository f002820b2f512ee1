//! The routes that find and organise sessions: `GET /api/v1/search` and
//! `DELETE /api/v1/sessions/{key}` (renaming and archiving ride `PATCH`, in `mod.rs`). They only
//! translate HTTP; the gateway decides, and the images a deleted session alone used are removed
//! here because this edge owns the image folder.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::{parse_key, AppState};
use app::text::escape_html as escape;
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

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

/// Largest session export an import takes.
pub const MAX_IMPORT_BYTES: usize = 50 * 1024 * 1024;

/// `GET /api/v1/sessions/{key}/export?format=md|json`: the session as a download. The file is
/// named after the session's key (a checked identifier), never its title.
pub async fn export(
    State(s): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    let (body, mime, ext) = match query.format.as_deref().unwrap_or("md") {
        "md" | "markdown" => (
            s.gateway.export_markdown(&key)?,
            "text/markdown; charset=utf-8",
            "md",
        ),
        "json" => (
            serde_json::to_string_pretty(&s.gateway.export_json(&key)?)
                .map_err(|_| ApiError::Internal)?,
            "application/json",
            "json",
        ),
        _ => return Err(ApiError::BadRequest("format must be md or json".to_owned())),
    };
    let disposition = format!("attachment; filename=\"session-{key}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/v1/sessions/import`: a JSON export as the body → `201` with the new session.
pub async fn import(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Thousands of appends: off the async workers.
    let gateway = s.gateway.clone();
    let session = tokio::task::spawn_blocking(move || gateway.import(&body))
        .await
        .map_err(|_| ApiError::Internal)??;
    Ok((StatusCode::CREATED, Json(session)).into_response())
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
