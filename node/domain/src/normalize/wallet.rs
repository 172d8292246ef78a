//! Crypto wallets.
//!
//! Canonical form `<chain>:<address>`. Input is `<chain>:<address>` or a
//! bare address whose chain is inferred:
//! - `0x` + 40 hex digits: `eth`;
//! - `bc1...` (bech32/bech32m) or base58check starting with `1` or `3`:
//!   `btc`;
//! - base58check starting with `T`: `tron`;
//! - anything else: refused (`UnknownChain`), write the chain.
//!
//! Chain names are lower-cased; aliases: `bitcoin` is `btc`; `ethereum`,
//! `erc20` are `eth`; `trx`, `trc20` are `tron`; `bep20` is `bsc`; `matic`
//! is `polygon`. Rules per chain:
//! - `btc` (mainnet only): base58check with version 0x00 (P2PKH) or 0x05
//!   (P2SH), kept as written (base58 is case-sensitive); or a segwit
//!   address with human-readable part `bc`, bech32 for version 0 and
//!   bech32m for later versions, canonical in lower case (upper case input
//!   is accepted, mixed case is not).
//! - EVM chains `eth`, `bsc`, `polygon`, `arbitrum`, `optimism`, `base`:
//!   `0x` + 40 hex digits; a mixed-case address must carry a correct EIP-55
//!   checksum (`Eip55Mismatch` otherwise); canonical in lower case. The same
//!   address on two EVM chains is two values: the chain says where the
//!   money was seen.
//! - `tron`: base58check with version 0x41, kept as written.
//! - any other chain name `[a-z0-9]{1,32}`: the address must be 20-120 ASCII
//!   letters and digits, kept as written (no checksum known to us).

use sha3::{Digest, Keccak256};

use super::NormalizeError;

/// Chains whose addresses follow Ethereum's rules.
const EVM_CHAINS: &[&str] = &["eth", "bsc", "polygon", "arbitrum", "optimism", "base"];

/// Normalize a value of kind crypto_wallet (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    let (chain, address) = match value.split_once(':') {
        Some((chain, address)) => (canonical_chain(chain.trim())?, address.trim()),
        None => (infer_chain(value)?.to_string(), value),
    };
    let address = match chain.as_str() {
        "btc" => btc_address(address)?,
        "tron" => base58_address(address, "tron", &[0x41])?,
        evm if EVM_CHAINS.contains(&evm) => evm_address(address, evm)?,
        other => other_address(address, other)?,
    };
    Ok(format!("{chain}:{address}"))
}

/// The canonical name of a written chain name.
fn canonical_chain(chain: &str) -> Result<String, NormalizeError> {
    let lower = chain.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "bitcoin" => "btc",
        "ethereum" | "erc20" => "eth",
        "trx" | "trc20" => "tron",
        "bep20" => "bsc",
        "matic" => "polygon",
        _ => {
            let well_formed = !lower.is_empty()
                && lower.len() <= 32
                && lower.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            return if well_formed {
                Ok(lower)
            } else {
                Err(NormalizeError::InvalidChain { chain: chain.to_string() })
            };
        }
    };
    Ok(alias.to_string())
}

/// The chain of a bare address.
fn infer_chain(address: &str) -> Result<&'static str, NormalizeError> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("0x") {
        Ok("eth")
    } else if lower.starts_with("bc1") || address.starts_with(['1', '3']) {
        Ok("btc")
    } else if address.starts_with('T') {
        Ok("tron")
    } else {
        Err(NormalizeError::UnknownChain)
    }
}

fn invalid(chain: &str, reason: &'static str) -> NormalizeError {
    NormalizeError::InvalidAddress { chain: chain.to_string(), reason }
}

/// A Bitcoin mainnet address: segwit (bech32/bech32m) or base58check.
fn btc_address(address: &str) -> Result<String, NormalizeError> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") || lower.starts_with("bcrt1") {
        let (hrp, _version, _program) = bech32::segwit::decode(address)
            .map_err(|_| invalid("btc", "bad segwit (bech32/bech32m) encoding or checksum"))?;
        if hrp != bech32::hrp::BC {
            return Err(invalid("btc", "not a mainnet address"));
        }
        return Ok(lower);
    }
    base58_address(address, "btc", &[0x00, 0x05])
}

/// A base58check address of 1 version byte and a 20-byte hash.
fn base58_address(address: &str, chain: &str, versions: &[u8]) -> Result<String, NormalizeError> {
    let payload = bs58::decode(address)
        .with_check(None)
        .into_vec()
        .map_err(|_| invalid(chain, "bad base58check encoding or checksum"))?;
    match payload.split_first() {
        Some((version, hash)) if hash.len() == 20 => {
            if versions.contains(version) {
                Ok(address.to_string())
            } else {
                Err(invalid(chain, "wrong version byte"))
            }
        }
        _ => Err(invalid(chain, "wrong payload length")),
    }
}

