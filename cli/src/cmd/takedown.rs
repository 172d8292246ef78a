//! `jaring takedown request|list|show|withdraw|stats`, and the platform's
//! side through the admin API (`queue`, `acknowledge`, `outcome`: an
//! admin answering for a platform that sent its answer by other means).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use jaring_node::model::{Kind, Tlp};
use jaring_node::takedown::{Case, CaseState, Due, LevelRow, NewTakedown, Outcome, ServiceLevels};
use jaring_node::wire::takedown::outcome_to_pb;
use jaring_node::wire::{FromPb, ToPb, WireEnum};
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Client, Target, status_error};
use crate::output::{Output, time};

/// Takedown commands.
#[derive(Debug, Subcommand)]
pub enum TakedownCmd {
    /// Ask a platform to take a held value down (opens a case).
    ///
    /// The request is a signed feedback event that travels like the
    /// indicator; every answer is another. A second request for the same
    /// value and platform returns the open case. If another country already
    /// asked the platform, the request is refused naming its case, unless
    /// --also.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node takedown request loker-kerja.co.id --platform meta --due 48h\n  \
                            jaring --node ./id-node takedown request 'BCA 123-456-7890' --kind bank_account --platform bca --note 'mule account, see ID report 42'"
    )]
    Request(RequestArgs),
    /// Cases held: this node's (or every origin's with --all), oldest first.
    #[command(after_help = "Examples:\n  jaring --node ./id-node takedown list --platform meta --state requested\n  \
                            jaring --node ./id-node takedown list --overdue\n  jaring --node ./vn-node takedown list --all")]
    List(ListArgs),
    /// One case with its history.
    Show {
        /// Case id, e.g. ID-17.
        id: String,
    },
    /// Withdraw one of this node's open cases.
    Withdraw {
        /// Case id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Time to acknowledge and to outcome per platform and per requesting
    /// country, over 7, 30 and 90 days.
    Stats,
    /// One platform's queue of this node's cases (what its token sees).
    Queue {
        /// The platform.
        #[arg(long)]
        platform: String,
        /// Only these states (default: requested and acknowledged).
        #[arg(long = "state")]
        states: Vec<CaseState>,
        /// The platform's TLP ceiling.
        #[arg(long, default_value = "amber")]
        max_tlp: Tlp,
    },
    /// Record that the platform has seen a case (on its behalf).
    Acknowledge {
        /// Case id.
        id: String,
        /// The platform answering (default: the case's).
        #[arg(long)]
        platform: Option<String>,
        /// Notes.
        #[arg(long)]
        note: Option<String>,
        /// When (RFC 3339; default now).
        #[arg(long)]
        at: Option<humantime::Timestamp>,
    },
    /// Record the platform's outcome: --actioned WHAT or --refused WHY.
    #[command(after_help = "Examples:\n  jaring --node ./id-node takedown outcome ID-17 --actioned 'page removed'\n  \
                            jaring --node ./id-node takedown outcome ID-18 --refused 'no violation of our policies'")]
    Outcome {
        /// Case id.
        id: String,
        /// What the platform did.
        #[arg(long, conflicts_with = "refused", required_unless_present = "refused")]
        actioned: Option<String>,
        /// Why the platform declined.
        #[arg(long)]
        refused: Option<String>,
        /// The platform answering (default: the case's).
        #[arg(long)]
        platform: Option<String>,
        /// Notes.
        #[arg(long)]
        note: Option<String>,
        /// When (RFC 3339; default now).
        #[arg(long)]
        at: Option<humantime::Timestamp>,
    },
}

/// `takedown request` options.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The value (any form; normalized like a lookup).
    value: String,
    /// The platform asked: meta, tiktok, telegram, google, a registrar, a bank or e-wallet provider.
    #[arg(long)]
    platform: String,
    /// The value's kind (default: every kind it parses as, the first one held).
    #[arg(long)]
    kind: Option<Kind>,
    /// For the platform.
    #[arg(long)]
    note: Option<String>,
    /// How long the platform has for an outcome, e.g. 48h, 3days (default: the node's [takedown] default_due).
    #[arg(long, conflicts_with = "due_at")]
    due: Option<humantime::Duration>,
    /// The due time itself (RFC 3339; may be in the past).
    #[arg(long)]
    due_at: Option<humantime::Timestamp>,
    /// Override the inherited TLP marking.
    #[arg(long)]
    tlp: Option<Tlp>,
    /// Ask even though another country's case for this value and platform is open.
    #[arg(long)]
    also: bool,
}

