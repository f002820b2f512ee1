//! Reading a Responses-API request body down to what the demo model decides from: the text of the
//! latest real user message (and how many images it carries), and the function calls (with their
//! outputs) made since it.
//!
//! Codex sends the whole conversation on every request. Besides the user's own messages it puts
//! user-role items into `input` that the user never typed (`<environment_context>`, the AGENTS.md
//! instructions, `<turn_aborted>` after an interrupt, ...), so "the last user message" has to skip
//! those. Everything here is total: any JSON value yields a `Transcript` or a `RequestError`,
//! never a panic.

use serde_json::Value;

/// The dynamic tool the gateway registers on every thread.
pub(crate) const MESSAGE_TOOL: &str = "message";

/// What one request tells the demo model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transcript {
    /// The `model` the request names, echoed back in the response.
    pub model: Option<String>,
    /// Text of the latest real user message, or `None` when the request has none.
    pub user_text: Option<String>,
    /// How many `input_image` parts that message carries (Codex sends each attached
    /// `localImage` as one, as a data URL, between `<image ...>` and `</image>` text parts).
    pub images: usize,
    /// Function calls that follow that message, oldest first.
    pub calls: Vec<PastCall>,
    /// The request lists its tools and `message` is not among them (a thread made outside
    /// codex-webchat, opened from Codex's home): replies are plain text.
    pub no_message_tool: bool,
}

/// A function call already in the history, and what came back for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PastCall {
    pub name: String,
    pub call_id: String,
    /// The `function_call_output` text for this call, if Codex has sent one.
    pub output: Option<String>,
}

/// Why a request body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error("request body must be a JSON object with an `input` array or string")]
    MissingInput,
}

/// Parses a raw request body.
pub(crate) fn parse_body(body: &[u8]) -> Result<Transcript, RequestError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| RequestError::Json(err.to_string()))?;
    transcript(&value)
}

/// The context fragments of a raw request body's user messages (the parts that are not the
/// user's words), oldest first; for tests that check what reached the model.
#[cfg(feature = "fault-injection")]
pub(crate) fn injected_fragments(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let Some(items) = value.get("input").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| item.get("role").and_then(Value::as_str) == Some("user"))
        .flat_map(|item| text_parts(item.get("content")))
        .filter(|text| is_injected_fragment(text))
        .collect()
}

/// Extracts the transcript from a parsed request body.
pub(crate) fn transcript(body: &Value) -> Result<Transcript, RequestError> {
    let model = body.get("model").and_then(Value::as_str).map(str::to_owned);
    let no_message_tool = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            !tools
                .iter()
                .any(|t| t.get("name").and_then(Value::as_str) == Some(MESSAGE_TOOL))
        });
    let input = match body.get("input") {
        // The Responses API also accepts a bare string as the whole input; Codex never sends
        // one, but curl users do.
        Some(Value::String(text)) => {
            return Ok(Transcript {
                model,
                user_text: Some(text.clone()),
                images: 0,
                calls: Vec::new(),
                no_message_tool,
            })
        }
        Some(Value::Array(items)) => items,
        _ => return Err(RequestError::MissingInput),
    };

    let last_user = input
        .iter()
        .enumerate()
        .rev()
        .find_map(|(index, item)| real_user_text(item).map(|text| (index, text)));
    let Some((user_index, user_text)) = last_user else {
        return Ok(Transcript {
            model,
            user_text: None,
            images: 0,
            calls: Vec::new(),
            no_message_tool,
        });
    };

    let after = &input[user_index + 1..];
    let mut calls: Vec<PastCall> = after
        .iter()
        .filter(|item| item_type(item) == Some("function_call"))
        .map(|item| PastCall {
            name: str_field(item, "name"),
            call_id: str_field(item, "call_id"),
            output: None,
        })
        .collect();
    for item in after
        .iter()
        .filter(|item| item_type(item) == Some("function_call_output"))
    {
        let call_id = str_field(item, "call_id");
        if let Some(call) = calls
            .iter_mut()
            .find(|call| call.call_id == call_id && call.output.is_none())
        {
            call.output = Some(output_text(item.get("output")));
        }
    }

    Ok(Transcript {
        model,
        user_text: Some(user_text),
        images: image_parts(input[user_index].get("content")),
        calls,
        no_message_tool,
    })
}

