//! `jaring evidence export|verify`: evidence packages (`.jrev`,
//! docs/evidence.md). `export` asks the node and writes the file; `verify`
//! reads a file and needs no node and no network.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jaring_node::evidence::{Report, verify};
use jaring_node::model::Kind;
use jaring_node::wire::WireEnum;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::Output;

/// Evidence commands.
#[derive(Debug, Subcommand)]
pub enum EvidenceCmd {
    /// Write one self-contained file about a value: every signed envelope
    /// about it, the identity cards of their origins, this node's audit
    /// entries about it, and a manifest signed by this node.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node evidence export loker-kerja.co.id --out loker-kerja.jrev\n  \
                            jaring --node ./id-node evidence export 'BCA 123-456-7890' --kind bank_account --all-versions --out mule.jrev"
    )]
    Export {
        /// The value (any form; normalized like a lookup).
        value: String,
        /// Where to write the package (mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// The value's kind (default: every kind it parses as, the first one held).
        #[arg(long)]
        kind: Option<Kind>,
        /// Every version of every assertion held, not only each origin's current one (reads the whole log).
        #[arg(long)]
        all_versions: bool,
    },
    /// Check a package offline: every signature against the identity cards
    /// inside it and the manifest; prints who asserted what and when, and
    /// fails naming every item that does not verify.
    #[command(
        after_help = "Examples:\n  jaring evidence verify loker-kerja.jrev\n  jaring --json evidence verify loker-kerja.jrev"
    )]
    Verify {
        /// The package.
        file: PathBuf,
    },
}

#[derive(Serialize)]
struct Exported {
    file: PathBuf,
    bytes: usize,
    envelopes: u32,
    cards: u32,
    audit_entries: u32,
}

fn print_report(r: &Report) {
    for i in &r.items {
        match (&i.error, &i.statement) {
            (Some(e), _) => println!("{}: FAILED: {e}", i.name),
            (None, Some(s)) => println!("{}: ok: {s}", i.name),
            (None, None) => println!("{}: ok", i.name),
        }
    }
}

/// Runs an evidence command.
///
/// # Errors
///
/// Export: unknown value, node unreachable, an unwritable file. Verify: an
/// unreadable file, or any item that does not verify (named).
pub async fn run(cmd: EvidenceCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        EvidenceCmd::Export { value, out: file, kind, all_versions } => {
            let mut client = target.connect().await?;
            let req = pb::ExportEvidenceRequest { value, kind: kind.map_or(0, WireEnum::to_wire), all_versions };
            let resp = client.export_evidence(req).await.map_err(status_error)?.into_inner();
            jaring_node::fsutil::write_atomic(&file, &resp.package, 0o600)
                .with_context(|| format!("writing {}", file.display()))?;
            let done = Exported {
                bytes: resp.package.len(),
                envelopes: resp.envelopes,
                cards: resp.cards,
                audit_entries: resp.audit_entries,
                file,
            };
            if out.json {
                out.json(&done);
            } else {
                println!(
                    "wrote {} ({} bytes): {} signed envelope(s), {} identity card(s), {} audit entr(ies)",
                    done.file.display(),
                    done.bytes,
                    done.envelopes,
                    done.cards,
                    done.audit_entries
                );
            }
            Ok(())
        }
        EvidenceCmd::Verify { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let report = verify(&bytes);
            if out.json {
                out.json(&report);
            } else {
                print_report(&report);
            }
            let failed: Vec<&str> = report.failures().map(|(name, _)| name).collect();
            if !failed.is_empty() {
                bail!("{} does not verify: {} item(s) failed: {}", file.display(), failed.len(), failed.join(", "));
            }
            if !out.json {
                println!(
                    "verified: every signature checks out against the identity cards in the package; \
                     confirm their key ids with their owners"
                );
            }
            Ok(())
        }
    }
}
