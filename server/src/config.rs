//! Configuration: the command line, `CODEX_WEBCHAT_*` environment variables and the TOML file,
//! resolved once at start into a [`Config`].
//!
//! Precedence is flag, then environment, then file, then default. clap handles the first two (a
//! flag beats its `env`), the file fills what both left empty. This module reads files and the
//! environment but starts nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::channels::ChannelsConfig;
use crate::hook::policy::DenyRuleSpec;
use crate::schedule::{Schedule, ScheduleConfig, ScheduleListError};

pub mod workspaces;
pub use workspaces::WorkspaceConfig;

/// The environment variable holding the access token. There is deliberately no flag: a flag's
/// value is visible to every local user in the process list.
pub const AUTH_TOKEN_ENV: &str = "CODEX_WEBCHAT_TOKEN";

/// The shortest access token accepted: 32 characters (for example 16 random bytes in hex).
pub const MIN_TOKEN_LEN: usize = 32;

/// Where `scripts/setup.sh` installs the pinned Codex CLI, relative to the repository root.
pub const BUNDLED_CODEX: &str =
    ".tools/codex/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

#[derive(Debug, Parser)]
#[command(
    name = "codex-webchat",
    version,
    about = "A self-hosted browser chat for OpenAI Codex sessions"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the WebChat and run the gateway.
    #[command(
        after_help = "Access token: set CODEX_WEBCHAT_TOKEN (or auth_token in the config \
        file) to a secret of at least 32 characters. A non-loopback --addr requires one; the \
        server then prints a one-time pairing link for the browser."
    )]
    Serve(ServeArgs),
    /// Commands Codex runs as native hooks (installed by the gateway, not for interactive use).
    Hook(HookArgs),
    /// Send one message to a session, print the replies and tool cards of the run it starts, and
    /// exit when that run ends.
    #[command(
        after_help = "Exit status: 0 the run completed, 1 it failed, 130 it was interrupted, 2 bad \
        usage, an unreachable server, a refused token or an unknown session. The token is best \
        passed in CODEX_WEBCHAT_TOKEN: a flag's value shows in the process list."
    )]
    Send(SendArgs),
    /// The full-screen terminal client on a running server.
    Tui(TuiArgs),
    /// Sign the server's Codex in (a device code, or an API key from standard input), sign it
    /// out, or say who it works as.
    #[command(
        after_help = "Without a flag: prints a code and where to enter it, then waits until the \
        sign-in completes (Ctrl-C cancels it). --api-key-stdin reads the key from the first line \
        of standard input (never from the command line, which shows in the process list), e.g. \
        `codex-webchat login --api-key-stdin < key.txt`. Exit status: 0 done, 1 the sign-in \
        failed or the server refused it, 130 cancelled with Ctrl-C, 2 bad usage, an unreachable \
        server or a refused token. The token is best passed in CODEX_WEBCHAT_TOKEN: a flag's \
        value shows in the process list."
    )]
    Login(LoginArgs),
}

