//! Markdown to sanitised HTML for assistant replies.
//!
//! This module owns one function, [`render`]: CommonMark plus tables, strikethrough and task lists
//! in, an HTML fragment that is safe to put into the page out. Model output is untrusted (a prompt
//! injection can make the model send anything), so safety does not rest on one layer:
//!
//! 1. Raw HTML in the source, block or inline, is turned into plain text *before* rendering, so it
//!    shows up as the visible characters the model wrote and never as markup.
//! 2. Pulldown-cmark's output is then run through an ammonia allowlist: only the structural tags
//!    Markdown itself produces, links restricted to `http`, `https`, `mailto` and relative URLs and
//!    always marked `rel="nofollow noopener noreferrer"`, code classes restricted to
//!    `language-…` names. Images are left out entirely (an image would make the reader's browser
//!    fetch a URL the model chose); an image's alt text is kept as text.
//!
//! Because ammonia parses with html5ever and serialises the resulting tree, the output is already
//! in the shape a browser's parser builds from it (implied `tbody`, closed elements), which keeps
//! server-rendered HTML and hydration in agreement.
//!
//! It must not do anything else: no I/O, no state, no knowledge of transcripts or sessions, and no
//! configuration that could widen the allowlist at run time.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// Renders untrusted Markdown to an HTML fragment that is safe to insert into the page as is.
pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);

    let mut depth = DepthLimit::default();
    let events = Parser::new_ext(markdown, options)
        .filter_map(neutralise)
        .filter(|event| depth.keep(event));
    let events = highlighted(TextRuns::new(events));
    // Rendered HTML is a little longer than its source; reserving avoids most regrowth.
    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events);

    with_copy_buttons(&SANITIZER.clean(&html).to_string())
}

/// The copy button a reply's HTML starts with (see [`reply_html`]).
pub const COPY_MESSAGE: &str =
    r#"<button type="button" class="copy" data-copy="message" aria-label="Copy message"></button>"#;

/// A reply as the page shows it: its sanitised HTML after a button that copies its text. The
/// button is fixed markup and has no text of its own (the stylesheet labels it), so the reply's
/// text is what is copied.
pub fn reply_html(markdown: &str) -> String {
    let mut html = String::from(COPY_MESSAGE);
    html.push_str(&render(markdown));
    html
}

/// What the page's copy button before each code block looks like (its click is handled once for
/// the whole transcript, `app::ui::attention`).
pub const COPY_CODE: &str = r#"<div class="code"><button type="button" class="copy" data-copy="code" aria-label="Copy code"></button><pre>"#;

/// Puts each code block in a box with a copy button. Runs on the sanitiser's output, where
/// `<pre>` can only be a real code block: an author's `<pre>` is text (`&lt;pre&gt;`) by then,
/// and the sanitiser allows no attributes on it.
fn with_copy_buttons(html: &str) -> String {
    if !html.contains("<pre>") {
        return html.to_owned();
    }
    html.replace("<pre>", COPY_CODE)
        .replace("</pre>", "</pre></div>")
}

/// Rewrites the parser's events so that nothing the author wrote can become markup of its own.
///
/// - Raw HTML becomes text (which `push_html` escapes). A raw HTML *block* becomes a paragraph of
///   that text so it still reads as its own block rather than running into its neighbours.
/// - Images lose their start and end tags; the events between them are the alt text, which stays.
fn neutralise(event: Event<'_>) -> Option<Event<'_>> {
    match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    }
}