/// An EVM address, checked against EIP-55 when mixed case, in lower case.
fn evm_address(address: &str, chain: &str) -> Result<String, NormalizeError> {
    let hex = address
        .strip_prefix("0x")
        .or_else(|| address.strip_prefix("0X"))
        .filter(|h| h.len() == 40 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| invalid(chain, "expected 0x and 40 hex digits"))?;
    let has_upper = hex.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = hex.chars().any(|c| c.is_ascii_lowercase());
    let lower = hex.to_ascii_lowercase();
    if has_upper && has_lower && !eip55_matches(hex, &lower) {
        return Err(NormalizeError::Eip55Mismatch);
    }
    Ok(format!("0x{lower}"))
}

/// Whether the capitalization of `hex` is the EIP-55 checksum of `lower`.
fn eip55_matches(hex: &str, lower: &str) -> bool {
    let hash = Keccak256::digest(lower.as_bytes());
    hex.chars().enumerate().all(|(i, c)| {
        if !c.is_ascii_alphabetic() {
            return true;
        }
        let Some(byte) = hash.get(i / 2) else {
            return false;
        };
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        c.is_ascii_uppercase() == (nibble >= 8)
    })
}

/// An address on a chain without known rules.
fn other_address(address: &str, chain: &str) -> Result<String, NormalizeError> {
    if (20..=120).contains(&address.len()) && address.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(address.to_string())
    } else {
        Err(invalid(chain, "expected 20-120 ASCII letters and digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::CryptoWallet, raw, &NormalizeContext::default())
    }

    fn invalid(chain: &str, reason: &'static str) -> NormalizeError {
        NormalizeError::InvalidAddress { chain: chain.into(), reason }
    }

    #[test]
    fn good_wallets() {
        let cases = [
            // EIP-55 test vectors: mixed case with correct checksum.
            ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            ("eth:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "eth:0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"),
            ("ETH : 0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "eth:0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"),
            ("ethereum:0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", "eth:0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"),
            // All upper or all lower case: no checksum to check.
            ("0X52908400098527886E0F7030069857D2E4169EE7", "eth:0x52908400098527886e0f7030069857d2e4169ee7"),
            ("bsc:0xde709f2102306220921060314715629080e2fb77", "bsc:0xde709f2102306220921060314715629080e2fb77"),
            ("BEP20:0x27b1fdb04752bbc536007a920d24acb045561c26", "bsc:0x27b1fdb04752bbc536007a920d24acb045561c26"),
            (
                "polygon:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "polygon:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (
                "arbitrum:0x8617E340B3D01FA5F11F306F4090FD50E238070D",
                "arbitrum:0x8617e340b3d01fa5f11f306f4090fd50e238070d",
            ),
            // Bitcoin: P2PKH, P2SH, bech32 v0 (either case), bech32m v1.
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            ("bitcoin:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "btc:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
            ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            ("BTC:BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            (
                "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
                "btc:bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            ),
            // Tron (USDT-TRC20 is the common scam payment rail).
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            ("trc20:TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7", "tron:TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"),
            ("TRX:T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb", "tron:T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"),
            // Other chains: shape only, case kept.
            ("sol:7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", "sol:7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"),
            ("XRP:rN7n7otQDd6FczFgLdSqtcsAUxDkw6fzRH", "xrp:rN7n7otQDd6FczFgLdSqtcsAUxDkw6fzRH"),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_wallets() {
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: Kind::CryptoWallet }),
            ("nonsense", NormalizeError::UnknownChain),
            ("DdzFFzCqrhsw", NormalizeError::UnknownChain),
            (":0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", NormalizeError::InvalidChain { chain: "".into() }),
            ("my chain:abc", NormalizeError::InvalidChain { chain: "my chain".into() }),
            ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", NormalizeError::Eip55Mismatch),
            ("bsc:0xFB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", NormalizeError::Eip55Mismatch),
            ("eth:0x12", invalid("eth", "expected 0x and 40 hex digits")),
            ("eth:5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", invalid("eth", "expected 0x and 40 hex digits")),
            ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", invalid("eth", "expected 0x and 40 hex digits")),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", invalid("btc", "bad base58check encoding or checksum")),
            ("btc:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", invalid("btc", "wrong version byte")),
            ("btc:mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", invalid("btc", "wrong version byte")),
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
                invalid("btc", "bad segwit (bech32/bech32m) encoding or checksum"),
            ),
            (
                "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                invalid("btc", "bad segwit (bech32/bech32m) encoding or checksum"),
            ),
            // Version 1 with a bech32 (not bech32m) checksum.
            (
                "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
                invalid("btc", "bad segwit (bech32/bech32m) encoding or checksum"),
            ),
            ("btc:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", invalid("btc", "not a mainnet address")),
            ("tron:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", invalid("tron", "wrong version byte")),
            ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T", invalid("tron", "bad base58check encoding or checksum")),
            ("sol:short", invalid("sol", "expected 20-120 ASCII letters and digits")),
            (
                "sol:7EcDhSYGxXyscszYEp35KHN8vvw3svAu-LKTzXwCFLtV",
                invalid("sol", "expected 20-120 ASCII letters and digits"),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
