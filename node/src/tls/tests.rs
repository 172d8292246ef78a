//! Real handshakes on `127.0.0.1:0`, every wait bounded by [`PATIENCE`].
//!
//! Each node gets its own dev CA from `jaring-certs`; refusals are asserted
//! on the exact alert the client receives and on the exact [`PeerRefusal`].

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use jaring_certs::{DevCa, Validity, tls_name};
use rustls::client::WebPkiServerVerifier;
use rustls::version::{TLS12, TLS13};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_stream::StreamExt;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::transport::server::Connected;
use tower::ServiceExt;

use super::*;

/// Upper bound on every wait in these tests.
const PATIENCE: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(86_400);

/// Temp directories and certificate files for a test.
struct Pki {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl Pki {
    fn new() -> Pki {
        Pki { dir: tempfile::tempdir().unwrap(), next: AtomicUsize::new(0) }
    }

    /// Writes `ca.pem`, `node.pem` and `node.key` for a certificate `ca`
    /// issues to `node_id`, in a fresh directory.
    fn files(&self, ca: &DevCa, node_id: &str, validity: Validity) -> NodeTlsFiles {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.path().join(format!("{node_id}-{n}"));
        let node = ca.issue_node_cert(node_id, &[], validity).unwrap();
        jaring_certs::write_dev_pki(&dir, ca, &node).unwrap();
        NodeTlsFiles::in_dir(&dir)
    }

    /// A loaded certificate `ca` issues to `node_id`, valid for 30 days.
    fn own(&self, ca: &DevCa, node_id: &str) -> Arc<OwnCert> {
        self.own_valid(ca, node_id, Validity::days(30))
    }

    fn own_valid(&self, ca: &DevCa, node_id: &str, validity: Validity) -> Arc<OwnCert> {
        Arc::new(OwnCert::load(&self.files(ca, node_id, validity)).unwrap())
    }
}

fn ca(node_id: &str) -> DevCa {
    DevCa::generate(node_id).unwrap()
}

fn ca_der(ca: &DevCa) -> Vec<CertificateDer<'static>> {
    TrustedPeer::from_ca_pem("X", &ca.cert_pem).unwrap().ca_certs
}

fn peer(node_id: &str, ca: &DevCa) -> TrustedPeer {
    TrustedPeer::from_ca_pem(node_id, &ca.cert_pem).unwrap()
}

fn trust(peers: Vec<TrustedPeer>) -> PeerTrust {
    let trust = PeerTrust::new();
    assert!(trust.replace(peers).is_empty());
    trust
}

/// A federation listener on `127.0.0.1:0`.
struct Listener {
    addr: SocketAddr,
    incoming: TlsIncoming,
}

impl Listener {
    async fn start(own: Arc<OwnCert>, trust: PeerTrust) -> Listener {
        Listener::start_with(own, trust, HandshakeLimits::default()).await
    }

    async fn start_with(own: Arc<OwnCert>, trust: PeerTrust, limits: HandshakeLimits) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = server_config(own, trust.clone()).unwrap();
        Listener { addr, incoming: tls_incoming_with_limits(listener, config, trust, limits) }
    }

    /// The next authenticated connection.
    async fn next(&mut self) -> TlsConn {
        timeout(PATIENCE, self.incoming.next())
            .await
            .expect("no connection within patience")
            .expect("incoming ended")
            .expect("incoming yields no errors")
    }
}

