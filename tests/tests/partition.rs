//! Partitions and churn: five nodes in a full mesh, every link through a
//! test proxy; random cuts, delays, resets and node restarts while three
//! origins publish. After healing, every node holds the same indicators.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jaring_tests::proxy::Proxy;
use jaring_tests::{Rng, TestNode, assert_eventually};

fn values(node: &TestNode) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut after = 0u64;
    loop {
        let Ok(page) = node.cli_json(&["indicator", "list", "--limit", "5000", "--after", &after.to_string()]) else {
            return BTreeSet::new();
        };
        let Some(rows) = page.as_array().filter(|r| !r.is_empty()) else { break };
        for r in rows {
            out.insert(format!(
                "{}|{}",
                r["origin"].as_str().unwrap_or_default(),
                r["value"].as_str().unwrap_or_default()
            ));
            after = after.max(r["local_seq"].as_u64().unwrap_or(0));
        }
    }
    out
}

fn churn(events: u64) -> anyhow::Result<()> {
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    println!("partition test seed {seed}, {events} events");
    let ids = ["A", "B", "C", "D", "E"];
    let mut nodes: Vec<TestNode> = ids.iter().map(|id| TestNode::builder(id).init()).collect::<Result<_, _>>()?;
    for n in &mut nodes {
        n.start()?;
    }
    // proxies[i][j]: i dials j through it.
    let mut proxies: Vec<Vec<Option<Proxy>>> = Vec::new();
    for i in 0..nodes.len() {
        let mut row = Vec::new();
        for j in 0..nodes.len() {
            if i == j {
                row.push(None);
                continue;
            }
            let p = Proxy::start(format!("127.0.0.1:{}", nodes[j].fed_port).parse()?)?;
            let endpoint = format!("127.0.0.1:{}", p.port);
            nodes[i].add_peer(&nodes[j], &["--trust", "trusted", "--relay", "--endpoint", &endpoint])?;
            row.push(Some(p));
        }
        proxies.push(row);
    }
    let all_proxies: Vec<Proxy> = proxies.iter().flatten().flatten().cloned().collect();

    // Three origins publish continuously through the CLI.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = [0usize, 1, 2]
        .into_iter()
        .map(|k| {
            let dir = nodes[k].dir().to_path_buf();
            let origin = ids[k].to_string();
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let value = format!("churn-{}-{n}.penipuan.co.id", origin.to_ascii_lowercase());
                    let ok = jaring_tests::cli_add_domain(&dir, &value);
                    if ok {
                        acked.lock().unwrap_or_else(|p| p.into_inner()).insert(format!("{origin}|{value}"));
                    } else {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    n += 1;
                }
            })
        })
        .collect();

    for _ in 0..events {
        match rng.between(0, 4) {
            0 => {
                let p = &all_proxies[rng.between(0, all_proxies.len() as u64) as usize];
                p.cut();
            }
            1 => {
                let p = &all_proxies[rng.between(0, all_proxies.len() as u64) as usize];
                p.delay(Duration::from_millis(rng.between(0, 50)));
            }
            2 => {
                let p = &all_proxies[rng.between(0, all_proxies.len() as u64) as usize];
                p.reset();
            }
            _ => {
                let k = rng.between(0, nodes.len() as u64) as usize;
                nodes[k].kill9();
                std::thread::sleep(Duration::from_millis(rng.between(0, 300)));
                nodes[k].start()?;
            }
        }
        std::thread::sleep(Duration::from_millis(200 + rng.between(0, 400)));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    for p in &all_proxies {
        p.heal();
    }
    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(!acked.is_empty());
    // Every node ends with the same set, holding every acknowledged indicator.
    let converged = || {
        let first = values(&nodes[0]);
        first.is_superset(&acked) && nodes[1..].iter().all(|n| values(n) == first)
    };
    assert_eventually!(Duration::from_secs(90), converged(), "the five nodes converge (seed {seed})");
    Ok(())
}

#[test]
fn five_nodes_converge_after_cuts_and_restarts() -> anyhow::Result<()> {
    churn(12)
}

/// The long run: `cargo test -p jaring-tests --test partition -- --ignored`.
#[test]
#[ignore = "long churn run"]
fn five_nodes_converge_after_long_churn() -> anyhow::Result<()> {
    churn(200)
}
