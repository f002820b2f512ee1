//! The relay registry: which relay ids are live, under which generation, until when, and the
//! validation of every incoming hook invocation against them.
//!
//! A relay id is stable and opaque per chat session ([`relay_id_for`]); a generation names one
//! registration of it and is baked into the hook command Codex runs, so a command from a replaced
//! registration is fenced off as stale. Registering an id again replaces the old registration at
//! once. A registration made for a thread binding written before generations were persisted gets
//! a grace window in which the first foreign generation is accepted and pinned (OpenClaw #87272
//! narrowed by #87386); the current generation is always accepted.
//!
//! This module only keeps state and answers questions. It must not decide policy, render output
//! or talk to anything; it never removes a registration other than the one a caller holds a
//! handle for (or one found expired). The clock is injected so tests control time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{HookEvent, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH};

/// Domain separation for the relay id hash. The two NULs mirror OpenClaw's layout
/// (`…v1 NUL agentId NUL sessionKey`) with an empty agent id.
const RELAY_ID_DOMAIN: &[u8] = b"codex-webchat:codex:native-hook-relay:v1\0\0";

/// How many accepted invocations [`RelayRegistry::recent_invocations`] remembers.
pub const RECENT_CAPACITY: usize = 200;

/// Ids and generations travel in a shell command and a URL-less JSON body; keep them compact.
const MAX_TOKEN_LEN: usize = 160;

/// The grace window for a thread binding written before generations were persisted.
pub const LEGACY_GRACE: Duration = Duration::from_secs(5 * 60);

/// A registration's lifetime when the caller has no better figure; renew it while a turn makes
/// progress.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);

/// How long to defer unregistering at the end of a run so late hook processes are still answered:
/// the hook timeout plus 5 s, at least 10 s (9 s gives 14 s, 60 s gives 65 s).
pub fn unregister_delay(hook_timeout_secs: u64) -> Duration {
    Duration::from_secs(hook_timeout_secs.saturating_add(5).max(10))
}

/// The injectable clock.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The stable, opaque relay id of a chat session: `codex-` and the first 40 hex digits of a
/// SHA-256 over a domain prefix and the session key. It never contains the key.
pub fn relay_id_for(session_key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(RELAY_ID_DOMAIN);
    hash.update(session_key.as_bytes());
    let hex = hex::encode(hash.finalize());
    format!("codex-{}", &hex[..40])
}

/// A fresh random generation: 128 bits as 32 lowercase hex digits (URL- and shell-safe).
pub fn new_generation() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether `token` may be used as a relay id or generation: non-empty, at most 160 characters of
/// `[A-Za-z0-9._:-]`. Use it to screen a generation read back from storage.
pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What to register.
#[derive(Clone, Debug)]
pub struct Registration {
    pub relay_id: String,
    pub generation: String,
    /// [`super::PROVIDER_CODEX`].
    pub provider: String,
    /// Handed back in [`Validated`] so the gateway knows whose tool call it is.
    pub session_key: String,
    pub allowed_events: HashSet<HookEvent>,
    /// Lifetime from registration (and from each [`RelayRegistry::renew`]).
    pub ttl: Duration,
    /// Only for a thread binding without a persisted generation: the window, from registration,
    /// in which one foreign generation is accepted and pinned.
    pub legacy_grace: Option<Duration>,
}

/// Names exactly one registration; used to unregister it without touching a later one under the
/// same relay id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationHandle {
    relay_id: String,
    generation: String,
    serial: u64,
}

impl RegistrationHandle {
    pub fn relay_id(&self) -> &str {
        &self.relay_id
    }

    pub fn generation(&self) -> &str {
        &self.generation
    }
}

/// One incoming hook call, as the endpoint received it.
#[derive(Clone, Copy, Debug)]
pub struct Invocation<'a> {
    pub provider: &'a str,
    pub relay_id: &'a str,
    pub generation: &'a str,
    pub event: HookEvent,
    /// The payload's JSON text (Codex's stdin, possibly `null`).
    pub payload: &'a [u8],
}

/// An invocation that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated {
    pub relay_id: String,
    pub session_key: String,
    pub provider: String,
    /// The generation the call carried (the registration's, or a pinned legacy one).
    pub generation: String,
    pub event: HookEvent,
    /// `true` when a foreign generation was let through by the legacy grace.
    pub via_grace: bool,
    pub payload: Value,
}

