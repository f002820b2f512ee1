//! The session picker's organising keys without a terminal: `r` renames through a prefilled
//! line, `a` archives or unarchives, `d` deletes after a y/n question, each as a request the loop
//! carries out; what the server answers (a refusal, a deletion, a new list) and hostile titles
//! drawn into the prompts.

use super::*;
use crate::client::ClientError;
use crate::tui::picker_state::{Prompt, SessionChange};
use crate::tui::{settle, Done};

fn summary(key: &str, title: &str, updated_ms: i64, archived: bool) -> SessionSummary {
    SessionSummary {
        key: key_of(key),
        title: title.into(),
        updated_ms,
        last_channel: None,
        mode: Mode::Auto,
        workspace: String::new(),
        model: None,
        effort: None,
        usage: None,
        archived,
    }
}

/// An app on `s1` whose session list is `list`, the picker open on the current session.
fn picking(list: Vec<SessionSummary>) -> App {
    let mut app = app_with(vec![user(1, "in s1")]);
    app.update(Update::Sessions(list));
    assert!(press_with(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL).is_empty());
    assert!(app.picker().is_some());
    app
}

fn rename_text(app: &App) -> Option<String> {
    match app.picker()?.prompt() {
        Prompt::Rename { input, .. } => Some(input.text().to_owned()),
        _ => None,
    }
}

#[test]
fn the_picker_title_lists_its_keys() {
    let app = picking(vec![summary("s1", "My chat", 1, false)]);
    let shown = text(&app);
    assert!(
        shown.contains("Sessions (Enter open · r rename · a archive · d delete · Esc close)"),
        "{shown}"
    );
}

#[test]
fn r_then_typing_then_enter_asks_to_rename_the_selected_session_with_the_new_title() {
    let mut app = picking(vec![
        summary("s1", "My chat", 1, false),
        summary("s2", "Other", 2, false),
    ]);
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Char('r')).is_empty());
    // Prefilled with the current title, the cursor at its end.
    assert_eq!(rename_text(&app).as_deref(), Some("Other"));
    let shown = text(&app);
    assert!(shown.contains("Rename: Other"), "{shown}");
    for _ in 0.."Other".len() {
        press(&mut app, KeyCode::Backspace);
    }
    // Keys are the line's while it is open: `a` and `d` are letters, not actions.
    type_text(&mut app, "Plans and ideas");
    app.paste("\nfor May");
    assert_eq!(app.take_request(), None);
    assert!(text(&app).contains("Rename: Plans and ideas for May"));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Rename {
            session: key_of("s2"),
            title: "Plans and ideas for May".into(),
        }))
    );
    // Back to the list, still open, the shown session unchanged, nothing typed into the composer.
    assert_eq!(app.picker().unwrap().prompt(), &Prompt::None);
    assert_eq!(app.session(), Some(&session()));
    assert_eq!(app.composer().text(), "");
    // The server's answer shows at once, before the pushed list.
    let answer = summary("s2", "Plans and ideas for May", 3, false);
    assert!(settle(&mut app, "", Ok(Done::Changed(answer))).is_empty());
    assert!(text(&app).contains("Plans and ideas for May  s2"));
}

#[test]
fn esc_cancels_a_rename_and_an_unchanged_title_is_not_sent() {
    let mut app = picking(vec![summary("s1", "My chat", 1, false)]);
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, " again");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.take_request(), None);
    assert_eq!(app.picker().unwrap().prompt(), &Prompt::None);
    assert!(!text(&app).contains("Rename:"));
    // Enter on the title as it was (give or take outer spaces) asks nothing either.
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "  ");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_request(), None);
    assert_eq!(app.picker().unwrap().prompt(), &Prompt::None);
    // The next Esc closes the picker.
    press(&mut app, KeyCode::Esc);
    assert!(app.picker().is_none());
}

#[test]
fn a_archives_an_unarchived_session_and_unarchives_an_archived_one() {
    let mut app = picking(vec![
        summary("s1", "Live", 2, false),
        summary("s2", "Put away", 1, true),
    ]);
    assert!(press(&mut app, KeyCode::Char('a')).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Archive {
            session: key_of("s1"),
            archived: true,
        }))
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Archive {
            session: key_of("s2"),
            archived: false,
        }))
    );
    // Ctrl+A is not `a`.
    press_with(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    assert_eq!(app.take_request(), None);
    assert!(app.picker().is_some());
}

