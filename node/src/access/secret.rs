//! A token's secret: 32 random bytes from the OS, hex, after a prefix that
//! makes a leaked token recognisable (`jrt_`, as the TAXII tokens before
//! roles). Only its SHA-256 is kept; the secret is shown once.

use getrandom::SysRng;
use getrandom::rand_core::{Rng, UnwrapErr};
use zeroize::Zeroizing;

use super::legacy::PREFIX;

/// A new secret, and the hex SHA-256 the node keeps.
pub fn new_secret() -> (Zeroizing<String>, String) {
    let mut bytes = Zeroizing::new([0u8; 32]);
    UnwrapErr(SysRng).fill_bytes(bytes.as_mut());
    let secret = Zeroizing::new(format!("{PREFIX}{}", hex::encode(bytes.as_ref())));
    let digest = hex::encode(super::credentials::digest(&secret));
    (secret, digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let (a, da) = new_secret();
        let (b, _) = new_secret();
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        assert_ne!(*a, *b);
        assert_eq!(da, hex::encode(super::super::credentials::digest(&a)));
        assert!(!da.contains(a.trim_start_matches(PREFIX)));
    }
}
