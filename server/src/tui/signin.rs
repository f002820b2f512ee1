//! The terminal client's sign-in screen (F3): who Codex works as and whether it runs, and
//! signing it in (a device code, or an API key typed into a masked line) and out.
//!
//! It owns the screen's own state (the masked key being typed, whether a request is out) and
//! its keys, as pure functions of that state and the account status the server last pushed
//! (so a sign-in started in a browser shows here as soon as it is pushed), and its drawing. It
//! must not do I/O: a key that needs the server becomes an [`AccountRequest`] the terminal loop
//! carries out, whose failure comes back as the app's error. It must not import the app or the
//! main rendering (they use it). The API key is never drawn (one `*` per character) and not
//! kept once submitted; its `Debug` forms are redacted. Server text it draws (an email, a code,
//! a URL, a failure) goes through [`crate::escape::terminal`].

use app::wire::{AccountStatus, CodexHealth, Login, SignIn};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::markdown::safe_line;
use super::style::dim;

/// An API key on its way to the server: compared and cloned like a string, never shown by
/// `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the one request that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// What the sign-in screen asks of the server (`/api/v1/account/...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountRequest {
    /// Start a device-code sign-in; its code arrives with the next account status.
    DeviceCode,
    ApiKey(ApiKey),
    /// End the device-code sign-in in progress.
    Cancel,
    Logout,
}

impl AccountRequest {
    /// The status line's words when it fails (the error follows them).
    pub fn failure(&self) -> &'static str {
        match self {
            AccountRequest::DeviceCode => "Could not start the sign-in",
            AccountRequest::ApiKey(_) => "Could not sign in with the API key",
            AccountRequest::Cancel => "Could not cancel the sign-in",
            AccountRequest::Logout => "Could not sign out",
        }
    }
}

/// What a key on the screen did.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Close,
    Request(AccountRequest),
    /// Something to tell the person (on the status line).
    Error(String),
}

/// The sign-in screen, while open.
#[derive(Default)]
pub struct SignInScreen {
    /// The API key being typed (`Some` while the masked line is open).
    key: Option<String>,
    /// A request is out and neither an account status nor its answer has come back yet.
    busy: bool,
}

impl std::fmt::Debug for SignInScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInScreen")
            .field("typing_key", &self.key.is_some())
            .field("busy", &self.busy)
            .finish()
    }
}

/// The keys the screen answers to in a given account state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offers {
    /// `d` and `k`: Codex is signed out and no sign-in is in progress.
    pub sign_in: bool,
    /// `o`: Codex works as an account.
    pub sign_out: bool,
    /// `c`: a device code is waiting.
    pub cancel: bool,
}

/// What can be done in `account`'s state.
pub fn offers(account: &AccountStatus) -> Offers {
    if matches!(account.signin, Some(SignIn::Waiting { .. })) {
        return Offers {
            cancel: true,
            ..Offers::default()
        };
    }
    match account.login {
        Login::SignedOut => Offers {
            sign_in: true,
            ..Offers::default()
        },
        Login::ApiKey | Login::Chatgpt { .. } | Login::Other { .. } => Offers {
            sign_out: true,
            ..Offers::default()
        },
        // The demo model needs no account; an unknown one cannot be acted on yet.
        Login::Demo | Login::Unknown => Offers::default(),
    }
}

impl SignInScreen {
    /// Whether the masked key line is open.
    pub fn typing_key(&self) -> bool {
        self.key.is_some()
    }

    /// How many characters of the key have been typed (all that is ever shown of it).
    pub fn key_len(&self) -> usize {
        self.key.as_deref().map_or(0, |k| k.chars().count())
    }

    pub fn busy(&self) -> bool {
        self.busy
    }

    /// The request went out and was answered, or failed, or a new account status came: the
    /// screen shows the state again.
    pub fn settle(&mut self) {
        self.busy = false;
    }

    /// Handles a key, given the account as last pushed.
    pub fn key(&mut self, key: &KeyEvent, account: &AccountStatus) -> Action {
        if let Some(typed) = self.key.as_mut() {
            let plain = !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            match key.code {
                KeyCode::Char(c) if plain => typed.push(c),
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Esc => self.key = None,
                KeyCode::F(3) => {
                    self.key = None;
                    return Action::Close;
                }
                KeyCode::Enter => {
                    let typed = self.key.take().unwrap_or_default();
                    if typed.trim().is_empty() {
                        return Action::Error("Paste an API key first.".to_owned());
                    }
                    self.busy = true;
                    return Action::Request(AccountRequest::ApiKey(ApiKey(typed)));
                }
                _ => {}
            }
            return Action::None;
        }
        let can = offers(account);
        let plain = key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT;
        let request = match key.code {
            KeyCode::Esc | KeyCode::F(3) => return Action::Close,
            KeyCode::Char('d') if plain && can.sign_in => AccountRequest::DeviceCode,
            KeyCode::Char('k') if plain && can.sign_in => {
                self.key = Some(String::new());
                return Action::None;
            }
            KeyCode::Char('o') if plain && can.sign_out => AccountRequest::Logout,
            KeyCode::Char('c') if plain && can.cancel => AccountRequest::Cancel,
            _ => return Action::None,
        };
        self.busy = true;
        Action::Request(request)
    }

