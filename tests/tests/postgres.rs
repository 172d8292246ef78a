//! The node on PostgreSQL (issue 21): one process; a writer and a standby
//! on one database, the writer SIGKILLed while a CSV import streams; a
//! peer reconnecting to the new writer behind one endpoint; a lookup
//! process on a streaming replica; `jaring migrate` from fjall.
//!
//! Needs the test server: `.ci/postgres.sh run cargo test -p jaring-tests
//! --test postgres` (`.ci/run` does it).

use std::time::{Duration, Instant};

use anyhow::Result;
use jaring_tests::{TestNode, assert_eventually, pg};
use serde_json::Value;

fn status(n: &TestNode) -> Result<Value> {
    n.cli_json(&["status"])
}

#[test]
fn a_node_runs_on_postgres_and_keeps_everything_across_restarts() -> Result<()> {
    let mut id = TestNode::builder("ID").region("ID").init()?;
    pg::use_postgres(&id, &pg::fresh_schema("single"))?;
    id.start()?;
    let s = status(&id)?;
    assert_eq!(s["store_engine"], "postgres");
    assert_eq!(s["store_role"], "writer");
    id.add_domain("loker-satu-palsu.co.id", "green")?;
    assert!(id.lookup_found("loker-satu-palsu.co.id")?);
    id.stop()?;
    id.start()?;
    assert!(id.lookup_found("loker-satu-palsu.co.id")?, "the lookup index is rebuilt from the database");
    id.add_domain("loker-dua-palsu.co.id", "green")?;
    assert!(id.lookup_found("loker-dua-palsu.co.id")?);
    // Importing a file again publishes nothing (the held versions are read
    // back from the database).
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("three.csv");
    std::fs::write(
        &file,
        "kind,value,categories,first_seen,last_seen\n\
         domain,loker-a.co.id,job_scam,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n\
         domain,loker-b.co.id,job_scam,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n\
         domain,loker-c.co.id,job_scam,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n",
    )?;
    let path = file.to_str().unwrap_or_default();
    let first = id.cli_json(&["indicator", "import", path])?;
    assert_eq!(first["stored"], 3, "{first}");
    let again = id.cli_json(&["indicator", "import", path])?;
    assert_eq!((again["stored"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)), "{again}");
    let verify = id.cli_json(&["audit", "verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    Ok(())
}

fn role(n: &TestNode) -> String {
    status(n).ok().and_then(|s| s["store_role"].as_str().map(str::to_string)).unwrap_or_default()
}

/// (indicators, head origin_seq) of this node's own origin.
fn own(n: &TestNode) -> Result<(u64, u64)> {
    let s = status(n)?;
    let o = s["origins"].as_array().and_then(|a| a.iter().find(|o| o["origin"] == "ID").cloned());
    Ok(o.map_or((0, 0), |o| (o["indicators"].as_u64().unwrap_or(0), o["head_seq"].as_u64().unwrap_or(0))))
}

/// `jaring indicator import` of `file` on the process `n`, running.
fn spawn_import(n: &TestNode, file: &std::path::Path) -> Result<std::process::Child> {
    Ok(std::process::Command::new(jaring_tests::bin("jaring"))
        .arg("--node")
        .arg(n.dir())
        .args(["--json", "indicator", "import"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?)
}

fn report(out: &std::process::Output) -> Result<Value> {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("import printed no report ({e}): {text} / {}", String::from_utf8_lossy(&out.stderr))
    })
}

/// Two processes of one node on one database. Each round an import
/// streams a CSV into the writer, which is SIGKILLed halfway; the standby
/// must be the writer within 10 s, hold every row the import had
/// acknowledged, and, when the file is imported again, store the rest
/// exactly once (nothing applied twice: the origin's head moves by the
/// file's rows exactly). The killed process comes back as the standby.
/// `JARING_PG_KILLS` rounds (10, the count, by default).
#[test]
fn the_standby_takes_over_when_the_writer_is_killed_during_an_import() -> Result<()> {
    const ROWS: u64 = 6000;
    let kills: u32 = std::env::var("JARING_PG_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let mut a = TestNode::builder("ID").region("ID").init()?;
    pg::use_postgres(&a, &pg::fresh_schema("failover"))?;
    // A short lease, so ten takeovers fit in the test's time.
    a.set_config("store", "lease_ms", "1000")?;
    a.start()?;
    let mut b = a.second_process()?;
    b.start()?;
    assert_eq!(role(&a), "writer");
    assert_eq!(role(&b), "standby");
    // A write sent to the standby is refused with the writer's address.
    let refused = b.cli_output(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "ke-standby.co.id",
        "--category",
        "job_scam",
    ])?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the standby stored a write");
    assert!(stderr.contains("not the writer"), "{stderr}");
    let writer_admin = status(&b)?["writer_admin"].as_str().unwrap_or_default().to_string();
    assert_eq!(writer_admin, format!("127.0.0.1:{}", a.admin_port), "the standby names the writer");

    let dir = tempfile::tempdir()?;
    let (mut writer, mut standby) = (a, b);
    for round in 0..kills {
        let file = dir.path().join(format!("round-{round}.csv"));
        // Dates given: a row without them is new every time (first seen now).
        let mut csv = String::from("kind,value,categories,first_seen,last_seen\n");
        for i in 0..ROWS {
            csv.push_str(&format!(
                "domain,loker-r{round}-n{i}.co.id,job_scam,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n"
            ));
        }
        std::fs::write(&file, csv)?;
        let (count_before, head_before) = own(&writer)?;

        let import = spawn_import(&writer, &file)?;
        // Kill the writer while the import streams: some rows stored, not all.
        assert_eventually!(
            Duration::from_secs(60),
            own(&writer).map(|(_, h)| h >= head_before + ROWS / 10).unwrap_or(false),
            "round {round}: the import did not start"
        );
        writer.kill9();
        let killed_at = Instant::now();
        let first = report(&import.wait_with_output()?)?;
        let acked = first["stored"].as_u64().unwrap_or(0);
        assert!(acked < ROWS, "round {round}: the import finished before the kill: {first}");

        // The standby takes over within 10 s.
        let deadline = killed_at + Duration::from_secs(10);
        while role(&standby) != "writer" {
            assert!(Instant::now() < deadline, "round {round}: no takeover within 10 s: {}", standby.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        // Measured, not asserted beyond the 10 s above.
        eprintln!("round {round}: the standby was the writer {:?} after the kill", killed_at.elapsed());
        // Every acknowledged row is there.
        let (count_now, head_now) = own(&standby)?;
        assert!(
            head_now >= head_before + acked,
            "round {round}: acknowledged rows lost ({head_now} < {head_before} + {acked})"
        );
        assert!(count_now >= count_before + acked, "round {round}: acknowledged rows lost");

        // Importing again stores the rest, once.
        let again = standby.cli_json(&["indicator", "import", file.to_str().unwrap_or_default()])?;
        assert_eq!(again["complete"], true, "{again}");
        let stored = again["stored"].as_u64().unwrap_or(0);
        assert_eq!(stored + again["unchanged"].as_u64().unwrap_or(0), ROWS, "{again}");
        assert!(
            again["unchanged"].as_u64().unwrap_or(0) >= acked,
            "round {round}: acknowledged rows not held: first {first}, again {again}, before {:?}, now {:?}",
            (count_before, head_before),
            own(&standby)?
        );
        assert_eq!(
            own(&standby)?,
            (count_before + ROWS, head_before + ROWS),
            "round {round}: a row applied twice or lost"
        );
        assert!(standby.lookup_found(&format!("loker-r{round}-n0.co.id"))?);
        assert!(standby.lookup_found(&format!("loker-r{round}-n{}.co.id", ROWS - 1))?);

        // The killed process comes back as the standby, and follows.
        writer.start()?;
        assert_eq!(role(&writer), "standby", "round {round}");
        std::mem::swap(&mut writer, &mut standby);
    }
    // The standby serves what it loaded at start, and follows new commits.
    assert!(standby.lookup_found(&format!("loker-r{}-n7.co.id", kills.saturating_sub(1)))?);
    writer.add_domain("loker-terakhir.co.id", "green")?;
    assert_eventually!(
        Duration::from_secs(10),
        standby.lookup_found("loker-terakhir.co.id").unwrap_or(false),
        "the standby serves what the writer stored after it started"
    );
    let verify = writer.cli_json(&["audit", "verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    Ok(())
}

/// `jaring migrate` moves a stopped node's fjall store into PostgreSQL,
/// verified; the node then runs on PostgreSQL with everything it held; a
/// second migration into the same schema is refused.
#[test]
fn migrate_moves_an_embedded_store_into_postgres_verified() -> Result<()> {
    let mut id = TestNode::builder("ID").region("ID").init()?;
    id.start()?;
    id.add_domain("loker-pindah-satu.co.id", "green")?;
    id.add_domain("loker-pindah-dua.co.id", "amber")?;
    let before = status(&id)?;
    id.stop()?;
    let schema = pg::fresh_schema("migrate");
    let pw = pg::password_file();
    let migrate = |schema: &str| {
        std::process::Command::new(jaring_tests::bin("jaring"))
            .args(["--json", "migrate", "--from"])
            .arg(id.dir())
            .args(["--to", &pg::url(), "--schema", schema, "--password-file"])
            .arg(&pw)
            .output()
    };
    let out = migrate(&schema)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["log_head"], before["log_head"], "{report}");
    assert!(stderr.contains("Log: ") && stderr.contains("verified"), "progress on stderr: {stderr}");
    let again = migrate(&schema)?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds data"));

    pg::use_postgres(&id, &schema)?;
    id.start()?;
    let after = status(&id)?;
    assert_eq!(after["store_engine"], "postgres");
    assert_eq!(after["log_head"], before["log_head"]);
    assert_eq!(after["origins"], before["origins"]);
    assert!(id.lookup_found("loker-pindah-satu.co.id")?);
    assert!(id.lookup_found("loker-pindah-dua.co.id")?);
    let verify = id.cli_json(&["audit", "verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    id.add_domain("loker-pindah-tiga.co.id", "green")?;
    assert!(id.lookup_found("loker-pindah-tiga.co.id")?);
    Ok(())
}

/// A lookup process (`role = "reader"`) reading a streaming replica
/// (pg_basebackup) serves an indicator the writer stored on the primary,
/// says how far behind the replica is (status and metrics), and refuses
/// writes naming the writer.
#[test]
fn a_lookup_process_on_a_streaming_replica_serves_a_new_indicator() -> Result<()> {
    let replica = pg::Replica::start()?;
    let mut writer = TestNode::builder("ID").region("ID").http().init()?;
    pg::use_postgres(&writer, &pg::fresh_schema("replica"))?;
    writer.start()?;
    let mut reader = writer.second_process()?;
    reader.set_config("store", "read_url", &format!("{:?}", replica.url()))?;
    reader.set_config("store", "role", "\"reader\"")?;
    reader.start()?;
    assert_eq!(role(&reader), "reader");
    assert_eq!(status(&reader)?["writer_admin"], format!("127.0.0.1:{}", writer.admin_port));

    writer.add_domain("loker-replika.co.id", "green")?;
    let stored = Instant::now();
    assert_eventually!(
        Duration::from_secs(10),
        reader.lookup_found("loker-replika.co.id").unwrap_or(false),
        "the lookup process on the replica does not serve the new indicator"
    );
    // The figure the issue asks for (within 1 s); measured, not asserted.
    eprintln!("a lookup on the replica found the new indicator {:?} after the writer answered", stored.elapsed());

    let s = status(&reader)?;
    let lag = s["replica_lag_ms"].as_u64();
    assert!(lag.is_some(), "the reader says how far behind its replica is: {s}");
    let metrics = reader.metrics();
    assert!(metrics.contains_key("jaring_store_replica_lag_seconds"), "{metrics:?}");
    assert_eq!(metrics.get("jaring_store_writer").copied(), Some(0.0));
    assert_eq!(writer.metric("jaring_store_writer"), 1.0);
    // A new value is answered as the reader followed it from the replica's
    // log, from memory.
    let first_reads = |n: &TestNode| n.metrics().get("jaring_store_first_read_requests_total").copied().unwrap_or(0.0);
    assert_eq!(first_reads(&reader), 0.0, "{metrics:?}");
    // A second version changes an answer held: read again, from the replica.
    writer.cli(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "loker-replika.co.id",
        "--category",
        "job_scam",
        "--tlp",
        "green",
        "--confidence",
        "35",
    ])?;
    let confidence = |n: &TestNode| -> Result<u64> {
        Ok(n.cli_json(&["lookup", "loker-replika.co.id"])?["views"][0]["max_confidence"].as_u64().unwrap_or(0))
    };
    assert_eventually!(
        Duration::from_secs(10),
        confidence(&reader).unwrap_or(0) == 35,
        "the reader still answers the first version"
    );
    let metrics = reader.metrics();
    let reads = metrics.get("jaring_store_first_read_requests_total").copied().unwrap_or(0.0);
    assert!(reads >= 1.0, "{metrics:?}");
    let queries = metrics.get("jaring_store_first_read_queries_total").copied().unwrap_or(0.0);
    assert!((1.0..=reads).contains(&queries), "{metrics:?}");

    let refused = reader.cli_output(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "ke-pembaca.co.id",
        "--category",
        "job_scam",
    ])?;
    assert!(!refused.status.success(), "the reader stored a write");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the writer"));
    Ok(())
}

/// A process that starts on a database holding listed values fills its
/// lookup cache from it in the background, then answers them from memory.
#[test]
fn a_process_that_starts_fills_its_lookup_cache_from_the_database() -> Result<()> {
    let mut writer = TestNode::builder("ID").region("ID").http().init()?;
    pg::use_postgres(&writer, &pg::fresh_schema("warm"))?;
    writer.start()?;
    let values = ["loker-hangat-1.co.id", "loker-hangat-2.co.id", "loker-hangat-3.co.id"];
    for v in values {
        writer.add_domain(v, "green")?;
    }
    let mut reader = writer.second_process()?;
    reader.set_config("store", "role", "\"reader\"")?;
    reader.start()?;
    assert_eq!(reader.metric("jaring_lookup_listed_values"), 3.0);
    assert_eventually!(
        Duration::from_secs(10),
        reader.metric("jaring_lookup_cached_values") == 3.0,
        "the reader's lookup cache was not filled: {:?}",
        reader.metrics()
    );
    // Filling read them (one batch), the lookups nothing more.
    let read = reader.metric("jaring_store_first_read_requests_total");
    for v in values {
        assert!(reader.lookup_found(v)?, "{v}");
    }
    assert_eq!(reader.metric("jaring_store_first_read_requests_total"), read, "answered from memory");
    Ok(())
}

/// An entry held for review on arrival is followed, and answered as not
/// served, by a lookup process too; when an analyst accepts it on the
/// writer (which appends nothing to the log), the lookup process serves it.
#[test]
fn a_lookup_process_serves_what_an_analyst_accepts_from_review() -> Result<()> {
    let patience = Duration::from_secs(30);
    let id = TestNode::builder("ID").region("ID").start()?;
    let mut vn = TestNode::builder("VN").region("VN").federation_key_of(&id).init()?;
    pg::use_postgres(&vn, &pg::fresh_schema("review"))?;
    vn.start()?;
    let mut reader = vn.second_process()?;
    reader.set_config("store", "role", "\"reader\"")?;
    reader.start()?;
    jaring_tests::link(&id, &vn, &[], &[])?;
    vn.cli(&["allowlist", "add", "mitra", "--kind", "domain", "kerja-ditahan.co.id"])?;
    id.add_domain("kerja-ditahan.co.id", "green")?;
    id.add_domain("kerja-lolos.co.id", "green")?;
    assert_eventually!(
        patience,
        reader.lookup_found("kerja-lolos.co.id").unwrap_or(false),
        "the reader never served the peer's entries"
    );
    let held = vn.cli_json(&["review", "list"])?;
    let seq = held[0]["seq"].as_u64().unwrap_or(0);
    assert!(seq > 0 && held.as_array().map(Vec::len) == Some(1), "{held}");
    // Asked twice: the second answer comes from what the first one read.
    for _ in 0..2 {
        assert!(!reader.lookup_found("kerja-ditahan.co.id")?, "held, not served");
    }
    vn.cli(&["review", "accept", &seq.to_string(), "--note", "mitra resmi, bukan penipuan"])?;
    assert!(vn.lookup_found("kerja-ditahan.co.id")?);
    assert_eventually!(
        Duration::from_secs(10),
        reader.lookup_found("kerja-ditahan.co.id").unwrap_or(false),
        "the reader does not serve the accepted entry"
    );
    Ok(())
}

fn count_from(node: &TestNode, origin: &str) -> u64 {
    let Ok(s) = status(node) else { return 0 };
    s["origins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["origin"] == origin)
        .and_then(|o| o["indicators"].as_u64())
        .unwrap_or(0)
}

/// A peer reaches the node through one federation endpoint (a proxy
/// standing for a virtual IP). When the writer is killed and the endpoint
/// moves to the standby, the new writer subscribes to the peer from the
/// cursor in the database and catches up, and the peer reconnects and
/// catches up with what the new writer publishes; nothing arrives twice.
#[test]
fn peers_reconnect_to_the_new_writer_and_catch_up() -> Result<()> {
    let patience = Duration::from_secs(30);
    let vip = jaring_tests::proxy::Proxy::start("127.0.0.1:9".parse()?)?;
    let mut a = TestNode::builder("ID").region("ID").init()?;
    pg::use_postgres(&a, &pg::fresh_schema("peers"))?;
    a.set_config("store", "lease_ms", "1000")?;
    a.set_config("federation", "endpoint", &format!("\"127.0.0.1:{}\"", vip.port))?;
    a.start()?;
    vip.retarget(format!("127.0.0.1:{}", a.fed_port).parse()?);
    let mut b = a.second_process()?;
    b.start()?;
    assert_eq!(role(&b), "standby");
    // The card peers get names the endpoint, not the process.
    let card = a.identity();
    a.cli(&["identity", "export", "--out", card.to_str().unwrap_or_default()])?;
    let vn = TestNode::builder("VN").region("VN").federation_key_of(&a).start()?;
    jaring_tests::link(&a, &vn, &["--share-max-tlp", "green"], &["--share-max-tlp", "green"])?;

    a.add_domain("loker-sebelum.co.id", "green")?;
    vn.add_domain("viec-lam-truoc.vn", "green")?;
    assert_eventually!(patience, count_from(&vn, "ID") == 1, "the peer never got the writer's entry");
    assert_eventually!(patience, count_from(&a, "VN") == 1, "the writer never got the peer's entry");

    a.kill9();
    vip.retarget(format!("127.0.0.1:{}", b.fed_port).parse()?);
    assert_eventually!(Duration::from_secs(10), role(&b) == "writer", "no takeover within 10 s");

    vn.add_domain("viec-lam-sau.vn", "green")?;
    b.add_domain("loker-sesudah.co.id", "green")?;
    assert_eventually!(patience, count_from(&b, "VN") == 2, "the new writer did not catch up with the peer");
    assert_eventually!(
        patience,
        count_from(&vn, "ID") == 2,
        "the peer did not catch up with the new writer: {}\n----\n{}",
        tail(&vn.log()),
        tail(&b.log())
    );
    assert!(vn.lookup_found("loker-sesudah.co.id")?);
    assert!(b.lookup_found("viec-lam-sau.vn")?);
    // Nothing twice: the peer holds exactly the node's chain.
    let head = |n: &TestNode, origin: &str| -> Result<u64> {
        Ok(status(n)?["origins"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["origin"] == origin)
            .and_then(|o| o["head_seq"].as_u64())
            .unwrap_or(0))
    };
    assert_eq!(head(&vn, "ID")?, head(&b, "ID")?);
    assert_eq!(head(&b, "VN")?, head(&vn, "VN")?);
    Ok(())
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}