/// Where the terminal clients (`tui`, `send`, `login`) find the server, and how they authenticate.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:3000",
        value_parser = parse_base_url
    )]
    pub url: String,
    /// The server's access token, if it has one.
    #[arg(long, env = AUTH_TOKEN_ENV, hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// `codex-webchat tui`.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// The session to open; the most recent one (or a new one) when absent.
    #[arg(long, value_name = "KEY", value_parser = parse_session_key)]
    pub session: Option<app::wire::SessionKey>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `codex-webchat send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The session to send to.
    #[arg(long, value_name = "KEY", value_parser = parse_session_key)]
    pub session: app::wire::SessionKey,
    #[command(flatten)]
    pub server: ServerArgs,
    /// The message (several words are joined with single spaces).
    #[arg(value_name = "TEXT", required = true, num_args = 1..)]
    pub text: Vec<String>,
}

/// `codex-webchat login`: at most one of its flags; none means a device-code sign-in.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Sign in with an OpenAI API key read from the first line of standard input.
    #[arg(long, conflicts_with_all = ["logout", "status"])]
    pub api_key_stdin: bool,
    /// Sign Codex out (it forgets its stored credentials).
    #[arg(long, conflicts_with = "status")]
    pub logout: bool,
    /// Print who Codex works as and whether it runs, and change nothing.
    #[arg(long)]
    pub status: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_session_key(raw: &str) -> Result<app::wire::SessionKey, String> {
    app::wire::SessionKey::parse(raw).map_err(|e| e.to_string())
}

/// `http://host[:port]` (or `https://`), without a path; a trailing slash is dropped.
fn parse_base_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| "the URL must start with http:// or https://".to_owned())?;
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@'])
        || rest.chars().any(char::is_whitespace)
    {
        return Err("the URL must be http://host[:port], without a path".to_owned());
    }
    Ok(url.to_owned())
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Relay one hook event (payload on stdin) to the gateway and print its decision in Codex's
    /// hook output format. Fails closed for PreToolUse when the gateway cannot answer.
    Relay(crate::hook::client::RelayArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelMode {
    /// The embedded, deterministic demo model on loopback (offline, no account).
    Demo,
    /// Codex's own configuration (your account and model).
    Codex,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CODEX_WEBCHAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "CODEX_WEBCHAT_ADDR", value_name = "IP:PORT")]
    pub addr: Option<SocketAddr>,
    /// Folder for the SQLite store and Codex's home in demo mode.
    #[arg(long, env = "CODEX_WEBCHAT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which model Codex talks to.
    #[arg(long, env = "CODEX_WEBCHAT_MODEL", value_enum)]
    pub model: Option<ModelMode>,
    /// The native codex binary (not the npm wrapper).
    #[arg(long, env = "CODEX_WEBCHAT_CODEX_BIN", value_name = "PATH")]
    pub codex_bin: Option<PathBuf>,
    /// CODEX_HOME for the app-server (default: <data-dir>/codex-home in demo mode, Codex's own
    /// default otherwise).
    #[arg(long, env = "CODEX_WEBCHAT_CODEX_HOME", value_name = "DIR")]
    pub codex_home: Option<PathBuf>,
    /// Folder with the built site (`pkg/`); default: `target/site` next to the binary's build.
    #[arg(long, env = "CODEX_WEBCHAT_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,
    /// A host name (with port) the server may be reached at besides its own address, e.g.
    /// `chat.example.lan:3000`; repeat the flag, or separate with commas in the environment.
    #[arg(
        long = "public-host",
        env = "CODEX_WEBCHAT_PUBLIC_HOSTS",
        value_name = "HOST:PORT",
        value_delimiter = ','
    )]
    pub public_hosts: Vec<String>,
}

/// `turn_stall_secs` when the file does not set it.
pub const DEFAULT_TURN_STALL: Duration = Duration::from_secs(180);
/// `codex_request_timeout_secs` when the file does not set it.
pub const DEFAULT_CODEX_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The configuration file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub addr: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub model: Option<ModelMode>,
    pub codex_bin: Option<PathBuf>,
    pub codex_home: Option<PathBuf>,
    pub site_root: Option<PathBuf>,
    /// Codex sandbox mode for threads: `read-only`, `workspace-write` or `danger-full-access`.
    pub sandbox: Option<String>,
    /// The permission mode of new sessions: `full-access`, `auto` (default), `ask`, `read-only`.
    pub default_mode: Option<String>,
    /// Seconds without any progress before a running turn is interrupted.
    pub turn_stall_secs: Option<u64>,
    /// Seconds Codex may leave one request unanswered before it counts as frozen and is
    /// restarted.
    pub codex_request_timeout_secs: Option<u64>,
    /// Codex's timeout for one hook command, in seconds (the relay answers before it).
    pub hook_timeout_secs: Option<u64>,
    /// The executable Codex runs as the hook command (default: this binary).
    pub hook_exe: Option<PathBuf>,
    /// Decisions for native tool calls.
    #[serde(default)]
    pub tool_policy: ToolPolicyConfig,
    /// The access token (see [`AUTH_TOKEN_ENV`]); required to listen on a non-loopback address.
    pub auth_token: Option<String>,
    /// Host names (with port) the server may be reached at besides its own address.
    pub public_hosts: Option<Vec<String>>,
    /// `[channels.webhook.targets.<name>]`: where explicit `message` sends may go.
    #[serde(default)]
    pub channels: ChannelsConfig,
    /// `[[schedules]]`: background runs on a cron (UTC).
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    /// `[[workspaces]]`: the folders sessions may work in (`name`, `path`); the first is the
    /// default. None: one named `workspace` in the data folder.
    #[serde(default)]
    pub workspaces: Vec<WorkspaceConfig>,
}

