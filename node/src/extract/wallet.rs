//! Crypto wallet addresses: TRON, Ethereum and other EVM chains, Bitcoin
//! (legacy base58 and bech32/bech32m).
//!
//! The shapes come from [`super::net`]; here an address must stand alone
//! (no letter or digit touching it: a 64-digit transaction hash is not an
//! address) and pass its chain's checksum through the node's own
//! normalization (base58check for TRON and Bitcoin legacy, bech32/bech32m,
//! EIP-55 for mixed-case EVM addresses). An EVM address is on `eth` unless
//! a chain is named within 60 bytes before it (`BEP20`, `BSC`, `Polygon`,
//! `Arbitrum`): the same address on two chains is two values.

use super::lexicon::{Cue, Hit};
use super::net::{Reading, Shape};
use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// How far before an EVM address a chain name counts, in bytes.
const CHAIN_WINDOW: usize = 60;

/// The wallet at `text[start..end]` of `shape`, with `hits` (the phrases
/// of the text, in order) for the chain of EVM addresses.
pub(super) fn read_wallet(
    text: &str,
    start: usize,
    end: usize,
    shape: Shape,
    hits: &[Hit],
    ctx: &NormalizeContext,
) -> Option<Reading> {
    let raw = text.get(start..end)?;
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    if before.is_some_and(char::is_alphanumeric) || after.is_some_and(char::is_alphanumeric) {
        return None;
    }
    let (input, note) = match shape {
        Shape::Evm => match chain_before(hits, start) {
            Some(chain) if chain != "eth" && chain != "tron" && chain != "btc" => {
                (format!("{chain}:{raw}"), Some("chain named in the text"))
            }
            _ => (raw.to_string(), None),
        },
        _ => (raw.to_string(), None),
    };
    let value = normalize(Kind::CryptoWallet, &input, ctx).ok()?;
    let checked = match shape {
        // All one case: EIP-55 says nothing.
        Shape::Evm => {
            let hex = raw.get(2..).unwrap_or_default();
            hex.bytes().any(|b| b.is_ascii_uppercase()) && hex.bytes().any(|b| b.is_ascii_lowercase())
        }
        _ => true,
    };
    Some((Kind::CryptoWallet, value, if checked { 95 } else { 85 }, note))
}

/// The chain named nearest before `at`, within [`CHAIN_WINDOW`] bytes.
fn chain_before(hits: &[Hit], at: usize) -> Option<&'static str> {
    let idx = hits.partition_point(|h| h.start < at);
    hits[..idx].iter().rev().take_while(|h| h.end + CHAIN_WINDOW >= at).find_map(|h| match h.cue {
        Cue::Chain(c) => Some(c),
        _ => None,
    })
}
