//! IP addresses.
//!
//! Canonical form: `std::net::IpAddr`'s text (IPv6 compressed and lower
//! case per RFC 5952; IPv4-mapped IPv6 stays IPv6, printed as
//! `::ffff:192.0.2.1`). IPv6 may be written in brackets (`[::1]`). Networks
//! in CIDR notation are refused (`CidrNotIp`), as are ports, zone ids and
//! the ambiguous forms `std` refuses (leading zeros such as `01.2.3.4`,
//! hexadecimal or shortened IPv4).

use std::net::IpAddr;

use super::NormalizeError;

/// Normalize a value of kind ip (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    if value.contains('/') {
        return Err(NormalizeError::CidrNotIp);
    }
    let inner = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
    inner.parse::<IpAddr>().map(|ip| ip.to_string()).map_err(|_| NormalizeError::InvalidIp)
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::Ip, raw, &NormalizeContext::default())
    }

    #[test]
    fn good_ips() {
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            (" 8.8.8.8\n", "8.8.8.8"),
            ("0.0.0.0", "0.0.0.0"),
            ("255.255.255.255", "255.255.255.255"),
            ("2001:DB8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[::1]", "::1"),
            ("::", "::"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8::0:1", "2001:db8::1"),
            ("fe80::1", "fe80::1"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::FFFF:C000:0201", "::ffff:192.0.2.1"),
            ("[192.0.2.1]", "192.0.2.1"),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_ips() {
        let cases = [
            ("", NormalizeError::Empty { kind: Kind::Ip }),
            ("1.2.3.0/24", NormalizeError::CidrNotIp),
            ("2001:db8::/32", NormalizeError::CidrNotIp),
            ("01.2.3.4", NormalizeError::InvalidIp),
            ("1.2.3", NormalizeError::InvalidIp),
            ("256.1.1.1", NormalizeError::InvalidIp),
            ("1.2.3.4.5", NormalizeError::InvalidIp),
            ("0x7f.0.0.1", NormalizeError::InvalidIp),
            ("1.2.3.4:80", NormalizeError::InvalidIp),
            ("[::1]:80", NormalizeError::InvalidIp),
            ("[::1", NormalizeError::InvalidIp),
            ("fe80::1%eth0", NormalizeError::InvalidIp),
            ("::ffff::1", NormalizeError::InvalidIp),
            ("1. 2.3.4", NormalizeError::InvalidIp),
            ("example.com", NormalizeError::InvalidIp),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
