//! The store's own record of a transcript event: what is kept, in the format it is kept in.
//!
//! A record is the durable truth; what a client sees (`app::wire::Event`) is built from it by the
//! gateway's presentation step, which adds what only a reader needs (sanitised HTML for an
//! assistant reply, the text of an internal detail). Keeping the two apart lets the wire format
//! change for the browser's sake (its size, its shape) without rewriting stored history, and
//! keeps rendered output out of the database, so a stale rendering can never be replayed after
//! the sanitiser changes.
//!
//! Every row carries the format its payload was written in (`events.format`). Format 1 is the
//! JSON that every release so far has written (a `type` tag plus fields, snake_case), and it is
//! frozen: a change to what is stored adds a format and a decoder for it, never edits this one.
//! A row in a format this build does not know, or whose payload does not decode, reads back as a
//! placeholder notice (see `store`'s module documentation).
//!
//! This module must not know about rendering, runs or delivery rules; it only says what a record
//! is and how it is encoded.

use app::wire::{
    ApprovalKind, ApprovalState, DeliveryStatus, ImageRef, NoticeLevel, PlanStep, RelayDecision,
    RunOutcome, Seq, Source, ToolStatus,
};
use serde::{Deserialize, Serialize};

use crate::ids::{CallId, RunId};

/// The format new records are written in.
pub const RECORD_FORMAT: i64 = 1;

/// One file of a change as stored: the diff as Codex wrote it (for an added file, its content as
/// added lines). Classifying its lines is the presentation's job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDiff {
    pub path: String,
    /// `add`, `delete` or `update`.
    pub kind: String,
    pub diff: String,
}

/// What a tool card shows beyond its command line, as stored (see `app::wire::ToolDetail`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoredDetail {
    Files {
        files: Vec<StoredDiff>,
    },
    Plan {
        steps: Vec<PlanStep>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
    },
    Mcp {
        server: String,
        tool: String,
        arguments: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One stored transcript event.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub seq: Seq,
    /// Milliseconds since the Unix epoch, server clock.
    pub at_ms: i64,
    /// The run this event belongs to, if any.
    pub run: Option<RunId>,
    /// Shown only with "show internals" on.
    pub private: bool,
    pub body: RecordBody,
}

/// What happened, as stored. The variants and their fields are the transcript's vocabulary (see
/// `app::wire::EventBody` for what each means to a reader); the serde attributes ARE format 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordBody {
    UserMessage {
        text: String,
        client_id: String,
        #[serde(default, skip_serializing_if = "Source::is_webchat")]
        source: Source,
        #[serde(default, skip_serializing_if = "is_false")]
        steered: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<ImageRef>,
    },
    AssistantMessage {
        /// Markdown; the HTML is rendered on the way out, never stored.
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<CallId>,
    },
    ModelText {
        item_id: String,
        text: String,
    },
    TextAppend {
        target: Seq,
        delta: String,
    },
    TextDone {
        target: Seq,
        text: String,
    },
    ToolStarted {
        call_id: CallId,
        tool: String,
        command: String,
        relay: RelayDecision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<StoredDetail>,
    },
    ToolUpdated {
        target: Seq,
        detail: StoredDetail,
    },
    ToolFinished {
        target: Seq,
        status: ToolStatus,
        output: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    RunStarted {
        run_id: RunId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_seq: Option<Seq>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        background: Option<String>,
    },
    RunFinished {
        run_id: RunId,
        outcome: RunOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    BackgroundRequest {
        origin: String,
        prompt: String,
    },
    Notice {
        level: NoticeLevel,
        /// For people; no decision may read it.
        text: String,
        /// What the notice stands for when the gateway reads it back; absent in notices stored
        /// before the field existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        about: Option<NoticeAbout>,
    },
    Delivery {
        channel: String,
        target: String,
        status: DeliveryStatus,
        attempts: u32,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updates: Option<Seq>,
    },
    /// Codex reported an error it is retrying after (`error` with `willRetry`); private, and
    /// what the working indicator shows until the run moves on.
    Retrying {
        /// Codex's own words; untrusted text.
        message: String,
        /// How many retries this turn has reported so far, this one included.
        attempt: u32,
    },
    Internal {
        label: String,
        /// Raw detail (tool results, protocol traffic), as JSON. Its text for a reader is
        /// rendered on the way out.
        detail: serde_json::Value,
    },
    ApprovalRequested {
        kind: ApprovalKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_id: Option<String>,
        subject: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<StoredDiff>,
        #[serde(default)]
        for_session: bool,
    },
    ApprovalEnded {
        target: Seq,
        state: ApprovalState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer: Option<String>,
    },
}

impl RecordBody {
    /// The `kind` column: the variant's name, as format 1's `type` tag spells it. Queries select
    /// by it (a page starts at a `user_message` or `background_request`).
    pub fn kind(&self) -> &'static str {
        match self {
            RecordBody::UserMessage { .. } => "user_message",
            RecordBody::AssistantMessage { .. } => "assistant_message",
            RecordBody::ModelText { .. } => "model_text",
            RecordBody::TextAppend { .. } => "text_append",
            RecordBody::TextDone { .. } => "text_done",
            RecordBody::ToolStarted { .. } => "tool_started",
            RecordBody::ToolUpdated { .. } => "tool_updated",
            RecordBody::ToolFinished { .. } => "tool_finished",
            RecordBody::RunStarted { .. } => "run_started",
            RecordBody::RunFinished { .. } => "run_finished",
            RecordBody::BackgroundRequest { .. } => "background_request",
            RecordBody::Notice { .. } => "notice",
            RecordBody::Delivery { .. } => "delivery",
            RecordBody::Retrying { .. } => "retrying",
            RecordBody::Internal { .. } => "internal",
            RecordBody::ApprovalRequested { .. } => "approval_requested",
            RecordBody::ApprovalEnded { .. } => "approval_ended",
        }
    }
}

