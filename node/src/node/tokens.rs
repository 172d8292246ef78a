//! Tokens: making and revoking them (durable and audited in one commit,
//! like every admin change), listing them, and checking each request
//! against them; refusals are audited with the token's name (at most one
//! entry per token and reason every [`AUDIT_EVERY`], naming how many were
//! refused in between).
//!
//! Tokens made here live in the store (`Keyspace::Tokens`); the node's
//! `admin.token` is the built-in `admin`, and the legacy
//! `http-tokens.json` still holds `reader` tokens an older `jaring` made
//! ([`crate::access::legacy`]).

use std::net::IpAddr;

use zeroize::Zeroizing;

use crate::access::credentials::{AUDIT_EVERY, SecretDigest};
use crate::access::{ADMIN, Credentials, Denied, NewToken, Operation, Session, Source, TokenRecord};
use crate::audit::{AuditCategory, AuditDraft};
use crate::model::now_ms;
use crate::store::{Batch, TableWrites, Tables};
use crate::submission::InputError;

use super::{Conflict, Forbidden, Node, NodeError, NotFound};

impl Node {
    /// Every token this node accepts, in memory.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Checks one request (see [`Credentials::authenticate`]) and names
    /// its actor; a refusal of a known token is audited.
    ///
    /// # Errors
    ///
    /// The [`Denied`] that applies.
    pub async fn authorize(
        &self,
        secret: Option<&str>,
        from: IpAddr,
        operation: Operation,
        cost: u32,
        operator: Option<&str>,
    ) -> Result<Session, Denied> {
        match self.credentials.authenticate(secret, from, operation, cost) {
            Ok(p) => Ok(Session::new(p, operator)),
            Err(d) => {
                self.audit_refusal(&d, operation, from).await;
                Err(d)
            }
        }
    }

    /// [`Self::authorize`] for the token whose secret has digest `d` (a
    /// console session keeps the digest, never the secret): a token revoked
    /// or expired since the session began is refused (and audited).
    ///
    /// # Errors
    ///
    /// The [`Denied`] that applies.
    pub async fn authorize_digest(
        &self,
        d: &SecretDigest,
        from: IpAddr,
        operation: Operation,
        cost: u32,
    ) -> Result<Session, Denied> {
        match self.credentials.authenticate_digest(Some(d), from, operation, cost) {
            Ok(p) => Ok(Session::new(p, None)),
            Err(d) => {
                self.audit_refusal(&d, operation, from).await;
                Err(d)
            }
        }
    }

    /// Takes `cost` more units of a session's rate (a batch's values).
    ///
    /// # Errors
    ///
    /// [`Denied::RateLimited`] (audited).
    pub async fn charge(&self, session: &Session, cost: u32, operation: Operation, from: IpAddr) -> Result<(), Denied> {
        match self.credentials.charge(&session.principal, cost) {
            Ok(()) => Ok(()),
            Err(d) => {
                self.audit_refusal(&d, operation, from).await;
                Err(d)
            }
        }
    }

    /// Audits a refusal decided by an edge (a request body asking for more
    /// than the token allows), subject to the same throttle.
    pub async fn audit_refusal(&self, d: &Denied, operation: Operation, from: IpAddr) {
        let Some(skipped) = self.credentials.audit_due(d) else { return };
        let since = if skipped > 0 {
            format!(" ({skipped} more refused for this reason in the last {} s)", AUDIT_EVERY.as_secs())
        } else {
            String::new()
        };
        let draft = AuditDraft {
            category: AuditCategory::Access,
            reason: Some(d.reason().into()),
            ..AuditDraft::admin(
                &d.token().map_or_else(|| "unknown".to_string(), |n| format!("token:{n}")),
                "access.refuse",
                format!("{operation} from {from}: {d}{since}"),
            )
        };
        if let Err(e) = self.ledger.apply(Batch::default(), vec![draft]).await {
            tracing::warn!(error = %e, "cannot audit a refused request");
        }
    }

    /// Every token: the built-in admin, those made here (revoked ones
    /// too) and the legacy file's.
    pub fn tokens(&self) -> Vec<(TokenRecord, Source)> {
        self.credentials.list()
    }

