//! `jaring init`: lays out a new node directory.
//!
//! ```text
//! DIR/node.toml        configuration
//! DIR/identity.json    this node's signed identity card
//! DIR/keys/            signing key and federation key (0600)
//! DIR/admin.token      admin bearer token (0600)
//! DIR/tls/             dev CA and node certificate (keys 0600)
//! DIR/db/              the store (created on first start)
//! ```
//!
//! The directory is 0700 and every file in it 0600; a non-loopback
//! `--admin` address is refused unless [`InitOptions::admin_remote`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{AdminConfig, Config, FederationConfig, HttpConfig};
use crate::keys::SigningKey;
use crate::model::now_ms;
use crate::node_id::NodeId;
use crate::pii::FederationKey;

/// What `jaring init` was asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub node_id: String,
    /// Directory to create.
    pub dir: PathBuf,
    /// Region for phone numbers.
    pub region: Option<String>,
    /// Federation listen address.
    pub listen: String,
    /// Admin listen address.
    pub admin: String,
    /// HTTP listen address.
    pub http: Option<String>,
    /// Federation endpoint to advertise (default: `listen`).
    pub endpoint: Option<String>,
    /// Extra names or addresses for the TLS certificate.
    pub tls_hosts: Vec<String>,
    /// Copy this federation key instead of making a new one.
    pub federation_key: Option<PathBuf>,
    pub federation_key_epoch: u32,
    /// Treat phone numbers as personal data.
    pub hash_phone: bool,
    /// Allow a non-loopback admin address (`[admin] allow_remote`).
    pub admin_remote: bool,
}

impl InitOptions {
    /// A node `node_id` in `dir` with everything on loopback and ports the
    /// system picks, no region, no HTTP API and a new federation key: what
    /// tests, benchmarks and the demo start from.
    pub fn loopback(node_id: &str, dir: PathBuf) -> InitOptions {
        InitOptions {
            node_id: node_id.into(),
            dir,
            region: None,
            listen: "127.0.0.1:0".into(),
            admin: "127.0.0.1:0".into(),
            http: None,
            endpoint: None,
            tls_hosts: vec![],
            federation_key: None,
            federation_key_epoch: 1,
            hash_phone: false,
            admin_remote: false,
        }
    }
}

/// What went wrong making a node directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The directory already holds a node.
    #[error("{0} already holds a node (node.toml exists); choose another --dir")]
    Exists(PathBuf),
    /// A bad option.
    #[error("{field}: {reason}")]
    Invalid {
        /// Option.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Files.
    #[error("{path}: {reason}")]
    Io {
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |e| InitError::Io { path: path.to_path_buf(), reason: e.to_string() }
}

/// Creates a node directory. Returns the loaded configuration.
///
/// # Errors
///
/// [`InitError`].
pub fn init(opts: &InitOptions) -> Result<Config, InitError> {
    let node_id: NodeId = opts
        .node_id
        .parse()
        .map_err(|e: crate::node_id::InvalidNodeId| InitError::Invalid { field: "node-id", reason: e.to_string() })?;
    if !opts.admin_remote && !crate::config::is_loopback_listen(&opts.admin) {
        return Err(InitError::Invalid {
            field: "admin",
            reason: format!(
                "{} is not a loopback address; the admin API belongs on 127.0.0.1 \
                 (pass --admin-remote to serve it on the network, over TLS)",
                opts.admin
            ),
        });
    }
    let dir = &opts.dir;
    let toml_path = dir.join("node.toml");
    if toml_path.exists() {
        return Err(InitError::Exists(dir.clone()));
    }
    // Everything init writes is for this user only (a node directory holds
    // keys and, later, the store).
    crate::file_modes::restrict_umask();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    set_mode(dir, 0o700)?;
    let mut config = Config {
        node_id,
        region: opts.region.as_ref().map(|r| r.to_ascii_uppercase()),
        federation: FederationConfig::new(opts.listen.clone(), opts.endpoint.clone()),
        admin: AdminConfig { allow_remote: opts.admin_remote, ..AdminConfig::new(opts.admin.clone()) },
        http: opts.http.clone().map(HttpConfig::new),
        paths: Default::default(),
        store: Default::default(),
        privacy: Default::default(),
        limits: Default::default(),
        logging: Default::default(),
        scoring: Default::default(),
        log: Default::default(),
        takedown: Default::default(),
        base_dir: dir.clone(),
    };
    config.privacy.hash_phone = opts.hash_phone;
    config.privacy.federation_key_epoch = opts.federation_key_epoch;
    // Validate before writing anything else.
    let text = config.to_toml();
    let tmp = dir.join(".node.toml.check");
    std::fs::write(&tmp, &text).map_err(io(&tmp))?;
    let checked = Config::load(&tmp);
    let _ = std::fs::remove_file(&tmp);
    checked.map_err(|e| InitError::Invalid { field: "options", reason: e.to_string() })?;

    let keys_dir = config.resolve(&config.paths.keys);
    std::fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
    set_mode(&keys_dir, 0o700)?;
    let key = SigningKey::generate(now_ms());
    crate::keystore::write_signing_key(&keys_dir, &key)
        .map_err(|e| InitError::Io { path: keys_dir.clone(), reason: e.to_string() })?;
    let epoch = opts.federation_key_epoch;
    let fed_key = match &opts.federation_key {
        Some(path) => crate::keystore::read_federation_key(path, epoch)
            .map_err(|e| InitError::Invalid { field: "federation-key", reason: e.to_string() })?,
        None => FederationKey::generate(epoch),
    };
    crate::keystore::write_federation_key(&keys_dir, &fed_key)
        .map_err(|e| InitError::Io { path: keys_dir.clone(), reason: e.to_string() })?;

    let token_path = config.resolve(&config.paths.admin_token);
    crate::fsutil::write_secret(&token_path, format!("{}\n", crate::admin::auth::new_token()).as_bytes())
        .map_err(io(&token_path))?;

    let tls_dir = config.resolve(&config.paths.tls);
    let mut hosts = opts.tls_hosts.clone();
    for addr in [&opts.listen, config.federation_endpoint(), &opts.admin] {
        if let Some((host, _)) = addr.rsplit_once(':') {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if !host.is_empty() && host != "0.0.0.0" && host != "::" && !hosts.iter().any(|h| h == host) {
                hosts.push(host.to_string());
            }
        }
    }
    let ca = jaring_certs::DevCa::generate(&opts.node_id)
        .map_err(|e| InitError::Io { path: tls_dir.clone(), reason: e.to_string() })?;
    let cert = ca
        .issue_node_cert(&opts.node_id, &hosts, jaring_certs::Validity::days(365))
        .map_err(|e| InitError::Io { path: tls_dir.clone(), reason: e.to_string() })?;
    jaring_certs::write_dev_pki(&tls_dir, &ca, &cert)
        .map_err(|e| InitError::Io { path: tls_dir.clone(), reason: e.to_string() })?;

    let card = crate::node::identity_card(&config, &[Arc::new(key)], &ca.cert_pem);
    let id_path = config.resolve(&config.paths.identity);
    crate::fsutil::write_atomic(&id_path, format!("{card}\n").as_bytes(), 0o600).map_err(io(&id_path))?;
    crate::fsutil::write_atomic(&toml_path, text.as_bytes(), 0o600).map_err(io(&toml_path))?;
    // Whatever a library wrote with its own modes (certificates) too.
    crate::file_modes::restrict_tree(dir).map_err(io(dir))?;
    Ok(config)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), InitError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}
