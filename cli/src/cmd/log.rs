//! `jaring log verify-proof|consistency`: checking a node's transparency
//! log offline, with nothing but files.
//!
//! - `verify-proof FILE --identity CARD.json` checks a C2SP tlog-proof: the
//!   checkpoint is signed by a signing key on the node's identity card under
//!   the node's origin (`<tls_name>/log`), the entry (the proof's `extra`
//!   line, or `--entry`) is included at the index given, and the witnesses
//!   asked for (`--witness CARD.json` for Jaring peers, `--witness-key VKEY`
//!   for any C2SP witness) cosigned it.
//! - `consistency OLD NEW --identity CARD.json --proof FILE` checks that the
//!   newer checkpoint extends the older: both signed by the node, and the
//!   consistency proof (one base64 hash per line, as in a tlog-witness
//!   add-checkpoint body; empty for equal sizes) leads from one root to the
//!   other. It reads no network: a proof is made by the node (or from its
//!   tiles) and handed over with the checkpoints.
//!
//! - `checkpoint` and `prove ENTRY_OR_VALUE` ask a running node (over the
//!   admin API, see `log_online`): its latest checkpoint with the
//!   cosignatures its witnesses sent, and a tlog-proof of one entry (by log
//!   position, or the entry asserting a value) against the latest cosigned
//!   checkpoint. `checkpoint --url URL --identity CARD.json` fetches any
//!   node's public `/log/checkpoint` and checks it with the node's card.
//! - `checkpoint --offline` and `prove LOCAL_SEQ --offline` read a stopped
//!   node's directory (`--node DIR`, or a copy of it): they compute the tree
//!   over its log, sign a checkpoint with its current signing key, and print
//!   the checkpoint or write the tlog-proof of one entry (the entry in its
//!   `extra` line).
//!
//! Exit status 0 means verified; any refusal exits non-zero naming the step
//! that failed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use jaring_node::config::Config;
use jaring_node::envelope::{Entry, Value};
use jaring_node::identity::IdentityCard;
use jaring_node::keys::SigningKey;
use jaring_node::log_tree;
use jaring_node::tlog::checkpoint::SignedCheckpoint;
use jaring_node::tlog::note::VerifierKey;
use jaring_node::tlog::proof::TlogProof;
use jaring_node::tlog::tree::TileNodes;
use jaring_node::tlog::{self, Hash, checkpoint, merkle};
use serde::Serialize;

use crate::client::Target;
use crate::output::Output;

/// Largest proof or checkpoint file read (a proof's entry is at most a few
/// hundred KiB; anything larger is not one).
const MAX_FILE: u64 = 4 << 20;

