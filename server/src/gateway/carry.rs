//! Taking a conversation elsewhere and bringing one back: export as Markdown (what a person sees,
//! tool cards as fenced blocks) or JSON (the stored events, versioned), and import of such a
//! JSON into a new session.
//!
//! An import is untrusted input: it is parsed into the store's own record types (anything else
//! is refused with where it went wrong), its references between events are checked and
//! renumbered, its text stays text (assistant HTML is rendered from Markdown on the way out, as
//! for every reply), and what it left open is closed (a run without an end is marked
//! interrupted, an approval without one expired), so nothing imported ever waits or runs.

use std::collections::HashMap;

use app::transcript::{EntryKind, Transcript};
use app::wire::{ApprovalState, RunOutcome, Seq, SessionKey, SessionSummary};
use serde::{Deserialize, Serialize};

use super::{now_ms, present, Gateway, GatewayError, UNTITLED};
use crate::ids::RunId;
use crate::store::{Record, RecordBody, StoreError};

/// What an exported JSON says it is.
pub const EXPORT_FORMAT: &str = "codex-webchat-session";
/// The export's version; an import refuses any other.
pub const EXPORT_VERSION: u32 = 1;
/// Most events an import takes.
pub const MAX_IMPORT_EVENTS: usize = 200_000;

