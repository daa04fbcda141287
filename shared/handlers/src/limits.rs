//! Rates, kept per process: how fast each client may call the API, and how fast each
//! subscription that asked for it may be sent to.
//!
//! Both use the generic cell rate algorithm (GCRA, the token bucket written as one instant
//! per key): a key is ready again at its *theoretical arrival time*, each request moves that
//! time on by one interval, and a request is allowed while the time stays within `burst`
//! intervals of now. A key whose time has passed is indistinguishable from a new one, so the
//! table can drop such keys whenever it grows, and its size follows the number of keys busy
//! at once, not the number ever seen.
//!
//! The state lives in the process: the local runner enforces the limits exactly, and on
//! Lambda each instance of a function enforces them on its own (with N instances busy, a
//! client may reach up to N times its rate). That is the stated approximation; API Gateway's
//! stage throttling bounds the stack as a whole.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `per_second` requests each second, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Time between two requests at the sustained rate.
    interval: Duration,
    /// Requests allowed at once.
    burst: u32,
}

impl Rate {
    /// `count` requests per `period`, `burst` at once; `None` when `count` is 0 (no limit).
    pub fn new(count: u32, period: Duration, burst: u32) -> Option<Rate> {
        (count > 0).then(|| Rate {
            interval: period / count,
            burst: burst.max(1),
        })
    }
}

/// Keys held before the table is swept of keys that are idle again.
const SWEEP_AT: usize = 16_384;

/// Rate limits by key (a client id, a subscription id).
#[derive(Default)]
pub struct RateLimiter {
    ready_at: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// Takes `cost` requests' worth for `key`; or, when that would exceed `rate`, takes
    /// nothing and says how long until it would not.
    pub fn take(&self, key: &str, cost: u32, rate: Rate) -> Result<(), Duration> {
        self.take_at(key, cost, rate, Instant::now())
    }

    fn take_at(&self, key: &str, cost: u32, rate: Rate, now: Instant) -> Result<(), Duration> {
        let mut table = self.ready_at.lock().unwrap_or_else(|p| p.into_inner());
        let current = table.get(key).copied().unwrap_or(now).max(now);
        let next = current + rate.interval * cost;
        let allowance = rate.interval * rate.burst;
        let ahead = next - now;
        if ahead > allowance {
            return Err(ahead - allowance);
        }
        if table.len() >= SWEEP_AT && !table.contains_key(key) {
            table.retain(|_, at| *at > now);
        }
        table.insert(key.to_string(), next);
        Ok(())
    }

    /// Reserves the next moment at which `key` may send at `rate`, and returns how long
    /// from now that is (zero: send now). Unlike [`take`](Self::take), it never refuses:
    /// each caller gets its own later moment, so a backlog spreads out at the rate instead
    /// of every waiting request coming back at once.
    pub fn reserve(&self, key: &str, rate: Rate) -> Duration {
        self.reserve_at(key, rate, Instant::now())
    }

    fn reserve_at(&self, key: &str, rate: Rate, now: Instant) -> Duration {
        let mut table = self.ready_at.lock().unwrap_or_else(|p| p.into_inner());
        let current = table.get(key).copied().unwrap_or(now).max(now);
        let allowance = rate.interval * rate.burst.saturating_sub(1);
        let at = current.checked_sub(allowance).unwrap_or(now).max(now);
        if table.len() >= SWEEP_AT && !table.contains_key(key) {
            table.retain(|_, t| *t > now);
        }
        table.insert(key.to_string(), current + rate.interval);
        at - now
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.ready_at.lock().map(|t| t.len()).unwrap_or(0)
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(n: u32, burst: u32) -> Rate {
        Rate::new(n, Duration::from_secs(1), burst).expect("a rate")
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = RateLimiter::default();
        let rate = per_second(10, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.take_at("c", 1, rate, t0).is_ok());
        }
        let wait = limiter.take_at("c", 1, rate, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // One interval later, one more request.
        let t1 = t0 + Duration::from_millis(100);
        assert!(limiter.take_at("c", 1, rate, t1).is_ok());
        assert!(limiter.take_at("c", 1, rate, t1).is_err());
        // Another key is not affected.
        assert!(limiter.take_at("other", 1, rate, t1).is_ok());
    }

    #[test]
    fn a_request_costing_more_than_is_left_takes_nothing() {
        let limiter = RateLimiter::default();
        let rate = per_second(10, 10);
        let t0 = Instant::now();
        assert!(limiter.take_at("c", 8, rate, t0).is_ok());
        assert_eq!(
            limiter.take_at("c", 5, rate, t0).unwrap_err(),
            Duration::from_millis(300)
        );
        assert!(limiter.take_at("c", 2, rate, t0).is_ok());
    }

    #[test]
    fn no_rate_means_no_limit() {
        assert!(Rate::new(0, Duration::from_secs(1), 10).is_none());
    }

    #[test]
    fn reservations_spread_a_backlog_at_the_rate() {
        let limiter = RateLimiter::default();
        let rate = per_second(4, 2);
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| limiter.reserve_at("s", rate, t0)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        // Two at once (the burst), then one every 250 ms.
        assert_eq!(ms, vec![0, 0, 250, 500, 750, 1000]);
    }

    #[test]
    fn idle_keys_are_swept_when_the_table_grows() {
        let limiter = RateLimiter::default();
        let rate = per_second(1000, 1);
        let t0 = Instant::now();
        for i in 0..SWEEP_AT {
            limiter
                .take_at(&format!("k{i}"), 1, rate, t0)
                .expect("first");
        }
        let later = t0 + Duration::from_secs(1);
        limiter.take_at("new", 1, rate, later).expect("new");
        assert_eq!(limiter.len(), 1);
    }
}
