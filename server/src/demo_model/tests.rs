//! Unit tests of the demo model. The request bodies under `tests/fixtures/demo_model/` were
//! captured from Codex 0.169.0 (`codex app-server`) talking to this model, one per step type.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::request::{self, PastCall, RequestError, Transcript};
use super::script::{
    self, Directive, Output, Reply, EDIT_USAGE, ESCALATE_JUSTIFICATION, ESCALATE_USAGE,
    MARKDOWN_SAMPLE, PLANNED, PLAN_TOOL, SEND_USAGE, STREAM_USAGE, THINK_USAGE, THOUGHT,
};
use super::sse;
use super::{codex_config_toml, DemoModel};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/demo_model/", $name, ".json"))
    };
}

fn transcript_of(body: &str) -> Transcript {
    request::parse_body(body.as_bytes()).expect("fixture parses")
}

fn reply_to(body: &str) -> Reply {
    script::reply(&transcript_of(body))
}

fn message(arguments: Value) -> Reply {
    Reply::Respond(vec![Output::Call {
        name: "message",
        arguments,
    }])
}

fn final_text(text: &str) -> Reply {
    Reply::Respond(vec![Output::Text(text.to_owned())])
}

fn with_input(body: &str, edit: impl FnOnce(&mut Vec<Value>)) -> Value {
    let mut value: Value = serde_json::from_str(body).expect("fixture is JSON");
    let input = value["input"].as_array_mut().expect("fixture has input");
    edit(input);
    value
}

fn user_message(text: &str) -> Value {
    json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] })
}

/// A request whose latest user message is `text`, followed by these calls (tool name, output).
fn transcript_after(text: &str, calls: &[(&str, &str)]) -> Transcript {
    let mut input = vec![user_message(text)];
    for (index, (name, output)) in calls.iter().enumerate() {
        let call_id = format!("call_{index}");
        input.push(json!({
            "type": "function_call", "name": name, "call_id": call_id, "arguments": "{}",
        }));
        input.push(json!({ "type": "function_call_output", "call_id": call_id, "output": output }));
    }
    request::transcript(&json!({ "input": input })).expect("parses")
}

// --- Decisions against captured requests -------------------------------------------------

#[test]
fn default_first_request_echoes_with_message() {
    let transcript = transcript_of(fixture!("default_step0"));
    assert_eq!(transcript.user_text.as_deref(), Some("hello there"));
    assert_eq!(transcript.model.as_deref(), Some("demo-model"));
    assert!(transcript.calls.is_empty());
    assert_eq!(
        script::reply(&transcript),
        message(json!({ "action": "send", "message": "Echo: hello there" }))
    );
}

#[test]
fn default_after_message_output_ends_with_done() {
    let transcript = transcript_of(fixture!("default_step1"));
    assert_eq!(transcript.calls.len(), 1);
    assert_eq!(transcript.calls[0].name, "message");
    assert_eq!(transcript.calls[0].output.as_deref(), Some("ok"));
    assert_eq!(script::reply(&transcript), final_text("done"));
}

#[test]
fn failed_tool_still_ends_with_done() {
    let transcript = transcript_of(fixture!("tool_failed_step1"));
    assert_eq!(
        transcript.calls[0].output.as_deref(),
        Some("delivery failed: channel offline")
    );
    assert_eq!(script::reply(&transcript), final_text("done"));
}

#[test]
fn send_passes_channel_and_target() {
    assert_eq!(
        reply_to(fixture!("send_step0")),
        message(json!({
            "action": "send", "channel": "webchat", "target": "alice", "message": "hi alice",
        }))
    );
}

#[test]
fn shell_runs_exec_command_then_sends_output_then_done() {
    assert_eq!(
        reply_to(fixture!("shell_step0")),
        Reply::Respond(vec![Output::Call {
            name: "exec_command",
            arguments: json!({ "cmd": "echo hi", "login": false, "yield_time_ms": 30000 }),
        }])
    );
    let after_exec = transcript_of(fixture!("shell_step1"));
    assert_eq!(after_exec.calls[0].name, "exec_command");
    assert_eq!(
        script::reply(&after_exec),
        message(json!({ "action": "send", "message": "hi" }))
    );
    assert_eq!(reply_to(fixture!("shell_step2")), final_text("done"));
}

#[test]
fn shell_failure_reports_output_and_exit_code() {
    assert_eq!(
        reply_to(fixture!("shell_exit3_step1")),
        message(json!({ "action": "send", "message": "out\nerr\n(exit code 3)" }))
    );
}

