//! The earlier turns of a Codex thread opened from `CODEX_HOME`, written into its new session's
//! transcript once, as the live projection would have written them.
//!
//! Each item read back (`thread/read` with its turns) goes through the same [`Projection`] a live
//! turn uses, so a command, a diff or a reasoning summary gets the card it would have had; the
//! thread was made without our `message` tool, so each completed agent message is also stored as
//! the reply (an assistant message), as the session's own runs do.
//! User messages (which the live projection leaves to the send that stored them) are written here.
//! It must not start, resume or touch runs: the history is written before the session's first run.

use app::wire::{Seq, SessionKey, Source};
use serde_json::Value;

use super::projection::{Projection, Write};
use crate::codex::Item;
use crate::gateway::{Gateway, GatewayError};
use crate::store::RecordBody;

/// Most turns written back; a longer thread shows its most recent ones, after a notice.
pub const MAX_HISTORY_TURNS: usize = 2_000;

/// What one turn read back holds, in order.
fn turn_items(turn: &Value) -> &[Value] {
    turn.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The words of a `userMessage` item (its text parts, one paragraph each); images are not
/// carried over (they live in Codex's home, not ours).
pub(crate) fn user_text(item: &Value) -> Option<String> {
    if item.get("type").and_then(Value::as_str) != Some("userMessage") {
        return None;
    }
    let parts: Vec<&str> = item
        .get("content")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    Some(parts.join("\n\n"))
}

impl Gateway {
    /// Writes `turns` (from `thread/read`) into `key`'s transcript; how many were written.
    pub(in crate::gateway) fn write_history(
        &self,
        key: &SessionKey,
        turns: &[Value],
    ) -> Result<usize, GatewayError> {
        let skip = turns.len().saturating_sub(MAX_HISTORY_TURNS);
        for (n, turn) in turns.iter().enumerate().skip(skip) {
            // A fresh projection per turn: item ids are unique within a turn only. The model's
            // prose is the reply, as in the session's own runs (`reply_with_prose`).
            let mut projection = Projection::new(true);
            projection.reply_with_prose();
            for (i, raw) in turn_items(turn).iter().enumerate() {
                if let Some(text) = user_text(raw) {
                    let body = RecordBody::UserMessage {
                        text,
                        client_id: format!("codex-thread-{n}-{i}"),
                        source: Source::default(),
                        steered: false,
                        images: Vec::new(),
                    };
                    self.emit(key, None, false, body, None)?;
                    continue;
                }
                let item = Item::parse(raw);
                let writes = projection.replay_started(item.clone());
                self.write_replayed(key, &mut projection, writes)?;
                let writes = projection.replay_completed(item);
                self.write_replayed(key, &mut projection, writes)?;
            }
            let writes = projection.replay_turn_end();
            self.write_replayed(key, &mut projection, writes)?;
        }
        Ok(turns.len() - skip)
    }

    /// Writes replayed items' events, registering the entries they create with `projection` (as
    /// `write_outputs` does for a live run).
    fn write_replayed(
        &self,
        key: &SessionKey,
        projection: &mut Projection,
        writes: Vec<Write>,
    ) -> Result<(), GatewayError> {
        let mut last_created: Option<Seq> = None;
        for mut w in writes {
            if !w.resolve_target(last_created) {
                continue;
            }
            let appended = self.emit(key, None, w.private, w.body, None)?;
            if let Some(item) = w.creates {
                let seq = appended.event().seq;
                last_created = Some(seq);
                projection.created(item, seq);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_message_keeps_its_text_parts_and_drops_its_images() {
        let item = json!({"type": "userMessage", "id": "u", "content": [
            {"type": "text", "text": "look at this", "text_elements": []},
            {"type": "localImage", "path": "/home/me/shot.png"},
            {"type": "text", "text": "<b>and this</b>"}
        ]});
        assert_eq!(
            user_text(&item).as_deref(),
            Some("look at this\n\n<b>and this</b>")
        );
        assert_eq!(user_text(&json!({"type": "agentMessage", "id": "a"})), None);
    }
}
