//! The webhook channel: named HTTP(S) endpoints that an explicit `channel: "webhook"` send POSTs to.
//!
//! It owns the `[channels.webhook]` configuration, the HTTP client, and the retry policy. It must
//! not decide *whether* a send may leave (the delivery rules do, and they never route the WebChat
//! here), must not write the transcript (the caller records the [`DeliveryReport`]), and must never
//! put a target's URL or headers into an error, a receipt or a log line: incoming-webhook URLs and
//! `Authorization` values are secrets.
//!
//! Configuration (TOML):
//!
//! ```toml
//! [channels.webhook]
//! max_attempts = 3          # optional; requests per send, 1..=10
//! timeout_secs = 10         # optional; per request (connect, send, response), 1..=300
//! total_timeout_secs = 30   # optional; the whole send including backoff, 1..=600
//!
//! [channels.webhook.targets.ops]
//! url = "https://hooks.slack.com/services/…"
//! headers = { Authorization = "Bearer …" }   # optional
//! ```
//!
//! A send is one `POST` of `application/json`:
//!
//! ```json
//! {"text": "…", "content": "…", "target": "ops", "session": "main"}
//! ```
//!
//! `text` and `content` both carry the message, because Slack-style hooks read `text` and
//! Discord-style hooks read `content` (both ignore the other keys). `target` is the configured
//! target name; `session` is the chat session the send came from and is absent when there is none.
//!
//! Any 2xx is success. 5xx responses, timeouts and connection errors are retried with exponential
//! backoff (0.5 s, 1 s, 2 s, … capped at 8 s) up to `max_attempts`, all inside
//! `total_timeout_secs`. Anything else is final at once: a 4xx will not get better by asking again,
//! and a 3xx is not followed (a POST redirected elsewhere could carry the headers to another
//! host). A retried timeout can deliver twice if the receiver was merely slow: delivery is at least
//! once, not exactly once.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::{json, Value};

use super::channel::{Attempt, Channel, DeliveryReport, OutboundError, OutboundMessage};

/// The channel's name in `channel: "webhook"` sends and on delivery cards.
pub const CHANNEL: &str = "webhook";

const DEFAULT_MAX_ATTEMPTS: u32 = 3;
const DEFAULT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_TOTAL_TIMEOUT_SECS: u64 = 30;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// How much of an error response's body is quoted in the error: enough for "invalid payload",
/// not enough to flood the transcript.
const ERROR_BODY_BYTES: usize = 300;

/// `[channels.webhook]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Named destinations; the name is what the model passes as `target`.
    #[serde(default)]
    pub targets: BTreeMap<String, WebhookTarget>,
    /// Requests per send, including the first.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Bound on one request: connecting, sending and reading the response.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Bound on the whole send, backoff included: the model's tool call waits this long at most.
    #[serde(default = "default_total_timeout_secs")]
    pub total_timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            targets: BTreeMap::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            total_timeout_secs: DEFAULT_TOTAL_TIMEOUT_SECS,
        }
    }
}

fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

fn default_total_timeout_secs() -> u64 {
    DEFAULT_TOTAL_TIMEOUT_SECS
}

/// `[channels.webhook.targets.<name>]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// `http` or `https`.
    pub url: String,
    /// Extra request headers, e.g. `Authorization`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Redacted: the URL's path and query and every header value may be credentials, and configs get
/// logged with `{:?}`.
impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{}://{h}/…", u.scheme())))
            .unwrap_or_else(|| "…".to_owned());
        let headers: BTreeMap<&str, &str> =
            self.headers.keys().map(|k| (k.as_str(), "…")).collect();
        f.debug_struct("WebhookTarget")
            .field("url", &url)
            .field("headers", &headers)
            .finish()
    }
}

