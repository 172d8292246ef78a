//! The daemon's life: load the config, log, bind, serve until SIGTERM or
//! SIGINT, reload TLS on SIGHUP. `jaring-node` is this function behind clap;
//! `jaring bench` starts nodes through the same function.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::{logging, server, shutdown};

/// sysexits EX_CONFIG: the configuration cannot run.
pub const EXIT_CONFIG: u8 = 78;

/// Runs a node from `node.toml` until a stop signal. `log_format` and
/// `log_level` override the config's `[logging]`.
pub fn main(config_path: &Path, log_format: Option<String>, log_level: Option<String>) -> ExitCode {
    let mut config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jaring-node: config: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(f) = log_format {
        config.logging.format = f;
    }
    if let Some(l) = log_level {
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
