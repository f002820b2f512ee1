//! The HTTP status of a server-rendered page (server only).
//!
//! Pages that say "not found" must also answer 404, whichever view decides it: the router's
//! fallback (`shell`) or a chat route whose session does not exist (`chat`). It lives apart from
//! both so neither view module imports the other for it. It only sets the status; it renders
//! nothing.

use leptos::prelude::use_context;

/// Marks the server response as 404, for pages that say "not found".
pub(super) fn set_not_found() {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