/// Replaces the text of each fenced code block whose language the highlighter knows with its
/// highlighted markup (which the sanitiser then narrows to `hl-` spans). Runs after
/// [`neutralise`], so this is the only raw HTML that reaches the renderer.
fn highlighted<'a>(events: impl Iterator<Item = Event<'a>>) -> impl Iterator<Item = Event<'a>> {
    let mut language: Option<String> = None;
    let mut code = String::new();
    events.flat_map(move |event| -> Vec<Event<'a>> {
        match event {
            Event::Start(Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Fenced(ref info))) => {
                let word = info.split_whitespace().next().unwrap_or("");
                language = Some(word.to_ascii_lowercase());
                code.clear();
                vec![event]
            }
            Event::Text(text) if language.is_some() => {
                code.push_str(&text);
                Vec::new()
            }
            Event::End(TagEnd::CodeBlock) if language.is_some() => {
                let lang = language.take().unwrap_or_default();
                let body = std::mem::take(&mut code);
                let inner = match crate::highlight::highlight(&body, &lang) {
                    Some(html) => Event::Html(CowStr::from(html)),
                    None => Event::Text(CowStr::from(body)),
                };
                vec![inner, event]
            }
            other => vec![other],
        }
    })
}

/// How deeply elements may nest in the output. Markdown written by people or models stays far
/// below this; 10,000 `>` in a row do not, and html5ever (inside ammonia) does work proportional to
/// the depth for every element it inserts, so unbounded nesting makes sanitising quadratic (a
/// megabyte of `>` would take hours).
const MAX_DEPTH: usize = 32;

/// Flattens nesting beyond [`MAX_DEPTH`]: a tag that would open deeper is dropped together with its
/// matching end, and its content is kept in the enclosing element. Pulldown-cmark's events are
/// balanced, so one stack of "was this start kept" answers every end.
#[derive(Default)]
struct DepthLimit {
    kept: Vec<bool>,
    open: usize,
}

impl DepthLimit {
    fn keep(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::Start(_) => {
                let keep = self.open < MAX_DEPTH;
                self.kept.push(keep);
                self.open += usize::from(keep);
                keep
            }
            Event::End(_) => {
                // An end without a start cannot come from the parser; keeping it is harmless
                // (html5ever ignores a stray end tag) and avoids inventing structure.
                let keep = self.kept.pop().unwrap_or(true);
                self.open -= usize::from(keep && self.open > 0);
                keep
            }
            _ => true,
        }
    }
}

/// The longest run of text between two pieces of markup that reaches the sanitiser.
///
/// html5ever's serialiser (inside ammonia) rescans the rest of a text node for every `&` or
/// U+0080..U+00BF character it escapes, so one long text node full of them costs time quadratic in
/// its length (a megabyte of `&amp;` took over a minute). Cutting text into runs of at most this
/// many bytes bounds that rescan; the cuts are empty comments, which ammonia strips, so the output
/// is byte for byte what it would have been.
const TEXT_RUN: usize = 256;

/// The cut between two text runs: an empty comment. It is markup we write, never the author's.
const RUN_BREAK: &str = "<!---->";

/// Splits text events (and inline code, rewritten as `<code>` around text) into runs of at most
/// [`TEXT_RUN`] bytes separated by [`RUN_BREAK`]. Tag starts and ends already separate text
/// nodes, so they reset the count.
struct TextRuns<'a, I> {
    inner: I,
    queue: VecDeque<Event<'a>>,
    run: usize,
}

impl<'a, I: Iterator<Item = Event<'a>>> TextRuns<'a, I> {
    fn new(inner: I) -> Self {
        TextRuns {
            inner,
            queue: VecDeque::new(),
            run: 0,
        }
    }

    /// Queues `text` as one or more text events, with breaks wherever the run would overflow.
    fn push_text(&mut self, text: CowStr<'a>) {
        let len = text.len();
        if self.run + len <= TEXT_RUN {
            self.run += len;
            self.queue.push_back(Event::Text(text));
            return;
        }
        let mut start = 0;
        while start < len {
            let room = TEXT_RUN.saturating_sub(self.run);
            let mut end = (start + room).min(len);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            if end == start {
                // The run is full (or too full for the next character): cut here. After a cut
                // the room is TEXT_RUN, more than any character's four bytes, so this loop
                // always makes progress.
                self.queue
                    .push_back(Event::Html(CowStr::Borrowed(RUN_BREAK)));
                self.run = 0;
                continue;
            }
            let piece = match &text {
                CowStr::Borrowed(s) => CowStr::Borrowed(&s[start..end]),
                other => CowStr::from(other[start..end].to_owned()),
            };
            self.queue.push_back(Event::Text(piece));
            self.run += end - start;
            start = end;
        }
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for TextRuns<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(queued) = self.queue.pop_front() {
            return Some(queued);
        }
        match self.inner.next()? {
            Event::Text(text) => {
                self.push_text(text);
                self.queue.pop_front()
            }
            Event::Code(text) => {
                // `push_html` writes inline code as one unbroken string; spelling it out as
                // markup around ordinary (escaped) text lets the same cutting apply inside it.
                self.run = 0;
                self.queue
                    .push_back(Event::Html(CowStr::Borrowed("<code>")));
                self.push_text(text);
                self.queue
                    .push_back(Event::Html(CowStr::Borrowed("</code>")));
                self.run = 0;
                self.queue.pop_front()
            }
            event @ (Event::Start(_) | Event::End(_)) => {
                self.run = 0;
                Some(event)
            }
            other => Some(other),
        }
    }
}

