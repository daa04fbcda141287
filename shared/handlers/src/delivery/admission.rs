//! Admit and claim: the steps that decide whether this worker attempts a delivery now. Nothing
//! is sent before both pass; either may settle the message instead (wait, acknowledge, or
//! abandon the delivery), or find that the copy the message carried is stale.

use std::sync::Arc;
use std::time::Duration;

use hookline_domain::subscription::DeliveryMode;
use hookline_domain::{Attempt, Delivery, ids};
use hookline_ports::{Claim, PortError};
use time::OffsetDateTime;

use crate::delivery::action;
use crate::delivery::context::DeliveryContext;
use crate::delivery::disposition::{DeliveryError, Disposition, EARLY_TOLERANCE, Inbound};
use crate::delivery::in_flight::{Busy, Slot};
use crate::delivery::pipeline::{Halt, Source};
use crate::delivery::record::abandon;
use crate::index::{IndexedSubscription, SubscriptionIndex};
use crate::recent::KnownEvent;

/// Receives of a message that may wait for a busy endpoint before its attempt fails unsent.
const BUSY_POSTPONES: u32 = 4;
/// The shortest wait of such a message (±50%).
pub(crate) const BUSY_DELAY: Duration = Duration::from_millis(250);
/// The lease of a claimed attempt lasts the subscription's timeout plus this margin.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// An attempt that passed admission: its delivery is due, its subscription enabled, its
/// event at hand, and the subscription's rate leaves room for it.
pub(crate) struct Admitted {
    /// The worker's copy of the delivery.
    pub(crate) delivery: Delivery,
    /// Where that copy came from.
    pub(crate) source: Source,
    /// Its subscription, from the index.
    pub(crate) entry: Arc<IndexedSubscription>,
    /// Its event.
    pub(crate) event: Arc<KnownEvent>,
    /// A slot among the endpoint's requests in flight; `None`: the endpoint stayed busy, and
    /// the attempt is recorded as failed without being sent.
    pub(crate) slot: Option<Slot>,
    /// When the attempt began.
    pub(crate) now: OffsetDateTime,
}

/// An attempt this worker claimed (a lease until the subscription's timeout has passed): its
/// delivery at the version this worker writes its outcome over.
pub(crate) struct Claimed(pub(crate) Admitted);

/// Admit: whether the delivery is to be attempted now, and with what.
pub(crate) async fn admit(
    ctx: &DeliveryContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    delivery: Delivery,
    source: Source,
) -> Result<Admitted, Halt> {
    let from_message = source == Source::Message;
    if delivery.status.is_terminal() {
        return Err(Halt::Settle(Disposition::Ack));
    }
    let now = ctx.clock.now();
    if let Some(due) = delivery.next_attempt_at
        && due > now + EARLY_TOLERANCE
    {
        // Claimed by another worker, or a second message for a scheduled retry.
        return Err(Halt::Settle(Disposition::RetryIn(
            (due - now).unsigned_abs(),
        )));
    }
    let entry = match index.get(&delivery.subscription_id) {
        Some(entry) if entry.sub.enabled => entry,
        _ if from_message => return Err(Halt::Stale),
        None => return Err(abandon(ctx, delivery, "subscription deleted").await.into()),
        Some(_) => return Err(abandon(ctx, delivery, "subscription disabled").await.into()),
    };
    let event = match ctx.events.get(ctx.store.as_ref(), &delivery.event_id).await {
        Ok(Some(event)) => event,
        Ok(None) if from_message => return Err(Halt::Stale),
        Ok(None) => {
            return Err(abandon(ctx, delivery, "event no longer stored")
                .await
                .into());
        }
        Err(e) => return Err(DeliveryError::store("reading the event")(e).into()),
    };
    let sub = &entry.sub;
    // The rate the subscription asked for: past it, the message waits in the queue for the
    // moment reserved for it (no attempt is used).
    if let Some(rate) = sub.rate_limit
        && let Some(wait) = ctx.pacer.wait(&sub.id, &delivery.id, rate)
    {
        return Err(Halt::Settle(Disposition::RetryIn(wait)));
    }
    // A slot among the endpoint's requests in flight. An endpoint that answers quickly frees
    // one within moments, and this message waits here for it. Otherwise the message's first
    // few receives wait in the queue for about as long as the endpoint's requests take;
    // after that the attempt is recorded as failed unsent, and the retry schedule takes over.
    let limit = ctx.config.endpoint_concurrency;
    let slot = match ctx.in_flight.take(&sub.id, limit, BUSY_DELAY).await {
        Ok(slot) => Some(slot),
        Err(busy) if inbound.receive_count() < BUSY_POSTPONES => {
            let wait = busy_wait(busy, timeout_of(&entry)).mul_f64(0.5 + ids::random_unit());
            return Err(Halt::Settle(Disposition::RetryIn(wait)));
        }
        Err(_) => None,
    };
    Ok(Admitted {
        delivery,
        source,
        entry,
        event,
        slot,
        now,
    })
}