#[test]
fn d_then_n_deletes_nothing_and_d_then_y_asks_for_the_delete() {
    let mut app = picking(vec![summary("s1", "My chat", 1, false)]);
    assert!(press(&mut app, KeyCode::Char('d')).is_empty());
    let shown = text(&app);
    assert!(shown.contains("Delete My chat? y/n"), "{shown}");
    // Anything but y or n leaves the question standing.
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Enter);
    assert!(text(&app).contains("Delete My chat? y/n"));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.take_request(), None);
    assert!(!text(&app).contains("Delete My chat?"));
    assert!(app.picker().is_some());
    assert_eq!(app.sessions().len(), 1);

    press(&mut app, KeyCode::Char('d'));
    assert!(press(&mut app, KeyCode::Char('y')).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Delete {
            session: key_of("s1"),
        }))
    );
    assert_eq!(app.picker().unwrap().prompt(), &Prompt::None);
}

#[test]
fn a_refused_change_shows_the_servers_words_in_the_picker() {
    let mut app = picking(vec![summary("s1", "My chat", 1, false)]);
    press(&mut app, KeyCode::Char('r'));
    for _ in 0.."My chat".len() {
        press(&mut app, KeyCode::Backspace);
    }
    press(&mut app, KeyCode::Enter);
    let request = app.take_request().expect("a rename request");
    assert_eq!(
        request,
        Request::Change(SessionChange::Rename {
            session: session(),
            title: String::new(),
        })
    );
    // The loop's handling of a refusal: the failure's words, then the server's.
    let refusal = ClientError::Server {
        status: 400,
        message: "A title is 1 to 200 characters.".into(),
    };
    assert!(settle(&mut app, request.failure(), Err(refusal)).is_empty());
    let shown = text(&app);
    let line = shown
        .lines()
        .find(|l| l.contains("error: Could not rename the session"))
        .unwrap_or_else(|| panic!("no error line in the picker: {shown}"));
    assert!(line.contains("│"), "drawn inside the picker: {line}");
    assert!(
        shown.contains("the server answered 400: A title is 1 to 200 characters."),
        "{shown}"
    );
    // A deletion refused while a run goes on says so the same way; the next action clears it.
    let running = ClientError::Server {
        status: 400,
        message: "This session is running; stop it before deleting it.".into(),
    };
    let delete = Request::Change(SessionChange::Delete { session: session() });
    assert!(settle(&mut app, delete.failure(), Err(running)).is_empty());
    assert!(text(&app).contains("stop it before deleting it."));
    assert_eq!(app.session(), Some(&session()));
    press(&mut app, KeyCode::Char('a'));
    assert!(app.error().is_none());
}

#[test]
fn a_hostile_title_is_drawn_sanitised_in_the_rename_line_and_the_delete_question() {
    let hostile = "evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{1b}[31mred\u{202e}txt\u{7}\u{9b}0m";
    let mut app = picking(vec![summary("s1", hostile, 1, false)]);
    let clean = |shown: &str| {
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(
                !shown.contains(bad),
                "{bad:?} reached the screen: {shown:?}"
            );
        }
    };
    press(&mut app, KeyCode::Char('r'));
    // The line holds the title as received; only the drawing escapes it.
    assert_eq!(rename_text(&app).as_deref(), Some(hostile));
    type_text(&mut app, "\u{1b}[H");
    app.paste("\u{1b}]0;pwned\u{7}");
    let shown = text(&app);
    clean(&shown);
    assert!(shown.contains("Rename: evil"), "{shown}");
    assert!(shown.contains("red�txt␇"), "{shown}");
    // Small screens too, the cursor kept inside.
    for (w, h) in [(1, 1), (12, 3), (30, 4), (80, 2)] {
        clean(&screen(&app, w, h).join("\n"));
    }
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('d'));
    let shown = text(&app);
    clean(&shown);
    assert!(shown.contains("Delete evil"), "{shown}");
    assert!(shown.contains("? y/n"), "{shown}");
    app.set_error(format!("Could not delete the session: {hostile}"));
    let shown = text(&app);
    clean(&shown);
    assert!(
        shown.contains("error: Could not delete the session: evil"),
        "{shown}"
    );
}

