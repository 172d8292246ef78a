//! `jaring`: the admin CLI for Jaring nodes.
//!
//! Talks to a running node over its admin API, chosen with `--node DIR`
//! (reads DIR/node.toml and DIR/admin.token) or `--admin ADDR --token-file F`.
//! Offline commands (`init`, `demo`) work on directories directly. Every
//! command takes `--json` for scripts; failures exit non-zero with one line
//! on stderr.
//!
//! # Layout
//!
//! - `client`: finding the node and calling its admin API.
//! - `output`: human and JSON printing.
//! - `cmd/*`: one file per command group.

#![forbid(unsafe_code)]

mod client;
mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The node runs in this process for `node-run`, `demo` and `bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Admin CLI for Jaring, the federated scam and trafficking indicator network.
#[derive(Debug, Parser)]
#[command(name = "jaring", version, about, propagate_version = true)]
struct Cli {
    /// Node directory (reads node.toml and admin.token there).
    #[arg(long, global = true, env = "JARING_NODE")]
    node: Option<PathBuf>,
    /// Admin API address (host:port), instead of --node.
    #[arg(long, global = true, env = "JARING_ADMIN")]
    admin: Option<String>,
    /// Admin token file, with --admin.
    #[arg(long, global = true, env = "JARING_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a node directory: config, keys, admin token, dev TLS, identity card.
    Init(cmd::init::InitArgs),
    /// This node's identity card.
    #[command(subcommand)]
    Identity(cmd::identity::IdentityCmd),
    /// Peers and sharing agreements.
    #[command(subcommand)]
    Peer(cmd::peer::PeerCmd),
    /// Submit, revoke and list indicators.
    #[command(subcommand)]
    Indicator(cmd::indicator::IndicatorCmd),
    /// Look values up across every origin (merged view).
    Lookup(cmd::lookup::LookupArgs),
    /// The review queue (quarantine).
    #[command(subcommand)]
    Review(cmd::review::ReviewCmd),
    /// Node status.
    Status(cmd::status::StatusArgs),
    /// Run a local federation (ID, VN, MY) on loopback and watch indicators travel.
    Demo(cmd::demo::DemoArgs),
    /// Measure this machine and a federation of real nodes on loopback.
    Bench(cmd::bench::BenchArgs),
    /// Run a node in this process, as `jaring-node` does (used by `jaring bench`).
    #[command(name = "node-run", hide = true)]
    NodeRun {
        /// Path to node.toml.
        #[arg(long)]
        config: PathBuf,
        /// Log filter.
        #[arg(long)]
        log_level: Option<String>,
    },
    /// Export indicators as a STIX 2.1 bundle or CSV.
    #[command(subcommand)]
    Export(cmd::export::ExportCmd),
    /// Read-only consumer tokens for the TAXII server.
    #[command(subcommand)]
    Token(cmd::token::TokenCmd),
    /// Signing keys: list, rotate, revoke.
    #[command(subcommand)]
    Key(cmd::key::KeyCmd),
    /// The tamper-evident audit log: list, verify.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// TLS material of a running node: reload.
    #[command(subcommand)]
    Tls(cmd::tls::TlsCmd),
    /// Development certificates (dev CA, node certificates, renewal).
    #[command(subcommand)]
    Certs(cmd::certs::CertsCmd),
    /// Report sightings, takedowns, false positives about indicators.
    #[command(subcommand)]
    Feedback(cmd::feedback::FeedbackCmd),
    /// Allowlists (warninglists): values never published as scams without an override.
    #[command(subcommand)]
    Allowlist(cmd::allowlist::AllowlistCmd),
    /// Candidate indicators from free text (adverts, posts, SMS); offline, or through a node.
    Extract(cmd::extract::ExtractArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::NodeRun { config, log_level } = &cli.command {
        return jaring_node::daemon::main(config, None, log_level.clone());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jaring: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = client::Target { node: cli.node, admin: cli.admin, token_file: cli.token_file };
    let out = output::Output { json: cli.json };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Init(a) => cmd::init::run(a, &out),
            Command::Identity(c) => cmd::identity::run(c, &target, &out).await,
            Command::Peer(c) => cmd::peer::run(c, &target, &out).await,
            Command::Indicator(c) => cmd::indicator::run(c, &target, &out).await,
            Command::Lookup(a) => cmd::lookup::run(a, &target, &out).await,
            Command::Review(c) => cmd::review::run(c, &target, &out).await,
            Command::Status(a) => cmd::status::run(a, &target, &out).await,
            Command::Demo(a) => cmd::demo::run(a, &out).await,
            Command::Bench(a) => cmd::bench::run(a, &out).await,
            Command::NodeRun { .. } => Ok(()),
            Command::Export(c) => cmd::export::run(c, &target, &out).await,
            Command::Token(c) => cmd::token::run(c, &target, &out),
            Command::Key(c) => cmd::key::run(c, &target, &out).await,
            Command::Audit(c) => cmd::audit::run(c, &target, &out).await,
            Command::Tls(c) => cmd::tls::run(c, &target, &out).await,
            Command::Certs(c) => cmd::certs::run(c, &target, &out).await,
            Command::Feedback(c) => cmd::feedback::run(c, &target, &out).await,
            Command::Allowlist(c) => cmd::allowlist::run(c, &target, &out).await,
            Command::Extract(a) => cmd::extract::run(a, &target, &out).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jaring: {e:#}");
            ExitCode::FAILURE
        }
    }
}
