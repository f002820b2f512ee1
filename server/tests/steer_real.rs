//! Steering and images against the real, pinned `codex app-server` and the embedded demo model.

mod common;

use std::time::Duration;

use codex_webchat::codex::{Inbound, ServerRequest, SupervisorEvent, Notification};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure() {
    let mut h = common::RealCodex::launch("steer-measure-", Vec::new()).await;
    let thread = h.codex.thread_start(json!({"cwd": h.work(), "dynamicTools": [common::message_tool()], "ephemeral": true})).await.expect("thread");
    let t = thread.thread_id.clone();
    let started = h.codex.request("turn/start", json!({"threadId": t, "input": [
        {"type":"text","text":"look","text_elements":[]},
        {"type":"localImage","path":"/tmp/dump/red.png"}]})).await.expect("start");
    eprintln!("START {started}");
    let turn = started.pointer("/turn/id").and_then(Value::as_str).unwrap().to_owned();
    drive(&mut h, &t, &turn, None).await;
    let started = h.codex.request("turn/start", json!({"threadId": t, "input": [
        {"type":"text","text":"/stream 40 100","text_elements":[]}]})).await.expect("start");
    let turn = started.pointer("/turn/id").and_then(Value::as_str).unwrap().to_owned();
    let wrong = h.codex.request("turn/steer", json!({"threadId": t, "expectedTurnId": "nope", "input": [{"type":"text","text":"x","text_elements":[]}]})).await;
    eprintln!("WRONG {wrong:?}");
    drive(&mut h, &t, &turn, Some("hello")).await;
    let late = h.codex.request("turn/steer", json!({"threadId": t, "expectedTurnId": turn, "input": [{"type":"text","text":"x","text_elements":[]}]})).await;
    eprintln!("LATE {late:?}");
    h.stop().await;
}

async fn drive(h: &mut common::RealCodex, t: &codex_webchat::ids::ThreadId, turn: &str, steer: Option<&str>) {
    let mut steered = false;
    tokio::time::timeout(WAIT, async {
        while let Some(event) = h.events.recv().await {
            match event {
                SupervisorEvent::Inbound { epoch, msg: Inbound::Request { id, request } } => {
                    if let ServerRequest::ToolCall { arguments, .. } = &request { eprintln!("SENT {arguments}"); }
                    h.codex.respond(epoch, id, Ok(json!({"contentItems": [{"type": "inputText", "text": "delivered"}], "success": true}))).await.unwrap();
                }
                SupervisorEvent::Inbound { msg: Inbound::Notification(n), .. } => {
                    let s = format!("{n:?}");
                    eprintln!("N {}", &s[..s.len().min(400)]);
                    if let (Some(text), false) = (steer, steered) {
                        if s.contains("Delta") || s.contains("delta") {
                            steered = true;
                            let r = h.codex.request("turn/steer", json!({"threadId": t, "expectedTurnId": turn, "input": [{"type":"text","text":text,"text_elements":[]}]})).await;
                            eprintln!("STEER {r:?}");
                        }
                    }
                    if s.contains("TurnCompleted") || s.contains("turn/completed") { return; }
                }
                _ => {}
            }
        }
    }).await.expect("turn ends");
}
