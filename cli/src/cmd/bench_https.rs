//! The benches' HTTPS client (`bench api`, `bench console`): keep-alive
//! HTTP/1.1 connections to one node's HTTPS listener, verified against the
//! node's CA, TCP_NODELAY on, one request at a time per connection, as a
//! platform's or a browser's client would. Responses must carry a
//! `Content-Length` (the node's do; no chunked bodies are read).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::fleet::FleetNode;

/// Where and how to reach a node's HTTPS listener.
#[derive(Clone)]
pub struct Endpoint {
    addr: std::net::SocketAddr,
    name: rustls::pki_types::ServerName<'static>,
    config: Arc<rustls::ClientConfig>,
}

impl Endpoint {
    /// The HTTPS listener of `node`, trusting its CA.
    ///
    /// # Errors
    ///
    /// The node has no HTTPS listener; its CA cannot be read.
    pub fn of(node: &FleetNode) -> Result<Endpoint> {
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
        Ok(Endpoint { addr, name, config: Arc::new(config) })
    }

    /// A new connection.
    ///
    /// # Errors
    ///
    /// TCP or TLS failures.
    pub async fn connect(&self) -> Result<Conn> {
        let tcp = TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = tokio_rustls::TlsConnector::from(self.config.clone()).connect(self.name.clone(), tcp).await?;
        Ok(Conn { tls, buf: Vec::with_capacity(64 * 1024) })
    }
}

/// One keep-alive connection.
pub struct Conn {
    tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

/// A response.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The header lines, as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Conn {
    /// One request with `headers` and, when given, a body of its content
    /// type; the response.
    ///
    /// # Errors
    ///
    /// The connection failing or closing; a response without a status line
    /// or a `Content-Length`.
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some((content_type, b)) = body {
            head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        self.tls.write_all(head.as_bytes()).await?;
        if let Some((_, b)) = body {
            self.tls.write_all(b).await?;
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
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .context("a Content-Length (the bench client reads no chunked bodies)")?;
        while self.buf.len() < end + length {
            let n = self.tls.read(&mut chunk).await?;
            if n == 0 {
                bail!("the node closed the connection mid-body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = self.buf[end..end + length].to_vec();
        self.buf.drain(..end + length);
        Ok(Response { status, headers, body })
    }
}

/// Percent-encodes a query or form value.
pub fn url_encode(s: &str) -> String {
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