/// An accepted invocation, as kept in the diagnostics ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedInvocation {
    pub relay_id: String,
    pub session_key: String,
    pub generation: String,
    pub event: HookEvent,
    pub via_grace: bool,
    pub at: Instant,
}

/// Why an invocation was refused. The messages are the relay's wire errors and must not change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("native hook relay not found")]
    NotFound,
    #[error("native hook relay expired")]
    Expired,
    #[error("native hook relay provider mismatch")]
    ProviderMismatch,
    #[error("native hook relay bridge stale registration")]
    StaleGeneration,
    #[error("native hook relay event not allowed")]
    EventNotAllowed,
    #[error("native hook relay payload must be JSON-compatible")]
    PayloadNotJson,
}

impl RelayError {
    /// The endpoint's HTTP status for this refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            RelayError::NotFound => 404,
            RelayError::StaleGeneration => 410,
            _ => 400,
        }
    }
}

/// A registration that cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("native hook relay {field} must be non-empty, compact, and URL-safe")]
    InvalidToken { field: &'static str },
}

/// Cheap-clone handle to the shared registry.
#[derive(Clone)]
pub struct RelayRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    next_serial: u64,
    recent: VecDeque<AcceptedInvocation>,
}

struct Entry {
    reg: Registration,
    serial: u64,
    expires_at: Instant,
    grace_until: Option<Instant>,
    /// The one foreign generation the grace window let through.
    pinned: Option<String>,
}

