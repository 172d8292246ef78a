//! A node's development CA and the node certificates it issues.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::names::{check_node_id, node_sans};
use crate::{CertError, Validity};

/// How long a dev CA is valid.
const CA_VALIDITY_DAYS: u32 = 10 * 365;

/// A node's certificate authority: the CA certificate (which goes into the
/// node's identity card, so peers can verify the node) and its private key.
///
/// `Debug` never prints the private key.
#[derive(Clone)]
pub struct DevCa {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    /// The CA private key, PEM (PKCS#8). Secret: write it with
    /// [`write_pem_secret`](crate::write_pem_secret).
    pub key_pem: String,
}

impl fmt::Debug for DevCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCa").field("cert_pem", &self.cert_pem).field("key_pem", &"<secret>").finish()
    }
}

/// A node certificate issued by a [`DevCa`]: the PEM chain to present in TLS
/// (leaf first, then the CA) and the leaf's private key.
///
/// `Debug` never prints the private key.
#[derive(Clone)]
pub struct NodeCert {
    /// Leaf certificate then CA certificate, PEM.
    pub chain_pem: String,
    /// The leaf's private key, PEM (PKCS#8). Secret: write it with
    /// [`write_pem_secret`](crate::write_pem_secret).
    pub key_pem: String,
}

impl fmt::Debug for NodeCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeCert").field("chain_pem", &self.chain_pem).field("key_pem", &"<secret>").finish()
    }
}

impl DevCa {
    /// Makes a new CA for `node_id`: a fresh ECDSA P-256 key and a self-signed
    /// certificate with common name `Jaring dev CA <node_id>`, valid for ten
    /// years from an hour ago, basic constraints `cA = true` with path length
    /// 0 (it signs node certificates only), key usage `keyCertSign` and
    /// `cRLSign`.
    ///
    /// # Errors
    ///
    /// [`CertError::InvalidNodeId`] if the node id cannot make a TLS name,
    /// [`CertError::KeyGeneration`] or [`CertError::Sign`] if rcgen fails.
    pub fn generate(node_id: &str) -> Result<DevCa, CertError> {
        check_node_id(node_id)?;
        let (not_before, not_after) = Validity::days(CA_VALIDITY_DAYS).to_offset_date_times()?;
        let mut params = CertificateParams::default();
        params.not_before = not_before;
        params.not_after = not_after;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, format!("Jaring dev CA {node_id}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];

        let key = new_key()?;
        let cert = params.self_signed(&key).map_err(|source| CertError::Sign { what: "CA", source })?;
        Ok(DevCa { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// Loads an existing CA (for example `tls/ca.pem` and `tls/ca.key`), to
    /// issue more node certificates from it.
    ///
    /// # Errors
    ///
    /// [`CertError::CaCertificate`] or [`CertError::CaKey`] if a PEM does not
    /// parse, [`CertError::NotACa`] if the certificate is not a CA,
    /// [`CertError::CaKeyMismatch`] if the key is not the certificate's.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<DevCa, CertError> {
        let ca = DevCa { cert_pem: cert_pem.to_owned(), key_pem: key_pem.to_owned() };
        // Checks the key, the certificate and that they belong together.
        ca.issuer()?;
        Ok(ca)
    }

    /// Issues a node certificate for `node_id` with a fresh ECDSA P-256 key.
    ///
    /// The certificate has common name `node_id`; subject alternative names
    /// [`tls_name(node_id)`](crate::tls_name), then each of `hosts` (an IP
    /// SAN if it parses as an IP address, `[v6]` brackets allowed, else a DNS
    /// SAN), then `localhost` and `127.0.0.1`; extended key usage
    /// `serverAuth` and `clientAuth` (the same certificate serves the
    /// federation listener and dials peers); key usage `digitalSignature`.
    ///
    /// # Errors
    ///
    /// [`CertError::InvalidNodeId`] or [`CertError::InvalidHost`] for names
    /// that cannot go into a certificate, [`CertError::InvalidValidity`] for a
    /// window X.509 cannot express, the errors of [`DevCa::from_pem`] if this
    /// CA's PEM fields were edited into something unusable, and
    /// [`CertError::KeyGeneration`] or [`CertError::Sign`] if rcgen fails.
    pub fn issue_node_cert(&self, node_id: &str, hosts: &[String], validity: Validity) -> Result<NodeCert, CertError> {
        check_node_id(node_id)?;
        let issuer = self.issuer()?;
        let (not_before, not_after) = validity.to_offset_date_times()?;

        let mut params = CertificateParams::default();
        params.not_before = not_before;
        params.not_after = not_after;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, node_id);
        params.subject_alt_names = node_sans(node_id, hosts)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;

        let key = new_key()?;
        let cert = params.signed_by(&key, &issuer).map_err(|source| CertError::Sign { what: "node", source })?;

        let mut chain_pem = cert.pem();
        if !chain_pem.ends_with('\n') {
            chain_pem.push('\n');
        }
        chain_pem.push_str(&self.cert_pem);
        Ok(NodeCert { chain_pem, key_pem: key.serialize_pem() })
    }

    /// The rcgen issuer for this CA, after checking the certificate is a CA
    /// and the key is its key.
    fn issuer(&self) -> Result<Issuer<'static, KeyPair>, CertError> {
        let key = KeyPair::from_pem(&self.key_pem).map_err(CertError::CaKey)?;

        let der = first_certificate_der(&self.cert_pem)?;
        let (_, x509) = X509Certificate::from_der(&der)
            .map_err(|_| CertError::CaCertificate(rcgen::Error::CouldNotParseCertificate))?;
        let is_ca = x509
            .basic_constraints()
            .map_err(|_| CertError::CaCertificate(rcgen::Error::CouldNotParseCertificate))?
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(CertError::NotACa);
        }
        if x509.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
            return Err(CertError::CaKeyMismatch);
        }

