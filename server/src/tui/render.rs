//! Draws an [`App`] into a ratatui [`Frame`]: a header (session, mode, connection, working
//! indicator), the transcript with the WebChat's cards (user, assistant with Markdown, tool,
//! delivery, notice, approval; private entries only with internals shown), a status line, the
//! composer or, while an approval waits, the approval prompt over it, a key help line, and the
//! session list, the search or Codex threads screen (`super::lookup`) or the sign-in screen
//! (`super::signin`) when open.
//!
//! It owns only the drawing. The layout comes from the frame's area on every draw, so a resize
//! needs nothing but a redraw, and no area is too small to draw into. Every text it draws that
//! the client did not write itself (messages, model and tool output, titles, file names, diffs,
//! server errors) goes through [`crate::escape::terminal`] (directly or through
//! [`super::markdown`]); it must not draw such text any other way. It changes nothing in the app
//! but the scroll state it measures (`max_scroll`, `page`, `drawn`, and `scroll`, kept on
//! the same lines when the transcript grows below a scrolled-up view).

use app::transcript::{DeliveryView, Entry, EntryKind, ToolView};
use app::wire::{
    ApprovalKind, ApprovalState, DeliveryStatus, DiffLineKind, FileDiff, NoticeLevel, PlanStatus,
    RelayDecision, ToolDetail, ToolStatus,
};
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Composer, Connection};
use super::markdown::{self, safe_line, safe_lines};
use super::style::dim;

/// Tool output longer than this many lines is folded: its first lines and how many follow.
pub const FOLD_LINES: usize = 12;

/// The key help for an approval that is not a question.
pub fn approval_keys(for_session: bool) -> &'static str {
    if for_session {
        "y approve  a approve for session  n decline"
    } else {
        "y approve  n decline"
    }
}

const QUESTION_KEYS: &str = "Enter send answer  Ctrl+D decline";

const HELP: &str = "Enter send · Ctrl+S steer · Alt+Enter newline · Esc stop · PgUp/PgDn scroll · \
                    Ctrl+P sessions · Ctrl+N new · Ctrl+F search · Ctrl+O Codex threads · \
                    Ctrl+T internals · F2 mode · F3 sign-in · \
                    Ctrl+C twice quit";

fn bold(color: Color) -> Style {
    Style::default().fg(color).add_modifier(Modifier::BOLD)
}

/// Draws the whole screen.
pub fn render(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let status = status_line(app);
    let bottom = bottom_height(app, area);
    let [header_area, body_area, status_area, bottom_area, help_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(u16::from(status.is_some())),
        Constraint::Length(bottom),
        Constraint::Length(1),
    ])
    .areas(area);

    frame.render_widget(Paragraph::new(header(app)), header_area);
    draw_transcript(frame, app, body_area);
    if let Some(status) = status {
        frame.render_widget(Paragraph::new(status), status_area);
    }
    match app.focused_approval() {
        Some(entry) => draw_approval_prompt(frame, app, entry, bottom_area),
        None => draw_composer(frame, app.composer(), bottom_area),
    }
    frame.render_widget(Paragraph::new(Span::styled(HELP, dim())), help_area);
    if app.picker().is_some() {
        super::picker::draw_picker(frame, app, area);
    }
    super::lookup::draw(frame, app.lookup(), area);
    super::signin::draw(frame, app.signin(), app.account(), area);
}

/// `  model: <model> (<effort>)`, each "default" when the session leaves it to Codex. Both are
/// text from the server, so they pass the terminal escape.
fn model_label(s: &app::wire::SessionSummary) -> String {
    let model = s.model.as_deref().map_or("default".to_owned(), safe_line);
    let effort = s.effort.as_deref().map_or("default".to_owned(), safe_line);
    format!("  model: {model} ({effort})")
}

