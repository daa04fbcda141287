//! Requests in flight per subscription. A receiver that stops answering holds every request
//! sent to it until the subscription's timeout; without a bound, its share of the traffic
//! would soon hold every delivery slot of the process and starve the healthy receivers. With
//! one, a subscription that already has `limit` requests outstanding gets no slot. If its
//! requests answer quickly, the caller may wait a moment for one to free up (a burst to a
//! healthy endpoint clears in milliseconds); otherwise it learns how long the oldest request
//! has been out and how long they have been taking, which say how soon one may.
//!
//! And a circuit breaker: after `TRIP` requests in a row found the endpoint unavailable (no
//! answer, a 5xx or a 429), it gets no request at all for a cool-down as long as its
//! requests have been taking (at least a second, at most a minute), then one probe at a time
//! until one succeeds. A dead endpoint then costs one request per cool-down instead of a
//! wave of `limit` requests hanging until their timeout — waves that would otherwise come
//! back every timeout, each a burst of work that delays the healthy deliveries around it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

type Table = Arc<Mutex<HashMap<String, Outstanding>>>;

/// A wake-up for when a request of a subscription finishes.
type Freed = Pin<Box<OwnedNotified>>;

/// The requests of one subscription: when each was sent, by slot number; and how long they
/// have been taking (a moving average).
#[derive(Default)]
struct Outstanding {
    next: u64,
    sent: Vec<(u64, Instant)>,
    typical: Option<Duration>,
    /// Told whenever a request finishes: the waiting callers of [`InFlight::take`].
    freed: Arc<Notify>,
    /// Requests in a row that found the endpoint unavailable.
    failures: u32,
    /// While the breaker is open: when the next probe may go.
    open_until: Option<Instant>,
}

impl Outstanding {
    /// Requests that may be in flight now: none while the breaker is open, one probe at a
    /// time once the cool-down is over and until one succeeds.
    fn allowed(&self, limit: usize, now: Instant) -> usize {
        match self.open_until {
            Some(until) if until > now => 0,
            Some(_) => 1,
            None => limit.max(1),
        }
    }

    /// Nothing worth keeping: no request in flight, quick answers, breaker closed.
    fn forgettable(&self) -> bool {
        self.sent.is_empty() && self.typical.is_none_or(|t| t < REMEMBER_FROM) && self.failures == 0
    }
}

/// A subscription whose requests take less than this is forgotten when none is in flight.
const REMEMBER_FROM: Duration = Duration::from_millis(100);
/// Requests in a row that must find an endpoint unavailable before its breaker opens.
pub const TRIP: u32 = 5;
/// Shortest and longest cool-down of an open breaker.
const COOL_DOWN: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// Requests in flight, by subscription id.
#[derive(Default)]
pub struct InFlight {
    table: Table,
}

/// One request in flight; it stops counting when this is dropped. Say how it went with
/// [`Slot::finish`]; one dropped without that counts for neither outcome.
pub struct Slot {
    table: Table,
    subscription_id: String,
    number: u64,
    available: Option<bool>,
}

/// Why there is no slot: `limit` requests are out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// How long the oldest request in flight has been waiting for its answer.
    pub oldest: Duration,
    /// How long this subscription's requests have been taking of late (none finished yet:
    /// zero). After requests that hung until their timeout, it stays long even while the
    /// requests now in flight are young.
    pub typical: Duration,
    /// How long the endpoint's breaker stays open (zero when it is closed).
    pub closed_for: Duration,
}

impl InFlight {
    /// A slot for a request to `subscription_id`, unless `limit` are in flight already.
    pub fn try_take(&self, subscription_id: &str, limit: usize) -> Result<Slot, Busy> {
        self.take_or_wait(subscription_id, limit, Duration::ZERO)
            .map_err(|(busy, _)| busy)
    }

