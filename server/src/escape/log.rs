//! The log line writer: one event, one line, whatever text it carries.
//!
//! This module owns the escaping point for log output. Log fields and messages carry text we do not
//! control (chat messages, model and tool output, webhook responses), and tracing-subscriber's
//! formatter escapes ESC, BEL, BS, FF, DEL and C1 in them but not `'\n'` or `'\r'`, so a logged
//! chat message could forge whole log lines (`"ok\nERROR admin login"`). [`LogWriter`] is a
//! [`MakeWriter`] that sits between the formatter and stderr and escapes, as visible text:
//!
//! - every `'\n'` except the one that ends the write, as `\n`, and every `'\r'`, as `\r`;
//! - every other C0 control except `'\t'`, as `\x07`, `\x1b`, …, and DEL, as `\x7f`;
//! - C1 controls, the bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the Unicode
//!   line and paragraph separators (U+2028, U+2029, which some viewers break lines at), as
//!   `\u{9b}`, `\u{202e}`, …;
//! - bytes that are not UTF-8, as `\xff`. A character split across two writes is joined first.
//!
//! The formatter renders a whole event into one buffer and writes it with one `write_all`
//! (tracing-subscriber 0.3's `fmt_layer.rs`), so one write is one event and only its final newline
//! survives. Each write reaches the inner writer as one `write_all` too, so concurrent events
//! interleave no worse than they would without this writer. Backslashes are not escaped: a
//! message holding a literal `\n` reads the same as an escaped newline, which is acceptable for a
//! log read by people (no event can span two lines either way), and doubling every backslash in
//! paths and JSON would make logs worse to read. This matches the formatter's own `\x1b`.
//!
//! It must not do anything else: it does not format, filter or colour (colour codes would come out
//! as visible `\x1b[…m`, so the subscriber runs with ANSI off), and it is never used for HTML or
//! terminal display (see [`crate::escape`]).

use std::fmt::Write as _;
use std::io;

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] whose writers escape what could break a log line, then write to `M`'s.
///
/// `LogWriter::stderr()` is the one the server installs; [`LogWriter::new`] wraps any other
/// `MakeWriter` (a test's in-memory buffer).
#[derive(Clone, Debug)]
pub struct LogWriter<M = fn() -> io::Stderr> {
    inner: M,
}

impl LogWriter {
    /// Escaped log lines to standard error.
    pub fn stderr() -> Self {
        LogWriter { inner: io::stderr }
    }
}

impl<M> LogWriter<M> {
    /// Escaped log lines to the writers `inner` makes.
    pub fn new(inner: M) -> Self {
        LogWriter { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for LogWriter<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter::new(self.inner.make_writer())
    }

    // Passed on, so an inner writer that routes by level or target still can.
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EscapingWriter::new(self.inner.make_writer_for(meta))
    }
}

/// One event's writer: escapes each write (see the module documentation) and writes the result to
/// `W` in one `write_all`.
#[derive(Debug)]
pub struct EscapingWriter<W: io::Write> {
    inner: W,
    /// The start of a UTF-8 character the last write ended in the middle of (at most 3 bytes).
    pending: Vec<u8>,
}

impl<W: io::Write> EscapingWriter<W> {
    /// Escapes what is written to it, then writes to `inner`.
    pub fn new(inner: W) -> Self {
        EscapingWriter {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: io::Write> io::Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(buf);
        let mut out = String::with_capacity(data.len() + 16);
        self.pending = escape_into(&mut out, &data);
        self.inner.write_all(out.as_bytes())?;
        // All of `buf` is taken care of: written, or kept in `pending` to finish a character.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: io::Write> Drop for EscapingWriter<W> {
    /// A character still unfinished when the event is done never will be: its bytes are written
    /// as `\xNN`. There is nowhere to report a failure to.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let mut out = String::new();
            for b in &self.pending {
                push_byte(&mut out, *b);
            }
            let _ = self.inner.write_all(out.as_bytes());
        }
    }
}

/// Escapes `data` into `out` and returns the bytes at its end that begin a UTF-8 character but
/// do not finish it (empty unless the write split one).
fn escape_into(out: &mut String, data: &[u8]) -> Vec<u8> {
    // The newline that ends the write ends the line; ASCII, so never part of a split character.
    let (body, final_newline) = match data.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (data, false),
    };
    let mut tail = Vec::new();
    let mut chunks = body.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        escape_str(out, chunk.valid());
        let invalid = chunk.invalid();
        let unfinished = chunks.peek().is_none()
            && !final_newline
            && !invalid.is_empty()
            && matches!(std::str::from_utf8(invalid), Err(e) if e.error_len().is_none());
        if unfinished {
            tail.extend_from_slice(invalid);
        } else {
            for b in invalid {
                push_byte(out, *b);
            }
        }
    }
    if final_newline {
        out.push('\n');
    }
    tail
}