impl Default for RelayRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayRegistry {
    /// A registry on the real clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(Instant::now))
    }

    /// A registry whose notion of "now" is `clock` (tests).
    pub fn with_clock(clock: Clock) -> Self {
        RelayRegistry {
            inner: Arc::new(Inner {
                clock,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Registers `reg`, replacing at once any registration under the same relay id (whose
    /// generation is stale from now on, unless this one's legacy grace pins it).
    pub fn register(&self, reg: Registration) -> Result<RegistrationHandle, RegistrationError> {
        if !is_valid_token(&reg.relay_id) {
            return Err(RegistrationError::InvalidToken { field: "relay id" });
        }
        if !is_valid_token(&reg.generation) {
            return Err(RegistrationError::InvalidToken {
                field: "generation",
            });
        }
        let now = self.now();
        let mut state = self.lock();
        state.next_serial += 1;
        let serial = state.next_serial;
        let handle = RegistrationHandle {
            relay_id: reg.relay_id.clone(),
            generation: reg.generation.clone(),
            serial,
        };
        let entry = Entry {
            expires_at: now + reg.ttl,
            grace_until: reg.legacy_grace.map(|grace| now + grace),
            pinned: None,
            serial,
            reg,
        };
        if let Some(old) = state.entries.insert(handle.relay_id.clone(), entry) {
            tracing::debug!(
                relay_id = %handle.relay_id,
                old_generation = %old.reg.generation,
                new_generation = %handle.generation,
                "native hook relay replaced"
            );
        }
        Ok(handle)
    }

    /// Extends the registration's lifetime by its TTL from now, if `relay_id` is registered under
    /// `generation` and not yet expired. Returns whether it was.
    pub fn renew(&self, relay_id: &str, generation: &str) -> bool {
        let now = self.now();
        let mut state = self.lock();
        match state.entries.get_mut(relay_id) {
            Some(entry) if entry.reg.generation == generation && now <= entry.expires_at => {
                entry.expires_at = now + entry.reg.ttl;
                true
            }
            _ => false,
        }
    }

    /// Removes the registration `handle` names, now, if it is still the current one. Returns
    /// whether it removed anything.
    pub fn unregister(&self, handle: &RegistrationHandle) -> bool {
        let mut state = self.lock();
        let current = state
            .entries
            .get(&handle.relay_id)
            .is_some_and(|entry| entry.serial == handle.serial);
        if current {
            state.entries.remove(&handle.relay_id);
        }
        current
    }

    /// Removes the registration `handle` names after `delay` (so late hook processes of the run
    /// still get answers), if it is still the current one then: a newer registration under the
    /// same id is never removed. The task resolves to whether it removed anything. Needs a Tokio
    /// runtime.
    pub fn unregister_deferred(
        &self,
        handle: RegistrationHandle,
        delay: Duration,
    ) -> tokio::task::JoinHandle<bool> {
        let registry = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            registry.unregister(&handle)
        })
    }

    /// Whether `relay_id` is registered (expired or not) and under which generation.
    pub fn current_generation(&self, relay_id: &str) -> Option<String> {
        let state = self.lock();
        state
            .entries
            .get(relay_id)
            .map(|entry| entry.reg.generation.clone())
    }

    /// Checks an invocation, in this order: unknown relay, expired (which also removes it),
    /// provider, generation (with the legacy grace), event, payload. On success the invocation is
    /// recorded and, if the grace let a foreign generation through, that generation is pinned.
    pub fn validate(&self, inv: &Invocation<'_>) -> Result<Validated, RelayError> {
        let now = self.now();
        let mut state = self.lock();
        let entry = state
            .entries
            .get(inv.relay_id)
            .ok_or(RelayError::NotFound)?;
        if now > entry.expires_at {
            state.entries.remove(inv.relay_id);
            return Err(RelayError::Expired);
        }
        if entry.reg.provider != inv.provider {
            return Err(RelayError::ProviderMismatch);
        }
        let via_grace = inv.generation != entry.reg.generation;
        if via_grace && !entry.grace_admits(inv.generation, now) {
            return Err(RelayError::StaleGeneration);
        }
        if !entry.reg.allowed_events.contains(&inv.event) {
            return Err(RelayError::EventNotAllowed);
        }
        let payload = parse_payload(inv.payload)?;

        // Accepted. Pin only now, so a call refused for its event or payload does not use up
        // the one foreign generation the grace allows.
        let Some(entry) = state.entries.get_mut(inv.relay_id) else {
            return Err(RelayError::NotFound);
        };
        if via_grace && entry.pinned.is_none() {
            tracing::info!(
                relay_id = %inv.relay_id,
                generation = %inv.generation,
                "native hook relay accepted and pinned a bootstrap generation mismatch"
            );
            entry.pinned = Some(inv.generation.to_owned());
        }
        let validated = Validated {
            relay_id: entry.reg.relay_id.clone(),
            session_key: entry.reg.session_key.clone(),
            provider: entry.reg.provider.clone(),
            generation: inv.generation.to_owned(),
            event: inv.event,
            via_grace,
            payload,
        };
        if state.recent.len() == RECENT_CAPACITY {
            state.recent.pop_front();
        }
        state.recent.push_back(AcceptedInvocation {
            relay_id: validated.relay_id.clone(),
            session_key: validated.session_key.clone(),
            generation: validated.generation.clone(),
            event: validated.event,
            via_grace,
            at: now,
        });
        Ok(validated)
    }

    /// The last [`RECENT_CAPACITY`] accepted invocations, oldest first.
    pub fn recent_invocations(&self) -> Vec<AcceptedInvocation> {
        self.lock().recent.iter().cloned().collect()
    }

    fn now(&self) -> Instant {
        (self.inner.clock)()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under a panic elsewhere: every mutation is a single step.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Entry {
    /// Whether the legacy grace admits the foreign `generation` at `now`: inside the window the
    /// first one is admitted (and pinned by the caller), later only that same one.
    fn grace_admits(&self, generation: &str, now: Instant) -> bool {
        match self.grace_until {
            Some(until) if now <= until => self.pinned.as_deref().is_none_or(|p| p == generation),
            _ => false,
        }
    }
}

/// Parses a payload: at most [`MAX_PAYLOAD_BYTES`], nested at most [`MAX_PAYLOAD_DEPTH`], JSON.
pub fn parse_payload(raw: &[u8]) -> Result<Value, RelayError> {
    if raw.len() > MAX_PAYLOAD_BYTES || json_depth(raw) > MAX_PAYLOAD_DEPTH {
        return Err(RelayError::PayloadNotJson);
    }
    serde_json::from_slice(raw).map_err(|_| RelayError::PayloadNotJson)
}

/// The deepest `[`/`{` nesting in JSON text, counted without recursion (serde_json would refuse
/// deep input with its own, different error; this keeps the relay's message). Brackets inside
/// strings do not count. Malformed text gets some number; the parser rejects it afterwards.
fn json_depth(raw: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in raw {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A clock the test moves by hand.
    struct ManualClock {
        start: Instant,
        offset_ms: AtomicU64,
    }

    impl ManualClock {
        fn new() -> Arc<ManualClock> {
            Arc::new(ManualClock {
                start: Instant::now(),
                offset_ms: AtomicU64::new(0),
            })
        }

        fn advance(&self, by: Duration) {
            let ms = u64::try_from(by.as_millis()).expect("small duration");
            self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        }

        fn clock(self: &Arc<Self>) -> Clock {
            let me = Arc::clone(self);
            Arc::new(move || me.start + Duration::from_millis(me.offset_ms.load(Ordering::SeqCst)))
        }
    }

    const PAYLOAD: &[u8] = br#"{"hook_event_name":"PreToolUse","tool_input":{"command":"ls"}}"#;

    fn registration(relay_id: &str, generation: &str) -> Registration {
        Registration {
            relay_id: relay_id.to_owned(),
            generation: generation.to_owned(),
            provider: "codex".to_owned(),
            session_key: "session-1".to_owned(),
            allowed_events: HookEvent::ALL.into_iter().collect(),
            ttl: Duration::from_secs(1800),
            legacy_grace: None,
        }
    }

    fn call<'a>(relay_id: &'a str, generation: &'a str) -> Invocation<'a> {
        Invocation {
            provider: "codex",
            relay_id,
            generation,
            event: HookEvent::PreToolUse,
            payload: PAYLOAD,
        }
    }

    #[test]
    fn relay_id_is_stable_opaque_and_url_safe() {
        let key = "agent:dev-codex:cu-pr-relay-smoke";
        let id = relay_id_for(key);
        assert_eq!(id, relay_id_for(key));
        assert_ne!(id, relay_id_for("agent:dev-codex:other"));
        assert_eq!(id.len(), "codex-".len() + 40);
        assert!(id.starts_with("codex-"));
        assert!(is_valid_token(&id));
        assert!(id[6..].bytes().all(|b| b.is_ascii_hexdigit()));
        for part in ["agent", "dev-codex", "relay-smoke", key] {
            assert!(!id.contains(part), "{id} leaks {part}");
        }
        // Pinned, so a change of the derivation (which would orphan every stored binding's
        // relay) cannot go unnoticed.
        let mut hash = Sha256::new();
        hash.update(b"codex-webchat:codex:native-hook-relay:v1\0\0s1");
        assert_eq!(
            relay_id_for("s1"),
            format!("codex-{}", &hex::encode(hash.finalize())[..40])
        );
    }

    #[test]
    fn timings() {
        assert_eq!(unregister_delay(9), Duration::from_secs(14));
        assert_eq!(unregister_delay(60), Duration::from_secs(65));
        assert_eq!(unregister_delay(1), Duration::from_secs(10));
        assert_eq!(LEGACY_GRACE, Duration::from_secs(300));
    }

    #[test]
    fn generations_are_random_and_url_safe() {
        let a = new_generation();
        assert_ne!(a, new_generation());
        assert!(is_valid_token(&a));
        assert_eq!(a.len(), 32);
        for bad in ["", " ", "a b", "a/b", "ä", &"x".repeat(161)] {
            assert!(!is_valid_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn register_rejects_unsafe_ids_and_generations() {
        let registry = RelayRegistry::new();
        let err = registry.register(registration("bad id", "g1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "native hook relay relay id must be non-empty, compact, and URL-safe"
        );
        assert!(registry.register(registration("r1", "")).is_err());
    }

    /// Every refusal, in the order `validate` checks them, each with its exact message: each row
    /// breaks one more rule than the checks before it let pass.
    #[test]
    fn validation_order_and_messages() {
        let clock = ManualClock::new();
        let registry = RelayRegistry::with_clock(clock.clock());
        let mut only_pre = registration("r-events", "g1");
        only_pre.allowed_events = [HookEvent::PreToolUse].into_iter().collect();
        registry.register(only_pre).unwrap();
        let mut short = registration("r-short", "g1");
        short.ttl = Duration::from_secs(1);
        registry.register(short).unwrap();
        clock.advance(Duration::from_secs(2));

        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let big = format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES));
        type Case<'a> = (&'a str, &'a str, &'a str, HookEvent, &'a [u8], &'a str);
        let cases: &[Case<'_>] = &[
            // Unknown beats everything else that is wrong.
            (
                "nope",
                "other",
                "g9",
                HookEvent::Stop,
                b"{",
                "native hook relay not found",
            ),
            // Expired beats a wrong provider, and removes the registration.
            (
                "r-short",
                "other",
                "g9",
                HookEvent::Stop,
                b"{",
                "native hook relay expired",
            ),
            (
                "r-short",
                "codex",
                "g1",
                HookEvent::PreToolUse,
                PAYLOAD,
                "native hook relay not found",
            ),
            (
                "r-events",
                "other",
                "g9",
                HookEvent::Stop,
                b"{",
                "native hook relay provider mismatch",
            ),
            (
                "r-events",
                "codex",
                "g9",
                HookEvent::Stop,
                b"{",
                "native hook relay bridge stale registration",
            ),
            (
                "r-events",
                "codex",
                "g1",
                HookEvent::Stop,
                b"{",
                "native hook relay event not allowed",
            ),
            (
                "r-events",
                "codex",
                "g1",
                HookEvent::PreToolUse,
                b"{",
                "native hook relay payload must be JSON-compatible",
            ),
            (
                "r-events",
                "codex",
                "g1",
                HookEvent::PreToolUse,
                b"",
                "native hook relay payload must be JSON-compatible",
            ),
            (
                "r-events",
                "codex",
                "g1",
                HookEvent::PreToolUse,
                deep.as_bytes(),
                "native hook relay payload must be JSON-compatible",
            ),
            (
                "r-events",
                "codex",
                "g1",
                HookEvent::PreToolUse,
                big.as_bytes(),
                "native hook relay payload must be JSON-compatible",
            ),
        ];
        for (i, &(relay_id, provider, generation, event, payload, message)) in
            cases.iter().enumerate()
        {
            let inv = Invocation {
                provider,
                relay_id,
                generation,
                event,
                payload,
            };
            let err = registry.validate(&inv).expect_err(message);
            assert_eq!(err.to_string(), message, "case {i}");
        }
        assert_eq!(RelayError::StaleGeneration.http_status(), 410);
        assert_eq!(RelayError::NotFound.http_status(), 404);
        assert_eq!(RelayError::EventNotAllowed.http_status(), 400);
        assert!(registry.recent_invocations().is_empty());

        // And the same registration accepts a well-formed call; depth 64 and `null` are fine.
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        for payload in [PAYLOAD, ok.as_bytes(), b"null", br#"{"s":"[[[["}"#] {
            let inv = Invocation {
                payload,
                ..call("r-events", "g1")
            };
            registry.validate(&inv).expect("valid");
        }
    }

    #[test]
    fn accepts_bootstrap_generation_mismatch_during_grace_then_rejects_a_second_foreign_generation()
    {
        let clock = ManualClock::new();
        let registry = RelayRegistry::with_clock(clock.clock());
        let mut reg = registration("r1", "current");
        reg.legacy_grace = Some(Duration::from_secs(60));
        registry.register(reg).unwrap();

        let first = registry.validate(&call("r1", "legacy-a")).expect("grace");
        assert!(first.via_grace);
        assert_eq!(first.session_key, "session-1");
        assert_eq!(registry.recent_invocations().len(), 1);
        // The pinned one keeps working inside the window, and so does the current one.
        clock.advance(Duration::from_secs(30));
        assert!(registry.validate(&call("r1", "legacy-a")).is_ok());
        assert!(!registry.validate(&call("r1", "current")).unwrap().via_grace);
        // Any other foreign generation is stale.
        assert_eq!(
            registry.validate(&call("r1", "legacy-b")).unwrap_err(),
            RelayError::StaleGeneration
        );
        assert_eq!(registry.recent_invocations().len(), 3);
    }

    #[test]
    fn a_refused_call_does_not_use_up_the_grace_pin() {
        let registry = RelayRegistry::new();
        let mut reg = registration("r1", "current");
        reg.legacy_grace = Some(Duration::from_secs(60));
        registry.register(reg).unwrap();
        let bad = Invocation {
            payload: b"not json",
            ..call("r1", "legacy-a")
        };
        assert_eq!(registry.validate(&bad), Err(RelayError::PayloadNotJson));
        assert!(registry.validate(&call("r1", "legacy-b")).is_ok());
        assert!(registry.validate(&call("r1", "legacy-a")).is_err());
    }

    #[test]
    fn rejects_bootstrap_generation_mismatch_after_grace_window() {
        let clock = ManualClock::new();
        let registry = RelayRegistry::with_clock(clock.clock());
        let mut reg = registration("r1", "current");
        reg.legacy_grace = Some(Duration::from_millis(1));
        registry.register(reg).unwrap();
        clock.advance(Duration::from_millis(10));
        assert_eq!(
            registry.validate(&call("r1", "legacy-a")).unwrap_err(),
            RelayError::StaleGeneration
        );
        assert!(registry.recent_invocations().is_empty());
        assert!(registry.validate(&call("r1", "current")).is_ok());
    }

    #[test]
    fn a_pinned_generation_is_stale_after_the_window() {
        let clock = ManualClock::new();
        let registry = RelayRegistry::with_clock(clock.clock());
        let mut reg = registration("r1", "current");
        reg.legacy_grace = Some(Duration::from_secs(300));
        registry.register(reg).unwrap();
        assert!(registry.validate(&call("r1", "legacy-a")).is_ok());
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            registry.validate(&call("r1", "legacy-a")).unwrap_err(),
            RelayError::StaleGeneration
        );
    }

    #[test]
    fn no_grace_without_legacy_registration() {
        let registry = RelayRegistry::new();
        registry.register(registration("r1", "current")).unwrap();
        assert_eq!(
            registry.validate(&call("r1", "legacy-a")).unwrap_err(),
            RelayError::StaleGeneration
        );
    }

    #[test]
    fn stale_generation_after_replacement_is_rejected_while_the_new_one_works() {
        let registry = RelayRegistry::new();
        let old = registry.register(registration("r1", "g1")).unwrap();
        assert!(registry.validate(&call("r1", "g1")).is_ok());
        let new = registry.register(registration("r1", "g2")).unwrap();
        assert_eq!(
            registry.validate(&call("r1", "g1")).unwrap_err(),
            RelayError::StaleGeneration
        );
        assert_eq!(
            registry.validate(&call("r1", "g2")).unwrap().generation,
            "g2"
        );
        // The old handle no longer names anything; the new one does.
        assert!(!registry.unregister(&old));
        assert_eq!(registry.current_generation("r1").as_deref(), Some("g2"));
        assert!(registry.unregister(&new));
        assert_eq!(
            registry.validate(&call("r1", "g2")).unwrap_err(),
            RelayError::NotFound
        );
    }

    #[test]
    fn renew_extends_the_ttl_of_the_current_generation_only() {
        let clock = ManualClock::new();
        let registry = RelayRegistry::with_clock(clock.clock());
        let mut reg = registration("r1", "g1");
        reg.ttl = Duration::from_secs(10);
        registry.register(reg).unwrap();
        clock.advance(Duration::from_secs(8));
        assert!(registry.renew("r1", "g1"));
        assert!(!registry.renew("r1", "g0"));
        assert!(!registry.renew("r2", "g1"));
        clock.advance(Duration::from_secs(8));
        assert!(registry.validate(&call("r1", "g1")).is_ok());
        clock.advance(Duration::from_secs(3));
        assert!(
            !registry.renew("r1", "g1"),
            "an expired relay is not revived"
        );
        assert_eq!(
            registry.validate(&call("r1", "g1")).unwrap_err(),
            RelayError::Expired
        );
        assert_eq!(registry.current_generation("r1"), None);
    }

    #[tokio::test]
    async fn deferred_unregister_never_removes_a_newer_registration() {
        let registry = RelayRegistry::new();
        let old = registry.register(registration("r1", "g1")).unwrap();
        let cleanup = registry.unregister_deferred(old.clone(), Duration::from_millis(20));
        let new = registry.register(registration("r1", "g2")).unwrap();
        assert!(
            !cleanup.await.expect("cleanup task"),
            "removed the newer one"
        );
        assert!(registry.validate(&call("r1", "g2")).is_ok());

        // Without a replacement, the deferred cleanup does remove it, and only after the delay.
        let cleanup = registry.unregister_deferred(new, Duration::from_millis(20));
        assert!(registry.validate(&call("r1", "g2")).is_ok());
        assert!(cleanup.await.expect("cleanup task"));
        assert_eq!(
            registry.validate(&call("r1", "g2")).unwrap_err(),
            RelayError::NotFound
        );
    }

    #[test]
    fn the_ring_keeps_the_last_200() {
        let registry = RelayRegistry::new();
        registry.register(registration("r1", "g1")).unwrap();
        for _ in 0..205 {
            registry.validate(&call("r1", "g1")).unwrap();
        }
        let recent = registry.recent_invocations();
        assert_eq!(recent.len(), RECENT_CAPACITY);
        assert!(recent
            .iter()
            .all(|r| r.relay_id == "r1" && r.event == HookEvent::PreToolUse));
    }
}
