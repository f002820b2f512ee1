//! `GET /sessions?page=N`: every session, newest first, a page at a time, as a plain
//! server-rendered page that needs no script. The chat page's sidebar lists only the newest
//! [`SIDEBAR_SESSIONS`](crate::gateway::SIDEBAR_SESSIONS) (a year of use must not make every
//! page heavier); this page and the search reach the rest.
//!
//! The page is built here as a string: every title (untrusted) goes through [`escape`], the one
//! step for this path; keys are checked identifiers. The gateway reads the list; this only
//! translates HTTP.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use leptos::config::LeptosOptions;
use serde::Deserialize;

use super::codex_threads::utc;
use super::error::ApiError;
use super::AppState;
use app::text::{display_title, escape_html as escape};
use app::wire::SessionSummary;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// 0 (the default) is the newest page.
    #[serde(default)]
    page: usize,
}

/// `GET /sessions`.
pub async fn page(
    State(s): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let (sessions, more) = s.gateway.sessions_page(q.page)?;
    Ok(Html(page_html(&s.leptos, &sessions, q.page, more)).into_response())
}

/// The whole page: page `page` of the sessions, with links to the newer and older pages.
pub fn page_html(
    options: &LeptosOptions,
    sessions: &[SessionSummary],
    page: usize,
    more: bool,
) -> String {
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    let mut items = String::new();
    for s in sessions {
        let archived = if s.archived {
            r#" <span class="muted">(archived)</span>"#
        } else {
            ""
        };
        items.push_str(&format!(
            r#"<li data-testid="all-sessions-item"><a href="/sessions/{key}" rel="external">{title}</a>{archived} <span class="muted">updated {updated}</span></li>"#,
            key = escape(s.key.as_str()),
            title = escape(&display_title(&s.title)),
            updated = utc(s.updated_ms),
        ));
    }
    let body = if sessions.is_empty() {
        r#"<p class="muted" data-testid="no-sessions">No sessions here.</p>"#.to_owned()
    } else {
        format!(r#"<ul class="threads" data-testid="all-sessions-list">{items}</ul>"#)
    };
    let mut nav = String::new();
    if page > 0 {
        nav.push_str(&format!(
            r#"<a data-testid="newer-sessions" href="/sessions?page={}" rel="external">← Newer</a> "#,
            page - 1
        ));
    }
    if more {
        nav.push_str(&format!(
            r#"<a data-testid="older-sessions" href="/sessions?page={}" rel="external">Older →</a>"#,
            page + 1
        ));
    }
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="referrer" content="same-origin"><title>All sessions · Codex WebChat</title><link rel="stylesheet" href="{css}"><link rel="icon" type="image/svg+xml" href="/favicon.svg"></head><body><main class="threads-page"><p><a href="/" rel="external">← Back to the chat</a></p><h1>All sessions</h1><p class="muted">Every session, the most recently updated first (page {number}). The sidebar lists the newest {sidebar}; the search finds any session by what was said in it.</p>{body}<p class="pages">{nav}</p></main></body></html>"#,
        number = page + 1,
        sidebar = crate::gateway::SIDEBAR_SESSIONS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::SessionKey;

    fn summary(key: &str, title: &str, archived: bool) -> SessionSummary {
        SessionSummary {
            key: SessionKey::parse(key).unwrap(),
            title: title.to_owned(),
            updated_ms: 1,
            last_channel: None,
            mode: Default::default(),
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived,
        }
    }

    #[test]
    fn titles_are_text_and_the_pages_link_both_ways() {
        let options = LeptosOptions::builder().output_name("webchat").build();
        let list = [
            summary("a", "<img src=x onerror=alert(1)>", false),
            summary("b", "put away", true),
        ];
        let html = page_html(&options, &list, 1, true);
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains(r#"href="/sessions/b""#) && html.contains("(archived)"));
        assert!(html.contains(r#"href="/sessions?page=0""#));
        assert!(html.contains(r#"href="/sessions?page=2""#));
        let first = page_html(&options, &list, 0, false);
        assert!(!first.contains("newer-sessions") && !first.contains("older-sessions"));
    }
}
