//! Takedown metrics, read from this node's cases at scrape time (so they
//! survive restarts and need no bookkeeping on the write path):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `jaring_takedown_open` | gauge | `platform`, `state` (`requested`, `acknowledged`) |
//! | `jaring_takedown_time_to_outcome_seconds` | histogram | `platform` |
//!
//! Both cover the cases this node opened; the histogram holds every case
//! with an outcome (actioned or refused), from request to outcome.

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::node::Node;
use crate::takedown::{Case, CaseState};

type Labels = Vec<(String, String)>;

fn outcome_histogram() -> Histogram {
    // One minute to ~45 days.
    Histogram::new(exponential_buckets(60.0, 2.0, 17))
}

/// Adds the takedown metrics of `node` to `registry`. Reads the store:
/// call from a blocking thread.
pub fn register(node: &Node, registry: &mut Registry) {
    let cases = match node.all_cases(Some(node.id())) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read takedown cases for /metrics");
            Vec::new()
        }
    };
    let (open, outcome) = families(&cases);
    registry.register("takedown_open", "This node's open takedown cases, by platform and state", open);
    registry.register(
        "takedown_time_to_outcome_seconds",
        "Time from a takedown request of this node to the platform's outcome (actioned or refused)",
        outcome,
    );
}

fn families(cases: &[Case]) -> (Family<Labels, Gauge>, Family<Labels, Histogram>) {
    let open = Family::<Labels, Gauge>::default();
    let outcome = Family::<Labels, Histogram>::new_with_constructor(outcome_histogram as fn() -> Histogram);
    let labels = |platform: &str, state: CaseState| {
        vec![("platform".to_string(), platform.to_string()), ("state".to_string(), state.as_str().to_string())]
    };
    for c in cases {
        // Every platform with a case has both series, at 0 when nothing is open.
        for s in [CaseState::Requested, CaseState::Acknowledged] {
            let _ = open.get_or_create(&labels(&c.platform, s));
        }
        if c.state.is_open() {
            open.get_or_create(&labels(&c.platform, c.state)).inc();
        }
        if let Some(at) = c.outcome_at_ms {
            let seconds = (at - c.requested_at_ms).max(0) as f64 / 1000.0;
            outcome.get_or_create(&vec![("platform".to_string(), c.platform.clone())]).observe(seconds);
        }
    }
    (open, outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::feedback::{FeedbackEvent, FeedbackType};
    use crate::model::{Distribution, Kind, Tlp};

    fn ev(seq: u64, t: FeedbackType, platform: &str, at: i64) -> FeedbackEvent {
        FeedbackEvent {
            reporter: "ID".into(),
            origin_seq: seq,
            local_seq: seq,
            feedback_type: t,
            kind: Kind::Domain,
            value: format!("v{seq}.example"),
            indicator_id: None,
            indicator_origin: None,
            platform: Some(platform.into()),
            action_taken: Some("removed".into()),
            reason: None,
            note: None,
            referred_to: None,
            observed_at_ms: at,
            created_at_ms: at,
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            case_id: None,
            due_at_ms: None,
            case_ref: None,
        }
    }

    #[test]
    fn open_cases_by_platform_and_state_and_outcome_times() {
        let mut open = Case::open(&ev(1, FeedbackType::TakedownRequested, "meta", 0)).unwrap();
        let mut acked = Case::open(&ev(2, FeedbackType::TakedownRequested, "meta", 0)).unwrap();
        acked.apply(&ev(3, FeedbackType::Acknowledged, "meta", 1_000)).unwrap();
        let mut done = Case::open(&ev(4, FeedbackType::TakedownRequested, "tiktok", 0)).unwrap();
        done.apply(&ev(5, FeedbackType::Actioned, "tiktok", 90_000)).unwrap();
        open.note = None;
        let (gauges, hist) = families(&[open, acked, done]);
        let mut r = Registry::with_prefix("jaring");
        r.register("takedown_open", "open", gauges);
        r.register("takedown_time_to_outcome_seconds", "t", hist);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &r).unwrap();
        for line in [
            "jaring_takedown_open{platform=\"meta\",state=\"requested\"} 1",
            "jaring_takedown_open{platform=\"meta\",state=\"acknowledged\"} 1",
            "jaring_takedown_open{platform=\"tiktok\",state=\"requested\"} 0",
            "jaring_takedown_time_to_outcome_seconds_count{platform=\"tiktok\"} 1",
            "jaring_takedown_time_to_outcome_seconds_sum{platform=\"tiktok\"} 90.0",
            "jaring_takedown_time_to_outcome_seconds_bucket{le=\"120.0\",platform=\"tiktok\"} 1",
            "jaring_takedown_time_to_outcome_seconds_bucket{le=\"60.0\",platform=\"tiktok\"} 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
