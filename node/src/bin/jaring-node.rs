//! `jaring-node --config DIR/node.toml`: runs a Jaring node until SIGTERM or
//! SIGINT. SIGHUP reloads its TLS certificate, key and CA.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use jaring_node::config::Config;
use jaring_node::{logging, server, shutdown};

/// Runs a Jaring node.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = "Example:\n  jaring-node --config /var/lib/jaring/node.toml")]
struct Args {
    /// Path to node.toml (made by `jaring init`).
    #[arg(long, short)]
    config: PathBuf,
    /// Log format: human or json (overrides [logging] format).
    #[arg(long, value_parser = ["human", "json"])]
    log_format: Option<String>,
    /// Log filter, e.g. info or jaring_node=debug (overrides [logging] level).
    #[arg(long)]
    log_level: Option<String>,
}

/// sysexits EX_CONFIG.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jaring-node: config: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(f) = args.log_format {
        config.logging.format = f;
    }
    if let Some(l) = args.log_level {
        config.logging.level = l;
    }
    logging::init(&config.logging);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jaring-node: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listeners = server::bind(&config).await?;
        let (trigger, shutdown) = shutdown::channel();
        tokio::spawn(async move {
            shutdown::on_signals().await;
            tracing::info!("shutting down");
            trigger.fire();
        });
        // SIGHUP reloads the TLS certificate, key and CA from disk.
        let (reload_tx, reload_rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(shutdown::on_hangup(reload_tx));
        server::run_with_reload(config, listeners, shutdown, Some(reload_rx)).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "node failed");
            eprintln!("jaring-node: {e}");
            ExitCode::FAILURE
        }
    }
}
