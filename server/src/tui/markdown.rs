//! Markdown as styled terminal lines: headings, emphasis, inline code, code blocks, block quotes,
//! lists (nested, numbered, task lists), tables with aligned columns, links with their address,
//! and rules.
//!
//! It owns only the reading of Markdown for the terminal (the WebChat's HTML comes from
//! `crate::markdown`). Every piece of text it puts in a line has been through
//! [`crate::escape::terminal`] after parsing (a character reference such as `&#27;` decodes to a
//! control), so nothing in a reply can act on the terminal. It must not wrap lines to a width
//! (the paragraph widget does) and never panics, whatever the input.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::escape::terminal::{sanitize, sanitize_line};

/// Columns a tab advances to (a multiple of).
const TAB: usize = 4;

/// Renders `text` (untrusted Markdown) as lines.
pub fn render(text: &str) -> Vec<Line<'static>> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Sanitised before parsing, so an escape sequence is removed whole even where the parser
    // would split its text (at a `[`), and after, for what character references decode to.
    let source = sanitize(text);
    let mut w = Writer::default();
    for event in Parser::new_ext(&source, options) {
        w.event(event);
    }
    w.flush();
    while w.lines.last().is_some_and(|l| l.spans.is_empty()) {
        w.lines.pop();
    }
    w.lines
}

/// Untrusted text as one safe line, tabs expanded.
pub fn safe_line(text: &str) -> String {
    expand_tabs(&sanitize_line(text))
}

/// Untrusted text as safe lines, tabs expanded.
pub fn safe_lines(text: &str) -> Vec<String> {
    sanitize(text).split('\n').map(expand_tabs).collect()
}

