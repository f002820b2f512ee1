//! `model/list`: the models the running app-server offers, read page by page.
//!
//! Only the fields a model picker needs are kept (id, display name, reasoning efforts, defaults);
//! anything else Codex adds is ignored, and a malformed entry is skipped rather than failing the
//! list. Caching (once per Codex process) is the gateway's; this module only asks and parses.

use serde_json::{json, Value};

use super::{Codex, CodexError};

/// At most this many pages are read: a cursor that never ends is Codex's bug, not a reason to
/// loop forever.
const MAX_PAGES: usize = 20;

/// One model of `model/list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// What `turn/start`'s `model` takes.
    pub id: String,
    pub display_name: String,
    /// `supportedReasoningEfforts[].reasoningEffort`, in Codex's order.
    pub efforts: Vec<String>,
    pub default_effort: Option<String>,
    pub is_default: bool,
}

/// One page of a `model/list` result: its models (hidden ones left out) and the cursor of the
/// next page.
pub fn parse_page(result: &Value) -> Result<(Vec<Model>, Option<String>), CodexError> {
    let data = result
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| CodexError::Protocol(format!("model/list without data: {result}")))?;
    let models = data.iter().filter_map(parse_model).collect();
    let next = result
        .get("nextCursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    Ok((models, next))
}

fn parse_model(raw: &Value) -> Option<Model> {
    if raw.get("hidden").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let id = raw
        .get("model")
        .or_else(|| raw.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())?
        .to_owned();
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let efforts = raw
        .get("supportedReasoningEfforts")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| e.get("reasoningEffort").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(Model {
        display_name: text("displayName").unwrap_or_else(|| id.clone()),
        id,
        efforts,
        default_effort: text("defaultReasoningEffort"),
        is_default: raw.get("isDefault").and_then(Value::as_bool) == Some(true),
    })
}

/// What the app-server's effective configuration (`config/read`) names as the model and the
/// reasoning effort, when it names them.
pub fn parse_config_defaults(result: &Value) -> (Option<String>, Option<String>) {
    let text = |key: &str| {
        result
            .pointer(&format!("/config/{key}"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    (text("model"), text("model_reasoning_effort"))
}

impl Codex {
    /// `config/read`: the configured model and reasoning effort (see [`parse_config_defaults`]).
    pub async fn configured_defaults(
        &self,
    ) -> Result<(Option<String>, Option<String>), CodexError> {
        let result = self.request("config/read", json!({})).await?;
        Ok(parse_config_defaults(&result))
    }

    /// Every model the current app-server lists, following `nextCursor`.
    pub async fn model_list(&self) -> Result<Vec<Model>, CodexError> {
        let mut models = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let (page, next) = parse_page(&self.request("model/list", params).await?)?;
            models.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(models),
            }
        }
        tracing::warn!("model/list kept returning a next cursor; using the pages read so far");
        Ok(models)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/codex/models");

    fn fixture(name: &str) -> Value {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The real 0.169 answer with the demo configuration (`workspaces_real.rs` captures it):
    /// the demo model lists itself with its efforts.
    #[test]
    fn the_captured_demo_model_list_parses() {
        let (models, next) = parse_page(&fixture("demo-model-list.json")).unwrap();
        assert_eq!(next, None);
        assert_eq!(models.len(), 1);
        let demo = &models[0];
        // The demo model's slug (`demo_model::DEMO_MODEL_SLUG`, which this module may not
        // import: it sits above `codex`).
        assert_eq!(demo.id, "demo-model");
        assert!(demo.is_default);
        assert!(!demo.efforts.is_empty());
        let default = demo.default_effort.as_deref().unwrap();
        assert!(demo.efforts.iter().any(|e| e == default), "{demo:?}");
    }

    /// The real 0.169 answer with Codex's own (bundled) catalog: several models, one default.
    #[test]
    fn the_captured_bundled_model_list_parses() {
        let (models, _) = parse_page(&fixture("bundled-model-list.json")).unwrap();
        assert!(models.len() > 1, "{models:?}");
        assert_eq!(models.iter().filter(|m| m.is_default).count(), 1);
        assert!(models
            .iter()
            .all(|m| !m.efforts.is_empty() && !m.display_name.is_empty()));
    }

    #[test]
    fn the_configured_model_and_effort_are_read_when_set() {
        // As Codex 0.169 answers with the demo configuration.
        let read = json!({"config": {"model": "demo-model", "model_reasoning_effort": null,
            "model_provider": "demo"}, "origins": {}});
        assert_eq!(
            parse_config_defaults(&read),
            (Some("demo-model".into()), None)
        );
        let read = json!({"config": {"model_reasoning_effort": "high"}, "origins": {}});
        assert_eq!(parse_config_defaults(&read), (None, Some("high".into())));
        assert_eq!(parse_config_defaults(&json!({})), (None, None));
    }

    #[test]
    fn hidden_and_malformed_entries_are_skipped_and_the_cursor_is_read() {
        let page = json!({
            "data": [
                {"id": "a", "model": "a", "displayName": "A", "hidden": false,
                 "supportedReasoningEfforts": [{"reasoningEffort": "low", "description": ""}],
                 "defaultReasoningEffort": "low", "isDefault": false},
                {"id": "h", "model": "h", "hidden": true},
                {"displayName": "no id"},
                "not an object"
            ],
            "nextCursor": "page-2"
        });
        let (models, next) = parse_page(&page).unwrap();
        assert_eq!(next.as_deref(), Some("page-2"));
        assert_eq!(
            models,
            vec![Model {
                id: "a".into(),
                display_name: "A".into(),
                efforts: vec!["low".into()],
                default_effort: Some("low".into()),
                is_default: false,
            }]
        );
        assert!(parse_page(&json!({"items": []})).is_err());
    }
}
