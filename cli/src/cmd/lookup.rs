//! `jaring lookup`.

use anyhow::Result;
use clap::Args;
use jaring_node::model::Kind;
use jaring_node::view::LookupResult;
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Target, status_error};
use crate::output::{Output, print_lookup};

/// Look values up.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  jaring --node ./id-node lookup '0812-3456-7890'\n  jaring --node ./id-node lookup --kind domain WWW.Loker-Kerja.CO.ID."
)]
pub struct LookupArgs {
    /// Values to look up (any form: national phone numbers, upper case domains...).
    #[arg(required = true)]
    values: Vec<String>,
    /// Treat every value as this kind (default: every kind it parses as).
    #[arg(long)]
    kind: Option<Kind>,
    /// Only assertions in force whose current score is at least this (0-100).
    #[arg(long, default_value_t = 0)]
    min_score: u32,
    /// Only the merged verdict: no per-origin assertions or feedback events.
    #[arg(long)]
    summary: bool,
}

/// Runs `jaring lookup`. Exits 0 whether or not anything was found.
///
/// # Errors
///
/// Node unreachable.
pub async fn run(a: LookupArgs, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    let queries = a
        .values
        .iter()
        .map(|v| pb::LookupQuery { value: v.clone(), kind: a.kind.map_or(0, WireEnum::to_wire) })
        .collect();
    let resp = client
        .lookup(pb::LookupRequest { queries, min_score: a.min_score, summary: a.summary })
        .await
        .map_err(status_error)?
        .into_inner();
    let results: Vec<LookupResult> = resp.results.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
    if out.json {
        if results.len() == 1 {
            out.json(&results[0]);
        } else {
            out.json(&results);
        }
    } else {
        print_lookup(&results);
    }
    Ok(())
}
