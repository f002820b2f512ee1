//! JSON for the browser: a small reader and writer for exactly the wire types the hydrated page
//! handles. It reads the page data it hydrates from, the server's WebSocket frames and its saved
//! outbox, and it writes its own frames and the outbox.
//!
//! The browser does not use serde_json. The wasm budget (200 KB compressed, wasm + JS) cannot
//! carry serde's generic machinery: internally tagged enums (`EventBody`, `ServerFrame`) buffer
//! every object through serde's `Content` before they decode it, every field type gets a visitor
//! per deserializer, and error messages pull in float formatting. In the browser build those made
//! up about a fifth of the wasm (README, "Budgets"). The server keeps serde for everything.
//!
//! The format does not change. This reader accepts what serde's derive writes for these types:
//! fields in any order, the `type` tag anywhere in the object, unknown fields skipped, `null` or
//! a missing key for an absent `Option`. The writer produces what serde_json writes, byte for
//! byte. Host tests check both directions against serde for every variant. The module has no
//! features and no Leptos, so those tests run in the ordinary `cargo test`.

use std::borrow::Cow;
use std::fmt;

mod write;
pub use write::{write_str, ObjectWriter};

use crate::wire::{
    ApprovalKind, ApprovalState, DeliveryStatus, Event, EventBody, Mode, NoticeLevel, PageData,
    PageLoadError, RelayDecision, RunOutcome, Seq, ServerFrame, SessionKey, SessionSummary, Source,
    ToolStatus,
};

/// Why a text did not decode: what was wrong and where, for a log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    at: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for Error {}

type Result<T> = std::result::Result<T, Error>;

/// Decodes a whole text as `T`; anything but whitespace after the value is an error.
pub fn from_str<T: FromJson>(text: &str) -> Result<T> {
    let mut r = Reader { src: text, pos: 0 };
    let value = T::read(&mut r)?;
    r.ws();
    if r.pos != text.len() {
        return Err(r.err("trailing characters"));
    }
    Ok(value)
}

/// Encodes `value` as compact JSON, as `serde_json::to_string` does.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    value.write(&mut out);
    out
}

/// A type the browser reads from JSON.
pub trait FromJson: Sized {
    fn read(r: &mut Reader<'_>) -> Result<Self>;
}

/// A type the browser writes as JSON.
pub trait ToJson {
    fn write(&self, out: &mut String);
}

/// Nested arrays and objects deeper than this are refused (serde_json's limit too), so a hostile
/// text cannot exhaust the stack.
const MAX_DEPTH: u32 = 128;

/// A cursor over the text being decoded.
pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> Error {
        Error { what, at: self.pos }
    }

    fn ws(&mut self) {
        while matches!(
            self.src.as_bytes().get(self.pos),
            Some(b' ' | b'\n' | b'\r' | b'\t')
        ) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.src.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        self.ws();
        let hit = self.src[self.pos..].starts_with(word);
        if hit {
            self.pos += word.len();
        }
        hit
    }

    /// Consumes a `null` if one is next.
    fn null(&mut self) -> bool {
        self.literal("null")
    }