/// A client configuration presenting `own`, trusting `server_ca`, limited to
/// `versions`.
fn client_with_versions(
    own: Arc<OwnCert>,
    server_ca: &DevCa,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for der in ca_der(server_ca) {
        roots.add(der).unwrap();
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_webpki_verifier(verifier)
        .with_client_cert_resolver(own);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// A raw TLS client handshake.
async fn handshake(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
}

fn tls_error(error: &io::Error) -> rustls::Error {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned()
        .unwrap_or_else(|| panic!("not a TLS error: {error:?}"))
}

/// Connects and expects the server to refuse: returns the TLS error the
/// client sees (in TLS 1.3 the client finishes first and gets the server's
/// alert on its first read).
async fn refused(addr: SocketAddr, name: &str, config: Arc<ClientConfig>) -> rustls::Error {
    let outcome = async {
        match handshake(addr, name, config).await {
            Err(e) => tls_error(&e),
            Ok(mut stream) => {
                let mut buf = [0u8; 1];
                match stream.read(&mut buf).await {
                    Err(e) => tls_error(&e),
                    Ok(n) => panic!("server did not refuse (read {n} bytes)"),
                }
            }
        }
    };
    timeout(PATIENCE, outcome).await.expect("no refusal within patience")
}

/// Connects, waits for the listener to yield the connection, and checks that
/// bytes flow; returns both ends.
async fn accepted(
    listener: &mut Listener,
    name: &str,
    config: Arc<ClientConfig>,
) -> (tokio_rustls::client::TlsStream<TcpStream>, TlsConn) {
    let client = tokio::spawn({
        let (addr, name) = (listener.addr, name.to_owned());
        async move { handshake(addr, &name, config).await }
    });
    let mut server = listener.next().await;
    let mut client = timeout(PATIENCE, client).await.unwrap().unwrap().unwrap();
    assert_flows(&mut client, &mut server).await;
    (client, server)
}

async fn assert_flows(client: &mut tokio_rustls::client::TlsStream<TcpStream>, server: &mut TlsConn) {
    server.write_all(b"ok").await.unwrap();
    server.flush().await.unwrap();
    let mut buf = [0u8; 2];
    timeout(PATIENCE, client.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"ok");
}

fn leaf_presented(client: &tokio_rustls::client::TlsStream<TcpStream>) -> CertificateDer<'static> {
    client.get_ref().1.peer_certificates().unwrap()[0].clone()
}

fn leaf_on_disk(files: &NodeTlsFiles) -> CertificateDer<'static> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::from_pem_file(&files.cert).unwrap()
}

#[tokio::test]
async fn mutual_tls_identifies_the_peer_in_tls12_and_tls13() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let own_b = pki.own(&ca_b, "B");
    let mut listener = Listener::start(pki.own(&ca_a, "A"), trust(vec![peer("B", &ca_b)])).await;

    for version in [&TLS12, &TLS13] {
        let config = client_with_versions(own_b.clone(), &ca_a, &[version]);
        let (client, server) = accepted(&mut listener, &tls_name("A"), config).await;

        assert_eq!(server.peer().node_id, "B");
        assert_eq!(server.peer().remote_addr, client.get_ref().0.local_addr().unwrap());
        assert_eq!(server.connect_info(), server.peer().clone());
        let session = server.get_ref().get_ref().1;
        assert_eq!(session.protocol_version(), Some(version.version));
        assert_eq!(session.alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(client.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    }
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let listener = Listener::start(pki.own(&ca_a, "A"), trust(vec![peer("B", &ca_b)])).await;

    let mut roots = RootCertStore::empty();
    roots.add(ca_der(&ca_a).remove(0)).unwrap();
    for version in [&TLS12, &TLS13] {
        let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        assert_eq!(
            refused(listener.addr, &tls_name("A"), Arc::new(config)).await,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
        );
    }
}

#[tokio::test]
async fn client_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new();
    let (ca_a, ca_b, stranger) = (ca("A"), ca("B"), ca("Z"));
    let trust = trust(vec![peer("B", &ca_b)]);
    let listener = Listener::start(pki.own(&ca_a, "A"), trust.clone()).await;

    // A certificate naming B, from a CA that is not B's.
    let impostor = pki.own(&stranger, "B");
    for version in [&TLS12, &TLS13] {
        let config = client_with_versions(impostor.clone(), &ca_a, &[version]);
        assert_eq!(
            refused(listener.addr, &tls_name("A"), config).await,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA)
        );
    }
    let key = impostor.certified_key();
    assert_eq!(trust.verify(&key.cert[0], &key.cert[1..], UnixTime::now()), Err(PeerRefusal::UnknownIssuer));
}

#[tokio::test]
async fn client_certificate_from_a_look_alike_ca_is_refused() {
    let pki = Pki::new();
    // Same subject name as B's CA ("Jaring dev CA B"), different key: what
    // B has after re-running `init` without sending its new identity card.
    let (ca_a, ca_b, look_alike) = (ca("A"), ca("B"), ca("B"));
    let trust = trust(vec![peer("B", &ca_b)]);
    let listener = Listener::start(pki.own(&ca_a, "A"), trust.clone()).await;

    let impostor = pki.own(&look_alike, "B");
    for version in [&TLS12, &TLS13] {
        let config = client_with_versions(impostor.clone(), &ca_a, &[version]);
        assert_eq!(
            refused(listener.addr, &tls_name("A"), config).await,
            rustls::Error::AlertReceived(AlertDescription::DecryptError)
        );
    }
    let key = impostor.certified_key();
    assert_eq!(
        trust.verify(&key.cert[0], &key.cert[1..], UnixTime::now()),
        Err(PeerRefusal::InvalidChain(webpki::Error::InvalidSignatureForPublicKey))
    );
}