fn header(app: &App) -> Line<'static> {
    let title = match (app.summary(), app.session()) {
        (Some(s), _) => safe_line(&s.title),
        (None, Some(key)) => key.to_string(),
        (None, None) => "no session".to_owned(),
    };
    let mut spans = vec![Span::styled(title, bold(Color::White))];
    if let Some(s) = app.summary() {
        spans.push(Span::styled(format!("  mode: {}", s.mode), dim()));
        spans.push(Span::styled(
            format!("  {}", app::usage::meter_text(s.usage)),
            dim(),
        ));
    }
    if let Some(login) = app::usage::login_text(&app.account().login) {
        spans.push(Span::styled(format!("  {}", safe_line(&login)), dim()));
    }
    if let Some(limits) = app::usage::limits_text(app.account().rate_limits) {
        spans.push(Span::styled(format!("  {limits}"), dim()));
    }
    spans.push(Span::raw("  "));
    spans.push(match app.connection() {
        Connection::Connecting => Span::styled("○ connecting…", Style::default().fg(Color::Yellow)),
        Connection::Connected => Span::styled("● connected", Style::default().fg(Color::Green)),
        Connection::Disconnected { retry_in, reason } => Span::styled(
            format!(
                "○ disconnected ({}), retrying in {}s",
                safe_line(reason),
                retry_in.as_secs_f32().ceil()
            ),
            Style::default().fg(Color::Red),
        ),
    });
    if app.transcript().is_running() {
        spans.push(Span::styled("  ◐ working…", bold(Color::Magenta)));
        // Codex's retry message is untrusted text: one sanitized line.
        if let Some(retry) = app.transcript().retrying() {
            spans.push(Span::styled(
                format!(" {}", safe_line(&retry)),
                Style::default().fg(Color::Yellow),
            ));
        }
    }
    if app.show_internals() {
        spans.push(Span::styled("  internals shown", dim()));
    }
    // Last, so a narrow terminal cuts these rather than the connection state.
    if let Some(s) = app.summary() {
        if !s.workspace.is_empty() {
            spans.push(Span::styled(
                format!("  workspace: {}", safe_line(&s.workspace)),
                dim(),
            ));
        }
        spans.push(Span::styled(model_label(s), dim()));
    }
    spans.push(Span::styled(
        format!("  {}", safe_line(app.server())),
        dim(),
    ));
    Line::from(spans)
}

fn status_line(app: &App) -> Option<Line<'static>> {
    if app.quit_armed() {
        return Some(Line::styled(
            "Press Ctrl+C again to quit.",
            bold(Color::Yellow),
        ));
    }
    if let Some(error) = app.error() {
        return Some(Line::styled(
            format!("error: {}", safe_line(error)),
            Style::default().fg(Color::Red),
        ));
    }
    if app.is_sending() {
        return Some(Line::styled("sending…", dim()));
    }
    None
}

/// Rows for the composer or the approval prompt: their text plus borders, at most half the
/// screen.
fn bottom_height(app: &App, area: Rect) -> u16 {
    let inner = match app.focused_approval() {
        Some(entry) => prompt_lines(app, entry).len(),
        None => app.composer().text().split('\n').count(),
    };
    let want = u16::try_from(inner + 2).unwrap_or(u16::MAX);
    want.min((area.height / 2).max(3))
}

fn draw_transcript(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 || area.width == 0 {
        app.max_scroll.set(0);
        return;
    }
    let lines = transcript_lines(app);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = u16::try_from(paragraph.line_count(area.width)).unwrap_or(u16::MAX);
    let max = total.saturating_sub(area.height);
    app.max_scroll.set(max);
    // Lines added at the end while the person reads further up: keep their view where it is.
    let (last_total, last_width) = app.drawn.replace((total, area.width));
    if app.scroll() > 0 && last_width == area.width && total > last_total {
        app.scroll
            .set(app.scroll().saturating_add(total - last_total).min(max));
    }
    app.page.set(area.height.saturating_sub(2).max(1));
    let top = max - app.scroll().min(max);
    frame.render_widget(paragraph.scroll((top, 0)), area);
}