/// `takedown list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only cases addressed to this platform.
    #[arg(long)]
    platform: Option<String>,
    /// Only cases in this state (repeatable): requested, acknowledged, actioned, refused, expired, withdrawn.
    #[arg(long = "state")]
    states: Vec<CaseState>,
    /// Only cases whose due time passed without an outcome.
    #[arg(long)]
    overdue: bool,
    /// Every origin's cases held here, not only this node's.
    #[arg(long)]
    all: bool,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn case(c: Option<pb::TakedownCase>) -> Result<Case> {
    match c {
        Some(c) => Ok(Case::from_pb(c)?),
        None => bail!("the node answered without the case"),
    }
}

/// `12h`, `1d 2h`, `45s`: a duration for people.
pub fn span(ms: i64) -> String {
    humantime::format_duration(Duration::from_secs(u64::try_from(ms.max(0) / 1000).unwrap_or(0))).to_string()
}

fn print_case_line(c: &Case) {
    let due = match c.due_at_ms {
        Some(d) if c.is_overdue(jaring_node::model::now_ms()) => format!("  due {} (overdue)", time(d)),
        Some(d) => format!("  due {}", time(d)),
        None => String::new(),
    };
    println!(
        "{id:<14} {platform:<12} {state:<12} {kind} {value}  {tlp}  requested {at}{due}",
        id = c.id.to_string(),
        platform = c.platform,
        state = c.state.as_str(),
        kind = c.kind,
        value = c.plain_value.as_deref().unwrap_or(&c.value),
        tlp = c.tlp.label(),
        at = time(c.requested_at_ms),
    );
}

/// A case with its history, human layout.
pub fn print_case(c: &Case) {
    println!(
        "case {id}: {kind} {value} asked of {platform} ({tlp}): {state}",
        id = c.id,
        kind = c.kind,
        value = c.plain_value.as_deref().unwrap_or(&c.value),
        platform = c.platform,
        tlp = c.tlp.label(),
        state = c.state,
    );
    if let Some(d) = c.due_at_ms {
        let overdue = if c.is_overdue(jaring_node::model::now_ms()) { " (overdue)" } else { "" };
        println!("  due {}{overdue}", time(d));
    }
    if let Some(o) = &c.indicator_origin {
        println!("  about {o}'s indicator {}", c.indicator_id.as_deref().unwrap_or("-"));
    }
    for e in &c.events {
        let after = (e.state != CaseState::Requested).then(|| format!(" (+{})", span(e.at_ms - c.requested_at_ms)));
        let mut line = format!("  {:<13} {}{}", e.state.as_str(), time(e.at_ms), after.unwrap_or_default());
        for v in [&e.action_taken, &e.reason, &e.note].into_iter().flatten() {
            line.push_str(&format!(": {v}"));
        }
        println!("{line}");
    }
}

#[derive(Serialize)]
struct RequestOut<'a> {
    created: bool,
    case: &'a Case,
}

async fn all_cases(client: &mut Client, mut req: pb::ListTakedownsRequest, limit: usize) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    loop {
        req.limit = 500;
        let resp = client.list_takedowns(req.clone()).await.map_err(status_error)?.into_inner();
        for c in resp.cases {
            out.push(Case::from_pb(c)?);
            if limit > 0 && out.len() >= limit {
                return Ok(out);
            }
        }
        if resp.next.is_empty() {
            return Ok(out);
        }
        req.after = resp.next;
    }
}

fn print_levels(levels: &ServiceLevels) {
    let row = |r: &LevelRow| {
        let d = |v: Option<i64>| v.map_or_else(|| "-".to_string(), span);
        println!(
            "    {key:<14} {req:>5} {open:>5} {ack:>5} {act:>6} {refd:>6} {exp:>6} {late:>5}  {am:>12} {om:>12} {op90:>12}",
            key = r.key,
            req = r.requested,
            open = r.open,
            ack = r.acknowledged,
            act = r.actioned,
            refd = r.refused,
            exp = r.expired,
            late = r.late,
            am = d(r.time_to_acknowledge.median_ms),
            om = d(r.time_to_outcome.median_ms),
            op90 = d(r.time_to_outcome.p90_ms),
        );
    };
    for w in &levels.windows {
        println!("last {} days (requested since {}):", w.days, time(w.since_ms));
        println!(
            "    {:<14} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>5}  {:>12} {:>12} {:>12}",
            "", "asked", "open", "ack'd", "done", "refus", "expir", "late", "ack median", "outcome med", "outcome p90"
        );
        row(&w.total);
        if !w.platforms.is_empty() {
            println!("  by platform:");
            w.platforms.iter().for_each(row);
        }
        if !w.countries.is_empty() {
            println!("  by requesting country:");
            w.countries.iter().for_each(row);
        }
    }
}

