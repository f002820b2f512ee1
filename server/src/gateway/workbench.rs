//! A session's working setup: the workspace it works in and the model (and reasoning effort) its
//! turns ask for, and the model list those choices are checked against.
//!
//! Workspaces are chosen by name from the configuration (`workspace.rs`); a client never names a
//! path. The model list is Codex's `model/list`, asked once per Codex process (after each
//! `Ready`, or on first need) and cached with the epoch it came from, so a restarted Codex is
//! asked again. A choice is stored with the session and applied by the next `turn/start`
//! (`run/lifecycle.rs`); nothing here talks to a thread.
//!
//! Codex keeps a turn's `model` and `effort` for the thread's later turns (measured on 0.169:
//! even `effort: null` does not clear it), so "Codex's default" cannot be asked for by leaving
//! them out once a session has chosen something. Every turn therefore names a model and effort
//! when they are known: the session's choice, else the configured defaults (`config/read`, else
//! the listed default model and its default effort), read with the list.

use app::wire::{ModelOption, SessionKey, SessionSummary};

use super::workspace::{Workspace, Workspaces};
use super::{lock, now_ms, Gateway, GatewayError, UNTITLED};
use crate::codex::models::Model;
use crate::codex::Epoch;
use crate::store::StoreError;

/// The models of one Codex process.
#[derive(Clone, Debug, Default)]
pub(super) struct ModelCache {
    pub(super) epoch: Option<Epoch>,
    pub(super) models: Vec<ModelOption>,
    /// The configured model and effort (`config/read`), when Codex names them.
    pub(super) configured: (Option<String>, Option<String>),
}

/// The model and effort a turn asks for: the session's choice, else the default. With no model
/// chosen the default model is the configured one, else the listed default; an effort left to
/// the default is the configured effort for the default model, else the model's own default.
/// `None` where nothing is known (Codex has not listed its models): the turn then names nothing.
pub fn turn_choice(
    models: &[ModelOption],
    configured: &(Option<String>, Option<String>),
    model: Option<&str>,
    effort: Option<&str>,
) -> (Option<String>, Option<String>) {
    let listed_default = models.iter().find(|m| m.is_default).map(|m| m.id.clone());
    let default_model = configured.0.clone().or(listed_default);
    let model = model.map(str::to_owned).or_else(|| default_model.clone());
    let effort = effort.map(str::to_owned).or_else(|| {
        let own_default = || {
            models
                .iter()
                .find(|m| Some(&m.id) == model.as_ref())
                .and_then(|m| m.default_effort.clone())
        };
        if model == default_model {
            configured.1.clone().or_else(own_default)
        } else {
            own_default()
        }
    });
    (model, effort)
}

/// A model of `model/list` as the pickers show it.
pub fn model_option(m: Model) -> ModelOption {
    ModelOption {
        id: m.id,
        name: m.display_name,
        efforts: m.efforts,
        default_effort: m.default_effort,
        is_default: m.is_default,
    }
}