    /// A string, borrowed from the text unless it contains escapes.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        self.expect(b'"', "expected a string")?;
        let bytes = self.src.as_bytes();
        let mut owned: Option<String> = None;
        // Start of the run of plain characters not yet copied to `owned`. The loop stops only at
        // ASCII bytes, so every slice taken here is on a character boundary.
        let mut run = self.pos;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    let tail = &self.src[run..self.pos];
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                    });
                }
                b'\\' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.src[run..self.pos]);
                    self.pos += 1;
                    let escape = bytes.get(self.pos).copied();
                    self.pos += 1;
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.err("invalid escape")),
                    };
                    s.push(c);
                    run = self.pos;
                }
                0..=0x1f => return Err(self.err("control character in string")),
                _ => self.pos += 1,
            }
        }
    }

    /// The character of a `\u` escape whose `\u` has been read (a surrogate pair takes two).
    fn unicode_escape(&mut self) -> Result<char> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.src[self.pos..].starts_with("\\u") {
                return Err(self.err("lone surrogate in escape"));
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.err("lone surrogate in escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.err("lone surrogate in escape"))
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short unicode escape"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.err("bad unicode escape"))?;
        self.pos += 4;
        Ok(code)
    }

    /// An integer: its sign and magnitude. Fractions and exponents are refused, as serde_json
    /// refuses them for integer fields.
    fn integer(&mut self) -> Result<(bool, u64)> {
        let negative = self.eat(b'-');
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = bytes.get(self.pos) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| self.err("number out of range"))?;
            self.pos += 1;
        }
        if self.pos == start || matches!(bytes.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(self.err("expected an integer"));
        }
        Ok((negative, value))
    }

    /// Calls `field` with each key of the object at the cursor, the cursor on its value; `field`
    /// must consume the value.
    pub fn object(&mut self, field: &mut dyn FnMut(&mut Self, &str) -> Result<()>) -> Result<()> {
        self.expect(b'{', "expected an object")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':', "expected ':'")?;
            field(self, &key)?;
            if !self.eat(b',') {
                return self.expect(b'}', "expected ',' or '}'");
            }
        }
    }

    /// Calls `item` with the cursor on each element of the array at the cursor.
    fn array(&mut self, item: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.expect(b'[', "expected an array")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            item(self)?;
            if !self.eat(b',') {
                return self.expect(b']', "expected ',' or ']'");
            }
        }
    }

    /// The string value of `key` in the object at the cursor, leaving the cursor where it was:
    /// an internally tagged enum needs its tag before it can read the other fields, and serde
    /// does not promise the tag comes first (the server's own output always has it first, so
    /// this usually reads one key).
    fn tag(&mut self, key: &str) -> Result<String> {
        let start = self.pos;
        self.expect(b'{', "expected an object")?;
        if !self.eat(b'}') {
            loop {
                let name = self.string()?;
                self.expect(b':', "expected ':'")?;
                if name == key {
                    let tag = self.string()?.into_owned();
                    self.pos = start;
                    return Ok(tag);
                }
                self.skip()?;
                if !self.eat(b',') {
                    break;
                }
            }
        }
        Err(self.err("missing \"type\" tag"))
    }

    /// Skips one value of any kind (an unknown field's).
    pub fn skip(&mut self) -> Result<()> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: u32) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(&mut |r, _| r.skip_nested(depth + 1)),
            Some(b'[') => self.array(&mut |r| r.skip_nested(depth + 1)),
            Some(b'-' | b'0'..=b'9') => {
                let bytes = self.src.as_bytes();
                while matches!(
                    bytes.get(self.pos),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.pos += 1;
                }
                Ok(())
            }
            _ if self.literal("true") || self.literal("false") || self.null() => Ok(()),
            _ => Err(self.err("expected a value")),
        }
    }
}

/// The value of a field that must be present (used by [`read_fields`]).
#[doc(hidden)]
pub fn required<T>(value: Option<T>, r: &Reader<'_>, what: &'static str) -> Result<T> {
    value.ok_or_else(|| r.err(what))
}

