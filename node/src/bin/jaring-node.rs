//! `jaring-node --config DIR/node.toml`: runs a Jaring node until SIGTERM or
//! SIGINT. SIGHUP reloads its TLS certificate, key and CA.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn main() -> ExitCode {
    let args = Args::parse();
    jaring_node::daemon::main(&args.config, args.log_format, args.log_level)
}
