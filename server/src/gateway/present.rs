//! The presentation step: a stored [`Record`] becomes the [`wire::Event`] a client receives.
//!
//! This is the one place where the store's vocabulary turns into the wire's, and where what only
//! a reader needs is added: an assistant reply's sanitised HTML (rendered from its Markdown
//! here, never stored, so a sanitiser fix applies to all history at once) and an internal
//! detail's text (the browser never parses the JSON itself). Every path that hands events to a
//! client (the live hub, the page, the events API) goes through [`present`].
//!
//! It must not read the store or decide anything about runs: it is a pure function of the record.

use app::wire::{self, EventBody};

use super::diff;
use crate::ids::{CallId, RunId};
use crate::store::{Record, RecordBody};

/// Prepares a stored event for a client.
pub fn present(record: Record) -> wire::Event {
    let body = match record.body {
        RecordBody::UserMessage {
            text,
            client_id,
            source,
            steered,
            images,
        } => EventBody::UserMessage {
            text,
            client_id,
            source,
            steered,
            images,
        },
        RecordBody::AssistantMessage { text, call_id } => EventBody::AssistantMessage {
            html: Some(crate::markdown::reply_html(&text)),
            text,
            call_id: call_id.map(CallId::into_string),
        },
        RecordBody::ModelText { item_id, text } => EventBody::ModelText { item_id, text },
        RecordBody::TextAppend { target, delta } => EventBody::TextAppend { target, delta },
        RecordBody::TextDone { target, text } => EventBody::TextDone { target, text },
        RecordBody::ToolStarted {
            call_id,
            tool,
            command,
            relay,
            detail,
        } => EventBody::ToolStarted {
            call_id: call_id.into_string(),
            tool,
            command,
            relay,
            detail: detail.map(diff::present_detail),
        },
        RecordBody::ToolUpdated { target, detail } => EventBody::ToolUpdated {
            target,
            detail: diff::present_detail(detail),
        },
        RecordBody::ToolFinished {
            target,
            status,
            output,
            exit_code,
        } => EventBody::ToolFinished {
            target,
            status,
            output,
            exit_code,
        },
        RecordBody::RunStarted {
            run_id,
            for_seq,
            background,
        } => EventBody::RunStarted {
            run_id: run_id.into_string(),
            for_seq,
            background,
        },
        RecordBody::RunFinished {
            run_id,
            outcome,
            error,
        } => EventBody::RunFinished {
            run_id: run_id.into_string(),
            outcome,
            error,
        },
        RecordBody::BackgroundRequest { origin, prompt } => {
            EventBody::BackgroundRequest { origin, prompt }
        }
        // `about` is for the gateway's own later decisions; a reader has the text.
        RecordBody::Notice { level, text, .. } => EventBody::Notice { level, text },
        RecordBody::Delivery {
            channel,
            target,
            status,
            attempts,
            detail,
            updates,
        } => EventBody::Delivery {
            channel,
            target,
            status,
            attempts,
            detail,
            updates,
        },
        RecordBody::Retrying { message, attempt } => EventBody::Retrying { message, attempt },
        RecordBody::Internal { label, detail } => EventBody::Internal {
            label,
            text: detail.to_string(),
        },
        RecordBody::ApprovalRequested {
            kind,
            item_id,
            subject,
            cwd,
            reason,
            changes,
            for_session,
        } => EventBody::ApprovalRequested {
            kind,
            item_id,
            subject,
            cwd,
            reason,
            changes: changes.iter().map(diff::present_file).collect(),
            for_session,
        },
        RecordBody::ApprovalEnded {
            target,
            state,
            answer,
        } => EventBody::ApprovalEnded {
            target,
            state,
            answer,
        },
    };
    wire::Event {
        seq: record.seq,
        at_ms: record.at_ms,
        run: record.run.map(RunId::into_string),
        private: record.private,
        body,
    }
}

#[cfg(test)]
mod tests {
    use app::wire::Seq;

    use super::*;

    fn record(body: RecordBody) -> Record {
        Record {
            seq: Seq(1),
            at_ms: 0,
            run: None,
            private: true,
            body,
        }
    }

    #[test]
    fn present_renders_internal_details_as_text_for_the_browser() {
        let event = present(record(RecordBody::Internal {
            label: "hook PreToolUse".into(),
            detail: serde_json::json!({"decision": "allow"}),
        }));
        let EventBody::Internal { text, .. } = &event.body else {
            panic!("{event:?}")
        };
        assert_eq!(text, r#"{"decision":"allow"}"#);
        let shown = app::transcript::Transcript::from_events(&[event]);
        assert_eq!(
            shown.entries()[0].text,
            r#"hook PreToolUse: {"decision":"allow"}"#
        );
    }

    #[test]
    fn assistant_replies_get_sanitised_html_and_keep_their_markdown() {
        let event = present(record(RecordBody::AssistantMessage {
            text: "**hi** <script>x</script>".into(),
            call_id: Some("c1".into()),
        }));
        let EventBody::AssistantMessage {
            text,
            html,
            call_id,
        } = &event.body
        else {
            panic!("{event:?}")
        };
        assert_eq!(text, "**hi** <script>x</script>");
        assert_eq!(
            html.as_deref(),
            Some(crate::markdown::reply_html(text).as_str())
        );
        assert!(!html.as_deref().unwrap().contains("<script"));
        assert_eq!(call_id.as_deref(), Some("c1"));
        assert!(event.private, "record metadata is carried over");
    }
}
