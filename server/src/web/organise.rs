//! The routes that find and organise sessions: `GET /api/v1/search` and
//! `DELETE /api/v1/sessions/{key}` (renaming and archiving ride `PATCH`, in `mod.rs`). They only
//! translate HTTP; the gateway decides, and the images a deleted session alone used are removed
//! here because this edge owns the image folder.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::{parse_key, AppState};
use app::wire::SearchHit;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Private entries (model prose, reasoning) too, as with "show internals".
    #[serde(default)]
    internals: bool,
}

/// `GET /api/v1/search?q=…[&internals=true]`: matching entries across sessions, best first.
pub async fn search(
    State(s): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<SearchHit>>, ApiError> {
    Ok(Json(s.gateway.search(&query.q, query.internals)?))
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
