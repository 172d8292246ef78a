//! Finding a node's admin API and calling it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use jaring_node::admin::channel::{AdminEndpoint, AdminTransport};
use jaring_node::config::Config;
use jaring_proto::pb::admin_client::AdminClient;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Which node to talk to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--node DIR`.
    pub node: Option<PathBuf>,
    /// `--admin ADDR`.
    pub admin: Option<String>,
    /// `--token-file F`.
    pub token_file: Option<PathBuf>,
    /// `--ca FILE`: the CA the node's admin certificate must chain to.
    pub ca: Option<PathBuf>,
    /// `--tls-name NAME`: the name the node's certificate must carry.
    pub tls_name: Option<String>,
    /// `--admin-plaintext`: dial without TLS (`[admin] tls = false`).
    pub admin_plaintext: bool,
}

/// Adds the bearer token and operator name to every call.
#[derive(Clone)]
pub struct Auth {
    header: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    operator: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.header.clone());
        if let Some(op) = &self.operator {
            req.metadata_mut().insert("x-jaring-operator", op.clone());
        }
        Ok(req)
    }
}

/// An authenticated admin client.
pub type Client = AdminClient<InterceptedService<Channel, Auth>>;

impl Target {
    /// Resolves how to dial the admin API, and the token file.
    ///
    /// # Errors
    ///
    /// Neither `--node` nor `--admin` given, `--admin` without a way to
    /// verify the node, or an unreadable config.
    pub fn resolve(&self) -> Result<(AdminEndpoint, PathBuf)> {
        let config = match &self.node {
            Some(dir) => Some(Config::load(&dir.join("node.toml")).context("reading the node's config")?),
            None => None,
        };
        let token = match (&self.token_file, &config) {
            (Some(t), _) => t.clone(),
            (None, Some(c)) => c.resolve(&c.paths.admin_token),
            (None, None) if self.admin.is_some() => bail!("--admin needs --token-file"),
            (None, None) => bail!("say which node: --node DIR (or --admin ADDR --token-file FILE --ca FILE)"),
        };
        let mut endpoint = match (&self.admin, &config) {
            (Some(addr), _) if self.admin_plaintext => {
                AdminEndpoint { addr: addr.clone(), transport: AdminTransport::Plaintext }
            }
            (Some(addr), Some(c)) => AdminEndpoint { addr: addr.clone(), ..AdminEndpoint::of_node(c) },
            (Some(addr), None) => {
                let Some(ca) = &self.ca else {
                    bail!(
                        "--admin needs --ca FILE (the node's CA certificate, DIR/tls/ca.pem), so the node is \
                         verified before the token is sent; for a node with [admin] tls = false, pass --admin-plaintext"
                    );
                };
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
                AdminEndpoint { addr: addr.clone(), transport: AdminTransport::Tls { ca: ca.clone(), tls_name: host } }
            }
            (None, Some(c)) => AdminEndpoint::of_node(c),
            (None, None) => bail!("say which node: --node DIR (or --admin ADDR --token-file FILE --ca FILE)"),
        };
        if let AdminTransport::Tls { ca, tls_name } = &mut endpoint.transport {
            if let Some(c) = &self.ca {
                ca.clone_from(c);
            }
            if let Some(n) = &self.tls_name {
                tls_name.clone_from(n);
            }
        }
        Ok((endpoint, token))
    }

    /// Connects to the admin API: with TLS (the default) the node must
    /// prove who it is before the token is sent.
    ///
    /// # Errors
    ///
    /// Unreachable node, a server that is not the node, or an unreadable token.
    pub async fn connect(&self) -> Result<Client> {
        let (endpoint, token_path) = self.resolve()?;
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading the admin token {}", token_path.display()))?;
        let header = format!("Bearer {}", token.trim()).parse().context("the admin token is not printable ASCII")?;
        let operator = std::env::var("USER").ok().filter(|u| !u.is_empty()).and_then(|u| {
            u.chars().filter(|c| c.is_ascii_alphanumeric() || "._-@".contains(*c)).collect::<String>().parse().ok()
        });
        let channel = endpoint.connect().await?;
        Ok(AdminClient::with_interceptor(channel, Auth { header, operator })
            .max_decoding_message_size(64 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024))
    }
}

/// Turns a gRPC status into a one-line error.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    match s.code() {
        tonic::Code::Unavailable => anyhow::anyhow!("node unavailable: {}", s.message()),
        tonic::Code::Unauthenticated => anyhow::anyhow!("not authorized: {}", s.message()),
        _ => anyhow::anyhow!("{}", s.message()),
    }
}
