//! The escaping points for terminals and logs: text we do not control (chat messages, model
//! output, tool and shell output, file names, session titles, webhook responses) never becomes a
//! control sequence on a terminal or a forged line in a log.
//!
//! - `terminal`: [`terminal::sanitize`] and [`terminal::sanitize_line`], for everything the
//!   terminal client prints that did not come from the client itself.
//! - `log`: [`log::LogWriter`], the writer every log line goes through on its way to stderr.
//! - HTML built as a string (search results) is escaped by `app::text::escape_html`, shared
//!   with the browser's one string-built fragment.
//!
//! `terminal` and `log` must never be used for HTML, which has escaping points of its own: Leptos views escape the
//! text they render, `markdown.rs` sanitises rendered Markdown with ammonia, and the page title
//! is escaped by its formatter (`title_for_page` in `app/src/ui/shell.rs`). Terminal sanitising
//! would leave `<` and `&` alone, and HTML escaping would leave ESC alone.

pub mod log;
pub mod terminal;
