//! A token bucket per credential: `per_s` units refilled each second, at
//! most `burst` held. A request costs one unit, a batch one per hundred
//! values; a request that costs more than the whole bucket is charged the
//! bucket (so it passes once the bucket is full, and no sooner).

use std::sync::Mutex;
use std::time::Instant;

use crate::access::Rate;

/// Values of a batch that cost one unit.
pub const VALUES_PER_UNIT: usize = 100;

/// The cost of a batch of `n` values: one unit per [`VALUES_PER_UNIT`],
/// at least one.
pub fn batch_cost(n: usize) -> u32 {
    u32::try_from(n.div_ceil(VALUES_PER_UNIT).max(1)).unwrap_or(u32::MAX)
}

/// One credential's bucket.
#[derive(Debug)]
pub struct TokenBucket {
    rate: Rate,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> TokenBucket {
        TokenBucket { rate, state: Mutex::new((f64::from(rate.burst), Instant::now())) }
    }

    /// Its rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes `cost` units at `now`.
    ///
    /// # Errors
    ///
    /// The milliseconds until the same cost would pass (nothing is taken).
    pub fn take(&self, cost: u32, now: Instant) -> Result<(), u64> {
        let burst = f64::from(self.rate.burst.max(1));
        let per_s = f64::from(self.rate.per_s.max(1));
        let cost = f64::from(cost).min(burst);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = &mut *state;
        let elapsed = now.saturating_duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * per_s).min(burst);
        *at = now.max(*at);
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            let wait = (cost - *tokens) / per_s;
            // Rounded up to a whole millisecond; at least one.
            Err(((wait * 1000.0).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_and_caps_at_its_burst() {
        let b = TokenBucket::new(Rate { per_s: 10, burst: 20 });
        let t0 = Instant::now();
        for _ in 0..20 {
            b.take(1, t0).unwrap();
        }
        let wait = b.take(1, t0).unwrap_err();
        assert_eq!(wait, 100, "one unit at 10/s");
        b.take(1, t0 + Duration::from_millis(100)).unwrap();
        assert!(b.take(1, t0 + Duration::from_millis(100)).is_err());
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..20 {
            b.take(1, later).unwrap();
        }
        assert!(b.take(1, later).is_err());
        // A batch dearer than the bucket is charged the whole bucket.
        let big = TokenBucket::new(Rate { per_s: 1, burst: 3 });
        big.take(100, t0).unwrap();
        assert_eq!(big.take(100, t0).unwrap_err(), 3000);
    }

    #[test]
    fn batches_cost_one_unit_per_hundred_values() {
        assert_eq!(batch_cost(0), 1);
        assert_eq!(batch_cost(1), 1);
        assert_eq!(batch_cost(100), 1);
        assert_eq!(batch_cost(101), 2);
        assert_eq!(batch_cost(10_000), 100);
    }
}
