//! One module per command group.

pub mod allowlist;
pub mod allowlist_import;
pub mod audit;
pub mod bench;
pub mod bench_allowlist;
pub mod bench_api;
pub mod bench_console;
pub mod bench_extract;
pub mod bench_flood;
pub mod bench_https;
pub mod bench_pg;
pub mod bench_tlog;
pub mod certs;
pub mod demo;
pub mod evidence;
pub mod export;
pub mod extract;
pub mod feedback;
pub mod hash;
pub mod identity;
pub mod import;
pub mod indicator;
pub mod init;
pub mod key;
pub mod log;
pub mod log_online;
pub mod lookup;
pub mod migrate;
pub mod peer;
pub mod referral;
pub mod review;
pub mod status;
pub mod takedown;
pub mod tls;
pub mod token;

use anyhow::{Result, anyhow};

/// Parses a comma-separated list of names (kinds, categories).
pub fn parse_list<T: std::str::FromStr>(items: &[String]) -> Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    let mut out = Vec::new();
    for item in items {
        for part in item.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(part.parse::<T>().map_err(|e| anyhow!("{e}"))?);
        }
    }
    Ok(out)
}
