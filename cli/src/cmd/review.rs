//! `jaring review list|show|accept|reject`.

use anyhow::Result;
use clap::Subcommand;
use jaring_node::view::{IndicatorRecord, MergedView};
use jaring_node::wire::FromPb;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, print_record, print_view, time};

/// Review queue commands.
#[derive(Debug, Subcommand)]
pub enum ReviewCmd {
    /// Indicators held for review.
    #[command(after_help = "Example:\n  jaring --node ./vn-node review list")]
    List {
        /// Include decided records.
        #[arg(long)]
        all: bool,
    },
    /// One held (or decided) record: origin, reason, the indicator and the
    /// value's merged view here.
    #[command(after_help = "Example:\n  jaring --node ./vn-node review show 42 --json")]
    Show {
        /// Local log position (from `review list`).
        seq: u64,
    },
    /// Accept a held indicator: it is stored, served and may be relayed.
    #[command(after_help = "Example:\n  jaring --node ./vn-node review accept 42 --note 'confirmed by analyst'")]
    Accept {
        /// Local log position (from `review list`).
        seq: u64,
        /// Note for the audit log.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject a held indicator: it stays as evidence but is never served.
    #[command(after_help = "Example:\n  jaring --node ./vn-node review reject 42 --note 'legitimate site'")]
    Reject {
        /// Local log position (from `review list`).
        seq: u64,
        /// Why (for the audit log).
        #[arg(long)]
        note: String,
    },
}

#[derive(Serialize)]
struct Held {
    seq: u64,
    peer: String,
    reason: String,
    received_at_ms: i64,
    decision: String,
    note: String,
    indicator: Option<IndicatorRecord>,
    view: Option<MergedView>,
}

fn held(r: pb::QuarantineRecord) -> Result<Held> {
    Ok(Held {
        seq: r.local_seq,
        peer: r.peer,
        reason: r.reason,
        received_at_ms: r.received_at_ms,
        decision: r.decision,
        note: r.note,
        indicator: r.indicator.map(FromPb::from_pb).transpose()?,
        view: r.view.map(FromPb::from_pb).transpose()?,
    })
}

fn print_held(h: &Held) {
    println!("#{}  from {}  {}  {}: {}", h.seq, h.peer, time(h.received_at_ms), h.decision, h.reason);
    if let Some(i) = &h.indicator {
        print_record(i);
    }
    if let Some(v) = &h.view {
        print!("  already known here: ");
        print_view(v);
    }
    if !h.note.is_empty() {
        println!("  note: {}", h.note);
    }
}

/// Runs a review command.
///
/// # Errors
///
/// Unknown or already decided record, node unreachable.
pub async fn run(cmd: ReviewCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    match cmd {
        ReviewCmd::List { all } => {
            let records = client
                .list_quarantine(pb::ListQuarantineRequest { include_decided: all })
                .await
                .map_err(status_error)?
                .into_inner()
                .records;
            let held: Vec<Held> = records.into_iter().map(held).collect::<Result<_>>()?;
            if out.json {
                out.json(&held);
            } else if held.is_empty() {
                println!("nothing held for review");
            } else {
                held.iter().for_each(print_held);
            }
        }
        ReviewCmd::Show { seq } => {
            let rec = client
                .list_quarantine(pb::ListQuarantineRequest { include_decided: true })
                .await
                .map_err(status_error)?
                .into_inner()
                .records
                .into_iter()
                .find(|r| r.local_seq == seq)
                .ok_or_else(|| {
                    anyhow::anyhow!("nothing was held for review at log position {seq} (see `review list --all`)")
                })?;
            let h = held(rec)?;
            if out.json {
                out.json(&h);
            } else {
                print_held(&h);
            }
        }
        ReviewCmd::Accept { seq, note } => decide(&mut client, seq, true, note, out).await?,
        ReviewCmd::Reject { seq, note } => decide(&mut client, seq, false, note, out).await?,
    }
    Ok(())
}

async fn decide(client: &mut crate::client::Client, seq: u64, accept: bool, note: String, out: &Output) -> Result<()> {
    let rec = client
        .decide_quarantine(pb::DecideQuarantineRequest { local_seq: seq, accept, note })
        .await
        .map_err(status_error)?
        .into_inner();
    let h = held(rec)?;
    if out.json {
        out.json(&h)
    } else {
        print_held(&h)
    }
    Ok(())
}
