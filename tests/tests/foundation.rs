//! One node: durable acknowledgements, normalized lookups, refused input.

use std::collections::BTreeSet;
use std::time::Duration;

use jaring_tests::TestNode;

#[test]
fn acknowledged_indicators_survive_sigkill() -> anyhow::Result<()> {
    let mut id = TestNode::builder("ID").region("ID").start()?;
    let mut added = BTreeSet::new();
    for i in 0..200 {
        let domain = format!("lowongan-{i}.loker-kerja.co.id");
        let rec = id.add_domain(&domain, "green")?;
        assert_eq!(rec["value"], domain.as_str());
        added.insert(domain);
    }
    // Killed right after the last acknowledgement: nothing may be lost.
    id.kill9();
    id.start()?;
    let listed = id.cli_json(&["indicator", "list", "--limit", "1000"])?;
    let values: BTreeSet<String> =
        listed.as_array().into_iter().flatten().filter_map(|r| r["value"].as_str().map(str::to_string)).collect();
    assert_eq!(values, added);
    let status = id.cli_json(&["status"])?;
    assert_eq!(status["log_head"], 200);
    // Sequence numbers continue after the restart: the chain is intact.
    let next = id.add_domain("after-restart.loker-kerja.co.id", "green")?;
    assert_eq!(next["origin_seq"], 201);
    id.stop()?;
    Ok(())
}

#[test]
fn lookups_find_values_in_any_form() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").region("ID").start()?;
    id.cli(&[
        "indicator",
        "add",
        "--kind",
        "phone",
        "--value",
        "+62 812 3456 7890",
        "--category",
        "job_scam",
        "--tlp",
        "green",
        "--confidence",
        "80",
    ])?;
    id.add_domain("www.loker-kerja.co.id", "green")?;
    id.cli(&[
        "indicator",
        "add",
        "--kind",
        "bank_account",
        "--value",
        "BCA 123-456-7890",
        "--category",
        "investment_scam",
    ])?;

    let phone = id.cli_json(&["lookup", "0812-3456-7890"])?;
    assert_eq!(phone["found"], true, "{phone}");
    assert_eq!(phone["views"][0]["kind"], "phone");
    assert_eq!(phone["views"][0]["value"], "+6281234567890");
    assert_eq!(phone["views"][0]["max_confidence"], 80);

    let domain = id.cli_json(&["lookup", "WWW.Loker-Kerja.CO.ID."])?;
    assert_eq!(domain["found"], true, "{domain}");
    assert_eq!(domain["views"][0]["value"], "www.loker-kerja.co.id");

    // Personal data is stored as a keyed hash; the lookup hashes the query.
    let bank = id.cli_json(&["lookup", "--kind", "bank_account", "bca:1234567890"])?;
    assert_eq!(bank["found"], true, "{bank}");
    assert_eq!(bank["views"][0]["keyed_hash"].as_str().map(str::len), Some(64));

    let missing = id.cli_output(&["--json", "lookup", "not-reported.co.id"])?;
    assert!(missing.status.success(), "not found still exits 0");
    let missing: serde_json::Value = serde_json::from_slice(&missing.stdout)?;
    assert_eq!(missing["found"], false);
    let human = id.cli(&["lookup", "not-reported.co.id"])?;
    assert!(human.contains("not found"), "{human}");
    Ok(())
}

#[test]
fn invalid_input_is_refused_and_nothing_is_stored() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").region("ID").start()?;
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--kind", "domain", "--value", "loker kerja.co.id", "--category", "job_scam"],
            &["value", "domain", "whitespace"],
        ),
        (&["--kind", "phone", "--value", "0812-CALL-NOW", "--category", "job_scam"], &["value", "phone", "letters"]),
        (
            &["--kind", "domain", "--value", "ok.co.id", "--category", "job_scam", "--confidence", "150"],
            &["confidence", "150"],
        ),
        (&["--kind", "domain", "--value", "ok.co.id", "--category", "spam"], &["category", "spam"]),
    ];
    for (args, words) in cases {
        let mut full = vec!["indicator", "add"];
        full.extend_from_slice(args);
        let out = id.cli_output(&full)?;
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        for w in *words {
            assert!(err.contains(w), "{args:?}: error {err:?} does not mention {w:?}");
        }
    }
    let status = id.cli_json(&["status"])?;
    assert_eq!(status["log_head"], 0, "nothing stored: {status}");
    assert_eq!(id.cli_json(&["indicator", "list"])?.as_array().map(Vec::len), Some(0));
    Ok(())
}

#[test]
fn revoking_publishes_a_tombstone() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let rec = id.add_domain("judi-online-gacor.com", "green")?;
    let ind = rec["id"].as_str().unwrap_or_default().to_string();
    let revoked = id.cli_json(&["indicator", "revoke", &ind, "--reason", "site gone"])?;
    assert_eq!(revoked["action"], "revoke");
    assert_eq!(revoked["version"], 2);
    let view = id.cli_json(&["lookup", "judi-online-gacor.com"])?;
    assert_eq!(view["views"][0]["status"], "revoked");
    let again = id.cli_output(&["indicator", "revoke", &ind])?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));
    let unknown = id.cli_output(&["indicator", "revoke", "00000000-0000-8000-8000-000000000000"])?;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no indicator"));
    Ok(())
}

#[test]
fn the_admin_api_needs_the_token() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let wrong = id.dir().join("wrong.token");
    std::fs::write(&wrong, "definitely-not-the-token-000")?;
    let out = std::process::Command::new(jaring_tests::bin("jaring"))
        .args(["--admin", &format!("127.0.0.1:{}", id.admin_port), "--token-file"])
        .arg(&wrong)
        .arg("--ca")
        .arg(id.dir().join("tls/ca.pem"))
        .arg("status")
        .output()?;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not authorized"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn sigterm_shuts_down_cleanly() -> anyhow::Result<()> {
    let mut id = TestNode::builder("ID").start()?;
    id.add_domain("shutdown-check.co.id", "green")?;
    id.stop()?;
    assert!(id.log().contains("node stopped"), "{}", id.log());
    id.start()?;
    jaring_tests::assert_eventually!(Duration::from_secs(5), id.lookup_found("shutdown-check.co.id").unwrap_or(false));
    Ok(())
}