    /// One token by name.
    ///
    /// # Errors
    ///
    /// [`NotFound::Token`].
    pub fn token(&self, name: &str) -> Result<(TokenRecord, Source), NodeError> {
        self.tokens().into_iter().find(|(r, _)| r.name == name).ok_or_else(|| NotFound::Token(name.into()).into())
    }

    /// Makes a token: its record is stored and audited in one commit, and
    /// it is accepted from the next request on. Returns the secret (shown
    /// once; only its SHA-256 is kept) and the record.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] naming the field, [`Conflict::TokenExists`]
    /// for a name in use (a revoked name may be used again), store
    /// failures.
    pub async fn create_token(
        &self,
        new: NewToken,
        actor: &str,
    ) -> Result<(Zeroizing<String>, TokenRecord), NodeError> {
        let _serial = self.credentials.changes.lock().await;
        if new.name == ADMIN {
            return Err(InputError::new("name", "\"admin\" is the node's admin.token").into());
        }
        if let Some((r, _)) = self.tokens().into_iter().find(|(r, _)| r.name == new.name)
            && r.revoked_at_ms.is_none()
        {
            return Err(Conflict::TokenExists(new.name).into());
        }
        let (secret, sha256) = crate::access::secret::new_secret();
        let record = new.into_record(now_ms(), actor, sha256)?;
        let mut batch = Batch::default();
        batch.put_token_record(&record);
        self.ledger.apply(batch, vec![AuditDraft::admin(actor, "token.create", describe(&record))]).await?;
        self.credentials.set_stored(self.store.token_records()?);
        Ok((secret, record))
    }

    /// Revokes a token: refused from the next request on. A token of the
    /// legacy file is removed from it.
    ///
    /// # Errors
    ///
    /// [`NotFound::Token`], [`Conflict::TokenRevoked`],
    /// [`Forbidden::AdminToken`], store or file failures.
    pub async fn revoke_token(&self, name: &str, reason: &str, actor: &str) -> Result<TokenRecord, NodeError> {
        let _serial = self.credentials.changes.lock().await;
        let (record, source) = self.token(name)?;
        let detail = if reason.trim().is_empty() { name.to_string() } else { format!("{name}: {}", reason.trim()) };
        match source {
            Source::AdminToken => Err(Forbidden::AdminToken.into()),
            Source::Store => {
                let mut record = self.store.token_record(name)?.unwrap_or(record);
                if record.revoked_at_ms.is_some() {
                    return Err(Conflict::TokenRevoked(name.into()).into());
                }
                record.revoked_at_ms = Some(now_ms());
                record.revoked_by = Some(actor.into());
                let mut batch = Batch::default();
                batch.put_token_record(&record);
                self.ledger.apply(batch, vec![AuditDraft::admin(actor, "token.revoke", detail)]).await?;
                self.credentials.set_stored(self.store.token_records()?);
                Ok(record)
            }
            Source::File => {
                let file = self.credentials.legacy_file();
                crate::access::legacy::revoke(file.path(), name)
                    .map_err(|e| crate::store::StoreError::Engine(format!("the legacy token file: {e}")))?;
                file.invalidate();
                self.ledger.apply(Batch::default(), vec![AuditDraft::admin(actor, "token.revoke", detail)]).await?;
                Ok(TokenRecord { revoked_at_ms: Some(now_ms()), revoked_by: Some(actor.into()), ..record })
            }
        }
    }
}

/// A token's record for the audit log: everything but the secret's digest.
fn describe(r: &TokenRecord) -> String {
    let list = |v: Vec<String>| if v.is_empty() { "all".to_string() } else { v.join(",") };
    let mut out = format!(
        "{} role={} max_tlp={} kinds={} categories={}",
        r.name,
        r.role,
        r.scope.max_tlp,
        list(r.scope.kinds.iter().map(ToString::to_string).collect()),
        list(r.scope.categories.iter().map(ToString::to_string).collect()),
    );
    if let Some(p) = &r.platform {
        out.push_str(&format!(" platform={p}"));
    }
    if let Some(t) = r.expires_at_ms {
        out.push_str(&format!(" expires_at_ms={t}"));
    }
    if !r.allow_from.is_empty() {
        out.push_str(&format!(" allow_from={}", list(r.allow_from.iter().map(ToString::to_string).collect())));
    }
    if let Some(rate) = r.rate {
        out.push_str(&format!(" rate={}/s burst={}", rate.per_s, rate.burst));
    }
    out
}
