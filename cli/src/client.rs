//! Finding a node's admin API and calling it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use jaring_node::config::Config;
use jaring_proto::pb::admin_client::AdminClient;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Which node to talk to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `--node DIR`.
    pub node: Option<PathBuf>,
    /// `--admin ADDR`.
    pub admin: Option<String>,
    /// `--token-file F`.
    pub token_file: Option<PathBuf>,
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
    /// Resolves the admin address and token file.
    ///
    /// # Errors
    ///
    /// Neither `--node` nor `--admin` given, or an unreadable config.
    pub fn resolve(&self) -> Result<(String, PathBuf)> {
        if let Some(addr) = &self.admin {
            let token = match (&self.token_file, &self.node) {
                (Some(t), _) => t.clone(),
                (None, Some(dir)) => dir.join("admin.token"),
                (None, None) => bail!("--admin needs --token-file"),
            };
            return Ok((addr.clone(), token));
        }
        let Some(dir) = &self.node else {
            bail!("say which node: --node DIR (or --admin ADDR --token-file FILE)");
        };
        let config = Config::load(&dir.join("node.toml")).context("reading the node's config")?;
        let token = self.token_file.clone().unwrap_or_else(|| config.resolve(&config.paths.admin_token));
        let mut addr = config.admin.listen.replace("0.0.0.0", "127.0.0.1");
        if addr.ends_with(":0") {
            // Port 0: the node picked one when it started, and recorded it.
            let bound = jaring_node::server::Bound::read(dir).with_context(|| {
                format!("{} listens on port 0 and has not recorded the port it picked (is it running?)", dir.display())
            })?;
            addr = bound.admin.to_string();
        }
        Ok((addr, token))
    }

    /// Connects to the admin API.
    ///
    /// # Errors
    ///
    /// Unreachable node or unreadable token.
    pub async fn connect(&self) -> Result<Client> {
        let (addr, token_path) = self.resolve()?;
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading the admin token {}", token_path.display()))?;
        let header = format!("Bearer {}", token.trim()).parse().context("the admin token is not printable ASCII")?;
        let operator = std::env::var("USER").ok().filter(|u| !u.is_empty()).and_then(|u| {
            u.chars().filter(|c| c.is_ascii_alphanumeric() || "._-@".contains(*c)).collect::<String>().parse().ok()
        });
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .with_context(|| format!("bad admin address {addr:?}"))?
            .connect_timeout(std::time::Duration::from_secs(5));
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the node's admin API at {addr} (is jaring-node running?)"))?;
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
