//! Identifiers that cross module boundaries inside the server: a run, a Codex thread, a turn, a
//! tool call. Each is its own type so one cannot be passed where another is meant (a turn id
//! where a thread id goes compiles as a `String`, and fails only against the real Codex).
//!
//! They are opaque text: Codex chooses thread, turn and call ids, the gateway chooses run ids,
//! and nothing here parses or validates them. Serialised transparently, so JSON (the store's
//! records, Codex's protocol) is the same as with plain strings. This module depends on nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Lets maps keyed by the id be searched with a plain `&str` (an item id Codex sent).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id!(
    /// One user send (or background request) and the Codex turn it started; chosen by the
    /// gateway, stored with every event of the run.
    RunId
);
id!(
    /// A Codex thread (one per chat session), as Codex names it.
    ThreadId
);
id!(
    /// A turn on a Codex thread, as Codex names it.
    TurnId
);
id!(
    /// A tool call inside a turn, as Codex names it; the key of the `message` tool's idempotency.
    CallId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = ThreadId::new("019a-thread");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""019a-thread""#);
        assert_eq!(
            serde_json::from_str::<ThreadId>(r#""019a-thread""#).unwrap(),
            id
        );
        assert_eq!(id.to_string(), "019a-thread");
        assert!(id == "019a-thread");
    }
}
