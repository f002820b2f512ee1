//! Runs the embedded demo model on its own, for trying it with curl or a real Codex.
//!
//! `cargo run -p codex-webchat --example demo_model_probe [CONFIG_TOML_PATH] [SANDBOX_MODE]`
//! prints the base URL, writes a matching Codex `config.toml` when a path is given, and serves
//! until Ctrl-C.

use codex_webchat::demo_model::{codex_config_toml, DemoModel};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config_path = args.next();
    let sandbox_mode = args
        .next()
        .unwrap_or_else(|| "danger-full-access".to_owned());
    let model = DemoModel::start().await?;
    let base_url = model.base_url();
    if let Some(path) = config_path {
        std::fs::write(&path, codex_config_toml(&base_url, &sandbox_mode))?;
        eprintln!("wrote {path}");
    }
    println!("{base_url}");
    tokio::signal::ctrl_c().await?;
    eprintln!("requests served: {}", model.requests_served());
    model.shutdown().await;
    Ok(())
}