#[test]
fn escalate_asks_the_shell_tool_for_escalation_then_sends_output_then_done() {
    assert_eq!(
        script::reply(&transcript_after("/escalate touch /x/y", &[])),
        Reply::Respond(vec![Output::Call {
            name: "exec_command",
            arguments: json!({
                "cmd": "touch /x/y",
                "login": false,
                "yield_time_ms": 30000,
                "sandbox_permissions": "require_escalated",
                "justification": ESCALATE_JUSTIFICATION,
            }),
        }])
    );
    let ran = "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\ntouched\n";
    assert_eq!(
        script::reply(&transcript_after(
            "/escalate touch /x/y",
            &[("exec_command", ran)]
        )),
        message(json!({ "action": "send", "message": "touched" }))
    );
    let declined =
        r#"exec_command failed: CreateProcess { message: "Rejected(\"rejected by user\")" }"#;
    assert_eq!(
        script::reply(&transcript_after(
            "/escalate touch /x/y",
            &[("exec_command", declined)]
        )),
        message(json!({ "action": "send", "message": declined }))
    );
    assert_eq!(
        script::reply(&transcript_after(
            "/escalate touch /x/y",
            &[("exec_command", ran), ("message", "ok")]
        )),
        final_text("done")
    );
}

#[test]
fn escalate_runs_again_unescalated_when_codex_refuses_to_ask() {
    let text = "/escalate touch /x/y";
    let refused = "approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never";
    assert_eq!(
        script::reply(&transcript_after(text, &[("exec_command", refused)])),
        Reply::Respond(vec![Output::Call {
            name: "exec_command",
            arguments: json!({ "cmd": "touch /x/y", "login": false, "yield_time_ms": 30000 }),
        }])
    );
    let ran = "Process exited with code 0\nOutput:\n";
    let both = [("exec_command", refused), ("exec_command", ran)];
    assert_eq!(
        script::reply(&transcript_after(text, &both)),
        message(json!({ "action": "send", "message": "(no output)" }))
    );
    let done = [
        ("exec_command", refused),
        ("exec_command", ran),
        ("message", "ok"),
    ];
    assert_eq!(
        script::reply(&transcript_after(text, &done)),
        final_text("done")
    );
    // In a sequence the next directive follows its three calls.
    let sequence = "/escalate touch /x/y\n/say after";
    assert_eq!(
        script::reply(&transcript_after(sequence, &done)),
        message(json!({ "action": "send", "message": "after" }))
    );
}

/// The `apply_patch` here-document `/edit` runs with the shell tool.
fn patch_call(patch: &str) -> Reply {
    Reply::Respond(vec![Output::Call {
        name: "exec_command",
        arguments: json!({
            "cmd": format!("apply_patch <<'PATCH'\n{patch}PATCH"),
            "login": false,
            "yield_time_ms": 30000,
        }),
    }])
}

/// Tool outputs of Codex 0.169's intercepted `apply_patch`, as measured.
const PATCH_APPLIED: &str = "Wall time: 0.0000 seconds\nOutput:\nExit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nM notes.txt\n";
const PATCH_NO_FILE: &str = "apply_patch verification failed: Failed to read file to update /w/notes.txt: No such file or directory (os error 2)";

#[test]
fn edit_appends_to_an_existing_file_then_sends_edited() {
    let text = "/edit notes.txt a new line";
    assert_eq!(
        script::reply(&transcript_after(text, &[])),
        patch_call("*** Begin Patch\n*** Update File: notes.txt\n@@\n+a new line\n*** End Patch\n")
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[("exec_command", PATCH_APPLIED)])),
        message(json!({ "action": "send", "message": "edited notes.txt" }))
    );
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[("exec_command", PATCH_APPLIED), ("message", "ok")]
        )),
        final_text("done")
    );
}

#[test]
fn edit_creates_a_missing_file_with_a_second_patch() {
    let text = "/edit sub/notes.txt x";
    assert_eq!(
        script::reply(&transcript_after(text, &[("exec_command", PATCH_NO_FILE)])),
        patch_call("*** Begin Patch\n*** Add File: sub/notes.txt\n+x\n*** End Patch\n")
    );
    let created = [
        ("exec_command", PATCH_NO_FILE),
        ("exec_command", PATCH_APPLIED),
    ];
    assert_eq!(
        script::reply(&transcript_after(text, &created)),
        message(json!({ "action": "send", "message": "edited sub/notes.txt" }))
    );
    let done = [
        ("exec_command", PATCH_NO_FILE),
        ("exec_command", PATCH_APPLIED),
        ("message", "ok"),
    ];
    assert_eq!(
        script::reply(&transcript_after(text, &done)),
        final_text("done")
    );
}

#[test]
fn edit_reports_a_patch_that_was_not_applied() {
    let declined = "patch rejected by user";
    assert_eq!(
        script::reply(&transcript_after(
            "/edit notes.txt x",
            &[("exec_command", declined)]
        )),
        message(
            json!({ "action": "send", "message": "not edited notes.txt: patch rejected by user" })
        )
    );
}

#[test]
fn edit_in_a_sequence_hands_on_after_its_own_calls() {
    let text = "/edit a.txt x\n/say after";
    // The file existed: two calls, then `/say`.
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[("exec_command", PATCH_APPLIED), ("message", "ok")]
        )),
        message(json!({ "action": "send", "message": "after" }))
    );
    // It did not: three calls, then `/say`.
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[
                ("exec_command", PATCH_NO_FILE),
                ("exec_command", PATCH_APPLIED),
                ("message", "ok"),
            ]
        )),
        message(json!({ "action": "send", "message": "after" }))
    );
}

