//! HTTP-level tests of the embedded demo model, through its public API only: raw HTTP/1.1 over
//! a TCP socket, as Codex would speak it, checking that the event streams are well formed.

use std::time::{Duration, Instant};

use codex_webchat::demo_model::DemoModel;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request Codex 0.169.0 really sent: the first request of a turn whose user text is
/// `hello there`.
const DEFAULT_REQUEST: &str = include_str!("fixtures/demo_model/default_step0.json");

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one request with `Connection: close` and reads the whole response.
async fn send(model: &DemoModel, method: &str, path: &str, body: &str) -> HttpResponse {
    let authority = model
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    let mut stream = TcpStream::connect(&authority).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\naccept: text/event-stream\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let payload = &raw[split + 4..];
    let chunked = headers.iter().any(|(key, value)| {
        key.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(payload)
    } else {
        payload.to_vec()
    };
    HttpResponse {
        status,
        headers,
        body: String::from_utf8(body).expect("UTF-8 body"),
    }
}

/// Decodes a chunked transfer-encoded body, insisting on the terminating zero chunk.
fn dechunk(mut payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = payload
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&payload[..line_end]).expect("size is text");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        payload = &payload[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&payload[..size]);
        assert_eq!(&payload[size..size + 2], b"\r\n", "chunk terminator");
        payload = &payload[size + 2..];
    }
}

/// Parses an SSE body into `(event, data)` pairs and checks the framing: every frame is an
/// `event:` line and one `data:` line of JSON whose `type` matches, and the sequence numbers
/// count up from 0.
fn events(body: &str) -> Vec<(String, Value)> {
    assert!(body.ends_with("\n\n"), "stream ends mid-frame: {body:?}");
    let events: Vec<(String, Value)> = body
        .split_terminator("\n\n")
        .map(|frame| {
            let mut lines = frame.lines();
            let event = lines
                .next()
                .and_then(|line| line.strip_prefix("event: "))
                .expect("event line")
                .to_owned();
            let data: Value = lines
                .next()
                .and_then(|line| line.strip_prefix("data: "))
                .map(|data| serde_json::from_str(data).expect("data is JSON"))
                .expect("data line");
            assert!(lines.next().is_none(), "one data line per frame");
            assert_eq!(data["type"].as_str(), Some(event.as_str()));
            (event, data)
        })
        .collect();
    for (index, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"].as_u64(), Some(index as u64));
    }
    let first = events.first().expect("at least one event");
    assert_eq!(first.0, "response.created");
    let last = events.last().expect("at least one event");
    assert_eq!(last.0, "response.completed");
    let usage = &last.1["response"]["usage"];
    for field in ["input_tokens", "output_tokens", "total_tokens"] {
        assert!(usage[field].as_u64().is_some(), "usage.{field}");
    }
    // Every item that was added is also done, at the same output index and with the same id.
    let added: Vec<(u64, String)> = item_events(&events, "response.output_item.added");
    let done: Vec<(u64, String)> = item_events(&events, "response.output_item.done");
    assert_eq!(added, done);
    events
}

fn item_events(events: &[(String, Value)], name: &str) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|(event, _)| event == name)
        .map(|(_, data)| {
            (
                data["output_index"].as_u64().expect("output_index"),
                data["item"]["id"].as_str().expect("item id").to_owned(),
            )
        })
        .collect()
}

fn done_items(events: &[(String, Value)]) -> Vec<Value> {
    events
        .iter()
        .filter(|(event, _)| event == "response.output_item.done")
        .map(|(_, data)| data["item"].clone())
        .collect()
}

fn call_arguments(item: &Value) -> Value {
    assert_eq!(item["type"], "function_call");
    assert!(item["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(item["call_id"].as_str().is_some_and(|id| !id.is_empty()));
    serde_json::from_str(item["arguments"].as_str().expect("arguments is a string"))
        .expect("arguments is JSON")
}

fn user_request(text: &str) -> String {
    json!({
        "model": "demo-model",
        "stream": true,
        "input": [
            { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] },
        ],
    })
    .to_string()
}

#[tokio::test]
async fn default_message_streams_a_message_call() {
    let model = DemoModel::start().await.expect("start");
    assert!(model.base_url().starts_with("http://127.0.0.1:"));
    assert!(model.base_url().ends_with("/v1"));

    let response = send(&model, "POST", "/v1/responses", DEFAULT_REQUEST).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let events = events(&response.body);
    let items = done_items(&events);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "message");
    assert_eq!(
        call_arguments(&items[0]),
        json!({ "action": "send", "message": "Echo: hello there" })
    );
    assert_eq!(model.requests_served(), 1);
    model.shutdown().await;
}

