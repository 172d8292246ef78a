//! `jaring init` lays out a node directory with private files private.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn jaring() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jaring"))
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn init_makes_the_documented_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("id");
    let out = jaring()
        .args(["--json", "init", "--node-id", "ID", "--region", "ID", "--dir"])
        .arg(&dir)
        .args(["--listen", "127.0.0.1:17900", "--admin", "127.0.0.1:17901"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["node_id"], "ID");
    for f in ["node.toml", "identity.json", "admin.token", "tls/ca.pem", "tls/node.pem", "tls/ca.key", "tls/node.key"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert_eq!(mode(&dir.join("admin.token")), 0o600);
    assert_eq!(mode(&dir.join("tls/node.key")), 0o600);
    assert_eq!(mode(&dir.join("tls/ca.key")), 0o600);
    assert_eq!(mode(&dir.join("keys")), 0o700);
    let keys: Vec<_> = std::fs::read_dir(dir.join("keys")).expect("keys").map(|e| e.expect("entry").path()).collect();
    assert_eq!(keys.len(), 2, "a signing key and the federation key: {keys:?}");
    for k in &keys {
        assert_eq!(mode(k), 0o600, "{}", k.display());
    }
    let card = std::fs::read_to_string(dir.join("identity.json")).expect("card");
    let parsed = jaring_node::identity::IdentityCard::verify(&card).expect("self-signed card verifies");
    assert_eq!(parsed.node_id, "ID");
    assert_eq!(parsed.tls_name, "id.jaring.local");
    assert_eq!(parsed.federation_endpoint, "127.0.0.1:17900");

    // A second init into the same directory is refused and changes nothing.
    let again = jaring().args(["init", "--node-id", "ID", "--dir"]).arg(&dir).output().expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a node"));
    assert_eq!(std::fs::read_to_string(dir.join("identity.json")).expect("card"), card);
}

#[test]
fn bad_node_id_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out =
        jaring().args(["init", "--node-id", "no spaces", "--dir"]).arg(tmp.path().join("x")).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("node-id"));
}

#[test]
fn commands_without_a_node_say_how_to_choose_one() {
    let out = jaring().env_remove("JARING_NODE").env_remove("JARING_ADMIN").args(["status"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--node DIR"));
}
