//! The search (Ctrl+F) and Codex threads (Ctrl+O) screens without a terminal: the requests their
//! keys make, what the server's answers and refusals show, Enter switching sessions, Esc closing,
//! and hostile titles, snippets and folders drawn sanitised.

use ::app::wire::{CodexThread, SearchHit, Snip};
use ratatui::style::Modifier;

use super::*;
use crate::client::ClientError;
use crate::tui::finder::Results;
use crate::tui::lookup::{Answer, Find, Lookup};
use crate::tui::threads::NONE_LISTED;
use crate::tui::{settle, Done};

fn hit(session: &str, title: &str, seq: u64, snippet: &[(&str, bool)]) -> SearchHit {
    SearchHit {
        session: key_of(session),
        title: title.into(),
        seq: Seq(seq),
        snippet: snippet
            .iter()
            .map(|(text, hit)| Snip {
                text: (*text).into(),
                hit: *hit,
            })
            .collect(),
    }
}

fn thread(id: &str, title: &str, cwd: &str, session: Option<&str>) -> CodexThread {
    CodexThread {
        id: id.into(),
        title: title.into(),
        workspace: "workspace".into(),
        cwd: cwd.into(),
        created_ms: 1,
        updated_ms: 2,
        session: session.map(key_of),
    }
}

/// An app on `s1` with the search screen open.
fn searching() -> App {
    let mut app = app_with(vec![user(1, "in s1")]);
    assert!(press_with(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL).is_empty());
    assert!(matches!(app.lookup(), Some(Lookup::Search(_))));
    app
}

/// Types `words`, presses Enter, and checks the search it asks for.
fn search_for(app: &mut App, words: &str) {
    type_text(app, words);
    assert!(press(app, KeyCode::Enter).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Find(Find::Search(words.trim().into())))
    );
}

fn results(app: &App) -> Results {
    match app.lookup() {
        Some(Lookup::Search(finder)) => finder.results().clone(),
        other => panic!("the search screen is not open: {other:?}"),
    }
}

/// An app on `s1` with the Codex threads screen open and its list request taken.
fn listing() -> App {
    let mut app = app_with(vec![user(1, "in s1")]);
    assert!(press_with(&mut app, KeyCode::Char('o'), KeyModifiers::CONTROL).is_empty());
    assert!(matches!(app.lookup(), Some(Lookup::Threads(_))));
    assert_eq!(app.take_request(), Some(Request::Find(Find::Threads)));
    app
}

/// The modifiers of the cells where `needle` is first drawn (on a 100×40 screen).
fn modifiers_of(app: &App, needle: &str) -> Vec<Modifier> {
    let (width, height) = (100u16, 40u16);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render::render(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    for y in 0..height {
        let cells: Vec<_> = (0..width)
            .map(|x| &buffer.content()[usize::from(y) * usize::from(width) + usize::from(x)])
            .collect();
        let symbols: Vec<&str> = cells.iter().map(|c| c.symbol()).collect();
        let n = needle.chars().count();
        for x in 0..cells.len().saturating_sub(n) {
            if symbols[x..x + n].concat() == needle {
                return cells[x..x + n].iter().map(|c| c.modifier).collect();
            }
        }
    }
    panic!("{needle:?} is not drawn:\n{}", text(app));
}

fn assert_clean(shown: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(
            !shown.contains(bad),
            "{bad:?} reached the screen: {shown:?}"
        );
    }
}

#[test]
fn the_help_line_names_search_and_codex_threads() {
    let app = app_with(vec![]);
    let shown = screen(&app, 250, 10).join("\n");
    assert!(
        shown.contains("Ctrl+F search · Ctrl+O Codex threads"),
        "{shown}"
    );
}