#[test]
fn stream_streams_words_and_a_call_in_one_response_then_done() {
    assert_eq!(
        reply_to(fixture!("stream_step0")),
        Reply::Respond(vec![
            Output::Words {
                count: 3,
                gap: Duration::from_millis(50)
            },
            Output::Call {
                name: "message",
                arguments: json!({ "action": "send", "message": "streamed 3" }),
            },
        ])
    );
    let after = transcript_of(fixture!("stream_step1"));
    assert_eq!(after.calls.len(), 1);
    assert_eq!(script::reply(&after), final_text("done"));
}

#[test]
fn after_an_interrupt_the_new_message_counts() {
    let transcript = transcript_of(fixture!("after_interrupt_step0"));
    assert_eq!(transcript.user_text.as_deref(), Some("after interrupt"));
    assert!(transcript.calls.is_empty());
}

#[test]
fn turn_aborted_marker_is_not_user_text() {
    // Drop the new message: the latest user-role item is then Codex's `<turn_aborted>` note,
    // and the real text is the interrupted `/stream`.
    let body = with_input(fixture!("after_interrupt_step0"), |input| {
        input.pop();
    });
    let last = body["input"].as_array().and_then(|i| i.last()).cloned();
    let last_text = last
        .as_ref()
        .and_then(|item| item["content"][0]["text"].as_str())
        .unwrap_or_default();
    assert!(last_text.starts_with("<turn_aborted>"), "{last_text}");
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.user_text.as_deref(), Some("/stream 100 200"));
}

#[test]
fn a_steer_message_restarts_the_script() {
    assert_eq!(reply_to(fixture!("steer_step0")), final_text("steered"));
}

#[test]
fn injected_context_after_the_user_message_is_skipped() {
    let body = with_input(fixture!("default_step0"), |input| {
        input.push(user_message(
            "<environment_context>\n  <cwd>/elsewhere</cwd>\n</environment_context>",
        ));
    });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.user_text.as_deref(), Some("hello there"));
}

#[test]
fn a_background_runs_context_part_is_not_user_text() {
    // The gateway adds a second text part to a background run's prompt; the directives are the
    // prompt's alone.
    let context = crate::gateway::threads::background_context(
        "schedule nightly",
        "webhook (targets: ops)",
        None,
    );
    let body = json!({ "input": [{
        "type": "message", "role": "user",
        "content": [
            { "type": "input_text", "text": "/send webhook ops hi" },
            { "type": "input_text", "text": context },
        ],
    }] });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(
        transcript.user_text.as_deref(),
        Some("/send webhook ops hi")
    );
}

#[test]
fn agents_md_and_environment_context_are_not_user_text() {
    // The first user-role item of a thread packs AGENTS.md and `<environment_context>` together.
    let body = with_input(fixture!("default_step0"), |input| {
        input.pop();
    });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.user_text, None);
    assert!(matches!(script::reply(&transcript), Reply::Respond(outputs)
        if matches!(outputs.as_slice(), [Output::Text(_)])));
}

#[test]
fn user_text_that_merely_looks_like_markup_is_real() {
    let body = json!({ "input": [user_message("<b>bold</b>")] });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.user_text.as_deref(), Some("<b>bold</b>"));
}

#[test]
fn fail_fails_at_any_step() {
    let body = with_input(fixture!("default_step1"), |input| {
        input.push(user_message("/fail"));
    });
    assert_eq!(
        script::reply(&request::transcript(&body).expect("parses")),
        Reply::Fail
    );
}

// --- Directive sequences ------------------------------------------------------------------

#[test]
fn sequence_of_say_and_send_runs_each_in_turn_then_done() {
    let text = "/say first\n/send webhook ops second";
    assert_eq!(
        script::reply(&transcript_after(text, &[])),
        message(json!({ "action": "send", "message": "first" }))
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[("message", "ok")])),
        message(json!({
            "action": "send", "channel": "webhook", "target": "ops", "message": "second",
        }))
    );
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[("message", "ok"), ("message", "ok")]
        )),
        final_text("done")
    );
}

#[test]
fn sequence_with_shell_runs_the_command_reports_it_then_goes_on() {
    let text = "/shell echo hi\n/say after";
    assert_eq!(
        script::reply(&transcript_after(text, &[])),
        Reply::Respond(vec![Output::Call {
            name: "exec_command",
            arguments: json!({ "cmd": "echo hi", "login": false, "yield_time_ms": 30000 }),
        }])
    );
    let exec = (
        "exec_command",
        "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\nhi\n",
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[exec])),
        message(json!({ "action": "send", "message": "hi" }))
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[exec, ("message", "ok")])),
        message(json!({ "action": "send", "message": "after" }))
    );
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[exec, ("message", "ok"), ("message", "ok")]
        )),
        final_text("done")
    );
}

#[test]
fn final_in_the_middle_of_a_sequence_ends_the_turn_there() {
    let text = "/say one\n/final stop\n/say never";
    assert_eq!(
        script::reply(&transcript_after(text, &[])),
        message(json!({ "action": "send", "message": "one" }))
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[("message", "ok")])),
        final_text("stop")
    );
    // Even with more calls than the script made, the directives after `/final` never run.
    assert_eq!(
        script::reply(&transcript_after(
            text,
            &[("message", "ok"), ("message", "ok")]
        )),
        final_text("stop")
    );
}

