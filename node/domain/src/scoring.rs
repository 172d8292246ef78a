//! Confidence decay: the current score of an assertion.
//!
//! An origin's confidence is what it believed when it last saw the value.
//! Scam infrastructure is short-lived, so belief fades. The model, per
//! assertion, at time `now`:
//!
//! ```text
//! t_ref = max(last_seen of the assertion, latest sighting of the value by anyone)
//! age   = max(0, now - t_ref)
//! score = 0                                           if revoked, past valid_until,
//!                                                     or age >= lifetime  (expired)
//! score = round(confidence * 0.5^(age / half_life) * fp_factor^votes)   otherwise
//! ```
//!
//! - `half_life` and `lifetime` come from the assertion's category with the
//!   longest lifetime (an indicator in several categories lives as long as
//!   its longest-lived one); each category has a built-in default
//!   ([`CategoryDecay::builtin`]) that `[scoring.categories.NAME]` in
//!   `node.toml` replaces.
//! - Sightings refresh: any node's sighting moves `t_ref` forward.
//! - False positives lower: `votes` counts distinct nodes that reported the
//!   value as a false positive; each multiplies the score by
//!   `false_positive_factor` (default 0.5).
//! - An expired assertion (score 0 by age or validity) stops being served
//!   as active but stays in the log and in history.
//!
//! Worked example (job scam: half-life 60 days, lifetime 365 days): ID
//! reported a domain with confidence 80, last seen 60 days ago: score
//! 80 × 0.5 = 40. MY reports a sighting today: age 0, score 80. VN then
//! votes false positive: 80 × 0.5 = 40. A year without sightings: expired.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Category, UnixMillis};

/// Milliseconds in a day.
pub const DAY_MS: f64 = 86_400_000.0;

/// How fast one category's assertions fade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDecay {
    /// Days after which the score has halved.
    pub half_life_days: f64,
    /// Days without being seen after which the assertion expires.
    pub lifetime_days: f64,
}

impl CategoryDecay {
    /// The built-in decay of a category: phishing and gambling sites move
    /// fastest; trafficking recruitment networks live longest.
    pub fn builtin(c: Category) -> CategoryDecay {
        let (half_life_days, lifetime_days) = match c {
            Category::Phishing => (14.0, 90.0),
            Category::OnlineGambling | Category::Impersonation | Category::Other => (30.0, 180.0),
            Category::JobScam | Category::InvestmentScam | Category::LoanScam => (60.0, 365.0),
            Category::RomanceScam => (90.0, 365.0),
            Category::TraffickingRecruitment => (90.0, 730.0),
        };
        CategoryDecay { half_life_days, lifetime_days }
    }
}

/// `[scoring]` in `node.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    /// Factor applied once per node that reported a false positive (0-1).
    #[serde(default = "default_fp_factor")]
    pub false_positive_factor: f64,
    /// Per-category overrides of the built-in decay, by category name.
    #[serde(default)]
    pub categories: BTreeMap<Category, CategoryDecay>,
}

fn default_fp_factor() -> f64 {
    0.5
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig { false_positive_factor: default_fp_factor(), categories: BTreeMap::new() }
    }
}

/// What the score of one assertion depends on.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInput<'a> {
    /// The origin's confidence, 0-100.
    pub confidence: u8,
    /// Its categories (non-empty).
    pub categories: &'a [Category],
    /// When the origin last saw it.
    pub last_seen_ms: UnixMillis,
    /// Expiry set by the origin.
    pub valid_until_ms: Option<UnixMillis>,
    /// Withdrawn by its origin.
    pub revoked: bool,
    /// Latest sighting of the value by any node.
    pub last_sighting_ms: Option<UnixMillis>,
    /// Distinct nodes that reported it a false positive.
    pub false_positive_votes: u32,
}

/// A current score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    /// 0-100.
    pub value: u8,
    /// Past its lifetime or validity (or revoked): not served as active.
    pub expired: bool,
}

