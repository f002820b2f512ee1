//! The session header's model and reasoning-effort selects (`data-testid="model"`,
//! `data-testid="effort"`), filled from the models Codex lists, each with a "Default" option
//! (value `""`: Codex's default model, the model's default effort).
//!
//! As with the mode select (`mode.rs`), the server renders the stored choice as selected, a
//! change sends `SetModel` on the page's socket (refused while disconnected), and the selects
//! follow the choice in the session list, which the server pushes to every tab. The effort
//! select offers the efforts of the model chosen (with no model chosen, the default model's).
//! A change applies from the session's next turn.

use leptos::html::Select;
use leptos::prelude::*;

use super::state::ChatState;
use crate::wire::ModelOption;

/// The value of the "Default" options.
const DEFAULT: &str = "";

const MODEL_HINT: &str = "The model Codex uses from the next turn.";
const EFFORT_HINT: &str = "How hard the model reasons, from the next turn.";

/// The efforts to offer with `model` chosen (`None`: Codex's default model).
pub fn efforts_for(models: &[ModelOption], model: Option<&str>) -> Vec<String> {
    let chosen = match model {
        Some(id) => models.iter().find(|m| m.id == id),
        None => models.iter().find(|m| m.is_default),
    };
    chosen.map(|m| m.efforts.clone()).unwrap_or_default()
}

/// A select value as a choice: the "Default" option is `None`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn chosen(value: String) -> Option<String> {
    Some(value).filter(|v| v != DEFAULT)
}

#[component]
pub fn ModelSelect(
    models: Vec<ModelOption>,
    /// The session's model and effort as first rendered (the session list wins once it has
    /// the session).
    model: Option<String>,
    effort: Option<String>,
) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let first = StoredValue::new((model, effort));
    let models = StoredValue::new(models);
    let current = move || {
        let key = state.session.get_value();
        state
            .sessions
            .with(|list| {
                list.iter()
                    .find(|s| s.key == key)
                    .map(|s| (s.model.clone(), s.effort.clone()))
            })
            .unwrap_or_else(|| first.get_value())
    };
    let model_select = NodeRef::<Select>::new();
    let effort_select = NodeRef::<Select>::new();

    // The selects follow the stored choice: after any tab changed it, and after an error (a
    // refused change) puts a line under the composer.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        state.flash.track();
        let (model, effort) = current();
        if let Some(select) = model_select.get() {
            select.set_value(model.as_deref().unwrap_or(DEFAULT));
        }
        if let Some(select) = effort_select.get() {
            select.set_value(effort.as_deref().unwrap_or(DEFAULT));
        }
    });
    #[cfg(feature = "hydrate")]
    let send = move |model: Option<String>, effort: Option<String>| {
        use super::state::Command;
        state.command_now(
            Command::SetModel { model, effort },
            "the model cannot be changed",
        );
    };
    let on_model = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(select) = model_select.get_untracked() {
            let model = chosen(select.value());
            let (_, effort) = current();
            // An effort the new model does not support goes back to its default.
            let effort = effort
                .filter(|e| models.with_value(|m| efforts_for(m, model.as_deref()).contains(e)));
            send(model, effort);
        }
    };
    let on_effort = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(select) = effort_select.get_untracked() {
            send(current().0, chosen(select.value()));
        }
    };

    let (model, _) = current();
    let mut ids: Vec<(String, String)> = models.with_value(|list| {
        list.iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect()
    });
    // A stored model Codex no longer lists stays visible rather than silently shown as default.
    if let Some(stored) = model
        .as_ref()
        .filter(|id| !ids.iter().any(|(i, _)| i == *id))
    {
        ids.push((stored.clone(), stored.clone()));
    }
    let model_options = ids
        .into_iter()
        .map(|(id, name)| {
            let selected = model.as_deref() == Some(id.as_str());
            view! { <option value=id selected=selected>{name}</option> }
        })
        .collect_view();
    let effort_options = move || {
        let (model, effort) = current();
        models
            .with_value(|m| efforts_for(m, model.as_deref()))
            .into_iter()
            .map(|e| {
                let selected = effort.as_deref() == Some(e.as_str());
                {
                    let label = e.clone();
                    view! { <option value=e selected=selected>{label}</option> }
                }
            })
            .collect_view()
    };
    view! {
        <label class="mode" title=MODEL_HINT>
            <span>"Model"</span>
            <select
                data-testid="model"
                autocomplete="off"
                node_ref=model_select
                on:change=on_model
            >
                <option value=DEFAULT selected=model.is_none()>"Default"</option>
                {model_options}
            </select>
        </label>
        <label class="mode" title=EFFORT_HINT>
            <span>"Effort"</span>
            <select
                data-testid="effort"
                autocomplete="off"
                node_ref=effort_select
                on:change=on_effort
            >
                <option value=DEFAULT selected=move || current().1.is_none()>"Default"</option>
                {effort_options}
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

    #[test]
    fn the_selects_list_the_models_and_the_chosen_models_efforts_with_a_default() {
        let html = render(Some("b"), Some("max"));
        assert_eq!(
            select(&html, "model"),
            (vec!["".into(), "a".into(), "b".into()], vec!["b".into()])
        );
        assert_eq!(
            select(&html, "effort"),
            (vec!["".into(), "max".into()], vec!["max".into()])
        );
        assert!(html.contains("Model b"), "{html}");
    }

    #[test]
    fn with_nothing_chosen_the_default_models_efforts_are_offered() {
        let html = render(None, None);
        assert_eq!(select(&html, "model").1, vec![String::new()]);
        assert_eq!(
            select(&html, "effort"),
            (
                vec!["".into(), "low".into(), "high".into()],
                vec!["".into()]
            )
        );
    }

    #[test]
    fn efforts_follow_the_model() {
        let list = [option("a", &["low"], true), option("b", &["max"], false)];
        assert_eq!(efforts_for(&list, None), vec!["low"]);
        assert_eq!(efforts_for(&list, Some("b")), vec!["max"]);
        assert!(efforts_for(&list, Some("gone")).is_empty());
        assert_eq!(chosen(String::new()), None);
        assert_eq!(chosen("a".into()), Some("a".into()));
    }
}
