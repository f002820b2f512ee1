//! Text we did not write, made safe to print on a terminal.
//!
//! This module owns the one escaping point for terminal output: [`sanitize`] for text shown as a
//! block (messages, model output, tool and shell output) and [`sanitize_line`] for text that must
//! stay on one line (session titles, file names in lists). Everything the terminal client prints
//! that did not come from the client itself goes through one of them, so a chat message or a
//! tool's output can never move the cursor, recolour the screen, retitle the window, write the
//! clipboard (OSC 52), plant a hyperlink (OSC 8), overwrite a line or reorder text on screen.
//!
//! What "neutralise" means here, and why:
//!
//! - **A complete escape sequence is removed whole**: CSI (`ESC [` or U+009B, parameters, one
//!   final byte), OSC (`ESC ]` or U+009D), DCS (`ESC P` or U+0090), SOS, PM and APC (`ESC X`,
//!   `ESC ^`, `ESC _` or U+0098, U+009E, U+009F) up to their terminator (BEL, `ESC \` or U+009C),
//!   and the short `ESC` sequences (`ESC`, any intermediates 0x20–0x2F, one final 0x30–0x7E, as in
//!   `ESC c` or `ESC ( 0`). Shell and tool output is full of harmless colour codes; shown as
//!   `␛[0;31m` they would bury the text, and removing them takes nothing away that a reader could
//!   read. A removed sequence cannot act, and nothing of it is left to misread.
//! - **Everything else that is a control is shown, never passed through and never silently
//!   dropped**: a C0 control becomes its Unicode control picture (ESC `␛` U+241B, BEL `␇`, NUL
//!   `␀`, …; DEL `␡`), and a C1 control or a bidi override/isolate (U+202A–U+202E,
//!   U+2066–U+2069) becomes U+FFFD `�` (neither has a picture). This covers an escape sequence
//!   that is not complete: input that ends inside it, or a string sequence whose payload meets a
//!   line break or another control before its terminator. Only its introducer is shown (`␛` or
//!   `�`) and the rest is treated as ordinary text, so an unterminated OSC or DCS never swallows
//!   the text after it, and whatever is in it is sanitised like everything else. A sequence is
//!   removed only when all of it is in view.
//! - **A carriage return is a line break**: `"\r\n"` is `"\n"`, and a lone `'\r'` (which a
//!   terminal uses to overwrite the current line, as in `safe\rrm -rf /`) becomes `'\n'`, so
//!   every state of a progress bar and both halves of an overwrite trick stay visible.
//! - **Tabs are kept** by [`sanitize`]: a tab is harmless, and only the renderer knows the column
//!   it starts at, so expanding it is the renderer's job. [`sanitize_line`] turns tabs and line
//!   breaks into spaces.
//!
//! So the output never contains a C0 control other than `'\n'` and `'\t'` (none at all from
//! [`sanitize_line`]), DEL, a C1 control or a bidi control. It also means the output of either
//! function passes through it again unchanged, and that pieces sanitised separately (streamed
//! output deltas) cannot join into a sequence: no ESC survives to start one.
//!
//! It must not do anything else: it is for terminals only (HTML and log lines have their own
//! escaping points, see [`crate::escape`]), it does not parse colours into styles, and it never
//! panics, whatever the input.

use std::borrow::Cow;

/// Untrusted text made safe to print on a terminal, keeping its line breaks and tabs.
///
/// Borrowed when nothing needed changing (the common case: ordinary text).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    run(text, Mode::Block)
}

/// Untrusted text made safe to print on a terminal as one line: as [`sanitize`], and line breaks
/// (`"\n"`, `"\r\n"`, a lone `'\r'`) and tabs each become one space.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    run(text, Mode::Line)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Block,
    Line,
}

/// Shown in place of a C1 control or a bidi control, which have no control picture.
const REPLACEMENT: char = '\u{FFFD}';

