//! `codex-webchat send`: one message to a session over a [`Live`] connection, the run it starts
//! printed as it happens, and an exit status that says how that run ended.
//!
//! It checks the session over HTTP first (so an unreachable server, a refused token or an unknown
//! session is one line on stderr and status 2, never a retry loop), sends over the socket with a
//! client id of its own, subscribes from just before the stored message once the server accepts
//! it (so only this run's events come, however long the session), and follows that run alone:
//! [`RunFollower`] turns each event into the lines to print, a pure function of the events. Every
//! text that came from the server goes through `escape::terminal` on its way to a line; this
//! module prints nothing else that it did not write itself.

use std::collections::BTreeMap;
use std::io::Write;

use app::wire::{Event, EventBody, RunOutcome, Seq, ToolStatus};

use super::live::Live;
use super::{http, Command, Endpoint, Update};
use crate::config::SendArgs;
use crate::escape::terminal::{sanitize, sanitize_line};

/// The run completed.
pub const EXIT_COMPLETED: u8 = 0;
/// The run failed (or the server refused the message).
pub const EXIT_FAILED: u8 = 1;
/// Bad usage, an unreachable server, a refused token or an unknown session.
pub const EXIT_USAGE: u8 = 2;
/// The run was interrupted (Stop).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The longest tool command shown in a card's summary line, in characters.
const MAX_COMMAND_CHARS: usize = 120;

/// Sends `args.text` and follows its run to the end; returns the process's exit status.
pub async fn run(args: &SendArgs) -> u8 {
    let text = args.text.join(" ");
    if let Err(why) = app::wire::validate_message(&text) {
        error_line(&why);
        return EXIT_USAGE;
    }
    let endpoint = Endpoint {
        base_url: args.server.url.clone(),
        token: args.server.token.clone(),
    };
    if let Err(e) = http::session(&endpoint, &args.session).await {
        error_line(&e.to_string());
        return EXIT_USAGE;
    }
    let client_id = format!("tui-{}", uuid::Uuid::new_v4());
    let mut live = Live::start(endpoint);
    live.command(Command::Send {
        session: args.session.clone(),
        client_id: client_id.clone(),
        text,
        steer: false,
    });
    let mut follower = RunFollower::new(client_id.clone());
    let mut subscribed = false;
    let code = loop {
        let Some(update) = live.next().await else {
            break EXIT_FAILED;
        };
        match update {
            Update::Accepted {
                client_id: id, seq, ..
            } if id == client_id => {
                // From just before the message: its run's events are all after it.
                if !subscribed {
                    subscribed = true;
                    live.command(Command::Subscribe {
                        session: args.session.clone(),
                        after: Seq(seq.0.saturating_sub(1)),
                    });
                }
            }
            Update::Error {
                client_id: Some(id),
                message,
            } if id == client_id => {
                error_line(&format!("the server refused the message: {message}"));
                break EXIT_FAILED;
            }
            Update::Error {
                client_id: None,
                message,
            } => {
                // Only the subscription can fail without a client id here.
                error_line(&message);
                break EXIT_FAILED;
            }
            Update::Event { event, .. } => {
                let followed = follower.on_event(&event);
                print_lines(&followed.lines);
                if let Some(outcome) = followed.finished {
                    break exit_code(outcome);
                }
            }
            Update::Disconnected { retry_in, reason } => error_line(&format!(
                "connection lost ({reason}); reconnecting in {:.1} s",
                retry_in.as_secs_f64()
            )),
            Update::Connected
            | Update::Sessions(_)
            | Update::Account(_)
            | Update::Accepted { .. } => {}
            Update::Error { .. } => {}
        }
    };
    live.shutdown().await;
    code
}

/// The exit status for a run that ended this way.
pub fn exit_code(outcome: RunOutcome) -> u8 {
    match outcome {
        RunOutcome::Completed => EXIT_COMPLETED,
        RunOutcome::Failed => EXIT_FAILED,
        RunOutcome::Interrupted => EXIT_INTERRUPTED,
    }
}

