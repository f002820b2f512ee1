//! `codex-webchat login`: signs the server's Codex in (a device code by default, or an OpenAI
//! API key read from standard input), signs it out, or says who it works as, over the account
//! routes of the public API (`http.rs`).
//!
//! It owns the command's printing and exit statuses and, for the device code, the wait for the
//! sign-in's end: [`DeviceWait`], a pure function of the account statuses it is shown, decides
//! when the wait is over, so the polling loop only fetches and prints. Everything it prints that
//! came from the server goes through `escape::terminal`. An API key is read from standard input
//! only (argv shows in the process list), with echo off at a terminal; it goes into one request
//! and is never printed, logged or kept.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use app::wire::{AccountStatus, CodexHealth, Login, SignIn};
use tokio::signal::unix::{signal, SignalKind};

use super::{http, ClientError, Endpoint};
use crate::config::LoginArgs;
use crate::escape::terminal::sanitize_line;

/// Done: signed in, signed out, or the status printed.
pub const EXIT_OK: u8 = 0;
/// The sign-in failed or the server refused it.
pub const EXIT_FAILED: u8 = 1;
/// Bad usage (no key on standard input), an unreachable server or a refused token.
pub const EXIT_USAGE: u8 = 2;
/// Ctrl-C while waiting (the sign-in was cancelled).
pub const EXIT_INTERRUPTED: u8 = 130;

/// How often the account is asked while a device code waits.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Failed polls in a row after which the wait gives up (the server is gone).
const MAX_POLL_FAILURES: u32 = 60;

/// Runs `codex-webchat login`; returns the process's exit status.
pub async fn run(args: &LoginArgs) -> u8 {
    let endpoint = Endpoint {
        base_url: args.server.url.clone(),
        token: args.server.token.clone(),
    };
    // Reachable, and the token accepted, before anything is asked of Codex or of the person.
    let before = match http::account(&endpoint).await {
        Ok(status) => status,
        Err(e) => return refused(&e),
    };
    if args.status {
        print_lines(&status_lines(&before));
        return EXIT_OK;
    }
    if args.logout {
        return match http::logout(&endpoint).await {
            Ok(after) => {
                print_lines(&[login_line(&after.login)]);
                EXIT_OK
            }
            Err(e) => refused(&e),
        };
    }
    if args.api_key_stdin {
        return api_key(&endpoint).await;
    }
    device_code(&endpoint, before.login).await
}

/// The account as `--status` prints it: who Codex works as, whether it runs, a sign-in in
/// progress or how the last one failed. Server text is escaped.
pub fn status_lines(status: &AccountStatus) -> Vec<String> {
    let mut lines = vec![login_line(&status.login)];
    lines.push(match &status.codex {
        CodexHealth::Down { reason } => {
            format!("Codex app-server: down: {}", sanitize_line(reason))
        }
        health => format!("Codex app-server: {}", health.as_str()),
    });
    match &status.signin {
        Some(SignIn::Waiting {
            user_code,
            verification_url,
        }) => lines.push(format!(
            "Sign-in waiting: open {} and enter the code: {}",
            sanitize_line(verification_url),
            sanitize_line(user_code)
        )),
        Some(SignIn::Failed { message }) => {
            lines.push(format!("Last sign-in failed: {}", sanitize_line(message)))
        }
        None => {}
    }
    if let Some(limits) = app::usage::limits_text(status.rate_limits) {
        lines.push(limits);
    }
    lines
}

/// `Codex: a@b.c (plus)`, as every header says it (escaped: the email is the account's).
pub fn login_line(login: &Login) -> String {
    match app::usage::login_text(login) {
        Some(text) => sanitize_line(&text).into_owned(),
        None => "Codex: account not known yet".to_owned(),
    }
}

/// Whether Codex works as an account (or needs none).
fn signed_in(login: &Login) -> bool {
    matches!(
        login,
        Login::ApiKey | Login::Chatgpt { .. } | Login::Other { .. } | Login::Demo
    )
}