#[test]
fn stream_in_a_sequence_streams_and_calls_in_one_response() {
    let text = "/stream 2 0\n/say next";
    assert_eq!(
        script::reply(&transcript_after(text, &[])),
        Reply::Respond(vec![
            Output::Words {
                count: 2,
                gap: Duration::ZERO,
            },
            Output::Call {
                name: "message",
                arguments: json!({ "action": "send", "message": "streamed 2" }),
            },
        ])
    );
    assert_eq!(
        script::reply(&transcript_after(text, &[("message", "ok")])),
        message(json!({ "action": "send", "message": "next" }))
    );
}

#[test]
fn sequences_need_a_directive_on_every_non_empty_line() {
    assert_eq!(
        script::parse_script("/say a\n\n  /send last b\n"),
        vec![
            Directive::Say("a".into()),
            Directive::Send {
                channel: "last".into(),
                target: None,
                text: "b".into(),
            },
        ]
    );
    for (text, expected) in [
        ("/say hello\nworld", Directive::Say("hello\nworld".into())),
        ("/say a\n/sayb", Directive::Say("a\n/sayb".into())),
        ("\n/say alone\n", Directive::Say("alone".into())),
        (
            "first line\nsecond line",
            Directive::Echo("first line\nsecond line".into()),
        ),
    ] {
        assert_eq!(script::parse_script(text), vec![expected], "{text:?}");
    }
    assert_eq!(
        script::reply(&transcript_after("/say hello\nworld", &[])),
        message(json!({ "action": "send", "message": "hello\nworld" }))
    );
    assert_eq!(
        script::reply(&transcript_after("plain\ntext", &[])),
        message(json!({ "action": "send", "message": "Echo: plain\ntext" }))
    );
}

// --- /send last ------------------------------------------------------------------------------

#[test]
fn send_last_takes_the_rest_as_text_and_sends_no_target() {
    assert_eq!(
        script::parse_directive("/send last hello world"),
        Directive::Send {
            channel: "last".into(),
            target: None,
            text: "hello world".into(),
        }
    );
    let Reply::Respond(outputs) = script::reply(&transcript_after("/send last hello world", &[]))
    else {
        panic!("expected a response");
    };
    let [Output::Call { name, arguments }] = outputs.as_slice() else {
        panic!("expected one call: {outputs:?}");
    };
    assert_eq!(*name, "message");
    assert_eq!(
        *arguments,
        json!({ "action": "send", "channel": "last", "message": "hello world" })
    );
    assert!(arguments.get("target").is_none(), "{arguments}");
    // Only the exact word: other channels still need a target.
    assert_eq!(
        script::parse_directive("/send Last bob hi"),
        Directive::Send {
            channel: "Last".into(),
            target: Some("bob".into()),
            text: "hi".into(),
        }
    );
}

#[test]
fn send_last_without_text_is_usage() {
    assert_eq!(
        SEND_USAGE,
        "usage: /send <channel> <target> <text> (or /send last <text>)"
    );
    for text in ["/send last", "/send last   "] {
        assert_eq!(
            script::parse_directive(text),
            Directive::Usage(SEND_USAGE),
            "{text:?}"
        );
    }
    assert_eq!(
        script::reply(&transcript_after("/send last", &[])),
        final_text(SEND_USAGE)
    );
}

// --- Directive parsing ----------------------------------------------------------------------

#[test]
fn directives_parse() {
    let cases: Vec<(&str, Directive)> = vec![
        ("hello", Directive::Echo("hello".into())),
        ("/sayhello", Directive::Echo("/sayhello".into())),
        ("/Say hi", Directive::Echo("/Say hi".into())),
        ("/unknown x", Directive::Echo("/unknown x".into())),
        ("", Directive::Echo(String::new())),
        ("/say  hi  there ", Directive::Say("hi  there".into())),
        ("/say\nline1\nline2", Directive::Say("line1\nline2".into())),
        ("  /final 42", Directive::Final("42".into())),
        (
            "/shell ls -la | head",
            Directive::Shell("ls -la | head".into()),
        ),
        (
            "/escalate touch /etc/x",
            Directive::Escalate("touch /etc/x".into()),
        ),
        ("/escalate  ", Directive::Usage(ESCALATE_USAGE)),
        (
            "/edit notes.txt  two  words ",
            Directive::Edit {
                path: "notes.txt".into(),
                text: "two  words".into(),
            },
        ),
        ("/edit notes.txt", Directive::Usage(EDIT_USAGE)),
        ("/edit", Directive::Usage(EDIT_USAGE)),
        (
            "/send webchat alice hello  there",
            Directive::Send {
                channel: "webchat".into(),
                target: Some("alice".into()),
                text: "hello  there".into(),
            },
        ),
        (
            "/stream 3 50",
            Directive::Stream {
                words: 3,
                gap_ms: 50,
            },
        ),
        (
            "/stream 0 0",
            Directive::Stream {
                words: 0,
                gap_ms: 0,
            },
        ),
        (
            "/stream 20000 70000",
            Directive::Stream {
                words: 10_000,
                gap_ms: 60_000,
            },
        ),
        (
            "/stream 99999999999999999999999 1",
            Directive::Stream {
                words: 10_000,
                gap_ms: 1,
            },
        ),
        ("/markdown", Directive::Markdown),
        ("/markdown please", Directive::Markdown),
        ("/fail", Directive::Fail),
        ("/fail now", Directive::Fail),
        ("/offline", Directive::Offline),
        ("/flaky 2", Directive::Flaky(2)),
        ("/flaky 0", Directive::Flaky(0)),
        ("/flaky", Directive::Usage(script::FLAKY_USAGE)),
        ("/flaky 5", Directive::Usage(script::FLAKY_USAGE)),
        ("/flaky two", Directive::Usage(script::FLAKY_USAGE)),
    ];
    for (text, expected) in cases {
        assert_eq!(script::parse_directive(text), expected, "{text:?}");
    }
}