/// Transparency log commands.
#[derive(Debug, Subcommand)]
pub enum LogCmd {
    /// Verify a tlog-proof file: the entry is in the node's log, under a
    /// checkpoint signed by the node and cosigned by the witnesses given.
    #[command(
        name = "verify-proof",
        after_help = "Examples:\n  jaring log verify-proof entry-4711.tlog-proof --identity id/identity.json\n  \
                      jaring log verify-proof p.tlog-proof --identity id.json --witness vn.json --witness my.json --quorum 1"
    )]
    VerifyProof {
        /// The .tlog-proof file.
        file: PathBuf,
        /// Identity card of the node whose log it is.
        #[arg(long)]
        identity: PathBuf,
        /// The entry (exact stored envelope bytes), when the proof has no
        /// extra line.
        #[arg(long)]
        entry: Option<PathBuf>,
        /// Identity card of a Jaring peer whose cosignature counts (repeatable).
        #[arg(long = "witness")]
        witnesses: Vec<PathBuf>,
        /// A C2SP witness verifier key `name+id+base64` (type 0x04) whose
        /// cosignature counts (repeatable).
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
        /// How many of those witnesses must have cosigned (default: all).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// The node's latest checkpoint, signed by the node, with its witnesses' cosignatures.
    #[command(after_help = "Examples:\n  jaring --node ./id log checkpoint\n  \
                      jaring log checkpoint --url https://127.0.0.1:8443/log --identity id/identity.json\n  \
                      jaring --node ./copy-of-id-node log checkpoint --offline > id.checkpoint")]
    Checkpoint {
        /// Compute it from the store in --node DIR (the node must not be running).
        #[arg(long, conflicts_with_all = ["url", "fresh", "cosigned"])]
        offline: bool,
        /// Fetch it from a node's public log prefix over HTTPS (needs --identity).
        #[arg(long, requires = "identity", conflicts_with_all = ["fresh", "cosigned"])]
        url: Option<String>,
        /// With --url: the node's identity card (its CA, TLS name and keys).
        #[arg(long)]
        identity: Option<PathBuf>,
        /// Sign a checkpoint of the log as it is now first.
        #[arg(long)]
        fresh: bool,
        /// The latest checkpoint a witness cosigned, instead of the latest.
        #[arg(long)]
        cosigned: bool,
    },
    /// A tlog-proof that an entry is in the node's log (C2SP tlog-proof).
    #[command(after_help = "Examples:\n  jaring --node ./id log prove 4711 --out 4711.tlog-proof\n  \
                      jaring --node ./id log prove loker-jepang.co.id --kind domain --out loker.tlog-proof\n  \
                      jaring --node ./copy-of-id-node log prove 4711 --offline --out 4711.tlog-proof")]
    Prove {
        /// The entry: its local sequence number (`indicator list` shows it),
        /// or a value (the current entry asserting it).
        entry: String,
        /// The value's kind (default: every kind it parses as).
        #[arg(long)]
        kind: Option<jaring_node::model::Kind>,
        /// Prove this origin's entry for the value (default: this node's, else the first).
        #[arg(long)]
        origin: Option<String>,
        /// Refuse unless a witness has cosigned a checkpoint holding the entry.
        #[arg(long)]
        require_cosigned: bool,
        /// Compute it from the store in --node DIR (the node must not be running).
        #[arg(long, conflicts_with_all = ["kind", "origin", "require_cosigned"])]
        offline: bool,
        /// Write the proof here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify that checkpoint NEW extends checkpoint OLD.
    #[command(
        after_help = "Examples:\n  jaring log consistency old.checkpoint new.checkpoint --identity id.json --proof old-to-new.proof"
    )]
    Consistency {
        /// The older signed checkpoint.
        old: PathBuf,
        /// The newer signed checkpoint.
        new: PathBuf,
        /// Identity card of the node whose log it is.
        #[arg(long)]
        identity: PathBuf,
        /// Consistency proof: one base64 hash per line.
        #[arg(long)]
        proof: PathBuf,
    },
}

#[derive(Serialize)]
struct ProofReport {
    verified: bool,
    origin: String,
    index: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    witnesses: Vec<Witnessed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<EntrySummary>,
}

#[derive(Serialize)]
struct Witnessed {
    name: String,
    timestamp: u64,
}

#[derive(Serialize)]
struct EntrySummary {
    origin: String,
    origin_seq: u64,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    signed_by: String,
}

#[derive(Serialize)]
struct ConsistencyReport {
    consistent: bool,
    origin: String,
    old_size: u64,
    new_size: u64,
    old_root: String,
    new_root: String,
}

