//! Full-text search over transcripts: an SQLite FTS5 table (`search`, migration 7) kept in step
//! with the event log in the same transaction as every append, and the ranked query.
//!
//! One row per transcript entry a person can find, whose rowid is the entry's own event's rowid
//! (so a session's rows are found through `events` when it is deleted): a user message, a
//! visible reply, a background request, model prose (private), and a tool card's command with
//! its output once it finished. An event that completes an entry (`text_done`, `tool_finished`)
//! rewrites that entry's row. A search term is always taken as words, never as FTS5 syntax, so
//! no input is an error. Snippets come back as plain segments (matched or not); marking them up
//! is each client's, at its own escaping point.
//!
//! Part of the store: it knows which record kinds hold findable text and nothing else of them.

use app::wire::{SearchHit, SessionKey, Snip};
use rusqlite::{params, Connection, OptionalExtension};

use super::record::RecordBody;
use super::{seq_from_sql, sql_limit, Store, StoreError};
use app::wire::Seq;

/// What FTS5's `snippet()` puts around a match; private-use characters, which indexed text never
/// holds (they are taken out on the way in), so a message cannot forge a highlight.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
/// Words of context a snippet shows.
const SNIPPET_TOKENS: i32 = 16;

/// How an event changes the index.
enum Change<'a> {
    /// A new entry: its text.
    New(&'a str),
    /// The text of the entry at `target`, now complete.
    Replace { target: Seq, text: &'a str },
    /// More of the entry at `target` (a tool's output after its command).
    Append { target: Seq, text: &'a str },
}

fn change_of(body: &RecordBody) -> Option<Change<'_>> {
    Some(match body {
        RecordBody::UserMessage { text, .. }
        | RecordBody::AssistantMessage { text, .. }
        | RecordBody::ModelText { text, .. } => Change::New(text),
        RecordBody::BackgroundRequest { prompt, .. } => Change::New(prompt),
        RecordBody::ToolStarted { command, .. } => Change::New(command),
        RecordBody::TextDone { target, text } => Change::Replace {
            target: *target,
            text,
        },
        RecordBody::ToolFinished { target, output, .. } => Change::Append {
            target: *target,
            text: output,
        },
        _ => return None,
    })
}

/// Indexed text never holds the snippet markers.
fn clean(text: &str) -> String {
    text.replace([OPEN, CLOSE], "\u{FFFD}")
}

/// Keeps the index in step with one appended event (`rowid` in `events`), inside the append's
/// transaction.
pub(super) fn index(
    conn: &Connection,
    session: &SessionKey,
    seq: i64,
    rowid: i64,
    private: bool,
    body: &RecordBody,
) -> Result<(), StoreError> {
    let Some(change) = change_of(body) else {
        return Ok(());
    };
    let (entry_rowid, entry_seq, text) = match change {
        Change::New(text) => (rowid, seq, clean(text)),
        Change::Replace { target, text } => replace(conn, session, target, text, false)?,
        Change::Append { target, text } => replace(conn, session, target, text, true)?,
    };
    // Rowid 0: the entry is not stored (a hand-edited log); nothing to find.
    if text.trim().is_empty() || entry_rowid == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO search (rowid, text, session_key, seq, private) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        entry_rowid,
        text,
        session.as_str(),
        entry_seq,
        private
    ])?;
    Ok(())
}