/// `[tool_policy]`: native tool calls are allowed unless a deny rule matches.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolPolicyConfig {
    /// `[[tool_policy.deny]] pattern = "<regex on the shell command>" reason = "…"`.
    #[serde(default)]
    pub deny: Vec<DenyRuleSpec>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub model: ModelMode,
    pub codex_bin: PathBuf,
    /// `None`: leave CODEX_HOME to Codex (its own default, the user's account).
    pub codex_home: Option<PathBuf>,
    pub site_root: PathBuf,
    pub sandbox: String,
    /// The permission mode of new sessions.
    pub default_mode: app::wire::Mode,
    pub turn_stall: Duration,
    pub codex_request_timeout: Duration,
    pub hook_timeout_secs: u64,
    /// `None`: this very binary.
    pub hook_exe: Option<PathBuf>,
    pub deny_rules: Vec<DenyRuleSpec>,
    pub auth: AuthSettings,
    /// Outbound channels (validated: [`ChannelsConfig::outbound`] succeeds).
    pub channels: ChannelsConfig,
    pub schedules: Vec<Schedule>,
    /// The configured workspaces, checked and canonical (empty: the default one, which `serve`
    /// makes in the data folder).
    pub workspaces: Vec<crate::gateway::workspace::Workspace>,
}

/// Who may use the server. With a token, every request needs it (as a bearer token) or the
/// session cookie a pairing link gives; a non-loopback address needs a token to start at all.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub token: Option<AuthToken>,
    /// Extra `host:port` names accepted in `Host` and `Origin`, compared case-insensitively.
    pub public_hosts: Vec<String>,
}

