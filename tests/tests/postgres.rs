//! The node on PostgreSQL (issue 21): one process; a writer and a standby
//! on one database, the writer SIGKILLed while a CSV import streams; a
//! lookup process on a streaming replica.
//!
//! Needs the test server: `eval "$(.ci/postgres.sh start)"` (`.ci/run`
//! does it).

use std::time::{Duration, Instant};

use anyhow::Result;
use jaring_tests::{TestNode, assert_eventually, pg};
use serde_json::Value;

fn status(n: &TestNode) -> Result<Value> {
    n.cli_json(&["status"])
}

fn role(n: &TestNode) -> String {
    status(n).ok().and_then(|s| s["store_role"].as_str().map(str::to_string)).unwrap_or_default()
}

#[test]
fn a_node_runs_on_postgres_and_keeps_everything_across_restarts() -> Result<()> {
    let mut id = TestNode::builder("ID").region("ID").init()?;
    pg::use_postgres(&id, &pg::fresh_schema("single"))?;
    id.start()?;
    let s = status(&id)?;
    assert_eq!(s["store_engine"], "postgres");
    assert_eq!(s["store_role"], "writer");
    id.add_domain("scam-one.example", "green")?;
    assert!(id.lookup_found("scam-one.example")?);
    id.stop()?;
    id.start()?;
    assert!(id.lookup_found("scam-one.example")?, "the lookup index is rebuilt from the database");
    id.add_domain("scam-two.example", "green")?;
    assert!(id.lookup_found("scam-two.example")?);
    let verify = id.cli_json(&["audit", "verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    Ok(())
}
