//! Tests of the terminal client without a terminal: every card kind drawn into a ratatui
//! `TestBackend` and read back as text, hostile text that must not reach the screen raw, the key
//! bindings and the updates from the connection, and the sign-in screen (its masked key, the
//! device code from the account's push, a failure, the requests its keys make).

use std::time::Duration;

use ::app::wire::{
    AccountStatus, ApprovalDecision, ApprovalKind, ApprovalState, CodexHealth, DeliveryStatus,
    Event, EventBody, Login, Mode, NoticeLevel, RelayDecision, RunOutcome, Seq, SessionKey,
    SessionSummary, SignIn, ToolStatus,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::{App, Connection, Request};
use super::render;
use super::signin::{AccountRequest, ApiKey};
use crate::client::{Command, Update};

mod lookup;
mod picker;

fn key_of(raw: &str) -> SessionKey {
    SessionKey::parse(raw).unwrap()
}

fn session() -> SessionKey {
    key_of("s1")
}

fn ev(seq: u64, body: EventBody) -> Event {
    Event {
        seq: Seq(seq),
        at_ms: 0,
        run: Some("r1".into()),
        private: false,
        body,
    }
}

fn user(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventBody::UserMessage {
            text: text.into(),
            client_id: format!("c{seq}"),
            source: app::wire::Source::Tui,
            steered: false,
            images: Vec::new(),
        },
    )
}

fn assistant(seq: u64, text: &str) -> Event {
    ev(
        seq,
        EventBody::AssistantMessage {
            text: text.into(),
            html: None,
            call_id: None,
        },
    )
}

fn run_started(seq: u64) -> Event {
    ev(
        seq,
        EventBody::RunStarted {
            run_id: "r1".into(),
            for_seq: None,
            background: None,
        },
    )
}

fn approval(seq: u64, kind: ApprovalKind, for_session: bool) -> Event {
    ev(
        seq,
        EventBody::ApprovalRequested {
            kind,
            item_id: Some("call_1".into()),
            subject: if kind == ApprovalKind::Question {
                "Favourite colour?".into()
            } else {
                "rm -rf build".into()
            },
            cwd: Some("/work/tree".into()),
            reason: Some("wants out of the sandbox".into()),
            changes: if kind == ApprovalKind::FileChange {
                vec![crate::gateway::diff::present_file(
                    &crate::store::record::StoredDiff {
                        path: "src/lib.rs".into(),
                        kind: "update".into(),
                        diff: "@@ -1,2 +1,2 @@\n keep\n-old line\n+new line\n".into(),
                    },
                )]
            } else {
                Vec::new()
            },
            for_session,
        },
    )
}

/// An app on session `s1` with `events` applied, connected.
fn app_with(events: Vec<Event>) -> App {
    let mut app = App::new("http://127.0.0.1:3000", Some(session()));
    app.update(Update::Connected);
    app.update(Update::Sessions(vec![SessionSummary {
        key: session(),
        title: "My chat".into(),
        updated_ms: 1,
        last_channel: None,
        mode: Mode::Ask,
        workspace: String::new(),
        model: None,
        effort: None,
        usage: None,
        archived: false,
    }]));
    for event in events {
        assert!(app
            .update(Update::Event {
                session: session(),
                event,
            })
            .is_empty());
    }
    app
}

/// The screen as text rows.
fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render::render(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| {
                    buffer.content()[usize::from(y) * usize::from(width) + usize::from(x)].symbol()
                })
                .collect::<String>()
        })
        .collect()
}

fn text(app: &App) -> String {
    screen(app, 100, 40).join("\n")
}

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Command> {
    app.key(KeyEvent::new(code, modifiers))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_empty());
    }
}

/// The header names the session's workspace and model (and effort), "default" for what the
/// session leaves to Codex, all through the terminal escape.
#[test]
fn the_header_shows_the_workspace_model_and_effort() {
    let mut app = app_with(vec![]);
    let screen = text(&app);
    assert!(screen.contains("model: default (default)"), "{screen}");
    app.update(Update::Sessions(vec![SessionSummary {
        key: session(),
        title: "My chat".into(),
        updated_ms: 1,
        last_channel: None,
        mode: Mode::Ask,
        workspace: "proj\x1b[2Jx".into(),
        model: Some("demo-model".into()),
        effort: Some("high".into()),
        usage: None,
        archived: false,
    }]));
    let screen = text(&app);
    assert!(screen.contains("model: demo-model (high)"), "{screen}");
    assert!(screen.contains("workspace: proj"), "{screen}");
    assert!(!screen.contains('\x1b'), "{screen}");
}

#[test]
fn user_and_assistant_cards_show_their_text() {
    let app = app_with(vec![user(1, "hi"), assistant(2, "Echo: hi")]);
    let screen = text(&app);
    assert!(screen.contains("You"), "{screen}");
    assert!(screen.contains("  hi"), "{screen}");
    assert!(screen.contains("Assistant"), "{screen}");
    assert!(screen.contains("Echo: hi"), "{screen}");
    // The header: title, mode, connection.
    assert!(screen.contains("My chat"), "{screen}");
    assert!(screen.contains("mode: ask"), "{screen}");
    assert!(screen.contains("● connected"), "{screen}");
    assert!(!screen.contains("working"), "{screen}");
}

