use super::*;
use crate::wire::{ApprovalKind, RelayDecision, RunOutcome, Seq};

fn ev(seq: u64, run: Option<&str>, body: EventBody) -> Event {
    Event {
        seq: Seq(seq),
        at_ms: seq as i64,
        run: run.map(str::to_owned),
        private: false,
        body,
    }
}

fn user(seq: u64, text: &str) -> Event {
    ev(
        seq,
        None,
        EventBody::UserMessage {
            text: text.into(),
            client_id: format!("c{seq}"),
            source: Default::default(),
            steered: false,
            images: Vec::new(),
        },
    )
}

fn started(seq: u64, run: &str) -> Event {
    ev(
        seq,
        Some(run),
        EventBody::RunStarted {
            run_id: run.into(),
            for_seq: None,
            background: None,
        },
    )
}

fn finished(seq: u64, run: &str) -> Event {
    ev(
        seq,
        Some(run),
        EventBody::RunFinished {
            run_id: run.into(),
            outcome: RunOutcome::Completed,
            error: None,
        },
    )
}

fn reply(seq: u64, run: &str, text: &str) -> Event {
    ev(
        seq,
        Some(run),
        EventBody::AssistantMessage {
            text: text.into(),
            html: Some(format!("<p>{text}</p>")),
            call_id: None,
        },
    )
}

fn tool(seq: u64, run: &str) -> Event {
    ev(
        seq,
        Some(run),
        EventBody::ToolStarted {
            call_id: format!("call{seq}"),
            tool: "shell".into(),
            command: "ls".into(),
            relay: RelayDecision::Allowed,
            detail: None,
        },
    )
}

/// Two finished turns.
fn at_rest() -> Vec<Event> {
    vec![
        user(1, "one"),
        started(2, "r1"),
        reply(3, "r1", "echo one"),
        finished(4, "r1"),
        user(5, "two"),
        started(6, "r2"),
        reply(7, "r2", "echo two"),
        finished(8, "r2"),
    ]
}

fn page(events: Vec<Event>) -> PageData {
    let last_seq = events.last().map_or(Seq::ZERO, |e| e.seq);
    let session = crate::wire::SessionSummary {
        key: crate::wire::SessionKey::parse("s1").unwrap(),
        title: "t".into(),
        updated_ms: 0,
        last_channel: None,
        mode: Default::default(),
        workspace: String::new(),
        model: None,
        effort: None,
        usage: None,
        archived: false,
    };
    PageData {
        session: session.clone(),
        sessions: vec![session],
        events,
        last_seq,
        show_internals: false,
        earlier: 0,
        window: crate::wire::HISTORY_WINDOW,
        models: Vec::new(),
        workspaces: Vec::new(),
        account: Default::default(),
        highlight: None,
    }
}

#[test]
fn a_session_at_rest_has_no_live_part() {
    let events = at_rest();
    assert_eq!(live_start(&events), events.len());
    let mut p = page(events.clone());
    assert_eq!((split(&mut p), p.events.clone()), (events, Vec::new()));
    // The browser starts from no events, and still resumes after the page's last one.
    let t = Transcript::from_events(&p.events).continuing(p.last_seq);
    assert_eq!((t.entries().len(), t.last_seq()), (0, Seq(8)));
}

#[test]
fn a_run_in_progress_stays_live_from_its_start() {
    let mut events = at_rest();
    events.extend([user(9, "three"), started(10, "r3"), reply(11, "r3", "x")]);
    assert_eq!(live_start(&events), 9, "from run_started, seq 10");
}

#[test]
fn an_entry_a_later_event_can_change_stays_live_from_that_entry() {
    // A running tool of a run that has no `run_started` on the page (it began before the window).
    let mut events = at_rest();
    events.extend([tool(9, "r0"), user(10, "later")]);
    assert_eq!(live_start(&events), 8);
    // Until a run ends with none left going: the tool was cut off, and nothing changes it now.
    events.push(finished(11, "r3"));
    assert_eq!(live_start(&events), 11);
    // A waiting approval, its run long finished.
    let mut events = at_rest();
    events.push(ev(
        9,
        None,
        EventBody::ApprovalRequested {
            kind: ApprovalKind::Command,
            item_id: None,
            subject: "rm".into(),
            cwd: None,
            reason: None,
            changes: Vec::new(),
            for_session: false,
        },
    ));
    events.push(user(10, "meanwhile"));
    assert_eq!(live_start(&events), 8);
    // A reply still streaming.
    let mut events = at_rest();
    events.push(ev(
        9,
        Some("r2"),
        EventBody::ModelText {
            item_id: "m".into(),
            text: "half".into(),
        },
    ));
    assert_eq!(live_start(&events), 8);
}

/// The two halves must make the whole's entries: an open entry that is marked by something
/// before it (a background run's label, from its `run_started`) cannot be projected alone, so
/// the page stays all live rather than show it differently after a reload.
#[test]
fn a_split_that_would_change_an_entry_leaves_the_page_all_live() {
    let mut events = at_rest();
    events.push(ev(
        9,
        Some("bg"),
        EventBody::RunStarted {
            run_id: "bg".into(),
            for_seq: None,
            background: Some("schedule nightly".into()),
        },
    ));
    events.push(ev(
        10,
        Some("bg"),
        EventBody::ApprovalRequested {
            kind: ApprovalKind::Command,
            item_id: None,
            subject: "rm".into(),
            cwd: None,
            reason: None,
            changes: Vec::new(),
            for_session: false,
        },
    ));
    events.push(finished(11, "bg"));
    let whole = Transcript::from_events(&events);
    assert_eq!(
        whole.entries().last().unwrap().background.as_deref(),
        Some("schedule nightly")
    );
    assert_eq!(live_start(&events), 0);
}

#[test]
fn the_history_and_the_live_part_make_the_whole_transcript() {
    let mut events = at_rest();
    events.extend([
        user(9, "three"),
        started(10, "r3"),
        tool(11, "r3"),
        reply(12, "r3", "half way"),
    ]);
    let mut p = page(events.clone());
    let history = split(&mut p);
    assert_eq!(history.len(), 9);
    let mut both = Transcript::from_events(&history).entries().to_vec();
    both.extend_from_slice(Transcript::from_events(&p.events).entries());
    assert_eq!(both, Transcript::from_events(&events).entries());
    assert!(Transcript::from_events(&p.events).is_running());
}

#[test]
fn a_part_starts_at_its_first_message() {
    // The part may start after 2; its first message is 5, so the part above it ends at 4.
    let events: Vec<Event> = at_rest().into_iter().skip(2).collect();
    assert_eq!(part_start(&events, 2, 8), (2, 4));
    // Messages after `before` belong to the part below.
    assert_eq!(part_start(&events, 2, 4), (0, 2));
    // No message at all: the whole range, and the next part ends where this one could start.
    let run: Vec<Event> = (3..9).map(|s| reply(s, "r", "x")).collect();
    assert_eq!(part_start(&run, 2, 8), (0, 2));
}
