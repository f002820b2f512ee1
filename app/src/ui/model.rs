//! The session header's model and reasoning-effort selects (`data-testid="model"`,
//! `data-testid="effort"`), filled from the models Codex lists, each with a "Default" option
//! (value `""`: Codex's default model, the model's default effort).
//!
//! As with the mode select (`mode.rs`), the server renders the stored choice as selected, and a
//! change sends `SetModel` with both selects' values on the page's socket (refused while
//! disconnected). The effort select offers every effort a listed model supports; the server
//! refuses (with a message under the composer) one the chosen model does not. The selects are
//! static (no reactive lists, no effect): the wasm budget is nearly spent, and a reload shows a
//! choice made in another tab. A change applies from the session's next turn.

use leptos::html::Select;
use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::ModelOption;

/// The value of the "Default" options.
const DEFAULT: &str = "";

/// The efforts to offer: every effort some listed model supports, in the order first seen. The
/// server checks a choice against the chosen model, so one it does not support is refused with
/// a message rather than offered per model (which would cost the page a reactive list).
pub fn efforts(models: &[ModelOption]) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for effort in models.iter().flat_map(|m| &m.efforts) {
        if !all.contains(effort) {
            all.push(effort.clone());
        }
    }
    all
}

/// `<option>`s for `(value, label)` pairs, `selected` chosen. Shared by every select built from
/// page data (one copy of the view code in the wasm).
pub fn options(list: Vec<(String, String)>, selected: &str) -> impl IntoView {
    list.into_iter()
        .map(|(value, label)| {
            let chosen = value == selected;
            view! { <option value=value selected=chosen>{label}</option> }
        })
        .collect_view()
}

/// A select's value as a choice: the "Default" option is `None`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn chosen(select: NodeRef<Select>) -> Option<String> {
    select
        .get_untracked()
        .map(|s| s.value())
        .filter(|v| v != DEFAULT)
}

#[component]
pub fn ModelSelect(
    models: Vec<ModelOption>,
    /// The session's model and effort as rendered.
    model: Option<String>,
    effort: Option<String>,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let model_select = NodeRef::<Select>::new();
    let effort_select = NodeRef::<Select>::new();
    // Either select sends both choices: the server checks them together.
    let on_change = move |_| {
        #[cfg(feature = "hydrate")]
        state.command_now(
            super::state::Command::SetModel {
                model: chosen(model_select),
                effort: chosen(effort_select),
            },
            "the model cannot be changed",
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = state;
    };
    let default = || (DEFAULT.to_owned(), "Default".to_owned());
    let mut model_list = vec![default()];
    model_list.extend(models.iter().map(|m| (m.id.clone(), m.name.clone())));
    // A stored model Codex no longer lists stays visible rather than shown as "Default".
    if let Some(stored) = model
        .as_ref()
        .filter(|id| !model_list.iter().any(|(v, _)| v == *id))
    {
        model_list.push((stored.clone(), stored.clone()));
    }
    let mut effort_list = vec![default()];
    effort_list.extend(efforts(&models).into_iter().map(|e| (e.clone(), e)));
    view! {
        <label class="mode" title="The model and how hard it reasons, from the next turn">
            <span>"Model"</span>
            <select data-testid="model" autocomplete="off" node_ref=model_select on:change=on_change>
                {options(model_list, model.as_deref().unwrap_or(DEFAULT))}
            </select>
            <select data-testid="effort" autocomplete="off" node_ref=effort_select on:change=on_change>
                {options(effort_list, effort.as_deref().unwrap_or(DEFAULT))}
            </select>
        </label>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::wire::{Mode, PageData, Seq, SessionKey, SessionSummary, HISTORY_WINDOW};

    fn option(id: &str, efforts: &[&str], is_default: bool) -> ModelOption {
        ModelOption {
            id: id.into(),
            name: format!("Model {id}"),
            efforts: efforts.iter().map(|e| (*e).to_owned()).collect(),
            default_effort: None,
            is_default,
        }
    }

    fn render(model: Option<&str>, effort: Option<&str>) -> String {
        let session = SessionSummary {
            key: SessionKey::parse("s1").unwrap(),
            title: "t".into(),
            updated_ms: 0,
            last_channel: None,
            mode: Mode::Auto,
            workspace: "main".into(),
            model: model.map(str::to_owned),
            effort: effort.map(str::to_owned),
            usage: None,
            archived: false,
        };
        let models = vec![
            option("a", &["low", "high"], true),
            option("b", &["max"], false),
        ];
        let page = PageData {
            session: session.clone(),
            sessions: vec![session.clone()],
            events: vec![],
            last_seq: Seq::ZERO,
            show_internals: false,
            earlier: 0,
            window: HISTORY_WINDOW,
            models: models.clone(),
            workspaces: vec!["main".into()],
            account: Default::default(),
            highlight: None,
        };
        let owner = Owner::new();
        owner.with(|| {
            provide_context(ChatState::new(&page));
            view! { <ModelSelect models model=session.model effort=session.effort/> }.to_html()
        })
    }

    /// The option values of the select with this test id, and the selected ones.
    fn select(html: &str, testid: &str) -> (Vec<String>, Vec<String>) {
        let start = html.find(&format!("data-testid=\"{testid}\"")).unwrap();
        let body = &html[start..html[start..].find("</select>").unwrap() + start];
        let mut all = vec![];
        let mut selected = vec![];
        for option in body.split("<option").skip(1) {
            let tag = &option[..option.find('>').unwrap()];
            let value = tag
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            all.push(value.to_owned());
            if tag.contains("selected") {
                selected.push(value.to_owned());
            }
        }
        (all, selected)
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_selects_list_the_models_and_their_efforts_with_a_default_and_show_the_choice() {
        let html = render(Some("b"), Some("max"));
        assert_eq!(
            select(&html, "model"),
            (strings(&["", "a", "b"]), strings(&["b"]))
        );
        assert_eq!(
            select(&html, "effort"),
            (strings(&["", "low", "high", "max"]), strings(&["max"]))
        );
        assert!(html.contains("Model b"), "{html}");
    }

    #[test]
    fn with_nothing_chosen_default_is_selected() {
        let html = render(None, None);
        assert_eq!(select(&html, "model").1, strings(&[""]));
        assert_eq!(select(&html, "effort").1, strings(&[""]));
    }

    /// A model Codex no longer lists is still shown as the session's choice.
    #[test]
    fn a_stored_model_that_is_not_listed_stays_selected() {
        let html = render(Some("gone"), None);
        assert_eq!(
            select(&html, "model"),
            (strings(&["", "a", "b", "gone"]), strings(&["gone"]))
        );
    }

    #[test]
    fn efforts_are_every_listed_models_once() {
        let list = [
            option("a", &["low", "high"], true),
            option("b", &["high", "max"], false),
        ];
        assert_eq!(efforts(&list), strings(&["low", "high", "max"]));
        assert!(efforts(&[]).is_empty());
    }
}