/// Every visible entry's lines, a blank line between entries.
pub fn transcript_lines(app: &App) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let visible = app
        .transcript()
        .entries()
        .iter()
        .filter(|e| app.show_internals() || !e.private);
    if app.has_earlier() {
        // Opened at its end: what came before is a scroll to the top away (`tui::earlier`).
        lines.push(Line::styled(
            "↑ Earlier messages: scroll up to load them",
            dim(),
        ));
    }
    let mut cache = app.lines.borrow_mut();
    // Entries that changed left stale versions behind; drop them now and then.
    if cache.len() > 2 * app.transcript().entries().len() + 64 {
        cache.clear();
    }
    for entry in visible {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        let drawn = cache
            .entry((entry.seq, entry.version))
            .or_insert_with(|| entry_lines(entry));
        lines.extend(drawn.iter().cloned());
    }
    if lines.is_empty() {
        lines.push(Line::styled(
            if app.session().is_some() {
                "Nothing here yet. Type a message below."
            } else {
                "Waiting for the session list…"
            },
            dim(),
        ));
    }
    lines
}

/// The lines of one card.
pub fn entry_lines(entry: &Entry) -> Vec<Line<'static>> {
    let mut head: Vec<Span<'static>> = Vec::new();
    let mut body: Vec<Line<'static>> = Vec::new();
    match entry.kind {
        EntryKind::User => {
            head.push(Span::styled("You", bold(Color::Cyan)));
            if entry.steered {
                head.push(Span::styled(" (steered)", dim()));
            }
            body.extend(indented(&entry.text, Style::default()));
            // A terminal shows no pictures: each attached image is a line with its (untrusted)
            // name.
            body.extend(entry.images.iter().map(|image| {
                Line::from(vec![
                    Span::raw("  "),
                    Span::styled("[image] ", dim()),
                    Span::raw(safe_line(&image.name)),
                ])
            }));
        }
        EntryKind::Assistant => {
            head.push(Span::styled("Assistant", bold(Color::Green)));
            if entry.streaming {
                head.push(Span::styled(" …", dim()));
            }
            body.extend(markdown::render(&entry.text).into_iter().map(|mut l| {
                l.spans.insert(0, Span::raw("  "));
                l
            }));
        }
        EntryKind::Tool => match (&entry.tool, &entry.delivery) {
            (Some(tool), _) => tool_card(tool, &mut head, &mut body),
            (None, Some(delivery)) => delivery_card(delivery, &entry.text, &mut head, &mut body),
            (None, None) => body.extend(indented(&entry.text, Style::default())),
        },
        EntryKind::Notice => {
            let (mark, color) = match entry.notice_level {
                Some(NoticeLevel::Error) => ("✗ ", Color::Red),
                Some(NoticeLevel::Warning) => ("! ", Color::Yellow),
                _ => ("· ", Color::Blue),
            };
            let mut first = true;
            for line in safe_lines(&entry.text) {
                let lead = if first { mark } else { "  " };
                first = false;
                body.push(Line::from(vec![
                    Span::styled(lead, bold(color)),
                    Span::styled(line, Style::default().fg(color)),
                ]));
            }
        }
        EntryKind::Approval => match &entry.approval {
            Some(approval) => approval_card(entry, approval, &mut head, &mut body),
            None => body.extend(indented(&entry.text, Style::default())),
        },
    }
    if entry.private {
        head.push(Span::styled("  [internal]", dim()));
    }
    if let Some(origin) = &entry.background {
        head.push(Span::styled(format!("  ({})", safe_line(origin)), dim()));
    }
    let mut lines = Vec::with_capacity(body.len() + 1);
    // A notice has no head of its own; its marks (internal, background) go on a line above it.
    if !head.is_empty() {
        lines.push(Line::from(head));
    }
    lines.extend(body);
    lines
}

