//! A second local user cannot read the node's files or steal the admin
//! token (issue 13, item 7). Black-box: real `jaring init`, `jaring-node`
//! and `jaring` processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use jaring_tests::{TestNode, bin, free_port};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    out.push(dir.to_path_buf());
    if std::fs::symlink_metadata(dir).unwrap().is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            walk(&e.unwrap().path(), out);
        }
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_fresh_node_directory_and_its_store_are_private() {
    let mut id = TestNode::builder("ID").start().unwrap();
    id.add_domain("private-files-loker.co.id", "red").unwrap();
    id.cli(&["token", "create", "opencti"]).unwrap();
    id.stop().unwrap();
    let mut all = Vec::new();
    walk(id.dir(), &mut all);
    assert!(all.len() > 20, "the store's files are there too: {all:?}");
    assert!(all.iter().any(|p| p.starts_with(id.dir().join("db")) && p.is_file()));
    for p in &all {
        assert_eq!(mode(p) & 0o077, 0, "{} has mode {:04o}", p.display(), mode(p));
    }
    assert_eq!(mode(id.dir()), 0o700);
    assert_eq!(mode(&id.dir().join("db")), 0o700);
}

#[test]
fn unsafe_modes_are_refused_at_start_naming_the_file_and_the_fix() {
    let mut id = TestNode::builder("ID").start().unwrap();
    id.stop().unwrap();
    let dir = id.dir().to_path_buf();
    // A TAXII token file as older versions wrote it (tokens now live in
    // the store), still honoured and still checked.
    jaring_node::access::legacy::create(
        &dir.join("http-tokens.json"),
        "opencti",
        jaring_node::model::Tlp::Green,
        vec![],
    )
    .unwrap();
    let signing_key = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with("federation"))
        .unwrap();
    let federation_key = dir.join("keys/federation-1.key");
    let cases: Vec<(PathBuf, u32, &str)> = vec![
        (signing_key, 0o644, "signing or federation key"),
        (federation_key, 0o640, "signing or federation key"),
        (dir.join("tls/node.key"), 0o644, "TLS private key"),
        (dir.join("tls/ca.key"), 0o604, "dev CA private key"),
        (dir.join("admin.token"), 0o640, "admin token"),
        (dir.join("http-tokens.json"), 0o666, "TAXII token file"),
        (dir.join("http-tokens.json"), 0o620, "TAXII token file"),
        (dir.join("db"), 0o755, "store"),
        (dir.clone(), 0o755, "node directory"),
    ];
    for (path, bad, what) in cases {
        let good = mode(&path);
        chmod(&path, bad);
        let e = id.start().expect_err("the node must refuse to start").to_string();
        let named = format!("{} ({what}) has mode {bad:04o}", path.display());
        assert!(e.contains(&named), "{named} not in: {e}");
        assert!(e.contains("chmod"), "{e}");
        chmod(&path, good);
    }
    id.start().unwrap();
}

/// What a process squatting on the admin port saw.
#[derive(Debug, Default)]
struct Seen {
    /// Bytes read from the client (for TLS: before and during the handshake).
    bytes: Vec<u8>,
    /// Whether a TLS handshake completed.
    handshake_done: bool,
    /// Application bytes received after a handshake.
    app_bytes: usize,
}

/// A fake admin server on `port` that answers one connection in plaintext
/// (a garbage reply) and records what the client sent.
fn plaintext_fake(port: u16) -> std::thread::JoinHandle<Seen> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut seen = Seen::default();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.bytes.extend_from_slice(&buf[..n]);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
        seen
    })
}

/// A fake admin server on `port` speaking TLS with a certificate for the
/// node's name from another CA (a local user cannot read the node's key).
fn tls_fake(port: u16, work: &Path) -> std::thread::JoinHandle<Seen> {
    let ca = jaring_certs::DevCa::generate("ID").unwrap();
    let cert = ca.issue_node_cert("ID", &["127.0.0.1".to_string()], jaring_certs::Validity::days(2)).unwrap();
    let tls_dir = work.join("fake-tls");
    jaring_certs::write_dev_pki(&tls_dir, &ca, &cert).unwrap();
    let own = Arc::new(jaring_node::tls::OwnCert::load(&jaring_node::tls::NodeTlsFiles::in_dir(&tls_dir)).unwrap());
    let config = jaring_node::admin::listener::server_config(own).unwrap();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut seen = Seen::default();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            if tls.conn.complete_io(&mut tls.sock).is_err() {
                return seen;
            }
        }
        seen.handshake_done = true;
        let mut buf = [0u8; 4096];
        while let Ok(n) = tls.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.app_bytes += n;
            seen.bytes.extend_from_slice(&buf[..n]);
        }
        seen
    })
}