    /// As [`try_take`](Self::try_take), but while the subscription's requests answer within
    /// `quick` (the oldest in flight too), waits up to that long for one of them to finish.
    pub async fn take(
        &self,
        subscription_id: &str,
        limit: usize,
        quick: Duration,
    ) -> Result<Slot, Busy> {
        let deadline = tokio::time::Instant::now() + quick;
        loop {
            let freed = match self.take_or_wait(subscription_id, limit, quick) {
                Ok(slot) => return Ok(slot),
                Err((busy, None)) => return Err(busy),
                Err((busy, Some(freed))) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(busy);
                    }
                    freed
                }
            };
            let _ = tokio::time::timeout_at(deadline, freed).await;
        }
    }

    /// A slot; or why there is none and, if the subscription's requests answer within
    /// `quick`, a wake-up (already registered) for when one of them finishes.
    fn take_or_wait(
        &self,
        subscription_id: &str,
        limit: usize,
        quick: Duration,
    ) -> Result<Slot, (Busy, Option<Freed>)> {
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let out = table.entry(subscription_id.to_string()).or_default();
        if out.sent.len() >= out.allowed(limit, now) {
            let first = out.sent.iter().map(|(_, at)| *at).min().unwrap_or(now);
            let busy = Busy {
                oldest: now.saturating_duration_since(first),
                typical: out.typical.unwrap_or_default(),
                closed_for: out
                    .open_until
                    .map(|until| until.saturating_duration_since(now))
                    .unwrap_or_default(),
            };
            let answers_quickly = out.typical.is_some_and(|t| t < quick)
                && busy.oldest < quick
                && out.open_until.is_none();
            let freed = answers_quickly.then(|| {
                // Registered under the lock, so a request finishing right after it counts.
                let mut freed = Box::pin(out.freed.clone().notified_owned());
                freed.as_mut().enable();
                freed
            });
            return Err((busy, freed));
        }
        out.next += 1;
        out.sent.push((out.next, now));
        Ok(Slot {
            table: self.table.clone(),
            subscription_id: subscription_id.to_string(),
            number: out.next,
            available: None,
        })
    }
}

