//! What an export for a recipient holds (`jaring export stix|csv|misp`).
//!
//! An export usually leaves the ministry: a file for a partner, a platform
//! or a MISP instance. So by default it holds what may be shared at all:
//! nothing marked TLP:RED and nothing of `local` distribution (the same
//! two things no agreement lets leave the node); `--max-tlp red` and
//! `--distribution local,direct,federation` ask for them explicitly.
//!
//! The status of a record ([`status_of`]) is the node's own notion
//! ([`crate::view::ValueStatus`]): `revoked` if its origin withdrew it,
//! `expired` if past `valid_until` or past its category's lifetime since
//! it was last seen ([`crate::scoring`]), else `active`.
//!
//! Pure: records in, a decision out.

use crate::model::{Action, Distribution, Tlp, UnixMillis};
use crate::scoring::{ScoreInput, ScoringConfig};
use crate::view::{IndicatorRecord, ValueStatus};

/// The status of one record at `now`, by the node's scoring rules (without
/// sightings: an export sees records, not feedback).
pub fn status_of(rec: &IndicatorRecord, now: UnixMillis, scoring: &ScoringConfig) -> ValueStatus {
    if rec.action == Action::Revoke {
        return ValueStatus::Revoked;
    }
    let score = scoring.score(
        &ScoreInput {
            confidence: rec.confidence,
            categories: &rec.categories,
            last_seen_ms: rec.last_seen_ms,
            valid_until_ms: rec.valid_until_ms,
            revoked: false,
            last_sighting_ms: None,
            false_positive_votes: 0,
        },
        now,
    );
    if score.expired { ValueStatus::Expired } else { ValueStatus::Active }
}

/// The distributions an export holds unless told otherwise: not `local`.
pub const DEFAULT_DISTRIBUTIONS: &[Distribution] = &[Distribution::Direct, Distribution::Federation];

/// The most restricted TLP an export holds unless told otherwise:
/// AMBER+STRICT (everything but RED).
pub const DEFAULT_MAX_TLP: Tlp = Tlp::AmberStrict;

/// Which records an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFilter {
    /// Most restricted TLP held.
    pub max_tlp: Tlp,
    /// Distributions held.
    pub distributions: Vec<Distribution>,
    /// Statuses held (empty: every status).
    pub statuses: Vec<ValueStatus>,
    /// Only versions signed at or after this time.
    pub since_ms: Option<UnixMillis>,
}

impl Default for ExportFilter {
    fn default() -> Self {
        ExportFilter {
            max_tlp: DEFAULT_MAX_TLP,
            distributions: DEFAULT_DISTRIBUTIONS.to_vec(),
            statuses: Vec::new(),
            since_ms: None,
        }
    }
}

impl ExportFilter {
    /// Whether `rec` belongs in the export at `now`.
    pub fn admits(&self, rec: &IndicatorRecord, now: UnixMillis, scoring: &ScoringConfig) -> bool {
        rec.tlp <= self.max_tlp
            && self.distributions.contains(&rec.distribution)
            && self.since_ms.is_none_or(|t| rec.created_at_ms >= t)
            && (self.statuses.is_empty() || self.statuses.contains(&status_of(rec, now, scoring)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Category, Kind};

    pub(crate) const NOW: UnixMillis = 1_800_000_000_000;
    const DAY: UnixMillis = 86_400_000;

    pub(crate) fn record(kind: Kind, value: &str) -> IndicatorRecord {
        IndicatorRecord {
            id: "0194d7e2-5c1a-8f00-8000-000000000001".into(),
            origin: "ID".into(),
            origin_seq: 1,
            local_seq: 1,
            kind,
            value: value.into(),
            keyed_hash: None,
            hash_epoch: None,
            categories: vec![Category::JobScam],
            confidence: 80,
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: NOW - 2 * DAY,
            last_seen_ms: NOW - DAY,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            created_at_ms: NOW - DAY,
            description: None,
            source_refs: vec![],
            key_id: "ed25519:0000000000000000".into(),
        }
    }

    #[test]
    fn status_follows_revocation_validity_and_lifetime() {
        let s = ScoringConfig::default();
        let active = record(Kind::Domain, "a.example");
        assert_eq!(status_of(&active, NOW, &s), ValueStatus::Active);
        let revoked = IndicatorRecord { action: Action::Revoke, ..active.clone() };
        assert_eq!(status_of(&revoked, NOW, &s), ValueStatus::Revoked);
        let past_until = IndicatorRecord { valid_until_ms: Some(NOW - 1), ..active.clone() };
        assert_eq!(status_of(&past_until, NOW, &s), ValueStatus::Expired);
        // job_scam lives 365 days after it was last seen.
        let old = IndicatorRecord { last_seen_ms: NOW - 366 * DAY, ..active };
        assert_eq!(status_of(&old, NOW, &s), ValueStatus::Expired);
    }

    #[test]
    fn default_leaves_out_red_and_local_and_keeps_the_rest() {
        let s = ScoringConfig::default();
        let f = ExportFilter::default();
        let base = record(Kind::Domain, "a.example");
        assert!(f.admits(&base, NOW, &s));
        assert!(f.admits(&IndicatorRecord { tlp: Tlp::AmberStrict, ..base.clone() }, NOW, &s));
        assert!(f.admits(&IndicatorRecord { distribution: Distribution::Direct, ..base.clone() }, NOW, &s));
        assert!(f.admits(&IndicatorRecord { action: Action::Revoke, ..base.clone() }, NOW, &s));
        assert!(!f.admits(&IndicatorRecord { tlp: Tlp::Red, ..base.clone() }, NOW, &s));
        assert!(!f.admits(&IndicatorRecord { distribution: Distribution::Local, ..base.clone() }, NOW, &s));
        let all = ExportFilter {
            max_tlp: Tlp::Red,
            distributions: vec![Distribution::Local, Distribution::Direct, Distribution::Federation],
            ..ExportFilter::default()
        };
        assert!(all.admits(&IndicatorRecord { tlp: Tlp::Red, distribution: Distribution::Local, ..base }, NOW, &s));
    }

    #[test]
    fn status_and_since_narrow_it() {
        let s = ScoringConfig::default();
        let base = record(Kind::Domain, "a.example");
        let active_only = ExportFilter { statuses: vec![ValueStatus::Active], ..ExportFilter::default() };
        assert!(active_only.admits(&base, NOW, &s));
        assert!(!active_only.admits(&IndicatorRecord { action: Action::Revoke, ..base.clone() }, NOW, &s));
        assert!(!active_only.admits(&IndicatorRecord { valid_until_ms: Some(NOW - 1), ..base.clone() }, NOW, &s));
        let expired = ExportFilter { statuses: vec![ValueStatus::Expired], ..ExportFilter::default() };
        assert!(!expired.admits(&base, NOW, &s));
        assert!(expired.admits(&IndicatorRecord { valid_until_ms: Some(NOW - 1), ..base.clone() }, NOW, &s));
        let since = ExportFilter { since_ms: Some(NOW - DAY), ..ExportFilter::default() };
        assert!(since.admits(&base, NOW, &s));
        assert!(!since.admits(&IndicatorRecord { created_at_ms: NOW - DAY - 1, ..base }, NOW, &s));
    }
}
