//! Every item kind the demo model can make Codex emit becomes a card, end to end through the
//! gateway against the real, pinned `codex app-server`: `/edit` a `file_change` card whose diff
//! the server classified (and the turn's `turn_diff`), `/plan` one `plan` card updated in place
//! until every step is completed, `/think` a private `reasoning` card. After a turn the session
//! knows its context usage. The cards read back from the store are the ones the live subscriber
//! got (a reload shows what was seen live).

mod common;

use std::time::Duration;

use app::transcript::{ToolView, Transcript};
use app::wire::{DiffLineKind, Event, EventBody, PlanStatus, SessionKey, ToolDetail, ToolStatus};
use codex_webchat::serve::{self, Running};

/// Bounds a whole turn; it ends on an event long before this.
const TURN_WAIT: Duration = Duration::from_secs(90);

/// Sends `text` and returns the run's events twice: as the live subscriber got them, and as the
/// store reads them back afterwards.
async fn live_and_stored(
    server: &Running,
    key: &SessionKey,
    client_id: &str,
    text: &str,
) -> (Vec<Event>, Vec<Event>) {
    let after = server.gateway.store().last_seq(key).unwrap();
    let mut live = server.gateway.subscribe(key);
    server.gateway.send(key, client_id, text).unwrap();
    let deadline = tokio::time::Instant::now() + TURN_WAIT;
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout_at(deadline, live.recv())
            .await
            .unwrap_or_else(|_| panic!("{text:?} did not finish: {seen:#?}"))
            .expect("the live subscriber kept up");
        let done = matches!(event.body, EventBody::RunFinished { .. });
        seen.push((*event).clone());
        if done {
            break;
        }
    }
    let stored = server.gateway.events_after(key, after, 10_000).unwrap();
    (seen, stored)
}

/// The cards of `events` with `data-tool` = `tool`, as the transcript shows them.
fn cards(events: &[Event], tool: &str) -> Vec<(bool, ToolView)> {
    Transcript::from_events(events)
        .entries()
        .iter()
        .filter_map(|e| {
            let view = e.tool.clone()?;
            (view.tool == tool).then_some((e.private, view))
        })
        .collect()
}

/// The live events and the stored ones present the same transcript.
fn same_after_reload(live: &[Event], stored: &[Event]) {
    assert_eq!(live, stored, "the store holds exactly what was published");
    assert_eq!(
        Transcript::from_events(live).entries(),
        Transcript::from_events(stored).entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_plan_and_think_are_cards_live_and_after_reload_and_usage_is_known() {
    let dir = common::data_dir("items-real");
    let server = serve::start(common::config(dir.path())).await.unwrap();
    let key = server.gateway.create_session().unwrap().key;
    assert_eq!(server.gateway.session(&key).unwrap().usage, None);
    let mut lists = server.gateway.subscribe_sessions();

    // /edit: a file_change card with the classified diff, and the turn's diff.
    let (live, stored) = live_and_stored(&server, &key, "c1", "/edit notes.txt hello").await;
    same_after_reload(&live, &stored);
    assert_eq!(common::replies(&stored), ["edited notes.txt"]);
    let changes = cards(&stored, "file_change");
    let (private, card) = changes.last().expect("a file_change card");
    assert!(!private);
    assert!(card.command.ends_with("notes.txt"), "{card:?}");
    assert_eq!(card.status, ToolStatus::Completed);
    let Some(ToolDetail::Files { files }) = &card.detail else {
        panic!("no files on {card:?}")
    };
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .lines
            .iter()
            .any(|l| l.kind == DiffLineKind::Add && l.text == "+hello"),
        "{files:?}"
    );
    assert_eq!(files[0].added, 1);
    let turn_diff = cards(&stored, "turn_diff");
    assert_eq!(turn_diff.len(), 1, "one turn_diff card per turn");
    assert!(
        matches!(&turn_diff[0].1.detail, Some(ToolDetail::Files { files }) if files.iter().any(|f| f.lines.iter().any(|l| l.text == "+hello"))),
        "{turn_diff:?}"
    );
    assert_eq!(turn_diff[0].1.status, ToolStatus::Completed);

    // Usage is known after a turn.
    let usage = server
        .gateway
        .session(&key)
        .unwrap()
        .usage
        .expect("usage after a turn");
    assert!(usage.tokens > 0, "{usage:?}");
    assert!(usage.total >= usage.tokens, "{usage:?}");
    // Every open tab learns it from the session list.
    let deadline = tokio::time::Instant::now() + TURN_WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, lists.recv())
            .await
            .expect("no session list with the usage")
            .expect("the session list subscriber kept up");
        let listed = frame.sessions.iter().find(|s| s.key == key);
        if listed.is_some_and(|s| s.usage.is_some_and(|u| u.tokens > 0)) {
            assert!(
                frame.json.contains(r#""usage":{"tokens":"#),
                "{}",
                frame.json
            );
            break;
        }
    }

    // /plan: one plan card, updated in place until every step is completed.
    let (live, stored) = live_and_stored(&server, &key, "c2", "/plan").await;
    same_after_reload(&live, &stored);
    assert!(
        stored.iter().any(|e| matches!(
            e.body,
            EventBody::RunFinished {
                outcome: app::wire::RunOutcome::Completed,
                ..
            }
        )),
        "the run completes"
    );
    assert_eq!(common::replies(&stored), ["planned"]);
    let plans = cards(&stored, "plan");
    assert_eq!(plans.len(), 1, "one plan card per turn: {plans:?}");
    let Some(ToolDetail::Plan { steps, .. }) = &plans[0].1.detail else {
        panic!("no plan on {plans:?}")
    };
    assert_eq!(steps.len(), 3);
    assert!(
        steps.iter().all(|s| s.status == PlanStatus::Completed),
        "{steps:?}"
    );
    let updates = stored
        .iter()
        .filter(|e| matches!(e.body, EventBody::ToolUpdated { .. }))
        .count();
    assert!(updates >= 3, "the plan moved on in place: {updates}");

    // /think: a private reasoning card with the summary.
    let (live, stored) = live_and_stored(&server, &key, "c3", "/think why").await;
    same_after_reload(&live, &stored);
    assert_eq!(common::replies(&stored), ["thought"]);
    let thoughts = cards(&stored, "reasoning");
    assert_eq!(thoughts.len(), 1, "{thoughts:?}");
    let (private, card) = &thoughts[0];
    assert!(private, "reasoning is private");
    assert_eq!(card.command, "why");

    // The page (the whole history read back at once) shows the same cards as the turns did.
    let everything = server
        .gateway
        .events_after(&key, app::wire::Seq::ZERO, 10_000)
        .unwrap();
    for tool in ["file_change", "turn_diff", "plan", "reasoning"] {
        assert!(!cards(&everything, tool).is_empty(), "{tool}");
    }
    server.shutdown().await;
}