/// A configuration mistake, one line each, naming the key at fault (never the secret values).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    #[error(
        "channels.webhook.targets: {0:?} is not a valid target name (1 to 64 letters, digits, '-' or '_')"
    )]
    BadName(String),
    #[error("channels.webhook.targets: {0:?} and {1:?} differ only in case")]
    DuplicateName(String, String),
    #[error("channels.webhook.targets.{name}.url: {reason}")]
    BadUrl { name: String, reason: String },
    #[error("channels.webhook.targets.{name}.headers: {header:?} {reason}")]
    BadHeader {
        name: String,
        header: String,
        reason: String,
    },
    #[error("channels.webhook.max_attempts must be 1 to 10, not {0}")]
    BadAttempts(u32),
    #[error("channels.webhook.timeout_secs must be 1 to 300, not {0}")]
    BadTimeout(u64),
    #[error("channels.webhook.total_timeout_secs must be 1 to 600, not {0}")]
    BadTotalTimeout(u64),
    #[error("channels.webhook: the HTTP client could not be set up: {0}")]
    Client(String),
}

/// How hard one send tries. Built from [`WebhookConfig`]; tests shorten it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
    pub total_timeout: Duration,
    /// The wait after the first failed attempt; it doubles after each further one.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

impl WebhookConfig {
    /// Checks everything [`WebhookChannel::new`] relies on.
    pub fn validate(&self) -> Result<(), WebhookConfigError> {
        self.policy()?;
        self.parsed_targets().map(|_| ())
    }

    fn policy(&self) -> Result<RetryPolicy, WebhookConfigError> {
        if !(1..=10).contains(&self.max_attempts) {
            return Err(WebhookConfigError::BadAttempts(self.max_attempts));
        }
        if !(1..=300).contains(&self.timeout_secs) {
            return Err(WebhookConfigError::BadTimeout(self.timeout_secs));
        }
        if !(1..=600).contains(&self.total_timeout_secs) {
            return Err(WebhookConfigError::BadTotalTimeout(self.total_timeout_secs));
        }
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            attempt_timeout: Duration::from_secs(self.timeout_secs),
            total_timeout: Duration::from_secs(self.total_timeout_secs),
            first_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
        })
    }

    fn parsed_targets(&self) -> Result<BTreeMap<String, Target>, WebhookConfigError> {
        let mut out = BTreeMap::new();
        let mut folded: BTreeMap<String, &str> = BTreeMap::new();
        for (name, target) in &self.targets {
            if !valid_name(name) {
                return Err(WebhookConfigError::BadName(name.clone()));
            }
            if let Some(other) = folded.insert(name.to_ascii_lowercase(), name) {
                return Err(WebhookConfigError::DuplicateName(
                    other.to_owned(),
                    name.clone(),
                ));
            }
            out.insert(name.clone(), Target::parse(name, target)?);
        }
        Ok(out)
    }
}

/// Same alphabet as session keys: names end up in transcripts and tool arguments.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A target ready to send to.
struct Target {
    url: Url,
    headers: HeaderMap,
}

