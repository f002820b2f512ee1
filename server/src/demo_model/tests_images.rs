//! Unit tests of what the demo model makes of attached images and of input steered into a
//! running turn, against request bodies captured from Codex 0.169.0
//! (`tests/fixtures/demo_model/image_step0.json`: `look` with one `localImage`;
//! `steer_stream_step0.json`: `hello` steered into a `/stream 40 100` turn).

use serde_json::{json, Value};

use super::request;
use super::script::{self, Output, Reply};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/demo_model/", $name, ".json"))
    };
}

fn sent(reply: &Reply) -> Vec<String> {
    match reply {
        Reply::Respond(outputs) | Reply::Flaky { then: outputs, .. } => outputs
            .iter()
            .filter_map(|o| match o {
                Output::Call { arguments, .. } => arguments["message"].as_str().map(str::to_owned),
                _ => None,
            })
            .collect(),
        Reply::Fail | Reply::Offline => Vec::new(),
    }
}

fn reply_to(body: &Value) -> Reply {
    script::reply(&request::transcript(body).expect("parses"))
}

#[test]
fn an_attached_image_is_counted_and_its_wrapper_is_not_text() {
    let body: Value = serde_json::from_str(fixture!("image_step0")).expect("JSON");
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.user_text.as_deref(), Some("look"));
    assert_eq!(transcript.images, 1);
    assert_eq!(sent(&reply_to(&body)), ["Echo: look (1 images)"]);
}

#[test]
fn a_message_without_images_echoes_as_before() {
    let body = json!({"input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "look"}]}]});
    assert_eq!(sent(&reply_to(&body)), ["Echo: look"]);
}

#[test]
fn images_without_words_are_still_the_persons_message() {
    let image = |n: u32| {
        [
            json!({"type": "input_text", "text": format!("<image name=[Image #{n}] path=\"/d/{n}.png\">")}),
            json!({"type": "input_image", "image_url": "data:image/png;base64,AAAA"}),
            json!({"type": "input_text", "text": "</image>"}),
        ]
    };
    let content: Vec<Value> = image(1).into_iter().chain(image(2)).collect();
    let body = json!({"input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "earlier"}]},
        {"type": "message", "role": "user", "content": content}]});
    assert_eq!(sent(&reply_to(&body)), ["Echo: (2 images)"]);
}

#[test]
fn input_steered_into_a_streaming_turn_is_answered() {
    // Codex cut the `/stream` response short and asked again with the steered `hello` as the
    // newest user message: that is what the model answers.
    let body: Value = serde_json::from_str(fixture!("steer_stream_step0")).expect("JSON");
    assert_eq!(sent(&reply_to(&body)), ["Echo: hello"]);
}
