//! The page-data server function and the seam through which the server supplies it.
//!
//! The server function is how the first render's data reaches hydration: Leptos serialises its
//! result into the page, so the browser starts from exactly what the server rendered. The
//! implementation behind it lives in the server crate ([`PageSource`]); this crate only defines
//! the seam, so the UI never depends on the store or the gateway.

use leptos::prelude::*;

use crate::wire::PageData;

/// The cookie that remembers the `show-internals` toggle, so a reload renders the same view on the
/// server as the browser had.
pub const SHOW_INTERNALS_COOKIE: &str = "cw_internals";

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use crate::wire::{PageData, SessionKey};

    /// Why a page could not be produced. The message is safe to show.
    #[derive(Debug, thiserror::Error)]
    pub enum PageError {
        #[error("unknown session")]
        UnknownSession,
        #[error("the server could not read the session")]
        Internal,
    }

    /// Supplies page data to the server function; implemented by the server crate.
    pub trait PageSource: Send + Sync + 'static {
        /// `window`: how many of the most recent events to show (see
        /// [`crate::wire::HISTORY_WINDOW`]).
        fn page(
            &self,
            session: &SessionKey,
            show_internals: bool,
            window: u64,
        ) -> Result<PageData, PageError>;
    }

    pub type SharedPageSource = Arc<dyn PageSource>;
}

/// Loads everything the chat page shows for `session`: its most recent `window` events (default
/// [`crate::wire::HISTORY_WINDOW`]).
#[server(endpoint = "page")]
pub async fn get_page(session: String, window: Option<u64>) -> Result<PageData, ServerFnError> {
    use crate::wire::SessionKey;

    let key = SessionKey::parse(&session).map_err(|e| ServerFnError::new(e.to_string()))?;
    let source = use_context::<SharedPageSource>()
        .ok_or_else(|| ServerFnError::new("page source missing"))?;
    let headers: http::HeaderMap = leptos_axum::extract().await?;
    let show_internals = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim() == format!("{SHOW_INTERNALS_COOKIE}=1"));
    let window = window
        .unwrap_or(crate::wire::HISTORY_WINDOW)
        .clamp(1, crate::wire::MAX_HISTORY_WINDOW);
    source
        .page(&key, show_internals, window)
        .map_err(|e| ServerFnError::new(e.to_string()))
}