#[test]
fn malformed_directives_answer_with_usage() {
    for text in [
        "/stream",
        "/stream 5",
        "/stream five 10",
        "/stream -1 10",
        "/stream 1.5 10",
        "/stream 1 2 3",
    ] {
        assert_eq!(
            script::parse_directive(text),
            Directive::Usage(STREAM_USAGE),
            "{text:?}"
        );
    }
    for text in [
        "/say",
        "/say   ",
        "/final",
        "/shell",
        "/send",
        "/send a",
        "/send a b",
    ] {
        assert!(
            matches!(script::parse_directive(text), Directive::Usage(line) if line.starts_with("usage: ")),
            "{text:?}"
        );
    }
    let transcript =
        request::transcript(&json!({ "input": [user_message("/stream x")] })).expect("parses");
    assert_eq!(script::reply(&transcript), final_text(STREAM_USAGE));
}

#[test]
fn stream_of_zero_words_only_calls_message() {
    let transcript =
        request::transcript(&json!({ "input": [user_message("/stream 0 10")] })).expect("parses");
    assert_eq!(
        script::reply(&transcript),
        message(json!({ "action": "send", "message": "streamed 0" }))
    );
}

#[test]
fn markdown_sample_has_every_required_part() {
    for part in [
        "# Markdown sample\n",
        "\n- ",
        "|---|",
        "```rust",
        "](https://",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
    ] {
        assert!(MARKDOWN_SAMPLE.contains(part), "missing {part:?}");
    }
    let transcript =
        request::transcript(&json!({ "input": [user_message("/markdown")] })).expect("parses");
    assert_eq!(
        script::reply(&transcript),
        message(json!({ "action": "send", "message": MARKDOWN_SAMPLE }))
    );
}

// --- Shell output extraction --------------------------------------------------------------

fn shell_call(output: Option<&str>) -> PastCall {
    PastCall {
        name: "exec_command".into(),
        call_id: "call_1".into(),
        output: output.map(str::to_owned),
    }
}

#[test]
fn shell_report_unwraps_codex_exec_output() {
    let cases = [
        (
            "Chunk ID: 6c918f\nWall time: 0.1258 seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\nhi\n",
            "hi",
        ),
        (
            "Chunk ID: 24d16d\nWall time: 10.0037 seconds\nProcess running with session ID 85847\nOriginal token count: 0\nOutput:\n",
            "(no output)\n(still running)",
        ),
        (
            "Chunk ID: 1\nWall time: 0.2 seconds\nProcess exited with code 0\nOriginal token count: 0\nOutput:\n",
            "(no output)",
        ),
        (
            "Chunk ID: 874881\nWall time: 0.1105 seconds\nProcess exited with code 0\nOriginal token count: 42224\nOutput:\nWarning: truncated output (original token count: 42224)\nTotal output lines: 30000\n\n1\n2\n",
            "Warning: truncated output (original token count: 42224)\nTotal output lines: 30000\n\n1\n2",
        ),
        (
            "Exit code: 2\nWall time: 0.1 seconds\nOutput:\nno such file\n",
            "no such file\n(exit code 2)",
        ),
        // Not Codex's wrapper: passed on as it is.
        (
            "Command blocked by PreToolUse hook: not allowed. Command: rm -rf x",
            "Command blocked by PreToolUse hook: not allowed. Command: rm -rf x",
        ),
        ("Output:\nplain\n", "Output:\nplain"),
        ("just text\nOutput:\nmore\n", "just text\nOutput:\nmore"),
        ("", "(no output)"),
    ];
    for (raw, expected) in cases {
        assert_eq!(
            script::shell_report(&shell_call(Some(raw))),
            expected,
            "{raw:?}"
        );
    }
    assert_eq!(
        script::shell_report(&shell_call(None)),
        "(the command returned no result)"
    );
}

// --- Hostile and odd request bodies -------------------------------------------------------