#[test]
fn ctrl_f_then_words_then_enter_asks_the_server_once_for_the_trimmed_words() {
    let mut app = searching();
    let shown = text(&app);
    assert!(
        shown.contains("Search (Enter search, then open · ↑/↓ choose · Esc close)"),
        "{shown}"
    );
    // Keys are the query's: nothing goes to the composer or the connection.
    type_text(&mut app, "  deploy");
    app.paste("\nthe docs ");
    assert_eq!(app.composer().text(), "");
    assert_eq!(app.take_request(), None);
    assert!(text(&app).contains("Search:   deploy the docs"));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Find(Find::Search("deploy the docs".into())))
    );
    assert!(text(&app).contains("searching…"));
    // Enter again while it is under way asks nothing more; nor does an empty query.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_request(), None);
    let mut empty = searching();
    press(&mut empty, KeyCode::Char(' '));
    press(&mut empty, KeyCode::Enter);
    assert_eq!(empty.take_request(), None);
}

#[test]
fn hits_show_their_title_and_snippet_with_the_match_marked_and_enter_opens_the_chosen_one() {
    let mut app = searching();
    search_for(&mut app, "deploy");
    let hits = vec![
        hit(
            "s1",
            "This chat",
            1,
            &[("about to ", false), ("deploy", true)],
        ),
        hit(
            "s2",
            "Release notes",
            7,
            &[("we ", false), ("deployed", true), (" on Friday", false)],
        ),
    ];
    let answer = Answer::Hits {
        query: "deploy".into(),
        hits: hits.clone(),
    };
    assert!(settle(&mut app, "", Ok(Done::Found(answer))).is_empty());
    let shown = text(&app);
    assert!(shown.contains("2 matches"), "{shown}");
    assert!(shown.contains("This chat"), "{shown}");
    assert!(shown.contains("Release notes"), "{shown}");
    assert!(shown.contains("we deployed on Friday"), "{shown}");
    // The matched piece is marked, the words around it are not.
    assert!(modifiers_of(&app, "deployed")
        .iter()
        .all(|m| m.contains(Modifier::REVERSED | Modifier::BOLD)));
    assert!(modifiers_of(&app, " on Friday")
        .iter()
        .all(|m| !m.contains(Modifier::REVERSED)));
    // ↓ chooses the second hit; Enter opens its session from the start.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Command::Open {
            session: key_of("s2"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.session(), Some(&key_of("s2")));
    assert!(app.lookup().is_none());
    assert_eq!(app.take_request(), None);
    assert!(!text(&app).contains("Search:"));
}

#[test]
fn enter_on_a_hit_in_the_session_shown_just_closes_the_search() {
    let mut app = searching();
    search_for(&mut app, "s1");
    let hits = vec![hit("s1", "My chat", 1, &[("in ", false), ("s1", true)])];
    app.found(Answer::Hits {
        query: "s1".into(),
        hits,
    });
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.lookup().is_none());
    assert_eq!(app.session(), Some(&session()));
    assert!(text(&app).contains("in s1"), "the transcript is kept");
}

#[test]
fn an_edited_query_is_searched_again_and_a_late_answer_to_the_old_one_is_ignored() {
    let mut app = searching();
    search_for(&mut app, "alpha");
    // The person goes on typing and searches again before the first answer arrives.
    type_text(&mut app, " beta");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.take_request(),
        Some(Request::Find(Find::Search("alpha beta".into())))
    );
    app.found(Answer::Hits {
        query: "alpha".into(),
        hits: vec![hit("s2", "Old answer", 3, &[("alpha", true)])],
    });
    assert_eq!(results(&app), Results::Searching("alpha beta".into()));
    assert!(!text(&app).contains("Old answer"));
    let newer = vec![hit("s2", "New answer", 4, &[("alpha beta", true)])];
    app.found(Answer::Hits {
        query: "alpha beta".into(),
        hits: newer,
    });
    assert!(text(&app).contains("New answer"));
    // Editing after the hits came makes Enter search, not open.
    press(&mut app, KeyCode::Backspace);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        app.take_request(),
        Some(Request::Find(Find::Search("alpha bet".into())))
    );
    assert_eq!(app.session(), Some(&session()));
}

