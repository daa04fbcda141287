//! The send rate a subscription asked for (`rate_limit`, requests per second). A delivery
//! whose subscription is at its rate is not attempted: its message waits in the queue until
//! a moment reserved for it, and is attempted when it comes back. Waiting costs no attempt
//! and no retry; a backlog drains at the rate, in about the order it arrived.
//!
//! A message that comes back finds its reservation by delivery id, so it goes at once
//! instead of queueing behind the reservations made after it. The reservations are kept per
//! process (see [`crate::limits`] for what that means on Lambda) and bounded: past
//! [`MAX_RESERVATIONS`], a message reserves again when it comes back, later than it would
//! have gone, but without memory growing with the backlog.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::limits::{Rate, RateLimiter};

/// Reservations remembered at most (about 100 bytes each).
pub const MAX_RESERVATIONS: usize = 65_536;

/// A message back this much before its moment goes anyway (timers and queues are not exact).
const EARLY: Duration = Duration::from_millis(50);

/// A reservation not claimed this long after its moment is forgotten (its message went to
/// another instance, or its delivery finished).
const STALE: Duration = Duration::from_secs(300);

/// Paces deliveries to the subscriptions that set a rate.
#[derive(Default)]
pub struct Pacer {
    rates: RateLimiter,
    reserved: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// Whether `delivery_id` may be sent to `subscription_id` now at `per_second`: `None` if
    /// so, else how long its message should wait first.
    pub fn wait(
        &self,
        subscription_id: &str,
        delivery_id: &str,
        per_second: u32,
    ) -> Option<Duration> {
        let rate = Rate::new(per_second, Duration::from_secs(1), 1)?;
        let now = Instant::now();
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = reserved.get(delivery_id).copied() {
            if at <= now + EARLY {
                reserved.remove(delivery_id);
                return None;
            }
            return Some(at - now);
        }
        let wait = self.rates.reserve(subscription_id, rate);
        if wait <= EARLY {
            return None;
        }
        if reserved.len() >= MAX_RESERVATIONS {
            reserved.retain(|_, at| *at + STALE > now);
        }
        if reserved.len() < MAX_RESERVATIONS {
            reserved.insert(delivery_id.to_string(), now + wait);
        }
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_gets_one_moment_each_and_keeps_it() {
        let pacer = Pacer::default();
        assert_eq!(pacer.wait("s", "d0", 2), None, "the first goes at once");
        let w1 = pacer.wait("s", "d1", 2).expect("waits");
        let w2 = pacer.wait("s", "d2", 2).expect("waits");
        assert!(
            w1 <= Duration::from_millis(500) && w1 > Duration::from_millis(400),
            "{w1:?}"
        );
        assert!(w2 > w1 + Duration::from_millis(400), "{w2:?}");
        // Back early, d2 still waits for its own moment, not a new one behind d3.
        let again = pacer.wait("s", "d2", 2).expect("still waits");
        assert!(again <= w2, "{again:?} vs {w2:?}");
        // Other subscriptions are not held up.
        assert_eq!(pacer.wait("other", "x", 2), None);
    }

    #[test]
    fn a_message_back_at_its_moment_goes() {
        let pacer = Pacer::default();
        assert_eq!(pacer.wait("s", "d0", 5), None);
        let w = pacer.wait("s", "d1", 5).expect("waits");
        std::thread::sleep(w);
        assert_eq!(pacer.wait("s", "d1", 5), None);
    }

    #[test]
    fn no_rate_no_wait() {
        let pacer = Pacer::default();
        for i in 0..100 {
            assert_eq!(pacer.wait("s", &format!("d{i}"), 0), None);
        }
    }
}
