//! The names a node certificate carries.

use std::net::IpAddr;

use rcgen::SanType;

use crate::CertError;

/// DNS suffix of every node's TLS name.
pub const TLS_NAME_SUFFIX: &str = "jaring.local";

/// Hosts every dev node certificate names, so a federation on one machine
/// verifies names like a real one.
pub const ALWAYS_HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

/// The DNS name that identifies `node_id` in TLS: the lower-cased node id
/// followed by `.jaring.local`.
///
/// Peers check that a node's certificate carries this name (as a DNS subject
/// alternative name) and that it chains to the CA in the node's identity card.
///
/// # Examples
///
/// ```
/// assert_eq!(jaring_certs::tls_name("ID"), "id.jaring.local");
/// assert_eq!(jaring_certs::tls_name("id-kominfo"), "id-kominfo.jaring.local");
/// ```
#[must_use]
pub fn tls_name(node_id: &str) -> String {
    format!("{}.{TLS_NAME_SUFFIX}", node_id.to_ascii_lowercase())
}

/// Checks that `node_id` makes a valid TLS name (one or more DNS labels of
/// letters, digits and hyphens).
pub(crate) fn check_node_id(node_id: &str) -> Result<(), CertError> {
    if node_id.is_empty() {
        return Err(CertError::InvalidNodeId { node_id: node_id.to_owned(), reason: "empty" });
    }
    check_dns_name(&tls_name(node_id))
        .map_err(|reason| CertError::InvalidNodeId { node_id: node_id.to_owned(), reason })
}

/// The subject alternative names of a node certificate: the TLS name, then
/// each host (an IP SAN if it parses as an IP address, else a DNS SAN), then
/// `localhost` and `127.0.0.1` unless already present.
pub(crate) fn node_sans(node_id: &str, hosts: &[String]) -> Result<Vec<SanType>, CertError> {
    let mut sans = vec![dns_san(&tls_name(node_id))?];
    let always = ALWAYS_HOSTS.iter().map(|h| (*h).to_owned());
    for host in hosts.iter().cloned().chain(always) {
        let san = host_san(&host)?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

fn host_san(host: &str) -> Result<SanType, CertError> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let lower = host.to_ascii_lowercase();
    check_dns_name(&lower).map_err(|reason| CertError::InvalidHost { host: host.to_owned(), reason })?;
    dns_san(&lower)
}

fn dns_san(name: &str) -> Result<SanType, CertError> {
    let ia5 = name.try_into().map_err(|_| CertError::InvalidHost { host: name.to_owned(), reason: "not ASCII" })?;
    Ok(SanType::DnsName(ia5))
}

/// A DNS name as certificates and TLS clients accept it: dot-separated labels
/// of 1 to 63 letters, digits and hyphens, not starting or ending with a
/// hyphen, 253 characters at most.
fn check_dns_name(name: &str) -> Result<(), &'static str> {
    if name.len() > 253 {
        return Err("longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty DNS label");
        }
        if label.len() > 63 {
            return Err("DNS label longer than 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("only letters, digits, '-' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a DNS label cannot start or end with '-'");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tls_name_lower_cases() {
        assert_eq!(tls_name("ID"), "id.jaring.local");
        assert_eq!(tls_name("Id-Kominfo"), "id-kominfo.jaring.local");
    }

    #[test]
    fn node_ids_must_be_dns_labels() {
        assert!(check_node_id("VN").is_ok());
        assert!(check_node_id("id-kominfo").is_ok());
        for bad in ["", "a b", "-x", "x-", "ümlaut", "a_b", "a..b"] {
            assert!(matches!(check_node_id(bad), Err(CertError::InvalidNodeId { .. })), "{bad:?} accepted");
        }
    }

    #[test]
    fn hosts_become_ip_or_dns_sans() {
        let hosts =
            vec!["Node.Example.org".to_owned(), "10.0.0.7".to_owned(), "[::1]".to_owned(), "localhost".to_owned()];
        let sans = node_sans("MY", &hosts).unwrap();
        let expected = vec![
            SanType::DnsName("my.jaring.local".try_into().unwrap()),
            SanType::DnsName("node.example.org".try_into().unwrap()),
            SanType::IpAddress([10, 0, 0, 7].into()),
            SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        assert_eq!(sans, expected);
        assert!(matches!(node_sans("MY", &["bad host".to_owned()]), Err(CertError::InvalidHost { .. })));
    }
}