#[test]
fn assistant_markdown_is_rendered_for_a_terminal() {
    let app = app_with(vec![assistant(
        1,
        "## Plan\n\n1. first\n2. second\n\n```sh\nls -la\n```\n\n| k | v |\n|---|---|\n| a | b |\n",
    )]);
    let screen = text(&app);
    assert!(screen.contains("  Plan"), "{screen}");
    assert!(!screen.contains("## Plan"), "{screen}");
    assert!(screen.contains("1. first"), "{screen}");
    assert!(screen.contains("2. second"), "{screen}");
    assert!(screen.contains("▏ ls -la"), "{screen}");
    assert!(screen.contains("k │ v"), "{screen}");
    assert!(!screen.contains("|---|"), "{screen}");
}

#[test]
fn a_shell_card_shows_relay_status_exit_and_output() {
    let app = app_with(vec![
        run_started(1),
        ev(
            2,
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "echo hello".into(),
                relay: RelayDecision::Allowed,
                detail: None,
            },
        ),
        ev(
            3,
            EventBody::ToolFinished {
                target: Seq(2),
                status: ToolStatus::Completed,
                output: "hello\n".into(),
                exit_code: Some(0),
            },
        ),
    ]);
    let screen = text(&app);
    assert!(
        screen.contains("⚙ shell  completed  relay: allowed  exit 0"),
        "{screen}"
    );
    assert!(screen.contains("$ echo hello"), "{screen}");
    assert!(screen.contains("│ hello"), "{screen}");
    // The run has not finished: the working indicator is on.
    assert!(screen.contains("working…"), "{screen}");
}