/// Untrusted text as lines, indented under a card's head.
fn indented(text: &str, style: Style) -> Vec<Line<'static>> {
    safe_lines(text)
        .into_iter()
        .map(|l| Line::from(vec![Span::raw("  "), Span::styled(l, style)]))
        .collect()
}

fn tool_card(tool: &ToolView, head: &mut Vec<Span<'static>>, body: &mut Vec<Line<'static>>) {
    head.push(Span::styled(
        format!("⚙ {}", safe_line(&tool.tool)),
        bold(Color::Magenta),
    ));
    let status_color = match tool.status {
        ToolStatus::Running => Color::Yellow,
        ToolStatus::Completed => Color::Green,
        ToolStatus::Failed | ToolStatus::Declined => Color::Red,
        ToolStatus::Interrupted => Color::Yellow,
    };
    head.push(Span::raw("  "));
    head.push(Span::styled(tool.status.as_str(), bold(status_color)));
    let relay_color = match tool.relay {
        RelayDecision::Allowed => Color::Green,
        RelayDecision::Denied | RelayDecision::Unavailable => Color::Red,
        RelayDecision::None => Color::DarkGray,
    };
    head.push(Span::styled(
        format!("  relay: {}", tool.relay.as_str()),
        Style::default().fg(relay_color),
    ));
    if let Some(code) = tool.exit_code {
        let color = if code == 0 { Color::Green } else { Color::Red };
        head.push(Span::styled(
            format!("  exit {code}"),
            Style::default().fg(color),
        ));
    }
    let mut first = true;
    for line in safe_lines(&tool.command) {
        let lead = if first { "  $ " } else { "    " };
        first = false;
        body.push(Line::from(vec![
            Span::styled(lead, dim()),
            Span::styled(line, bold(Color::White)),
        ]));
    }
    if let Some(detail) = &tool.detail {
        detail_lines(detail, body);
        if tool.output.is_empty() && tool.status != ToolStatus::Running {
            return;
        }
    }
    if tool.output.is_empty() {
        let note = if tool.status == ToolStatus::Running {
            "Running…"
        } else {
            "No output."
        };
        body.push(Line::styled(format!("  {note}"), dim()));
        return;
    }
    let output = safe_lines(tool.output.strip_suffix('\n').unwrap_or(&tool.output));
    let total = output.len();
    for line in output.into_iter().take(FOLD_LINES) {
        body.push(Line::from(vec![
            Span::styled("  │ ", dim()),
            Span::raw(line),
        ]));
    }
    if total > FOLD_LINES {
        body.push(Line::styled(
            format!("  … {} more lines ({total} in all)", total - FOLD_LINES),
            dim(),
        ));
    }
}

/// Files with their coloured diffs, a plan as a checklist, an MCP call's server and arguments.
fn detail_lines(detail: &ToolDetail, body: &mut Vec<Line<'static>>) {
    match detail {
        ToolDetail::Files { files } => {
            for file in files {
                file_lines(file, body);
            }
        }
        ToolDetail::Plan { steps, explanation } => {
            if let Some(note) = explanation.as_deref() {
                for line in safe_lines(note) {
                    body.push(Line::styled(format!("  {line}"), dim()));
                }
            }
            for step in steps {
                let (mark, style) = match step.status {
                    PlanStatus::Completed => ("  [x] ", Style::default().fg(Color::Green)),
                    PlanStatus::InProgress => ("  [>] ", bold(Color::Yellow)),
                    PlanStatus::Pending => ("  [ ] ", Style::default()),
                };
                body.push(Line::from(vec![
                    Span::styled(mark, style),
                    Span::styled(safe_line(&step.step), style),
                ]));
            }
        }
        ToolDetail::Mcp {
            server,
            tool,
            arguments,
        } => {
            body.push(Line::styled(
                format!("  {} · {}", safe_line(server), safe_line(tool)),
                dim(),
            ));
            for line in safe_lines(arguments) {
                body.push(Line::styled(format!("    {line}"), dim()));
            }
        }
    }
}

