//! The session header's permission-mode select (`data-testid="mode"`): one option per
//! [`Mode`], valued with its contract name, selected as the session's mode.
//!
//! The server renders the stored mode as the selected option, so the select is right before the
//! wasm arrives. A change sends `SetMode` on the page's socket (refused with a message while
//! disconnected, and the select goes back, as it does on any error the server answers); the
//! server then pushes the session list to every tab, and the select follows the mode in it,
//! whichever tab changed it (`ChatState::show_mode`, called by the live connection). A new mode
//! applies from the session's next turn.

use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::Mode;

/// The words a person reads for a mode (the option's value is [`Mode::as_str`]).
fn label(mode: Mode) -> &'static str {
    match mode {
        Mode::FullAccess => "Full access",
        Mode::Auto => "Auto",
        Mode::Ask => "Ask",
        Mode::ReadOnly => "Read only",
    }
}

const HINT: &str = "How much Codex may do without asking you. A change applies from the next turn.";

#[component]
pub fn ModeSelect() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let on_change = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use super::state::Command;
            let chosen = state
                .mode_select
                .get_untracked()
                .and_then(|select| Mode::parse(&select.value()));
            // Refused while disconnected, and the select goes back (`command_now`).
            if let Some(chosen) = chosen.filter(|&m| m != state.mode()) {
                state.command_now(Command::SetMode(chosen), "the mode cannot be changed");
            }
        }
    };
    // Fixed options: the server alone renders them (see `server_only`); the browser changes
    // only which is selected.
    let options = if cfg!(feature = "ssr") {
        let first = state.mode();
        Mode::ALL
            .map(|m| {
                let selected = if m == first { " selected" } else { "" };
                format!(
                    r#"<option value="{}"{selected}>{}</option>"#,
                    m.as_str(),
                    label(m)
                )
            })
            .concat()
    } else {
        String::new()
    };
    view! {
        <label class="mode" title=HINT>
            <span>"Mode"</span>
            // autocomplete=off: browsers otherwise restore a select's old choice on reload,
            // which would contradict the server's rendering of the stored mode.
            <select
                data-testid="mode"
                autocomplete="off"
                node_ref=state.mode_select
                on:change=on_change
                inner_html=options
            ></select>
        </label>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::wire::{PageData, Seq, SessionKey, SessionSummary, HISTORY_WINDOW};

    fn page(stored: Mode, listed: Option<Mode>) -> PageData {
        let session = SessionSummary {
            key: SessionKey::parse("s1").unwrap(),
            title: "t".into(),
            updated_ms: 0,
            last_channel: None,
            mode: stored,
            workspace: String::new(),
            model: None,
            effort: None,
            usage: None,
            archived: false,
        };
        let mut sessions = vec![SessionSummary {
            key: SessionKey::parse("other").unwrap(),
            mode: Mode::FullAccess,
            ..session.clone()
        }];
        if let Some(mode) = listed {
            sessions.push(SessionSummary {
                mode,
                ..session.clone()
            });
        }
        PageData {
            session,
            sessions,
            events: vec![],
            last_seq: Seq::ZERO,
            show_internals: false,
            earlier: 0,
            window: HISTORY_WINDOW,
            models: Vec::new(),
            workspaces: Vec::new(),
            account: Default::default(),
            highlight: None,
        }
    }

    fn render(page: PageData) -> String {
        let owner = Owner::new();
        owner.with(|| {
            provide_context(ChatState::new(&page));
            view! { <ModeSelect/> }.to_html()
        })
    }

    /// The `value` of every option, and of the selected ones.
    fn options(html: &str) -> (Vec<&str>, Vec<&str>) {
        let mut all = vec![];
        let mut selected = vec![];
        for option in html.split("<option").skip(1) {
            let tag = &option[..option.find('>').unwrap()];
            let value = tag
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            all.push(value);
            if tag.contains("selected") {
                selected.push(value);
            }
        }
        (all, selected)
    }

    #[test]
    fn the_select_lists_every_mode_by_its_contract_name_and_shows_the_stored_one() {
        for stored in Mode::ALL {
            let html = render(page(stored, None));
            assert!(html.contains(r#"data-testid="mode""#), "{html}");
            let (all, selected) = options(&html);
            assert_eq!(all, ["full-access", "auto", "ask", "read-only"], "{html}");
            assert_eq!(selected, [stored.as_str()], "{html}");
        }
    }

    #[test]
    fn the_session_list_wins_over_the_first_render() {
        // The list is what later changes (from any tab) update; the page's own copy is only the
        // fallback for a session the list does not hold.
        let html = render(page(Mode::Auto, Some(Mode::ReadOnly)));
        assert_eq!(options(&html).1, ["read-only"], "{html}");
    }
}
