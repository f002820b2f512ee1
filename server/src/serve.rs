//! Start-up and shutdown glue for `codex-webchat serve`: wires the store, the demo model, Codex,
//! the gateway and the HTTP edge together, in that order, and takes them down in reverse.
//!
//! Codex starts in the background: the first page is served before the app-server has finished
//! its handshake, and a send made before then waits for it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::codex::{Codex, CodexOptions, Launch};
use crate::config::{Config, ModelMode};
use crate::demo_model::{self, DemoModel};
use crate::gateway::workspace::Workspaces;
use crate::gateway::{Gateway, GatewayOptions, HookSetup};
use crate::hook::endpoint::{self, EndpointHandle};
use crate::hook::policy::ToolPolicy;
use crate::hook::registry::RelayRegistry;
use crate::schedule::Schedule;
use crate::scheduler::{Launcher, Scheduler, SystemClock};
use crate::store::Store;
use crate::web::{self, auth::Auth, guard::HostPolicy, AppState};

/// A running server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    pub gateway: Gateway,
    /// Authentication state: issues pairing codes when a token is configured.
    pub auth: Auth,
    /// The first configured public host, used in printed pairing links.
    public_host: Option<String>,
    demo: Option<DemoModel>,
    hook_endpoint: EndpointHandle,
    scheduler: Scheduler,
    stop: oneshot::Sender<()>,
    http: JoinHandle<Result<(), std::io::Error>>,
}

impl Running {
    /// The embedded demo model, when the server runs on it.
    pub fn demo_model(&self) -> Option<&DemoModel> {
        self.demo.as_ref()
    }

    /// A new single-use pairing link (valid for [`web::auth::PAIRING_TTL`]), or `None` when the
    /// server needs no token. Names the first public host if one is configured, else the
    /// listening address (`0.0.0.0` shown as `127.0.0.1`, which at least works locally).
    pub fn pairing_link(&self) -> Option<String> {
        let code = self.auth.issue_pairing_code()?;
        let host = self.public_host.clone().unwrap_or_else(|| {
            let mut addr = self.addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            addr.to_string()
        });
        Some(format!("http://{host}/pair?code={code}"))
    }

    /// Stops accepting connections, closes open runs, stops Codex and the demo model.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        // No new background runs once shutting down has begun: the scheduler stops before the
        // HTTP server has drained its connections, which can take a while.
        self.scheduler.shutdown().await;
        let _ = self.http.await;
        self.gateway.shutdown().await;
        self.hook_endpoint.shutdown().await;
        if let Some(demo) = self.demo {
            demo.shutdown().await;
        }
    }
}

/// The site's output name (`/pkg/webchat.{js,wasm,css}`), as in `[[workspace.metadata.leptos]]`.
const SITE_OUTPUT_NAME: &str = "webchat";

