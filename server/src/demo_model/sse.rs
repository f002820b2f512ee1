//! Rendering a decided reply as a Responses-API server-sent event stream.
//!
//! The event sequence follows what the OpenAI Responses API emits and what Codex parses:
//! `response.created`, then per output item `response.output_item.added`, its deltas and
//! `response.output_item.done`, and finally `response.completed` with usage. Each event carries
//! its `type` in the data as well, because Codex dispatches on the data, not the `event:` line.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::Stream;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::script::Output;

/// The ids of one response and of its items. Items are numbered by their output index, so ids
/// are unique as long as the response id is.
#[derive(Debug, Clone)]
pub(crate) struct ResponseIds {
    base: String,
}

impl ResponseIds {
    /// `base` must be unique per response (the server uses a per-process nonce and a counter).
    pub(crate) fn new(base: String) -> Self {
        Self { base }
    }

    pub(crate) fn response(&self) -> String {
        format!("resp_{}", self.base)
    }

    fn item(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", self.base)
    }
}

/// Everything the stream needs besides the outputs.
pub(crate) struct StreamContext {
    pub ids: ResponseIds,
    /// Echoed back as the response's `model`.
    pub model: String,
    /// Reported as `usage.input_tokens`.
    pub input_tokens: u64,
    /// Becomes `true` (or its sender goes away) when the server shuts down; a `/stream` waiting
    /// between words ends early then, so shutdown never waits on a slow stream.
    pub stop: watch::Receiver<bool>,
}

/// Numbers the events of one response (`sequence_number`, as the real API does) and formats
/// them as SSE frames.
#[derive(Default)]
struct Frames {
    next: u64,
}

impl Frames {
    fn event(&mut self, kind: &str, mut data: Value) -> Result<Bytes, Infallible> {
        if let Value::Object(map) = &mut data {
            map.insert("type".to_owned(), Value::from(kind));
            map.insert("sequence_number".to_owned(), Value::from(self.next));
        }
        self.next += 1;
        // Compact JSON never contains a raw newline, so one `data:` line holds it all.
        Ok(Bytes::from(format!("event: {kind}\ndata: {data}\n\n")))
    }
}