#[test]
fn a_long_title_keeps_the_rename_cursor_in_view() {
    let long = "x".repeat(190) + "END";
    let mut app = picking(vec![summary("s1", &long, 1, false)]);
    press(&mut app, KeyCode::Char('r'));
    let rows = screen(&app, 100, 40);
    let line = rows.iter().find(|l| l.contains("Rename: ")).unwrap();
    assert!(
        line.contains("xxxEND"),
        "the end, where the cursor is, shows: {line}"
    );
    let mut terminal = Terminal::new(TestBackend::new(100, 40)).unwrap();
    terminal.draw(|f| render::render(f, &app)).unwrap();
    let cursor = terminal.get_cursor_position().unwrap();
    let y = usize::from(cursor.y);
    assert!(rows[y].contains("Rename: "), "cursor on the rename line");
    // Right after "END", inside the picker (which is at most 72 wide, centred).
    let before: String = rows[y].chars().take(usize::from(cursor.x)).collect();
    assert!(before.ends_with("END"), "{before:?}");
}

#[test]
fn deleting_the_shown_session_opens_the_newest_remaining_one() {
    let mut app = picking(vec![
        summary("s2", "Newest", 9, false),
        summary("s3", "Middle", 5, false),
        summary("s1", "Shown", 1, false),
    ]);
    assert_eq!(app.picker().unwrap().row(), 2);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Delete {
            session: session()
        }))
    );
    assert_eq!(
        settle(&mut app, "", Ok(Done::Deleted(session()))),
        vec![Command::Open {
            session: key_of("s2"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.session(), Some(&key_of("s2")));
    assert!(app.transcript().entries().is_empty());
    assert!(app.sessions().iter().all(|s| s.key != session()));
    // The picker stays open on the list as it now is.
    let shown = text(&app);
    assert!(!shown.contains("Shown"), "{shown}");
    assert!(!shown.contains("in s1"), "{shown}");
    assert_eq!(app.picker().unwrap().row(), 1);
    // The pushed list that follows (without s1) changes nothing more.
    let out = app.update(Update::Sessions(vec![
        summary("s2", "Newest", 9, false),
        summary("s3", "Middle", 5, false),
    ]));
    assert!(out.is_empty());
    assert_eq!(app.session(), Some(&key_of("s2")));
    assert_eq!(app.take_request(), None);
}

#[test]
fn deleting_another_session_keeps_the_shown_one() {
    let mut app = picking(vec![
        summary("s1", "Shown", 9, false),
        summary("s2", "Old", 1, false),
    ]);
    // The push came first: the list no longer has it when the answer arrives.
    app.update(Update::Sessions(vec![summary("s1", "Shown", 9, false)]));
    assert!(app.deleted(&key_of("s2")).is_empty());
    assert_eq!(app.session(), Some(&session()));
    assert!(text(&app).contains("in s1"));
    assert_eq!(app.take_request(), None);
}

#[test]
fn deleting_the_last_session_asks_for_a_new_one() {
    let mut app = picking(vec![summary("s1", "Only", 1, false)]);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.take_request().is_some());
    assert!(app.deleted(&session()).is_empty());
    assert_eq!(app.take_request(), Some(Request::NewSession));
    assert_eq!(app.session(), None);
    assert!(app.transcript().entries().is_empty());
    assert!(!text(&app).contains("in s1"));
    assert!(text(&app).contains("No sessions yet"));
    // The new session's push opens it.
    let out = app.update(Update::Sessions(vec![summary("s9", "New", 20, false)]));
    assert_eq!(
        out,
        vec![Command::Open {
            session: key_of("s9"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
}

#[test]
fn the_selection_follows_its_session_when_the_pushed_list_reorders() {
    let mut app = picking(vec![
        summary("s1", "First", 2, false),
        summary("s2", "Second", 1, false),
    ]);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('d'));
    // Another client touched s2: it moves to the top, the question still about it.
    app.update(Update::Sessions(vec![
        summary("s2", "Second", 5, false),
        summary("s1", "First", 2, false),
    ]));
    assert_eq!(app.picker().unwrap().row(), 0);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.take_request(),
        Some(Request::Change(SessionChange::Delete {
            session: key_of("s2"),
        }))
    );
    // A question about a session deleted elsewhere goes away with it.
    press(&mut app, KeyCode::Char('r'));
    app.update(Update::Sessions(vec![summary("s1", "First", 2, false)]));
    assert_eq!(app.picker().unwrap().prompt(), &Prompt::None);
    assert_eq!(app.picker().unwrap().row(), 0);
}