pub async fn start(config: Config) -> anyhow::Result<Running> {
    // Anyone who can reach a non-loopback address could drive Codex (and its shell): refuse to
    // start rather than serve such an address without a token.
    let auth = match &config.auth.token {
        Some(token) => Auth::with_token(token),
        None if config.addr.ip().is_loopback() => Auth::open(),
        None => bail!(
            "refusing to listen on {} without an access token: set {} (or auth_token in the \
             config file) to a secret of at least {} characters, e.g. `openssl rand -hex 32`",
            config.addr,
            crate::config::AUTH_TOKEN_ENV,
            crate::config::MIN_TOKEN_LEN,
        ),
    };
    let store =
        Store::open(&config.data_dir.join("webchat.sqlite3")).context("opening the store")?;
    // Without `[[workspaces]]`, the data folder's `workspace` (as before workspaces existed).
    let workspaces = if config.workspaces.is_empty() {
        let folder = config.data_dir.join(crate::store::DEFAULT_WORKSPACE);
        std::fs::create_dir_all(&folder).context("creating the workspace folder")?;
        Workspaces::single(folder)
    } else {
        Workspaces::new(config.workspaces.clone()).context("reading [[workspaces]]")?
    };
    // The app-server process itself runs in the default workspace; each thread gets its own.
    let workspace = workspaces.default_workspace().path.clone();

    let demo = match config.model {
        ModelMode::Demo => {
            let demo = DemoModel::start()
                .await
                .context("starting the demo model")?;
            let home = config
                .codex_home
                .as_deref()
                .context("demo mode needs a CODEX_HOME")?;
            write_demo_codex_config(home, &demo.base_url(), &config.sandbox)?;
            Some(demo)
        }
        ModelMode::Codex => None,
    };

    if !config.codex_bin.is_file() && config.codex_bin.components().count() > 1 {
        bail!(
            "the codex binary {} does not exist (run scripts/setup.sh, or pass --codex-bin)",
            config.codex_bin.display()
        );
    }
    let policy = ToolPolicy::from_specs(&config.deny_rules).context("reading [tool_policy]")?;
    let hook_exe = match &config.hook_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().context("locating this executable for the hook command")?,
    };
    // Hook processes are Codex's children: they find the relay endpoint (address and token,
    // new on every start) through this file, named in the app-server's environment.
    let endpoint_file = config.data_dir.join("hook-relay.json");
    let registry = RelayRegistry::new();
    let (codex, codex_events) = Codex::start(CodexOptions {
        launch: Launch::Process,
        bin: config.codex_bin.clone(),
        codex_home: config
            .codex_home
            .clone()
            .unwrap_or_else(|| config.data_dir.join("codex-home-unused")),
        cwd: workspace.clone(),
        extra_env: vec![(
            crate::hook::ENDPOINT_ENV.to_owned(),
            endpoint_file.to_string_lossy().into_owned(),
        )],
        request_timeout: config.codex_request_timeout,
        client_name: "codex_webchat".to_owned(),
    });
    let outbound = config.channels.outbound().context("reading [channels]")?;
    let gateway = Gateway::start(
        store,
        codex,
        codex_events,
        outbound,
        GatewayOptions {
            workspaces,
            sandbox: config.sandbox.clone(),
            default_mode: config.default_mode,
            model_label: match config.model {
                ModelMode::Demo => "demo".to_owned(),
                ModelMode::Codex => "codex".to_owned(),
            },
            turn_stall: config.turn_stall,
            codex_ready_timeout: Duration::from_secs(15),
            hooks: Some(HookSetup {
                registry: registry.clone(),
                exe: hook_exe,
                timeout_secs: config.hook_timeout_secs,
                trust: Default::default(),
            }),
        },
    )
    .context("starting the gateway")?;
    let hook_endpoint = endpoint::start_endpoint(
        registry,
        policy,
        std::sync::Arc::new(gateway.clone()),
        endpoint_file,
    )
    .await
    .context("starting the hook relay endpoint")?;

    crate::web::assets::drop_stale_precompressed(&config.site_root.join("pkg"));
    // Built here rather than read from cargo-leptos' environment: the name must match
    // `[[workspace.metadata.leptos]] name` and the files it built, whoever compiled this binary.
    let leptos = leptos::config::LeptosOptions::builder()
        .output_name(SITE_OUTPUT_NAME)
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(leptos::config::Env::PROD)
        .build();

    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("listening on {}", config.addr))?;
    let addr = listener.local_addr()?;
    // Live events are small frames written one by one: with Nagle's algorithm a frame could wait
    // for the client's delayed ACK (up to 40 ms on Linux) before leaving.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let state = AppState {
        gateway: gateway.clone(),
        leptos,
        hosts: HostPolicy::with_public_hosts(addr, &config.auth.public_hosts),
        auth: auth.clone(),
        images: web::images::ImageStore::new(config.data_dir.join("images")),
    };
    let app = web::router(state);
    // A schedule's session exists from the start, so it can be opened (and watched live)
    // before the first fire.
    for schedule in &config.schedules {
        gateway
            .ensure_session(&schedule.session, &format!("Schedule {}", schedule.name))
            .with_context(|| format!("creating the session of schedule {}", schedule.name))?;
    }
    let scheduler = Scheduler::start(
        config.schedules.clone(),
        std::sync::Arc::new(SystemClock),
        std::sync::Arc::new(ScheduleLauncher(gateway.clone())),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        addr,
        gateway,
        auth,
        public_host: config.auth.public_hosts.first().cloned(),
        demo,
        hook_endpoint,
        scheduler,
        stop,
        http,
    })
}

/// Starts a schedule's background run in its session (created on first use, named after the
/// schedule). A fire is skipped while the previous one still waits in the queue, so a slow run
/// cannot pile up runs behind it.
pub struct ScheduleLauncher(pub Gateway);

impl Launcher for ScheduleLauncher {
    fn launch(&self, schedule: &Schedule, fire_at: u64) {
        let origin = schedule.origin();
        let key = &schedule.session;
        if let Err(e) = self
            .0
            .ensure_session(key, &format!("Schedule {}", schedule.name))
        {
            tracing::error!(schedule = %schedule.name, error = %e, "no session for the schedule");
            return;
        }
        if self.0.background_queued(key, &origin) {
            tracing::warn!(schedule = %schedule.name, "skipped: the previous run has not started yet");
            return;
        }
        // One request per fire time, even if the same time were fired twice.
        let idem = format!("schedule:{}:{fire_at}", schedule.name);
        match self
            .0
            .start_background(key, &origin, &schedule.prompt, &idem)
        {
            Ok(out) => {
                tracing::info!(schedule = %schedule.name, seq = %out.seq, "background run requested")
            }
            Err(e) => {
                tracing::error!(schedule = %schedule.name, error = %e, "could not start the background run")
            }
        }
    }
}

fn write_demo_codex_config(home: &Path, base_url: &str, sandbox: &str) -> anyhow::Result<()> {
    demo_model::write_codex_home(home, base_url, sandbox)
        .with_context(|| format!("writing the demo configuration in {}", home.display()))
}