/// What the device-code wait does after one account status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing new: ask again.
    Wait,
    /// The sign-in was started again elsewhere (a browser, another terminal): this code and URL
    /// replace the printed ones (raw; escaped where printed).
    NewCode {
        user_code: String,
        verification_url: String,
    },
    /// Signed in as this (the header's words, raw).
    SignedIn(Login),
    /// The sign-in ended without an account, for this reason (raw).
    Failed(String),
}

/// Follows a device-code sign-in through the account statuses: waiting while the code is shown,
/// done when the sign-in is over and Codex works as an account, failed when the server says so.
///
/// Codex reports the sign-in's end (the code no longer shown) a moment before the new account
/// is read, so an end with the account unchanged waits one more status before it counts; an end
/// with Codex signed out and no failure (a sign-in cancelled elsewhere) gives up after a few.
#[derive(Debug)]
pub struct DeviceWait {
    before: Login,
    user_code: String,
    /// Statuses in a row without a sign-in in progress and without a new account.
    settling: u32,
}

/// Statuses with the sign-in over and the account as before that count as signed in.
const SETTLE: u32 = 2;
/// Statuses with no sign-in and no account after which the sign-in counts as cancelled.
const GIVE_UP: u32 = 5;

impl DeviceWait {
    /// Waiting for `user_code`, started while Codex worked as `before`.
    pub fn new(before: Login, user_code: impl Into<String>) -> DeviceWait {
        DeviceWait {
            before,
            user_code: user_code.into(),
            settling: 0,
        }
    }

    /// What `status` means for the wait.
    pub fn on_status(&mut self, status: &AccountStatus) -> Step {
        match &status.signin {
            Some(SignIn::Failed { message }) => return Step::Failed(message.clone()),
            Some(SignIn::Waiting {
                user_code,
                verification_url,
            }) => {
                self.settling = 0;
                if *user_code == self.user_code {
                    return Step::Wait;
                }
                self.user_code = user_code.clone();
                return Step::NewCode {
                    user_code: user_code.clone(),
                    verification_url: verification_url.clone(),
                };
            }
            None => {}
        }
        self.settling += 1;
        if signed_in(&status.login) && (status.login != self.before || self.settling >= SETTLE) {
            return Step::SignedIn(status.login.clone());
        }
        if status.login == Login::SignedOut && self.settling >= GIVE_UP {
            return Step::Failed(
                "The sign-in ended without an account (was it cancelled elsewhere?).".to_owned(),
            );
        }
        Step::Wait
    }
}

/// The device-code flow: the code, then the wait, cancelled by Ctrl-C.
async fn device_code(endpoint: &Endpoint, before: Login) -> u8 {
    // Ours before the code is shown: a Ctrl-C from then on cancels the sign-in.
    let mut interrupt = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            error_line(&format!("cannot handle Ctrl-C: {e}"));
            return EXIT_FAILED;
        }
    };
    let code = match http::login_device_code(endpoint).await {
        Ok(code) => code,
        Err(e) => return refused(&e),
    };
    print_code(&code.verification_url, &code.user_code);
    eprintln!("Waiting for the sign-in to complete (Ctrl-C cancels it)…");
    let mut wait = DeviceWait::new(before, code.user_code);
    let mut failures = 0;
    let mut last_error = String::new();
    loop {
        tokio::select! {
            _ = interrupt.recv() => {
                if let Err(e) = http::cancel_login(endpoint).await {
                    error_line(&format!("could not cancel the sign-in: {}", words(&e)));
                } else {
                    eprintln!("Sign-in cancelled.");
                }
                return EXIT_INTERRUPTED;
            }
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
        let status = match http::account(endpoint).await {
            Ok(status) => status,
            Err(ClientError::Unauthorized) => return refused(&ClientError::Unauthorized),
            Err(e) => {
                failures += 1;
                let text = words(&e);
                if text != last_error {
                    error_line(&format!("cannot check the sign-in ({text}); trying again"));
                    last_error = text;
                }
                if failures >= MAX_POLL_FAILURES {
                    error_line("giving up: the server did not answer for a minute");
                    return EXIT_FAILED;
                }
                continue;
            }
        };
        failures = 0;
        match wait.on_status(&status) {
            Step::Wait => {}
            Step::NewCode {
                user_code,
                verification_url,
            } => {
                eprintln!("The sign-in was started again elsewhere; the code changed.");
                print_code(&verification_url, &user_code);
            }
            Step::SignedIn(login) => {
                print_lines(&[format!("Signed in: {}", login_line(&login))]);
                return EXIT_OK;
            }
            Step::Failed(message) => {
                error_line(&message);
                return EXIT_FAILED;
            }
        }
    }
}