#[test]
fn no_hits_say_no_matches_and_a_refused_search_shows_the_servers_words() {
    let mut app = searching();
    search_for(&mut app, "zebra");
    app.found(Answer::Hits {
        query: "zebra".into(),
        hits: Vec::new(),
    });
    assert!(text(&app).contains("No matches"), "{}", text(&app));
    // Enter with nothing to open does nothing.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.lookup().is_some());

    let long = "x".repeat(201);
    press(&mut app, KeyCode::End);
    app.paste(&long);
    press(&mut app, KeyCode::Enter);
    let request = app.take_request().expect("the long query is asked for");
    assert_eq!(request.failure(), "Could not search");
    let refusal = ClientError::Server {
        status: 400,
        message: "A search has at most 200 characters.".into(),
    };
    assert!(settle(&mut app, request.failure(), Err(refusal)).is_empty());
    assert!(matches!(results(&app), Results::Failed(_)));
    let shown = text(&app);
    let line = shown
        .lines()
        .find(|l| {
            l.contains("error: Could not search: the server answered 400: A search has at most")
        })
        .unwrap_or_else(|| panic!("no error line in the search screen: {shown}"));
    assert!(line.contains('│'), "drawn inside the search screen: {line}");
    assert!(!shown.contains("No matches"), "{shown}");
}

#[test]
fn esc_closes_the_search_and_keys_go_back_to_the_composer() {
    let mut app = searching();
    search_for(&mut app, "hello");
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.lookup().is_none());
    // The answer arriving after it closed is dropped.
    app.found(Answer::Hits {
        query: "hello".into(),
        hits: vec![hit("s2", "Found late", 1, &[("hello", true)])],
    });
    assert!(app.lookup().is_none());
    assert!(!text(&app).contains("Found late"));
    type_text(&mut app, "hi");
    assert_eq!(app.composer().text(), "hi");
    // Esc with the screen closed stops the run again, as ever.
    assert_eq!(
        press(&mut app, KeyCode::Esc),
        vec![Command::Stop { session: session() }]
    );
}

#[test]
fn hostile_titles_and_snippets_are_drawn_sanitised_in_the_search_results() {
    let hostile = "evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{1b}[31mred\u{202e}txt\u{9b}0m";
    let mut app = searching();
    type_text(&mut app, "q\u{1b}[H");
    press(&mut app, KeyCode::Enter);
    let query = match app.take_request() {
        Some(Request::Find(Find::Search(q))) => q,
        other => panic!("{other:?}"),
    };
    let hits = vec![hit(
        "s2",
        hostile,
        5,
        &[(hostile, false), ("\u{1b}[7mmatch\u{1b}[0m\nnext", true)],
    )];
    app.found(Answer::Hits { query, hits });
    let shown = text(&app);
    assert_clean(&shown);
    assert!(shown.contains("evil"), "{shown}");
    assert!(shown.contains("red�txt"), "{shown}");
    assert!(shown.contains("match"), "{shown}");
    for (w, h) in [(1, 1), (12, 3), (30, 4), (80, 2), (100, 6)] {
        assert_clean(&screen(&app, w, h).join("\n"));
    }
    app.set_error(format!("Could not search: {hostile}"));
    assert_clean(&text(&app));
}

#[test]
fn ctrl_o_lists_each_codex_threads_title_workspace_and_folder() {
    let mut app = listing();
    let shown = text(&app);
    assert!(
        shown.contains("Codex threads (Enter open · ↑/↓ choose · Esc close)"),
        "{shown}"
    );
    assert!(shown.contains("Asking Codex for its threads…"), "{shown}");
    let threads = vec![
        thread("t-1", "Fix the build", "/work/project", None),
        thread("t-2", "Made here", "/work/project/sub", Some("s2")),
    ];
    assert!(settle(&mut app, "", Ok(Done::Found(Answer::Threads(threads)))).is_empty());
    let shown = text(&app);
    assert!(!shown.contains("Asking Codex"), "{shown}");
    let row = shown.lines().find(|l| l.contains("Fix the build")).unwrap();
    assert!(row.contains("workspace · /work/project"), "{row}");
    let row = shown.lines().find(|l| l.contains("Made here")).unwrap();
    assert!(row.contains("/work/project/sub · open"), "{row}");
    // Keys are the screen's: nothing typed into the composer.
    type_text(&mut app, "xy");
    assert_eq!(app.composer().text(), "");
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.lookup().is_none());
}