/// What every rendered link carries: no referrer, no opener handle, no search-engine credit for
/// whatever a model decided to link to.
const LINK_REL: &str = "nofollow noopener noreferrer";

/// The allowlist, built once: ammonia's builder is a handful of hash sets, and rebuilding it for
/// every message would be wasted work on the hot path of rendering a long history.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&'static str> = [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "blockquote",
        "ul",
        "ol",
        "li",
        // Task-list checkboxes; forced to `disabled` below so they are display only.
        "input",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
        "code",
        // Highlighted code's spans; their classes are narrowed by `filter_attribute`.
        "span",
        "a",
        "em",
        "strong",
        "del",
    ]
    .into_iter()
    .collect();

    let tag_attributes: HashMap<&'static str, HashSet<&'static str>> = [
        ("a", ["href"].into_iter().collect()),
        // `start` keeps an ordered list that begins at 3 numbered from 3.
        ("ol", ["start"].into_iter().collect()),
        ("input", ["checked"].into_iter().collect()),
        // The values of these are narrowed further by `filter_attribute`.
        ("code", ["class"].into_iter().collect()),
        ("span", ["class"].into_iter().collect()),
        ("th", ["style"].into_iter().collect()),
        ("td", ["style"].into_iter().collect()),
    ]
    .into_iter()
    .collect();

    let tag_attribute_values: HashMap<&'static str, HashMap<&'static str, HashSet<&'static str>>> =
        [(
            "input",
            [("type", ["checkbox"].into_iter().collect())]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect();

    let forced_values: HashMap<&'static str, HashMap<&'static str, &'static str>> =
        [("input", [("disabled", "")].into_iter().collect())]
            .into_iter()
            .collect();

    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(tag_attributes)
        .tag_attribute_values(tag_attribute_values)
        .set_tag_attribute_values(forced_values)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some(LINK_REL))
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    builder
});

/// Narrows attribute values that the tag allowlist alone cannot: a code block's language class and
/// a table cell's alignment. Every other attribute that reached this point is already allowed.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    match (element, attribute) {
        ("code", "class") => {
            // Fence info strings are free text; `Rust` is a fair way to name Rust, so normalise
            // case before checking rather than dropping the highlight hint.
            let lowered = value.to_ascii_lowercase();
            is_language_class(&lowered).then_some(Cow::Owned(lowered))
        }
        ("span", "class") => {
            crate::highlight::is_highlight_class(value).then_some(Cow::Borrowed(value))
        }
        ("th" | "td", "style") => matches!(
            value,
            "text-align: left" | "text-align: center" | "text-align: right"
        )
        .then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// `language-[a-z0-9_+-]+`: enough for `c++`, `objective-c`, `shell_session`; nothing that could