impl Target {
    fn parse(name: &str, raw: &WebhookTarget) -> Result<Target, WebhookConfigError> {
        let bad_url = |reason: &str| WebhookConfigError::BadUrl {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        // The parser's messages never echo the input, so they are safe to show.
        let url =
            Url::parse(raw.url.trim()).map_err(|e| bad_url(&format!("not a valid URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_url("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad_url("has no host"));
        }
        let mut headers = HeaderMap::new();
        for (key, value) in &raw.headers {
            let bad = |reason: &str| WebhookConfigError::BadHeader {
                name: name.to_owned(),
                header: key.clone(),
                reason: reason.to_owned(),
            };
            let header =
                HeaderName::from_bytes(key.as_bytes()).map_err(|_| bad("is not a header name"))?;
            // The client owns framing and addressing; overriding them breaks the request.
            if [
                reqwest::header::HOST,
                reqwest::header::CONTENT_LENGTH,
                reqwest::header::TRANSFER_ENCODING,
                reqwest::header::CONNECTION,
            ]
            .contains(&header)
            {
                return Err(bad("is set by the client and cannot be configured"));
            }
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| bad("has a value that is not a valid header value"))?;
            // Keeps the value out of the client's own debug output.
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        Ok(Target { url, headers })
    }
}

/// The JSON body of a send; see the module docs.
pub fn request_body(target: &str, text: &str, session: Option<&str>) -> Value {
    let mut body = json!({"text": text, "content": text, "target": target});
    if let Some(session) = session {
        body["session"] = Value::String(session.to_owned());
    }
    body
}

/// The webhook [`Channel`].
pub struct WebhookChannel {
    targets: BTreeMap<String, Target>,
    policy: RetryPolicy,
    client: reqwest::Client,
}

/// What one request amounted to.
enum Verdict {
    Sent(u16),
    /// Worth another attempt.
    Retry {
        status: Option<u16>,
        error: String,
    },
    /// Final: asking again will not help.
    Fail {
        status: Option<u16>,
        error: String,
    },
}

impl Verdict {
    fn retry(error: String) -> Verdict {
        Verdict::Retry {
            status: None,
            error,
        }
    }
}

impl WebhookChannel {
    /// Validates `config` and builds the HTTP client.
    pub fn new(config: &WebhookConfig) -> Result<WebhookChannel, WebhookConfigError> {
        let policy = config.policy()?;
        let targets = config.parsed_targets()?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("codex-webchat/", env!("CARGO_PKG_VERSION")))
            // A redirected POST becomes a GET elsewhere, possibly carrying the headers along.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.attempt_timeout)
            .build()
            .map_err(|e| WebhookConfigError::Client(error_chain(&e.without_url())))?;
        Ok(WebhookChannel {
            targets,
            policy,
            client,
        })
    }

    /// Replaces the retry policy (tests use short timeouts and backoff). At least one attempt is
    /// always made.
    pub fn with_policy(mut self, policy: RetryPolicy) -> WebhookChannel {
        self.policy = RetryPolicy {
            max_attempts: policy.max_attempts.max(1),
            ..policy
        };
        self
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Delivers one message, retrying as the module docs describe.
    pub async fn send(&self, message: OutboundMessage<'_>) -> DeliveryReport {
        let requested = message.target.trim();
        // Exact name first; the model often changes case, and names cannot collide by case.
        let found = self.targets.get_key_value(requested).or_else(|| {
            self.targets
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(requested))
        });
        let Some((name, target)) = found else {
            return DeliveryReport::refused(
                CHANNEL,
                message.target,
                OutboundError::UnknownTarget {
                    channel: CHANNEL.to_owned(),
                    target: message.target.to_owned(),
                    configured: if self.targets.is_empty() {
                        "none".to_owned()
                    } else {
                        self.target_names().join(", ")
                    },
                },
            );
        };
        let body = request_body(name, message.text, message.session);
        let policy = self.policy;
        let started = Instant::now();
        let deadline = started + policy.total_timeout;
        let mut attempts = Vec::new();
        let mut last_error = String::new();
        let mut out_of_time = false;
        for n in 1..=policy.max_attempts {
            let remaining = deadline.saturating_duration_since(Instant::now());
            // The first attempt is always made, so a failure always has a reason to report.
            if remaining.is_zero() && n > 1 {
                out_of_time = true;
                break;
            }
            let timeout = policy.attempt_timeout.min(remaining);
            let attempt_started = Instant::now();
            let verdict = match tokio::time::timeout(timeout, self.attempt(target, &body)).await {
                Ok(verdict) => verdict,
                Err(_) => Verdict::retry(format!("no response within {}", human(timeout))),
            };
            let elapsed_ms = millis(attempt_started.elapsed());
            let (status, error) = match &verdict {
                Verdict::Sent(code) => (Some(*code), None),
                Verdict::Retry { status, error } | Verdict::Fail { status, error } => {
                    (*status, Some(error.clone()))
                }
            };
            attempts.push(Attempt {
                n,
                status,
                error,
                elapsed_ms,
            });
            match verdict {
                Verdict::Sent(code) => {
                    let tries = if n == 1 {
                        String::new()
                    } else {
                        format!(" after {n} attempts")
                    };
                    return DeliveryReport {
                        channel: CHANNEL.to_owned(),
                        target: name.clone(),
                        attempts,
                        outcome: Ok(format!("Sent to {CHANNEL}:{name} (HTTP {code}{tries}).")),
                    };
                }
                Verdict::Fail { error, .. } => {
                    last_error = error;
                    break;
                }
                Verdict::Retry { error, .. } => {
                    last_error = error;
                    if n == policy.max_attempts {
                        break;
                    }
                    let wait = policy.backoff(n);
                    if Instant::now() + wait >= deadline {
                        out_of_time = true;
                        break;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let count = attempts.len();
        let plural = if count == 1 { "" } else { "s" };
        let gave_up = if out_of_time {
            // Said as a limit, not as time spent: a retry that would not fit is not waited for.
            format!(
                "; no time left for another within {}",
                human(policy.total_timeout)
            )
        } else {
            String::new()
        };
        let reason = format!("{last_error} ({count} attempt{plural}{gave_up})");
        DeliveryReport {
            channel: CHANNEL.to_owned(),
            target: name.clone(),
            attempts,
            outcome: Err(OutboundError::Failed {
                channel: CHANNEL.to_owned(),
                target: name.clone(),
                reason,
            }),
        }
    }

    /// One POST, classified. Errors are described without the URL.
    async fn attempt(&self, target: &Target, body: &Value) -> Verdict {
        let response = self
            .client
            .post(target.url.clone())
            .headers(target.headers.clone())
            .json(body)
            .send()
            .await;
        let mut response = match response {
            Ok(r) => r,
            Err(e) if e.is_builder() => {
                return Verdict::Fail {
                    status: None,
                    error: error_chain(&e.without_url()),
                }
            }
            // The innermost cause is the informative part here ("Connection refused", a DNS or
            // certificate error); the layers above it only say "error sending request".
            Err(e) if e.is_connect() => {
                return Verdict::retry(format!("connection failed: {}", root_cause(&e)))
            }
            Err(e) => return Verdict::retry(error_chain(&e.without_url())),
        };
        let status = response.status();
        if status.is_success() {
            return Verdict::Sent(status.as_u16());
        }
        // A short quote of the body: receivers explain 4xx there ("invalid_payload", ...).
        let mut quoted = Vec::new();
        while quoted.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => quoted.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        let error = describe_status(status, &quoted);
        let code = Some(status.as_u16());
        if status.is_server_error() {
            Verdict::Retry {
                status: code,
                error,
            }
        } else if status.is_redirection() {
            Verdict::Fail {
                status: code,
                error: format!("{error} (redirects are not followed)"),
            }
        } else {
            Verdict::Fail {
                status: code,
                error,
            }
        }
    }
}

impl Channel for WebhookChannel {
    fn deliver<'a>(&'a self, message: OutboundMessage<'a>) -> BoxFuture<'a, DeliveryReport> {
        Box::pin(self.send(message))
    }

    fn target_names(&self) -> Vec<String> {
        self.targets.keys().cloned().collect()
    }
}

/// `HTTP 404 Not Found: <first line of the body>`.
fn describe_status(status: StatusCode, body: &[u8]) -> String {
    let mut s = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        s.push(' ');
        s.push_str(reason);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if !line.is_empty() {
        s.push_str(": ");
        s.push_str(&line);
    }
    s
}

/// The error and its causes on one line ("error sending request: client error (Connect): tcp
/// connect error: Connection refused (os error 111)"), repeated messages dropped.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let msg = err.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `10s`, `250ms`.
fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", millis(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<WebhookConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn config_reads_targets_headers_and_defaults() {
        let c = parse(
            r#"
            [targets.ops]
            url = "https://hooks.example.com/T000/B000/XXXX"
            headers = { Authorization = "Bearer s3cret", X-Team = "ops" }

            [targets.plain]
            url = "http://127.0.0.1:9/hook"
            "#,
        )
        .unwrap();
        assert_eq!(c.max_attempts, 3);
        assert_eq!(c.timeout_secs, 10);
        assert_eq!(c.total_timeout_secs, 30);
        assert_eq!(c.targets["ops"].headers["Authorization"], "Bearer s3cret");
        assert!(c.targets["plain"].headers.is_empty());
        c.validate().unwrap();
        let ch = WebhookChannel::new(&c).unwrap();
        assert_eq!(ch.target_names(), vec!["ops", "plain"]);
        assert_eq!(ch.policy().attempt_timeout, Duration::from_secs(10));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("[targets.ops]\nurl = \"https://x\"\nmethod = \"PUT\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `method`"), "{err}");
        assert!(parse("retries = 3\n").is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = parse(
            "[targets.ops]\nurl = \"https://hooks.example.com/T000/s3cretpath\"\nheaders = { Authorization = \"Bearer s3cret\" }\n",
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("hooks.example.com"), "{shown}");
        assert!(shown.contains("Authorization"), "{shown}");
    }

    fn one(url: &str, headers: &[(&str, &str)]) -> WebhookConfig {
        WebhookConfig {
            targets: BTreeMap::from([(
                "ops".to_owned(),
                WebhookTarget {
                    url: url.to_owned(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                },
            )]),
            ..WebhookConfig::default()
        }
    }

    #[test]
    fn invalid_configuration_is_one_clear_line_without_secrets() {
        let cases: Vec<(WebhookConfig, &str)> = vec![
            (
                one("ftp://host/s3cret", &[]),
                "channels.webhook.targets.ops.url: must be an http or https URL",
            ),
            (
                one("hooks.example.com/s3cret", &[]),
                "channels.webhook.targets.ops.url: not a valid URL (relative URL without a base)",
            ),
            (
                one("https://h/x", &[("Bad Header", "v")]),
                "channels.webhook.targets.ops.headers: \"Bad Header\" is not a header name",
            ),
            (
                one("https://h/x", &[("X-Token", "s3cret\n")]),
                "channels.webhook.targets.ops.headers: \"X-Token\" has a value that is not a valid header value",
            ),
            (
                one("https://h/x", &[("Host", "other")]),
                "channels.webhook.targets.ops.headers: \"Host\" is set by the client and cannot be configured",
            ),
            (
                WebhookConfig {
                    max_attempts: 0,
                    ..one("https://h/x", &[])
                },
                "channels.webhook.max_attempts must be 1 to 10, not 0",
            ),
            (
                WebhookConfig {
                    timeout_secs: 0,
                    ..one("https://h/x", &[])
                },
                "channels.webhook.timeout_secs must be 1 to 300, not 0",
            ),
            (
                WebhookConfig {
                    total_timeout_secs: 601,
                    ..one("https://h/x", &[])
                },
                "channels.webhook.total_timeout_secs must be 1 to 600, not 601",
            ),
        ];
        for (config, want) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert_eq!(err, want);
            assert!(!err.contains('\n') && !err.contains("s3cret"));
            assert_eq!(
                WebhookChannel::new(&config).err().unwrap().to_string(),
                want
            );
        }
        let mut c = one("https://h/x", &[]);
        c.targets
            .insert("has space".into(), c.targets["ops"].clone());
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("\"has space\" is not a valid target name"));
        let mut c = one("https://h/x", &[]);
        c.targets.insert("OPS".into(), c.targets["ops"].clone());
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "channels.webhook.targets: \"OPS\" and \"ops\" differ only in case"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = WebhookConfig::default().policy().unwrap();
        let waits: Vec<u64> = (1..=7).map(|n| millis(p.backoff(n))).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn body_carries_text_content_target_and_session() {
        assert_eq!(
            request_body("ops", "hi", Some("main")),
            json!({"text": "hi", "content": "hi", "target": "ops", "session": "main"})
        );
        assert_eq!(
            request_body("ops", "hi", None),
            json!({"text": "hi", "content": "hi", "target": "ops"})
        );
    }

    #[test]
    fn status_errors_quote_one_line_of_the_body() {
        assert_eq!(
            describe_status(
                StatusCode::BAD_REQUEST,
                b"invalid_payload\n\tplease\x07 fix"
            ),
            "HTTP 400 Bad Request: invalid_payload please fix"
        );
        assert_eq!(
            describe_status(StatusCode::BAD_GATEWAY, b""),
            "HTTP 502 Bad Gateway"
        );
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }

    #[tokio::test]
    async fn an_unknown_target_lists_the_configured_ones() {
        let mut c = one("https://h/x", &[]);
        c.targets.insert("alerts".into(), c.targets["ops"].clone());
        let ch = WebhookChannel::new(&c).unwrap();
        let report = ch
            .send(OutboundMessage {
                target: "x",
                text: "hi",
                session: None,
            })
            .await;
        assert!(report.attempts.is_empty());
        assert_eq!(
            report.model_text(),
            "Unknown webhook target: x. Configured targets: alerts, ops."
        );
        let none = WebhookChannel::new(&WebhookConfig::default()).unwrap();
        let report = none
            .send(OutboundMessage {
                target: "x",
                text: "hi",
                session: None,
            })
            .await;
        assert_eq!(
            report.model_text(),
            "Unknown webhook target: x. Configured targets: none."
        );
    }
}