fn run(text: &str, mode: Mode) -> Cow<'_, str> {
    // In a block, '\n' and '\t' pass through as they are; on a line they become spaces.
    let needs_work = |c: char| {
        (is_control(c) && !(mode == Mode::Block && (c == '\n' || c == '\t'))) || is_bidi(c)
    };
    let Some(first) = text.find(needs_work) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(c) = rest.chars().next() {
        if let Some(len) = sequence_len(rest) {
            rest = &rest[len..];
        } else {
            let after = &rest[c.len_utf8()..];
            match c {
                // The '\n' that follows makes the one line break.
                '\r' if after.starts_with('\n') => {}
                '\r' | '\n' => out.push(if mode == Mode::Line { ' ' } else { '\n' }),
                '\t' => out.push(if mode == Mode::Line { ' ' } else { '\t' }),
                c => out.push(picture(c)),
            }
            rest = after;
        }
        // Copy the ordinary text up to the next character that needs a look, in one go.
        let next = rest.find(needs_work).unwrap_or(rest.len());
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    Cow::Owned(out)
}

/// A C0 control (including '\n' and '\t', which callers let through themselves), DEL or a C1
/// control.
fn is_control(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The explicit embeddings, overrides and isolates that reorder text on screen ("Trojan source").
fn is_bidi(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// What a lone control is shown as: a C0 control's control picture, DEL's, or U+FFFD.
fn picture(c: char) -> char {
    match c {
        '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(REPLACEMENT),
        '\u{7f}' => '\u{2421}',
        c if is_control(c) || is_bidi(c) => REPLACEMENT,
        c => c,
    }
}

/// The length in bytes of the complete escape sequence `s` starts with, if it starts with one.
fn sequence_len(s: &str) -> Option<usize> {
    let mut chars = s.chars();
    let c = chars.next()?;
    let intro = c.len_utf8();
    match c {
        '\u{1b}' => {
            let kind = chars.next()?;
            let body = intro + kind.len_utf8();
            match kind {
                '[' => csi_len(&s[body..]).map(|n| body + n),
                ']' | 'P' | 'X' | '^' | '_' => string_len(&s[body..]).map(|n| body + n),
                _ => short_escape_len(&s[intro..]).map(|n| intro + n),
            }
        }
        '\u{9b}' => csi_len(&s[intro..]).map(|n| intro + n),
        '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
            string_len(&s[intro..]).map(|n| intro + n)
        }
        _ => None,
    }
}

/// A CSI's parameters and intermediates (0x20–0x3F) and its final byte (0x40–0x7E); anything
/// else before the final byte, or the end of the input, means it is not complete.
fn csi_len(body: &str) -> Option<usize> {
    for (i, c) in body.char_indices() {
        match c {
            ' '..='?' => {}
            '@'..='~' => return Some(i + 1),
            _ => return None,
        }
    }
    None
}

/// A short escape sequence after its ESC: intermediates (0x20–0x2F), then one final byte
/// (0x30–0x7E).
fn short_escape_len(body: &str) -> Option<usize> {
    for (i, c) in body.char_indices() {
        match c {
            ' '..='/' => {}
            '0'..='~' => return Some(i + 1),
            _ => return None,
        }
    }
    None
}

/// A control string's payload and terminator: BEL, `ESC \` or ST (U+009C). BEL is accepted after
/// every kind, not only OSC, because terminals differ and removing more is the safe side. Real
/// payloads (titles, URLs, base64) are one line of printable text, so a line break or any other
/// control before the terminator means it is not complete, which keeps a stray introducer from
/// swallowing the lines after it.
fn string_len(body: &str) -> Option<usize> {
    for (i, c) in body.char_indices() {
        match c {
            '\u{7}' | '\u{9c}' => return Some(i + c.len_utf8()),
            '\u{1b}' => return body[i + 1..].starts_with('\\').then_some(i + 2),
            c if is_control(c) => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output may hold no control but '\n' and '\t' (neither from `sanitize_line`), and no
    /// bidi control.
    fn assert_inert(input: &str, output: &str, line: bool) {
        for c in output.chars() {
            let allowed_control = !line && (c == '\n' || c == '\t');
            let forbidden = (is_control(c) && !allowed_control) || is_bidi(c);
            assert!(!forbidden, "{c:?} survived in {output:?} (from {input:?})");
        }
    }

    fn check(input: &str) {
        let block = sanitize(input);
        assert_inert(input, &block, false);
        let line = sanitize_line(input);
        assert_inert(input, &line, true);
        // Sanitised text is left alone by a second pass.
        assert!(matches!(sanitize(&block), Cow::Borrowed(_)), "{input:?}");
        assert!(
            matches!(sanitize_line(&line), Cow::Borrowed(_)),
            "{input:?}"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "héllo wörld 😀 [1;31m ]0; \\ ␛ ~\n\tindented\n";
        assert!(matches!(sanitize(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(sanitize_line("a title: ok"), Cow::Borrowed(_)));
        assert!(matches!(sanitize(""), Cow::Borrowed("")));
    }

    #[test]
    fn csi_sequences_are_removed() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m plain"), "red plain");
        assert_eq!(sanitize("a\x1b[2J\x1b[H\x1b[?1049hb"), "ab");
        assert_eq!(sanitize("x\x1b[1 qy"), "xy");
        assert_eq!(sanitize("8-bit \u{9b}31mcsi"), "8-bit csi");
    }

    #[test]
    fn incomplete_csi_shows_its_introducer_and_keeps_the_rest() {
        assert_eq!(sanitize("end\x1b[31"), "end␛[31");
        assert_eq!(sanitize("a\x1b[3\n1mb"), "a␛[3\n1mb");
        assert_eq!(sanitize("a\u{9b}"), "a\u{FFFD}");
        assert_eq!(sanitize("\x1b["), "␛[");
    }

    #[test]
    fn osc_sequences_are_removed_with_their_payload() {
        // Window title, terminated by BEL and by ST.
        assert_eq!(sanitize("\x1b]0;pwned\x07after"), "after");
        assert_eq!(sanitize("\x1b]2;pwned\x1b\\after"), "after");
        // Clipboard write.
        assert_eq!(sanitize("copy\x1b]52;c;cm0gLXJmIH4K\x07me"), "copyme");
        // Hyperlink: the text stays, the link does not.
        assert_eq!(
            sanitize("\x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\"),
            "click here"
        );
        // 8-bit OSC, terminated by 8-bit ST.
        assert_eq!(sanitize("a\u{9d}0;t\u{9c}b"), "ab");
    }

    #[test]
    fn unterminated_osc_swallows_nothing() {
        assert_eq!(sanitize("a\x1b]52;c;Zm9v"), "a␛]52;c;Zm9v");
        assert_eq!(
            sanitize("\x1b]0;title\nnext line\x07"),
            "␛]0;title\nnext line␇"
        );
        assert_eq!(sanitize("\x1b]0;x\x1b[31mred"), "␛]0;xred");
        assert_eq!(sanitize("\u{9d}8;;url"), "\u{FFFD}8;;url");
    }

    #[test]
    fn dcs_sos_pm_and_apc_strings_are_removed() {
        assert_eq!(sanitize("a\x1bP1$r0m\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1bXsos\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1b^pm\x1b\\b"), "ab");
        assert_eq!(sanitize("a\x1b_Gf=100;AAAA\x1b\\b"), "ab");
        assert_eq!(sanitize("a\u{90}q#0\u{9c}b"), "ab");
        assert_eq!(
            sanitize("a\u{98}s\u{9c}b\u{9e}p\u{9c}c\u{9f}x\u{9c}d"),
            "abcd"
        );
        assert_eq!(sanitize("a\x1bPunterminated"), "a␛Punterminated");
        assert_eq!(sanitize("a\u{9f}unterminated"), "a\u{FFFD}unterminated");
    }

    #[test]
    fn short_escape_sequences_are_removed() {
        // Full reset, save/restore cursor, a charset switch to line drawing, screen fill, ST.
        assert_eq!(sanitize("a\x1bcb\x1b7c\x1b8d"), "abcd");
        assert_eq!(sanitize("a\x1b(0b\x1b#8c\x1b\\d"), "abcd");
        // ESC followed by something that cannot end a sequence: shown.
        assert_eq!(sanitize("a\x1b\x1b"), "a␛␛");
        assert_eq!(sanitize("a\x1bé"), "a␛é");
        assert_eq!(sanitize("a\x1b\nb"), "a␛\nb");
        assert_eq!(sanitize("a\x1b( "), "a␛( ");
    }

    #[test]
    fn lone_c1_controls_are_replaced() {
        assert_eq!(sanitize("a\u{85}b\u{8d}c\u{9c}d\u{80}e"), "a�b�c�d�e");
    }

    #[test]
    fn c0_controls_and_del_become_control_pictures() {
        assert_eq!(sanitize("a\0b\x07c\x08d\x0ce\x0bf\x7fg"), "a␀b␇c␈d␌e␋f␡g");
        assert_eq!(sanitize("\x18\x1a\x1f"), "␘␚␟");
    }

    #[test]
    fn carriage_returns_become_line_breaks() {
        assert_eq!(sanitize("a\r\nb"), "a\nb");
        assert_eq!(sanitize("safe\rrm -rf /"), "safe\nrm -rf /");
        assert_eq!(sanitize("a\r\r\nb\r"), "a\n\nb\n");
        assert_eq!(sanitize("keep\ttabs\n"), "keep\ttabs\n");
    }

    #[test]
    fn a_line_stays_one_line() {
        assert_eq!(sanitize_line("a\nb\r\nc\rd\te"), "a b c d e");
        assert_eq!(sanitize_line("title\x1b]0;x\x07\x1b[2K"), "title");
        assert_eq!(sanitize_line("\x1b]0;t\nx"), "␛]0;t x");
    }

    #[test]
    fn bidi_controls_are_replaced() {
        assert_eq!(
            sanitize("access = \"user\u{202e} \u{2066}// admin\u{2069} \u{2066}\""),
            "access = \"user� �// admin� �\""
        );
        assert_eq!(
            sanitize("\u{202a}\u{202b}\u{202c}\u{202d}\u{2067}\u{2068}"),
            "������"
        );
        // Ordinary right-to-left text is left alone.
        assert!(matches!(sanitize("שלום مرحبا"), Cow::Borrowed(_)));
    }

    /// Characters that start, continue or end sequences, or that need replacing.
    const INTERESTING: &[char] = &[
        '\x1b', '[', ']', 'P', 'X', '^', '_', '\\', '(', '#', ' ', ';', '1', 'm', 'a', '\x07',
        '\r', '\n', '\t', '\0', '\x18', '\x7f', '\u{9b}', '\u{9c}', '\u{9d}', '\u{90}', '\u{85}',
        '\u{202e}', '\u{2066}', 'é', '😀', '␛',
    ];

    #[test]
    fn every_short_combination_comes_out_inert() {
        let mut s = String::new();
        for &a in INTERESTING {
            for &b in INTERESTING {
                for &c in INTERESTING {
                    s.clear();
                    s.extend([a, b, c]);
                    check(&s);
                    check(&s[..a.len_utf8() + b.len_utf8()]);
                    check(&s[..a.len_utf8()]);
                }
            }
        }
    }

    #[test]
    fn random_strings_come_out_inert() {
        // xorshift64: deterministic, so a failure reproduces.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut s = String::new();
        for _ in 0..20_000 {
            s.clear();
            let len = next() % 24;
            for _ in 0..len {
                let r = next();
                let c = match r % 4 {
                    // Mostly the characters that matter, some ASCII, some anything.
                    0 | 1 => INTERESTING[(r >> 8) as usize % INTERESTING.len()],
                    2 => char::from((r >> 8) as u8 & 0x7f),
                    _ => char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{FFFD}'),
                };
                s.push(c);
            }
            check(&s);
        }
    }
}
