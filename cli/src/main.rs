//! `jaring`: the admin CLI for Jaring nodes.
//!
//! Talks to a running node over its admin API, chosen with `--node DIR`
//! (reads DIR/node.toml and DIR/admin.token) or `--admin ADDR --token-file F
//! --ca FILE`. The admin channel is TLS: the node proves who it is (its
//! certificate chains to its CA and names it) before the token is sent.
//! Offline commands (`init`, `demo`) work on directories directly. Every
//! command takes `--json` for scripts; failures exit non-zero with one line
//! on stderr.
//!
//! # Layout
//!
//! - `client`: finding the node and calling its admin API.
//! - `fleet`: real nodes on loopback for `demo` and `bench`.
//! - `output`: human and JSON printing.
//! - `cmd/*`: one file per command group.

#![forbid(unsafe_code)]

mod client;
mod cmd;
mod fleet;
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
    /// CA certificate the node's admin TLS certificate must chain to, with
    /// --admin (default with --node: DIR/tls/ca.pem).
    #[arg(long, global = true, env = "JARING_CA")]
    ca: Option<PathBuf>,
    /// Name the node's admin certificate must carry (default with --node:
    /// <node_id>.jaring.local; with --admin: its host).
    #[arg(long, global = true)]
    tls_name: Option<String>,
    /// Dial --admin without TLS (only for a node with [admin] tls = false).
    #[arg(long, global = true)]
    admin_plaintext: bool,
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
    /// Export indicators as a STIX 2.1 bundle, CSV or a MISP feed directory.
    #[command(subcommand)]
    Export(cmd::export::ExportCmd),
    /// The keyed hash of a value, exactly as the federation computes it (offline).
    Hash(cmd::hash::HashArgs),
    /// Tokens of every party (role, scope, expiry, networks, rate): create, list, show, revoke.
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
    /// The transparency log, offline: verify inclusion proofs and consistency.
    #[command(subcommand)]
    Log(cmd::log::LogCmd),
    /// Takedown cases: ask platforms, track their answers, service levels.
    #[command(subcommand)]
    Takedown(cmd::takedown::TakedownCmd),
    /// Referrals to law enforcement.
    #[command(subcommand)]
    Referral(cmd::referral::ReferralCmd),
    /// Evidence packages: export one about a value, verify one offline.
    #[command(subcommand)]
    Evidence(cmd::evidence::EvidenceCmd),
    /// Move a stopped node's embedded store into PostgreSQL, verified.
    Migrate(cmd::migrate::MigrateArgs),
}

/// `jaring lookup X | head`: when whoever reads our output goes away, stop
/// quietly. Rust ignores SIGPIPE, so a write to a closed pipe fails with
/// `BrokenPipe` and `println!` panics on it; the hook turns exactly that
/// panic into a silent exit, and [`main`] does the same for errors that
/// come back from writers.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
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
    let target = client::Target {
        node: cli.node,
        admin: cli.admin,
        token_file: cli.token_file,
        ca: cli.ca,
        tls_name: cli.tls_name,
        admin_plaintext: cli.admin_plaintext,
    };
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
            Command::Hash(a) => cmd::hash::run(a, &target, &out),
            Command::Token(c) => cmd::token::run(c, &target, &out).await,
            Command::Key(c) => cmd::key::run(c, &target, &out).await,
            Command::Audit(c) => cmd::audit::run(c, &target, &out).await,
            Command::Tls(c) => cmd::tls::run(c, &target, &out).await,
            Command::Certs(c) => cmd::certs::run(c, &target, &out).await,
            Command::Feedback(c) => cmd::feedback::run(c, &target, &out).await,
            Command::Allowlist(c) => cmd::allowlist::run(c, &target, &out).await,
            Command::Extract(a) => cmd::extract::run(a, &target, &out).await,
            Command::Log(c) => cmd::log::run(c, &target, &out).await,
            Command::Takedown(c) => cmd::takedown::run(c, &target, &out).await,
            Command::Referral(c) => cmd::referral::run(c, &target, &out).await,
            Command::Evidence(c) => cmd::evidence::run(c, &target, &out).await,
            Command::Migrate(a) => tokio::task::spawn_blocking(move || cmd::migrate::run(&a, &out)).await?,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jaring: {e:#}");
            ExitCode::FAILURE
        }
    }
}
