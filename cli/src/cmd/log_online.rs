//! `jaring log checkpoint|prove` against a running node: over the admin
//! API (`--node DIR` or `--admin`), or, for the checkpoint, from any node's
//! public `/log/` over HTTPS (`--url`), checked against its identity card.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use jaring_node::identity::IdentityCard;
use jaring_node::model::Kind;
use jaring_node::tlog::{self, checkpoint};
use jaring_node::wire::WireEnum;
use jaring_proto::pb;
use serde_json::json;

use crate::client::{Target, status_error};
use crate::output::Output;

/// Largest checkpoint fetched over HTTPS.
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;

/// Prints the running node's latest checkpoint (with `fresh`, signed now;
/// with `cosigned`, the latest a witness cosigned).
///
/// # Errors
///
/// The node cannot be reached or keeps no transparency log.
pub async fn checkpoint(target: &Target, out: &Output, fresh: bool, cosigned: bool) -> Result<()> {
    let mut client = target.connect().await?;
    let r =
        client.log_checkpoint(pb::LogCheckpointRequest { fresh, cosigned }).await.map_err(status_error)?.into_inner();
    if out.json {
        out.json(&json!({
            "origin": r.origin,
            "size": r.size,
            "root": r.root,
            "cosigned_by": r.cosigned_by,
            "checkpoint": r.checkpoint,
        }));
    } else {
        print!("{}", r.checkpoint);
    }
    Ok(())
}

/// Fetches `<url>/checkpoint` (the log prefix, e.g.
/// `https://id.example:8443/log`) over HTTPS, verifying the server with the
/// CA and TLS name on `identity`, and the checkpoint with its keys.
///
/// # Errors
///
/// A bad URL, a TLS or HTTP failure, or a checkpoint not signed by the node.
pub fn checkpoint_from_url(url: &str, identity: &Path, out: &Output) -> Result<()> {
    let card = super::log::read_card(identity)?;
    let (host, port, prefix) = split_url(url)?;
    let path = format!("{prefix}/checkpoint");
    let (status, body) = https_get(&card, &host, port, &path)?;
    if status != 200 {
        bail!("{url}/checkpoint answered {status}: {}", String::from_utf8_lossy(&body).trim());
    }
    let origin = tlog::origin(&card.tls_name);
    let keys = super::log::log_keys(&card)?;
    let signed = checkpoint::open(&body, &origin, &keys)
        .map_err(|e| anyhow!("{url}/checkpoint is not a checkpoint of {origin} signed by its keys: {e}"))?;
    if out.json {
        let cp = &signed.checkpoint;
        out.json(&json!({
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.to_base64(),
            "verified": true,
            "checkpoint": signed.to_text(),
        }));
    } else {
        print!("{}", signed.to_text());
    }
    Ok(())
}

/// Asks the running node for a tlog-proof of an entry (a log position, or
/// the entry asserting a value) and writes it to `file` or standard output.
///
/// # Errors
///
/// The node cannot be reached, has no such entry, or (with
/// `require_cosigned`) no cosigned checkpoint holds it yet.
#[allow(clippy::too_many_arguments)]
pub async fn prove(
    target: &Target,
    out: &Output,
    entry: &str,
    kind: Option<Kind>,
    origin: Option<String>,
    require_cosigned: bool,
    file: Option<&PathBuf>,
) -> Result<()> {
    let mut req = pb::LogProveRequest {
        origin: origin.unwrap_or_default(),
        require_cosigned,
        kind: kind.map_or(0, |k| k.to_wire()),
        ..Default::default()
    };
    match entry.parse::<u64>() {
        Ok(seq) if kind.is_none() && seq > 0 => req.local_seq = seq,
        _ => req.value = entry.to_string(),
    }
    let mut client = target.connect().await?;
    let r = client.log_prove(req).await.map_err(status_error)?.into_inner();
    if r.cosigned_by.is_empty() {
        eprintln!(
            "jaring: warning: no witness has cosigned the checkpoint of this proof yet \
             (use --require-cosigned to refuse such proofs)"
        );
    }
    match file {
        Some(path) => {
            std::fs::write(path, &r.proof).with_context(|| format!("cannot write {}", path.display()))?;
            if out.json {
                out.json(&json!({
                    "file": path.display().to_string(),
                    "local_seq": r.local_seq,
                    "index": r.index,
                    "tree_size": r.tree_size,
                    "cosigned_by": r.cosigned_by,
                }));
            } else {
                println!(
                    "wrote {} (entry {}, tree size {}, cosigned by {})",
                    path.display(),
                    r.local_seq,
                    r.tree_size,
                    if r.cosigned_by.is_empty() { "nobody yet".to_string() } else { r.cosigned_by.join(", ") }
                );
            }
        }
        None => print!("{}", r.proof),
    }
    Ok(())
}

/// `https://host[:port][/path]` → host, port, path without a trailing
/// slash, with `/log` added when the path does not end in it.
fn split_url(url: &str) -> Result<(String, u16, String)> {
    let rest = url.strip_prefix("https://").ok_or_else(|| anyhow!("{url}: only https:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            (h.trim_matches(['[', ']']).to_string(), p.parse().map_err(|_| anyhow!("{url}: bad port"))?)
        }
        _ => (authority.trim_matches(['[', ']']).to_string(), 443),
    };
    if host.is_empty() {
        bail!("{url}: no host");
    }
    let path = if path.ends_with("/log") { path.to_string() } else { format!("{path}/log") };
    Ok((host, port, path))
}

/// One HTTPS/1.1 GET, the server verified with the card's CA and TLS name.
fn https_get(card: &IdentityCard, host: &str, port: u16, path: &str) -> Result<(u16, Vec<u8>)> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(card.tls_ca_pem.as_bytes()) {
        roots.add(c.context("the card's CA certificate")?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from(card.tls_name.clone())?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    let mut sock =
        std::net::TcpStream::connect((host, port)).with_context(|| format!("connecting to {host}:{port}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let head = format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nAccept: text/plain\r\n\r\n");
    tls.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    // The server may close without close_notify; what arrived is complete.
    let _ = Read::by_ref(&mut tls).take((MAX_CHECKPOINT_BYTES + 4096) as u64).read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow!("no HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("no HTTP status"))?;
    let body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Ok((status, dechunk(&body)?));
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or_else(|| anyhow!("a chunk size line"))?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(..size).ok_or_else(|| anyhow!("a chunk shorter than its size"))?);
        b = b.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn log_urls_name_the_log_prefix() {
        assert_eq!(split_url("https://id.example:8443/log").unwrap(), ("id.example".into(), 8443, "/log".into()));
        assert_eq!(split_url("https://id.example:8443/").unwrap(), ("id.example".into(), 8443, "/log".into()));
        assert_eq!(split_url("https://127.0.0.1:9/x/log/").unwrap(), ("127.0.0.1".into(), 9, "/x/log".into()));
        assert_eq!(split_url("https://id.example").unwrap(), ("id.example".into(), 443, "/log".into()));
        assert!(split_url("http://id.example/log").is_err());
        assert!(split_url("https://id.example:x/log").is_err());
    }
}
