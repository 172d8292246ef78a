//! `jaring bench console`: how long the analyst console (issue 19) takes
//! to answer each of its pages on one real node holding `--lookup-store`
//! indicators (1,000,000 by default), measured from one keep-alive HTTPS
//! connection logged in with the node's admin token (every page and
//! section shown, no rate limit), one request at a time: p50, p99 and the
//! longest per page, and the p99 over all pages. The figures are reported,
//! not checked (the issue's budget: 200 ms p99 on the 1,000,000 store).
//!
//! Pages: home, a lookup of a stored value, the indicator list (unfiltered
//! and filtered on a score), one indicator's detail, submit, review,
//! takedowns, federation, audit (and its chain verified).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::bench::{load, sample};
use super::bench_https::{Conn, Endpoint, Response, url_encode};
use crate::fleet::{self, FleetNode, NodeSpec};

/// Requests per page.
const ROUNDS: usize = 40;

/// One keep-alive HTTPS/1.1 connection with the console's cookies.
struct Browser {
    conn: Conn,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn open(node: &FleetNode) -> Result<Browser> {
        Ok(Browser { conn: Endpoint::of(node)?.connect().await?, cookies: Vec::new() })
    }

    /// One request (a form body when given); keeps the cookies set.
    async fn call(&mut self, method: &str, path: &str, form: Option<&str>) -> Result<Response> {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers = vec![("Accept-Language", "en")];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie.as_str()));
        }
        let body = form.map(|f| ("application/x-www-form-urlencoded", f.as_bytes()));
        let r = self.conn.call(method, path, &headers, body).await?;
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie")
                && let Some((name, value)) = v.split(';').next().and_then(|p| p.split_once('='))
            {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
        Ok(r)
    }

    /// Logs in with `token`.
    async fn login(&mut self, token: &str) -> Result<()> {
        let form = self.call("GET", "/console/login", None).await?;
        let html = String::from_utf8_lossy(&form.body);
        let marker = r#"name="csrf" value=""#;
        let at = html.find(marker).context("the login form")? + marker.len();
        let csrf = html[at..].split('"').next().unwrap_or("").to_string();
        let body = format!("csrf={csrf}&token={}", url_encode(token));
        let r = self.call("POST", "/console/login", Some(&body)).await?;
        if r.status != 303 || !self.cookies.iter().any(|(n, _)| n == "jaring_session") {
            bail!("the console refused the login ({})", r.status);
        }
        Ok(())
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the scenario in `base` on a store of `store` indicators.
///
/// # Errors
///
/// The node failing to start, a page failing.
pub async fn run(base: &Path, store: u64) -> Result<Value> {
    let spec = NodeSpec {
        id: "ID",
        region: "ID",
        federation_key: None,
        engine: jaring_node::store::EngineKind::default(),
        log_level: "warn",
        http: true,
    };
    let node = fleet::start(base, &spec).await?;
    let loading = load(&node.client, store.max(1), "console", 2).await?;
    let token = std::fs::read_to_string(node.dir.join("admin.token"))?;
    let mut b = Browser::open(&node).await?;
    b.login(token.trim()).await?;
    let stored = sample(store / 2, "console").value;
    let pages: Vec<(&str, String)> = vec![
        ("home", "/console/".into()),
        ("lookup", format!("/console/lookup?q={}", url_encode(&stored))),
        ("indicators", "/console/indicators".into()),
        ("indicators_min_score", "/console/indicators?kind=domain&min_score=10".into()),
        ("indicator_detail", format!("/console/indicators/{}", store / 2)),
        ("submit", "/console/submit".into()),
        ("review", "/console/review".into()),
        ("takedowns", "/console/takedowns".into()),
        ("federation", "/console/federation".into()),
        ("audit", "/console/audit".into()),
        ("audit_verify", "/console/audit?verify=1".into()),
    ];
    let mut all = Vec::new();
    let mut per_page = serde_json::Map::new();
    for (name, path) in &pages {
        let mut lat = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let r = b.call("GET", path, None).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            if r.status != 200 {
                bail!("{path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
            }
        }
        lat.sort_by(f64::total_cmp);
        per_page.insert(
            (*name).to_string(),
            json!({
                "p50_ms": percentile(&lat, 50.0),
                "p99_ms": percentile(&lat, 99.0),
                "max_ms": lat.last().copied().unwrap_or(0.0),
            }),
        );
        all.extend(lat);
    }
    all.sort_by(f64::total_cmp);
    Ok(json!({
        "store_indicators": store,
        "load_seconds": loading.as_secs_f64(),
        "requests_per_page": ROUNDS,
        "p99_ms_over_pages": percentile(&all, 99.0),
        "budget_p99_ms": 200,
        "pages": Value::Object(per_page),
        "peak_rss_mib": node.peak_rss_mib(),
    }))
}