/// Takes out the row of the entry at `target` and returns what to write instead: `text`, after
/// the row's own text when `append`. An entry that is not stored has no row: `text` alone.
fn replace(
    conn: &Connection,
    session: &SessionKey,
    target: Seq,
    text: &str,
    append: bool,
) -> Result<(i64, i64, String), StoreError> {
    let target_seq = super::seq_to_sql(target);
    let entry_rowid = conn
        .prepare_cached("SELECT rowid FROM events WHERE session_key = ?1 AND seq = ?2")?
        .query_row(params![session.as_str(), target_seq], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .unwrap_or(0);
    let before: Option<String> = conn
        .prepare_cached("SELECT text FROM search WHERE rowid = ?1")?
        .query_row(params![entry_rowid], |r| r.get(0))
        .optional()?;
    conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute(params![entry_rowid])?;
    let text = match before.filter(|_| append) {
        Some(before) => format!("{before}\n{}", clean(text)),
        None => clean(text),
    };
    Ok((entry_rowid, target_seq, text))
}

/// Indexes every event already stored (the migration that adds the index, once).
pub(super) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT rowid, session_key, seq, private, format, payload FROM events
         ORDER BY session_key, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut indexed = 0u64;
    while let Some(row) = rows.next()? {
        let (rowid, key, seq, private): (i64, String, i64, bool) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let Ok(body) = super::record::decode(row.get(4)?, &row.get::<_, String>(5)?) else {
            continue;
        };
        let Ok(key) = SessionKey::parse(&key) else {
            continue;
        };
        index(conn, &key, seq, rowid, private, &body)?;
        indexed += 1;
    }
    tracing::info!(indexed, "indexed the stored transcripts for search");
    Ok(())
}

/// A person's words as an FTS5 query that means just those words: each one quoted (a quote
/// inside doubled), all of them required, the last one also as a prefix (so results follow
/// typing). `None` when there is no word to look for.
pub fn fts_query(terms: &str) -> Option<String> {
    let words: Vec<String> = terms
        .split_whitespace()
        .map(|w| w.replace([OPEN, CLOSE], ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

/// A snippet as `snippet()` wrote it, cut at its markers into plain and matched pieces.
pub fn snips(marked: &str) -> Vec<Snip> {
    let mut out = Vec::new();
    let mut hit = false;
    let mut text = String::new();
    for c in marked.chars() {
        if c == OPEN || c == CLOSE {
            if !text.is_empty() {
                out.push(Snip {
                    text: std::mem::take(&mut text),
                    hit,
                });
            }
            hit = c == OPEN;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        out.push(Snip { text, hit });
    }
    out
}

impl Store {
    /// The entries matching `terms` across every session, best first (FTS5's rank, then the
    /// newest), at most `limit`; private entries only when `internals`. Archived sessions are
    /// searched too (they are kept to be found).
    pub fn search(
        &self,
        terms: &str,
        internals: bool,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = fts_query(terms) else {
            return Ok(Vec::new());
        };
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT f.session_key, f.seq, s.title,
                    snippet(search, 0, ?3, ?4, '…', ?5)
             FROM search f JOIN sessions s ON s.key = f.session_key
             WHERE search MATCH ?1 AND (?2 OR f.private = 0)
             ORDER BY rank, f.rowid DESC
             LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                query,
                internals,
                OPEN.to_string(),
                CLOSE.to_string(),
                SNIPPET_TOKENS,
                sql_limit(limit)
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )?;
        let mut hits = Vec::new();
        for row in rows {
            let (key, seq, title, snippet) = row?;
            let Ok(session) = SessionKey::parse(&key) else {
                continue;
            };
            hits.push(SearchHit {
                session,
                title,
                seq: Seq(seq_from_sql(seq)?),
                snippet: snips(&snippet),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_words_never_fts_syntax() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("hello").unwrap(), "\"hello\"*");
        assert_eq!(
            fts_query("a \"b\" OR c* NEAR(").unwrap(),
            "\"a\" \"\"\"b\"\"\" \"OR\" \"c*\" \"NEAR(\"*"
        );
    }

    #[test]
    fn snippets_split_at_the_markers_only() {
        let marked = format!("say {OPEN}hello{CLOSE} <b>world</b>");
        assert_eq!(
            snips(&marked),
            vec![
                Snip {
                    text: "say ".into(),
                    hit: false
                },
                Snip {
                    text: "hello".into(),
                    hit: true
                },
                Snip {
                    text: " <b>world</b>".into(),
                    hit: false
                },
            ]
        );
        assert_eq!(clean("a\u{E000}b\u{E001}"), "a\u{FFFD}b\u{FFFD}");
    }
}