/// Checks a model and effort choice against the list: a model must be listed, an effort must be
/// one the chosen model supports (with no model chosen, Codex's default model). `None` is always
/// valid: it leaves the choice to Codex.
pub fn check_choice(
    models: &[ModelOption],
    model: Option<&str>,
    effort: Option<&str>,
) -> Result<(), GatewayError> {
    let chosen = match model {
        Some(id) => Some(models.iter().find(|m| m.id == id).ok_or_else(|| {
            let known: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
            GatewayError::BadInput(format!(
                "unknown model {:?} (available: {})",
                id.chars().take(80).collect::<String>(),
                if known.is_empty() {
                    "none yet".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?),
        None => models.iter().find(|m| m.is_default),
    };
    let Some(effort) = effort else {
        return Ok(());
    };
    let supported: Vec<&str> = match chosen {
        Some(m) => m.efforts.iter().map(String::as_str).collect(),
        // No default model known: any effort some model supports.
        None => models
            .iter()
            .flat_map(|m| m.efforts.iter().map(String::as_str))
            .collect(),
    };
    if supported.contains(&effort) {
        return Ok(());
    }
    Err(GatewayError::BadInput(format!(
        "the reasoning effort {:?} is not supported by {} (supported: {})",
        effort.chars().take(40).collect::<String>(),
        chosen.map_or("any model", |m| m.name.as_str()),
        if supported.is_empty() {
            "none".to_owned()
        } else {
            supported.join(", ")
        }
    )))
}

impl Gateway {
    /// The configured workspaces.
    pub fn workspaces(&self) -> &Workspaces {
        &self.inner.opts.workspaces
    }

    /// The workspace a session works in. A name no longer configured (the configuration was
    /// edited) refuses the run rather than guess a folder.
    pub(super) fn session_workspace(
        &self,
        session: &SessionSummary,
    ) -> Result<Workspace, GatewayError> {
        self.inner
            .opts
            .workspaces
            .get(&session.workspace)
            .cloned()
            .ok_or_else(|| {
                GatewayError::BadInput(format!(
                    "this session's workspace {:?} is no longer configured (configured: {})",
                    session.workspace,
                    self.inner.opts.workspaces.names().join(", ")
                ))
            })
    }

    /// A new session in the workspace named `workspace` (`None`: the default one) and the
    /// default permission mode. An unknown name is refused with the configured names.
    pub fn create_session_in(
        &self,
        workspace: Option<&str>,
    ) -> Result<SessionSummary, GatewayError> {
        let workspaces = &self.inner.opts.workspaces;
        let workspace = match workspace {
            Some(name) => workspaces
                .find(name)
                .map_err(|e| GatewayError::BadInput(e.to_string()))?,
            None => workspaces.default_workspace(),
        };
        let key = app::wire::SessionKey::parse(&super::new_session_key())
            .map_err(|e| GatewayError::BadInput(e.to_string()))?;
        let summary = self.inner.store.create_session_with(
            &key,
            UNTITLED,
            self.inner.opts.default_mode,
            workspace.name.as_str(),
            now_ms(),
        )?;
        self.publish_session_list();
        Ok(summary)
    }

    /// Sets the model and effort the session's next turn asks for, after checking them against
    /// Codex's list (`None`: Codex's default). Every open tab learns it from the session list.
    pub async fn set_model(
        &self,
        key: &SessionKey,
        model: Option<&str>,
        effort: Option<&str>,
    ) -> Result<SessionSummary, GatewayError> {
        self.session(key)?;
        if model.is_some() || effort.is_some() {
            let models = self.models().await?;
            check_choice(&models, model, effort)?;
        }
        match self.inner.store.set_model(key, model, effort) {
            Err(StoreError::UnknownSession(_)) => return Err(GatewayError::UnknownSession),
            other => other?,
        }
        tracing::info!(session = %key, ?model, ?effort, "model changed");
        self.publish_session_list();
        self.session(key)
    }

    /// The models Codex offers, asking the current process if it has not been asked yet.
    pub async fn models(&self) -> Result<Vec<ModelOption>, GatewayError> {
        let epoch = self
            .inner
            .codex
            .ready(self.inner.opts.codex_ready_timeout)
            .await?;
        {
            let cache = lock(&self.inner.models);
            if cache.epoch == Some(epoch) {
                return Ok(cache.models.clone());
            }
        }
        self.refresh_models(epoch).await
    }

    /// What the next turn of a session with this choice asks for ([`turn_choice`], from the
    /// list as last read).
    pub(super) fn turn_choice(
        &self,
        model: Option<&str>,
        effort: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let cache = lock(&self.inner.models);
        turn_choice(&cache.models, &cache.configured, model, effort)
    }

    /// The models as last listed, without waiting for Codex (a page render); empty until
    /// Codex has answered once.
    pub fn models_now(&self) -> Vec<ModelOption> {
        lock(&self.inner.models).models.clone()
    }

    /// Asks Codex process `epoch` for its models and caches them, unless that process has
    /// answered already (one request per process: whoever asks while it is in flight waits for
    /// it). A list from an older process never replaces a newer one's.
    pub(super) async fn refresh_models(
        &self,
        epoch: Epoch,
    ) -> Result<Vec<ModelOption>, GatewayError> {
        let _single_flight = self.inner.models_refresh.lock().await;
        {
            let cache = lock(&self.inner.models);
            if cache.epoch == Some(epoch) {
                return Ok(cache.models.clone());
            }
        }
        let models: Vec<ModelOption> = self
            .inner
            .codex
            .model_list()
            .await?
            .into_iter()
            .map(model_option)
            .collect();
        let configured = match self.inner.codex.configured_defaults().await {
            Ok(defaults) => defaults,
            Err(e) => {
                tracing::debug!(error = %e, "Codex did not say its configured model");
                (None, None)
            }
        };
        let mut cache = lock(&self.inner.models);
        if cache.epoch.is_none_or(|cached| cached <= epoch) {
            *cache = ModelCache {
                epoch: Some(epoch),
                models: models.clone(),
                configured,
            };
        }
        Ok(models)
    }

    /// Refreshes the model list in the background once Codex process `epoch` is ready, so the
    /// first page after a (re)start already has it.
    pub(super) fn on_codex_ready(&self, epoch: Epoch) {
        self.refresh_login();
        let gw = self.clone();
        self.spawn(async move {
            if let Err(e) = gw.refresh_models(epoch).await {
                tracing::warn!(error = %e, "could not list Codex's models");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, efforts: &[&str], is_default: bool) -> ModelOption {
        ModelOption {
            id: id.into(),
            name: id.to_uppercase(),
            efforts: efforts.iter().map(|e| (*e).to_owned()).collect(),
            default_effort: efforts.first().map(|e| (*e).to_owned()),
            is_default,
        }
    }

    fn bad(r: Result<(), GatewayError>) -> String {
        match r {
            Err(GatewayError::BadInput(m)) => m,
            other => panic!("not bad input: {other:?}"),
        }
    }

    /// Regression: Codex keeps a turn's model and effort for later turns, so a session that
    /// goes back to "Default" must name the default, not leave the fields out.
    #[test]
    fn a_turn_names_the_default_model_and_effort_when_the_session_leaves_them_to_codex() {
        let mut a = model("a", &["low", "high"], true);
        a.default_effort = Some("low".into());
        let mut b = model("b", &["medium", "max"], false);
        b.default_effort = Some("medium".into());
        let list = [a, b];
        let none = (None, None);
        let s = |v: &str| Some(v.to_owned());
        // Nothing configured: the listed default and its default effort.
        assert_eq!(turn_choice(&list, &none, None, None), (s("a"), s("low")));
        // A chosen model without effort: that model's default effort.
        assert_eq!(
            turn_choice(&list, &none, Some("b"), None),
            (s("b"), s("medium"))
        );
        assert_eq!(
            turn_choice(&list, &none, Some("b"), Some("max")),
            (s("b"), s("max"))
        );
        // The configuration's model and effort are the default when it names them.
        let configured = (s("b"), s("max"));
        assert_eq!(
            turn_choice(&list, &configured, None, None),
            (s("b"), s("max"))
        );
        // ...but its effort is for its model only.
        assert_eq!(
            turn_choice(&list, &configured, Some("a"), None),
            (s("a"), s("low"))
        );
        // Nothing known: nothing named.
        assert_eq!(turn_choice(&[], &none, None, None), (None, None));
        assert_eq!(turn_choice(&[], &none, Some("x"), None), (s("x"), None));
    }

    #[test]
    fn a_model_must_be_listed_and_an_effort_supported_by_it() {
        let list = [
            model("a", &["low", "high"], true),
            model("b", &["medium"], false),
        ];
        assert!(check_choice(&list, None, None).is_ok());
        assert!(check_choice(&list, Some("b"), Some("medium")).is_ok());
        assert!(check_choice(&list, Some("a"), None).is_ok());
        // No model: the default model's efforts.
        assert!(check_choice(&list, None, Some("high")).is_ok());
        let m = bad(check_choice(&list, None, Some("medium")));
        assert!(
            m.contains("not supported by A") && m.contains("low, high"),
            "{m}"
        );
        let m = bad(check_choice(&list, Some("c"), None));
        assert!(
            m.contains("unknown model \"c\"") && m.contains("a, b"),
            "{m}"
        );
        let m = bad(check_choice(&list, Some("b"), Some("high")));
        assert!(m.contains("supported: medium"), "{m}");
        let m = bad(check_choice(&[], Some("a"), None));
        assert!(m.contains("none yet"), "{m}");
    }
}
