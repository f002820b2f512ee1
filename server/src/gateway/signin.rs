//! Signing Codex in and out, for the operator (the web edge admits only them): the device-code
//! flow (`account/login/start {chatgptDeviceCode}`, then Codex's `account/login/completed`), an
//! API key handed to Codex, which keeps it in its own home, and sign-out (`account/logout`).
//!
//! The key is a secret passing through: it is never stored, logged, echoed in an error, or put
//! in an event (the one request that carries it is not traced by `codex::rpc`). What every
//! screen shows of a sign-in in progress lives in the account status (`SignIn`); who Codex works
//! as afterwards comes from `account/read`, as always (`account`).

use app::wire::SignIn;
use serde_json::{json, Value};

use super::{lock, Gateway, GatewayError};
use crate::codex::CodexError;

/// Longest API key accepted (real ones are about 170 characters).
const MAX_KEY_LEN: usize = 1024;

/// A device-code sign-in's first step, as Codex answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_url: String,
}

/// Checks an API key's shape before it goes to Codex (which takes even an empty one). The
/// errors never quote it.
pub fn check_api_key(key: &str) -> Result<&str, GatewayError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(GatewayError::BadInput("Paste an API key first.".into()));
    }
    if key.len() > MAX_KEY_LEN || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(GatewayError::BadInput(
            "That does not look like an API key (one line, no spaces).".into(),
        ));
    }
    Ok(key)
}

/// Codex's refusal, as a person may read it, with the key taken out wherever it appears.
fn refused(e: &CodexError, secret: Option<&str>) -> GatewayError {
    let message = match e {
        CodexError::Rpc { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let message = match secret {
        Some(secret) => message.replace(secret, "[the key]"),
        None => message,
    };
    GatewayError::SignIn(message)
}

impl Gateway {
    /// The demo model needs no account; signing Codex in would change nothing it does.
    fn signin_allowed(&self) -> Result<(), GatewayError> {
        if self.inner.opts.model_label == "demo" {
            return Err(GatewayError::BadInput(
                "The demo model needs no sign-in; start with `--model codex` to use your Codex \
                 account."
                    .into(),
            ));
        }
        Ok(())
    }

    /// Starts a device-code sign-in: every screen shows the code and where to enter it until
    /// Codex says it completed, failed or expired.
    pub async fn start_device_login(&self) -> Result<DeviceCode, GatewayError> {
        self.signin_allowed()?;
        self.cancel_login().await;
        let answer = self
            .inner
            .codex
            .request("account/login/start", json!({"type": "chatgptDeviceCode"}))
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let e = refused(&e, None);
                self.set_signin(Some(SignIn::Failed {
                    message: e.to_string(),
                }));
                return Err(e);
            }
        };
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(login_id), Some(user_code), Some(verification_url)) =
            (text("loginId"), text("userCode"), text("verificationUrl"))
        else {
            return Err(GatewayError::Codex(CodexError::Protocol(format!(
                "account/login/start answered without a device code: {answer}"
            ))));
        };
        *lock(&self.inner.account.pending_login) = Some(login_id);
        self.set_signin(Some(SignIn::Waiting {
            user_code: user_code.clone(),
            verification_url: verification_url.clone(),
        }));
        Ok(DeviceCode {
            user_code,
            verification_url,
        })
    }

    /// Hands an API key to Codex, which stores it in its home. Returns once Codex took it; the
    /// header follows through `account/updated`.
    pub async fn login_api_key(&self, key: &str) -> Result<(), GatewayError> {
        self.signin_allowed()?;
        let key = check_api_key(key)?;
        self.cancel_login().await;
        self.inner
            .codex
            .request(
                "account/login/start",
                json!({"type": "apiKey", "apiKey": key}),
            )
            .await
            .map_err(|e| refused(&e, Some(key)))?;
        tracing::info!("Codex was given an API key");
        self.set_signin(None);
        self.read_login().await;
        Ok(())
    }

    /// Ends a device-code sign-in in progress (nothing if there is none).
    pub async fn cancel_login(&self) {
        let pending = lock(&self.inner.account.pending_login).take();
        if let Some(login_id) = pending {
            let answer = self
                .inner
                .codex
                .request("account/login/cancel", json!({"loginId": login_id}))
                .await;
            if let Err(e) = answer {
                tracing::info!(error = %e, "Codex did not cancel the sign-in");
            }
        }
        self.set_signin(None);
    }

    /// Signs Codex out (it forgets its stored credentials).
    pub async fn logout(&self) -> Result<(), GatewayError> {
        self.signin_allowed()?;
        self.cancel_login().await;
        self.inner
            .codex
            .request("account/logout", Value::Null)
            .await
            .map_err(|e| refused(&e, None))?;
        tracing::info!("Codex was signed out");
        self.read_login().await;
        Ok(())
    }

    /// Codex's `account/login/completed`: the device-code sign-in it names is over.
    pub(crate) fn login_completed(&self, params: &Value) {
        let login_id = params.get("loginId").and_then(Value::as_str);
        let success = params
            .get("success")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        {
            let mut pending = lock(&self.inner.account.pending_login);
            // An API-key sign-in completes without an id; another login's end is not ours.
            if login_id.is_none() || pending.as_deref() != login_id {
                return;
            }
            *pending = None;
        }
        if success {
            tracing::info!("Codex sign-in completed");
            self.set_signin(None);
        } else {
            let error = params
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the sign-in ended without an account");
            tracing::info!(error, "Codex sign-in failed");
            self.set_signin(Some(SignIn::Failed {
                message: format!("Sign-in did not complete: {error}"),
            }));
        }
        self.refresh_login();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_checked_without_being_quoted() {
        assert_eq!(check_api_key("  sk-abc123 \n").unwrap(), "sk-abc123");
        for bad in ["", "   ", "sk-abc def", "sk-\u{7}x"] {
            let e = check_api_key(bad).unwrap_err().to_string();
            assert!(!e.contains("abc"), "{e}");
        }
        let long = "k".repeat(MAX_KEY_LEN + 1);
        assert!(!check_api_key(&long)
            .unwrap_err()
            .to_string()
            .contains("kkk"));
    }

    #[test]
    fn codexs_refusal_never_repeats_the_key() {
        let e = CodexError::Rpc {
            code: -32600,
            message: "invalid key sk-secret-1 for this provider".into(),
        };
        let shown = refused(&e, Some("sk-secret-1")).to_string();
        assert!(!shown.contains("sk-secret-1"), "{shown}");
        assert!(shown.contains("invalid key [the key]"), "{shown}");
    }
}