/// The JSON export: the session's settings and its events as stored (format 1 bodies).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exported {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub exported_ms: i64,
    pub session: ExportedSession,
    pub events: Vec<ExportedEvent>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedSession {
    pub title: String,
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedEvent {
    pub seq: u64,
    pub at_ms: i64,
    #[serde(default)]
    pub private: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub body: RecordBody,
}

fn known(e: StoreError) -> GatewayError {
    match e {
        StoreError::UnknownSession(_) => GatewayError::UnknownSession,
        other => other.into(),
    }
}

/// A fence for `text`: longer than any run of backticks in it.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// `text` as a Markdown block quote.
fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript as a person sees it (no internals), as Markdown.
pub fn markdown(title: &str, transcript: &Transcript) -> String {
    let mut out = format!("# {}\n", title.trim());
    for entry in transcript.entries().iter().filter(|e| !e.private) {
        out.push('\n');
        match entry.kind {
            EntryKind::User => {
                out.push_str(&format!("## You\n\n{}\n", entry.text));
                for image in &entry.images {
                    out.push_str(&format!("\n[image: {}]\n", image.name));
                }
            }
            EntryKind::Assistant => out.push_str(&format!("## Codex\n\n{}\n", entry.text)),
            EntryKind::Tool => {
                let body = match (&entry.tool, &entry.delivery) {
                    (Some(tool), _) => {
                        let mut body = format!("$ {}", tool.command);
                        if !tool.output.is_empty() {
                            body.push('\n');
                            body.push_str(tool.output.trim_end());
                        }
                        format!("{} ({})\n\n{}", tool.tool, tool.status.as_str(), {
                            let f = fence(&body);
                            format!("{f}text\n{body}\n{f}")
                        })
                    }
                    (None, Some(d)) => format!(
                        "delivery to {}:{} ({})\n\n{}",
                        d.channel,
                        d.target,
                        d.status.as_str(),
                        quote(&d.detail)
                    ),
                    (None, None) => entry.text.clone(),
                };
                out.push_str(&format!("**Tool:** {body}\n"));
            }
            EntryKind::Approval | EntryKind::Notice => {
                out.push_str(&quote(&entry.text));
                out.push('\n');
            }
        }
    }
    out
}

impl Gateway {
    fn all_records(&self, key: &SessionKey, internals: bool) -> Result<Vec<Record>, GatewayError> {
        self.inner
            .store
            .events_after(key, Seq::ZERO, usize::MAX, internals)
            .map_err(known)
    }

    /// The session as Markdown: what a person sees, internals left out.
    pub fn export_markdown(&self, key: &SessionKey) -> Result<String, GatewayError> {
        let session = self.session(key)?;
        // Every event, so the projection sees no gap; private entries are left out below.
        let mut transcript = Transcript::default();
        for record in self.all_records(key, true)? {
            transcript.apply(&present(record));
        }
        Ok(markdown(&session.title, &transcript))
    }

    /// The session as JSON: every stored event, internals included, versioned.
    pub fn export_json(&self, key: &SessionKey) -> Result<Exported, GatewayError> {
        let session = self.session(key)?;
        let events = self
            .all_records(key, true)?
            .into_iter()
            .map(|r| ExportedEvent {
                seq: r.seq.0,
                at_ms: r.at_ms,
                private: r.private,
                run: r.run.map(|r| r.as_str().to_owned()),
                body: r.body,
            })
            .collect();
        Ok(Exported {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            exported_ms: now_ms(),
            session: ExportedSession {
                title: session.title,
                key: Some(key.to_string()),
            },
            events,
        })
    }

    /// A new session holding an exported JSON's events (in the default workspace), or why the
    /// file cannot be one.
    pub fn import(&self, json: &[u8]) -> Result<SessionSummary, GatewayError> {
        let bad =
            |why: String| GatewayError::BadInput(format!("This file cannot be imported: {why}"));
        let doc: Exported = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        if doc.format != EXPORT_FORMAT || doc.version != EXPORT_VERSION {
            return Err(bad(format!(
                "it is not a codex-webchat session export of version {EXPORT_VERSION}"
            )));
        }
        if doc.events.len() > MAX_IMPORT_EVENTS {
            return Err(bad(format!("it has more than {MAX_IMPORT_EVENTS} events")));
        }
        let bodies = renumbered(doc.events).map_err(bad)?;
        let title = super::check_title(&format!("Imported: {}", doc.session.title))
            .or_else(|_| super::check_title("Imported session"))?;
        let session = self.create_session()?;
        let key = session.key;
        let mut open_runs: Vec<RunId> = Vec::new();
        let mut open_approvals: Vec<Seq> = Vec::new();
        for (private, run, body) in bodies {
            match &body {
                RecordBody::RunStarted { run_id, .. } => open_runs.push(run_id.clone()),
                RecordBody::RunFinished { run_id, .. } => open_runs.retain(|r| r != run_id),
                RecordBody::ApprovalEnded { target, .. } => open_approvals.retain(|s| s != target),
                _ => {}
            }
            let appended = self.emit(&key, run.as_ref(), private, body, None)?;
            if let RecordBody::ApprovalRequested { .. } = appended.event().body {
                open_approvals.push(appended.event().seq);
            }
        }
        // Nothing imported may wait for a person or look as if it still ran.
        for target in open_approvals {
            self.emit(
                &key,
                None,
                false,
                RecordBody::ApprovalEnded {
                    target,
                    state: ApprovalState::Expired,
                    answer: None,
                },
                None,
            )?;
        }
        for run_id in open_runs {
            self.emit(
                &key,
                Some(&run_id),
                false,
                RecordBody::RunFinished {
                    run_id: run_id.clone(),
                    outcome: RunOutcome::Interrupted,
                    error: None,
                },
                None,
            )?;
        }
        if title != UNTITLED {
            self.inner.store.set_title(&key, &title, now_ms())?;
        }
        tracing::info!(session = %key, "session imported");
        self.publish_session_list();
        self.session(&key)
    }
}

/// The events with their references to one another renumbered for a new session (whose first
/// event will be 1), in order; or which event is wrong.
type Imported = (bool, Option<RunId>, RecordBody);

fn renumbered(events: Vec<ExportedEvent>) -> Result<Vec<Imported>, String> {
    let mut new_of: HashMap<u64, Seq> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    let mut last = 0;
    for (i, event) in events.into_iter().enumerate() {
        if event.seq <= last {
            return Err(format!("event {} is out of order", event.seq));
        }
        last = event.seq;
        let new = Seq(i as u64 + 1);
        let map = |old: Seq| -> Result<Seq, String> {
            new_of.get(&old.0).copied().ok_or_else(|| {
                format!(
                    "event {} refers to event {}, which is not before it in the file",
                    event.seq, old.0
                )
            })
        };
        let mut body = event.body;
        match &mut body {
            RecordBody::TextAppend { target, .. }
            | RecordBody::TextDone { target, .. }
            | RecordBody::ToolUpdated { target, .. }
            | RecordBody::ToolFinished { target, .. }
            | RecordBody::ApprovalEnded { target, .. } => *target = map(*target)?,
            RecordBody::RunStarted {
                for_seq: Some(seq), ..
            }
            | RecordBody::Delivery {
                updates: Some(seq), ..
            } => *seq = map(*seq)?,
            // Images are not part of an export; their references would lead nowhere.
            RecordBody::UserMessage { images, .. } => images.clear(),
            _ => {}
        }
        new_of.insert(event.seq, new);
        out.push((event.private, event.run.map(RunId::from), body));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }

    #[test]
    fn references_are_renumbered_and_dangling_ones_refused() {
        let event = |seq: u64, body: RecordBody| ExportedEvent {
            seq,
            at_ms: 1,
            private: false,
            run: None,
            body,
        };
        let started = RecordBody::ToolStarted {
            call_id: crate::ids::CallId::from("c"),
            tool: "shell".into(),
            command: "ls".into(),
            relay: app::wire::RelayDecision::None,
            detail: None,
        };
        let finished = |target: u64| RecordBody::ToolFinished {
            target: Seq(target),
            status: app::wire::ToolStatus::Completed,
            output: "x".into(),
            exit_code: None,
        };
        let out = renumbered(vec![event(7, started.clone()), event(9, finished(7))]).unwrap();
        assert!(matches!(
            out[1].2,
            RecordBody::ToolFinished { target: Seq(1), .. }
        ));
        let dangling = renumbered(vec![event(7, started.clone()), event(9, finished(8))]);
        assert!(dangling.unwrap_err().contains("refers to event 8"));
        let backwards = renumbered(vec![event(7, started), event(7, finished(7))]);
        assert!(backwards.unwrap_err().contains("out of order"));
    }
}
