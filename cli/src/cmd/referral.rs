//! `jaring referral create`: hand a value to law enforcement (a signed
//! `referred` event naming the agency and its case reference).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Args, Subcommand};
use jaring_node::feedback::FeedbackEvent;
use jaring_node::model::{Kind, Tlp};
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Target, status_error};
use crate::output::{Output, print_feedback_event};

/// Referral commands.
#[derive(Debug, Subcommand)]
pub enum ReferralCmd {
    /// Record that a held value was referred to a law-enforcement agency.
    ///
    /// The event travels like the indicator; pair it with `jaring evidence
    /// export` to hand the agency a package that verifies offline.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node referral create loker-kerja.co.id --to 'Bareskrim POLRI' --case-ref LP/B/123/2026\n  \
                            jaring --node ./id-node evidence export loker-kerja.co.id --out loker-kerja.jrev"
    )]
    Create(CreateArgs),
}

/// `referral create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The value (any form; normalized like a lookup).
    value: String,
    /// The agency referred to.
    #[arg(long = "to")]
    to: String,
    /// The agency's own case reference.
    #[arg(long)]
    case_ref: Option<String>,
    /// The value's kind (default: every kind it parses as, the first one held).
    #[arg(long)]
    kind: Option<Kind>,
    /// Free text.
    #[arg(long)]
    note: Option<String>,
    /// When it was referred (RFC 3339; default now).
    #[arg(long)]
    at: Option<humantime::Timestamp>,
    /// Override the inherited TLP marking.
    #[arg(long)]
    tlp: Option<Tlp>,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a referral command.
///
/// # Errors
///
/// Refused input, unknown value, node unreachable.
pub async fn run(cmd: ReferralCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        ReferralCmd::Create(a) => {
            let mut client = target.connect().await?;
            let req = pb::CreateReferralRequest {
                value: a.value,
                kind: a.kind.map_or(0, WireEnum::to_wire),
                referred_to: a.to,
                case_ref: a.case_ref.unwrap_or_default(),
                note: a.note.unwrap_or_default(),
                tlp: a.tlp.map_or(0, WireEnum::to_wire),
                observed_at_ms: a.at.map_or(0, |t| ms(t.into())),
            };
            let event = FeedbackEvent::from_pb(client.create_referral(req).await.map_err(status_error)?.into_inner())?;
            if out.json {
                out.json(&event);
            } else {
                print_feedback_event(&event);
            }
            Ok(())
        }
    }
}
