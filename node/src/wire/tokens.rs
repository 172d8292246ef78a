//! Admin API token messages to and from the access types.

use jaring_proto::pb;

use super::{FromPb, WireEnum, WireError, categories_from_wire, categories_to_wire};
use crate::access::{Cidr, NewToken, Rate, Role, Source, TokenRecord};
use crate::model::{Kind, Tlp};

/// A token record as the admin API shows it, with where it comes from
/// and its rate in force (the role's default when it has none of its own).
pub fn token_to_pb(r: &TokenRecord, source: Source) -> pb::TokenRecord {
    let rate = r.effective_rate();
    pb::TokenRecord {
        name: r.name.clone(),
        role: r.role.as_str().to_string(),
        max_tlp: r.scope.max_tlp.to_wire(),
        kinds: r.scope.kinds.iter().map(|k| k.to_wire()).collect(),
        categories: categories_to_wire(&r.scope.categories),
        platform: r.platform.clone().unwrap_or_default(),
        expires_at_ms: r.expires_at_ms.unwrap_or(0),
        allow_from: r.allow_from.iter().map(ToString::to_string).collect(),
        rate_per_s: rate.map_or(0, |r| r.per_s),
        rate_burst: rate.map_or(0, |r| r.burst),
        created_at_ms: r.created_at_ms,
        created_by: r.created_by.clone(),
        revoked_at_ms: r.revoked_at_ms.unwrap_or(0),
        revoked_by: r.revoked_by.clone().unwrap_or_default(),
        source: source.as_str().to_string(),
    }
}

impl FromPb<pb::CreateTokenRequest> for NewToken {
    fn from_pb(r: pb::CreateTokenRequest) -> Result<NewToken, WireError> {
        let role: Role = r
            .role
            .parse()
            .map_err(|e: crate::model::UnknownName| WireError::Invalid { field: "role", reason: e.to_string() })?;
        let mut kinds = Vec::with_capacity(r.kinds.len());
        for k in r.kinds {
            kinds.push(Kind::require_wire(k)?);
        }
        let mut allow_from = Vec::with_capacity(r.allow_from.len());
        for c in &r.allow_from {
            allow_from.push(
                c.parse::<Cidr>().map_err(|e| WireError::Invalid { field: "allow_from", reason: e.to_string() })?,
            );
        }
        let rate = match (r.rate_per_s, r.rate_burst) {
            (0, 0) => None,
            (0, _) => return Err(WireError::Invalid { field: "rate_burst", reason: "needs rate_per_s".into() }),
            (n, 0) => Some(Rate::per_second(n)),
            (n, b) => Some(Rate { per_s: n, burst: b }),
        };
        Ok(NewToken {
            name: r.name,
            role,
            max_tlp: Tlp::from_wire(r.max_tlp)?,
            kinds,
            categories: categories_from_wire(&r.categories)?,
            platform: (!r.platform.is_empty()).then_some(r.platform),
            expires_at_ms: (r.expires_at_ms != 0).then_some(r.expires_at_ms),
            allow_from,
            rate,
        })
    }
}