/// One file of a change: its kind, path and counts, then its diff with each line coloured by
/// the class the server gave it.
fn file_lines(change: &FileDiff, body: &mut Vec<Line<'static>>) {
    body.push(Line::from(vec![
        Span::styled(format!("  {} ", safe_line(&change.kind)), dim()),
        Span::styled(safe_line(&change.path), bold(Color::White)),
        Span::styled(
            format!("  +{}", change.added),
            Style::default().fg(Color::Green),
        ),
        Span::styled(
            format!(" -{}", change.removed),
            Style::default().fg(Color::Red),
        ),
    ]));
    for line in &change.lines {
        let style = match line.kind {
            DiffLineKind::Meta => dim(),
            DiffLineKind::Add => Style::default().fg(Color::Green),
            DiffLineKind::Del => Style::default().fg(Color::Red),
            DiffLineKind::Hunk => Style::default().fg(Color::Cyan),
            DiffLineKind::Ctx => Style::default(),
        };
        body.push(Line::from(vec![
            Span::styled("    ", dim()),
            Span::styled(safe_line(&line.text), style),
        ]));
    }
}

fn delivery_card(
    delivery: &DeliveryView,
    text: &str,
    head: &mut Vec<Span<'static>>,
    body: &mut Vec<Line<'static>>,
) {
    let (icon, color) = match delivery.status {
        DeliveryStatus::Sending => ("…", Color::Yellow),
        DeliveryStatus::Sent => ("✓", Color::Green),
        DeliveryStatus::Failed => ("✗", Color::Red),
        DeliveryStatus::Unknown => ("?", Color::Yellow),
    };
    head.push(Span::styled("→ delivery", bold(Color::Magenta)));
    head.push(Span::styled(
        format!("  {icon} {}", delivery.status.as_str()),
        bold(color),
    ));
    match delivery.attempts {
        0 => {}
        1 => head.push(Span::styled("  1 attempt", dim())),
        n => head.push(Span::styled(format!("  {n} attempts"), dim())),
    }
    body.extend(indented(text, Style::default()));
    if !delivery.detail.trim().is_empty() && delivery.detail != text {
        body.extend(indented(&delivery.detail, dim()));
    }
}

/// The card's heading, as the WebChat words it.
pub fn approval_heading(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Command => "Run this command?",
        ApprovalKind::FileChange => "Apply these changes?",
        ApprovalKind::Permissions => "Grant these permissions?",
        ApprovalKind::Question => "Codex asks",
    }
}

/// How an approval stands, as the WebChat words it.
pub fn approval_outcome(kind: ApprovalKind, state: ApprovalState) -> (&'static str, Color) {
    match state {
        ApprovalState::Pending => ("Waiting for you", Color::Yellow),
        ApprovalState::Accepted if kind == ApprovalKind::Question => ("Answered", Color::Green),
        ApprovalState::Accepted => ("Approved", Color::Green),
        ApprovalState::AcceptedForSession => ("Approved for this session", Color::Green),
        ApprovalState::Declined => ("Declined", Color::Red),
        ApprovalState::Cancelled => ("Cancelled", Color::DarkGray),
        ApprovalState::Expired => ("Expired — send the message again", Color::Yellow),
    }
}