/// Reads the object at the cursor into a struct or struct variant, the way serde's derive does:
/// fields in any order, unknown keys skipped, the fields after `;` defaulted when missing
/// (`Option`s and `#[serde(default)]` fields). Field types come from the constructed value.
macro_rules! read_fields {
    ($r:expr, $($name:ident)::+ { $($req:ident),* ; $($(#[$m:meta])* $opt:ident),* }) => {{
        let r: &mut $crate::json::Reader<'_> = $r;
        $(let mut $req = None;)*
        $($(#[$m])* let mut $opt = None;)*
        r.object(&mut |r, key| {
            match key {
                $(stringify!($req) => $req = Some($crate::json::FromJson::read(r)?),)*
                $($(#[$m])* stringify!($opt) => $opt = Some($crate::json::FromJson::read(r)?),)*
                _ => r.skip()?,
            }
            Ok(())
        })?;
        $($name)::+ {
            $($req: $crate::json::required(
                $req,
                r,
                concat!("missing field `", stringify!($req), "`"),
            )?,)*
            $($(#[$m])* $opt: $opt.unwrap_or_default(),)*
        }
    }};
}
pub(crate) use read_fields;

/// Reads a string as one of an enum's unit variants (serde's `rename_all = "snake_case"` names).
macro_rules! string_enum {
    ($ty:ty { $($name:literal => $variant:expr),* $(,)? }) => {
        impl FromJson for $ty {
            fn read(r: &mut Reader<'_>) -> Result<Self> {
                match &*r.string()? {
                    $($name => Ok($variant),)*
                    _ => Err(r.err("unknown variant")),
                }
            }
        }
    };
}

// The workbench's types (tool details, images, models, usage, the account); declared after the
// macros above, which it uses.
mod workbench;

impl FromJson for String {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        r.string().map(Cow::into_owned)
    }
}

impl FromJson for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.literal("true") {
            Ok(true)
        } else if r.literal("false") {
            Ok(false)
        } else {
            Err(r.err("expected a boolean"))
        }
    }
}

impl FromJson for u64 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.integer()? {
            (true, v) if v != 0 => Err(r.err("number out of range")),
            (_, v) => Ok(v),
        }
    }
}

impl FromJson for i64 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let (negative, v) = r.integer()?;
        let v = if negative {
            0i64.checked_sub_unsigned(v)
        } else {
            i64::try_from(v).ok()
        };
        v.ok_or_else(|| r.err("number out of range"))
    }
}

impl FromJson for u32 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        u32::try_from(u64::read(r)?).map_err(|_| r.err("number out of range"))
    }
}

impl FromJson for i32 {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        i32::try_from(i64::read(r)?).map_err(|_| r.err("number out of range"))
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.null() {
            Ok(None)
        } else {
            T::read(r).map(Some)
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let mut items = Vec::new();
        r.array(&mut |r| {
            items.push(T::read(r)?);
            Ok(())
        })?;
        Ok(items)
    }
}

impl FromJson for Seq {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        u64::read(r).map(Seq)
    }
}

impl FromJson for SessionKey {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        SessionKey::parse(&r.string()?).map_err(|_| r.err("invalid session key"))
    }
}

string_enum!(RelayDecision {
    "allowed" => RelayDecision::Allowed,
    "denied" => RelayDecision::Denied,
    "unavailable" => RelayDecision::Unavailable,
    "none" => RelayDecision::None,
});

string_enum!(ToolStatus {
    "running" => ToolStatus::Running,
    "completed" => ToolStatus::Completed,
    "failed" => ToolStatus::Failed,
    "declined" => ToolStatus::Declined,
    "interrupted" => ToolStatus::Interrupted,
});

string_enum!(ApprovalKind {
    "command" => ApprovalKind::Command,
    "file-change" => ApprovalKind::FileChange,
    "permissions" => ApprovalKind::Permissions,
    "question" => ApprovalKind::Question,
});

string_enum!(ApprovalState {
    "pending" => ApprovalState::Pending,
    "accepted" => ApprovalState::Accepted,
    "accepted-for-session" => ApprovalState::AcceptedForSession,
    "declined" => ApprovalState::Declined,
    "cancelled" => ApprovalState::Cancelled,
    "expired" => ApprovalState::Expired,
});

string_enum!(Source {
    "webchat" => Source::Webchat,
    "tui" => Source::Tui,
});

string_enum!(Mode {
    "full-access" => Mode::FullAccess,
    "auto" => Mode::Auto,
    "ask" => Mode::Ask,
    "read-only" => Mode::ReadOnly,
});

string_enum!(DeliveryStatus {
    "sending" => DeliveryStatus::Sending,
    "sent" => DeliveryStatus::Sent,
    "failed" => DeliveryStatus::Failed,
    "unknown" => DeliveryStatus::Unknown,
});

string_enum!(RunOutcome {
    "completed" => RunOutcome::Completed,
    "interrupted" => RunOutcome::Interrupted,
    "failed" => RunOutcome::Failed,
});

string_enum!(NoticeLevel {
    "info" => NoticeLevel::Info,
    "warning" => NoticeLevel::Warning,
    "error" => NoticeLevel::Error,
});

impl FromJson for SessionSummary {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, SessionSummary {
            key, title, updated_ms; last_channel, mode, workspace, model, effort, usage, archived }))
    }
}

