//! A small HTTPS/1.1 client for the node's HTTPS listener: the server is
//! verified against the node's CA and TLS name, like a real client would,
//! and each request uses its own connection (`Connection: close`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::TestNode;

/// A response: status, headers (names lower-cased) and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Errors
    ///
    /// Not JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| format!("not JSON: {}", self.text()))
    }
}

/// Sends one request to the node's HTTPS listener.
///
/// # Errors
///
/// No HTTPS listener, a TLS or I/O failure, or a malformed response.
pub fn request(node: &TestNode, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response> {
    use rustls::pki_types::pem::PemObject;
    let port = node.http_port.context("the node has no HTTPS listener (Builder::http)")?;
    let ca = std::fs::read(node.dir().join("tls/ca.pem"))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(c?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from(jaring_certs::tls_name(&node.id))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes())?;
    tls.write_all(body)?;
    let mut raw = Vec::new();
    // The server may close without close_notify; what arrived is complete.
    let _ = tls.read_to_end(&mut raw);
    parse(&raw)
}

/// `GET path` with a bearer token (if any).
///
/// # Errors
///
/// See [`request`].
pub fn get(node: &TestNode, path: &str, token: Option<&str>) -> Result<Response> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(node, "GET", path, &headers, &[])
}

fn parse(raw: &[u8]) -> Result<Response> {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { bail!("no HTTP response") };
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).context("a status code")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    }
    Ok(Response { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { bail!("a chunk size line") };
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = b.get(..size).context("a chunk shorter than its size")?;
        out.extend_from_slice(chunk);
        b = b.get(size + 2..).unwrap_or_default();
    }
}

impl TestNode {
    /// `GET /metrics`, parsed into `name{labels} -> value`.
    ///
    /// # Panics
    ///
    /// If the node does not answer 200 with a metrics text.
    pub fn metrics(&self) -> std::collections::BTreeMap<String, f64> {
        let r = get(self, "/metrics", None).expect("GET /metrics");
        assert_eq!(r.status, 200, "{}", r.text());
        let mut out = std::collections::BTreeMap::new();
        for line in r.text().lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((name, value)) = line.rsplit_once(' ')
                && let Ok(v) = value.parse::<f64>()
            {
                out.insert(name.to_string(), v);
            }
        }
        out
    }

    /// One sample of `/metrics` (0 when absent).
    pub fn metric(&self, sample: &str) -> f64 {
        self.metrics().get(sample).copied().unwrap_or(0.0)
    }
}