#[tokio::test]
async fn stream_directive_paces_deltas_then_calls_message() {
    let model = DemoModel::start().await.expect("start");
    let started = Instant::now();
    let response = send(
        &model,
        "POST",
        "/v1/responses",
        &user_request("/stream 4 30"),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200);
    assert!(
        elapsed >= Duration::from_millis(90),
        "three 30 ms gaps, took {elapsed:?}"
    );
    let events = events(&response.body);
    let items = done_items(&events);
    assert_eq!(items.len(), 2);
    let message_id = items[0]["id"].as_str().expect("message id");
    let deltas: Vec<String> = events
        .iter()
        .filter(|(event, _)| event == "response.output_text.delta")
        .map(|(_, data)| {
            assert_eq!(data["item_id"].as_str(), Some(message_id));
            assert_eq!(data["output_index"], 0);
            assert_eq!(data["content_index"], 0);
            data["delta"].as_str().expect("delta").to_owned()
        })
        .collect();
    assert_eq!(deltas, ["word1", " word2", " word3", " word4"]);
    assert_eq!(items[0]["type"], "message");
    assert_eq!(items[0]["role"], "assistant");
    assert_eq!(items[0]["content"][0]["text"], "word1 word2 word3 word4");
    assert_eq!(items[1]["name"], "message");
    assert_eq!(
        call_arguments(&items[1]),
        json!({ "action": "send", "message": "streamed 4" })
    );
    let completed = &events.last().expect("completed").1["response"];
    assert_eq!(completed["output"].as_array().map(Vec::len), Some(2));
    model.shutdown().await;
}

#[tokio::test]
async fn fail_directive_answers_500_with_a_json_error() {
    let model = DemoModel::start().await.expect("start");
    let response = send(&model, "POST", "/v1/responses", &user_request("/fail")).await;
    assert_eq!(response.status, 500);
    assert!(response
        .header("content-type")
        .is_some_and(|value| value.starts_with("application/json")));
    let error: Value = serde_json::from_str(&response.body).expect("JSON body");
    assert!(error["error"]["message"].as_str().is_some());
    assert_eq!(model.requests_served(), 1);
    model.shutdown().await;
}

/// `/flaky 2`: the same request is refused with a 503 twice (what Codex retries), then answered
/// with `flaky ok`; the count is per request, so the next one starts again.
#[tokio::test]
async fn flaky_refuses_the_same_request_n_times_then_answers() {
    let model = DemoModel::start().await.expect("start");
    let request = user_request("/flaky 2");
    for _ in 0..2 {
        let response = send(&model, "POST", "/v1/responses", &request).await;
        assert_eq!(response.status, 503, "{}", response.body);
    }
    let response = send(&model, "POST", "/v1/responses", &request).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.body.contains("flaky ok"), "{}", response.body);
    let again = send(&model, "POST", "/v1/responses", &request).await;
    assert_eq!(again.status, 503, "a new turn is refused again");
    model.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let model = DemoModel::start().await.expect("start");
    for body in ["{not json", "[]", r#"{"input": 3}"#, ""] {
        let response = send(&model, "POST", "/v1/responses", body).await;
        assert_eq!(response.status, 400, "{body:?}");
        let error: Value = serde_json::from_str(&response.body).expect("JSON body");
        assert!(error["error"]["message"].as_str().is_some(), "{body:?}");
    }
    let response = send(&model, "GET", "/v1/models", "").await;
    assert_eq!(response.status, 404);
    let error: Value = serde_json::from_str(&response.body).expect("JSON body");
    assert!(error["error"]["message"].as_str().is_some());
    assert_eq!(model.requests_served(), 4);

    // The server is still fine afterwards.
    let response = send(&model, "POST", "/v1/responses", &user_request("/final ok")).await;
    assert_eq!(response.status, 200);
    let items = done_items(&events(&response.body));
    assert_eq!(items[0]["content"][0]["text"], "ok");
    model.shutdown().await;
}

#[tokio::test]
async fn dropping_the_model_stops_the_server() {
    let model = DemoModel::start().await.expect("start");
    let authority = model
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    drop(model);
    let refused = async {
        loop {
            if TcpStream::connect(&authority).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), refused)
        .await
        .expect("listener closes after drop");
}
