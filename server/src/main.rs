//! The `codex-webchat` binary: command-line parsing and process wiring only.

use std::process::ExitCode;

use clap::Parser;
use codex_webchat::config::{Cli, Command, Config, HookCommand};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match cli.command {
        // No runtime and no logging set-up: this runs once per tool call, must start fast, and
        // its stdout belongs to Codex.
        Command::Hook(hook) => match hook.command {
            HookCommand::Relay(args) => {
                let out = codex_webchat::hook::client::run_relay(&args);
                print_hook_output(&out)
            }
        },
        // No logging set-up: stdout is the run's transcript, stderr its one-line errors.
        Command::Send(args) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("codex-webchat: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            ExitCode::from(runtime.block_on(codex_webchat::client::send::run(&args)))
        }
        // No logging set-up: stdout is what the sign-in says, stderr its one-line errors.
        Command::Login(args) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("codex-webchat: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            ExitCode::from(runtime.block_on(codex_webchat::client::login::run(&args)))
        }
        Command::Tui(args) => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("codex-webchat: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            ExitCode::from(runtime.block_on(codex_webchat::tui::start::main(&args)))
        }
        Command::Serve(args) => {
            let config = match Config::resolve(args) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("codex-webchat: {}", one_line(&e.to_string()));
                    return ExitCode::from(2);
                }
            };
            tracing_subscriber::fmt()
                .with_env_filter(
                    EnvFilter::try_from_env("CODEX_WEBCHAT_LOG")
                        .unwrap_or_else(|_| EnvFilter::new("info")),
                )
                // Log fields and messages carry untrusted text (chat messages, tool output), and
                // fmt does not escape '\n' or '\r' in them, so every line goes through the
                // escaping writer: one event, one line. Colours are off because that writer would
                // show fmt's own colour codes as visible `\x1b[..m` text.
                .with_writer(codex_webchat::escape::log::LogWriter::stderr())
                .with_ansi(false)
                .init();
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("codex-webchat: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("codex-webchat: {}", one_line(&format!("{e:#}")));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints a hook's output and turns its exit code into ours (out of range: 1).
fn print_hook_output(out: &codex_webchat::hook::render::HookOutput) -> ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let printed = stdout
        .write_all(out.stdout.as_bytes())
        .and_then(|()| stdout.flush());
    let _ = stderr.write_all(out.stderr.as_bytes());
    if printed.is_err() {
        // Codex closed our stdout: nothing we print can reach it any more.
        return ExitCode::FAILURE;
    }
    ExitCode::from(u8::try_from(out.exit_code).unwrap_or(1))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let schedules = config.schedules.clone();
    let running = codex_webchat::serve::start(config).await?;
    println!("codex-webchat listening on http://{}", running.addr);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for s in &schedules {
        let next = s
            .cron
            .next_after(now)
            .map_or_else(|| "never".to_owned(), codex_webchat::schedule::format_utc);
        println!(
            "codex-webchat schedule {}: `{}` in session {}, next {next}",
            s.name, s.cron, s.session
        );
    }
    if let Some(link) = running.pairing_link() {
        // The one place a pairing code is shown: stdout of the person who started the server.
        println!(
            "codex-webchat pairing link (single use, valid {} minutes): {link}",
            codex_webchat::web::auth::PAIRING_TTL.as_secs() / 60
        );
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A start-up error as one terminal line: it can quote the operator's config (a path, a TOML
/// key), which is theirs but still must not move the cursor or colour the terminal.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    codex_webchat::escape::terminal::sanitize_line(text)
}