#[tokio::test]
async fn certificate_from_a_peers_ca_naming_another_node_is_refused() {
    let pki = Pki::new();
    let (ca_a, ca_b, ca_c) = (ca("A"), ca("B"), ca("C"));
    let trust = trust(vec![peer("B", &ca_b), peer("C", &ca_c)]);
    let listener = Listener::start(pki.own(&ca_a, "A"), trust.clone()).await;

    // B's CA issues a certificate for C: B must not be able to pose as C.
    let posing_as_c = pki.own(&ca_b, "C");
    for version in [&TLS12, &TLS13] {
        let config = client_with_versions(posing_as_c.clone(), &ca_a, &[version]);
        assert_eq!(
            refused(listener.addr, &tls_name("A"), config).await,
            rustls::Error::AlertReceived(AlertDescription::AccessDenied)
        );
    }
    let key = posing_as_c.certified_key();
    assert_eq!(
        trust.verify(&key.cert[0], &key.cert[1..], UnixTime::now()),
        Err(PeerRefusal::WrongName { node_id: "B".to_owned(), tls_name: "b.jaring.local".to_owned() })
    );
    assert_eq!(trust.identify(&key.cert[0], &key.cert[1..], UnixTime::now()), None);
}

#[tokio::test]
async fn expired_and_not_yet_valid_client_certificates_are_refused() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let trust = trust(vec![peer("B", &ca_b)]);
    let listener = Listener::start(pki.own(&ca_a, "A"), trust.clone()).await;

    let now = SystemTime::now();
    let expired = pki.own_valid(&ca_b, "B", Validity::between(now - 10 * DAY, now - DAY).unwrap());
    let early = pki.own_valid(&ca_b, "B", Validity::between(now + DAY, now + 10 * DAY).unwrap());
    for (own, is_expired) in [(expired, true), (early, false)] {
        for version in [&TLS12, &TLS13] {
            let config = client_with_versions(own.clone(), &ca_a, &[version]);
            assert_eq!(
                refused(listener.addr, &tls_name("A"), config).await,
                rustls::Error::AlertReceived(AlertDescription::CertificateExpired)
            );
        }
        let key = own.certified_key();
        let refusal = trust.verify(&key.cert[0], &key.cert[1..], UnixTime::now());
        match refusal {
            Err(PeerRefusal::InvalidChain(webpki::Error::CertExpired { .. })) => assert!(is_expired),
            Err(PeerRefusal::InvalidChain(webpki::Error::CertNotValidYet { .. })) => {
                assert!(!is_expired);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn trust_changes_apply_at_the_next_handshake() {
    let pki = Pki::new();
    let (ca_a, ca_b, ca_c) = (ca("A"), ca("B"), ca("C"));
    let trust = trust(vec![peer("B", &ca_b), peer("C", &ca_c)]);
    let mut listener = Listener::start(pki.own(&ca_a, "A"), trust.clone()).await;
    let config_b = client_config(pki.own(&ca_b, "B"), &ca_der(&ca_a)).unwrap();
    let config_c = client_config(pki.own(&ca_c, "C"), &ca_der(&ca_a)).unwrap();

    let (mut open_b, mut server_b) = accepted(&mut listener, &tls_name("A"), config_b.clone()).await;
    assert_eq!(server_b.peer().node_id, "B");
    let b_untrusted = trust.until_untrusted("B");
    let c_untrusted = trust.until_untrusted("C");

    // Remove B.
    assert!(trust.replace(vec![peer("C", &ca_c)]).is_empty());
    assert_eq!(
        refused(listener.addr, &tls_name("A"), config_b.clone()).await,
        rustls::Error::AlertReceived(AlertDescription::UnknownCA)
    );
    // Others keep being served, and the refused handshake was never yielded.
    let (_, server_c) = accepted(&mut listener, &tls_name("A"), config_c.clone()).await;
    assert_eq!(server_c.peer().node_id, "C");
    // The TLS layer leaves open connections alone; the federation service
    // ends them when `until_untrusted` fires.
    assert_flows(&mut open_b, &mut server_b).await;
    timeout(PATIENCE, b_untrusted).await.unwrap();
    let mut c_untrusted = Box::pin(c_untrusted);
    assert!(timeout(Duration::from_millis(50), &mut c_untrusted).await.is_err(), "C is still trusted");

    // Remove everyone.
    assert!(trust.replace(vec![]).is_empty());
    timeout(PATIENCE, c_untrusted).await.unwrap();
    assert_eq!(
        refused(listener.addr, &tls_name("A"), config_c).await,
        rustls::Error::AlertReceived(AlertDescription::UnknownCA)
    );

    // Bring B back: no restart needed.
    assert!(trust.replace(vec![peer("B", &ca_b)]).is_empty());
    let (_, server_b) = accepted(&mut listener, &tls_name("A"), config_b).await;
    assert_eq!(server_b.peer().node_id, "B");
}

#[tokio::test]
async fn client_refuses_a_server_with_the_wrong_name_or_ca() {
    let pki = Pki::new();
    let (ca_a, ca_b, ca_c) = (ca("A"), ca("B"), ca("C"));
    let listener = Listener::start(pki.own(&ca_a, "A"), trust(vec![peer("B", &ca_b)])).await;
    let own_b = pki.own(&ca_b, "B");
    let addr = listener.addr.to_string();

    // A's certificate is right for A, but we meant to reach C.
    let config = client_config(own_b.clone(), &ca_der(&ca_a)).unwrap();
    let error = connect(&addr, &tls_name("C"), config.clone()).await.unwrap_err();
    assert!(matches!(error, TlsError::Connect { .. }), "{error:?}");
    assert!(
        matches!(
            error.rustls_error(),
            Some(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. }))
        ),
        "{error:?}"
    );
    let raw = handshake(listener.addr, &tls_name("C"), config).await.unwrap_err();
    assert!(matches!(
        tls_error(&raw),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
    ));

    // Trusting only C's CA, A's certificate has an unknown issuer.
    let config = client_config(own_b, &ca_der(&ca_c)).unwrap();
    let error = connect(&addr, &tls_name("A"), config).await.unwrap_err();
    assert_eq!(error.rustls_error(), Some(&rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)));
}

