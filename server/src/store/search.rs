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
        Change::New(text) => (rowid, seq, text.to_owned()),
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
        Some(before) => format!("{before}\n{text}"),
        None => text.to_owned(),
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

/// How many of the newest matches are ranked. FTS5 ranks every match of a query (a common word
/// in a big store is tens of thousands, ~50 ms); the newest few thousand hold what a person
/// looks for in a chat history, and rank in a few milliseconds.
const CANDIDATES: usize = 2_000;
/// Words of context a snippet shows around its first match.
const SNIPPET_WORDS: usize = 16;

/// Whether `word` (lower case) is one a person searched for: equal to a term, or begun by one
/// (the last term matches as a prefix; the others are marked the same way, which at worst marks
/// a little more than FTS5 matched).
fn is_hit(word: &str, terms: &[String]) -> bool {
    let word = word.to_lowercase();
    terms.iter().any(|t| word.starts_with(t.as_str()))
}

/// The words around the first match in `text`, in plain and matched pieces: FTS5's `snippet()`
/// is slow for a given row of a prefix query, and the words are all we need.
pub fn snippet_of(text: &str, terms: &[String]) -> Vec<Snip> {
    // Word spans (byte ranges) of letters and digits.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    let first = words
        .iter()
        .position(|&(s, e)| is_hit(&text[s..e], terms))
        .unwrap_or(0);
    let from = first.saturating_sub(SNIPPET_WORDS / 3);
    let to = (from + SNIPPET_WORDS).min(words.len());
    let Some(&(begin, _)) = words.get(from) else {
        return vec![Snip {
            text: text.chars().take(80).collect(),
            hit: false,
        }];
    };
    let mut out = Vec::new();
    let mut plain = String::new();
    if from > 0 {
        plain.push('…');
    }
    let mut at = begin;
    for &(s, e) in &words[from..to] {
        plain.push_str(&text[at..s]);
        let word = &text[s..e];
        if is_hit(word, terms) {
            if !plain.is_empty() {
                out.push(Snip {
                    text: std::mem::take(&mut plain),
                    hit: false,
                });
            }
            out.push(Snip {
                text: word.to_owned(),
                hit: true,
            });
        } else {
            plain.push_str(word);
        }
        at = e;
    }
    if to < words.len() {
        plain.push('…');
    }
    if !plain.is_empty() {
        out.push(Snip {
            text: plain,
            hit: false,
        });
    }
    // One line: a snippet is read in a list.
    for snip in &mut out {
        if snip.text.contains(['\n', '\r']) {
            snip.text = snip.text.replace(['\n', '\r'], " ");
        }
    }
    out
}

impl Store {
    /// The entries matching `terms` across every session, best first (FTS5's rank among the
    /// newest [`CANDIDATES`] matches, then the newest), at most `limit`; private entries only
    /// when `internals`. Archived sessions are searched too (they are kept to be found).
    pub fn search(
        &self,
        terms: &str,
        internals: bool,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = fts_query(terms) else {
            return Ok(Vec::new());
        };
        let words: Vec<String> = terms
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect();
        let conn = self.lock();
        let mut candidates: Vec<(i64, f64)> = conn
            .prepare_cached(
                "SELECT rowid, bm25(search) FROM search
                 WHERE search MATCH ?1 AND (?2 OR private = 0)
                 ORDER BY rowid DESC LIMIT ?3",
            )?
            .query_map(params![query, internals, sql_limit(CANDIDATES)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        // bm25 is lower for better matches; ties go to the newest.
        candidates.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        candidates.truncate(limit);
        let mut row = conn.prepare_cached(
            "SELECT f.session_key, f.seq, f.text, s.title
             FROM search f JOIN sessions s ON s.key = f.session_key WHERE f.rowid = ?1",
        )?;
        let mut hits = Vec::with_capacity(candidates.len());
        for (rowid, _) in candidates {
            let found = row
                .query_row(params![rowid], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .optional()?;
            let Some((key, seq, text, title)) = found else {
                continue;
            };
            let Ok(session) = SessionKey::parse(&key) else {
                continue;
            };
            hits.push(SearchHit {
                session,
                title,
                seq: Seq(seq_from_sql(seq)?),
                snippet: snippet_of(&text, &words),
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
    fn a_snippet_is_the_words_around_the_first_match_with_the_matches_marked() {
        let terms = vec!["kettle".to_owned()];
        let text = "one two three four five six seven eight nine ten eleven twelve the Kettle\nis <b>hot</b> and the kettle sings";
        let snip = snippet_of(text, &terms);
        let shown: String = snip
            .iter()
            .map(|s| {
                if s.hit {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect();
        assert_eq!(
            shown,
            "…nine ten eleven twelve the [Kettle] is <b>hot</b> and the [kettle] sings"
        );
        // Markup in the text is text: clients escape it where they show it.
        assert!(snip.iter().any(|s| s.text.contains("<b>")));
        // No words at all: the text's start, plain.
        assert_eq!(
            snippet_of("!!!", &terms),
            vec![Snip {
                text: "!!!".into(),
                hit: false
            }]
        );
    }
}