/// Runs a log command.
///
/// # Errors
///
/// Unreadable files, a card that does not verify, and every refusal of the
/// proof (named).
pub async fn run(cmd: LogCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        LogCmd::Checkpoint { url: Some(url), identity, .. } => {
            let identity = identity.ok_or_else(|| anyhow!("--url needs --identity CARD.json"))?;
            super::log_online::checkpoint_from_url(&url, &identity, out)
        }
        LogCmd::Checkpoint { offline: false, fresh, cosigned, .. } => {
            super::log_online::checkpoint(target, out, fresh, cosigned).await
        }
        LogCmd::Prove { entry, offline: false, out: file, kind, origin, require_cosigned } => {
            super::log_online::prove(target, out, &entry, kind, origin, require_cosigned, file.as_ref()).await
        }
        LogCmd::Checkpoint { offline, .. } => {
            let node = open_offline(target, offline)?;
            let tree = log_tree::from_store(&node.store).context("reading the log")?;
            let signed = node.sign(&tree)?;
            if out.json {
                let cp = &signed.checkpoint;
                out.json(&serde_json::json!({
                    "origin": cp.origin,
                    "size": cp.size,
                    "root": cp.root.to_base64(),
                    "checkpoint": signed.to_text(),
                }));
            } else {
                print!("{}", signed.to_text());
            }
            Ok(())
        }
        LogCmd::Prove { entry, offline, out: file, .. } => {
            let local_seq: u64 = entry.parse().map_err(|_| {
                anyhow!("{entry:?}: give the entry's local sequence number (proofs by value need the running node)")
            })?;
            let node = open_offline(target, offline)?;
            let bytes = log_tree::entry(&node.store, local_seq)
                .context("reading the log")?
                .ok_or_else(|| anyhow!("the log has no entry {local_seq}"))?;
            let tree = log_tree::from_store(&node.store).context("reading the log")?;
            let signed = node.sign(&tree)?;
            let index = local_seq - 1;
            let proof = merkle::inclusion_proof(&TileNodes::new(&tree.tiles), index, tree.state.size())
                .map_err(|e| anyhow!("building the proof: {e}"))?;
            let text = TlogProof { extra: Some(bytes), index, proof, checkpoint: signed.to_text() }.to_text();
            match &file {
                Some(path) => {
                    std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
                    if out.json {
                        out.json(&serde_json::json!({
                            "file": path.display().to_string(),
                            "local_seq": local_seq,
                            "index": index,
                            "tree_size": tree.state.size(),
                        }));
                    } else {
                        println!("wrote {} (entry {local_seq}, tree size {})", path.display(), tree.state.size());
                    }
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        LogCmd::VerifyProof { file, identity, entry, witnesses, witness_keys, quorum } => {
            let card = read_card(&identity)?;
            let origin = tlog::origin(&card.tls_name);
            let log_keys = log_keys(&card)?;
            let mut known = Vec::new();
            for w in &witnesses {
                known.extend(witness_keys_of(&read_card(w)?)?);
            }
            for k in &witness_keys {
                known.push(VerifierKey::parse(k).with_context(|| format!("--witness-key {k}"))?);
            }
            let needed = quorum.unwrap_or(witnesses.len() + witness_keys.len());
            let proof = TlogProof::parse(&read(&file)?).with_context(|| format!("{}", file.display()))?;
            let entry = entry.as_deref().map(read).transpose()?;
            let verified = proof
                .verify(entry.as_deref(), &origin, &log_keys, &known, needed)
                .map_err(|e| anyhow!("{}: not verified: {e}", file.display()))?;
            let bytes = entry.as_deref().or(proof.extra.as_deref()).unwrap_or_default();
            let cp = &verified.checkpoint.checkpoint;
            let report = ProofReport {
                verified: true,
                origin,
                index: verified.index,
                tree_size: cp.size,
                root: cp.root.to_base64(),
                leaf_hash: verified.leaf.to_base64(),
                witnesses: verified
                    .witnesses
                    .iter()
                    .map(|(name, timestamp)| Witnessed { name: name.clone(), timestamp: *timestamp })
                    .collect(),
                entry: summarize(bytes),
            };
            if out.json {
                out.json(&report);
            } else {
                println!(
                    "verified: entry {} is in the log {} of size {}",
                    report.index, report.origin, report.tree_size
                );
                println!("  root {}  leaf {}", report.root, report.leaf_hash);
                for w in &report.witnesses {
                    println!("  cosigned by {} at {}", w.name, w.timestamp);
                }
                match &report.entry {
                    Some(e) => println!(
                        "  entry: {} #{} {} {}  (signed by {})",
                        e.origin,
                        e.origin_seq,
                        e.kind,
                        e.value.as_deref().unwrap_or(""),
                        e.signed_by
                    ),
                    None => println!("  entry: not a Jaring envelope"),
                }
            }
            Ok(())
        }
        LogCmd::Consistency { old, new, identity, proof } => {
            let card = read_card(&identity)?;
            let origin = tlog::origin(&card.tls_name);
            let keys = log_keys(&card)?;
            let open = |p: &Path| -> Result<checkpoint::Checkpoint> {
                let signed = checkpoint::open(&read(p)?, &origin, &keys)
                    .map_err(|e| anyhow!("{}: not a checkpoint of {origin} signed by its keys: {e}", p.display()))?;
                Ok(signed.checkpoint)
            };
            let (a, b) = (open(&old)?, open(&new)?);
            let hashes = read_proof(&proof)?;
            merkle::verify_consistency(a.size, b.size, &a.root, &b.root, &hashes).map_err(|e| {
                anyhow!(
                    "not consistent: size {} -> {}: {e} (keep both checkpoints: signed by the node, they are evidence)",
                    a.size,
                    b.size
                )
            })?;
            let report = ConsistencyReport {
                consistent: true,
                origin,
                old_size: a.size,
                new_size: b.size,
                old_root: a.root.to_base64(),
                new_root: b.root.to_base64(),
            };
            if out.json {
                out.json(&report);
            } else {
                println!(
                    "consistent: {} at size {} extends size {}\n  old root {}\n  new root {}",
                    report.origin, report.new_size, report.old_size, report.old_root, report.new_root
                );
            }
            Ok(())
        }
    }
}

/// A stopped node's store, card and current signing key.
struct OfflineNode {
    store: jaring_node::store::Store,
    card: IdentityCard,
    key: std::sync::Arc<SigningKey>,
}

fn open_offline(target: &Target, offline: bool) -> Result<OfflineNode> {
    if !offline {
        bail!("this needs --offline");
    }
    let Some(dir) = &target.node else { bail!("--offline needs --node DIR (a stopped node's directory or a copy)") };
    let config = Config::load(&dir.join("node.toml")).context("reading the node's config")?;
    let card = read_card(&config.resolve(&config.paths.identity))?;
    let keys = jaring_node::keystore::read_signing_keys(&config.resolve(&config.paths.keys))
        .context("reading the signing keys")?;
    let key = std::sync::Arc::new(keys.into_iter().last().ok_or_else(|| anyhow!("no signing key"))?);
    if !card.signing_keys.iter().any(|k| k.key_id == key.id().as_str() && k.revoked_at_ms.is_none()) {
        bail!("the current signing key {} is not on the identity card (export the card again)", key.id().as_str());
    }
    let db = config.resolve(&config.paths.db);
    if !db.exists() {
        bail!("{}: no store here", db.display());
    }
    let store = jaring_node::store::open(&db, config.store.engine, config.store.cache_mib)
        .with_context(|| format!("opening {} (is the node still running? stop it first)", db.display()))?;
    Ok(OfflineNode { store, card, key })
}

impl OfflineNode {
    fn sign(&self, tree: &log_tree::LogTree) -> Result<SignedCheckpoint> {
        let signer = tlog::log_signer(&self.card.tls_name, self.key.clone())?;
        let cp = checkpoint::Checkpoint {
            origin: tlog::origin(&self.card.tls_name),
            size: tree.state.size(),
            root: tree.state.root(),
            extensions: vec![],
        };
        Ok(cp.sign(&signer)?)
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    if len > MAX_FILE {
        bail!("{} is {len} bytes, larger than any proof or checkpoint", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn read_card(path: &Path) -> Result<IdentityCard> {
    let text = String::from_utf8(read(path)?).with_context(|| format!("{} is not UTF-8", path.display()))?;
    IdentityCard::verify(&text).with_context(|| format!("identity card {}", path.display()))
}

/// The card's signing keys as checkpoint verifiers. A revoked key signs no
/// checkpoint we accept: a checkpoint carries no time to compare with the
/// revocation.
pub(crate) fn log_keys(card: &IdentityCard) -> Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for k in card.signing_keys.iter().filter(|k| k.revoked_at_ms.is_none()) {
        keys.push(tlog::log_verifier(&card.tls_name, k.public_key()?)?);
    }
    if keys.is_empty() {
        bail!("the card of {} lists no unrevoked signing key", card.node_id);
    }
    Ok(keys)
}

fn witness_keys_of(card: &IdentityCard) -> Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for k in card.signing_keys.iter().filter(|k| k.revoked_at_ms.is_none()) {
        keys.push(tlog::witness_verifier(&card.tls_name, k.public_key()?)?);
    }
    Ok(keys)
}

fn read_proof(path: &Path) -> Result<Vec<Hash>> {
    let text = String::from_utf8(read(path)?).with_context(|| format!("{} is not UTF-8", path.display()))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            Hash::from_base64(l.trim())
                .ok_or_else(|| anyhow!("{} line {}: not base64 of a 32-byte hash", path.display(), i + 1))
        })
        .collect()
}

/// What the entry says, when it is a Jaring envelope.
fn summarize(bytes: &[u8]) -> Option<EntrySummary> {
    let env = jaring_node::wire::decode_envelope(bytes).ok()?;
    let body = jaring_node::wire::decode_body(&env.body).ok()?;
    let (kind, value) = match &body.entry {
        Entry::Indicator(i) => (i.kind.to_string(), Some(shown(&i.value))),
        Entry::KeyEvent(_) => ("key event".to_string(), None),
        Entry::Feedback(f) => (format!("feedback on {}", f.kind), Some(shown(&f.value))),
    };
    Some(EntrySummary {
        origin: body.origin,
        origin_seq: body.origin_seq,
        kind,
        value,
        signed_by: env.key_id.to_string(),
    })
}

fn shown(v: &Value) -> String {
    match v {
        Value::Plain(v) => v.clone(),
        Value::Keyed { digest, .. } => format!("keyed hash {digest}"),
    }
}