/// A gRPC service that answers every call with the caller's node id in the
/// `x-jaring-peer` header and status OK.
#[derive(Clone, Debug)]
struct WhoAmI;

impl NamedService for WhoAmI {
    const NAME: &'static str = "jaring.test.WhoAmI";
}

impl tower::Service<http::Request<Body>> for WhoAmI {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let node_id = request.extensions().get::<PeerInfo>().map_or_else(|| "<none>".to_owned(), |p| p.node_id.clone());
        let response = http::Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", "0")
            .header("x-jaring-peer", node_id)
            .body(Body::default())
            .unwrap();
        ready(Ok(response))
    }
}

async fn who_am_i(channel: tonic::transport::Channel) -> String {
    let request = http::Request::builder()
        .method("POST")
        .uri("http://a.jaring.local/jaring.test.WhoAmI/Get")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::default())
        .unwrap();
    let response = timeout(PATIENCE, channel.oneshot(request)).await.unwrap().unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    response.headers()["x-jaring-peer"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn grpc_over_mutual_tls_sees_the_peer() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let trust = trust(vec![peer("B", &ca_b)]);
    let listener = Listener::start(pki.own(&ca_a, "A"), trust).await;
    let addr = listener.addr.to_string();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tonic::transport::Server::builder().add_service(WhoAmI).serve_with_incoming_shutdown(
        listener.incoming,
        async {
            let _ = stopped.await;
        },
    ));

    let config = client_config(pki.own(&ca_b, "B"), &ca_der(&ca_a)).unwrap();
    let channel = timeout(PATIENCE, connect(&addr, &tls_name("A"), config.clone())).await.unwrap().unwrap();
    assert_eq!(who_am_i(channel).await, "B");

    let lazy = connect_lazy(&addr, &tls_name("A"), config).unwrap();
    assert_eq!(who_am_i(lazy).await, "B");

    stop.send(()).unwrap();
    timeout(PATIENCE, server).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn reload_swaps_the_certificate_for_new_handshakes_only() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let files = pki.files(&ca_a, "A", Validity::days(30));
    let own_a = Arc::new(OwnCert::load(&files).unwrap());
    let first_leaf = leaf_on_disk(&files);
    let mut listener = Listener::start(own_a.clone(), trust(vec![peer("B", &ca_b)])).await;
    let config = client_config(pki.own(&ca_b, "B"), &ca_der(&ca_a)).unwrap();

    let (mut open, mut open_server) = accepted(&mut listener, &tls_name("A"), config.clone()).await;
    assert_eq!(leaf_presented(&open), first_leaf);

    // New certificate on disk, then reload.
    let renewed = ca_a.issue_node_cert("A", &[], Validity::days(60)).unwrap();
    jaring_certs::write_dev_pki(files.cert.parent().unwrap(), &ca_a, &renewed).unwrap();
    let second_leaf = leaf_on_disk(&files);
    assert_ne!(first_leaf, second_leaf);
    own_a.reload().unwrap();
    assert!(own_a.not_after().unwrap() > SystemTime::now() + 50 * DAY);

    let (client, _) = accepted(&mut listener, &tls_name("A"), config.clone()).await;
    assert_eq!(leaf_presented(&client), second_leaf);
    assert_flows(&mut open, &mut open_server).await;

    // A broken file: the reload fails naming it, and the material stays.
    std::fs::write(&files.cert, "not a certificate").unwrap();
    match own_a.reload() {
        Err(TlsError::NoCertificate { path }) => assert_eq!(path, files.cert),
        other => panic!("unexpected {other:?}"),
    }
    let (client, _) = accepted(&mut listener, &tls_name("A"), config.clone()).await;
    assert_eq!(leaf_presented(&client), second_leaf);

    // A certificate that does not match the key: refused, material stays.
    let other = ca_a.issue_node_cert("A", &[], Validity::days(60)).unwrap();
    std::fs::write(&files.cert, &other.chain_pem).unwrap();
    assert!(matches!(own_a.reload(), Err(TlsError::KeyMismatch { .. })));
    let (client, _) = accepted(&mut listener, &tls_name("A"), config).await;
    assert_eq!(leaf_presented(&client), second_leaf);
}