fn print_code(url: &str, code: &str) {
    print_lines(&[format!(
        "Open {} on any device and enter the code: {}",
        sanitize_line(url),
        sanitize_line(code)
    )]);
}

/// `--api-key-stdin`: one line of standard input, handed to Codex.
async fn api_key(endpoint: &Endpoint) -> u8 {
    let key = match read_key().await {
        Ok(Some(key)) => key,
        Ok(None) => {
            error_line("no API key on standard input (one line: the key)");
            return EXIT_USAGE;
        }
        Err(KeyInput::Interrupted) => return EXIT_INTERRUPTED,
        Err(KeyInput::Failed(why)) => {
            error_line(&format!("cannot read standard input: {why}"));
            return EXIT_USAGE;
        }
    };
    let answer = http::login_api_key(endpoint, &key).await;
    drop(key);
    match answer {
        Ok(after) => {
            print_lines(&[format!("Signed in: {}", login_line(&after.login))]);
            EXIT_OK
        }
        Err(e) => refused(&e),
    }
}

/// Why no key was read.
enum KeyInput {
    Interrupted,
    Failed(String),
}

/// The first line of standard input without its line break; `None` when it is empty. At a
/// terminal the person is asked on stderr and the typed key is not echoed (echo comes back
/// afterwards, on Ctrl-C too). The read runs on its own thread, which a Ctrl-C leaves behind
/// (the process ends).
async fn read_key() -> Result<Option<String>, KeyInput> {
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| KeyInput::Failed(e.to_string()))?;
    let echo = EchoOff::at_terminal();
    if echo.is_some() {
        eprint!("OpenAI API key (not shown), then Enter: ");
        let _ = std::io::stderr().flush();
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let read = tokio::select! {
        read = rx => read,
        _ = interrupt.recv() => {
            drop(echo);
            eprintln!();
            return Err(KeyInput::Interrupted);
        }
    };
    if let Some(echo) = echo {
        drop(echo);
        // The Enter the person typed was not echoed either.
        eprintln!();
    }
    let line = match read {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(KeyInput::Failed(e.to_string())),
        Err(_) => return Err(KeyInput::Failed("the reader stopped".to_owned())),
    };
    let key = line.strip_suffix('\n').unwrap_or(&line);
    let key = key.strip_suffix('\r').unwrap_or(key);
    Ok((!key.is_empty()).then(|| key.to_owned()))
}

