//! The page-data server function and the seam through which the server supplies it.
//!
//! The server function is how the first render's data reaches hydration: the chat page's
//! resource calls it on the server, and Leptos serialises the result into the page, so the
//! browser starts from exactly what the server rendered. The browser never calls it: every
//! navigation is a full page load, so the data is always in the document ([`load_page`]), and
//! leaving the server-function client out of the wasm keeps it inside its budget. The endpoint
//! stays on the server all the same. The implementation behind it lives in the server crate
//! ([`PageSource`]); this crate only defines the seam, so the UI never depends on the store or
//! the gateway.
//!
//! Failures stay typed on the way: the seam's [`PageError`] becomes a [`PageLoadError`], which
//! reaches the page as the same variant whether the server rendered it or the browser hydrated
//! it, so the page decides on the variant and never on an error's text.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;

use crate::wire::{Event, PageData, PageLoadError};

/// The cookie that remembers the `show-internals` toggle, so a reload renders the same view on the
/// server as the browser had.
pub const SHOW_INTERNALS_COOKIE: &str = "cw_internals";

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use crate::wire::{PageData, PageLoadError, SessionKey};

    /// Why a page source could not produce a page (the key was already checked).
    #[derive(Debug, thiserror::Error)]
    pub enum PageError {
        #[error("unknown session")]
        UnknownSession,
        #[error("the server could not read the session")]
        Internal,
    }

    impl From<PageError> for PageLoadError {
        fn from(e: PageError) -> Self {
            match e {
                PageError::UnknownSession => PageLoadError::UnknownSession,
                PageError::Internal => PageLoadError::Internal,
            }
        }
    }

    /// Supplies page data to the server function; implemented by the server crate.
    pub trait PageSource: Send + Sync + 'static {
        /// `window`: how many of the most recent events to show (see
        /// [`crate::wire::HISTORY_WINDOW`]).
        /// `at`: an entry the page must hold (a search result's), marked as highlighted.
        fn page(
            &self,
            session: &SessionKey,
            show_internals: bool,
            window: u64,
            at: Option<crate::wire::Seq>,
        ) -> Result<PageData, PageError>;
    }

    pub type SharedPageSource = Arc<dyn PageSource>;
}

/// The page error travels as JSON, so a client of the endpoint gets the same variant the server
/// chose.
impl FromServerFnError for PageLoadError {
    type Encoder = JsonEncoding;

    /// Failures of the server-function machinery itself (the request never arrived, a body did
    /// not decode). A server-side failure's own text is kept as is; the others say what failed.
    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            ServerFnErrorErr::ServerError(msg) => PageLoadError::Request(msg),
            other => PageLoadError::Request(other.to_string()),
        }
    }
}

/// Loads everything the chat page shows for `session`: its most recent `window` events (default
/// [`crate::wire::HISTORY_WINDOW`]).
#[server(endpoint = "page")]
pub async fn get_page(
    session: String,
    window: Option<u64>,
    at: Option<u64>,
) -> Result<PageData, PageLoadError> {
    use crate::wire::SessionKey;

    let key = SessionKey::parse(&session).map_err(|e| PageLoadError::BadKey(e.to_string()))?;
    // Always provided by the server's router; a page without it is a wiring bug, not a client's.
    let source = use_context::<SharedPageSource>().ok_or(PageLoadError::Internal)?;
    let headers: http::HeaderMap = leptos_axum::extract()
        .await
        .map_err(PageLoadError::from_server_fn_error)?;
    let show_internals = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim() == format!("{SHOW_INTERNALS_COOKIE}=1"));
    let window = window
        .unwrap_or(crate::wire::HISTORY_WINDOW)
        .clamp(1, crate::wire::MAX_HISTORY_WINDOW);
    Ok(source.page(&key, show_internals, window, at.map(crate::wire::Seq))?)
}

/// What the chat page's resource holds: the page data, or why there is none, and the page's
/// history.
///
/// A type of its own so the resource can use a string codec of its own ([`std::fmt::Display`] on
/// the server, [`std::str::FromStr`] in the browser) instead of Leptos' serde one: the text in
/// the page is the same JSON `serde_json` writes, and the browser reads it with [`crate::json`].
/// The history ([`crate::history::split`]: the events before the page's live part, which the
/// server renders once as HTML) is not part of that text, so it reaches the browser once, as
/// HTML, and the browser's `history` is always empty.
#[derive(Clone, Debug, PartialEq)]
pub struct PageResult {
    pub page: Result<PageData, PageLoadError>,
    pub history: Vec<Event>,
}

impl std::fmt::Display for PageResult {
    /// Only the server serialises a page (into the document, for hydration); the browser build
    /// never calls this, so serde_json's writer for these types is not in the wasm.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(&self.page).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

impl std::str::FromStr for PageResult {
    type Err = crate::json::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::json::from_str(text).map(|page| PageResult {
            page,
            history: Vec::new(),
        })
    }
}

/// Loads the chat page's data: on the server through [`get_page`], its history split off. In
/// the browser the resource starts from the data serialised into the document and never asks
/// again (its key only changes with the URL, and every navigation loads a new document), so this
/// is not reached; were it ever, the page would say so rather than carry the server-function
/// client.
pub async fn load_page(session: String, window: Option<u64>, at: Option<u64>) -> PageResult {
    #[cfg(feature = "ssr")]
    {
        let mut page = get_page(session, window, at).await;
        // What no later event changes is rendered once, as HTML, and not serialised again.
        let history = page.as_mut().map(crate::history::split).unwrap_or_default();
        PageResult { page, history }
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (session, window, at);
        PageResult {
            page: Err(PageLoadError::Request(
                "the page data is missing from the document; reload the page".to_owned(),
            )),
            history: Vec::new(),
        }
    }
}
