//! The mTLS refusal matrix against a real node, driven by a raw rustls
//! client (not the node's own client code): only a current peer's valid,
//! correctly named certificate gets through, and refusals never stop the
//! node from serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jaring_certs::{DevCa, Validity};
use jaring_tests::TestNode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().expect("certificate PEM")
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("key PEM")
}

/// Connects to `node`'s federation port, verifying the server as
/// `server_name` against `server_ca`, presenting `client` if given.
/// Ok(()) if the server answered with HTTP/2 bytes after the handshake.
fn attempt(node: &TestNode, server_ca: &str, server_name: &str, client: Option<(&str, &str)>) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(server_ca) {
        roots.add(c).map_err(|e| e.to_string())?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((chain, k)) => builder.with_client_auth_cert(certs(chain), key(k)).map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(("127.0.0.1", node.fed_port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    // The HTTP/2 client preface; a node that accepted us answers with SETTINGS.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 9];
    tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
    if buf[3] != 0x04 {
        return Err(format!("not an HTTP/2 SETTINGS frame: {buf:?}"));
    }
    Ok(())
}

fn read(p: std::path::PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn only_current_peers_with_valid_named_certificates_get_in() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").init()?;
    let my = TestNode::builder("MY").init()?;
    id.add_peer(&vn, &["--trust", "trusted"])?;
    id.add_peer(&my, &["--trust", "trusted"])?;

    let id_ca = read(id.dir().join("tls/ca.pem"));
    let vn_chain = read(vn.dir().join("tls/node.pem"));
    let vn_key = read(vn.dir().join("tls/node.key"));
    let my_chain = read(my.dir().join("tls/node.pem"));
    let my_key = read(my.dir().join("tls/node.key"));
    let vn_ca = DevCa::from_pem(&read(vn.dir().join("tls/ca.pem")), &read(vn.dir().join("tls/ca.key")))?;
    let hosts = vec!["127.0.0.1".to_string()];
    let hour = Duration::from_secs(3600);
    let now = SystemTime::now();

    // The valid peer gets in.
    attempt(&id, &id_ca, "id.jaring.local", Some((&vn_chain, &vn_key))).map_err(anyhow::Error::msg)?;

    let refused = |what: &str, r: Result<(), String>| {
        assert!(r.is_err(), "{what} was let in");
        println!("{what}: refused ({})", r.err().unwrap_or_default());
    };
    refused("no client certificate", attempt(&id, &id_ca, "id.jaring.local", None));
    let stranger = DevCa::generate("XX")?.issue_node_cert("VN", &hosts, Validity::days(30))?;
    refused(
        "a certificate from an unknown CA",
        attempt(&id, &id_ca, "id.jaring.local", Some((&stranger.chain_pem, &stranger.key_pem))),
    );
    let expired = vn_ca.issue_node_cert("VN", &hosts, Validity::between(now - 48 * hour, now - 24 * hour)?)?;
    refused(
        "an expired certificate",
        attempt(&id, &id_ca, "id.jaring.local", Some((&expired.chain_pem, &expired.key_pem))),
    );
    let early = vn_ca.issue_node_cert("VN", &hosts, Validity::between(now + 24 * hour, now + 48 * hour)?)?;
    refused(
        "a not-yet-valid certificate",
        attempt(&id, &id_ca, "id.jaring.local", Some((&early.chain_pem, &early.key_pem))),
    );
    let impostor = vn_ca.issue_node_cert("MY", &hosts, Validity::days(30))?;
    refused(
        "VN's CA vouching for another node's name",
        attempt(&id, &id_ca, "id.jaring.local", Some((&impostor.chain_pem, &impostor.key_pem))),
    );
    refused(
        "a server certificate for the wrong name",
        attempt(&id, &id_ca, "vn.jaring.local", Some((&vn_chain, &vn_key))),
    );

    // Trust changes apply to the next handshake, without restart.
    id.cli(&["peer", "set", "VN", "--trust", "blocked"])?;
    refused("a blocked peer", attempt(&id, &id_ca, "id.jaring.local", Some((&vn_chain, &vn_key))));
    id.cli(&["peer", "remove", "VN"])?;
    refused("a removed peer", attempt(&id, &id_ca, "id.jaring.local", Some((&vn_chain, &vn_key))));

    // Through all of that the node kept serving its other peer and its admins.
    attempt(&id, &id_ca, "id.jaring.local", Some((&my_chain, &my_key))).map_err(anyhow::Error::msg)?;
    id.cli(&["status"])?;
    Ok(())
}