/// Claim: makes the admitted attempt this worker's. Several messages may name one delivery
/// (a fan-out re-run, a manual retry racing a scheduled one): only the worker whose claim
/// sets `next_attempt_at` to the end of a lease sends; any other message for it waits until
/// the delivery is due again. (How the store keeps the claim, written or, where it can, in
/// memory, is its own affair: see `DeliveryStore::claim_delivery`.)
pub(crate) async fn claim(ctx: &DeliveryContext, mut attempt: Admitted) -> Result<Claimed, Halt> {
    let from_message = attempt.source == Source::Message;
    let now = attempt.now;
    let lease = time_limit(&attempt) + CLAIM_MARGIN;
    let delivery = &mut attempt.delivery;
    delivery.next_attempt_at = Some(now + lease);
    // The claim lists the attempt as under way; the outcome replaces that. Should the outcome
    // never be written (the request sent, the store failing), the next attempt after the
    // lease is made with the reason on record.
    let mut claim = delivery.clone();
    claim.record_attempt(Attempt::under_way(delivery.next_attempt_number(), now));
    match ctx.store.claim_delivery(claim, now).await {
        Ok(Claim::Claimed) => {}
        // Under way in this process, as the store knows without a read: as if claimed by
        // another worker.
        Ok(Claim::Taken) => return Err(Halt::Settle(Disposition::RetryIn(EARLY_TOLERANCE))),
        // The message's copy is no longer (or not yet) the stored delivery.
        Ok(Claim::Changed) | Err(PortError::NotFound) if from_message => return Err(Halt::Stale),
        // Someone else claimed it between our read and our claim.
        Ok(Claim::Changed) => return Err(Halt::Settle(Disposition::RetryIn(EARLY_TOLERANCE))),
        Err(e) => return Err(DeliveryError::store("claiming the attempt")(e).into()),
    }
    delivery.version += 1;
    Ok(Claimed(attempt))
}

/// The longest the claimed attempt takes: the subscription's timeout, or for a workflow the
/// time its steps left may take.
fn time_limit(attempt: &Admitted) -> Duration {
    let sub = &attempt.entry.sub;
    match sub.mode {
        DeliveryMode::Action => action::time_limit(sub, attempt.delivery.steps_done),
        DeliveryMode::Push | DeliveryMode::Pull => timeout_of(&attempt.entry),
    }
}

/// The subscription's timeout per attempt.
fn timeout_of(entry: &IndexedSubscription) -> Duration {
    Duration::from_millis(u64::from(entry.sub.timeout_ms))
}

/// How long a message waits for a slot of a busy endpoint. A burst to an endpoint that answers
/// in milliseconds clears within the shortest wait; an endpoint whose requests take seconds
/// (or hang until `timeout`) frees no slot sooner than they have been taking, and retrying
/// every 250 ms meanwhile would only burn the CPU and queue writes the healthy ones need.
fn busy_wait(busy: Busy, timeout: Duration) -> Duration {
    busy.oldest
        .max(busy.typical)
        .min(timeout)
        .max(busy.closed_for)
        .max(BUSY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_endpoint_is_waited_for_about_as_long_as_its_requests_take() {
        let timeout = Duration::from_secs(5);
        let ms = Duration::from_millis;
        let busy = |oldest, typical| Busy {
            oldest: ms(oldest),
            typical: ms(typical),
            closed_for: Duration::ZERO,
        };
        assert_eq!(
            busy_wait(busy(3, 2), timeout),
            BUSY_DELAY,
            "fast: the shortest wait"
        );
        assert_eq!(
            busy_wait(busy(1_500, 0), timeout),
            ms(1_500),
            "slow: as long again"
        );
        assert_eq!(
            busy_wait(busy(20, 5_000), timeout),
            timeout,
            "young requests to an endpoint whose last ones hung: until the timeout"
        );
        assert_eq!(
            busy_wait(busy(60_000, 0), timeout),
            timeout,
            "never past the timeout"
        );
        let open = Busy {
            closed_for: ms(30_000),
            ..busy(0, 5_000)
        };
        assert_eq!(
            busy_wait(open, timeout),
            ms(30_000),
            "an open breaker: until it lets a probe through"
        );
    }
}