impl FromJson for Event {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, Event { seq, at_ms, body; run, private }))
    }
}

impl FromJson for EventBody {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("type")? {
            "user_message" => {
                read_fields!(r, EventBody::UserMessage {
                    text, client_id; source, steered, images })
            }
            "assistant_message" => {
                read_fields!(r, EventBody::AssistantMessage { text; html, call_id })
            }
            "model_text" => read_fields!(r, EventBody::ModelText { item_id, text; }),
            "text_append" => read_fields!(r, EventBody::TextAppend { target, delta; }),
            "text_done" => read_fields!(r, EventBody::TextDone { target, text; }),
            "tool_started" => {
                read_fields!(r, EventBody::ToolStarted { call_id, tool, command, relay; detail })
            }
            "tool_updated" => read_fields!(r, EventBody::ToolUpdated { target, detail; }),
            "tool_finished" => {
                read_fields!(r, EventBody::ToolFinished { target, status, output; exit_code })
            }
            "run_started" => {
                read_fields!(r, EventBody::RunStarted { run_id; for_seq, background })
            }
            "run_finished" => read_fields!(r, EventBody::RunFinished { run_id, outcome; error }),
            "background_request" => {
                read_fields!(r, EventBody::BackgroundRequest { origin, prompt; })
            }
            "notice" => read_fields!(r, EventBody::Notice { level, text; }),
            "delivery" => read_fields!(r, EventBody::Delivery {
                channel, target, status, attempts, detail; updates }),
            "approval_requested" => read_fields!(r, EventBody::ApprovalRequested {
                kind, subject; item_id, cwd, reason, changes, for_session }),
            "approval_ended" => {
                read_fields!(r, EventBody::ApprovalEnded { target, state; answer })
            }
            "retrying" => read_fields!(r, EventBody::Retrying { message, attempt; }),
            "internal" => read_fields!(r, EventBody::Internal { label, text; }),
            _ => return Err(r.err("unknown event type")),
        })
    }
}

impl FromJson for PageData {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(read_fields!(r, PageData {
            session, sessions, events, last_seq, show_internals;
            earlier, window, models, workspaces, account, highlight }))
    }
}

/// serde's externally tagged form: a unit variant is its name, a newtype variant `{name: value}`.
impl FromJson for PageLoadError {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        if r.peek() == Some(b'"') {
            return match &*r.string()? {
                "UnknownSession" => Ok(PageLoadError::UnknownSession),
                "Internal" => Ok(PageLoadError::Internal),
                _ => Err(r.err("unknown variant")),
            };
        }
        let mut error = None;
        r.object(&mut |r, key| {
            let text = String::read(r)?;
            error = match key {
                "BadKey" => Some(PageLoadError::BadKey(text)),
                "Request" => Some(PageLoadError::Request(text)),
                _ => return Err(r.err("unknown variant")),
            };
            Ok(())
        })?;
        required(error, r, "empty page error")
    }
}

/// serde's form of a `Result`: `{"Ok": value}` or `{"Err": error}`.
impl<T: FromJson, E: FromJson> FromJson for std::result::Result<T, E> {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let mut result = None;
        r.object(&mut |r, key| {
            result = Some(match key {
                "Ok" => Ok(T::read(r)?),
                "Err" => Err(E::read(r)?),
                _ => return Err(r.err("expected Ok or Err")),
            });
            Ok(())
        })?;
        required(result, r, "empty result")
    }
}

