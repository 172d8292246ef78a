//! `jaring token create|list|show|revoke`: the credentials of every party
//! (crawlers, platforms, analysts, auditors, TAXII readers).
//!
//! Tokens are made and revoked through the admin API, so every change is
//! audited with the acting token's name; the node keeps only the SHA-256
//! of each secret, in its store. The secret is printed once. Revocation and
//! expiry apply at the next request. Tokens of `DIR/http-tokens.json`
//! (written by older versions) keep working as `reader` tokens and are
//! listed with source `file`.

use anyhow::{Result, bail};
use clap::Subcommand;
use jaring_node::access::{Cidr, Rate, Role};
use jaring_node::model::{Category, Kind, Tlp};
use jaring_node::wire::WireEnum;
use jaring_proto::pb;

use super::parse_list;
use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Make a token of a role; prints its secret once.
    #[command(after_help = "Examples:\n  \
        jaring --node ./id-node token create kominfo-crawler --role submitter --expires 90d\n  \
        jaring --node ./id-node token create meta --role platform --platform meta --max-tlp green \\\n      \
        --kinds domain,url --allow-from 203.0.113.0/24 --rate 50/s\n  \
        jaring --node ./id-node token create bssn-audit --role auditor\n  \
        jaring --node ./id-node token create opencti --role reader --max-tlp green")]
    Create {
        /// Who holds it (letters, digits, '-', '_', '.'); recorded as the
        /// actor of everything done with it.
        name: String,
        /// admin, analyst, submitter, platform, auditor, reader (the
        /// default: a TAXII and MISP feed consumer, as before roles).
        #[arg(long, default_value = "reader")]
        role: Role,
        /// Most restricted TLP it may read: clear, green, amber,
        /// amber+strict, red (default: the role's).
        #[arg(long)]
        max_tlp: Option<Tlp>,
        /// Kinds it may read (comma-separated; default all).
        #[arg(long)]
        kinds: Vec<String>,
        /// Categories it may read (comma-separated; default all).
        #[arg(long)]
        categories: Vec<String>,
        /// The platform a platform token speaks for (required with
        /// --role platform).
        #[arg(long)]
        platform: Option<String>,
        /// Lifetime, e.g. 90d, 12h (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
        /// Networks it may be used from (CIDR, comma-separated; default any).
        #[arg(long)]
        allow_from: Vec<String>,
        /// Request rate, e.g. 20/s or 600/min (default: the role's).
        #[arg(long)]
        rate: Option<Rate>,
        /// Needed with --max-tlp red (or an admin token): TLP:RED is for
        /// named recipients only, and a token is easily shared.
        #[arg(long)]
        allow_red: bool,
    },
    /// List tokens (names, roles and scopes, never secrets).
    List,
    /// One token.
    Show {
        /// Token name.
        name: String,
    },
    /// Revoke a token; its holder is refused from the next request on.
    Revoke {
        /// Token name.
        name: String,
        /// Why (recorded in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The token this command runs with (--token-file or admin.token).
    Whoami,
}

