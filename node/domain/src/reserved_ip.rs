//! Address ranges that are never a scam's address on the Internet:
//! private networks, loopback, link-local, carrier-grade NAT, multicast,
//! "this network", reserved and the like (IANA's special-purpose
//! registries, RFC 6890). A crawler that parses logs or HTML finds them
//! everywhere, and a blocklist holding `10.0.0.1` or `192.168.1.1` would
//! make the platforms that apply it block their own networks. They are a
//! built-in allowlist ([`crate::allowlist::BUILTIN_RESERVED_IPS`]): a
//! submission is refused, naming the range, unless published with the
//! allowlist override (audited).
//!
//! The documentation ranges (`192.0.2.0/24`, `198.51.100.0/24`,
//! `203.0.113.0/24`, `2001:db8::/32`) are not in the list: they exist in
//! no network, so no one blocks anything real with them, and examples and
//! tests use them. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are
//! judged as the IPv4 address they carry.

use std::net::IpAddr;

/// The ranges, as CIDR, with what they are.
pub const RANGES: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\" (RFC 791)"),
    ("10.0.0.0/8", "private network (RFC 1918)"),
    ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private network (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.168.0.0/16", "private network (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved, and the broadcast address (RFC 1112, RFC 919)"),
    ("::/128", "unspecified (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("ff00::/8", "multicast (RFC 4291)"),
];

/// Whether the address written `ip` (canonical text) lies in `cidr`. Both
/// unparsable, or of different families: false.
pub fn cidr_contains(cidr: &str, ip: &str) -> bool {
    let Some((net, len)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(len), Ok(ip)) = (net.parse::<IpAddr>(), len.parse::<u32>(), ip.parse::<IpAddr>()) else {
        return false;
    };
    match (net, ip.to_canonical()) {
        (IpAddr::V4(n), IpAddr::V4(a)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The reserved range `ip` lies in, with what it is.
pub fn reserved_range(ip: &str) -> Option<(&'static str, &'static str)> {
    RANGES.iter().copied().find(|(cidr, _)| cidr_contains(cidr, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_reserved_addresses_are_in_a_range_and_public_ones_are_not() {
        let reserved = [
            ("10.0.0.0", "10.0.0.0/8"),
            ("10.255.255.255", "10.0.0.0/8"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.255", "172.16.0.0/12"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("169.254.169.254", "169.254.0.0/16"),
            ("0.0.0.0", "0.0.0.0/8"),
            ("224.0.0.251", "224.0.0.0/4"),
            ("255.255.255.255", "240.0.0.0/4"),
            ("198.19.0.1", "198.18.0.0/15"),
            ("::1", "::1/128"),
            ("::", "::/128"),
            ("fd12:3456::1", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("ff02::1", "ff00::/8"),
            ("::ffff:10.1.2.3", "10.0.0.0/8"),
            ("::ffff:127.0.0.1", "127.0.0.0/8"),
        ];
        for (ip, range) in reserved {
            assert_eq!(reserved_range(ip).map(|r| r.0), Some(range), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.0",
            "100.128.0.1",
            "203.0.113.7",
            "198.51.100.7",
            "192.0.2.1",
            "2001:db8::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reserved_range(ip), None, "{ip}");
        }
    }

    #[test]
    fn cidr_edges() {
        assert!(cidr_contains("0.0.0.0/0", "8.8.8.8"));
        assert!(!cidr_contains("10.0.0.0/8", "2001:db8::1"));
        assert!(!cidr_contains("nonsense", "10.0.0.1"));
        assert!(!cidr_contains("10.0.0.0/33", "10.0.0.1"));
    }
}
