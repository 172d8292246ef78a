//! A full disk is reported, not hidden (issue 13, item 9). Black-box: a
//! real `jaring-node` started with `[store] test_fault_file` (commits fail
//! as on a full disk while that file exists, `node/src/store/fault.rs`);
//! its CLI, `/healthz`, gRPC health and `/metrics` say what happened, and the node is
//! healthy again by itself once commits succeed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use anyhow::Result;
use jaring_tests::{TestNode, assert_eventually, https};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const PATIENCE: Duration = Duration::from_secs(30);

fn add(node: &TestNode, value: &str) -> std::process::Output {
    node.cli_output(&["indicator", "add", "--kind", "domain", "--value", value, "--category", "job_scam"]).unwrap()
}

fn healthz(node: &TestNode) -> (u16, String) {
    let r = https::get(node, "/healthz", None).unwrap();
    (r.status, r.text())
}

/// gRPC health of the admin listener, overall and for `jaring.v1.Admin`.
fn grpc_health(node: &TestNode) -> Vec<ServingStatus> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let channel = jaring_node::admin::channel::AdminEndpoint::of_node_dir(node.dir())?.connect().await?;
        let mut health = HealthClient::new(channel);
        let mut out = vec![];
        for service in ["", "jaring.v1.Admin"] {
            let r = health.check(HealthCheckRequest { service: service.into() }).await?.into_inner();
            out.push(ServingStatus::try_from(r.status)?);
        }
        anyhow::Ok(out)
    })
    .unwrap()
}

#[test]
fn a_full_disk_is_reported_by_status_and_health_until_commits_succeed() -> Result<()> {
    let mut node = TestNode::builder("ID").http().init()?;
    let fault = node.dir().join("disk-full");
    node.set_config("store", "test_fault_file", &format!("{:?}", fault.display().to_string()))?;
    node.start()?;
    assert!(add(&node, "before-loker.co.id").status.success());
    let status = node.cli_json(&["status"])?;
    assert_eq!(status["store_healthy"], true, "{status}");
    assert_eq!(healthz(&node).0, 200);
    assert_eq!(node.metric("jaring_store_healthy"), 1.0);
    assert_eq!(grpc_health(&node), [ServingStatus::Serving; 2]);

    // The disk fills: the write fails, and every surface says so.
    std::fs::write(&fault, b"")?;
    let out = add(&node, "full-loker.co.id");
    assert!(!out.status.success(), "a commit on a full disk is not acknowledged");
    let status = node.cli_json(&["status"])?;
    assert_eq!(status["store_healthy"], false, "{status}");
    assert!(status["store_last_error"].as_str().unwrap_or("").contains("No space left on device"), "{status}");
    assert!(status["store_failed_commits"].as_u64().unwrap_or(0) >= 1, "{status}");
    let (code, text) = healthz(&node);
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("the store refuses commits"), "{text}");
    assert_eq!(node.metric("jaring_store_healthy"), 0.0);
    assert!(node.metric("jaring_store_commit_failures") >= 1.0);
    assert_eventually!(PATIENCE, grpc_health(&node) == [ServingStatus::NotServing; 2], "gRPC health follows");
    let text = node.cli(&["status"])?;
    assert!(text.to_lowercase().contains("no space left"), "the human status says it: {text}");
    assert!(!node.lookup_found("full-loker.co.id")?, "nothing of the failed commit is stored");

    // Space is freed: the node's own probe finds the store healthy again.
    std::fs::remove_file(&fault)?;
    assert_eventually!(PATIENCE, node.cli_json(&["status"]).is_ok_and(|s| s["store_healthy"] == true));
    assert_eq!(healthz(&node).0, 200);
    assert_eq!(node.metric("jaring_store_healthy"), 1.0);
    assert_eventually!(PATIENCE, grpc_health(&node) == [ServingStatus::Serving; 2], "gRPC health follows");
    assert!(add(&node, "after-loker.co.id").status.success());
    assert!(node.lookup_found("after-loker.co.id")?);
    assert!(node.lookup_found("before-loker.co.id")?);
    Ok(())
}