fn expiry(s: &str) -> Result<i64> {
    let d =
        humantime::parse_duration(s).map_err(|e| anyhow::anyhow!("--expires {s:?}: {e} (use e.g. 90d, 12h, 30m)"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(i64::try_from(now.saturating_add(d).as_millis()).unwrap_or(i64::MAX))
}

fn scope_text(t: &pb::TokenRecord) -> String {
    let names = |v: Vec<String>, all: &str| if v.is_empty() { all.to_string() } else { v.join(",") };
    let kinds = names(
        t.kinds.iter().filter_map(|k| Kind::from_wire(*k).ok().flatten()).map(|k| k.as_str().to_string()).collect(),
        "all kinds",
    );
    let cats = names(
        t.categories
            .iter()
            .filter_map(|c| Category::from_wire(*c).ok().flatten())
            .map(|c| c.as_str().to_string())
            .collect(),
        "all categories",
    );
    let tlp = Tlp::from_wire(t.max_tlp).ok().flatten().map_or_else(|| "?".to_string(), |t| t.to_string());
    format!("max TLP {tlp}, {kinds}, {cats}")
}

fn print_token(t: &pb::TokenRecord) {
    let state = if t.revoked_at_ms != 0 {
        format!("REVOKED {} by {}", time(t.revoked_at_ms), t.revoked_by)
    } else if t.expires_at_ms != 0 {
        format!("expires {}", time(t.expires_at_ms))
    } else {
        "no expiry".to_string()
    };
    let platform = if t.platform.is_empty() { String::new() } else { format!(", platform {}", t.platform) };
    let from = if t.allow_from.is_empty() { String::new() } else { format!(", from {}", t.allow_from.join(",")) };
    let rate = if t.rate_per_s == 0 { "unlimited".to_string() } else { format!("{}/s", t.rate_per_s) };
    println!("{:<24} {:<9} {}{platform}{from}, rate {rate}, {state} [{}]", t.name, t.role, scope_text(t), t.source);
}

/// Runs a token command.
///
/// # Errors
///
/// Bad input, refused by the node (e.g. a token whose role may not make
/// tokens), node unreachable.
pub async fn run(cmd: TokenCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    match cmd {
        TokenCmd::Create { name, role, max_tlp, kinds, categories, platform, expires, allow_from, rate, allow_red } => {
            let red = max_tlp.unwrap_or(role.default_max_tlp()) == Tlp::Red;
            if red && !allow_red {
                bail!(
                    "this token would see TLP:RED (--max-tlp red, or the admin role's default): it hands RED \
                     indicators to whoever holds it; pass --allow-red if that is what the agreement says"
                );
            }
            let kinds: Vec<Kind> = parse_list(&kinds)?;
            let categories: Vec<Category> = parse_list(&categories)?;
            let allow_from: Vec<Cidr> = parse_list(&allow_from)?;
            let r = client
                .create_token(pb::CreateTokenRequest {
                    name,
                    role: role.as_str().to_string(),
                    max_tlp: max_tlp.map_or(0, WireEnum::to_wire),
                    kinds: kinds.into_iter().map(WireEnum::to_wire).collect(),
                    categories: categories.into_iter().map(WireEnum::to_wire).collect(),
                    platform: platform.unwrap_or_default(),
                    expires_at_ms: expires.as_deref().map(expiry).transpose()?.unwrap_or(0),
                    allow_from: allow_from.iter().map(ToString::to_string).collect(),
                    rate_per_s: rate.map_or(0, |r| r.per_s),
                    rate_burst: rate.map_or(0, |r| r.burst),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let rec = r.record.unwrap_or_default();
            if out.json {
                out.json(&serde_json::json!({
                    "name": rec.name, "role": rec.role, "token": r.token, "platform": rec.platform,
                    "expires_at_ms": rec.expires_at_ms, "allow_from": rec.allow_from,
                }));
            } else {
                println!("{}", r.token);
                eprintln!("token {:?} ({}; {}): shown once, store it now", rec.name, rec.role, scope_text(&rec));
            }
        }
        TokenCmd::List => {
            let list = client.list_tokens(pb::ListTokensRequest {}).await.map_err(status_error)?.into_inner().tokens;
            if out.json {
                out.json(&list.iter().map(token_json).collect::<Vec<_>>());
            } else if list.is_empty() {
                println!("no tokens");
            } else {
                list.iter().for_each(print_token);
            }
        }
        TokenCmd::Show { name } => {
            let t = client.get_token(pb::GetTokenRequest { name }).await.map_err(status_error)?.into_inner();
            if out.json {
                out.json(&token_json(&t));
            } else {
                print_token(&t);
            }
        }
        TokenCmd::Revoke { name, reason } => {
            let t =
                client.revoke_token(pb::RevokeTokenRequest { name, reason }).await.map_err(status_error)?.into_inner();
            if out.json {
                out.json(&token_json(&t));
            } else {
                println!("revoked {:?}", t.name);
            }
        }
        TokenCmd::Whoami => {
            let t = client.who_am_i(pb::WhoAmIRequest {}).await.map_err(status_error)?.into_inner();
            if out.json {
                out.json(&token_json(&t));
            } else {
                print_token(&t);
            }
        }
    }
    Ok(())
}

fn token_json(t: &pb::TokenRecord) -> serde_json::Value {
    let tlp = Tlp::from_wire(t.max_tlp).ok().flatten().map(|t| t.to_string());
    let kinds: Vec<_> = t.kinds.iter().filter_map(|k| Kind::from_wire(*k).ok().flatten()).map(Kind::as_str).collect();
    let categories: Vec<_> =
        t.categories.iter().filter_map(|c| Category::from_wire(*c).ok().flatten()).map(Category::as_str).collect();
    serde_json::json!({
        "name": t.name, "role": t.role, "max_tlp": tlp, "kinds": kinds, "categories": categories,
        "platform": (!t.platform.is_empty()).then_some(&t.platform),
        "expires_at_ms": (t.expires_at_ms != 0).then_some(t.expires_at_ms),
        "allow_from": t.allow_from, "rate_per_s": t.rate_per_s, "rate_burst": t.rate_burst,
        "created_at_ms": t.created_at_ms, "created_by": t.created_by,
        "revoked_at_ms": (t.revoked_at_ms != 0).then_some(t.revoked_at_ms),
        "revoked_by": (!t.revoked_by.is_empty()).then_some(&t.revoked_by),
        "source": t.source,
    })
}
