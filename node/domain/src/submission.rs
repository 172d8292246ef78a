//! Submissions: an indicator as a person or a crawler gives it, and the
//! checks that turn it into an [`Indicator`] ready to sign.
//!
//! [`NewIndicator::prepare`] normalizes the value (one canonical form per
//! real-world thing), carries personal data as a keyed hash
//! ([`crate::pii::Privacy`]), fills defaults and checks every rule once
//! ([`Indicator::validate`], the same check a receiver applies to a peer's
//! envelope). The ledger then numbers the version.

use crate::envelope::{Indicator, indicator_id};
use crate::model::{Action, Category, Confidence, Distribution, InvalidField, Kind, Tlp, UnixMillis};
use crate::normalize::{self, NormalizeContext};
use crate::pii::Privacy;

/// An indicator as submitted, before normalization.
#[derive(Debug, Clone, Default)]
pub struct NewIndicator {
    /// Kind (required).
    pub kind: Option<Kind>,
    /// The value as written.
    pub value: String,
    /// At least one.
    pub categories: Vec<Category>,
    /// 0-100.
    pub confidence: u32,
    /// Default AMBER.
    pub tlp: Option<Tlp>,
    /// Default federation.
    pub distribution: Option<Distribution>,
    /// Default now.
    pub first_seen_ms: Option<UnixMillis>,
    /// Default now.
    pub last_seen_ms: Option<UnixMillis>,
    /// Default none.
    pub valid_until_ms: Option<UnixMillis>,
    /// Notes for analysts.
    pub description: Option<String>,
    /// Where it was found (URLs of posts, case numbers).
    pub source_refs: Vec<String>,
}

/// A refused input: which field, and why. Nothing was stored for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InputError {
    /// The field.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl InputError {
    /// Builds an error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InputError { field: field.into(), reason: reason.into() }
    }
}

impl From<InvalidField> for InputError {
    fn from(e: InvalidField) -> InputError {
        InputError { field: e.field.into(), reason: e.reason }
    }
}

/// A checked submission: the indicator to publish (version 1 until the
/// ledger finds an older one) and, for personal data, the plain value the
/// origin keeps locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Normalized, hashed where personal, every rule checked.
    pub indicator: Indicator,
    /// The plain canonical value of personal data (never sent).
    pub plain: Option<String>,
}

impl Submission {
    /// Whether this submission says exactly what `held` (this node's
    /// current version) says: kind, value, categories, confidence, TLP,
    /// distribution, first and last seen, expiry, description and source
    /// references. A revoked version is never "the same": submitting the
    /// value again publishes it anew.
    pub fn same_content(&self, held: &Indicator) -> bool {
        let s = &self.indicator;
        held.action == Action::Upsert
            && held.kind == s.kind
            && held.value == s.value
            && held.categories == s.categories
            && held.confidence == s.confidence
            && held.tlp == s.tlp
            && held.distribution == s.distribution
            && held.first_seen_ms == s.first_seen_ms
            && held.last_seen_ms == s.last_seen_ms
            && held.valid_until_ms == s.valid_until_ms
            && held.description == s.description
            && held.source_refs == s.source_refs
    }

    /// The canonical value as this node knows it: the plain value of
    /// personal data, else the carried value.
    pub fn canonical(&self) -> &str {
        self.plain.as_deref().unwrap_or_else(|| self.indicator.value.as_str())
    }
}