fn escape_str(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(needs_escape) {
        out.push_str(&rest[..i]);
        let Some(c) = rest[i..].chars().next() else {
            break;
        };
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c < '\u{80}' => push_byte(out, c as u8),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

fn needs_escape(c: char) -> bool {
    (c < ' ' && c != '\t')
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || c == '\u{2028}'
        || c == '\u{2029}'
}

fn push_byte(out: &mut String, b: u8) {
    let _ = write!(out, "\\x{b:02x}");
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// An in-memory log that every writer made from it appends to.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        fn text(&self) -> String {
            let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
            String::from_utf8(bytes).expect("the escaped log is UTF-8")
        }
    }

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What one writer makes of these writes, in order.
    fn written(writes: &[&[u8]]) -> String {
        let buffer = Buffer::default();
        {
            let mut writer = EscapingWriter::new(buffer.clone());
            for w in writes {
                writer.write_all(w).expect("an in-memory write");
            }
        }
        buffer.text()
    }

    #[test]
    fn a_logged_message_cannot_forge_log_lines() {
        let buffer = Buffer::default();
        let make = {
            let buffer = buffer.clone();
            LogWriter::new(move || buffer.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(make)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(text = %"hello\nERROR forged line\x1b[31m", "got {}", "a\rb");
        });
        let log = buffer.text();
        assert_eq!(log.matches('\n').count(), 1, "{log:?}");
        assert!(log.ends_with('\n'), "{log:?}");
        assert!(!log.contains('\r') && !log.contains('\x1b'), "{log:?}");
        assert!(log.contains(r"got a\rb"), "{log:?}");
        assert!(
            log.contains(r"text=hello\nERROR forged line\x1b[31m"),
            "{log:?}"
        );
    }

    #[test]
    fn only_the_final_newline_is_kept() {
        assert_eq!(written(&[b"a\nb\r\n"]), "a\\nb\\r\n");
        assert_eq!(written(&[b"a\n\n"]), "a\\n\n");
        assert_eq!(written(&[b"no newline\n", b"x\ny"]), "no newline\nx\\ny");
        assert_eq!(written(&[b"\n"]), "\n");
        assert_eq!(written(&[b"", b"ok"]), "ok");
    }

    #[test]
    fn controls_and_bidi_are_escaped_visibly() {
        assert_eq!(
            written(&[b"\x1b[31m\x07\x08\x0c\x0b\x00\x7f\tok\n"]),
            "\\x1b[31m\\x07\\x08\\x0c\\x0b\\x00\\x7f\tok\n"
        );
        assert_eq!(
            written(&["user\u{202e}nimda\u{2066}\u{9b}\u{85}\u{2028}.\n".as_bytes()]),
            "user\\u{202e}nimda\\u{2066}\\u{9b}\\u{85}\\u{2028}.\n"
        );
        assert_eq!(written(&["héllo 😀\n".as_bytes()]), "héllo 😀\n");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped() {
        assert_eq!(written(&[b"a\xffb\xc3(c\n"]), "a\\xffb\\xc3(c\n");
        // An unfinished character just before the final newline is not waited for.
        assert_eq!(written(&[b"a\xe2\x80\n"]), "a\\xe2\\x80\n");
    }

    #[test]
    fn a_character_split_between_writes_is_joined() {
        let smile = "😀".as_bytes();
        assert_eq!(
            written(&[b"a", &smile[..1], &smile[1..3], &smile[3..], b"\n"]),
            "a😀\n"
        );
        let rlo = "\u{202e}".as_bytes();
        assert_eq!(written(&[&rlo[..2], &rlo[2..]]), "\\u{202e}");
    }

    #[test]
    fn a_character_never_finished_is_written_when_the_writer_is_dropped() {
        assert_eq!(written(&[b"a\xf0\x9f"]), "a\\xf0\\x9f");
        assert_eq!(written(&[b"a\xf0", b"b"]), "a\\xf0b");
    }

    #[test]
    fn every_write_reaches_the_inner_writer_once() {
        struct Counting(usize);
        impl io::Write for Counting {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut writer = EscapingWriter::new(Counting(0));
        writer
            .write_all(b"many\nlines\r\x1b here\n")
            .expect("an in-memory write");
        assert_eq!(writer.inner.0, 1);
    }

    #[test]
    fn arbitrary_bytes_never_make_a_second_line() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..5_000 {
            let mut data = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..state % 32 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                data.push((state >> 24) as u8);
            }
            data.push(b'\n');
            let out = written(&[&data]);
            assert_eq!(out.matches('\n').count(), 1, "{data:?} -> {out:?}");
            assert!(out.ends_with('\n'));
            assert!(
                !out.chars().any(|c| needs_escape(c) && c != '\n'),
                "{out:?}"
            );
        }
    }
}
