//! `jaring-node` refuses to start on a missing or broken config, key or
//! store, with one line saying what and where.

use std::process::Command;

fn node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jaring-node"))
}

fn write_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let p = dir.join("node.toml");
    let text = format!(
        "node_id = \"ID\"\nregion = \"ID\"\n[federation]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n{extra}"
    );
    std::fs::write(&p, text).expect("write config");
    p
}

#[test]
fn missing_config_names_the_file_and_exits_78() {
    let out = node().args(["--config", "/nonexistent/jaring/node.toml"]).output().expect("run");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/jaring/node.toml"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn invalid_config_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write_config(dir.path(), "[store]\nengine = \"rocksdb\"\n");
    let out = node().arg("--config").arg(&p).output().expect("run");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    // The parse error quotes the line (`engine = "rocksdb"`) and the choices.
    assert!(err.contains("engine = \"rocksdb\"") && err.contains("`fjall`, `sled`, `postgres`"), "{err}");
}

#[test]
fn missing_keys_are_reported_with_their_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A node directory others can reach is refused before anything else.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let p = write_config(dir.path(), "");
    let token = dir.path().join("admin.token");
    std::fs::write(&token, "0123456789abcdef0123456789").expect("token");
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let out = node().arg("--config").arg(&p).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls") || err.contains("keys"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "names where: {err}");
}