/// The SSE body for `outputs`. Dropping the stream (the client went away) cancels any wait
/// between `/stream` words at once.
pub(crate) fn events(
    outputs: Vec<Output>,
    context: StreamContext,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let StreamContext {
        ids,
        model,
        input_tokens,
        mut stop,
    } = context;
    async_stream::stream! {
        let mut frames = Frames::default();
        let response_id = ids.response();
        yield frames.event(
            "response.created",
            json!({ "response": response_object(&response_id, &model, "in_progress", Vec::new(), None) }),
        );
        let mut finished = Vec::new();
        let mut output_chars = 0usize;
        for (index, output) in outputs.into_iter().enumerate() {
            match output {
                Output::Text(text) => {
                    let id = ids.item("msg", index);
                    yield frames.event("response.output_item.added", json!({
                        "output_index": index,
                        "item": message_item(&id, "in_progress", None),
                    }));
                    yield frames.event("response.content_part.added", json!({
                        "item_id": id, "output_index": index, "content_index": 0,
                        "part": { "type": "output_text", "text": "", "annotations": [] },
                    }));
                    yield frames.event("response.output_text.delta", json!({
                        "item_id": id, "output_index": index, "content_index": 0, "delta": text,
                    }));
                    for frame in message_end(&mut frames, &id, index, &text) {
                        yield frame;
                    }
                    output_chars += text.len();
                    finished.push(message_item(&id, "completed", Some(&text)));
                }
                Output::Words { count, gap } => {
                    let id = ids.item("msg", index);
                    yield frames.event("response.output_item.added", json!({
                        "output_index": index,
                        "item": message_item(&id, "in_progress", None),
                    }));
                    yield frames.event("response.content_part.added", json!({
                        "item_id": id, "output_index": index, "content_index": 0,
                        "part": { "type": "output_text", "text": "", "annotations": [] },
                    }));
                    let mut text = String::new();
                    for word in 1..=count {
                        if word > 1 && !gap.is_zero() {
                            tokio::select! {
                                () = tokio::time::sleep(gap) => {}
                                _ = stop.wait_for(|stopped| *stopped) => return,
                            }
                        }
                        let delta = if word == 1 { format!("word{word}") } else { format!(" word{word}") };
                        text.push_str(&delta);
                        yield frames.event("response.output_text.delta", json!({
                            "item_id": id, "output_index": index, "content_index": 0, "delta": delta,
                        }));
                    }
                    for frame in message_end(&mut frames, &id, index, &text) {
                        yield frame;
                    }
                    output_chars += text.len();
                    finished.push(message_item(&id, "completed", Some(&text)));
                }
                Output::Reasoning(summary) => {
                    // As the Responses API streams a reasoning summary; Codex 0.169 turns these
                    // into `item/reasoning/summaryPartAdded`, `summaryTextDelta` and a
                    // completed `reasoning` item with `summary: [text]` (measured).
                    let id = ids.item("rs", index);
                    yield frames.event("response.output_item.added", json!({
                        "output_index": index,
                        "item": { "type": "reasoning", "id": id, "summary": [] },
                    }));
                    let part = |text: &str| json!({ "type": "summary_text", "text": text });
                    yield frames.event("response.reasoning_summary_part.added", json!({
                        "item_id": id, "output_index": index, "summary_index": 0, "part": part(""),
                    }));
                    yield frames.event("response.reasoning_summary_text.delta", json!({
                        "item_id": id, "output_index": index, "summary_index": 0, "delta": summary,
                    }));
                    yield frames.event("response.reasoning_summary_text.done", json!({
                        "item_id": id, "output_index": index, "summary_index": 0, "text": summary,
                    }));
                    yield frames.event("response.reasoning_summary_part.done", json!({
                        "item_id": id, "output_index": index, "summary_index": 0,
                        "part": part(&summary),
                    }));
                    let item = json!({ "type": "reasoning", "id": id, "summary": [part(&summary)] });
                    yield frames.event("response.output_item.done", json!({
                        "output_index": index, "item": item,
                    }));
                    output_chars += summary.len();
                    finished.push(item);
                }
                Output::Call { name, arguments } => {
                    let id = ids.item("fc", index);
                    let call_id = ids.item("call", index);
                    let arguments = arguments.to_string();
                    yield frames.event("response.output_item.added", json!({
                        "output_index": index,
                        "item": call_item(&id, &call_id, name, "", "in_progress"),
                    }));
                    yield frames.event("response.function_call_arguments.delta", json!({
                        "item_id": id, "output_index": index, "delta": arguments,
                    }));
                    yield frames.event("response.function_call_arguments.done", json!({
                        "item_id": id, "output_index": index, "arguments": arguments,
                    }));
                    let item = call_item(&id, &call_id, name, &arguments, "completed");
                    yield frames.event("response.output_item.done", json!({
                        "output_index": index, "item": item,
                    }));
                    output_chars += arguments.len();
                    finished.push(item);
                }
            }
        }
        let usage = usage(input_tokens, output_chars);
        yield frames.event(
            "response.completed",
            json!({ "response": response_object(&response_id, &model, "completed", finished, Some(usage)) }),
        );
    }
}

fn message_end(
    frames: &mut Frames,
    id: &str,
    index: usize,
    text: &str,
) -> Vec<Result<Bytes, Infallible>> {
    vec![
        frames.event(
            "response.output_text.done",
            json!({ "item_id": id, "output_index": index, "content_index": 0, "text": text }),
        ),
        frames.event(
            "response.content_part.done",
            json!({
                "item_id": id, "output_index": index, "content_index": 0,
                "part": { "type": "output_text", "text": text, "annotations": [] },
            }),
        ),
        frames.event(
            "response.output_item.done",
            json!({ "output_index": index, "item": message_item(id, "completed", Some(text)) }),
        ),
    ]
}

fn message_item(id: &str, status: &str, text: Option<&str>) -> Value {
    let content = match text {
        Some(text) => json!([{ "type": "output_text", "text": text, "annotations": [] }]),
        None => json!([]),
    };
    json!({ "type": "message", "id": id, "status": status, "role": "assistant", "content": content })
}

fn call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({
        "type": "function_call", "id": id, "call_id": call_id, "name": name,
        "arguments": arguments, "status": status,
    })
}

fn response_object(
    id: &str,
    model: &str,
    status: &str,
    output: Vec<Value>,
    usage: Option<Value>,
) -> Value {
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    json!({
        "id": id, "object": "response", "created_at": created_at, "status": status,
        "model": model, "output": output, "usage": usage,
    })
}

/// Rough token counts (4 characters a token). They only feed Codex's usage display; a real count
/// would add nothing for a scripted model.
fn usage(input_tokens: u64, output_chars: usize) -> Value {
    let output_tokens = u64::try_from(output_chars / 4).unwrap_or(u64::MAX).max(1);
    json!({
        "input_tokens": input_tokens,
        "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": output_tokens,
        "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": input_tokens.saturating_add(output_tokens),
    })
}
