//! Untrusted text in server-rendered pages stays text: the session title (written into `<head>`
//! by `leptos_meta`, which does not escape it) and every entry's text, checked with a real HTML5
//! parser. See `support/ssr_page.rs` for what "stays text" means, and `docs/SECURITY.md`.

#[path = "support/ssr_page.rs"]
mod ssr_page;

use proptest::prelude::*;
use scraper::{Html, Selector};

const HOSTILE_TITLE: &str = r#"</title><meta http-equiv=refresh content="0;url=/pwned">"#;

/// The bug: a session whose first message was this navigated every later visitor to `/pwned`.
#[test]
fn a_hostile_first_message_cannot_close_the_page_title() {
    let html = ssr_page::render_blocking(ssr_page::page_with(HOSTILE_TITLE, HOSTILE_TITLE));
    let doc = Html::parse_document(&html);
    let titles: Vec<String> = doc
        .select(&Selector::parse("title").unwrap())
        .map(|t| t.text().collect())
        .collect();
    // The page holds an approval still waiting, so the title counts it first.
    assert_eq!(
        titles,
        [format!(
            "(1) Approval needed · {HOSTILE_TITLE} · Codex WebChat"
        )],
        "{html}"
    );
    let refresh = Selector::parse("meta[http-equiv]").unwrap();
    assert_eq!(doc.select(&refresh).count(), 0, "{html}");
    assert!(ssr_page::stray_text(&doc).is_empty(), "{html}");
    ssr_page::check_text_blocking(HOSTILE_TITLE, HOSTILE_TITLE).unwrap();
}

/// The page the checks render has both halves: a history the server renders once as HTML, and a
/// live part the browser hydrates, so each escaping path is checked.
#[test]
fn the_checked_page_has_a_history_and_a_live_part() {
    let mut page = ssr_page::page_with("t", "x");
    let history = app::history::split(&mut page);
    assert_eq!((history.len(), page.events.len()), (12, 2));
}

/// Strings that have broken HTML renderers before, one per line of attack.
const NASTY: &[&str] = &[
    "</title><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<!--",
    "<!-- --> <![CDATA[ ]]> <?xml?>",
    "</textarea></pre></code></style></noscript>",
    "\"' onmouseover=alert(1) x=\"",
    "&amp; &lt; &#0; &#x80; &nbsp",
    "a\0b",
    "line\r\nbreak\rcr",
    "\u{202e}evil\u{2066}isolate\u{2069}",
    "\u{1b}[31mred\u{1b}]8;;http://x\u{7}link",
    "\u{85}\u{9b}\u{fffd}\u{feff}",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">",
    "\\u003c/script\\u003e",
    "\u{2028}\u{2029}",
    "",
    "   ",
    // Found by the property test: a parser drops the line break right after `<pre>`.
    "\r",
    "\n\nindented",
];

#[test]
fn known_hostile_strings_stay_text_everywhere_on_the_page() {
    for text in NASTY {
        ssr_page::check_text_blocking(text, text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

#[test]
fn a_hundred_kilobyte_line_stays_text() {
    let line = "<b>&".repeat(25_000);
    ssr_page::check_text_blocking(&line, &line).unwrap();
}

/// Text mixing HTML metacharacters, closing tags, controls and bidi overrides with anything else.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("&".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("</title>".to_owned()),
        Just("</script>".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("\0".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{1b}[".to_owned()),
        Just("&#x3c;".to_owned()),
        "\\PC{0,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

proptest! {
    // PROPTEST_CASES raises the count for a long run (`docs/SECURITY.md`); failures print their
    // minimal input, which goes into `NASTY` above once understood.
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ssr_pages_keep_arbitrary_text_as_text(title in hostile_text(), text in hostile_text()) {
        let result = ssr_page::check_text_blocking(&title, &text);
        prop_assert!(result.is_ok(), "{:?}", result);
    }
}

/// Codex's retry message is untrusted: the working indicator of a page rendered while a run
/// retries shows it as text, exactly once, and the page has the same elements as with a
/// harmless message of the same length.
#[test]
fn a_hostile_retry_message_stays_text_in_the_working_indicator() {
    use app::wire::{Event, EventBody};
    let render = |message: &str| {
        let mut page = ssr_page::page_with("t", "t");
        // The page's second run is still going; Codex retries.
        let seq = page.last_seq.next();
        page.events.push(Event {
            seq,
            at_ms: 0,
            run: Some("r2".into()),
            private: true,
            body: EventBody::Retrying {
                message: message.to_owned(),
                attempt: 3,
            },
        });
        page.last_seq = seq;
        Html::parse_document(&ssr_page::render_blocking(page))
    };
    let all = Selector::parse("*").unwrap();
    let retrying = Selector::parse(r#"[data-testid="working"] [data-testid="retrying"]"#).unwrap();
    for text in NASTY
        .iter()
        .chain(&["<script>alert(1)</script>", "<b data-x=1>bold</b>"])
    {
        let doc = render(text);
        let shown: Vec<String> = doc.select(&retrying).map(|e| e.text().collect()).collect();
        let want =
            app::text::for_html(&format!("Codex is retrying: {text} (attempt 3)")).into_owned();
        assert_eq!(shown, [want], "{text:?}");
        let baseline = render(&ssr_page::harmless_like(text));
        assert_eq!(
            doc.select(&all).count(),
            baseline.select(&all).count(),
            "{text:?} added elements"
        );
    }
}
