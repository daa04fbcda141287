//! Requests in flight per subscription. A receiver that stops answering holds every request
//! sent to it until the subscription's timeout; without a bound, its share of the traffic
//! would soon hold every delivery slot of the process and starve the healthy receivers. With
//! one, a subscription that already has `limit` requests outstanding gets its next attempt
//! recorded as failed without being sent — and retried on the schedule like any failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts of requests in flight, by subscription id.
#[derive(Default)]
pub struct InFlight {
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// One request in flight; the count drops when this does.
pub struct Slot {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    subscription_id: String,
}

impl InFlight {
    /// A slot for a request to `subscription_id`, unless `limit` are in flight already.
    pub fn try_take(&self, subscription_id: &str, limit: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().ok()?;
        let n = counts.entry(subscription_id.to_string()).or_insert(0);
        if *n >= limit.max(1) {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.counts.clone(),
            subscription_id: subscription_id.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(n) = counts.get_mut(&self.subscription_id)
        {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.subscription_id);
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
        assert!(a1.is_some() && a2.is_some());
        assert!(in_flight.try_take("sub_a", 2).is_none(), "at the limit");
        assert!(
            in_flight.try_take("sub_b", 2).is_some(),
            "others are not affected"
        );
        drop(a1);
        assert!(
            in_flight.try_take("sub_a", 2).is_some(),
            "a freed slot is reusable"
        );
        drop(a2);
    }

    #[test]
    fn counts_are_forgotten_when_nothing_is_in_flight() {
        let in_flight = InFlight::default();
        drop(in_flight.try_take("sub_a", 1));
        assert!(
            in_flight
                .counts
                .lock()
                .map(|c| c.is_empty())
                .unwrap_or(false)
        );
    }
}