/// Standard input's echo turned off while this lives (only at a terminal).
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    fn at_terminal() -> Option<EchoOff> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // SAFETY: `tcgetattr`/`tcsetattr` on fd 0 with a termios we own; failures leave the
        // terminal as it was and the key is read with echo on.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &quiet) != 0 {
                return None;
            }
            Some(EchoOff { saved })
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `at_terminal`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// Prints why a call failed and returns its exit status: 2 when the server cannot be reached or
/// refused the token, else 1 (the server's own words for a refusal).
fn refused(e: &ClientError) -> u8 {
    error_line(&words(e));
    match e {
        ClientError::Unreachable { .. } | ClientError::Unauthorized => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

/// A refusal in the server's own words, anything else as the error says it.
fn words(e: &ClientError) -> String {
    match e {
        ClientError::Server { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// One line on stderr, escaped (it can quote the server or the network).
fn error_line(text: &str) {
    eprintln!("codex-webchat: {}", sanitize_line(text));
}

fn print_lines(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(login: Login, signin: Option<SignIn>) -> AccountStatus {
        AccountStatus {
            login,
            signin,
            codex: CodexHealth::Ready,
            rate_limits: None,
        }
    }

    fn waiting(code: &str) -> Option<SignIn> {
        Some(SignIn::Waiting {
            user_code: code.into(),
            verification_url: "https://auth.example/device".into(),
        })
    }

    fn chatgpt() -> Login {
        Login::Chatgpt {
            email: Some("a@b.c".into()),
            plan: Some("plus".into()),
        }
    }

    #[test]
    fn a_new_account_after_the_code_is_signed_in_at_once() {
        let mut wait = DeviceWait::new(Login::SignedOut, "ABCD");
        assert_eq!(
            wait.on_status(&status(Login::SignedOut, waiting("ABCD"))),
            Step::Wait
        );
        // The code is gone but the account not read yet: not signed in yet.
        assert_eq!(wait.on_status(&status(Login::SignedOut, None)), Step::Wait);
        assert_eq!(
            wait.on_status(&status(chatgpt(), None)),
            Step::SignedIn(chatgpt())
        );
    }

    #[test]
    fn the_same_account_as_before_counts_once_it_settled() {
        let mut wait = DeviceWait::new(Login::ApiKey, "ABCD");
        assert_eq!(wait.on_status(&status(Login::ApiKey, None)), Step::Wait);
        assert_eq!(
            wait.on_status(&status(Login::ApiKey, None)),
            Step::SignedIn(Login::ApiKey)
        );
    }

    #[test]
    fn a_failure_ends_the_wait_with_its_message() {
        let mut wait = DeviceWait::new(Login::SignedOut, "ABCD");
        let failed = Some(SignIn::Failed {
            message: "Sign-in did not complete: device code expired".into(),
        });
        assert_eq!(
            wait.on_status(&status(Login::SignedOut, failed)),
            Step::Failed("Sign-in did not complete: device code expired".into())
        );
    }

    #[test]
    fn a_code_started_elsewhere_replaces_ours_and_a_cancel_elsewhere_gives_up() {
        let mut wait = DeviceWait::new(Login::SignedOut, "ABCD");
        assert_eq!(
            wait.on_status(&status(Login::SignedOut, waiting("WXYZ"))),
            Step::NewCode {
                user_code: "WXYZ".into(),
                verification_url: "https://auth.example/device".into()
            }
        );
        assert_eq!(
            wait.on_status(&status(Login::SignedOut, waiting("WXYZ"))),
            Step::Wait
        );
        for _ in 1..GIVE_UP {
            assert_eq!(wait.on_status(&status(Login::SignedOut, None)), Step::Wait);
        }
        assert!(matches!(
            wait.on_status(&status(Login::SignedOut, None)),
            Step::Failed(_)
        ));
    }

    #[test]
    fn status_lines_say_who_whether_codex_runs_and_escape_the_server() {
        let mut s = status(
            Login::Chatgpt {
                email: Some("a\x1b[2J@b.c".into()),
                plan: None,
            },
            Some(SignIn::Failed {
                message: "expired\x07\nagain".into(),
            }),
        );
        s.codex = CodexHealth::Down {
            reason: "no such file\r\x1b]0;title\x07".into(),
        };
        let lines = status_lines(&s);
        assert_eq!(lines[0], "Codex: a@b.c");
        assert_eq!(lines[1], "Codex app-server: down: no such file ");
        assert_eq!(lines[2], "Last sign-in failed: expired␇ again");
        assert!(lines.iter().all(|l| !l.contains('\x1b')));
        let ready = status_lines(&status(Login::SignedOut, None));
        assert_eq!(ready, ["Codex: not signed in", "Codex app-server: ready"]);
    }
}
