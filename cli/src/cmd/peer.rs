//! `jaring peer add|list|show|set|remove`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jaring_node::model::{Category, Kind, Tlp, Trust};
use jaring_proto::pb;
use serde::Serialize;

use jaring_node::wire::WireEnum;
use jaring_node::wire::admin::trust_wire;

use super::parse_list;
use crate::client::{Target, status_error};
use crate::output::{Output, join, time};

/// Peer commands.
#[derive(Debug, Subcommand)]
pub enum PeerCmd {
    /// Import a peer's identity card with a trust level and sharing agreement.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node peer add --identity vn.identity.json --trust trusted --share-max-tlp green --relay\n  jaring --node ./id-node peer add --identity th.identity.json --member-only"
    )]
    Add(AddArgs),
    /// List peers.
    #[command(after_help = "Example:\n  jaring --node ./id-node peer list --json")]
    List,
    /// Show one peer.
    #[command(after_help = "Example:\n  jaring --node ./id-node peer show VN")]
    Show {
        /// Peer node id.
        node_id: String,
    },
    /// Change a peer's trust or agreement (takes effect at once).
    #[command(after_help = "Example:\n  jaring --node ./id-node peer set VN --trust blocked")]
    Set(SetArgs),
    /// Remove a peer: its streams close and its handshakes are refused.
    #[command(after_help = "Example:\n  jaring --node ./id-node peer remove VN")]
    Remove {
        /// Peer node id.
        node_id: String,
    },
}

/// Agreement flags shared by `add` and `set`.
#[derive(Debug, Args, Default)]
pub struct AgreementArgs {
    /// Kinds shared with the peer (comma-separated; default all).
    #[arg(long)]
    share_kinds: Vec<String>,
    /// Highest TLP shared: clear, green, amber, amber+strict (default green; RED never).
    #[arg(long)]
    share_max_tlp: Option<Tlp>,
    /// Categories shared (comma-separated; default all).
    #[arg(long)]
    share_categories: Vec<String>,
    /// Relay other origins' federation-distribution indicators to this peer.
    #[arg(long)]
    relay: Option<Option<bool>>,
    /// Kinds accepted without review (comma-separated; default all).
    #[arg(long)]
    accept_kinds: Vec<String>,
    /// Lower confidence goes to review.
    #[arg(long)]
    accept_min_confidence: Option<u32>,
}

/// `peer add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The peer's identity.json.
    #[arg(long)]
    identity: PathBuf,
    /// trusted (stored at once) or review (held for an analyst).
    #[arg(long, default_value = "review")]
    trust: Trust,
    /// Accept this origin's keys on relayed indicators, but never connect to it.
    #[arg(long)]
    member_only: bool,
    /// Dial this address instead of the card's endpoint.
    #[arg(long)]
    endpoint: Option<String>,
    #[command(flatten)]
    agreement: AgreementArgs,
}

/// `peer set` options.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Peer node id.
    node_id: String,
    /// trusted, review or blocked.
    #[arg(long)]
    trust: Option<Trust>,
    /// Dial this address instead of the card's endpoint.
    #[arg(long)]
    endpoint: Option<String>,
    #[command(flatten)]
    agreement: AgreementArgs,
}

impl AgreementArgs {
    fn touches_outbound(&self) -> bool {
        !self.share_kinds.is_empty()
            || self.share_max_tlp.is_some()
            || !self.share_categories.is_empty()
            || self.relay.is_some()
    }

    fn touches_inbound(&self) -> bool {
        !self.accept_kinds.is_empty() || self.accept_min_confidence.is_some()
    }

    fn outbound(&self, base: Option<&pb::OutboundAgreement>) -> Result<pb::OutboundAgreement> {
        let mut a =
            base.cloned().unwrap_or(pb::OutboundAgreement { max_tlp: Tlp::Green.to_wire(), ..Default::default() });
        if !self.share_kinds.is_empty() {
            a.kinds = parse_list::<Kind>(&self.share_kinds)?.into_iter().map(WireEnum::to_wire).collect();
        }
        if let Some(t) = self.share_max_tlp {
            anyhow::ensure!(t != Tlp::Red, "--share-max-tlp: RED is never shared");
            a.max_tlp = t.to_wire();
        }
        if !self.share_categories.is_empty() {
            a.categories = parse_list::<Category>(&self.share_categories)?.into_iter().map(WireEnum::to_wire).collect();
        }
        if let Some(r) = self.relay {
            a.relay = r.unwrap_or(true);
        }
        Ok(a)
    }

    fn inbound(&self, base: Option<&pb::InboundAgreement>) -> Result<pb::InboundAgreement> {
        let mut a = base.cloned().unwrap_or_default();
        if !self.accept_kinds.is_empty() {
            a.kinds = parse_list::<Kind>(&self.accept_kinds)?.into_iter().map(WireEnum::to_wire).collect();
        }
        if let Some(c) = self.accept_min_confidence {
            anyhow::ensure!(c <= 100, "--accept-min-confidence: must be 0-100, got {c}");
            a.min_confidence = c;
        }
        Ok(a)
    }
}