/// Runs a takedown command.
///
/// # Errors
///
/// Refused input (naming the field), unknown case or value, a case that
/// cannot take the change, node unreachable.
pub async fn run(cmd: TakedownCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    let show = |c: &Case| if out.json { out.json(c) } else { print_case(c) };
    match cmd {
        TakedownCmd::Request(a) => {
            let due = match (a.due, a.due_at) {
                (Some(d), _) => Due::In(i64::try_from(Duration::from(d).as_millis()).unwrap_or(i64::MAX)),
                (None, Some(t)) => Due::At(ms(t.into())),
                (None, None) => Due::Default,
            };
            let input = NewTakedown {
                value: a.value,
                kind: a.kind,
                platform: a.platform,
                note: a.note,
                due,
                tlp: a.tlp,
                also: a.also,
                // Not sent: the node sets it from the caller's token.
                ceiling: None,
            };
            let resp = client.request_takedown(input.to_pb()).await.map_err(status_error)?.into_inner();
            let c = case(resp.case)?;
            if out.json {
                out.json(&RequestOut { created: resp.created, case: &c });
            } else {
                if !resp.created {
                    println!("an open case for this value and platform exists already:");
                }
                print_case(&c);
            }
        }
        TakedownCmd::List(a) => {
            let req = pb::ListTakedownsRequest {
                platform: a.platform.unwrap_or_default(),
                states: a.states.iter().map(|s| s.to_wire()).collect(),
                overdue: a.overdue,
                all_origins: a.all,
                ..Default::default()
            };
            let cases = all_cases(&mut client, req, a.limit).await?;
            if out.json {
                out.json(&cases);
            } else if cases.is_empty() {
                println!("no takedown cases");
            } else {
                cases.iter().for_each(print_case_line);
            }
        }
        TakedownCmd::Show { id } => {
            let c = client.get_takedown(pb::GetTakedownRequest { id }).await.map_err(status_error)?.into_inner();
            show(&Case::from_pb(c)?);
        }
        TakedownCmd::Withdraw { id, reason } => {
            let req = pb::WithdrawTakedownRequest { id, reason: reason.unwrap_or_default() };
            let c = client.withdraw_takedown(req).await.map_err(status_error)?.into_inner();
            show(&Case::from_pb(c)?);
        }
        TakedownCmd::Stats => {
            let s = client.takedown_stats(pb::TakedownStatsRequest {}).await.map_err(status_error)?.into_inner();
            let levels = ServiceLevels::from_pb(s)?;
            if out.json {
                out.json(&levels);
            } else {
                print_levels(&levels);
            }
        }
        TakedownCmd::Queue { platform, states, max_tlp } => {
            let mut cases = Vec::new();
            let mut after = String::new();
            loop {
                let req = pb::TakedownQueueRequest {
                    platform: platform.clone(),
                    states: states.iter().map(|s| s.to_wire()).collect(),
                    max_tlp: max_tlp.to_wire(),
                    after: after.clone(),
                    limit: 500,
                };
                let resp = client.takedown_queue(req).await.map_err(status_error)?.into_inner();
                for c in resp.cases {
                    cases.push(Case::from_pb(c)?);
                }
                if resp.next.is_empty() {
                    break;
                }
                after = resp.next;
            }
            if out.json {
                out.json(&cases);
            } else if cases.is_empty() {
                println!("nothing in {platform}'s queue");
            } else {
                cases.iter().for_each(print_case_line);
            }
        }
        TakedownCmd::Acknowledge { id, platform, note, at } => {
            let req = pb::AcknowledgeTakedownRequest {
                id,
                platform: platform.unwrap_or_default(),
                note: note.unwrap_or_default(),
                at_ms: at.map_or(0, |t| ms(t.into())),
            };
            let c = client.acknowledge_takedown(req).await.map_err(status_error)?.into_inner();
            show(&Case::from_pb(c)?);
        }
        TakedownCmd::Outcome { id, actioned, refused, platform, note, at } => {
            let outcome = match (actioned, refused) {
                (Some(a), _) => Outcome::Actioned(a),
                (None, Some(r)) => Outcome::Refused(r),
                (None, None) => bail!("say --actioned WHAT or --refused WHY"),
            };
            let req = pb::TakedownOutcomeRequest {
                id,
                platform: platform.unwrap_or_default(),
                outcome: Some(outcome_to_pb(&outcome)),
                note: note.unwrap_or_default(),
                at_ms: at.map_or(0, |t| ms(t.into())),
            };
            let c = client.takedown_outcome(req).await.map_err(status_error)?.into_inner();
            show(&Case::from_pb(c)?);
        }
    }
    Ok(())
}