        Issuer::from_ca_cert_der(&der.into(), key).map_err(CertError::CaCertificate)
    }
}

fn new_key() -> Result<KeyPair, CertError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CertError::KeyGeneration)
}

/// The DER bytes of the first `CERTIFICATE` block in `pem`.
fn first_certificate_der(pem: &str) -> Result<Vec<u8>, CertError> {
    let unusable = || CertError::CaCertificate(rcgen::Error::CouldNotParseCertificate);
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| unusable())?;
    if block.label != "CERTIFICATE" {
        return Err(unusable());
    }
    Ok(block.contents)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use x509_parser::extensions::GeneralName;
    use x509_parser::pem::Pem;

    use super::*;

    /// Every certificate in a PEM string, as DER.
    fn ders(pem: &str) -> Vec<Vec<u8>> {
        Pem::iter_from_buffer(pem.as_bytes()).map(|p| p.unwrap().contents).collect()
    }

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        X509Certificate::from_der(der).unwrap().1
    }

    fn common_name(cert: &X509Certificate<'_>) -> String {
        cert.subject().iter_common_name().next().unwrap().as_str().unwrap().to_owned()
    }

    fn unix(t: SystemTime) -> i64 {
        i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
    }

    #[test]
    fn ca_is_a_ca() {
        let ca = DevCa::generate("ID").unwrap();
        let der = &ders(&ca.cert_pem)[0];
        let cert = parse(der);

        assert_eq!(common_name(&cert), "Jaring dev CA ID");
        assert_eq!(cert.subject(), cert.issuer(), "self-signed");
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical);
        assert!(bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert!(!ku.digital_signature());

        let validity = cert.validity();
        let years = validity.not_after.timestamp() - validity.not_before.timestamp();
        assert!(years > 9 * 365 * 86_400 && years < 11 * 365 * 86_400);
        assert!(validity.not_before.timestamp() < unix(SystemTime::now()));
    }

    #[test]
    fn node_cert_names_eku_and_chain() {
        let ca = DevCa::generate("ID").unwrap();
        let hosts = vec!["id.example.org".to_owned(), "192.0.2.10".to_owned()];
        let node = ca.issue_node_cert("ID", &hosts, Validity::days(30)).unwrap();

        let chain = ders(&node.chain_pem);
        assert_eq!(chain.len(), 2, "leaf then CA");
        assert_eq!(chain[1], ders(&ca.cert_pem)[0]);
        let leaf = parse(&chain[0]);
        let ca_cert = parse(&chain[1]);

        assert_eq!(common_name(&leaf), "ID");
        assert_eq!(leaf.issuer(), ca_cert.subject());
        leaf.verify_signature(Some(ca_cert.public_key())).unwrap();

        let sans = &leaf.subject_alternative_name().unwrap().unwrap().value.general_names;
        let dns: Vec<&str> = sans
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(*d),
                _ => None,
            })
            .collect();
        let ips: Vec<IpAddr> = sans
            .iter()
            .filter_map(|n| match n {
                GeneralName::IPAddress(b) => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                _ => None,
            })
            .collect();
        assert_eq!(dns, ["id.jaring.local", "id.example.org", "localhost"]);
        assert_eq!(ips, [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), IpAddr::V4(Ipv4Addr::LOCALHOST)]);

        let eku = leaf.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        assert!(!eku.any);
        let bc = leaf.basic_constraints().unwrap().unwrap().value;
        assert!(!bc.ca);
        assert!(leaf.key_usage().unwrap().unwrap().value.digital_signature());
    }

    #[test]
    fn explicit_validity_is_written_as_given() {
        let ca = DevCa::generate("VN").unwrap();
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let expired = Validity::between(now - 10 * day, now - day).unwrap();
        let node = ca.issue_node_cert("VN", &[], expired).unwrap();
        let leaf_der = &ders(&node.chain_pem)[0];
        let leaf = parse(leaf_der);
        assert_eq!(leaf.validity().not_before.timestamp(), unix(now - 10 * day));
        assert_eq!(leaf.validity().not_after.timestamp(), unix(now - day));
        assert!(!leaf.validity().is_valid());

        let later = Validity::between(now + day, now + 10 * day).unwrap();
        let node = ca.issue_node_cert("VN", &[], later).unwrap();
        let leaf_der = &ders(&node.chain_pem)[0];
        assert!(parse(leaf_der).validity().not_before.timestamp() > unix(now));

        let days = Validity::days(2);
        assert!(days.not_before() < now);
        assert!(days.not_after() > now + day);

        assert!(matches!(Validity::between(now, now), Err(CertError::InvalidValidity { .. })));
    }

    #[test]
    fn loaded_ca_issues_certificates_that_chain_to_it() {
        let ca = DevCa::generate("MY").unwrap();
        let loaded = DevCa::from_pem(&ca.cert_pem, &ca.key_pem).unwrap();
        let node = loaded.issue_node_cert("MY", &[], Validity::days(1)).unwrap();
        let chain = ders(&node.chain_pem);
        let leaf = parse(&chain[0]);
        let ca_der = &ders(&ca.cert_pem)[0];
        let ca_cert = parse(ca_der);
        assert_eq!(leaf.issuer().as_raw(), ca_cert.subject().as_raw());
        leaf.verify_signature(Some(ca_cert.public_key())).unwrap();
    }

    #[test]
    fn from_pem_rejects_bad_material() {
        let ca = DevCa::generate("ID").unwrap();
        let other = DevCa::generate("VN").unwrap();
        assert!(matches!(DevCa::from_pem(&ca.cert_pem, &other.key_pem), Err(CertError::CaKeyMismatch)));
        assert!(matches!(DevCa::from_pem("not a pem", &ca.key_pem), Err(CertError::CaCertificate(_))));
        assert!(matches!(DevCa::from_pem(&ca.cert_pem, "not a key"), Err(CertError::CaKey(_))));
        let node = ca.issue_node_cert("ID", &[], Validity::days(1)).unwrap();
        assert!(matches!(DevCa::from_pem(&node.chain_pem, &node.key_pem), Err(CertError::NotACa)));
    }

    #[test]
    fn debug_never_prints_keys() {
        let ca = DevCa::generate("ID").unwrap();
        let node = ca.issue_node_cert("ID", &[], Validity::days(1)).unwrap();
        for debug in [format!("{ca:?}"), format!("{node:?}")] {
            assert!(!debug.contains("PRIVATE KEY"), "{debug}");
            assert!(debug.contains("<secret>"));
        }
    }

    #[test]
    fn bad_node_ids_are_refused() {
        let ca = DevCa::generate("ID").unwrap();
        assert!(matches!(ca.issue_node_cert("a b", &[], Validity::days(1)), Err(CertError::InvalidNodeId { .. })));
        assert!(matches!(DevCa::generate(""), Err(CertError::InvalidNodeId { .. })));
    }
}