    /// Pasted text goes into the key line when it is open (line breaks dropped), else nowhere.
    pub fn paste(&mut self, text: &str) {
        if let Some(typed) = self.key.as_mut() {
            typed.extend(text.chars().filter(|c| !matches!(c, '\n' | '\r')));
        }
    }
}

fn bold(color: Color) -> Style {
    Style::default().fg(color).add_modifier(Modifier::BOLD)
}

/// The screen's lines (inside its border), and which of them is the masked key's, if any.
pub fn lines(
    screen: &SignInScreen,
    account: &AccountStatus,
) -> (Vec<Line<'static>>, Option<usize>) {
    let login = app::usage::login_text(&account.login).map_or_else(
        || "Codex: account not known yet".to_owned(),
        |t| safe_line(&t),
    );
    let mut lines = vec![Line::styled(login, bold(Color::White))];
    lines.push(match &account.codex {
        CodexHealth::Ready => Line::styled("Codex app-server: ready", dim()),
        CodexHealth::Starting => Line::styled(
            "Codex app-server: starting…",
            Style::default().fg(Color::Yellow),
        ),
        CodexHealth::Down { reason } => Line::styled(
            format!("Codex app-server: down: {}", safe_line(reason)),
            Style::default().fg(Color::Red),
        ),
    });
    lines.push(Line::default());
    let keys = |text: &'static str| Line::styled(text, bold(Color::Yellow));
    let mut key_line = None;
    if screen.typing_key() {
        key_line = Some(lines.len());
        lines.push(Line::from(vec![
            Span::styled(KEY_LABEL, bold(Color::Cyan)),
            Span::raw("*".repeat(screen.key_len())),
        ]));
        lines.push(keys("Enter sign in · Esc back"));
    } else if let Some(SignIn::Waiting {
        user_code,
        verification_url,
    }) = &account.signin
    {
        lines.push(Line::from(vec![
            Span::raw("Open "),
            Span::styled(safe_line(verification_url), bold(Color::Cyan)),
            Span::raw(" on any device and enter the code:"),
        ]));
        lines.push(Line::styled(
            format!("  {}", safe_line(user_code)),
            bold(Color::White),
        ));
        lines.push(Line::styled("waiting…", Style::default().fg(Color::Yellow)));
        lines.push(keys("c cancel"));
    } else {
        if let Some(SignIn::Failed { message }) = &account.signin {
            lines.push(Line::styled(
                format!("Sign-in failed: {}", safe_line(message)),
                Style::default().fg(Color::Red),
            ));
        }
        let can = offers(account);
        if can.sign_in {
            lines.push(keys("d sign in with a device code · k enter an API key"));
        } else if can.sign_out {
            lines.push(keys("o sign out"));
        } else if account.login == Login::Demo {
            lines.push(Line::styled("The demo model needs no sign-in.", dim()));
        } else {
            lines.push(Line::styled(
                "Waiting for Codex to say who it works as…",
                dim(),
            ));
        }
    }
    if screen.busy() {
        lines.push(Line::styled("Asking the server…", dim()));
    }
    lines.push(Line::styled("F3 or Esc close", dim()));
    (lines, key_line)
}

const KEY_LABEL: &str = "API key: ";

/// Draws the screen over the middle of `area`, when it is open; the cursor sits at the end of
/// the masked key while one is typed.
pub fn draw(
    frame: &mut Frame<'_>,
    screen: Option<&SignInScreen>,
    account: &AccountStatus,
    area: Rect,
) {
    let Some(screen) = screen else { return };
    let width = area.width.min(72);
    let (lines, key_line) = lines(screen, account);
    let inner_width = width.saturating_sub(2);
    // The rows above the key's line, as wrapped (a long reason takes several).
    let above = key_line.map(|at| {
        Paragraph::new(lines[..at].to_vec())
            .wrap(Wrap { trim: false })
            .line_count(inner_width)
    });
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Cyan))
        .title(" Codex sign-in ");
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    let wanted = text.line_count(inner_width) + 2;
    let height = u16::try_from(wanted).unwrap_or(u16::MAX).min(area.height);
    let inner = super::style::overlay(frame, area, width, height, block);
    frame.render_widget(text, inner);
    if let (Some(row), true) = (above, inner.width > 0 && inner.height > 0) {
        let row = u16::try_from(row).unwrap_or(u16::MAX);
        let col = u16::try_from(KEY_LABEL.len() + screen.key_len()).unwrap_or(u16::MAX);
        let (x, y) = (
            inner.x + col.min(inner.width - 1),
            inner.y + row.min(inner.height - 1),
        );
        frame.set_cursor_position(Position::new(x, y));
    }
}