#[test]
fn unreadable_bodies_are_errors_not_panics() {
    assert!(matches!(
        request::parse_body(b"{not json"),
        Err(RequestError::Json(_))
    ));
    assert!(matches!(
        request::parse_body(&[0xff, 0xfe, 0x00]),
        Err(RequestError::Json(_))
    ));
    for body in [
        "null",
        "[]",
        "42",
        "\"text\"",
        "{}",
        r#"{"input": 5}"#,
        r#"{"input": null}"#,
        r#"{"input": {"role": "user"}}"#,
    ] {
        assert_eq!(
            request::parse_body(body.as_bytes()),
            Err(RequestError::MissingInput),
            "{body}"
        );
    }
}

#[test]
fn odd_items_never_panic() {
    let body = json!({
        "model": 7,
        "input": [
            1, "x", null, [], {},
            { "type": 5 },
            { "type": "message", "role": "user" },
            { "type": "message", "role": "user", "content": 5 },
            { "type": "message", "role": "user", "content": [1, {"type": "input_image"}, {"text": 3}] },
            { "role": "user", "content": "easy input /say hi" },
            { "type": "function_call" },
            { "type": "function_call", "name": "exec_command", "call_id": "c1", "arguments": 3 },
            { "type": "function_call_output", "call_id": "c1", "output": {"weird": true} },
            { "type": "function_call_output", "call_id": "unknown", "output": "orphan" },
            { "type": "function_call_output" },
        ],
    });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(transcript.model, None);
    assert_eq!(transcript.user_text.as_deref(), Some("easy input /say hi"));
    assert_eq!(transcript.calls.len(), 2);
    assert_eq!(
        transcript.calls[1].output.as_deref(),
        Some(r#"{"weird":true}"#)
    );
    // Two calls after a default message: the script is past its end and says done.
    assert_eq!(script::reply(&transcript), final_text("done"));
}

#[test]
fn string_input_and_content_forms_are_read() {
    let transcript = request::transcript(&json!({ "input": "/final hi" })).expect("parses");
    assert_eq!(script::reply(&transcript), final_text("hi"));
    let body = json!({ "input": [{ "type": "message", "role": "user", "content": "/say plain" }] });
    assert_eq!(
        script::reply(&request::transcript(&body).expect("parses")),
        message(json!({ "action": "send", "message": "plain" }))
    );
    let parts = json!({ "input": [{
        "type": "message", "role": "user",
        "content": [{ "type": "input_text", "text": "/say a" }, { "type": "input_text", "text": "b" }],
    }] });
    assert_eq!(
        request::transcript(&parts)
            .expect("parses")
            .user_text
            .as_deref(),
        Some("/say a\nb")
    );
    let array_output = json!({ "input": [
        user_message("/shell echo x"),
        { "type": "function_call", "name": "exec_command", "call_id": "c", "arguments": "{}" },
        { "type": "function_call_output", "call_id": "c", "output": [{ "type": "input_text", "text": "Output:\nx" }] },
    ] });
    assert_eq!(
        request::transcript(&array_output).expect("parses").calls[0]
            .output
            .as_deref(),
        Some("Output:\nx")
    );
}

// --- Config -----------------------------------------------------------------------------

#[test]
fn config_toml_has_the_demo_provider() {
    let text = codex_config_toml("http://127.0.0.1:4321/v1", "workspace-write");
    let config: toml::Table = toml::from_str(&text).expect("valid TOML");
    assert_eq!(config["model"].as_str(), Some("demo-model"));
    assert_eq!(config["model_provider"].as_str(), Some("demo"));
    assert_eq!(config["approval_policy"].as_str(), Some("never"));
    assert_eq!(config["sandbox_mode"].as_str(), Some("workspace-write"));
    let provider = &config["model_providers"]["demo"];
    assert_eq!(
        provider["base_url"].as_str(),
        Some("http://127.0.0.1:4321/v1")
    );
    assert_eq!(provider["wire_api"].as_str(), Some("responses"));
    assert_eq!(provider["request_max_retries"].as_integer(), Some(0));
    assert_eq!(provider["stream_max_retries"].as_integer(), Some(5));
    assert_eq!(
        provider["stream_idle_timeout_ms"].as_integer(),
        Some(120_000)
    );
    assert!(provider.get("env_key").is_none());
    let features = &config["features"];
    for flag in ["plugins", "apps", "unbounded_connection_retries"] {
        assert_eq!(features[flag].as_bool(), Some(false), "{flag}");
    }
    assert_eq!(config["analytics"]["enabled"].as_bool(), Some(false));
    // `/plan` needs Codex to offer `update_plan`, which it does not to an unknown model.
    assert_eq!(
        config["tools"]["update_plan"]["enabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn config_toml_escapes_its_arguments() {
    let odd = "http://x/\"quoted\"\\path\n[evil]\u{1}";
    let text = codex_config_toml(odd, "read-only\"\nmodel = \"other\"");
    let config: toml::Table = toml::from_str(&text).expect("valid TOML");
    assert_eq!(
        config["model_providers"]["demo"]["base_url"].as_str(),
        Some(odd)
    );
    assert_eq!(config["model"].as_str(), Some("demo-model"));
}

// --- SSE rendering ------------------------------------------------------------------------

fn context(stop: watch::Receiver<bool>) -> sse::StreamContext {
    sse::StreamContext {
        ids: sse::ResponseIds::new("t_1".into()),
        model: "demo-model".into(),
        input_tokens: 12,
        stop,
    }
}

/// Splits an SSE body into (event name, data) pairs, checking the framing as it goes.
fn frames(body: &str) -> Vec<(String, Value)> {
    assert!(body.ends_with("\n\n"), "body ends mid-frame");
    body.split_terminator("\n\n")
        .map(|frame| {
            let (event, data) = frame.split_once('\n').expect("two lines");
            let event = event.strip_prefix("event: ").expect("event line");
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").expect("data line"))
                .expect("JSON data");
            assert_eq!(data["type"].as_str(), Some(event));
            (event.to_owned(), data)
        })
        .collect()
}

async fn render(outputs: Vec<Output>, stop: watch::Receiver<bool>) -> String {
    let chunks: Vec<_> = sse::events(outputs, context(stop)).collect().await;
    chunks
        .into_iter()
        .map(|chunk| String::from_utf8(chunk.expect("infallible").to_vec()).expect("UTF-8"))
        .collect()
}

#[tokio::test]
async fn sse_stream_is_well_formed() {
    let (_stop, stop_rx) = watch::channel(false);
    let body = render(
        vec![
            Output::Words {
                count: 3,
                gap: Duration::from_millis(1),
            },
            Output::Call {
                name: "message",
                arguments: json!({ "action": "send", "message": "streamed 3" }),
            },
        ],
        stop_rx,
    )
    .await;
    let frames = frames(&body);
    let names: Vec<&str> = frames.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (index, (_, data)) in frames.iter().enumerate() {
        assert_eq!(data["sequence_number"].as_u64(), Some(index as u64));
    }
    let deltas: Vec<&str> = frames
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .map(|(_, data)| {
            assert_eq!(data["item_id"], "msg_t_1_0");
            assert_eq!(data["output_index"], 0);
            assert_eq!(data["content_index"], 0);
            data["delta"].as_str().expect("delta")
        })
        .collect();
    assert_eq!(deltas, ["word1", " word2", " word3"]);
    let call = &frames[12].1["item"];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["id"], "fc_t_1_1");
    assert_eq!(call["call_id"], "call_t_1_1");
    assert_eq!(call["name"], "message");
    let arguments: Value =
        serde_json::from_str(call["arguments"].as_str().expect("string")).expect("JSON");
    assert_eq!(
        arguments,
        json!({ "action": "send", "message": "streamed 3" })
    );
    let completed = &frames[13].1["response"];
    assert_eq!(completed["id"], "resp_t_1");
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"].as_array().map(Vec::len), Some(2));
    assert_eq!(completed["usage"]["input_tokens"], 12);
    assert!(completed["usage"]["total_tokens"].as_u64() > Some(12));
}

#[tokio::test]
async fn shutdown_ends_a_slow_stream() {
    // The gap is an hour, so only the stop can end the stream, and the bound (far under the gap,
    // far over what a busy machine needs) cannot be reached by a stream that does stop.
    let (stop, stop_rx) = watch::channel(false);
    let rendering = tokio::spawn(render(
        vec![Output::Words {
            count: 100,
            gap: Duration::from_secs(3600),
        }],
        stop_rx,
    ));
    // On this single-threaded runtime the renderer runs (and writes the first word) as soon as
    // the test yields.
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(true).expect("renderer listens");
    let body = tokio::time::timeout(Duration::from_secs(60), rendering)
        .await
        .expect("stream stops promptly")
        .expect("task ok");
    assert!(body.contains("\"word1\""));
    assert!(!body.contains("response.completed"));
}

// --- The server -------------------------------------------------------------------------

/// Sends a raw HTTP/1.1 POST and returns the open connection.
async fn post(model: &DemoModel, body: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(model.addr)
        .await
        .expect("connect");
    let request = format!(
        "POST /v1/responses HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        model.addr,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    stream
}

#[tokio::test]
async fn client_hang_up_ends_a_slow_stream_at_once() {
    let model = DemoModel::start().await.expect("start");
    // A minute between words (the most `/stream` allows): only the hang-up can end the stream
    // within the bound below, which is far over what a busy machine needs.
    let body = json!({ "input": [user_message("/stream 1000 60000")] }).to_string();
    let mut connection = post(&model, &body).await;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"word1\"") {
        let read = tokio::time::timeout(Duration::from_secs(30), connection.read(&mut buffer))
            .await
            .expect("first word in time")
            .expect("read");
        assert!(read > 0, "connection closed early");
        seen.extend_from_slice(&buffer[..read]);
    }
    assert_eq!(
        model
            .shared
            .open_streams
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    drop(connection);
    let closed = async {
        while model
            .shared
            .open_streams
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), closed)
        .await
        .expect("the stream ends when the client hangs up, not a minute later");
    assert_eq!(model.requests_served(), 1);
    model.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_prompt_with_a_stream_open() {
    let model = DemoModel::start().await.expect("start");
    let body = json!({ "input": [user_message("/stream 1000 60000")] }).to_string();
    let mut connection = post(&model, &body).await;
    let mut buffer = [0u8; 4096];
    let read = connection.read(&mut buffer).await.expect("read");
    assert!(read > 0);
    // The stream would run for hours. Shutdown gives the server a grace period before aborting
    // it: ending sooner shows the stream stopped by itself (the grace is far over what a busy
    // machine needs to stop it; the timeout only guards against a hang).
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(60), model.shutdown())
        .await
        .expect("shutdown ends");
    let took = started.elapsed();
    assert!(
        took < super::SHUTDOWN_GRACE,
        "shutdown waited for the stream: {took:?}"
    );
}

// --- /plan and /think ---------------------------------------------------------------------

#[test]
fn plan_walks_three_steps_one_per_request_then_sends_planned() {
    let statuses = |reply: &Reply| -> Vec<String> {
        let Reply::Respond(outputs) = reply else {
            panic!("{reply:?}")
        };
        let [Output::Call { name, arguments }] = outputs.as_slice() else {
            panic!("{outputs:?}")
        };
        assert_eq!(*name, PLAN_TOOL);
        assert!(arguments["explanation"].is_string());
        arguments["plan"]
            .as_array()
            .expect("plan")
            .iter()
            .map(|s| s["status"].as_str().expect("status").to_owned())
            .collect()
    };
    let mut calls: Vec<(&str, &str)> = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let reply = script::reply(&transcript_after("/plan", &calls));
        seen.push(statuses(&reply).join(","));
        calls.push((PLAN_TOOL, "Plan updated"));
    }
    assert_eq!(
        seen,
        [
            "in_progress,pending,pending",
            "completed,in_progress,pending",
            "completed,completed,in_progress",
            "completed,completed,completed",
        ]
    );
    assert_eq!(
        script::reply(&transcript_after("/plan", &calls)),
        message(json!({ "action": "send", "message": PLANNED }))
    );
    calls.push(("message", "ok"));
    assert_eq!(
        script::reply(&transcript_after("/plan", &calls)),
        final_text("done")
    );
}

#[test]
fn think_answers_with_a_reasoning_summary_and_sends_thought() {
    assert_eq!(
        script::parse_directive("/think  why not "),
        Directive::Think("why not".into())
    );
    assert_eq!(
        script::parse_directive("/think"),
        Directive::Usage(THINK_USAGE)
    );
    assert_eq!(
        script::reply(&transcript_after("/think why", &[])),
        Reply::Respond(vec![
            Output::Reasoning("why".into()),
            Output::Call {
                name: "message",
                arguments: json!({ "action": "send", "message": THOUGHT }),
            },
        ])
    );
    assert_eq!(
        script::reply(&transcript_after("/think why", &[("message", "ok")])),
        final_text("done")
    );
}

#[test]
fn plan_and_think_run_in_a_sequence() {
    assert_eq!(
        script::parse_script("/think first\n/plan\n/say after"),
        [
            Directive::Think("first".into()),
            Directive::Plan,
            Directive::Say("after".into())
        ]
    );
    // /think's one call done, /plan's five done: /say is next.
    let mut calls = vec![("message", "ok")];
    calls.extend([(PLAN_TOOL, "Plan updated"); 4]);
    calls.push(("message", "ok"));
    assert_eq!(
        script::reply(&transcript_after("/think first\n/plan\n/say after", &calls)),
        message(json!({ "action": "send", "message": "after" }))
    );
}

#[tokio::test]
async fn a_reasoning_output_streams_as_a_summary() {
    let (_stop, stop_rx) = watch::channel(false);
    let body = render(vec![Output::Reasoning("why <b>".into())], stop_rx).await;
    let frames = frames(&body);
    let names: Vec<&str> = frames.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(frames[3].1["delta"], "why <b>");
    assert_eq!(frames[3].1["item_id"], "rs_t_1_0");
    let item = &frames[6].1["item"];
    assert_eq!(item["type"], "reasoning");
    assert_eq!(
        item["summary"],
        json!([{ "type": "summary_text", "text": "why <b>" }])
    );
    assert_eq!(frames[7].1["response"]["output"][0], *item);
}

#[test]
fn without_a_message_tool_the_reply_is_plain_text() {
    // A thread made outside codex-webchat (opened from Codex's home) has no `message` tool.
    let body = json!({
        "input": [user_message("hello there")],
        "tools": [{"type": "function", "name": "exec_command"}],
    });
    let transcript = request::transcript(&body).expect("parses");
    assert!(transcript.no_message_tool);
    assert_eq!(script::reply(&transcript), final_text("Echo: hello there"));
    // With the tool listed (every thread we start), the reply is a `message` call as before.
    let body = json!({
        "input": [user_message("hello there")],
        "tools": [{"type": "function", "name": "message"}],
    });
    let transcript = request::transcript(&body).expect("parses");
    assert_eq!(
        script::reply(&transcript),
        message(json!({ "action": "send", "message": "Echo: hello there" }))
    );
}