/// The text of `item` if it is a user message the user actually wrote.
///
/// Codex can pack several injected fragments into one user message (the AGENTS.md instructions
/// and `<environment_context>` arrive as two `input_text` parts of the same item), so the test is
/// per part: a message is real when it has no text parts (an image on its own) or when at least
/// one text part is not an injected fragment. Only the real parts make up the text.
fn real_user_text(item: &Value) -> Option<String> {
    let is_message = match item_type(item) {
        Some(kind) => kind == "message",
        // Responses "easy input messages" may leave out `type`.
        None => item.get("role").is_some(),
    };
    if !is_message || item.get("role").and_then(Value::as_str) != Some("user") {
        return None;
    }
    let parts = text_parts(item.get("content"));
    let images = image_parts(item.get("content"));
    if parts.is_empty() {
        return Some(String::new());
    }
    let real: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|text| !is_injected_fragment(text) && !is_image_wrapper(text))
        .collect();
    if real.is_empty() && images > 0 {
        // Images sent without words: still the person's message.
        return Some(String::new());
    }
    if real.is_empty() {
        None
    } else {
        Some(real.join("\n"))
    }
}

/// Tags of the user-role context fragments Codex 0.169.0 writes into the history itself (read
/// from the binary and from captured requests). A user typing a message that starts with one of
/// these tags and ends with its closing tag is not a case worth handling.
const INJECTED_TAGS: &[&str] = &[
    "environment_context",
    "turn_aborted",
    "user_instructions",
    "user_shell_command",
    "user_action",
    "skill",
    "skills_instructions",
    "subagent_notification",
    "collaboration_mode",
    "model_switch",
    "personality_spec",
    "realtime_conversation",
    "apps_instructions",
    "plugins_instructions",
    "permissions instructions",
    "context_window_reminder",
    "system-reminder",
    "persistent_mode",
    "side_conversation",
    "startup_context",
    "user_verification_notice",
    "hook_prompt",
    // Not Codex's: the note the gateway adds to a background run's prompt
    // (`gateway::threads::BACKGROUND_CONTEXT_TAG`; the demo model knows no gateway).
    "codex_webchat_background_run",
];

/// The AGENTS.md instructions are the one injected fragment that is not tag-wrapped.
const AGENTS_MD_PREFIX: &str = "# AGENTS.md instructions for ";

fn is_injected_fragment(text: &str) -> bool {
    let text = text.trim();
    if text.starts_with(AGENTS_MD_PREFIX) {
        return true;
    }
    INJECTED_TAGS.iter().any(|tag| {
        let Some(rest) = text.strip_prefix('<').and_then(|t| t.strip_prefix(tag)) else {
            return false;
        };
        // `<tag>` or `<tag attr=...>`, but not `<tagger>`.
        let opens = rest.starts_with('>') || rest.starts_with(char::is_whitespace);
        opens && text.ends_with(&format!("</{tag}>"))
    })
}

/// Whether `text` is one of the parts Codex 0.169 wraps an attached image in: the opening
/// `<image name=[Image #1] path="...">` or the closing `</image>` (measured: one part each, around
/// the `input_image` part; `tests/fixtures/demo_model/image_step0.json`).
fn is_image_wrapper(text: &str) -> bool {
    let text = text.trim();
    text == "</image>" || (text.starts_with("<image ") && text.ends_with('>'))
}

/// How many `input_image` parts a message's `content` has.
fn image_parts(content: Option<&Value>) -> usize {
    match content {
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|part| item_type(part) == Some("input_image"))
            .count(),
        _ => 0,
    }
}

/// The text parts of a message's `content`, which is either a string or a list of parts.
fn text_parts(content: Option<&Value>) -> Vec<String> {
    match content {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(parts)) => parts
            .iter()
            .filter(|part| {
                matches!(
                    item_type(part),
                    Some("input_text" | "output_text" | "text") | None
                )
            })
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of a `function_call_output.output`: a string, or a list of content parts when the
/// tool returned several items.
fn output_text(output: Option<&Value>) -> String {
    match output {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(_)) => text_parts(output).join("\n"),
        Some(other) => other.to_string(),
    }
}

fn item_type(item: &Value) -> Option<&str> {
    item.get("type").and_then(Value::as_str)
}

fn str_field(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