/// smuggle a second class or break out of the attribute.
fn is_language_class(class: &str) -> bool {
    class.strip_prefix("language-").is_some_and(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighted_code_keeps_only_its_classes_and_its_text_stays_text() {
        let html =
            render("```python\n# <script>alert(1)</script>\nx = '<img src=x onerror=y>'\n```\n");
        assert!(
            html.contains(r#"<span class="hl-comment"># &lt;script&gt;alert(1)&lt;/script&gt;"#),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        // A language the highlighter does not know is plain, as before.
        let plain = render("```nosuchlang\n<b>x</b>\n```\n");
        assert!(
            plain.contains("<code class=\"language-nosuchlang\">&lt;b&gt;x&lt;/b&gt;"),
            "{plain}"
        );
        // Spans the author wrote are text, and a span with another class would not survive.
        assert!(render("<span class=\"hl-keyword\">x</span>").contains("&lt;span"));
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_an_authors_pre_does_not() {
        let html = render("```\nls -la\n```\n\n<pre>not code</pre> and `inline`");
        assert_eq!(html.matches(COPY_CODE).count(), 1, "{html}");
        assert!(html.contains("</pre></div>"), "{html}");
        assert!(html.contains("&lt;pre&gt;not code&lt;/pre&gt;"), "{html}");
    }

    /// The markup of `html`: everything from each `<` to its `>`. Text is escaped in the output,
    /// so a `<` that starts a tag is never part of text.
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .map(|rest| rest.split_once('>').map_or(rest, |(tag, _)| tag))
            .collect()
    }

    #[test]
    fn heading_list_table_and_code_render_as_markup() {
        let html = render(
            "# Title\n\n- one\n- two\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<ul>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<thead>"), "{html}");
        assert!(html.contains("<tbody>"), "{html}");
        assert!(
            html.contains(r#"<th style="text-align: left">a</th>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<td style="text-align: right">2</td>"#),
            "{html}"
        );
        // Highlighted on the server: flat classed spans, the rest plain text.
        assert!(
            html.contains(
                r#"<pre><code class="language-rust"><span class="hl-keyword">fn</span> <span class="hl-name">main</span>() {}"#
            ),
            "{html}"
        );
    }

    #[test]
    fn emphasis_strikethrough_quotes_rules_and_breaks_survive() {
        let html = render("*a* **b** ~~c~~ `d`\n\n> quoted\n\n---\n\nline  \nnext\n\n3. three\n");
        for needle in [
            "<em>a</em>",
            "<strong>b</strong>",
            "<del>c</del>",
            "<code>d</code>",
            "<blockquote>",
            "<hr>",
            "<br>",
            r#"<ol start="3">"#,
        ] {
            assert!(html.contains(needle), "{needle} missing from {html}");
        }
    }

    #[test]
    fn task_list_checkboxes_are_inert() {
        let html = render("- [x] done\n- [ ] open\n");
        assert_eq!(html.matches("<input").count(), 2, "{html}");
        assert_eq!(html.matches("disabled").count(), 2, "{html}");
        assert_eq!(html.matches("checked").count(), 1, "{html}");
        assert!(html.contains(r#"type="checkbox""#), "{html}");
    }

    #[test]
    fn raw_script_is_visible_escaped_text_and_never_a_tag() {
        for source in [
            "<script>alert(1)</script>\n",
            "before <script>alert(1)</script> after\n",
        ] {
            let html = render(source);
            assert!(!html.contains("<script"), "{html}");
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{html}"
            );
        }
    }

    #[test]
    fn raw_img_with_handler_is_neither_a_tag_nor_an_attribute() {
        for source in [
            "<img src=x onerror=alert(1)>\n",
            "text <img src=x onerror=alert(1)> text\n",
        ] {
            let html = render(source);
            assert!(!html.contains("<img"), "{html}");
            assert!(tags(&html).iter().all(|t| !t.contains("onerror")), "{html}");
            // The characters are still there for the reader, as text.
            assert!(
                html.contains("&lt;img src=x onerror=alert(1)&gt;"),
                "{html}"
            );
        }
    }

    #[test]
    fn markdown_images_are_dropped_but_alt_text_stays() {
        let html = render("![a cat](https://example.com/cat.png)\n");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("cat.png"), "{html}");
        assert!(html.contains("a cat"), "{html}");
    }

    #[test]
    fn javascript_links_lose_their_href() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](  javascript:alert(1))",
            "<javascript:alert(1)>",
            "[x](java\tscript:alert(1))",
        ] {
            let html = render(source);
            // The link text may still read "javascript:…"; no markup may carry it.
            assert!(
                tags(&html)
                    .iter()
                    .all(|t| !t.to_ascii_lowercase().contains("script:")),
                "{source}: {html}"
            );
            assert!(!html.contains("href"), "{source}: {html}");
        }
    }

    #[test]
    fn data_and_other_schemes_are_dropped() {
        for source in [
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](vbscript:msgbox)",
            "[x](file:///etc/passwd)",
        ] {
            let html = render(source);
            assert!(!html.contains("href"), "{source}: {html}");
        }
    }

    #[test]
    fn allowed_links_keep_href_and_get_rel_without_target() {
        let html = render("[x](https://example.com)");
        assert_eq!(
            html,
            "<p><a href=\"https://example.com\" rel=\"nofollow noopener noreferrer\">x</a></p>\n"
        );
        for (source, href) in [
            ("[x](http://example.com/a?b=1)", "http://example.com/a?b=1"),
            (
                "[x](mailto:someone@example.com)",
                "mailto:someone@example.com",
            ),
            ("[x](/sessions/abc)", "/sessions/abc"),
            ("[x](#part)", "#part"),
        ] {
            let html = render(source);
            assert!(html.contains(&format!("href=\"{href}\"")), "{html}");
            assert!(html.contains(LINK_REL), "{html}");
            assert!(!html.contains("target"), "{html}");
        }
    }

    #[test]
    fn code_classes_are_restricted_to_language_names() {
        let html = render("```Rust\nx\n```\n");
        assert!(html.contains(r#"<code class="language-rust">"#), "{html}");
        let html = render("```c++\nx\n```\n");
        assert!(html.contains(r#"<code class="language-c++">"#), "{html}");
        let html = render("```\"onmouseover=alert(1)\nx\n```\n");
        assert!(html.contains("<pre><code>x"), "{html}");
        assert!(!html.contains("language-"), "{html}");
        assert!(!html.contains("onmouseover"), "{html}");
    }

    #[test]
    fn table_alignment_is_the_only_style_kept() {
        let html = render("| a |\n|:-:|\n| 1 |\n");
        assert!(html.contains(r#"style="text-align: center""#), "{html}");
        assert_eq!(html.matches("style=").count(), 2, "{html}");
        assert!(!is_language_class("language-"));
        assert!(!is_language_class("language-a b"));
        assert_eq!(filter_attribute("td", "style", "color: red"), None);
    }

    #[test]
    fn long_text_is_cut_for_the_sanitiser_without_changing_the_output() {
        let amps = "&".repeat(3000);
        let html = render(&amps);
        assert_eq!(html, format!("<p>{}</p>\n", "&amp;".repeat(3000)));
        let mixed = "a€&°".repeat(500);
        let html = render(&format!("`{mixed}`\n\n```\n{mixed}\n```\n"));
        let escaped = "a€&amp;°".repeat(500);
        assert_eq!(
            html,
            format!(
                "<p><code>{escaped}</code></p>\n{COPY_CODE}<code>{escaped}\n</code></pre></div>\n"
            )
        );
        assert!(!html.contains("<!--"));
    }

    #[test]
    fn a_megabyte_of_input_renders_without_panicking() {
        let mut plain = String::with_capacity(1 << 20);
        while plain.len() < 1 << 20 {
            plain.push_str("Some *text* with a [link](https://example.com) and `code`.\n\n");
        }
        assert!(render(&plain).contains("<em>text</em>"));

        // Pathological shapes: deep nesting and unclosed delimiters.
        let nested_quotes = ">".repeat(1 << 20);
        render(&nested_quotes);
        let nested_lists = "- ".repeat(1 << 19);
        render(&nested_lists);
        let brackets = "[".repeat(1 << 20);
        render(&brackets);
        let raw_tags = "<div>".repeat(1 << 18);
        let html = render(&raw_tags);
        assert!(!html.contains("<div"));
    }
}