#[derive(Serialize)]
struct PeerView {
    node_id: String,
    trust: String,
    member_only: bool,
    endpoint: String,
    tls_name: String,
    key_ids: Vec<String>,
    added_at_ms: i64,
    share_kinds: Vec<String>,
    share_max_tlp: String,
    share_categories: Vec<String>,
    relay: bool,
    accept_kinds: Vec<String>,
    accept_min_confidence: u32,
}

fn names<T: ToString>(v: &[i32], f: impl Fn(i32) -> Option<T>) -> Vec<String> {
    v.iter().filter_map(|&x| f(x)).map(|x| x.to_string()).collect()
}

fn view(p: &pb::PeerRecord) -> PeerView {
    let out = p.outbound.clone().unwrap_or_default();
    let inn = p.inbound.clone().unwrap_or_default();
    let trust = match pb::Trust::try_from(p.trust) {
        Ok(pb::Trust::Trusted) => "trusted",
        Ok(pb::Trust::Review) => "review",
        Ok(pb::Trust::Blocked) => "blocked",
        _ => "unknown",
    };
    PeerView {
        node_id: p.node_id.clone(),
        trust: trust.into(),
        member_only: p.member_only,
        endpoint: p.endpoint.clone(),
        tls_name: p.tls_name.clone(),
        key_ids: p.key_ids.clone(),
        added_at_ms: p.added_at_ms,
        share_kinds: names(&out.kinds, |k| Kind::from_wire(k).ok().flatten()),
        share_max_tlp: Tlp::from_wire(out.max_tlp).ok().flatten().unwrap_or(Tlp::Green).to_string(),
        share_categories: names(&out.categories, |c| Category::from_wire(c).ok().flatten()),
        relay: out.relay,
        accept_kinds: names(&inn.kinds, |k| Kind::from_wire(k).ok().flatten()),
        accept_min_confidence: inn.min_confidence,
    }
}

fn print_peer(v: &PeerView) {
    let all = |l: &[String]| if l.is_empty() { "all".to_string() } else { join(l) };
    println!(
        "{}  {}{}  {}  (tls {})",
        v.node_id,
        v.trust,
        if v.member_only { ", member only" } else { "" },
        v.endpoint,
        v.tls_name
    );
    println!(
        "  shares: kinds {} up to {} categories {}{}",
        all(&v.share_kinds),
        v.share_max_tlp,
        all(&v.share_categories),
        if v.relay { ", relays others" } else { "" }
    );
    println!("  accepts: kinds {} from confidence {}", all(&v.accept_kinds), v.accept_min_confidence);
    println!("  keys {}  added {}", v.key_ids.join(", "), time(v.added_at_ms));
}

/// Runs a peer command.
///
/// # Errors
///
/// Bad card, bad flags, node unreachable.
pub async fn run(cmd: PeerCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    let show = |p: pb::PeerRecord| {
        let v = view(&p);
        if out.json { out.json(&v) } else { print_peer(&v) }
    };
    match cmd {
        PeerCmd::Add(a) => {
            let identity_json =
                std::fs::read_to_string(&a.identity).with_context(|| format!("reading {}", a.identity.display()))?;
            let p = client
                .add_peer(pb::AddPeerRequest {
                    identity_json,
                    trust: trust_wire(a.trust),
                    member_only: a.member_only,
                    outbound: Some(a.agreement.outbound(None)?),
                    inbound: Some(a.agreement.inbound(None)?),
                    endpoint: a.endpoint.unwrap_or_default(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            show(p);
        }
        PeerCmd::List => {
            let peers = client.list_peers(pb::ListPeersRequest {}).await.map_err(status_error)?.into_inner().peers;
            if out.json {
                out.json(&peers.iter().map(view).collect::<Vec<_>>());
            } else if peers.is_empty() {
                println!("no peers");
            } else {
                for p in &peers {
                    print_peer(&view(p));
                }
            }
        }
        PeerCmd::Show { node_id } => {
            let p = client.get_peer(pb::GetPeerRequest { node_id }).await.map_err(status_error)?.into_inner();
            show(p);
        }
        PeerCmd::Set(a) => {
            let current = client
                .get_peer(pb::GetPeerRequest { node_id: a.node_id.clone() })
                .await
                .map_err(status_error)?
                .into_inner();
            let p = client
                .update_peer(pb::UpdatePeerRequest {
                    node_id: a.node_id,
                    trust: a.trust.map_or(0, trust_wire),
                    outbound: if a.agreement.touches_outbound() {
                        Some(a.agreement.outbound(current.outbound.as_ref())?)
                    } else {
                        None
                    },
                    inbound: if a.agreement.touches_inbound() {
                        Some(a.agreement.inbound(current.inbound.as_ref())?)
                    } else {
                        None
                    },
                    endpoint: a.endpoint.unwrap_or_default(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            show(p);
        }
        PeerCmd::Remove { node_id } => {
            client.remove_peer(pb::RemovePeerRequest { node_id: node_id.clone() }).await.map_err(status_error)?;
            if out.json {
                out.json(&serde_json::json!({ "removed": node_id }));
            } else {
                println!("removed peer {node_id}");
            }
        }
    }
    Ok(())
}