impl FromJson for ServerFrame {
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(match &*r.tag("type")? {
            "event" => read_fields!(r, ServerFrame::Event { session, event; }),
            "accepted" => read_fields!(r, ServerFrame::Accepted { client_id, seq, duplicate; }),
            "error" => read_fields!(r, ServerFrame::Error { message; client_id }),
            "sessions" => read_fields!(r, ServerFrame::Sessions { sessions; }),
            "account" => read_fields!(r, ServerFrame::Account { account; }),
            "pong" => read_fields!(r, ServerFrame::Pong { nonce; }),
            _ => return Err(r.err("unknown frame type")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{
        AccountStatus, ClientFrame, CodexHealth, ContextUsage, DiffLine, DiffLineKind, FileDiff,
        ImageRef, LimitWindow, Login, ModelOption, PlanStatus, PlanStep, RateLimits, SignIn,
        ToolDetail,
    };

    fn key(s: &str) -> SessionKey {
        SessionKey::parse(s).unwrap()
    }

    /// One of every event body, with optional fields both set and absent.
    fn bodies() -> Vec<EventBody> {
        vec![
            EventBody::UserMessage {
                text: "hi \"there\"\n\u{1F600} \\ /".into(),
                client_id: "c1".into(),
                source: Default::default(),
                steered: false,
                images: Vec::new(),
            },
            EventBody::UserMessage {
                text: "look".into(),
                client_id: "c2".into(),
                source: Source::Tui,
                steered: true,
                images: vec![ImageRef {
                    id: "ab12".into(),
                    name: "a \"b\".png".into(),
                    mime: "image/png".into(),
                }],
            },
            EventBody::ToolStarted {
                call_id: "fc".into(),
                tool: "file_change".into(),
                command: "x.rs".into(),
                relay: RelayDecision::None,
                detail: Some(ToolDetail::Files {
                    files: vec![FileDiff {
                        path: "x.rs".into(),
                        kind: "update".into(),
                        added: 1,
                        removed: 0,
                        lines: vec![
                            DiffLine {
                                kind: DiffLineKind::Meta,
                                text: "--- a/x.rs".into(),
                            },
                            DiffLine {
                                kind: DiffLineKind::Del,
                                text: "-a".into(),
                            },
                            DiffLine {
                                kind: DiffLineKind::Ctx,
                                text: " b".into(),
                            },
                        ],
                    }],
                }),
            },
            EventBody::ToolStarted {
                call_id: "m".into(),
                tool: "mcp".into(),
                command: "s/t".into(),
                relay: RelayDecision::None,
                detail: Some(ToolDetail::Mcp {
                    server: "s".into(),
                    tool: "t".into(),
                    arguments: "{\"a\":1}".into(),
                }),
            },
            EventBody::ToolUpdated {
                target: Seq(4),
                detail: ToolDetail::Plan {
                    steps: vec![
                        PlanStep {
                            step: "one".into(),
                            status: PlanStatus::Completed,
                        },
                        PlanStep {
                            step: "two".into(),
                            status: PlanStatus::InProgress,
                        },
                        PlanStep {
                            step: "three".into(),
                            status: PlanStatus::Pending,
                        },
                    ],
                    explanation: Some("why".into()),
                },
            },
            EventBody::ToolUpdated {
                target: Seq(4),
                detail: ToolDetail::Plan {
                    steps: Vec::new(),
                    explanation: None,
                },
            },
            EventBody::AssistantMessage {
                text: "**x**".into(),
                html: Some("<p>x</p>".into()),
                call_id: Some("k".into()),
            },
            EventBody::AssistantMessage {
                text: String::new(),
                html: None,
                call_id: None,
            },
            EventBody::ModelText {
                item_id: "i".into(),
                text: "t".into(),
            },
            EventBody::TextAppend {
                target: Seq(3),
                delta: "\u{0}\u{1f}\u{7f}".into(),
            },
            EventBody::TextDone {
                target: Seq(u64::MAX),
                text: "done".into(),
            },
            EventBody::ToolStarted {
                call_id: "c".into(),
                tool: "shell".into(),
                command: "ls -la".into(),
                relay: RelayDecision::Denied,
                detail: None,
            },
            EventBody::ToolFinished {
                target: Seq(4),
                status: ToolStatus::Failed,
                output: "err".into(),
                exit_code: Some(-2),
            },
            EventBody::ToolFinished {
                target: Seq(4),
                status: ToolStatus::Declined,
                output: String::new(),
                exit_code: None,
            },
            EventBody::RunStarted {
                run_id: "r".into(),
                for_seq: Some(Seq(1)),
                background: Some("api".into()),
            },
            EventBody::RunStarted {
                run_id: "r".into(),
                for_seq: None,
                background: None,
            },
            EventBody::RunFinished {
                run_id: "r".into(),
                outcome: RunOutcome::Interrupted,
                error: Some("stopped".into()),
            },
            EventBody::RunFinished {
                run_id: "r".into(),
                outcome: RunOutcome::Completed,
                error: None,
            },
            EventBody::BackgroundRequest {
                origin: "schedule nightly".into(),
                prompt: "p".into(),
            },
            EventBody::Notice {
                level: NoticeLevel::Warning,
                text: "n".into(),
            },
            EventBody::Notice {
                level: NoticeLevel::Error,
                text: "n \u{e9}".into(),
            },
            EventBody::Delivery {
                channel: "webhook".into(),
                target: "ops".into(),
                status: DeliveryStatus::Sending,
                attempts: 0,
                detail: String::new(),
                updates: None,
            },
            EventBody::Delivery {
                channel: "webhook".into(),
                target: "ops".into(),
                status: DeliveryStatus::Sent,
                attempts: 3,
                detail: "ok".into(),
                updates: Some(Seq(9)),
            },
            EventBody::Internal {
                label: "l".into(),
                text: r#"{"a":[1,2.5,{"b":null}],"c":"\u00e9"}"#.into(),
            },
            EventBody::Retrying {
                message: "Reconnecting... 2/5 \"<b>\"".into(),
                attempt: 2,
            },
            EventBody::UserMessage {
                text: "typed in a terminal".into(),
                client_id: "c9".into(),
                source: Source::Tui,
                steered: false,
                images: Vec::new(),
            },
            EventBody::ToolFinished {
                target: Seq(4),
                status: ToolStatus::Interrupted,
                output: String::new(),
                exit_code: None,
            },
            EventBody::ApprovalRequested {
                kind: ApprovalKind::FileChange,
                item_id: Some("call_1".into()),
                subject: "notes.txt".into(),
                cwd: Some("/w".into()),
                reason: Some("needs \"write\"".into()),
                changes: vec![FileDiff {
                    path: "notes.txt".into(),
                    kind: "update".into(),
                    added: 1,
                    removed: 0,
                    lines: vec![
                        DiffLine {
                            kind: DiffLineKind::Hunk,
                            text: "@@ -1 +1,2 @@".into(),
                        },
                        DiffLine {
                            kind: DiffLineKind::Ctx,
                            text: " a".into(),
                        },
                        DiffLine {
                            kind: DiffLineKind::Add,
                            text: "+b".into(),
                        },
                    ],
                }],
                for_session: true,
            },
            EventBody::ApprovalRequested {
                kind: ApprovalKind::Question,
                item_id: None,
                subject: "Which colour?".into(),
                cwd: None,
                reason: None,
                changes: vec![],
                for_session: false,
            },
            EventBody::ApprovalEnded {
                target: Seq(3),
                state: ApprovalState::AcceptedForSession,
                answer: Some("blue".into()),
            },
            EventBody::ApprovalEnded {
                target: Seq(3),
                state: ApprovalState::Expired,
                answer: None,
            },
        ]
    }

    fn events() -> Vec<Event> {
        bodies()
            .into_iter()
            .enumerate()
            .map(|(i, body)| Event {
                seq: Seq(i as u64 + 1),
                at_ms: if i % 2 == 0 { 1_700_000_000_000 } else { -5 },
                run: (i % 3 == 0).then(|| format!("run{i}")),
                private: i % 4 == 0,
                body,
            })
            .collect()
    }

    fn summary(k: &str, last: Option<&str>) -> SessionSummary {
        SessionSummary {
            key: key(k),
            title: format!("title <{k}>"),
            updated_ms: 42,
            last_channel: last.map(Into::into),
            mode: if last.is_some() {
                Mode::ReadOnly
            } else {
                Mode::Auto
            },
            workspace: format!("ws {k}"),
            model: last.map(|_| "gpt-5".into()),
            effort: last.map(|_| "high".into()),
            archived: last.is_some(),
            usage: last.map(|_| ContextUsage {
                tokens: 1234,
                window: Some(200_000),
                total: 99,
            }),
        }
    }

    fn page() -> PageData {
        PageData {
            session: summary("s1", Some("webhook:ops")),
            sessions: vec![summary("s1", Some("webhook:ops")), summary("s2", None)],
            events: events(),
            last_seq: Seq(19),
            show_internals: true,
            earlier: 7,
            window: 1000,
            models: vec![
                ModelOption {
                    id: "demo-model".into(),
                    name: "Demo \"model\"".into(),
                    efforts: vec!["low".into(), "high".into()],
                    default_effort: Some("low".into()),
                    is_default: true,
                },
                ModelOption {
                    id: "m2".into(),
                    name: "M2".into(),
                    efforts: Vec::new(),
                    default_effort: None,
                    is_default: false,
                },
            ],
            workspaces: vec!["workspace".into(), "other one".into()],
            account: AccountStatus {
                login: Login::Chatgpt {
                    email: Some("a\"b@c".into()),
                    plan: None,
                },
                rate_limits: Some(RateLimits {
                    primary: Some(LimitWindow {
                        used_percent: 23,
                        window_mins: Some(300),
                        resets_at: Some(-1),
                    }),
                    secondary: None,
                }),
                codex: CodexHealth::Starting,
                signin: None,
            },
            highlight: Some(Seq(3)),
        }
    }

    /// Decodes serde's own text for `value`, the same text with whitespace, and with every
    /// object's keys sorted both ways (serde's derive accepts any order, so the tag need not
    /// come first).
    fn reads_what_serde_writes<T>(value: &T)
    where
        T: FromJson + serde::Serialize + PartialEq + fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&from_str::<T>(&json).unwrap(), value, "{json}");
        let pretty = serde_json::to_string_pretty(value).unwrap();
        assert_eq!(&from_str::<T>(&pretty).unwrap(), value, "{pretty}");
        let tree: serde_json::Value = serde_json::from_str(&json).unwrap();
        for descending in [false, true] {
            let shuffled = with_sorted_keys(&tree, descending);
            assert_eq!(&from_str::<T>(&shuffled).unwrap(), value, "{shuffled}");
        }
    }

    fn with_sorted_keys(v: &serde_json::Value, descending: bool) -> String {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                if descending {
                    entries.reverse();
                }
                let fields: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| {
                        let k = serde_json::to_string(k).unwrap();
                        format!("{k}:{}", with_sorted_keys(v, descending))
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            serde_json::Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|v| with_sorted_keys(v, descending))
                    .collect();
                format!("[{}]", items.join(","))
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn reads_every_event_body_and_event_as_serde_writes_them() {
        for body in bodies() {
            reads_what_serde_writes(&body);
        }
        for event in events() {
            reads_what_serde_writes(&event);
        }
    }

    #[test]
    fn reads_the_page_data_and_its_errors_in_a_result() {
        reads_what_serde_writes(&page());
        for err in [
            PageLoadError::UnknownSession,
            PageLoadError::Internal,
            PageLoadError::BadKey("bad \"key\"".into()),
            PageLoadError::Request("network".into()),
        ] {
            reads_what_serde_writes(&err);
            reads_what_serde_writes(&Err::<PageData, _>(err));
        }
        reads_what_serde_writes(&Ok::<_, PageLoadError>(page()));
    }

    #[test]
    fn reads_every_server_frame() {
        let frames = [
            ServerFrame::Event {
                session: key("s1"),
                event: events().remove(1),
            },
            ServerFrame::Accepted {
                client_id: "c".into(),
                seq: Seq(5),
                duplicate: true,
            },
            ServerFrame::Error {
                client_id: Some("c".into()),
                message: "m".into(),
            },
            ServerFrame::Error {
                client_id: None,
                message: "m".into(),
            },
            ServerFrame::Sessions {
                sessions: vec![summary("a", None), summary("b-_9", Some("x"))],
            },
            ServerFrame::Account {
                account: page().account,
            },
            ServerFrame::Account {
                account: AccountStatus::default(),
            },
            ServerFrame::Account {
                account: AccountStatus {
                    login: Login::SignedOut,
                    rate_limits: None,
                    codex: CodexHealth::Down {
                        reason: "no such file: \"codex\"".into(),
                    },
                    signin: Some(SignIn::Waiting {
                        user_code: "AB-12".into(),
                        verification_url: "https://auth.example/device".into(),
                    }),
                },
            },
            ServerFrame::Account {
                account: AccountStatus {
                    login: Login::Other { kind: "gcp".into() },
                    rate_limits: None,
                    codex: CodexHealth::Ready,
                    signin: Some(SignIn::Failed {
                        message: "device code expired".into(),
                    }),
                },
            },
            ServerFrame::Pong { nonce: 77 },
        ];
        for frame in frames {
            reads_what_serde_writes(&frame);
        }
    }

    #[test]
    fn unknown_fields_are_skipped_and_nulls_are_absent_options() {
        let json = r#"{"type":"run_started","future":{"x":[true,false,null,-1.5e3,"s"]},"run_id":"r","for_seq":null}"#;
        assert_eq!(
            from_str::<EventBody>(json).unwrap(),
            EventBody::RunStarted {
                run_id: "r".into(),
                for_seq: None,
                background: None
            }
        );
    }

    #[test]
    fn refuses_what_serde_refuses() {
        for bad in [
            r#"{"type":"user_message","text":"x"}"#, // missing field
            r#"{"type":"nope","text":"x"}"#,         // unknown variant
            r#"{"text":"x","client_id":"c"}"#,       // no tag
            r#"{"type":"text_done","target":1.5,"text":"x"}"#, // not an integer
            r#"{"type":"text_done","target":-1,"text":"x"}"#, // negative u64
            r#"{"type":"user_message","text":"\ud800","client_id":"c"}"#, // lone surrogate
            "{\"type\":\"user_message\",\"text\":\"a\nb\",\"client_id\":\"c\"}", // raw control
            r#"{"type":"user_message","text":"x","client_id":"c"} x"#, // trailing
        ] {
            assert!(from_str::<EventBody>(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<EventBody>(bad).is_err(), "{bad}");
        }
        let bad_key = r#"{"key":"../x","title":"t","updated_ms":1}"#;
        assert!(from_str::<SessionSummary>(bad_key).is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        let json = format!(r#"{{"type":"pong","nonce":1,"x":{deep}}}"#);
        assert!(from_str::<ServerFrame>(&json).is_err());
    }

    #[test]
    fn writes_client_frames_as_serde_json_does() {
        use crate::wire::ApprovalDecision;
        let frames = [
            ClientFrame::Subscribe {
                session: key("s1"),
                after: Seq(u64::MAX),
                recent: None,
            },
            ClientFrame::Send {
                session: key("s1"),
                client_id: "c".into(),
                text: "a\"b\\c\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é 😀 </script>".into(),
                source: Default::default(),
                steer: false,
                images: Vec::new(),
            },
            ClientFrame::Send {
                session: key("s1"),
                client_id: "s".into(),
                text: "steered".into(),
                source: Default::default(),
                steer: true,
                images: vec!["ab\"c".into(), "0f".into()],
            },
            ClientFrame::SetModel {
                session: key("s1"),
                model: Some("gpt \"x\"".into()),
                effort: None,
            },
            ClientFrame::SetModel {
                session: key("s1"),
                model: None,
                effort: Some("high".into()),
            },
            ClientFrame::Stop { session: key("s1") },
            ClientFrame::Answer {
                session: key("s1"),
                approval: Seq(7),
                decision: ApprovalDecision::AcceptForSession,
                answer: None,
            },
            ClientFrame::Answer {
                session: key("s1"),
                approval: Seq(8),
                decision: ApprovalDecision::Accept,
                answer: Some("blue \"sky\"".into()),
            },
            ClientFrame::SetMode {
                session: key("s1"),
                mode: Mode::ReadOnly,
            },
            ClientFrame::Send {
                session: key("s1"),
                client_id: "t".into(),
                text: "from a terminal".into(),
                source: Source::Tui,
                steer: true,
                images: vec!["ab".into(), "cd".into()],
            },
            ClientFrame::Ping { nonce: 0 },
        ];
        for frame in &frames {
            assert_eq!(to_string(frame), serde_json::to_string(frame).unwrap());
        }
        assert_eq!(
            to_string(&frames[..]),
            serde_json::to_string(&frames[..]).unwrap()
        );
        assert_eq!(to_string::<[ClientFrame]>(&[]), "[]");
    }
}
