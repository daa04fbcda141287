//! The delivery handler: one SQS batch of delivery messages in, partial batch failures out.
//! A failed attempt is reported as a batch-item failure after its visibility timeout was set
//! to the retry delay, so SQS itself (or the embedded queue) schedules the next attempt.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::retry::{Wait, plan_wait};
use hookline_domain::{Attempt, Delivery, DeliveryStatus, Subscription, ids};
use hookline_ports::{PortError, QueueMessage, QueueName};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::context::AppContext;
use crate::delivery::client::{SendResult, Target};
use crate::delivery::first_attempt::Begin;
use crate::delivery::health;
use crate::delivery::in_flight::{Busy, Slot};
use crate::delivery::outcome::{Outcome, decide};
use crate::delivery::request::render;
use crate::index::SubscriptionIndex;
use crate::messages::{DeliveryMessage, to_body};
use crate::metrics::AttemptOutcome;
use crate::recent::KnownEvent;

/// Attempts every delivery of the batch concurrently; returns the items to retry.
pub async fn handle_deliveries(ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let index = match ctx.index.get(ctx.store.as_ref()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "deliver: could not load subscriptions; retrying the batch");
            response.batch_item_failures = event.records.iter().filter_map(failure).collect();
            return response;
        }
    };
    handle_deliveries_with(ctx, index, event).await
}

/// As [`handle_deliveries`], with the subscription index the caller loaded for this batch
/// (the local runner loads it once per received batch and hands each message over alone).
pub async fn handle_deliveries_with(
    ctx: Arc<AppContext>,
    index: Arc<SubscriptionIndex>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let received = Instant::now();
    // The local runner hands messages over one at a time, each on a task of its own already:
    // attempt it right here, without a second task (its spawn, join and bookkeeping were 3%
    // of the runner's CPU in fan-out). A panic is still caught, and still costs only this
    // message.
    if let [record] = event.records.as_slice() {
        let done = CatchPanic(Box::pin(deliver_one(&ctx, &index, record, received))).await;
        if !matches!(done, Some(Ok(()))) {
            if done.is_none() {
                tracing::error!("deliver: the attempt panicked; the message will be retried");
            }
            response.batch_item_failures.extend(failure(record));
        }
        return response;
    }
    let mut tasks = JoinSet::new();
    // A task that panics returns no record: remember which message each task holds, so that
    // its message is reported as failed (and retried) rather than deleted as done.
    let mut held = HashMap::new();
    for record in event.records {
        let ctx = ctx.clone();
        let index = index.clone();
        let message_id = record.message_id.clone();
        // In the invocation's span, so that the attempt's log lines carry its request id.
        let handle = tasks.spawn(
            async move { deliver_one(&ctx, &index, &record, received).await.is_ok() }
                .in_current_span(),
        );
        held.insert(handle.id(), message_id);
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        let (id, ok) = match joined {
            Ok((id, ok)) => (id, ok),
            Err(e) => {
                tracing::error!(error = %e, "deliver: task failed; the message will be retried");
                (e.id(), false)
            }
        };
        if !ok && let Some(Some(message_id)) = held.remove(&id) {
            let mut f = BatchItemFailure::default();
            f.item_identifier = message_id;
            response.batch_item_failures.push(f);
        }
    }
    response
}

/// Polls a future, turning a panic into `None`, as a task's `JoinError` would be.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Some(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

fn failure(record: &SqsMessage) -> Option<BatchItemFailure> {
    let mut f = BatchItemFailure::default();
    f.item_identifier = record.message_id.clone()?;
    Some(f)
}

