//! What is held of a session opened at its end.

use app::transcript::Transcript;
use app::wire::{Event, EventBody, NoticeLevel, Seq};

use super::*;

fn ev(seq: u64, body: EventBody) -> Event {
    Event {
        seq: Seq(seq),
        at_ms: 0,
        run: None,
        private: false,
        body,
    }
}

fn notice(seq: u64) -> Event {
    ev(
        seq,
        EventBody::Notice {
            level: NoticeLevel::Info,
            text: format!("n{seq}"),
        },
    )
}

fn held(e: &mut Earlier, t: &mut Transcript, events: Vec<Event>) {
    for event in events {
        e.opening(&event, t);
        assert_eq!(t.apply(&event), app::transcript::Applied::Applied);
        e.keep(event);
    }
}

#[test]
fn a_session_opened_from_its_start_has_nothing_before() {
    let (mut e, mut t) = (Earlier::default(), Transcript::default());
    held(&mut e, &mut t, vec![notice(1), notice(2)]);
    assert!(!e.more());
    assert_eq!(e.at_top(true), None);
}

#[test]
fn a_part_from_the_sessions_start_holds_everything_before() {
    let (mut e, mut t) = (Earlier::default(), Transcript::default());
    held(&mut e, &mut t, vec![notice(5), notice(6)]);
    assert!(e.more());
    assert_eq!(e.at_top(false), None);
    assert_eq!(e.at_top(true), Some(Seq(4)));
    e.prepend((1..=4).map(notice).collect(), &mut t);
    assert!(!e.more());
    assert_eq!(t.entries().len(), 6);
    assert_eq!(t.last_seq(), Seq(6));
}

#[test]
fn an_empty_part_changes_nothing_and_can_be_asked_again() {
    let (mut e, mut t) = (Earlier::default(), Transcript::default());
    held(&mut e, &mut t, vec![notice(9)]);
    assert_eq!(e.at_top(true), Some(Seq(8)));
    e.prepend(Vec::new(), &mut t);
    assert_eq!(t.entries().len(), 1);
    assert_eq!(e.at_top(true), Some(Seq(8)));
}