/// What a [`RecordBody::Notice`] stands for, for the gateway's own later decisions (clients get
/// only the notice's text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeAbout {
    /// Says that messages or background requests were not run (dropped by a stop, or left
    /// behind by a restart). Every message before it has been accounted for, so the restart
    /// recovery that looks for messages without a run starts after it.
    NotRun,
    /// Says that an approval expired (its Codex process is gone).
    ApprovalExpired,
}

/// Why a stored payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("record format {0} is unknown to this build (written by a newer one?)")]
    UnknownFormat(i64),
    #[error("payload does not decode: {0}")]
    Payload(#[from] serde_json::Error),
}

/// The payload of `body` in [`RECORD_FORMAT`].
pub fn encode(body: &RecordBody) -> Result<String, serde_json::Error> {
    serde_json::to_string(body)
}

/// A payload stored in `format`.
///
/// Format 1 payloads written before the record type existed may carry two fields the wire type
/// then had and never stored a value in (`html` of an assistant message, `text` of an internal
/// event); serde skips unknown fields, so they read as if absent.
pub fn decode(format: i64, payload: &str) -> Result<RecordBody, DecodeError> {
    match format {
        1 => Ok(serde_json::from_str(payload)?),
        other => Err(DecodeError::UnknownFormat(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One body of every kind; the match makes a new variant a compile error here until it is
    /// added.
    fn one_of_each() -> Vec<RecordBody> {
        let all = vec![
            RecordBody::UserMessage {
                text: "u".into(),
                client_id: "c".into(),
                source: Default::default(),
                steered: false,
                images: Vec::new(),
            },
            RecordBody::AssistantMessage {
                text: "a".into(),
                call_id: None,
            },
            RecordBody::ModelText {
                item_id: "i".into(),
                text: "m".into(),
            },
            RecordBody::TextAppend {
                target: Seq(1),
                delta: "d".into(),
            },
            RecordBody::TextDone {
                target: Seq(1),
                text: "t".into(),
            },
            RecordBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "ls".into(),
                relay: RelayDecision::Allowed,
                detail: None,
            },
            RecordBody::ToolStarted {
                call_id: "p".into(),
                tool: "plan".into(),
                command: String::new(),
                relay: RelayDecision::None,
                detail: Some(StoredDetail::Mcp {
                    server: "s".into(),
                    tool: "t".into(),
                    arguments: "{}".into(),
                }),
            },
            RecordBody::ToolUpdated {
                target: Seq(2),
                detail: StoredDetail::Plan {
                    steps: vec![app::wire::PlanStep {
                        step: "one".into(),
                        status: app::wire::PlanStatus::InProgress,
                    }],
                    explanation: None,
                },
            },
            RecordBody::ToolFinished {
                target: Seq(1),
                status: ToolStatus::Completed,
                output: String::new(),
                exit_code: Some(0),
            },
            RecordBody::RunStarted {
                run_id: "r".into(),
                for_seq: None,
                background: None,
            },
            RecordBody::RunFinished {
                run_id: "r".into(),
                outcome: RunOutcome::Completed,
                error: None,
            },
            RecordBody::BackgroundRequest {
                origin: "api".into(),
                prompt: "p".into(),
            },
            RecordBody::Notice {
                level: NoticeLevel::Info,
                text: "n".into(),
                about: None,
            },
            RecordBody::Delivery {
                channel: "webhook".into(),
                target: "ops".into(),
                status: DeliveryStatus::Sent,
                attempts: 1,
                detail: String::new(),
                updates: None,
            },
            RecordBody::Retrying {
                message: "Reconnecting... 2/5".into(),
                attempt: 2,
            },
            RecordBody::Internal {
                label: "l".into(),
                detail: serde_json::json!({"k": 1}),
            },
            RecordBody::ApprovalRequested {
                kind: ApprovalKind::FileChange,
                item_id: Some("call_1".into()),
                subject: "a.txt".into(),
                cwd: Some("/w".into()),
                reason: None,
                changes: vec![StoredDiff {
                    path: "a.txt".into(),
                    kind: "add".into(),
                    diff: "+x\n".into(),
                }],
                for_session: true,
            },
            RecordBody::ApprovalEnded {
                target: Seq(3),
                state: ApprovalState::Expired,
                answer: None,
            },
        ];
        for body in &all {
            match body {
                RecordBody::UserMessage { .. }
                | RecordBody::AssistantMessage { .. }
                | RecordBody::ModelText { .. }
                | RecordBody::TextAppend { .. }
                | RecordBody::TextDone { .. }
                | RecordBody::ToolStarted { .. }
                | RecordBody::ToolUpdated { .. }
                | RecordBody::ToolFinished { .. }
                | RecordBody::RunStarted { .. }
                | RecordBody::RunFinished { .. }
                | RecordBody::BackgroundRequest { .. }
                | RecordBody::Notice { .. }
                | RecordBody::Delivery { .. }
                | RecordBody::Retrying { .. }
                | RecordBody::Internal { .. }
                | RecordBody::ApprovalRequested { .. }
                | RecordBody::ApprovalEnded { .. } => {}
            }
        }
        all
    }

    #[test]
    fn the_kind_column_is_the_format_1_type_tag_and_every_kind_round_trips() {
        for body in one_of_each() {
            let payload = encode(&body).unwrap();
            let tag: serde_json::Value = serde_json::from_str(&payload).unwrap();
            assert_eq!(tag["type"], body.kind(), "{payload}");
            assert_eq!(decode(RECORD_FORMAT, &payload).unwrap(), body);
        }
    }

    #[test]
    fn fields_the_wire_type_once_carried_unstored_read_as_absent() {
        let body = decode(
            1,
            r#"{"type":"internal","label":"l","detail":{"a":1},"text":null}"#,
        );
        assert_eq!(
            body.unwrap(),
            RecordBody::Internal {
                label: "l".into(),
                detail: serde_json::json!({"a": 1})
            }
        );
    }

    #[test]
    fn a_notice_stored_before_about_existed_reads_as_none_and_none_is_not_written() {
        let old = r#"{"type":"notice","level":"warning","text":"1 message was not run."}"#;
        let body = decode(1, old).unwrap();
        assert_eq!(
            body,
            RecordBody::Notice {
                level: NoticeLevel::Warning,
                text: "1 message was not run.".into(),
                about: None,
            }
        );
        assert_eq!(encode(&body).unwrap(), old);
        let typed = RecordBody::Notice {
            level: NoticeLevel::Warning,
            text: "x".into(),
            about: Some(NoticeAbout::NotRun),
        };
        let json = encode(&typed).unwrap();
        assert!(json.contains(r#""about":"not_run""#), "{json}");
        assert_eq!(decode(1, &json).unwrap(), typed);
    }

    #[test]
    fn an_unknown_format_is_an_error_not_a_guess() {
        assert!(matches!(
            decode(2, r#"{"type":"notice","level":"info","text":"x"}"#),
            Err(DecodeError::UnknownFormat(2))
        ));
    }
}