#[tokio::test]
async fn reloaded_client_certificate_is_presented_at_the_next_handshake() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let mut listener = Listener::start(pki.own(&ca_a, "A"), trust(vec![peer("B", &ca_b)])).await;
    let files_b = pki.files(&ca_b, "B", Validity::days(30));
    let own_b = Arc::new(OwnCert::load(&files_b).unwrap());
    let config = client_config(own_b.clone(), &ca_der(&ca_a)).unwrap();

    let (_, server) = accepted(&mut listener, &tls_name("A"), config.clone()).await;
    let first = server.get_ref().get_ref().1.peer_certificates().unwrap()[0].clone();

    let renewed = ca_b.issue_node_cert("B", &[], Validity::days(30)).unwrap();
    jaring_certs::write_dev_pki(files_b.cert.parent().unwrap(), &ca_b, &renewed).unwrap();
    own_b.reload().unwrap();

    let (_, server) = accepted(&mut listener, &tls_name("A"), config).await;
    let second = server.get_ref().get_ref().1.peer_certificates().unwrap()[0].clone();
    assert_ne!(first, second);
    assert_eq!(second, leaf_on_disk(&files_b));
    assert_eq!(server.peer().node_id, "B");
}

#[tokio::test]
async fn a_silent_client_blocks_nobody_and_times_out() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let limits = HandshakeLimits { timeout: Duration::from_millis(300), max_in_flight: 2, max_per_ip: 2 };
    let mut listener = Listener::start_with(pki.own(&ca_a, "A"), trust(vec![peer("B", &ca_b)]), limits).await;
    let config = client_config(pki.own(&ca_b, "B"), &ca_der(&ca_a)).unwrap();

    // Connects and says nothing.
    let mut silent = TcpStream::connect(listener.addr).await.unwrap();
    let (_, server) = accepted(&mut listener, &tls_name("A"), config).await;
    assert_eq!(server.peer().node_id, "B");

    // The silent one is dropped after the handshake timeout.
    let mut buf = [0u8; 1];
    let read = timeout(PATIENCE, silent.read(&mut buf)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[test]
fn own_cert_errors_name_the_file() {
    let pki = Pki::new();
    let (ca_a, ca_b) = (ca("A"), ca("B"));
    let files = pki.files(&ca_a, "A", Validity::days(1));

    let missing = NodeTlsFiles { key: files.key.with_extension("missing"), ..files.clone() };
    match OwnCert::load(&missing) {
        Err(TlsError::Io { path, .. }) => assert_eq!(path, missing.key),
        other => panic!("unexpected {other:?}"),
    }

    let no_key = NodeTlsFiles { key: files.cert.clone(), ..files.clone() };
    match OwnCert::load(&no_key) {
        Err(TlsError::NoPrivateKey { path }) => assert_eq!(path, files.cert),
        other => panic!("unexpected {other:?}"),
    }

    let bad_pem = pki.dir.path().join("bad.pem");
    std::fs::write(&bad_pem, "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").unwrap();
    let broken_ca = NodeTlsFiles { ca: bad_pem.clone(), ..files.clone() };
    match OwnCert::load(&broken_ca) {
        Err(TlsError::Pem { path, .. }) => assert_eq!(path, bad_pem),
        other => panic!("unexpected {other:?}"),
    }

    // The chain must come from the CA beside it.
    let other_ca = pki.files(&ca_b, "B", Validity::days(1));
    let mixed = NodeTlsFiles { ca: other_ca.ca, ..files.clone() };
    match OwnCert::load(&mixed) {
        Err(TlsError::NotIssuedByCa { cert, source, .. }) => {
            assert_eq!(cert, files.cert);
            assert_eq!(source, webpki::Error::UnknownIssuer);
        }
        other => panic!("unexpected {other:?}"),
    }

    let own = OwnCert::load(&files).unwrap();
    assert_eq!(own.ca_certs(), ca_der(&ca_a));
    let debug = format!("{own:?}");
    assert!(debug.contains("node.pem") && !debug.contains("PRIVATE"), "{debug}");
    let not_after = own.not_after().unwrap();
    assert!(not_after > SystemTime::now() && not_after < SystemTime::now() + 2 * DAY);
}

#[test]
fn trust_set_rejects_unusable_peers_and_keeps_the_rest() {
    let (ca_b, ca_c) = (ca("B"), ca("C"));
    let trust = PeerTrust::new();
    let bad_name = TrustedPeer { tls_name: "not a name".to_owned(), ..peer("D", &ca_c) };
    let no_ca = TrustedPeer::new("E", vec![]);
    let garbage_ca = TrustedPeer::new("F", vec![CertificateDer::from(vec![1, 2, 3])]);
    let rejected =
        trust.replace(vec![peer("B", &ca_b), peer("B", &ca_c), peer("C", &ca_c), bad_name, no_ca, garbage_ca]);
    let rejected: Vec<String> = rejected
        .into_iter()
        .map(|e| match e {
            TlsError::InvalidPeer { node_id, .. } => node_id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(rejected, ["B", "D", "E", "F"]);
    assert_eq!(trust.node_ids(), ["B", "C"]);
    assert_eq!(trust.get("B"), Some(peer("B", &ca_b)));
    assert!(trust.contains("C") && !trust.contains("D"));

    assert!(matches!(TrustedPeer::from_ca_pem("G", "no pem here"), Err(TlsError::InvalidPeer { .. })));
    assert_eq!(peer("Id-Kominfo", &ca_b).tls_name, "id-kominfo.jaring.local");
}

#[test]
fn a_certificate_naming_two_peers_of_one_ca_is_ambiguous() {
    let regional = ca("REGION");
    let trust = trust(vec![peer("B", &regional), peer("C", &regional)]);
    let both = regional.issue_node_cert("B", &[tls_name("C")], Validity::days(1)).unwrap();
    let only_c = regional.issue_node_cert("C", &[], Validity::days(1)).unwrap();
    let chain = |pem: &str| {
        use rustls_pki_types::pem::PemObject;
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<Vec<_>, _>>().unwrap()
    };

    let certs = chain(&both.chain_pem);
    assert_eq!(
        trust.verify(&certs[0], &certs[1..], UnixTime::now()),
        Err(PeerRefusal::Ambiguous { node_ids: vec!["B".to_owned(), "C".to_owned()] })
    );
    // A shared CA is fine when each certificate names one peer.
    let certs = chain(&only_c.chain_pem);
    assert_eq!(trust.identify(&certs[0], &certs[1..], UnixTime::now()), Some("C".to_owned()));
    assert!(matches!(
        trust.verify(&CertificateDer::from(vec![0u8; 4]), &[], UnixTime::now()),
        Err(PeerRefusal::Malformed(_))
    ));
}

#[test]
fn node_tls_files_follow_the_node_directory_layout() {
    let files = NodeTlsFiles::in_dir(Path::new("/srv/jaring/tls"));
    assert_eq!(files.ca, Path::new("/srv/jaring/tls/ca.pem"));
    assert_eq!(files.cert, Path::new("/srv/jaring/tls/node.pem"));
    assert_eq!(files.key, Path::new("/srv/jaring/tls/node.key"));
}