impl ScoringConfig {
    /// Checks ranges.
    ///
    /// # Errors
    ///
    /// The field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(0.0..=1.0).contains(&self.false_positive_factor) {
            return Err(("scoring.false_positive_factor", "must be between 0 and 1".into()));
        }
        for (c, d) in &self.categories {
            if !(d.half_life_days.is_finite() && d.half_life_days > 0.0) {
                return Err(("scoring.categories", format!("{c}: half_life_days must be above 0")));
            }
            if !(d.lifetime_days.is_finite() && d.lifetime_days > 0.0) {
                return Err(("scoring.categories", format!("{c}: lifetime_days must be above 0")));
            }
        }
        Ok(())
    }

    /// The decay of a category: the configured one, else the built-in.
    pub fn decay(&self, c: Category) -> CategoryDecay {
        self.categories.get(&c).copied().unwrap_or_else(|| CategoryDecay::builtin(c))
    }

    /// The decay that applies to a set of categories: the longest-lived.
    pub fn decay_of(&self, categories: &[Category]) -> CategoryDecay {
        categories
            .iter()
            .map(|&c| self.decay(c))
            .max_by(|a, b| {
                a.lifetime_days.total_cmp(&b.lifetime_days).then(a.half_life_days.total_cmp(&b.half_life_days))
            })
            .unwrap_or_else(|| CategoryDecay::builtin(Category::Other))
    }

    /// The current score of an assertion (see the module docs).
    pub fn score(&self, a: &ScoreInput<'_>, now: UnixMillis) -> Score {
        const EXPIRED: Score = Score { value: 0, expired: true };
        if a.revoked || a.valid_until_ms.is_some_and(|t| t <= now) {
            return EXPIRED;
        }
        let decay = self.decay_of(a.categories);
        let t_ref = a.last_sighting_ms.map_or(a.last_seen_ms, |s| s.max(a.last_seen_ms));
        // i64 -> f64 loses precision only beyond 2^53 ms (285k years).
        #[allow(clippy::cast_precision_loss)]
        let age_days = (now.saturating_sub(t_ref)).max(0) as f64 / DAY_MS;
        if age_days >= decay.lifetime_days {
            return EXPIRED;
        }
        let votes = i32::try_from(a.false_positive_votes).unwrap_or(i32::MAX);
        let s = f64::from(a.confidence.min(100))
            * 0.5f64.powf(age_days / decay.half_life_days)
            * self.false_positive_factor.powi(votes);
        // Clamped to 0-100 first, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let value = s.round().clamp(0.0, 100.0) as u8;
        Score { value, expired: false }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: UnixMillis = 1_800_000_000_000;

    fn days_ago(d: f64) -> UnixMillis {
        #[allow(clippy::cast_possible_truncation)]
        let ms = (d * DAY_MS) as i64;
        NOW - ms
    }

    fn input(cats: &[Category], last_seen_days_ago: f64) -> ScoreInput<'_> {
        ScoreInput {
            confidence: 80,
            categories: cats,
            last_seen_ms: days_ago(last_seen_days_ago),
            valid_until_ms: None,
            revoked: false,
            last_sighting_ms: None,
            false_positive_votes: 0,
        }
    }

    fn score(c: &ScoringConfig, i: &ScoreInput<'_>) -> (u8, bool) {
        let s = c.score(i, NOW);
        (s.value, s.expired)
    }

    #[test]
    fn the_readme_worked_example() {
        let c = ScoringConfig::default();
        let cats = [Category::JobScam];
        // Confidence 80, last seen one half-life (60 days) ago.
        let mut i = input(&cats, 60.0);
        assert_eq!(score(&c, &i), (40, false));
        // A sighting today refreshes it.
        i.last_sighting_ms = Some(NOW);
        assert_eq!(score(&c, &i), (80, false));
        // One false-positive vote halves it.
        i.false_positive_votes = 1;
        assert_eq!(score(&c, &i), (40, false));
        // Two votes quarter it.
        i.false_positive_votes = 2;
        assert_eq!(score(&c, &i), (20, false));
    }

    #[test]
    fn decay_curve_is_pinned() {
        let c = ScoringConfig::default();
        let cats = [Category::JobScam];
        assert_eq!(score(&c, &input(&cats, 0.0)), (80, false));
        assert_eq!(score(&c, &input(&cats, 30.0)), (57, false)); // 80 * 2^-0.5 = 56.57
        assert_eq!(score(&c, &input(&cats, 120.0)), (20, false));
        assert_eq!(score(&c, &input(&cats, 364.0)), (1, false)); // 80 * 2^-6.07 = 1.19
        assert_eq!(score(&c, &input(&cats, 365.0)), (0, true), "lifetime reached: expired");
        let phishing = [Category::Phishing];
        assert_eq!(score(&c, &input(&phishing, 14.0)), (40, false));
        assert_eq!(score(&c, &input(&phishing, 90.0)), (0, true));
    }

    #[test]
    fn longest_lived_category_wins() {
        let c = ScoringConfig::default();
        let cats = [Category::Phishing, Category::TraffickingRecruitment];
        assert_eq!(c.decay_of(&cats), CategoryDecay { half_life_days: 90.0, lifetime_days: 730.0 });
        assert_eq!(score(&c, &input(&cats, 90.0)), (40, false));
    }

    #[test]
    fn configuration_replaces_the_builtin_decay() {
        let c: ScoringConfig = toml::from_str(
            "false_positive_factor = 0.25\n[categories.job_scam]\nhalf_life_days = 10\nlifetime_days = 20\n",
        )
        .unwrap();
        c.validate().unwrap();
        let cats = [Category::JobScam];
        assert_eq!(score(&c, &input(&cats, 10.0)), (40, false));
        assert_eq!(score(&c, &input(&cats, 20.0)), (0, true));
        let mut i = input(&cats, 0.0);
        i.false_positive_votes = 1;
        assert_eq!(score(&c, &i), (20, false));
        let bad: ScoringConfig = toml::from_str("false_positive_factor = 2.0").unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn revoked_and_past_validity_are_expired_and_future_dates_do_not_inflate() {
        let c = ScoringConfig::default();
        let cats = [Category::JobScam];
        let mut i = input(&cats, 0.0);
        i.revoked = true;
        assert_eq!(score(&c, &i), (0, true));
        let mut i = input(&cats, 0.0);
        i.valid_until_ms = Some(NOW);
        assert_eq!(score(&c, &i), (0, true));
        let mut i = input(&cats, 0.0);
        i.last_seen_ms = NOW + 10 * 86_400_000;
        assert_eq!(score(&c, &i), (80, false));
    }
}