#[test]
fn enter_on_a_thread_asks_to_open_it_once_and_the_answer_switches_to_its_session() {
    let mut app = listing();
    app.found(Answer::Threads(vec![thread(
        "0199a6f0-0000-7000-8000-000000000001",
        "From the Codex TUI",
        "/work/project",
        None,
    )]));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let request = app.take_request().expect("the open is asked for");
    assert_eq!(
        request,
        Request::Find(Find::OpenThread(
            "0199a6f0-0000-7000-8000-000000000001".into()
        ))
    );
    assert!(text(&app).contains("Opening the thread in a session…"));
    // A second Enter while it opens asks nothing more.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_request(), None);
    assert_eq!(
        settle(&mut app, request.failure(), Ok(Done::Session(key_of("s9")))),
        vec![Command::Open {
            session: key_of("s9"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.session(), Some(&key_of("s9")));
    assert!(app.lookup().is_none());
}

#[test]
fn enter_on_a_thread_open_in_a_session_switches_there_without_asking() {
    let mut app = listing();
    app.found(Answer::Threads(vec![
        thread("t-1", "First", "/w", None),
        thread("t-2", "Already open", "/w", Some("s2")),
    ]));
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Command::Open {
            session: key_of("s2"),
            recent: crate::tui::earlier::RECENT,
        }]
    );
    assert_eq!(app.take_request(), None);
    assert_eq!(app.session(), Some(&key_of("s2")));
    assert!(app.lookup().is_none());
}

#[test]
fn no_codex_threads_says_so_and_failures_show_the_servers_words() {
    let mut app = listing();
    app.found(Answer::Threads(Vec::new()));
    assert!(text(&app).contains(NONE_LISTED), "{}", text(&app));
    assert_eq!(
        NONE_LISTED,
        "No Codex threads worked in a configured workspace."
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.take_request(), None);

    // Codex unavailable: the listing's failure is the screen's error line.
    let mut app = listing();
    let unavailable = ClientError::Server {
        status: 503,
        message: "Codex is not running.".into(),
    };
    let failed = Request::Find(Find::Threads).failure();
    assert!(settle(&mut app, failed, Err(unavailable)).is_empty());
    let shown = text(&app);
    assert!(!shown.contains("Asking Codex"), "{shown}");
    let line = shown
        .lines()
        .find(|l| l.contains("error: Could not list the Codex threads: the server answered 503"))
        .unwrap_or_else(|| panic!("no error line: {shown}"));
    assert!(line.contains('│'), "drawn inside the screen: {line}");

    // A refused open: the server's words, and Enter may try again.
    let mut app = listing();
    app.found(Answer::Threads(vec![thread("bad", "Bad", "/w", None)]));
    press(&mut app, KeyCode::Enter);
    let request = app.take_request().unwrap();
    let refusal = ClientError::Server {
        status: 400,
        message: "This Codex thread cannot be opened: that is not a thread id".into(),
    };
    assert!(settle(&mut app, request.failure(), Err(refusal)).is_empty());
    let shown = text(&app);
    assert!(
        shown.contains("error: Could not open the Codex thread: the server answered 400"),
        "{shown}"
    );
    assert!(!shown.contains("Opening the thread"), "{shown}");
    assert_eq!(app.session(), Some(&session()));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.take_request(), Some(request));
}

#[test]
fn hostile_thread_titles_and_folders_are_drawn_sanitised() {
    let hostile = "evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{1b}[31mred\u{202e}txt\u{9b}0m";
    let mut app = listing();
    app.found(Answer::Threads(vec![CodexThread {
        workspace: hostile.into(),
        ..thread("t-1", hostile, &format!("/w/{hostile}\nnext"), None)
    }]));
    let shown = text(&app);
    assert_clean(&shown);
    assert!(shown.contains("evil"), "{shown}");
    assert!(shown.contains("/w/evil"), "{shown}");
    for (w, h) in [(1, 1), (12, 3), (30, 4), (80, 2)] {
        assert_clean(&screen(&app, w, h).join("\n"));
    }
    app.set_error(format!("Could not open the Codex thread: {hostile}"));
    let shown = text(&app);
    assert_clean(&shown);
    assert!(shown.contains("error: Could not open the Codex thread: evil"));
}