fn approval_card(
    entry: &Entry,
    approval: &app::transcript::ApprovalView,
    head: &mut Vec<Span<'static>>,
    body: &mut Vec<Line<'static>>,
) {
    head.push(Span::styled(
        format!("? {}", approval_heading(approval.kind)),
        bold(Color::Yellow),
    ));
    let (words, color) = approval_outcome(approval.kind, approval.state);
    head.push(Span::styled(format!("  [{words}]"), bold(color)));
    head.push(Span::styled(format!("  #{}", entry.seq), dim()));
    body.extend(indented(&approval.subject, bold(Color::White)));
    if let Some(cwd) = &approval.cwd {
        body.push(Line::from(vec![
            Span::styled("  in ", dim()),
            Span::raw(safe_line(cwd)),
        ]));
    }
    if let Some(reason) = &approval.reason {
        let mut first = true;
        for line in safe_lines(reason) {
            let lead = if first { "  Reason: " } else { "          " };
            first = false;
            body.push(Line::from(vec![Span::styled(lead, dim()), Span::raw(line)]));
        }
    }
    for change in &approval.changes {
        file_lines(change, body);
    }
    if let Some(answer) = &approval.answer {
        let mut first = true;
        for line in safe_lines(answer) {
            let lead = if first { "  Answer: " } else { "          " };
            first = false;
            body.push(Line::from(vec![Span::styled(lead, dim()), Span::raw(line)]));
        }
    }
}

/// The prompt's lines (inside its border).
fn prompt_lines(app: &App, entry: &Entry) -> Vec<Line<'static>> {
    let Some(approval) = &entry.approval else {
        return Vec::new();
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(approval_heading(approval.kind), bold(Color::Yellow)),
        Span::raw(" "),
        Span::styled(safe_line(&approval.subject), bold(Color::White)),
    ])];
    if approval.kind == ApprovalKind::Question {
        lines.push(Line::from(vec![
            Span::styled("> ", bold(Color::Cyan)),
            Span::raw(safe_line(app.answer().text())),
        ]));
        lines.push(Line::styled(QUESTION_KEYS, bold(Color::Yellow)));
    } else {
        if !approval.changes.is_empty() {
            lines.push(Line::styled(
                format!(
                    "{} file(s); the diff is in the card above",
                    approval.changes.len()
                ),
                dim(),
            ));
        }
        lines.push(Line::styled(
            approval_keys(approval.for_session),
            bold(Color::Yellow),
        ));
    }
    let waiting = app.open_approvals().count();
    if waiting > 1 {
        lines.push(Line::styled(
            format!("{waiting} approvals wait · Tab next"),
            dim(),
        ));
    }
    lines
}

fn draw_approval_prompt(frame: &mut Frame<'_>, app: &App, entry: &Entry, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Yellow))
        .title(format!(" Approval #{} ", entry.seq));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(prompt_lines(app, entry))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
    let question = entry
        .approval
        .as_ref()
        .is_some_and(|a| a.kind == ApprovalKind::Question);
    if question && inner.height >= 2 && inner.width > 0 {
        // "> " then the answer, cursor at its end of the typed text before the cursor.
        let before = &app.answer().text()[..app.answer().cursor()];
        let x = 2 + Span::raw(safe_line(before)).width();
        let x = inner.x + u16::try_from(x).unwrap_or(u16::MAX).min(inner.width - 1);
        frame.set_cursor_position(Position::new(x, inner.y + 1));
    }
}

fn draw_composer(frame: &mut Frame<'_>, composer: &Composer, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(dim())
        .title(" Message ");
    let inner = block.inner(area);
    let lines: Vec<Line<'static>> = composer
        .text()
        .split('\n')
        .map(|l| Line::raw(safe_line(l)))
        .collect();
    // Keep the cursor's line in view.
    let before = &composer.text()[..composer.cursor()];
    let row = before.matches('\n').count();
    let col = Span::raw(safe_line(before.rsplit('\n').next().unwrap_or(""))).width();
    let top = row.saturating_sub(usize::from(inner.height.max(1)) - 1);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(top).unwrap_or(0), 0)),
        area,
    );
    if inner.width > 0 && inner.height > 0 {
        let x = inner.x + u16::try_from(col).unwrap_or(u16::MAX).min(inner.width - 1);
        let y = inner.y + u16::try_from(row - top).unwrap_or(0).min(inner.height - 1);
        frame.set_cursor_position(Position::new(x, y));
    }
}