/// One line on stderr, escaped (it can quote the server or the network).
fn error_line(text: &str) {
    eprintln!("codex-webchat: {}", sanitize_line(text));
}

fn print_lines(lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        // A closed stdout (`| head`) only stops the printing; the run is still followed.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// What one event means for `send`: lines to print (already escaped) and, at the run's end, how
/// it ended.
#[derive(Debug, Default, PartialEq)]
pub struct Followed {
    pub lines: Vec<String>,
    pub finished: Option<RunOutcome>,
}

/// Follows the run that answers the message with `client_id` through a session's events: finds
/// the message, then the run started for it, and turns that run's visible events into lines.
/// Events of other runs (another tab's, a background run) and private events print nothing.
#[derive(Debug)]
pub struct RunFollower {
    client_id: String,
    /// The stored message's seq, once seen.
    message: Option<Seq>,
    /// The run answering it, once started.
    run: Option<String>,
    /// Tool cards started and not finished: their tool and command, by the card's seq.
    open_tools: BTreeMap<Seq, (String, String)>,
}

impl RunFollower {
    pub fn new(client_id: impl Into<String>) -> RunFollower {
        RunFollower {
            client_id: client_id.into(),
            message: None,
            run: None,
            open_tools: BTreeMap::new(),
        }
    }

    /// The lines `event` prints, and whether it ended the run.
    pub fn on_event(&mut self, event: &Event) -> Followed {
        let mut out = Followed::default();
        match &event.body {
            EventBody::UserMessage { client_id, .. } if *client_id == self.client_id => {
                self.message.get_or_insert(event.seq);
                return out;
            }
            EventBody::RunStarted {
                run_id, for_seq, ..
            } if self.run.is_none() && self.message.is_some() && *for_seq == self.message => {
                self.run = Some(run_id.clone());
                return out;
            }
            EventBody::RunFinished {
                run_id,
                outcome,
                error,
            } if self.run.as_ref() == Some(run_id) => {
                // Cards the run left open end with it.
                for (tool, command) in std::mem::take(&mut self.open_tools).into_values() {
                    out.lines.push(tool_line(&tool, &command, "interrupted"));
                }
                match (outcome, error) {
                    (RunOutcome::Completed, _) => {}
                    (RunOutcome::Interrupted, _) => out.lines.push("[run interrupted]".to_owned()),
                    (RunOutcome::Failed, Some(error)) => out
                        .lines
                        .push(format!("[run failed] {}", sanitize_line(error))),
                    (RunOutcome::Failed, None) => out.lines.push("[run failed]".to_owned()),
                }
                out.finished = Some(*outcome);
                return out;
            }
            _ => {}
        }
        if let (EventBody::Notice { text, .. }, false, None, Some(_), None) = (
            &event.body,
            event.private,
            &self.run,
            self.message,
            &event.run,
        ) {
            // A notice of the session while the message waits for its run (a Stop that dropped
            // it from the queue says so here).
            out.lines.push(format!("[notice] {}", sanitize_line(text)));
            return out;
        }
        if event.private || self.run.is_none() || event.run != self.run {
            return out;
        }
        match &event.body {
            EventBody::AssistantMessage { text, .. } => {
                out.lines.push(sanitize(text).into_owned());
            }
            EventBody::ToolStarted { tool, command, .. } => {
                self.open_tools
                    .insert(event.seq, (tool.clone(), command.clone()));
            }
            EventBody::ToolFinished {
                target,
                status,
                exit_code,
                ..
            } => {
                if let Some((tool, command)) = self.open_tools.remove(target) {
                    let end = match (exit_code, status) {
                        (Some(code), _) => format!("exit {code}"),
                        (None, status) => status.as_str().to_owned(),
                    };
                    let end = if *status == ToolStatus::Declined {
                        "declined".to_owned()
                    } else {
                        end
                    };
                    out.lines.push(tool_line(&tool, &command, &end));
                }
            }
            EventBody::Notice { text, .. } => {
                out.lines.push(format!("[notice] {}", sanitize_line(text)));
            }
            EventBody::Delivery {
                channel,
                target,
                status,
                attempts,
                detail,
                ..
            } => {
                let route = format!("{}:{}", sanitize_line(channel), sanitize_line(target));
                let line = match status {
                    app::wire::DeliveryStatus::Sending => format!("[delivery] {route} → sending…"),
                    app::wire::DeliveryStatus::Sent => {
                        let s = if *attempts == 1 { "" } else { "s" };
                        format!("[delivery] {route} → sent ({attempts} attempt{s})")
                    }
                    other => format!(
                        "[delivery] {route} → {}: {}",
                        other.as_str(),
                        sanitize_line(detail)
                    ),
                };
                out.lines.push(line);
            }
            EventBody::ApprovalRequested { kind, subject, .. } => {
                out.lines.push(format!(
                    "[approval] {} {} → waiting for an answer (WebChat or `codex-webchat tui`)",
                    kind.as_str(),
                    one_line_bounded(subject)
                ));
            }
            EventBody::ApprovalEnded { state, .. } => {
                out.lines.push(format!("[approval] → {}", state.as_str()));
            }
            _ => {}
        }
        out
    }
}

/// `[shell] ls -la → exit 0`.
fn tool_line(tool: &str, command: &str, end: &str) -> String {
    format!(
        "[{}] {} → {end}",
        sanitize_line(tool),
        one_line_bounded(command)
    )
}

/// Untrusted text on one line, at most [`MAX_COMMAND_CHARS`] characters (then `…`).
fn one_line_bounded(text: &str) -> String {
    let line = sanitize_line(text);
    let line = line.trim();
    match line.char_indices().nth(MAX_COMMAND_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::{NoticeLevel, RelayDecision, Source};

    fn event(seq: u64, run: Option<&str>, private: bool, body: EventBody) -> Event {
        Event {
            seq: Seq(seq),
            at_ms: 0,
            run: run.map(str::to_owned),
            private,
            body,
        }
    }

    /// A message, its run, a reply, a shell card, the run's end: what `send` prints.
    fn started(f: &mut RunFollower) {
        let user = EventBody::UserMessage {
            text: "hi".into(),
            client_id: "mine".into(),
            source: Source::Tui,
            steered: false,
            images: Vec::new(),
        };
        assert_eq!(
            f.on_event(&event(5, None, false, user)),
            Followed::default()
        );
        let start = EventBody::RunStarted {
            run_id: "r1".into(),
            for_seq: Some(Seq(5)),
            background: None,
        };
        assert_eq!(
            f.on_event(&event(6, Some("r1"), false, start)),
            Followed::default()
        );
    }

    #[test]
    fn a_run_prints_its_replies_and_tool_cards_and_ends_with_its_outcome() {
        let mut f = RunFollower::new("mine");
        started(&mut f);
        let reply = EventBody::AssistantMessage {
            text: "Echo: hi".into(),
            html: None,
            call_id: None,
        };
        assert_eq!(
            f.on_event(&event(7, Some("r1"), false, reply)).lines,
            ["Echo: hi"]
        );
        let tool = EventBody::ToolStarted {
            call_id: "c".into(),
            tool: "shell".into(),
            command: "ls -la".into(),
            relay: RelayDecision::Allowed,
            detail: None,
        };
        assert!(f
            .on_event(&event(8, Some("r1"), false, tool))
            .lines
            .is_empty());
        let done = EventBody::ToolFinished {
            target: Seq(8),
            status: ToolStatus::Completed,
            output: "x".into(),
            exit_code: Some(0),
        };
        assert_eq!(
            f.on_event(&event(9, Some("r1"), false, done)).lines,
            ["[shell] ls -la → exit 0"]
        );
        let end = EventBody::RunFinished {
            run_id: "r1".into(),
            outcome: RunOutcome::Completed,
            error: None,
        };
        let out = f.on_event(&event(10, Some("r1"), false, end));
        assert_eq!(out.finished, Some(RunOutcome::Completed));
        assert!(out.lines.is_empty());
    }

    #[test]
    fn private_events_and_other_runs_print_nothing() {
        let mut f = RunFollower::new("mine");
        // Another tab's message and run, before ours.
        let other = EventBody::UserMessage {
            text: "x".into(),
            client_id: "theirs".into(),
            source: Source::Webchat,
            steered: false,
            images: Vec::new(),
        };
        assert_eq!(
            f.on_event(&event(1, None, false, other)),
            Followed::default()
        );
        let other_run = EventBody::RunStarted {
            run_id: "r0".into(),
            for_seq: Some(Seq(1)),
            background: None,
        };
        assert_eq!(
            f.on_event(&event(2, Some("r0"), false, other_run)),
            Followed::default()
        );
        let reply = EventBody::AssistantMessage {
            text: "not for us".into(),
            html: None,
            call_id: None,
        };
        assert_eq!(
            f.on_event(&event(3, Some("r0"), false, reply)),
            Followed::default()
        );
        let other_end = EventBody::RunFinished {
            run_id: "r0".into(),
            outcome: RunOutcome::Failed,
            error: None,
        };
        assert_eq!(
            f.on_event(&event(4, Some("r0"), false, other_end)),
            Followed::default()
        );
        started(&mut f);
        let prose = EventBody::ModelText {
            item_id: "i".into(),
            text: "private prose".into(),
        };
        assert_eq!(
            f.on_event(&event(7, Some("r1"), true, prose)),
            Followed::default()
        );
    }

    #[test]
    fn a_notice_while_the_message_waits_is_printed() {
        let mut f = RunFollower::new("mine");
        let stopped = || EventBody::Notice {
            level: NoticeLevel::Warning,
            text: "Stopped: 1 queued message was not run.".into(),
        };
        // Before our message: not ours to print.
        assert_eq!(
            f.on_event(&event(1, None, false, stopped())),
            Followed::default()
        );
        let user = EventBody::UserMessage {
            text: "hi".into(),
            client_id: "mine".into(),
            source: Source::Tui,
            steered: false,
            images: Vec::new(),
        };
        f.on_event(&event(2, None, false, user));
        assert_eq!(
            f.on_event(&event(3, None, false, stopped())).lines,
            ["[notice] Stopped: 1 queued message was not run."]
        );
    }

    #[test]
    fn untrusted_text_cannot_reach_the_terminal_raw() {
        let mut f = RunFollower::new("mine");
        started(&mut f);
        let reply = EventBody::AssistantMessage {
            text: "a\x1b]52;c;cHduZWQ=\x07b\x1b[2J\nc".into(),
            html: None,
            call_id: None,
        };
        assert_eq!(
            f.on_event(&event(7, Some("r1"), false, reply)).lines,
            ["ab\nc"]
        );
        let tool = EventBody::ToolStarted {
            call_id: "c".into(),
            tool: "sh\x1b[31mell".into(),
            command: "echo\nrm -rf /\r".into(),
            relay: RelayDecision::Allowed,
            detail: None,
        };
        f.on_event(&event(8, Some("r1"), false, tool));
        let notice = EventBody::Notice {
            level: NoticeLevel::Error,
            text: "two\nlines\x07".into(),
        };
        assert_eq!(
            f.on_event(&event(9, Some("r1"), false, notice)).lines,
            ["[notice] two lines␇"]
        );
        let end = EventBody::RunFinished {
            run_id: "r1".into(),
            outcome: RunOutcome::Interrupted,
            error: None,
        };
        let out = f.on_event(&event(10, Some("r1"), false, end));
        assert_eq!(
            out.lines,
            ["[shell] echo rm -rf / → interrupted", "[run interrupted]"]
        );
        assert_eq!(exit_code(out.finished.unwrap()), EXIT_INTERRUPTED);
    }

    #[test]
    fn a_long_command_is_cut_to_one_bounded_line() {
        let line = tool_line("shell", &"x".repeat(500), "exit 1");
        assert_eq!(
            line,
            format!("[shell] {}… → exit 1", "x".repeat(MAX_COMMAND_CHARS))
        );
    }
}