/// A message arriving this much before its delivery is due counts as on time (clock skew).
const EARLY_TOLERANCE: Duration = Duration::from_secs(1);
/// Receives of a message whose delivery cannot be found before it is dead-lettered.
const UNKNOWN_DELIVERY_RECEIVES: u32 = 5;
/// Receives of a message that may wait for a busy endpoint before its attempt fails unsent.
const BUSY_POSTPONES: u32 = 4;
/// The shortest wait of such a message (±50%).
const BUSY_DELAY: Duration = Duration::from_millis(250);
/// The lease of a claimed attempt lasts the subscription's timeout plus this margin.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// `Ok` = done with this message (delete it); `Err` = leave it for a later attempt.
///
/// Several messages may name one delivery (a fan-out re-run, a manual retry racing a
/// scheduled one). Only the worker that claims the delivery — a conditional write that sets
/// `next_attempt_at` to the end of a lease — sends; any other message for it is postponed to
/// when it is due, and acknowledged once the delivery has finished. Nothing is dropped while
/// the delivery is unfinished. (A process that is the only one over its store owns the first
/// attempt of a delivery its own fan-out created, without a claim: see
/// [`crate::delivery::first_attempt`].)
async fn deliver_one(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
    received: Instant,
) -> Result<(), ()> {
    let body = record.body.as_deref().unwrap_or("");
    let msg: DeliveryMessage = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(_) => {
            tracing::warn!(message_id = ?record.message_id, "deliver: malformed message; dead-lettering it");
            return dead_letter(ctx, body.to_string()).await;
        }
    };
    let inbound = Inbound {
        record,
        body,
        received,
    };
    let done = deliver_message(ctx, index, &inbound, &msg).await;
    if done.is_ok() {
        // Done with the message: whatever became of the delivery (sent, finished before,
        // abandoned unsent), no first attempt of it remains to be owned.
        ctx.first_attempts.forget(&msg.delivery_id);
    }
    done
}

/// A received message, as the steps of its attempt need it.
struct Inbound<'a> {
    /// The message.
    record: &'a SqsMessage,
    /// Its body.
    body: &'a str,
    /// When its batch reached this handler: the queue's 12 hours of invisibility count from
    /// about then.
    received: Instant,
}

/// [`deliver_one`] for a message that parsed.
async fn deliver_message(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    msg: &DeliveryMessage,
) -> Result<(), ()> {
    // A new delivery's message carries it: start from that copy, unless it proves stale.
    if msg.new_cycle.is_none()
        && let Some(created) = msg.created_delivery()
        && let Some(done) = attempt_if_due(ctx, index, inbound, created, Source::Message).await
    {
        return done;
    }
    let backend = |e: PortError| tracing::error!(error = %e, delivery_id = %msg.delivery_id, "deliver: store failed");
    let mut stored = ctx
        .store
        .get_delivery(&msg.delivery_id)
        .await
        .map_err(backend)?;
    if stored.is_none()
        && let Some(created) = msg.created_delivery()
    {
        // Sent before its record was written (the API sends first), and the write did not
        // happen or has not yet: the message is the delivery's whole record, so it is
        // written here, once (the insert is conditional).
        ctx.store.insert_delivery(&created).await.map_err(backend)?;
        stored = ctx
            .store
            .get_delivery(&msg.delivery_id)
            .await
            .map_err(backend)?;
    }
    let Some(mut delivery) = stored else {
        // The record is written before the message is sent, so it is normally there; a store
        // that has not caught up yet (or a record already expired) must not cost the message.
        let receives = receive_count(inbound.record);
        if receives >= UNKNOWN_DELIVERY_RECEIVES {
            tracing::error!(delivery_id = %msg.delivery_id, receives, "deliver: no such delivery; dead-lettering the message");
            return dead_letter(ctx, inbound.body.to_string()).await;
        }
        tracing::warn!(delivery_id = %msg.delivery_id, receives, "deliver: delivery not found yet; retrying the message");
        return postpone(ctx, inbound, EARLY_TOLERANCE).await;
    };
    if let Some(attempts) = msg.new_cycle
        && delivery.awaits_cycle(attempts)
    {
        // The cycle this message asks for has not begun: begin it (the API may not have
        // written it, or the message comes back from the dead-letter queue).
        delivery.restart(ctx.clock.now());
        match ctx.store.update_delivery(&delivery).await {
            Ok(true) => delivery.version += 1,
            // Changed meanwhile (the API's own write, most likely): look again shortly.
            Ok(false) => return postpone(ctx, inbound, EARLY_TOLERANCE).await,
            Err(e) => return store_failed(&delivery.id, &e),
        }
        tracing::info!(delivery_id = %delivery.id, "deliver: a new cycle of attempts begins");
    }
    // From the store, an attempt always ends in `Some`.
    attempt_if_due(ctx, index, inbound, delivery, Source::Store)
        .await
        .unwrap_or(Err(()))
}

