//! The routes that open a thread from Codex's home in a new session: `GET /api/v1/codex-threads`
//! and `POST /api/v1/codex-threads/{id}/open` (JSON), and `GET /codex-threads` with its forms
//! (`POST /codex-threads/{id}`), a plain server-rendered page that needs no script at all.
//!
//! The page is built here as a string: every piece of text (titles and folders are untrusted)
//! goes through [`escape`], the one step for this path; ids are checked UUIDs and keys checked
//! identifiers. The gateway decides everything; this only translates HTTP.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use leptos::config::LeptosOptions;

use super::error::{ApiError, Exposed};
use super::AppState;
use app::text::escape_html as escape;
use app::wire::{CodexThread, SessionSummary};

/// `GET /api/v1/codex-threads`: threads in Codex's home that worked in a configured workspace.
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<CodexThread>>, ApiError> {
    Ok(Json(s.gateway.codex_threads().await?))
}

/// `POST /api/v1/codex-threads/{id}/open`: the session on that thread (new, or the one it is
/// open in already).
pub async fn open(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionSummary>, ApiError> {
    Ok(Json(s.gateway.open_codex_thread(&id).await?))
}

/// `GET /codex-threads`: the page listing them, each with an open button.
pub async fn page(State(s): State<AppState>) -> Response {
    let listed = s.gateway.codex_threads().await.map_err(ApiError::from);
    render(&s.leptos, listed)
}

/// `POST /codex-threads/{id}` (the page's form): opens it and goes to its session, or shows the
/// page again with what went wrong.
pub async fn open_form(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    match s.gateway.open_codex_thread(&id).await {
        Ok(session) => Redirect::to(&format!("/sessions/{}", session.key)).into_response(),
        Err(e) => render(&s.leptos, Err(ApiError::from(e))),
    }
}

fn render(options: &LeptosOptions, listed: Result<Vec<CodexThread>, ApiError>) -> Response {
    match listed {
        Ok(threads) => Html(page_html(options, &threads, None)).into_response(),
        Err(e) => {
            let Exposed {
                status,
                message,
                detail,
            } = e.exposed();
            let mut response =
                (status, Html(page_html(options, &[], Some(&message)))).into_response();
            if let Some(detail) = detail {
                // Logged once by the error middleware, as for every route.
                response.extensions_mut().insert(detail);
            }
            if status == StatusCode::OK {
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            }
            response
        }
    }
}

/// `ms` since the epoch as a UTC date and time (`2026-12-03 01:45 UTC`).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The whole page: the threads, or `error` when they could not be listed or opened.
pub fn page_html(options: &LeptosOptions, threads: &[CodexThread], error: Option<&str>) -> String {
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    let mut items = String::new();
    for t in threads {
        let action = match &t.session {
            Some(key) => format!(
                r#"<a class="button" href="/sessions/{key}" rel="external">Go to its session</a>"#
            ),
            None => format!(
                r#"<form method="post" action="/codex-threads/{id}"><button class="primary" type="submit">Open</button></form>"#,
                id = escape(&t.id)
            ),
        };
        items.push_str(&format!(
            r#"<li data-testid="codex-thread" data-thread-id="{id}"><div class="thread-text"><div class="thread-title">{title}</div><div class="muted">{workspace} · {cwd} · updated {updated}</div></div>{action}</li>"#,
            id = escape(&t.id),
            title = escape(&t.title),
            workspace = escape(&t.workspace),
            cwd = escape(&t.cwd),
            updated = utc(t.updated_ms),
        ));
    }
    let body = match error {
        Some(message) => format!(
            r#"<p class="notice" role="alert" data-testid="codex-thread-error">{}</p>"#,
            escape(message)
        ),
        None if threads.is_empty() => r#"<p class="muted" data-testid="no-codex-threads">No Codex threads worked in a configured workspace.</p>"#.to_owned(),
        None => format!(r#"<ul class="threads" data-testid="codex-thread-list">{items}</ul>"#),
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><meta name="referrer" content="same-origin"><title>Open a Codex thread · Codex WebChat</title><link rel="stylesheet" href="{css}"><link rel="icon" type="image/svg+xml" href="/favicon.svg"></head><body><main class="threads-page"><p><a href="/" rel="external">← Back to the chat</a></p><h1>Open a Codex thread</h1><p class="muted">Threads in Codex's own home (<code>CODEX_HOME</code>) that worked in one of the configured workspaces, most recent first. Opening one makes a session that shows its earlier turns and continues the thread.</p>{body}</main></body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_262_300_000), "2026-12-03 01:45 UTC");
    }

    #[test]
    fn untrusted_titles_and_folders_are_text() {
        let t = CodexThread {
            id: "019a0000-0000-7000-8000-000000000000".into(),
            title: "<img src=x onerror=alert(1)>".into(),
            workspace: "main".into(),
            cwd: "/w/\"><script>".into(),
            created_ms: 0,
            updated_ms: 0,
            session: None,
        };
        let html = page_html(
            &LeptosOptions::builder().output_name("webchat").build(),
            &[t],
            None,
        );
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains("\"><script>"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        let html = page_html(
            &LeptosOptions::builder().output_name("webchat").build(),
            &[],
            Some("<b>bad</b>"),
        );
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt;"), "{html}");
    }
}