#[test]
fn declined_and_interrupted_tool_cards_say_so() {
    let tool = |seq: u64, relay| {
        ev(
            seq,
            EventBody::ToolStarted {
                call_id: format!("c{seq}"),
                tool: "shell".into(),
                command: format!("cmd{seq}"),
                relay,
                detail: None,
            },
        )
    };
    let app = app_with(vec![
        run_started(1),
        tool(2, RelayDecision::Denied),
        ev(
            3,
            EventBody::ToolFinished {
                target: Seq(2),
                status: ToolStatus::Declined,
                output: String::new(),
                exit_code: None,
            },
        ),
        tool(4, RelayDecision::Allowed),
        ev(
            5,
            EventBody::RunFinished {
                run_id: "r1".into(),
                outcome: RunOutcome::Interrupted,
                error: None,
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("declined  relay: denied"), "{screen}");
    assert!(screen.contains("interrupted  relay: allowed"), "{screen}");
    assert!(screen.contains("Run stopped."), "{screen}");
    assert!(!screen.contains("working"), "{screen}");
}

#[test]
fn long_output_is_folded() {
    let output: String = (1..=40).map(|i| format!("line {i}\n")).collect();
    let app = app_with(vec![
        ev(
            1,
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "seq 40".into(),
                relay: RelayDecision::None,
                detail: None,
            },
        ),
        ev(
            2,
            EventBody::ToolFinished {
                target: Seq(1),
                status: ToolStatus::Completed,
                output,
                exit_code: Some(0),
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("│ line 12"), "{screen}");
    assert!(!screen.contains("line 13"), "{screen}");
    assert!(screen.contains("… 28 more lines (40 in all)"), "{screen}");
}

#[test]
fn notices_and_deliveries_are_cards() {
    let app = app_with(vec![
        ev(
            1,
            EventBody::Notice {
                level: NoticeLevel::Warning,
                text: "Codex restarted".into(),
            },
        ),
        ev(
            2,
            EventBody::Delivery {
                channel: "webhook".into(),
                target: "ops".into(),
                status: DeliveryStatus::Sent,
                attempts: 2,
                detail: "receipt 42".into(),
                updates: None,
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("! Codex restarted"), "{screen}");
    assert!(
        screen.contains("→ delivery  ✓ sent  2 attempts"),
        "{screen}"
    );
    assert!(screen.contains("sent to webhook:ops"), "{screen}");
    assert!(screen.contains("receipt 42"), "{screen}");
}

#[test]
fn private_entries_show_only_with_internals() {
    let mut app = app_with(vec![
        user(1, "hi"),
        Event {
            private: true,
            ..ev(
                2,
                EventBody::Internal {
                    label: "tool result".into(),
                    text: "{\"secret\":1}".into(),
                },
            )
        },
    ]);
    assert!(!text(&app).contains("tool result"));
    assert!(press_with(&mut app, KeyCode::Char('t'), KeyModifiers::CONTROL).is_empty());
    let screen = text(&app);
    assert!(screen.contains("tool result: {\"secret\":1}"), "{screen}");
    assert!(screen.contains("[internal]"), "{screen}");
}

#[test]
fn a_pending_approval_is_a_card_and_a_prompt_over_the_composer() {
    let app = app_with(vec![approval(1, ApprovalKind::FileChange, true)]);
    let screen = text(&app);
    assert!(
        screen.contains("? Apply these changes?  [Waiting for you]"),
        "{screen}"
    );
    assert!(screen.contains("rm -rf build"), "{screen}");
    assert!(screen.contains("in /work/tree"), "{screen}");
    assert!(
        screen.contains("Reason: wants out of the sandbox"),
        "{screen}"
    );
    assert!(screen.contains("update src/lib.rs"), "{screen}");
    assert!(screen.contains("-old line"), "{screen}");
    assert!(screen.contains("+new line"), "{screen}");
    assert!(
        screen.contains("y approve  a approve for session  n decline"),
        "{screen}"
    );
    assert!(screen.contains("Approval #1"), "{screen}");
    assert!(!screen.contains(" Message "), "{screen}");

    let app = app_with(vec![approval(1, ApprovalKind::Command, false)]);
    let screen = text(&app);
    assert!(screen.contains("y approve  n decline"), "{screen}");
    assert!(!screen.contains("approve for session"), "{screen}");
}

#[test]
fn an_ended_approval_says_how_and_the_composer_returns() {
    let app = app_with(vec![
        approval(1, ApprovalKind::Command, true),
        ev(
            2,
            EventBody::ApprovalEnded {
                target: Seq(1),
                state: ApprovalState::Declined,
                answer: None,
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("[Declined]"), "{screen}");
    assert!(!screen.contains("y approve"), "{screen}");
    assert!(screen.contains(" Message "), "{screen}");
}

#[test]
fn hostile_text_never_reaches_the_screen_raw() {
    let hostile = "red\x1b[31mtext \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \
                   user\u{202e}evil\u{2066} safe\rrm -rf / \x1b]0;title\x07bell\x07";
    let app = app_with(vec![
        user(1, hostile),
        assistant(2, hostile),
        ev(
            3,
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: format!("sh{hostile}"),
                command: hostile.into(),
                relay: RelayDecision::Allowed,
                detail: None,
            },
        ),
        ev(
            4,
            EventBody::ToolFinished {
                target: Seq(3),
                status: ToolStatus::Failed,
                output: hostile.into(),
                exit_code: Some(1),
            },
        ),
        ev(
            5,
            EventBody::Notice {
                level: NoticeLevel::Error,
                text: hostile.into(),
            },
        ),
        ev(
            6,
            EventBody::ApprovalRequested {
                kind: ApprovalKind::FileChange,
                item_id: None,
                subject: hostile.into(),
                cwd: Some(hostile.into()),
                reason: Some(hostile.into()),
                changes: vec![crate::gateway::diff::present_file(
                    &crate::store::record::StoredDiff {
                        path: hostile.into(),
                        kind: "update".into(),
                        diff: format!("+{hostile}\n"),
                    },
                )],
                for_session: false,
            },
        ),
    ]);
    let mut app = app;
    app.update(Update::Sessions(vec![SessionSummary {
        key: session(),
        title: hostile.into(),
        updated_ms: 1,
        last_channel: None,
        mode: Mode::Auto,
        workspace: String::new(),
        model: None,
        effort: None,
        usage: None,
        archived: false,
    }]));
    app.update(Update::Error {
        client_id: None,
        message: hostile.into(),
    });
    for (w, h) in [(200, 120), (60, 200)] {
        let rows = screen(&app, w, h);
        let all = rows.join("\n");
        for c in all.chars() {
            assert!(
                c == '\n'
                    || !(c.is_control()
                        || ('\u{202a}'..='\u{202e}').contains(&c)
                        || ('\u{2066}'..='\u{2069}').contains(&c)),
                "{c:?} reached the screen:\n{all}"
            );
        }
        // The escape sequences are gone whole, the text around them stays.
        assert!(!all.contains("evil.example"), "{all}");
        assert!(!all.contains("[31m"), "{all}");
        assert!(all.contains("redtext"), "{all}");
        assert!(all.contains("click"), "{all}");
        assert!(all.contains("user�evil�"), "{all}");
        assert!(all.contains("bell␇"), "{all}");
        // A carriage return is a line break: both halves of an overwrite stay visible.
        assert!(rows.iter().any(|r| r.trim_end().ends_with("safe")), "{all}");
        assert!(rows.iter().any(|r| r.contains("  rm -rf /")), "{all}");
    }
}

#[test]
fn events_applied_twice_show_each_entry_once() {
    let events = vec![user(1, "only once"), assistant(2, "reply once")];
    let mut app = app_with(events.clone());
    for event in events {
        app.update(Update::Event {
            session: session(),
            event,
        });
    }
    let screen = text(&app);
    assert_eq!(screen.matches("only once").count(), 1, "{screen}");
    assert_eq!(screen.matches("reply once").count(), 1, "{screen}");
}

#[test]
fn events_of_another_session_are_ignored_and_a_gap_resubscribes() {
    let mut app = app_with(vec![user(1, "mine")]);
    assert!(app
        .update(Update::Event {
            session: key_of("other"),
            event: user(2, "theirs"),
        })
        .is_empty());
    assert!(!text(&app).contains("theirs"));
    let out = app.update(Update::Event {
        session: session(),
        event: user(5, "later"),
    });
    assert_eq!(
        out,
        vec![Command::Subscribe {
            session: session(),
            after: Seq(1),
        }]
    );
}

#[test]
fn enter_sends_once_with_a_fresh_id_and_clears_the_composer() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "hello");
    let out = press(&mut app, KeyCode::Enter);
    let [Command::Send {
        session: s,
        client_id: first,
        text,
        steer: false,
    }] = out.as_slice()
    else {
        panic!("{out:?}");
    };
    assert_eq!((s, text.as_str()), (&session(), "hello"));
    assert_eq!(app.composer().text(), "");
    assert!(app.is_sending());
    assert!(text_of(&app).contains("sending…"));
    // Enter on an empty (or blank) composer sends nothing.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    type_text(&mut app, "  ");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    // The next send has its own id.
    type_text(&mut app, "again");
    let out = press(&mut app, KeyCode::Enter);
    let [Command::Send { client_id, .. }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_ne!(client_id, first);
    assert!(uuid::Uuid::parse_str(client_id).is_ok());
    app.update(Update::Accepted {
        client_id: first.clone(),
        seq: Seq(1),
        duplicate: false,
    });
    app.update(Update::Accepted {
        client_id: client_id.clone(),
        seq: Seq(2),
        duplicate: false,
    });
    assert!(!app.is_sending());
}

fn text_of(app: &App) -> String {
    text(app)
}

#[test]
fn alt_enter_makes_a_new_line_and_editing_keys_move_the_cursor() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "one");
    assert!(press_with(&mut app, KeyCode::Enter, KeyModifiers::ALT).is_empty());
    type_text(&mut app, "twx");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Left);
    type_text(&mut app, "é");
    press(&mut app, KeyCode::End);
    type_text(&mut app, "o");
    assert_eq!(app.composer().text(), "one\ntéwo");
    let screen = text(&app);
    assert!(screen.contains("│one"), "{screen}");
    assert!(screen.contains("│téwo"), "{screen}");
    let out = press(&mut app, KeyCode::Enter);
    assert!(matches!(out.as_slice(), [Command::Send { text, .. }] if text == "one\ntéwo"));
}

#[test]
fn esc_stops_the_run() {
    let mut app = app_with(vec![run_started(1)]);
    assert_eq!(
        press(&mut app, KeyCode::Esc),
        vec![Command::Stop { session: session() }]
    );
}

#[test]
fn y_a_and_n_answer_the_pending_approval_with_its_seq() {
    for (key, decision) in [
        ('y', ApprovalDecision::Accept),
        ('a', ApprovalDecision::AcceptForSession),
        ('n', ApprovalDecision::Decline),
    ] {
        let mut app = app_with(vec![
            user(1, "go"),
            approval(2, ApprovalKind::Command, true),
        ]);
        // Typing does not reach the composer while an approval waits.
        let out = press(&mut app, KeyCode::Char(key));
        assert_eq!(
            out,
            vec![Command::Answer {
                session: session(),
                approval: Seq(2),
                decision,
                answer: None,
            }]
        );
        assert_eq!(app.composer().text(), "");
        // Answered: the prompt gives way to the composer until the end arrives.
        assert!(app.focused_approval().is_none());
        assert!(press(&mut app, KeyCode::Char(key)).is_empty());
    }
    // `a` is not offered, so it does nothing.
    let mut app = app_with(vec![approval(1, ApprovalKind::Command, false)]);
    assert!(press(&mut app, KeyCode::Char('a')).is_empty());
    assert!(app.focused_approval().is_some());
}

#[test]
fn a_refused_answer_is_asked_again() {
    let mut app = app_with(vec![approval(1, ApprovalKind::Command, false)]);
    assert_eq!(press(&mut app, KeyCode::Char('y')).len(), 1);
    assert!(app.focused_approval().is_none());
    app.update(Update::Error {
        client_id: None,
        message: "Already answered".into(),
    });
    assert!(app.focused_approval().is_some());
    assert!(text(&app).contains("error: Already answered"));
}

#[test]
fn a_question_takes_typed_text_and_enter_submits_it() {
    let mut app = app_with(vec![approval(1, ApprovalKind::Question, false)]);
    let screen = text(&app);
    assert!(screen.contains("Codex asks Favourite colour?"), "{screen}");
    assert!(screen.contains("Enter send answer"), "{screen}");
    // Empty: nothing is sent, the person is told.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.error(), Some("Type an answer first."));
    type_text(&mut app, "blue y");
    assert!(text(&app).contains("> blue y"));
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Command::Answer {
            session: session(),
            approval: Seq(1),
            decision: ApprovalDecision::Accept,
            answer: Some("blue y".into()),
        }]
    );
    assert_eq!(app.composer().text(), "");
}

#[test]
fn ctrl_c_once_does_not_quit_twice_does() {
    let mut app = app_with(vec![]);
    press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!app.should_quit());
    assert!(text(&app).contains("Press Ctrl+C again to quit."));
    // Another key in between disarms it.
    press(&mut app, KeyCode::Char('x'));
    press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!app.should_quit());
    press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.should_quit());
}

#[test]
fn page_keys_and_the_wheel_scroll_within_bounds() {
    let events: Vec<Event> = (1..=60).map(|i| user(i, &format!("message {i}"))).collect();
    let mut app = app_with(events);
    let screen = text(&app);
    assert!(screen.contains("message 60"), "{screen}");
    assert!(!screen.contains("message 1 "), "{screen}");
    press(&mut app, KeyCode::PageUp);
    assert!(app.scroll() > 0);
    let up = text(&app);
    assert!(!up.contains("message 60"), "{up}");
    for _ in 0..100 {
        press(&mut app, KeyCode::PageUp);
    }
    let top = text(&app);
    assert!(top.contains("message 1 "), "{top}");
    assert_eq!(app.scroll(), app.max_scroll.get());
    for _ in 0..100 {
        app.mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        });
    }
    assert_eq!(app.scroll(), 0);
    app.mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.scroll(), 3);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.scroll(), 0);
}