/// Where a worker's copy of a delivery came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The message that queued it new: the delivery as created, at version 0.
    Message,
    /// The store.
    Store,
}

/// Attempts `delivery` if it is due and this worker claims it. `Some(Ok)`: done with the
/// message; `Some(Err)`: leave it for later; `None`: the copy from the message proved stale
/// (or would end the delivery, which is decided on the stored copy only) — read the stored
/// delivery. `None` comes before anything was sent or written.
async fn attempt_if_due(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    mut delivery: Delivery,
    source: Source,
) -> Option<Result<(), ()>> {
    let record = inbound.record;
    let from_message = source == Source::Message;
    if delivery.status.is_terminal() {
        return Some(Ok(()));
    }
    let now = ctx.clock.now();
    if let Some(due) = delivery.next_attempt_at
        && due > now + EARLY_TOLERANCE
    {
        // Claimed by another worker, or a second message for a scheduled retry.
        return Some(postpone(ctx, inbound, (due - now).unsigned_abs()).await);
    }
    let entry = match index.get(&delivery.subscription_id) {
        Some(entry) if entry.sub.enabled => entry,
        _ if from_message => return None,
        None => return Some(abandon(ctx, delivery, "subscription deleted").await),
        Some(_) => return Some(abandon(ctx, delivery, "subscription disabled").await),
    };
    let sub = &entry.sub;
    let event = match ctx.events.get(ctx.store.as_ref(), &delivery.event_id).await {
        Ok(Some(event)) => event,
        Ok(None) if from_message => return None,
        Ok(None) => return Some(abandon(ctx, delivery, "event no longer stored").await),
        Err(e) => return Some(store_failed(&delivery.id, &e)),
    };
    // The rate the subscription asked for: past it, the message waits in the queue for the
    // moment reserved for it (no attempt is used).
    if let Some(rate) = sub.rate_limit
        && let Some(wait) = ctx.pacer.wait(&sub.id, &delivery.id, rate)
    {
        return Some(postpone(ctx, inbound, wait).await);
    }
    // A slot among the endpoint's requests in flight. An endpoint that answers quickly frees
    // one within moments, and this message waits here for it. Otherwise the message's first
    // few receives wait in the queue for about as long as the endpoint's requests take;
    // after that the attempt is recorded as failed unsent, and the retry schedule takes over.
    let limit = ctx.config.endpoint_concurrency;
    let timeout = Duration::from_millis(u64::from(sub.timeout_ms));
    let slot = match ctx.in_flight.take(&sub.id, limit, BUSY_DELAY).await {
        Ok(slot) => Some(slot),
        Err(busy) if receive_count(record) < BUSY_POSTPONES => {
            let wait = busy_wait(busy, timeout).mul_f64(0.5 + ids::random_unit());
            return Some(postpone(ctx, inbound, wait).await);
        }
        Err(_) => None,
    };
    let lease = timeout + CLAIM_MARGIN;
    delivery.next_attempt_at = Some(now + lease);
    // Held until the outcome is recorded: until then, no other attempt here may start.
    let owned = match ctx.first_attempts.begin(&delivery.id, from_message) {
        // Unclaimed, under way in this process: as if claimed by another worker.
        Begin::Busy => return Some(postpone(ctx, inbound, EARLY_TOLERANCE).await),
        Begin::Owned(owned) => Some(owned),
        begin @ (Begin::Claim | Begin::ClaimAfterLost) => {
            if matches!(begin, Begin::ClaimAfterLost) {
                // This process's unclaimed attempt sent its request, and its outcome could
                // not be written: on record now, as a failed attempt, before this one.
                delivery.record_attempt(Attempt::under_way(delivery.next_attempt_number(), now));
            }
            // The claim lists the attempt as under way; the outcome replaces that. Should the
            // outcome never be written (the request sent, the store failing), the next attempt
            // after the lease is made with the reason on record.
            let mut claim = delivery.clone();
            claim.record_attempt(Attempt::under_way(delivery.next_attempt_number(), now));
            match ctx.store.update_delivery(&claim).await {
                Ok(true) => {}
                // The message's copy is no longer (or not yet) the stored delivery.
                Ok(false) | Err(PortError::NotFound) if from_message => return None,
                // Someone else claimed it between our read and our write.
                Ok(false) => return Some(postpone(ctx, inbound, EARLY_TOLERANCE).await),
                Err(e) => return Some(store_failed(&delivery.id, &e)),
            }
            delivery.version += 1;
            None
        }
    };
    let target = entry.target.get_or_init(|| ctx.http.target(&sub.url));
    let done = send_and_record(ctx, inbound, delivery, sub, target, &event, slot, now).await;
    drop(owned);
    Some(done)
}