impl NewIndicator {
    /// Normalizes and checks one submission from `origin` at `now`.
    ///
    /// # Errors
    ///
    /// [`InputError`] naming the field.
    pub fn prepare(
        self,
        origin: &str,
        ctx: &NormalizeContext,
        privacy: &Privacy,
        now: UnixMillis,
    ) -> Result<Submission, InputError> {
        let kind = self.kind.ok_or_else(|| InputError::new("kind", "is missing"))?;
        let canonical =
            normalize::normalize(kind, &self.value, ctx).map_err(|e| InputError::new("value", e.to_string()))?;
        let mut categories = self.categories;
        categories.sort();
        categories.dedup();
        if categories.is_empty() {
            return Err(InputError::new("category", "at least one category is required"));
        }
        let confidence =
            Confidence::try_from(self.confidence).map_err(|e| InputError::new("confidence", e.to_string()))?;
        let first_seen_ms = self.first_seen_ms.unwrap_or(now);
        let last_seen_ms = self.last_seen_ms.unwrap_or(now).max(first_seen_ms);
        if let Some(until) = self.valid_until_ms
            && until <= first_seen_ms
        {
            return Err(InputError::new("valid_until", "must be after first_seen"));
        }
        let (value, plain) = privacy.carried(kind, canonical);
        let indicator = Indicator {
            id: indicator_id(origin, kind, value.as_str()),
            kind,
            value,
            categories,
            confidence,
            tlp: self.tlp.unwrap_or(Tlp::Amber),
            distribution: self.distribution.unwrap_or(Distribution::Federation),
            first_seen_ms,
            last_seen_ms,
            valid_until_ms: self.valid_until_ms,
            action: Action::Upsert,
            version: 1,
            description: self.description.filter(|d| !d.is_empty()),
            source_refs: self.source_refs,
            reach: Vec::new(),
        };
        indicator.validate()?;
        Ok(Submission { indicator, plain })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{MAX_DESCRIPTION, Value};
    use crate::pii::FederationKey;

    fn privacy() -> Privacy {
        Privacy::new(FederationKey::new(1, [7; 32]), false)
    }

    fn input(kind: Kind, value: &str) -> NewIndicator {
        NewIndicator {
            kind: Some(kind),
            value: value.into(),
            categories: vec![Category::JobScam, Category::JobScam],
            confidence: 80,
            ..NewIndicator::default()
        }
    }

    #[test]
    fn prepare_normalizes_hashes_and_fills_defaults() {
        let ctx = NormalizeContext { region: Some("ID".into()) };
        let s = input(Kind::Domain, "WWW.Loker.CO.ID.").prepare("ID", &ctx, &privacy(), 1_000).unwrap();
        assert_eq!(s.indicator.value, Value::Plain("www.loker.co.id".into()));
        assert_eq!(s.indicator.categories, vec![Category::JobScam]);
        assert_eq!((s.indicator.tlp, s.indicator.distribution), (Tlp::Amber, Distribution::Federation));
        assert_eq!((s.indicator.first_seen_ms, s.indicator.last_seen_ms, s.indicator.version), (1_000, 1_000, 1));
        assert_eq!(s.indicator.id, indicator_id("ID", Kind::Domain, "www.loker.co.id"));
        assert_eq!(s.plain, None);
        let bank = input(Kind::BankAccount, "bca 123-456-7890").prepare("ID", &ctx, &privacy(), 1_000).unwrap();
        assert!(matches!(bank.indicator.value, Value::Keyed { epoch: 1, .. }));
        assert_eq!(bank.canonical(), "BCA:1234567890");
    }

    #[test]
    fn each_rule_names_its_field() {
        let ctx = NormalizeContext::default();
        let field = |i: NewIndicator| i.prepare("ID", &ctx, &privacy(), 1_000).unwrap_err().field;
        assert_eq!(field(NewIndicator { kind: None, ..input(Kind::Domain, "x.co.id") }), "kind");
        assert_eq!(field(input(Kind::Domain, "not a domain")), "value");
        assert_eq!(field(NewIndicator { categories: vec![], ..input(Kind::Domain, "x.co.id") }), "category");
        assert_eq!(field(NewIndicator { confidence: 101, ..input(Kind::Domain, "x.co.id") }), "confidence");
        assert_eq!(field(NewIndicator { valid_until_ms: Some(999), ..input(Kind::Domain, "x.co.id") }), "valid_until");
        let long = Some("x".repeat(MAX_DESCRIPTION + 1));
        assert_eq!(field(NewIndicator { description: long, ..input(Kind::Domain, "x.co.id") }), "description");
        let refs = vec!["r".to_string(); 33];
        assert_eq!(field(NewIndicator { source_refs: refs, ..input(Kind::Domain, "x.co.id") }), "source_refs");
    }
}