#[test]
fn the_session_list_switches_and_resubscribes_from_the_start() {
    let mut app = app_with(vec![user(1, "in s1")]);
    app.update(Update::Sessions(vec![
        SessionSummary {
            key: session(),
            title: "First".into(),
            updated_ms: 1,
            last_channel: None,
            mode: Mode::Auto,
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived: false,
        },
        SessionSummary {
            key: key_of("s2"),
            title: "Second".into(),
            updated_ms: 2,
            last_channel: None,
            mode: Mode::Auto,
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived: true,
        },
    ]));
    assert!(press_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL).is_empty());
    let screen = text(&app);
    assert!(screen.contains("Sessions"), "{screen}");
    assert!(screen.contains("Second"), "{screen}");
    // Archived sessions are listed, and said to be.
    let second = screen.lines().find(|l| l.contains("Second")).unwrap();
    assert!(second.contains("archived"), "{second}");
    let first = screen.lines().find(|l| l.contains("First")).unwrap();
    assert!(!first.contains("archived"), "{first}");
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Command::Open {
            session: key_of("s2"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.session(), Some(&key_of("s2")));
    assert!(app.transcript().entries().is_empty());
    assert!(!text(&app).contains("in s1"));
}

#[test]
fn without_a_session_the_most_recent_one_opens() {
    let mut app = App::new("http://x", None);
    assert!(app.start().is_empty());
    let out = app.update(Update::Sessions(vec![
        SessionSummary {
            key: key_of("old"),
            title: "Old".into(),
            updated_ms: 1,
            last_channel: None,
            mode: Mode::Auto,
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived: false,
        },
        SessionSummary {
            key: key_of("new"),
            title: "New".into(),
            updated_ms: 9,
            last_channel: None,
            mode: Mode::Auto,
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived: false,
        },
    ]));
    assert_eq!(
        out,
        vec![Command::Open {
            session: key_of("new"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
}

#[test]
fn ctrl_n_asks_for_a_new_session_and_f2_cycles_the_mode() {
    let mut app = app_with(vec![]);
    assert!(press_with(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL).is_empty());
    assert_eq!(app.take_request(), Some(Request::NewSession));
    assert_eq!(app.take_request(), None);
    // Ask → read-only (the order of Mode::ALL).
    assert_eq!(
        press(&mut app, KeyCode::F(2)),
        vec![Command::SetMode {
            session: session(),
            mode: Mode::ReadOnly,
        }]
    );
}

#[test]
fn the_connection_indicator_is_honest() {
    let mut app = App::new("http://x", Some(session()));
    assert_eq!(app.connection(), &Connection::Connecting);
    assert!(text(&app).contains("connecting…"));
    app.update(Update::Disconnected {
        retry_in: Duration::from_secs(2),
        reason: "connection refused".into(),
    });
    let screen = text(&app);
    assert!(
        screen.contains("disconnected (connection refused), retrying in 2s"),
        "{screen}"
    );
    app.update(Update::Connected);
    assert!(text(&app).contains("● connected"));
}

#[test]
fn tiny_and_odd_areas_do_not_panic() {
    let mut app = app_with(vec![
        user(1, "hello there"),
        approval(2, ApprovalKind::FileChange, true),
    ]);
    press_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    for (w, h) in [
        (0, 0),
        (1, 1),
        (2, 3),
        (5, 2),
        (80, 1),
        (1, 80),
        (3, 5),
        (10, 4),
    ] {
        screen(&app, w, h);
    }
    press(&mut app, KeyCode::Esc);
    for (w, h) in [(1, 1), (4, 6), (80, 3)] {
        screen(&app, w, h);
    }
}

#[test]
fn a_scrolled_up_view_stays_put_when_entries_arrive() {
    let events: Vec<Event> = (1..=60).map(|i| user(i, &format!("message {i}"))).collect();
    let mut app = app_with(events);
    text(&app);
    press(&mut app, KeyCode::PageUp);
    let before = screen(&app, 100, 40);
    app.update(Update::Event {
        session: session(),
        event: assistant(61, "new reply"),
    });
    let after = screen(&app, 100, 40);
    assert_eq!(before[1..30], after[1..30]);
    // Following the end (not scrolled), the new entry shows.
    press(&mut app, KeyCode::End);
    for _ in 0..20 {
        press(&mut app, KeyCode::PageDown);
    }
    assert!(text(&app).contains("new reply"));
}

#[test]
fn a_paste_is_text_never_a_send() {
    let mut app = app_with(vec![]);
    app.paste("line one\r\nline two\rthree");
    assert_eq!(app.composer().text(), "line one\nline two\nthree");
    // A question's answer stays one line.
    let mut app = app_with(vec![approval(1, ApprovalKind::Question, false)]);
    app.paste("blue\ngreen");
    assert_eq!(app.answer().text(), "blue green");
    assert_eq!(app.composer().text(), "");
}

#[test]
fn the_stored_message_acknowledges_a_send() {
    let mut app = app_with(vec![]);
    type_text(&mut app, "hi");
    let out = press(&mut app, KeyCode::Enter);
    let [Command::Send { client_id, .. }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert!(app.is_sending());
    app.update(Update::Event {
        session: session(),
        event: ev(
            1,
            EventBody::UserMessage {
                text: "hi".into(),
                client_id: client_id.clone(),
                source: app::wire::Source::Tui,
                steered: false,
                images: Vec::new(),
            },
        ),
    });
    assert!(!app.is_sending());
}

#[test]
fn a_card_drawn_before_it_changed_is_drawn_again_after() {
    let mut app = app_with(vec![
        run_started(1),
        ev(
            2,
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "make".into(),
                relay: RelayDecision::Allowed,
                detail: None,
            },
        ),
        ev(
            3,
            EventBody::ModelText {
                item_id: "m".into(),
                text: "Build".into(),
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("⚙ shell  running"), "{screen}");
    assert!(screen.contains("Running…"), "{screen}");
    assert!(screen.contains("Assistant …"), "{screen}");
    for event in [
        ev(
            4,
            EventBody::ToolFinished {
                target: Seq(2),
                status: ToolStatus::Failed,
                output: "boom".into(),
                exit_code: Some(2),
            },
        ),
        ev(
            5,
            EventBody::TextAppend {
                target: Seq(3),
                delta: "ing done".into(),
            },
        ),
    ] {
        app.update(Update::Event {
            session: session(),
            event,
        });
    }
    let screen = text(&app);
    assert!(
        screen.contains("⚙ shell  failed  relay: allowed  exit 2"),
        "{screen}"
    );
    assert!(screen.contains("│ boom"), "{screen}");
    assert!(screen.contains("Building done"), "{screen}");
}

#[test]
fn a_plan_is_a_checklist_and_a_file_change_shows_its_diff_with_counts() {
    use app::wire::{PlanStatus, PlanStep, ToolDetail};
    let step = |s: &str, status| PlanStep {
        step: s.into(),
        status,
    };
    let file = crate::gateway::diff::present_file(&crate::store::record::StoredDiff {
        path: "notes.txt".into(),
        kind: "update".into(),
        diff: "@@ -1 +1,2 @@\n first\n+second\n".into(),
    });
    let app = app_with(vec![
        run_started(1),
        ev(
            2,
            EventBody::ToolStarted {
                call_id: "plan-t".into(),
                tool: "plan".into(),
                command: "Plan".into(),
                relay: RelayDecision::None,
                detail: Some(ToolDetail::Plan {
                    steps: vec![step("inspect", PlanStatus::InProgress)],
                    explanation: None,
                }),
            },
        ),
        ev(
            3,
            EventBody::ToolUpdated {
                target: Seq(2),
                detail: ToolDetail::Plan {
                    steps: vec![
                        step("inspect", PlanStatus::Completed),
                        step("change", PlanStatus::InProgress),
                        step("verify", PlanStatus::Pending),
                    ],
                    explanation: None,
                },
            },
        ),
        ev(
            4,
            EventBody::ToolStarted {
                call_id: "fc".into(),
                tool: "file_change".into(),
                command: "notes.txt".into(),
                relay: RelayDecision::None,
                detail: Some(ToolDetail::Files { files: vec![file] }),
            },
        ),
        ev(
            5,
            EventBody::ToolFinished {
                target: Seq(4),
                status: ToolStatus::Completed,
                output: String::new(),
                exit_code: None,
            },
        ),
    ]);
    let screen = text(&app);
    assert!(screen.contains("[x] inspect"), "{screen}");
    assert!(screen.contains("[>] change"), "{screen}");
    assert!(screen.contains("[ ] verify"), "{screen}");
    assert_eq!(
        screen.matches("⚙ plan").count(),
        1,
        "updated in place: {screen}"
    );
    assert!(screen.contains("update notes.txt  +1 -0"), "{screen}");
    assert!(screen.contains("+second"), "{screen}");
    assert!(!screen.contains("No output."), "{screen}");
}

#[test]
fn ctrl_s_steers_the_running_turn_and_is_a_plain_send_without_one() {
    let mut app = app_with(vec![user(1, "long job"), run_started(2)]);
    type_text(&mut app, "also this");
    let out = press_with(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(
        matches!(out.as_slice(), [Command::Send { text, steer: true, .. }] if text == "also this"),
        "{out:?}"
    );
    assert_eq!(app.composer().text(), "");
    // Enter still queues while the run goes on.
    type_text(&mut app, "next");
    let out = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(out.as_slice(), [Command::Send { steer: false, .. }]),
        "{out:?}"
    );
    // Nothing runs: Ctrl+S sends as Enter does.
    let mut idle = app_with(vec![user(1, "done")]);
    type_text(&mut idle, "hello");
    let out = press_with(&mut idle, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(
        matches!(out.as_slice(), [Command::Send { steer: false, .. }]),
        "{out:?}"
    );
    // A blank composer sends nothing.
    assert!(press_with(&mut app, KeyCode::Char('s'), KeyModifiers::CONTROL).is_empty());
}

#[test]
fn a_user_entry_lists_its_images_by_name_and_says_when_it_was_steered() {
    let image = |name: &str| app::wire::ImageRef {
        id: "a".repeat(64),
        name: name.into(),
        mime: "image/png".into(),
    };
    let app = app_with(vec![ev(
        1,
        EventBody::UserMessage {
            text: "look".into(),
            client_id: "c1".into(),
            source: app::wire::Source::Webchat,
            steered: true,
            images: vec![image("red.png"), image("evil\u{1b}[2Jname.png")],
        },
    )]);
    let screen = text(&app);
    assert!(screen.contains("[image] red.png"), "{screen}");
    assert!(screen.contains("(steered)"), "{screen}");
    // The hostile name reaches the screen escaped, never as a control sequence.
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert_eq!(screen.matches("[image] ").count(), 2, "{screen}");
}

#[test]
fn the_working_indicator_says_codex_is_retrying_until_the_run_moves_on() {
    let retry = |seq: u64, message: &str, attempt: u32| Event {
        private: true,
        ..ev(
            seq,
            EventBody::Retrying {
                message: message.into(),
                attempt,
            },
        )
    };
    let mut events = vec![
        run_started(1),
        retry(2, "Reconnecting... 1/5", 1),
        retry(3, "Reconnecting...\u{1b}[2J 2/5", 2),
    ];
    let app = app_with(events.clone());
    let header = screen(&app, 220, 10).join("\n");
    assert!(header.contains("working…"), "{header}");
    // The latest retry, its control characters made harmless.
    assert!(
        header.contains("Codex is retrying: Reconnecting...") && header.contains("(attempt 2)"),
        "{header}"
    );
    assert!(!header.contains('\u{1b}'), "{header}");
    assert!(!header.contains("attempt 1"), "{header}");
    // Without internals, the retries are not transcript entries.
    assert_eq!(header.matches("Codex is retrying").count(), 1, "{header}");
    // Real progress after the retries: the indicator is back to plain working.
    events.push(assistant(4, "done"));
    let app = app_with(events);
    let header = screen(&app, 220, 10).join("\n");
    assert!(header.contains("working…"), "{header}");
    assert!(!header.contains("retrying"), "{header}");
}

fn account(login: Login, signin: Option<SignIn>) -> AccountStatus {
    AccountStatus {
        login,
        rate_limits: None,
        codex: CodexHealth::Ready,
        signin,
    }
}

/// An app whose Codex is `login` (with `signin`), the sign-in screen open.
fn signin_app(login: Login, signin: Option<SignIn>) -> App {
    let mut app = app_with(vec![]);
    app.update(Update::Account(account(login, signin)));
    assert!(app.signin().is_none());
    assert!(press(&mut app, KeyCode::F(3)).is_empty());
    assert!(app.signin().is_some());
    app
}

#[test]
fn f3_opens_the_sign_in_screen_with_the_login_and_codex_health() {
    let mut app = app_with(vec![]);
    // The key help names it.
    let help = screen(&app, 240, 10).join("\n");
    assert!(help.contains("F3 sign-in"), "{help}");
    let mut status = account(Login::SignedOut, None);
    status.codex = CodexHealth::Down {
        reason: "no codex at /opt/x\u{1b}[2J".into(),
    };
    app.update(Update::Account(status));
    press(&mut app, KeyCode::F(3));
    let shown = text(&app);
    assert!(shown.contains("Codex sign-in"), "{shown}");
    assert!(shown.contains("Codex: not signed in"), "{shown}");
    assert!(
        shown.contains("Codex app-server: down: no codex at /opt/x"),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown}");
    assert!(
        shown.contains("d sign in with a device code · k enter an API key"),
        "{shown}"
    );
    // Keys belong to the screen while it is open: nothing reaches the composer.
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.composer().text(), "");
    assert_eq!(app.take_request(), None);
    press(&mut app, KeyCode::Esc);
    assert!(app.signin().is_none());
    assert!(!text(&app).contains("Codex sign-in"));
    // F3 closes it too.
    press(&mut app, KeyCode::F(3));
    press(&mut app, KeyCode::F(3));
    assert!(app.signin().is_none());
}

#[test]
fn the_api_key_is_masked_submitted_once_and_not_kept() {
    const KEY: &str = "sk-SECRETkey123";
    let mut app = signin_app(Login::SignedOut, None);
    press(&mut app, KeyCode::Char('k'));
    assert!(app.signin().unwrap().typing_key());
    type_text(&mut app, "sk-SECRET");
    // Pasting is how a key usually arrives; its line break is not an Enter.
    app.paste("key123\n");
    assert_eq!(app.signin().unwrap().key_len(), KEY.len());
    let shown = text(&app);
    assert!(
        shown.contains(&format!("API key: {}", "*".repeat(KEY.len()))),
        "{shown}"
    );
    assert!(
        !shown.contains("SECRET") && !shown.contains("sk-"),
        "{shown}"
    );
    assert!(!format!("{app:?}").contains("SECRET"));
    // Any size draws (cut, never a panic), never with the key.
    for (width, height) in [(1, 1), (12, 3), (30, 6), (300, 80)] {
        let rows = screen(&app, width, height).join("\n");
        assert!(!rows.contains("SECRET"), "{rows}");
    }
    // Nothing went anywhere yet.
    assert_eq!(app.take_request(), None);

    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let request = app.take_request();
    assert_eq!(
        request,
        Some(Request::Account(AccountRequest::ApiKey(ApiKey::new(KEY))))
    );
    assert!(!format!("{request:?}").contains("SECRET"));
    assert_eq!(app.take_request(), None);
    let screen_now = app.signin().unwrap();
    assert!(!screen_now.typing_key() && screen_now.key_len() == 0);
    let shown = text(&app);
    assert!(shown.contains("Asking the server…"), "{shown}");
    assert!(!shown.contains('*'), "{shown}");
    // The request failed: the screen stops asking, the error is on the status line.
    app.set_error("Could not sign in with the API key: the server answered 502: Codex refused");
    let shown = text(&app);
    assert!(!shown.contains("Asking the server…"), "{shown}");
    assert!(
        shown.contains("error: Could not sign in with the API key"),
        "{shown}"
    );

    // Esc leaves the key line and forgets what was typed; an empty key is not sent.
    press(&mut app, KeyCode::Char('k'));
    type_text(&mut app, "abc");
    press(&mut app, KeyCode::Esc);
    assert!(app.signin().is_some_and(|s| !s.typing_key()));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.signin().unwrap().key_len(), 0);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_request(), None);
    assert_eq!(app.error(), Some("Paste an API key first."));
}

#[test]
fn a_device_code_is_asked_for_and_shown_from_the_accounts_push() {
    let mut app = signin_app(Login::SignedOut, None);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(
        app.take_request(),
        Some(Request::Account(AccountRequest::DeviceCode))
    );
    assert!(text(&app).contains("Asking the server…"));
    // The code arrives as every screen gets it (a sign-in started in a browser looks the same).
    app.update(Update::Account(account(
        Login::SignedOut,
        Some(SignIn::Waiting {
            user_code: "ABCD-1234\u{1b}[31m".into(),
            verification_url: "https://auth.openai.com/codex/device\u{1b}]8;;http://evil\u{7}"
                .into(),
        }),
    )));
    let shown = text(&app);
    assert!(
        shown.contains("Open https://auth.openai.com/codex/device on any device and enter"),
        "{shown}"
    );
    assert!(shown.contains("  ABCD-1234"), "{shown}");
    assert!(
        shown.contains("waiting…") && shown.contains("c cancel"),
        "{shown}"
    );
    assert!(
        !shown.contains('\u{1b}') && !shown.contains("evil"),
        "{shown}"
    );
    assert!(!shown.contains("Asking the server…"), "{shown}");
    // Only cancelling makes sense now.
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.take_request(), None);
    assert!(!app.signin().unwrap().typing_key());
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(
        app.take_request(),
        Some(Request::Account(AccountRequest::Cancel))
    );
    // Approved elsewhere: the screen follows the push.
    app.update(Update::Account(account(
        Login::Chatgpt {
            email: Some("a@b.c".into()),
            plan: Some("plus".into()),
        },
        None,
    )));
    app.account_request_done();
    let shown = text(&app);
    assert!(shown.contains("Codex: a@b.c (plus)"), "{shown}");
    assert!(
        shown.contains("o sign out") && !shown.contains("ABCD"),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(
        app.take_request(),
        None,
        "no sign-in offered while signed in"
    );
    press(&mut app, KeyCode::Char('o'));
    assert_eq!(
        app.take_request(),
        Some(Request::Account(AccountRequest::Logout))
    );
}

#[test]
fn a_failed_sign_in_says_why_and_offers_signing_in_again() {
    let mut app = signin_app(
        Login::SignedOut,
        Some(SignIn::Failed {
            message: "Sign-in did not complete: device code expired\u{7}".into(),
        }),
    );
    let shown = text(&app);
    assert!(
        shown.contains("Sign-in failed: Sign-in did not complete: device code expired␇"),
        "{shown}"
    );
    assert!(shown.contains("d sign in with a device code"), "{shown}");
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(
        app.take_request(),
        Some(Request::Account(AccountRequest::DeviceCode))
    );
    // The demo model: nothing to sign in to.
    let mut demo = signin_app(Login::Demo, None);
    assert!(text(&demo).contains("The demo model needs no sign-in."));
    for c in ['d', 'k', 'o', 'c'] {
        press(&mut demo, KeyCode::Char(c));
    }
    assert_eq!(demo.take_request(), None);
}

/// Issue 14 in the terminal: a long session opens at its end (the connection is asked for its
/// latest events only), says that more came before, and a scroll to the top fetches the part
/// before, which goes above what is shown.
#[test]
fn a_long_session_opens_at_its_end_and_a_scroll_to_the_top_loads_the_part_before() {
    let app = App::new("http://127.0.0.1:3000", Some(session()));
    assert_eq!(
        app.start(),
        vec![Command::Open {
            session: session(),
            recent: super::earlier::RECENT,
        }]
    );
    let app = &mut app_with(vec![
        user(801, "the recent question"),
        assistant(802, "its answer"),
    ]);
    assert!(app.has_earlier());
    let shown = text(app);
    assert!(shown.contains("Earlier messages: scroll up"), "{shown}");
    assert!(shown.contains("the recent question") && !shown.contains("Nothing here yet"));
    assert_eq!(app.take_request(), None);

    press(app, KeyCode::PageUp);
    let Some(Request::Earlier { session: s, before }) = app.take_request() else {
        panic!("the top of what is held asks for the part before it");
    };
    assert_eq!((s, before), (session(), Seq(800)));
    press(app, KeyCode::PageUp);
    assert_eq!(app.take_request(), None, "one part at a time");

    // The part: a run's tail cut by its start (dropped), then a message and its answer.
    let part = vec![
        assistant(600, "the tail of an older run"),
        user(601, "an older question"),
        assistant(602, "an older answer"),
    ];
    let out = super::settle(
        app,
        "failed",
        Ok(super::Done::Earlier {
            session: session(),
            events: part,
        }),
    );
    assert!(out.is_empty());
    let shown = text(app);
    let older = shown.find("an older question").expect(&shown);
    assert!(
        older < shown.find("the recent question").unwrap(),
        "{shown}"
    );
    assert!(!shown.contains("the tail of an older run"), "{shown}");
    assert!(
        app.has_earlier(),
        "the part did not reach the session's start"
    );
    // Live events still follow the newest one held.
    assert!(app
        .update(Update::Event {
            session: session(),
            event: user(803, "live after"),
        })
        .is_empty());
    assert!(text(app).contains("live after"));
}