fn store_failed(delivery_id: &str, e: &PortError) -> Result<(), ()> {
    tracing::error!(error = %e, delivery_id, "deliver: store failed");
    Err(())
}

/// Sends the attempt of a claimed delivery (or records it failed unsent, without `slot`),
/// records its outcome, and sets the message up for the retry, if any.
#[allow(clippy::too_many_arguments)]
async fn send_and_record(
    ctx: &AppContext,
    inbound: &Inbound<'_>,
    mut delivery: Delivery,
    sub: &Subscription,
    target: &Target,
    event: &KnownEvent,
    slot: Option<Slot>,
    now: OffsetDateTime,
) -> Result<(), ()> {
    let attempt_no = delivery.next_attempt_number();
    let request = match render(sub, event, attempt_no, now, ctx.http.user_agent()) {
        Ok(r) => r,
        Err(e) => return abandon(ctx, delivery, &e).await,
    };
    let sent = slot.is_some();
    let result = match slot {
        Some(slot) => {
            ctx.first_attempts.sent(&delivery.id);
            let result = ctx.http.send(target, request).await;
            slot.finish(result.status.is_some_and(|s| s < 500 && s != 429));
            result
        }
        None => SendResult::not_sent(format!(
            "not sent: {} requests to this endpoint are already in flight",
            ctx.config.endpoint_concurrency
        )),
    };
    delivery.record_attempt(Attempt {
        attempt: attempt_no,
        at: now,
        status_code: result.status,
        duration_ms: result.duration_ms,
        error: result.error.clone(),
        response_excerpt: result.excerpt.clone(),
    });
    let outcome = decide(
        &result,
        delivery.attempts_in_cycle(),
        sub.max_attempts,
        &ctx.config.retry_schedule,
        now.unix_timestamp(),
        ids::random_unit(),
    );
    ctx.metrics.attempt(
        &event.state,
        &event.event_type,
        AttemptOutcome::from(&outcome),
        sent.then_some(result.duration_ms),
    );
    // Every attempt is recorded on its delivery (and listed by the API); the log adds the
    // ones an operator must notice. A success per delivery would be most of the log, and
    // writing it a measurable share of the runner's CPU at thousands per second.
    macro_rules! attempt_log {
        ($level:ident) => {
            tracing::$level!(
                delivery_id = %delivery.id,
                subscription_id = %sub.id,
                event_id = %event.id,
                attempt = attempt_no,
                status = ?result.status,
                error = ?result.error,
                duration_ms = result.duration_ms,
                outcome = ?outcome,
                "delivery attempt"
            )
        };
    }
    if outcome == Outcome::Succeeded {
        attempt_log!(debug);
    } else {
        attempt_log!(info);
    }
    health::track(ctx, sub, &outcome, sent, now).await;
    let after = ctx.clock.now();
    delivery.updated_at = after;
    match outcome {
        Outcome::Succeeded => {
            delivery.status = DeliveryStatus::Succeeded;
            delivery.next_attempt_at = None;
            record_outcome(ctx, &delivery).await
        }
        Outcome::Gone | Outcome::GiveUp => give_up(ctx, delivery).await,
        Outcome::Retry(delay) => {
            delivery.status = DeliveryStatus::Retrying;
            delivery.next_attempt_at = Some(after + delay);
            record_outcome(ctx, &delivery).await?;
            postpone(ctx, inbound, delay).await
        }
    }
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

/// `ApproximateReceiveCount` of a message (1 if absent).
pub(crate) fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// Writes the outcome over the version this worker claimed.
async fn record_outcome(ctx: &AppContext, delivery: &Delivery) -> Result<(), ()> {
    match ctx.store.update_delivery(delivery).await {
        Ok(true) => {
            ctx.first_attempts.recorded(&delivery.id);
            Ok(())
        }
        Ok(false) => {
            // Only the lease holder writes a claimed delivery; this means the lease ran out
            // (an attempt slower than its timeout) and another worker took over.
            tracing::warn!(delivery_id = %delivery.id, "deliver: the delivery changed during the attempt; its outcome is not recorded");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, delivery_id = %delivery.id, "deliver: could not record the outcome");
            Err(())
        }
    }
}

