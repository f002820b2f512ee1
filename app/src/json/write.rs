//! Writing JSON as serde_json does: [`ObjectWriter`], [`write_str`] (serde_json's string
//! escapes) and the [`ToJson`] impls of what the browser sends (client frames). Byte-for-byte what
//! serde_json writes for the same values (the tests in `json` compare both); nothing here reads.

use super::ToJson;
use crate::wire::ClientFrame;

/// Writes one object, its keys in the order given (serde writes declaration order).
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_str(self.out, value);
        self
    }

    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        // `Display` of an integer is the same digits serde_json writes.
        self.out.push_str(&value.to_string());
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn strs(&mut self, key: &str, values: &[String]) -> &mut Self {
        self.key(key);
        self.out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_str(self.out, v);
        }
        self.out.push(']');
        self
    }

    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// A JSON string with serde_json's escapes: `"`, `\` and control characters only, the common
/// ones by letter and the rest as `\u00XX` in lower case.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

impl<T: ToJson> ToJson for [T] {
    fn write(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write(out);
        }
        out.push(']');
    }
}

impl ToJson for ClientFrame {
    fn write(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            // `recent` is the terminal client's; the browser never sets it.
            ClientFrame::Subscribe { session, after, .. } => o
                .str("type", "subscribe")
                .str("session", session.as_str())
                .u64("after", after.0),
            ClientFrame::Send {
                session,
                client_id,
                text,
                source,
                steer,
                images,
            } => {
                o.str("type", "send")
                    .str("session", session.as_str())
                    .str("client_id", client_id)
                    .str("text", text);
                if !source.is_webchat() {
                    o.str("source", source.as_str());
                }
                if *steer {
                    o.bool("steer", true);
                }
                if !images.is_empty() {
                    o.strs("images", images);
                }
                &mut o
            }
            ClientFrame::Stop { session } => o.str("type", "stop").str("session", session.as_str()),
            ClientFrame::Answer {
                session,
                approval,
                decision,
                answer,
            } => {
                o.str("type", "answer")
                    .str("session", session.as_str())
                    .u64("approval", approval.0)
                    .str("decision", decision.as_str());
                if let Some(answer) = answer {
                    o.str("answer", answer);
                }
                &mut o
            }
            ClientFrame::SetMode { session, mode } => o
                .str("type", "set_mode")
                .str("session", session.as_str())
                .str("mode", mode.as_str()),
            ClientFrame::SetModel {
                session,
                model,
                effort,
            } => {
                o.str("type", "set_model").str("session", session.as_str());
                if let Some(model) = model {
                    o.str("model", model);
                }
                if let Some(effort) = effort {
                    o.str("effort", effort);
                }
                &mut o
            }
            ClientFrame::Ping { nonce } => o.str("type", "ping").u64("nonce", *nonce),
        }
        .end();
    }
}
