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
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::bench::{load, sample};
use crate::fleet::{self, FleetNode, NodeSpec};

/// Requests per page.
const ROUNDS: usize = 40;

/// One keep-alive HTTPS/1.1 connection with the console's cookies.
struct Browser {
    tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
    cookies: Vec<(String, String)>,
}

/// A response: status, `Set-Cookie` pairs, body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Browser {
    async fn open(node: &FleetNode) -> Result<Browser> {
        use rustls::pki_types::pem::PemObject;
        let addr = node.bound()?.http.context("the node has no HTTPS listener")?;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_file_iter(node.dir.join("tls/ca.pem"))? {
            roots.add(c?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(jaring_certs::tls_name(&node.id))?.to_owned();
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
        Ok(Browser { tls, buf: Vec::with_capacity(256 * 1024), cookies: Vec::new() })
    }

    /// One request (a form body when given); keeps the cookies set.
    async fn call(&mut self, method: &str, path: &str, form: Option<&str>) -> Result<Answer> {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\nAccept-Language: en\r\n");
        if !cookie.is_empty() {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(b) = form {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        self.tls.write_all(head.as_bytes()).await?;
        if let Some(b) = form {
            self.tls.write_all(b.as_bytes()).await?;
        }
        self.tls.flush().await?;
        let mut chunk = [0u8; 32 * 1024];
        let end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = self.tls.read(&mut chunk).await?;
            if n == 0 {
                bail!("the node closed the connection");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
        let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).context("a status line")?;
        let mut length = 0usize;
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().context("a Content-Length")?;
            } else if k.eq_ignore_ascii_case("set-cookie")
                && let Some((name, value)) = v.trim().split(';').next().and_then(|p| p.split_once('='))
            {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
        while self.buf.len() < end + length {
            let n = self.tls.read(&mut chunk).await?;
            if n == 0 {
                bail!("the node closed the connection mid-body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = self.buf[end..end + length].to_vec();
        self.buf.drain(..end + length);
        Ok(Answer { status, body })
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

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