#[test]
fn a_process_on_the_admin_port_while_the_node_is_down_gets_no_token() {
    let id = TestNode::builder("ID").init().unwrap();
    let token = std::fs::read_to_string(id.dir().join("admin.token")).unwrap().trim().to_string();

    // A fake speaking TLS with a certificate of its own making.
    let fake = tls_fake(id.admin_port, id.dir());
    let out = id.cli_output(&["status"]).unwrap();
    let seen = fake.join().unwrap();
    assert!(!out.status.success());
    let e = stderr_of(&out);
    assert!(e.contains("is not the node id.jaring.local") && e.contains("the admin token was not sent"), "{e}");
    assert!(e.contains("ca.pem"), "says which CA it checked against: {e}");
    assert!(!seen.handshake_done && seen.app_bytes == 0, "{seen:?}");

    // A fake speaking plaintext: it gets a TLS ClientHello, never HTTP/2.
    let fake = plaintext_fake(id.admin_port);
    let out = id.cli_output(&["status"]).unwrap();
    let seen = fake.join().unwrap();
    assert!(!out.status.success());
    let e = stderr_of(&out);
    assert!(e.contains("the admin token was not sent"), "{e}");
    assert_eq!(seen.bytes.first(), Some(&0x16), "a TLS handshake record first");
    let text = String::from_utf8_lossy(&seen.bytes);
    assert!(!text.contains("PRI * HTTP/2.0") && !text.contains(&token), "{text}");

    // With --admin, the CLI needs the CA to verify the node with.
    let out = Command::new(bin("jaring"))
        .args(["--admin", &format!("127.0.0.1:{}", id.admin_port), "--token-file"])
        .arg(id.dir().join("admin.token"))
        .arg("status")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("--admin needs --ca FILE"), "{}", stderr_of(&out));
}

#[test]
fn the_admin_api_stays_on_loopback_unless_asked_and_plaintext_is_an_explicit_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let init = |dir: &str, admin: String, extra: &[&str]| {
        Command::new(bin("jaring"))
            .args(["init", "--node-id", "ID", "--dir"])
            .arg(tmp.path().join(dir))
            .args(["--listen", &format!("127.0.0.1:{}", free_port()), "--admin", &admin])
            .args(extra)
            .output()
            .unwrap()
    };
    let port = free_port();
    let out = init("a", format!("0.0.0.0:{port}"), &[]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("not a loopback address") && stderr_of(&out).contains("--admin-remote"));
    let out = init("b", format!("0.0.0.0:{port}"), &["--admin-remote"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let toml = std::fs::read_to_string(tmp.path().join("b/node.toml")).unwrap();
    assert!(toml.contains("allow_remote = true") && toml.contains("tls = true"), "{toml}");

    // Plaintext on loopback when node.toml says so; the CLI follows it.
    let mut id = TestNode::builder("ID").init().unwrap();
    id.set_config("admin", "tls", "false").unwrap();
    id.start().unwrap();
    assert_eq!(id.cli_json(&["status"]).unwrap()["node_id"], "ID");
    let out = Command::new(bin("jaring"))
        .args(["--admin", &format!("127.0.0.1:{}", id.admin_port), "--admin-plaintext", "--token-file"])
        .arg(id.dir().join("admin.token"))
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // A TLS client does not fall back to plaintext.
    let out = Command::new(bin("jaring"))
        .args(["--admin", &format!("127.0.0.1:{}", id.admin_port), "--token-file"])
        .arg(id.dir().join("admin.token"))
        .arg("--ca")
        .arg(id.dir().join("tls/ca.pem"))
        .arg("status")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("the admin token was not sent"), "{}", stderr_of(&out));
}