fn expand_tabs(line: &str) -> String {
    if !line.contains('\t') {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = TAB - col % TAB;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// A block that prefixes its lines: a quote bar, a list item's marker then its indentation.
#[derive(Debug)]
struct Container {
    first: String,
    rest: String,
    used: bool,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: String,
    head_rows: usize,
}

#[derive(Debug, Default)]
struct Writer {
    lines: Vec<Line<'static>>,
    current: Vec<Span<'static>>,
    styles: Vec<Style>,
    containers: Vec<Container>,
    /// Each open list's next number (`None`: bullets).
    lists: Vec<Option<u64>>,
    code: bool,
    table: Option<Table>,
    links: Vec<String>,
}

impl Writer {
    fn style(&self) -> Style {
        self.styles
            .iter()
            .fold(Style::default(), |acc, s| acc.patch(*s))
    }

    fn push_style(&mut self, style: Style) {
        self.styles.push(style);
    }

    /// Ends the current line (if it has anything, or `force`).
    fn line(&mut self, force: bool) {
        if self.current.is_empty() && !force {
            return;
        }
        let mut prefix = String::new();
        for c in &mut self.containers {
            if c.used {
                prefix.push_str(&c.rest);
            } else {
                prefix.push_str(&c.first);
                c.used = true;
            }
        }
        let mut spans = Vec::with_capacity(self.current.len() + 1);
        if !prefix.is_empty() {
            spans.push(Span::styled(prefix, Style::default().fg(Color::DarkGray)));
        }
        spans.append(&mut self.current);
        self.lines.push(Line::from(spans));
    }

    fn flush(&mut self) {
        self.line(false);
    }

    fn blank(&mut self) {
        self.flush();
        if self.lines.last().is_some_and(|l| !l.spans.is_empty()) && self.lists.is_empty() {
            self.lines.push(Line::default());
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(table) = self.table.as_mut() {
            table.cell.push_str(&safe_line(text));
            return;
        }
        let style = self.style();
        let mut pieces = safe_lines(text).into_iter().peekable();
        while let Some(piece) = pieces.next() {
            if !piece.is_empty() {
                self.current.push(Span::styled(piece, style));
            }
            if pieces.peek().is_some() {
                self.line(true);
            }
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                // A code block's text ends with its line break; the block's end ends the line.
                let t = if self.code {
                    t.strip_suffix('\n').unwrap_or(&t).to_owned()
                } else {
                    t.into_string()
                };
                self.text(&t);
            }
            Event::Code(t) => {
                self.push_style(Style::default().fg(Color::Yellow));
                self.text(&t);
                self.styles.pop();
            }
            Event::Html(t) | Event::InlineHtml(t) => self.text(&t),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]")),
            Event::SoftBreak => {
                if self.table.is_some() {
                    self.text(" ");
                } else {
                    self.line(true);
                }
            }
            Event::HardBreak => self.line(true),
            Event::Rule => {
                self.flush();
                self.current.push(Span::styled(
                    "─".repeat(24),
                    Style::default().fg(Color::DarkGray),
                ));
                self.blank();
            }
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.flush(),
            Tag::Heading { level, .. } => {
                self.flush();
                let mut style = Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD);
                if level == pulldown_cmark::HeadingLevel::H1 {
                    style = style.add_modifier(Modifier::UNDERLINED);
                }
                self.push_style(style);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.containers.push(Container {
                    first: "│ ".into(),
                    rest: "│ ".into(),
                    used: false,
                });
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                if let CodeBlockKind::Fenced(lang) = &kind {
                    if !lang.is_empty() {
                        self.current.push(Span::styled(
                            safe_line(lang),
                            Style::default().fg(Color::DarkGray),
                        ));
                        self.line(true);
                    }
                }
                self.code = true;
                self.containers.push(Container {
                    first: "▏ ".into(),
                    rest: "▏ ".into(),
                    used: false,
                });
                self.push_style(Style::default().fg(Color::Yellow));
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_owned(),
                };
                let rest = " ".repeat(marker.chars().count());
                self.containers.push(Container {
                    first: marker,
                    rest,
                    used: false,
                });
            }
            Tag::Table(_) => {
                self.flush();
                self.table = Some(Table::default());
            }
            Tag::TableHead | Tag::TableRow | Tag::TableCell => {}
            Tag::Emphasis => self.push_style(Style::default().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::default().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => {
                self.push_style(Style::default().add_modifier(Modifier::CROSSED_OUT))
            }
            Tag::Link { dest_url, .. } => {
                self.links.push(dest_url.into_string());
                self.push_style(Style::default().add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { dest_url, .. } => {
                self.links.push(dest_url.into_string());
                self.text("[image: ");
                self.push_style(Style::default());
            }
            _ => self.push_style(Style::default()),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.blank(),
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.blank();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.containers.pop();
                self.blank();
            }
            TagEnd::CodeBlock => {
                self.flush();
                self.code = false;
                self.styles.pop();
                self.containers.pop();
                self.blank();
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.blank();
            }
            TagEnd::Item => {
                self.flush();
                self.containers.pop();
            }
            TagEnd::TableCell => {
                if let Some(t) = self.table.as_mut() {
                    let cell = std::mem::take(&mut t.cell);
                    t.row.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                    if tag == TagEnd::TableHead {
                        t.head_rows = t.rows.len();
                    }
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.table_lines(t);
                }
                self.blank();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link => {
                self.styles.pop();
                if let Some(url) = self.links.pop() {
                    if !url.is_empty() {
                        self.push_style(Style::default().fg(Color::DarkGray));
                        self.text(&format!(" ({})", safe_line(&url)));
                        self.styles.pop();
                    }
                }
            }
            TagEnd::Image => {
                self.styles.pop();
                self.links.pop();
                self.text("]");
            }
            _ => {
                self.styles.pop();
            }
        }
    }

    fn table_lines(&mut self, table: Table) {
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &table.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(Span::raw(cell.as_str()).width());
            }
        }
        let bar = Style::default().fg(Color::DarkGray);
        for (r, row) in table.rows.iter().enumerate() {
            let head = r < table.head_rows;
            for (i, width) in widths.iter().enumerate() {
                if i > 0 {
                    self.current.push(Span::styled(" │ ", bar));
                }
                let cell = row.get(i).map_or("", String::as_str);
                let pad = width.saturating_sub(Span::raw(cell).width());
                let style = if head {
                    Style::default().add_modifier(Modifier::BOLD)
                } else {
                    Style::default()
                };
                self.current
                    .push(Span::styled(format!("{cell}{}", " ".repeat(pad)), style));
            }
            self.line(true);
            if head && r + 1 == table.head_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.current.push(Span::styled(rule.join("─┼─"), bar));
                self.line(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn headings_lists_code_and_tables_read_well() {
        let md = concat!(
            "# Title\n\nSome *text* and `code`.\n\n",
            "- one\n- two\n  1. nested\n\n",
            "```rust\nfn main() {}\n```\n\n",
            "| a | bb |\n|---|----|\n| ccc | d |\n",
        );
        let out = plain(&render(md));
        assert_eq!(out[0], "Title");
        assert!(out.contains(&"Some text and code.".to_owned()), "{out:?}");
        assert!(out.contains(&"• one".to_owned()), "{out:?}");
        assert!(out.contains(&"  1. nested".to_owned()), "{out:?}");
        assert!(out.contains(&"rust".to_owned()), "{out:?}");
        assert!(out.contains(&"▏ fn main() {}".to_owned()), "{out:?}");
        assert!(out.contains(&"a   │ bb".to_owned()), "{out:?}");
        assert!(out.contains(&"────┼───".to_owned()), "{out:?}");
        assert!(out.contains(&"ccc │ d ".to_owned()), "{out:?}");
    }

    #[test]
    fn links_show_their_address_and_quotes_their_bar() {
        let out = plain(&render("> see [docs](https://example.com/x)\n"));
        assert_eq!(out, vec!["│ see docs (https://example.com/x)".to_owned()]);
    }

    #[test]
    fn character_references_cannot_smuggle_controls() {
        let out = plain(&render(
            "a&#27;[31mb &#x202e;c\n\n```\n\x1b]0;t\x07x\n```\n",
        ));
        for line in &out {
            assert!(
                !line.contains(|c: char| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                "{out:?}"
            );
        }
        assert!(out[0].contains("␛[31mb"), "{out:?}");
    }
}
