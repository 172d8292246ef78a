//! `jaring feedback add`: report what happened to an indicator.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Args, Subcommand};
use jaring_node::feedback::{FeedbackEvent, FeedbackType};
use jaring_node::model::{Kind, Tlp};
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Target, status_error};
use crate::output::{Output, print_feedback_event};

/// Feedback commands.
#[derive(Debug, Subcommand)]
pub enum FeedbackCmd {
    /// Sign and publish a feedback event about a value this node holds an indicator for.
    ///
    /// The event inherits the indicator's categories, TLP (the most restrictive among the
    /// assertions held, unless --tlp) and distribution, and travels to the indicator's origin
    /// and to every peer allowed to see the indicator.
    #[command(
        after_help = "Examples:\n  jaring --node ./vn-node feedback add loker-kerja.co.id --type actioned --platform registrar --action suspended\n  jaring --node ./my-node feedback add loker-kerja.co.id --type sighting --note 'seen in a Facebook ad'\n  jaring --node ./id-node feedback add bank.example --type false-positive --reason 'the bank's own site'"
    )]
    Add(AddArgs),
}

/// `feedback add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The value (any form; normalized like a lookup).
    value: String,
    /// sighting, false-positive, actioned, no-action, referred (a takedown
    /// request opens a tracked case: `jaring takedown request`).
    #[arg(long = "type")]
    feedback_type: FeedbackType,
    /// The value's kind (default: every kind it parses as, the first one held).
    #[arg(long)]
    kind: Option<Kind>,
    /// Platform or registrar (required for actioned and no-action).
    #[arg(long)]
    platform: Option<String>,
    /// What the platform did (actioned), e.g. "taken down", "account frozen".
    #[arg(long = "action")]
    action_taken: Option<String>,
    /// Why (required for false-positive and no-action).
    #[arg(long)]
    reason: Option<String>,
    /// Agency referred to (referred).
    #[arg(long)]
    referred_to: Option<String>,
    /// The agency's own case reference (referred; see also `jaring referral create`).
    #[arg(long)]
    case_ref: Option<String>,
    /// Free text.
    #[arg(long)]
    note: Option<String>,
    /// When it was seen or actioned (RFC 3339; default now).
    #[arg(long)]
    at: Option<humantime::Timestamp>,
    /// Override the inherited TLP marking.
    #[arg(long)]
    tlp: Option<Tlp>,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a feedback command.
///
/// # Errors
///
/// Refused input (naming the field), unknown value, node unreachable.
pub async fn run(cmd: FeedbackCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        FeedbackCmd::Add(a) => {
            let mut client = target.connect().await?;
            let req = pb::AddFeedbackRequest {
                value: a.value,
                kind: a.kind.map_or(0, WireEnum::to_wire),
                r#type: a.feedback_type.to_wire(),
                platform: a.platform.unwrap_or_default(),
                action_taken: a.action_taken.unwrap_or_default(),
                reason: a.reason.unwrap_or_default(),
                note: a.note.unwrap_or_default(),
                referred_to: a.referred_to.unwrap_or_default(),
                case_ref: a.case_ref.unwrap_or_default(),
                observed_at_ms: a.at.map_or(0, |t| ms(t.into())),
                tlp: a.tlp.map_or(0, WireEnum::to_wire),
            };
            let event = client.add_feedback(req).await.map_err(status_error)?.into_inner();
            let event = FeedbackEvent::from_pb(event)?;
            if out.json {
                out.json(&event);
            } else {
                print_feedback_event(&event);
            }
            Ok(())
        }
    }
}