/// The access token. Its `Debug` form is redacted so it never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Accepts a token of at least [`MIN_TOKEN_LEN`] printable ASCII characters without spaces
    /// (it travels in an HTTP header).
    pub fn new(token: impl Into<String>) -> Result<AuthToken, ConfigError> {
        let token = token.into();
        if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::Token);
        }
        Ok(AuthToken(token))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "invalid sandbox mode {0:?} (expected read-only, workspace-write or danger-full-access)"
    )]
    Sandbox(String),
    #[error("invalid default_mode {0:?} (expected full-access, auto, ask or read-only)")]
    DefaultMode(String),
    #[error(
        "invalid access token: it must be at least {MIN_TOKEN_LEN} printable characters without \
         spaces (for example the output of `openssl rand -hex 32`)"
    )]
    Token,
    #[error("invalid public host {0:?} (expected host:port, e.g. chat.example.lan:3000)")]
    PublicHost(String),
    #[error("invalid [channels] configuration: {0}")]
    Channels(String),
    #[error("invalid [[schedules]] configuration: {0}")]
    Schedules(#[from] ScheduleListError),
    #[error("invalid [[workspaces]] configuration: {0}")]
    Workspaces(#[from] workspaces::WorkspaceConfigError),
    #[error("cannot use data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Config {
    pub fn resolve(args: ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let model = args.model.or(file.model).unwrap_or(ModelMode::Demo);
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        // Codex refuses some setup under relative or temporary paths; make it absolute once here.
        let data_dir = data_dir
            .canonicalize()
            .map_err(|source| ConfigError::DataDir {
                path: data_dir.clone(),
                source,
            })?;
        let codex_home = match args.codex_home.or(file.codex_home) {
            Some(home) => Some(home),
            None if model == ModelMode::Demo => Some(data_dir.join("codex-home")),
            None => None,
        };
        let sandbox = file
            .sandbox
            .unwrap_or_else(|| "danger-full-access".to_owned());
        if !matches!(
            sandbox.as_str(),
            "read-only" | "workspace-write" | "danger-full-access"
        ) {
            return Err(ConfigError::Sandbox(sandbox));
        }
        let default_mode = match file.default_mode {
            None => app::wire::Mode::default(),
            Some(raw) => app::wire::Mode::parse(&raw).ok_or(ConfigError::DefaultMode(raw))?,
        };
        let token = match std::env::var(AUTH_TOKEN_ENV) {
            Ok(env) if !env.is_empty() => Some(env),
            _ => file.auth_token,
        };
        let public_hosts = if args.public_hosts.is_empty() {
            file.public_hosts.unwrap_or_default()
        } else {
            args.public_hosts
        };
        let auth = AuthSettings {
            token: token.map(AuthToken::new).transpose()?,
            public_hosts: public_hosts
                .into_iter()
                .map(|h| parse_public_host(&h))
                .collect::<Result<_, _>>()?,
        };
        // Validated here so a bad URL or cron is a start-up error, not a failure at send time.
        file.channels
            .outbound()
            .map_err(|e| ConfigError::Channels(e.to_string()))?;
        let schedules = crate::schedule::parse_all(&file.schedules)?;
        // Relative workspace paths are the config file's, wherever the server was started.
        let base = args
            .config
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let workspaces = workspaces::resolve(&file.workspaces, &base)?;
        Ok(Config {
            addr: args
                .addr
                .or(file.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
            data_dir,
            model,
            codex_bin: absolute(
                args.codex_bin
                    .or(file.codex_bin)
                    .unwrap_or_else(default_codex_bin),
            ),
            codex_home,
            site_root: args
                .site_root
                .or(file.site_root)
                .unwrap_or_else(default_site_root),
            sandbox,
            default_mode,
            turn_stall: file
                .turn_stall_secs
                .map_or(DEFAULT_TURN_STALL, Duration::from_secs),
            codex_request_timeout: file
                .codex_request_timeout_secs
                .map_or(DEFAULT_CODEX_REQUEST_TIMEOUT, |secs| {
                    Duration::from_secs(secs.clamp(1, 3600))
                }),
            hook_timeout_secs: file.hook_timeout_secs.unwrap_or(10).clamp(1, 600),
            hook_exe: file.hook_exe,
            deny_rules: file.tool_policy.deny,
            auth,
            channels: file.channels,
            schedules,
            workspaces,
        })
    }
}

/// A public host is `name:port` exactly as browsers send it in `Host`: no scheme, no path.
fn parse_public_host(raw: &str) -> Result<String, ConfigError> {
    let host = raw.trim();
    let valid = host
        .rsplit_once(':')
        .is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if valid {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(ConfigError::PublicHost(raw.to_owned()))
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        // toml's messages span several lines with a source excerpt; the first line says it all.
        message: e
            .message()
            .lines()
            .next()
            .unwrap_or("syntax error")
            .to_owned(),
    })
}

/// The repository root when running from a build in `<root>/target/<profile>/`, else the cwd.
fn repo_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent()?.parent().map(Path::to_path_buf))
        .filter(|root| root.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Codex is spawned in the workspace folder, so a relative path to it must be made absolute
/// first. A bare name (`codex`) is left for `PATH` to resolve.
fn absolute(path: PathBuf) -> PathBuf {
    if path.components().count() > 1 {
        if let Ok(abs) = path.canonicalize() {
            return abs;
        }
    }
    path
}

fn default_codex_bin() -> PathBuf {
    for base in [PathBuf::from("."), repo_root()] {
        let candidate = base.join(BUNDLED_CODEX);
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from("codex")
}

fn default_site_root() -> PathBuf {
    let local = PathBuf::from("target/site");
    if local.is_dir() {
        return local;
    }
    repo_root().join("target/site")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("c.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flag_beats_file_and_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            &format!(
                "addr = \"127.0.0.1:4000\"\nmodel = \"codex\"\ndata_dir = {:?}\n",
                dir.path().join("d")
            ),
        );
        let cfg = Config::resolve(ServeArgs {
            config: Some(file),
            addr: Some("127.0.0.1:5000".parse().unwrap()),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(cfg.addr.port(), 5000);
        assert_eq!(cfg.model, ModelMode::Codex);
        assert!(cfg.data_dir.ends_with("d"));
        assert_eq!(cfg.codex_home, None);
    }

    #[test]
    fn demo_mode_keeps_codex_home_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::resolve(ServeArgs {
            data_dir: Some(dir.path().join("data")),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(cfg.model, ModelMode::Demo);
        assert_eq!(cfg.codex_home, Some(cfg.data_dir.join("codex-home")));
    }

    #[test]
    fn a_relative_codex_bin_is_made_absolute_because_codex_runs_in_another_folder() {
        let dir = tempfile::tempdir_in(".").unwrap();
        std::fs::write(dir.path().join("codex"), "").unwrap();
        let name = dir.path().file_name().unwrap();
        let relative = PathBuf::from(".").join(name).join("codex");
        let cfg = Config::resolve(ServeArgs {
            data_dir: Some(dir.path().join("data")),
            codex_bin: Some(relative),
            ..ServeArgs::default()
        })
        .unwrap();
        assert!(cfg.codex_bin.is_absolute(), "{}", cfg.codex_bin.display());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "adress = \"x\"\n");
        let err = Config::resolve(ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let file = write(dir.path(), "sandbox = \"yolo\"\n");
        let err = Config::resolve(ServeArgs {
            config: Some(file),
            data_dir: Some(dir.path().join("d")),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::Sandbox(_)));
    }

    #[test]
    fn auth_token_and_public_hosts_come_from_the_file_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "auth_token = \"0123456789abcdef0123456789abcdef\"\npublic_hosts = [\"Chat.Example.lan:3000\"]\n",
        );
        let cfg = Config::resolve(ServeArgs {
            config: Some(file.clone()),
            data_dir: Some(dir.path().join("d")),
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(cfg.auth.public_hosts, vec!["chat.example.lan:3000"]);
        assert!(cfg.auth.token.is_some());
        assert!(!format!("{cfg:?}").contains("0123456789abcdef"));
        // A flag replaces the file's list.
        let cfg = Config::resolve(ServeArgs {
            config: Some(file),
            data_dir: Some(dir.path().join("d")),
            public_hosts: vec!["other.lan:80".into()],
            ..ServeArgs::default()
        })
        .unwrap();
        assert_eq!(cfg.auth.public_hosts, vec!["other.lan:80"]);

        assert!(matches!(AuthToken::new("short"), Err(ConfigError::Token)));
        assert!(AuthToken::new("a".repeat(31) + " ").is_err());
        for bad in [
            "http://x.lan:3000",
            "x.lan",
            "x.lan:port",
            "x.lan:3000/path",
        ] {
            assert!(parse_public_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channels_and_schedules_come_from_the_file_and_are_validated_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |text: &str| {
            Config::resolve(ServeArgs {
                config: Some(write(dir.path(), text)),
                data_dir: Some(dir.path().join("d")),
                ..ServeArgs::default()
            })
        };
        let cfg = resolve(
            r#"
[channels.webhook.targets.ops]
url = "http://127.0.0.1:9/hook"
headers = { Authorization = "Bearer very-secret-value" }

[[schedules]]
cron = "*/5 * * * *"
session = "ops-digest"
prompt = "/send webhook ops digest"
"#,
        )
        .unwrap();
        assert_eq!(
            cfg.channels.outbound().unwrap().channel_names(),
            vec!["webhook"]
        );
        assert_eq!(cfg.schedules.len(), 1);
        assert_eq!(cfg.schedules[0].session.as_str(), "ops-digest");
        assert!(!format!("{cfg:?}").contains("very-secret-value"));

        let err = resolve("[channels.webhook.targets.ops]\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(matches!(err, ConfigError::Channels(_)), "{err}");
        let err =
            resolve("[[schedules]]\ncron = \"61 * * * *\"\nsession = \"s\"\nprompt = \"p\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("schedules[0]"), "{err}");
        let err = resolve("[channels.slack]\n").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    /// The command line the gateway installs as a hook parses back into the relay's own
    /// arguments (the two live apart). Kept here, above both, so `hook` never imports `config`.
    #[test]
    fn hook_command_round_trips_through_the_cli() {
        use crate::hook::config::hook_command;
        use crate::hook::render::UnavailableMode;
        use crate::hook::{HookError, HookEvent};

        let exe = Path::new("/opt/my apps/codex-webchat");
        let command =
            hook_command(exe, "codex-abc", "0123", HookEvent::PreToolUse, 5, true).unwrap();
        assert_eq!(
            command,
            "'/opt/my apps/codex-webchat' hook relay --relay-id codex-abc --generation 0123 \
             --event pre_tool_use --pre-tool-use-unavailable noop --timeout 4000"
        );
        let words = [
            "codex-webchat",
            "hook",
            "relay",
            "--relay-id",
            "codex-abc",
            "--generation",
            "0123",
            "--event",
            "pre_tool_use",
            "--pre-tool-use-unavailable",
            "noop",
            "--timeout",
            "4000",
        ];
        let cli = Cli::try_parse_from(words).expect("parses");
        let Command::Hook(hook) = cli.command else {
            panic!("not the hook command")
        };
        let HookCommand::Relay(args) = hook.command;
        assert_eq!(args.relay_id, "codex-abc");
        assert_eq!(args.timeout_ms, 4000);
        assert_eq!(args.pre_tool_use_unavailable, UnavailableMode::Noop);
        assert_eq!(args.provider, "codex");

        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/opt/\xff/codex-webchat"));
        let err = hook_command(odd, "r", "g", HookEvent::Stop, 1, false).unwrap_err();
        assert!(matches!(err, HookError::NonUtf8Exe(_)), "{err}");

        let stop = hook_command(exe, "r", "g", HookEvent::Stop, 1, true).unwrap();
        assert!(stop.ends_with("--event stop --timeout 750"), "{stop}");
    }
}