/// Makes the message wait `delay` before its next receive: it stays in the queue, invisible
/// (`Err`, reported as a batch failure), or — when the queue could not keep it that long
/// (its 12 hours from the receive, its retention, its receive count) — goes out again as a
/// fresh message and this one is done with (`Ok`).
async fn postpone(ctx: &AppContext, inbound: &Inbound<'_>, delay: Duration) -> Result<(), ()> {
    let wait = plan_wait(
        delay,
        inbound.received.elapsed(),
        message_age(inbound.record, ctx.clock.now()),
        receive_count(inbound.record),
        &ctx.config.delivery_queue,
    );
    let hide = match wait {
        Wait::Hide(hide) => hide,
        Wait::Resend(send_delay) => {
            let fresh = QueueMessage {
                body: inbound.body.to_string(),
                delay: send_delay,
            };
            match ctx.queue.send(QueueName::Deliveries, vec![fresh]).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::warn!(error = %e, "deliver: could not send the message again; it waits where it is");
                    delay.min(send_delay.max(EARLY_TOLERANCE))
                }
            }
        }
    };
    if let Some(handle) = inbound.record.receipt_handle.as_deref()
        && let Err(e) = ctx
            .queue
            .change_visibility(QueueName::Deliveries, handle, hide)
            .await
    {
        tracing::warn!(error = %e, "deliver: could not set the retry delay; the queue's visibility timeout applies");
    }
    Err(())
}

/// How long ago the message was first sent (`SentTimestamp`; zero if absent).
fn message_age(record: &SqsMessage, now: OffsetDateTime) -> Duration {
    let sent_ms = record
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse::<i128>().ok());
    match sent_ms {
        Some(ms) => {
            let now_ms = now.unix_timestamp_nanos() / 1_000_000;
            Duration::from_millis(u64::try_from(now_ms - ms).unwrap_or(0))
        }
        None => Duration::ZERO,
    }
}

/// Marks the delivery failed and moves its message to the dead-letter queue; then the source
/// message is deleted. The dead-lettered message asks for a new cycle of attempts, so moving
/// it back to the deliveries queue (a redrive) retries the delivery.
async fn give_up(ctx: &AppContext, mut delivery: Delivery) -> Result<(), ()> {
    let retry = DeliveryMessage::retry(&delivery);
    dead_letter(ctx, to_body(&retry)).await?;
    delivery.status = DeliveryStatus::Failed;
    delivery.next_attempt_at = None;
    record_outcome(ctx, &delivery).await
}

async fn dead_letter(ctx: &AppContext, body: String) -> Result<(), ()> {
    ctx.queue
        .send(QueueName::DeliveriesDlq, vec![QueueMessage::now(body)])
        .await
        .map_err(|e| tracing::error!(error = %e, "deliver: could not dead-letter a message"))
}

/// Ends a delivery that can no longer be attempted (subscription gone or disabled).
async fn abandon(ctx: &AppContext, mut delivery: Delivery, why: &str) -> Result<(), ()> {
    tracing::info!(delivery_id = %delivery.id, reason = why, "delivery abandoned");
    delivery.status = DeliveryStatus::Failed;
    delivery.next_attempt_at = None;
    delivery.updated_at = ctx.clock.now();
    match ctx.store.update_delivery(&delivery).await {
        Ok(true) => Ok(()),
        // Changed meanwhile: look again later.
        Ok(false) => Err(()),
        Err(e) => {
            tracing::error!(error = %e, "deliver: could not record the failure");
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_attempt_becomes_a_failure_not_a_crash() {
        assert_eq!(CatchPanic(Box::pin(async { 7 })).await, Some(7));
        let panicked = CatchPanic(Box::pin(async {
            tokio::task::yield_now().await;
            panic!("a bug in an attempt")
        }))
        .await;
        assert_eq!(panicked, None::<()>);
    }

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