impl Slot {
    /// Ends the request: `available` = the endpoint answered with something other than a
    /// 5xx or 429 (a success, or a refusal that is the receiver's decision).
    pub fn finish(mut self, available: bool) {
        self.available = Some(available);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(out) = table.get_mut(&self.subscription_id) {
            let mut took = None;
            out.sent.retain(|(n, at)| {
                let this = *n == self.number;
                if this {
                    took = Some(at.elapsed());
                }
                !this
            });
            if let Some(took) = took {
                // Each finished request counts for a quarter.
                let typical = match out.typical {
                    Some(t) => (t * 3 + took) / 4,
                    None => took,
                };
                out.typical = Some(typical);
                match self.available {
                    Some(true) => {
                        out.failures = 0;
                        out.open_until = None;
                    }
                    Some(false) => {
                        out.failures = out.failures.saturating_add(1);
                        if out.failures >= TRIP {
                            let cool_down = typical.clamp(COOL_DOWN.0, COOL_DOWN.1);
                            out.open_until = Some(Instant::now() + cool_down);
                        }
                    }
                    None => {}
                }
                out.freed.notify_one();
            }
            if out.forgettable() {
                table.remove(&self.subscription_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_at_its_limit_gets_no_slot_until_one_is_freed() {
        let in_flight = InFlight::default();
        let a1 = in_flight.try_take("sub_a", 2);
        let a2 = in_flight.try_take("sub_a", 2);
        assert!(a1.is_ok() && a2.is_ok());
        assert!(in_flight.try_take("sub_a", 2).is_err(), "at the limit");
        assert!(
            in_flight.try_take("sub_b", 2).is_ok(),
            "others are not affected"
        );
        drop(a1);
        assert!(
            in_flight.try_take("sub_a", 2).is_ok(),
            "a freed slot is reusable"
        );
        drop(a2);
    }

    #[test]
    fn a_busy_subscription_says_how_long_its_oldest_request_has_been_out() {
        let in_flight = InFlight::default();
        let first = in_flight.try_take("sub_a", 2).expect("slot");
        std::thread::sleep(Duration::from_millis(200));
        let second = in_flight.try_take("sub_a", 2).expect("slot");
        let busy = in_flight.try_take("sub_a", 2).err().expect("busy");
        assert!(busy.oldest >= Duration::from_millis(200), "{busy:?}");
        // When the oldest finishes, the next oldest is the one that counts.
        drop(first);
        let _third = in_flight.try_take("sub_a", 2).expect("slot");
        let busy = in_flight.try_take("sub_a", 2).err().expect("busy");
        assert!(busy.oldest < Duration::from_millis(200), "{busy:?}");
        drop(second);
    }

    #[test]
    fn a_subscription_whose_requests_took_long_is_remembered_as_slow() {
        let in_flight = InFlight::default();
        let slow = in_flight.try_take("sub_a", 1).expect("slot");
        std::thread::sleep(Duration::from_millis(150));
        drop(slow);
        let young = in_flight.try_take("sub_a", 1).expect("slot");
        let busy = in_flight.try_take("sub_a", 1).err().expect("busy");
        assert!(busy.oldest < Duration::from_millis(150), "{busy:?}");
        assert!(busy.typical >= Duration::from_millis(150), "{busy:?}");
        drop(young);
        assert!(
            in_flight
                .table
                .lock()
                .map(|t| t.len() == 1)
                .unwrap_or(false),
            "kept while idle: the next burst must not hammer it"
        );
    }

    #[tokio::test]
    async fn a_quick_subscription_at_its_limit_is_waited_for_a_slow_one_is_not() {
        let in_flight = Arc::new(InFlight::default());
        let quick = Duration::from_millis(500);
        // Requests that answer in no time: the next caller waits for one to finish.
        let first = in_flight.try_take("fast", 2).expect("slot");
        let second = in_flight.try_take("fast", 2).expect("slot");
        drop(first);
        let third = in_flight.try_take("fast", 2).expect("slot");
        let waiting = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move { in_flight.take("fast", 2, quick).await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "waits while both slots are held");
        drop(second);
        assert!(waiting.await.expect("task"), "gets the freed slot");
        drop(third);

        // Requests that took long (or none has finished yet): no waiting at all.
        let _held = in_flight.try_take("slow", 1).expect("slot");
        let started = Instant::now();
        assert!(in_flight.take("slow", 1, quick).await.is_err());
        assert!(started.elapsed() < quick, "answered at once");

        // A quick one whose slots stay taken: waited for, then given up after `quick`.
        let a = in_flight.try_take("fast", 2).expect("slot");
        let _b = in_flight.try_take("fast", 2).expect("slot");
        drop(a);
        let _c = in_flight.try_take("fast", 2).expect("slot");
        let started = Instant::now();
        let busy = in_flight.take("fast", 2, Duration::from_millis(50)).await;
        assert!(busy.is_err(), "no slot freed up");
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "it waited for one first"
        );
    }

    #[test]
    fn an_endpoint_unavailable_time_after_time_gets_no_requests_then_one_probe() {
        let in_flight = InFlight::default();
        for _ in 0..TRIP - 1 {
            in_flight.try_take("sub_a", 8).expect("slot").finish(false);
        }
        let still = in_flight
            .try_take("sub_a", 8)
            .expect("closed until the last straw");
        let others: Vec<_> = (0..3).map(|_| in_flight.try_take("sub_a", 8)).collect();
        assert!(others.iter().all(Result::is_ok), "its limit still applies");
        still.finish(false);
        drop(others);
        let busy = in_flight.try_take("sub_a", 8).err().expect("open");
        assert!(
            busy.closed_for > Duration::ZERO && busy.closed_for <= COOL_DOWN.0,
            "{busy:?}"
        );
        assert!(
            in_flight.try_take("sub_b", 8).is_ok(),
            "others are not affected"
        );

        // Once the cool-down is over: one probe at a time, until one succeeds.
        if let Some(out) = in_flight.table.lock().expect("table").get_mut("sub_a") {
            out.open_until = Some(Instant::now());
        }
        let probe = in_flight.try_take("sub_a", 8).expect("a probe");
        assert!(
            in_flight.try_take("sub_a", 8).is_err(),
            "one probe at a time"
        );
        probe.finish(true);
        let all: Vec<_> = (0..8).map(|_| in_flight.try_take("sub_a", 8)).collect();
        assert!(
            all.iter().all(Result::is_ok),
            "closed again: the whole limit"
        );
    }

    #[test]
    fn a_refusal_or_an_unreported_request_does_not_open_the_breaker() {
        let in_flight = InFlight::default();
        for i in 0..TRIP * 2 {
            let slot = in_flight.try_take("sub_a", 1).expect("slot");
            if i % 2 == 0 {
                slot.finish(true);
            } else {
                drop(slot);
            }
        }
        assert!(in_flight.try_take("sub_a", 1).is_ok());
    }

    #[test]
    fn subscriptions_are_forgotten_when_nothing_is_in_flight() {
        let in_flight = InFlight::default();
        drop(in_flight.try_take("sub_a", 1));
        assert!(
            in_flight
                .table
                .lock()
                .map(|t| t.is_empty())
                .unwrap_or(false)
        );
    }
}
