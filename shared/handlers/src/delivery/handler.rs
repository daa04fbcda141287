//! The delivery handler: one SQS batch of delivery messages in, partial batch failures out.
//! A failed attempt is reported as a batch-item failure after its visibility timeout was set
//! to the retry delay, so SQS itself (or the embedded queue) schedules the next attempt.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::{Attempt, Delivery, DeliveryStatus, ids};
use hookline_ports::{PortError, QueueMessage, QueueName};
use tokio::task::JoinSet;

use crate::context::AppContext;
use crate::delivery::client::SendResult;
use crate::delivery::outcome::{Outcome, decide};
use crate::delivery::request::render;
use crate::index::SubscriptionIndex;
use crate::messages::{DeliveryMessage, to_body};

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
    let mut tasks = JoinSet::new();
    // A task that panics returns no record: remember which message each task holds, so that
    // its message is reported as failed (and retried) rather than deleted as done.
    let mut held = HashMap::new();
    for record in event.records {
        let ctx = ctx.clone();
        let index = index.clone();
        let message_id = record.message_id.clone();
        let handle = tasks.spawn(async move { deliver_one(&ctx, &index, &record).await.is_ok() });
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
/// How long such a message waits (±50%).
const BUSY_DELAY: Duration = Duration::from_millis(250);
/// The lease of a claimed attempt lasts the subscription's timeout plus this margin.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// `Ok` = done with this message (delete it); `Err` = leave it for a later attempt.
///
/// Several messages may name one delivery (a fan-out re-run, a manual retry racing a
/// scheduled one). Only the worker that claims the delivery — a conditional write that sets
/// `next_attempt_at` to the end of a lease — sends; any other message for it is postponed to
/// when it is due, and acknowledged once the delivery has finished. Nothing is dropped while
/// the delivery is unfinished.
async fn deliver_one(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
) -> Result<(), ()> {
    let body = record.body.as_deref().unwrap_or("");
    let msg: DeliveryMessage = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(_) => {
            tracing::warn!(message_id = ?record.message_id, "deliver: malformed message; dead-lettering it");
            return dead_letter(ctx, body).await;
        }
    };
    let backend = |e: PortError| tracing::error!(error = %e, delivery_id = %msg.delivery_id, "deliver: store failed");
    let Some(mut delivery) = ctx
        .store
        .get_delivery(&msg.delivery_id)
        .await
        .map_err(backend)?
    else {
        // The record is written before the message is sent, so it is normally there; a store
        // that has not caught up yet (or a record already expired) must not cost the message.
        let receives = receive_count(record);
        if receives >= UNKNOWN_DELIVERY_RECEIVES {
            tracing::error!(delivery_id = %msg.delivery_id, receives, "deliver: no such delivery; dead-lettering the message");
            return dead_letter(ctx, body).await;
        }
        tracing::warn!(delivery_id = %msg.delivery_id, receives, "deliver: delivery not found yet; retrying the message");
        return postpone(ctx, record, EARLY_TOLERANCE).await;
    };
    if delivery.status.is_terminal() {
        return Ok(());
    }
    let now = ctx.clock.now();
    if let Some(due) = delivery.next_attempt_at
        && due > now + EARLY_TOLERANCE
    {
        // Claimed by another worker, or a second message for a scheduled retry.
        return postpone(ctx, record, (due - now).unsigned_abs()).await;
    }
    let Some(entry) = index.get(&delivery.subscription_id) else {
        return abandon(ctx, delivery, "subscription deleted").await;
    };
    let sub = &entry.sub;
    if !sub.enabled {
        return abandon(ctx, delivery, "subscription disabled").await;
    }
    let Some(event) = ctx
        .events
        .get(ctx.store.as_ref(), &delivery.event_id)
        .await
        .map_err(backend)?
    else {
        return abandon(ctx, delivery, "event no longer stored").await;
    };
    // A slot among the endpoint's requests in flight. Without one, a message's first few
    // receives just wait a moment (a burst to a healthy endpoint clears in milliseconds);
    // after that the attempt is recorded as failed unsent, and the retry schedule takes over
    // (an endpoint that hangs until its timeout clears in seconds, if ever).
    let limit = ctx.config.endpoint_concurrency;
    let slot = ctx.in_flight.try_take(&sub.id, limit);
    if slot.is_none() && receive_count(record) < BUSY_POSTPONES {
        return postpone(ctx, record, BUSY_DELAY.mul_f64(0.5 + ids::random_unit())).await;
    }
    let lease = Duration::from_millis(u64::from(sub.timeout_ms)) + CLAIM_MARGIN;
    delivery.next_attempt_at = Some(now + lease);
    if !ctx
        .store
        .update_delivery(&delivery)
        .await
        .map_err(backend)?
    {
        // Someone else claimed it between our read and our write.
        return postpone(ctx, record, EARLY_TOLERANCE).await;
    }
    delivery.version += 1;
    let attempt_no = delivery.next_attempt_number();
    let request = match render(sub, &event, attempt_no, now, ctx.http.user_agent()) {
        Ok(r) => r,
        Err(e) => return abandon(ctx, delivery, &e).await,
    };
    let result = match slot {
        Some(slot) => {
            let result = ctx.http.send(request).await;
            drop(slot);
            result
        }
        None => SendResult::not_sent(format!(
            "not sent: {limit} requests to this endpoint are already in flight"
        )),
    };
    delivery.attempts.push(Attempt {
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
    tracing::info!(
        delivery_id = %delivery.id,
        subscription_id = %sub.id,
        event_id = %event.id,
        attempt = attempt_no,
        status = ?result.status,
        error = ?result.error,
        duration_ms = result.duration_ms,
        outcome = ?outcome,
        "delivery attempt"
    );
    let after = ctx.clock.now();
    delivery.updated_at = after;
    match outcome {
        Outcome::Succeeded => {
            delivery.status = DeliveryStatus::Succeeded;
            delivery.next_attempt_at = None;
            record_outcome(ctx, &delivery).await
        }
        Outcome::Gone => {
            disable_gone(ctx, &sub.id).await;
            give_up(ctx, delivery, body).await
        }
        Outcome::GiveUp => give_up(ctx, delivery, body).await,
        Outcome::Retry(delay) => {
            delivery.status = DeliveryStatus::Retrying;
            delivery.next_attempt_at = Some(after + delay);
            record_outcome(ctx, &delivery).await?;
            postpone(ctx, record, delay).await
        }
    }
}

/// `ApproximateReceiveCount` of a message (1 if absent).
fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// Writes the outcome over the version this worker claimed.
async fn record_outcome(ctx: &AppContext, delivery: &Delivery) -> Result<(), ()> {
    match ctx.store.update_delivery(delivery).await {
        Ok(true) => Ok(()),
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

/// Leaves the message in the queue, invisible for `delay` (reported as a batch failure).
async fn postpone(ctx: &AppContext, record: &SqsMessage, delay: Duration) -> Result<(), ()> {
    if let Some(handle) = record.receipt_handle.as_deref()
        && let Err(e) = ctx
            .queue
            .change_visibility(
                QueueName::Deliveries,
                handle,
                delay.min(hookline_domain::retry::MAX_DELAY),
            )
            .await
    {
        tracing::warn!(error = %e, "deliver: could not set the retry delay; the queue's visibility timeout applies");
    }
    Err(())
}

/// Marks the delivery failed and moves its message to the dead-letter queue, from which it
/// can be replayed; then the source message is deleted.
async fn give_up(ctx: &AppContext, mut delivery: Delivery, body: &str) -> Result<(), ()> {
    dead_letter(ctx, body).await?;
    delivery.status = DeliveryStatus::Failed;
    delivery.next_attempt_at = None;
    record_outcome(ctx, &delivery).await
}

async fn dead_letter(ctx: &AppContext, body: &str) -> Result<(), ()> {
    ctx.queue
        .send(
            QueueName::DeliveriesDlq,
            vec![QueueMessage::now(body.to_string())],
        )
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

/// Disables a subscription whose endpoint answered 410 Gone.
async fn disable_gone(ctx: &AppContext, subscription_id: &str) {
    match ctx.store.get_subscription(subscription_id).await {
        Ok(Some(mut sub)) => {
            sub.enabled = false;
            sub.disabled_reason = Some("gone".into());
            sub.updated_at = ctx.clock.now();
            if let Err(e) = ctx.store.put_subscription(&sub).await {
                tracing::error!(error = %e, "deliver: could not disable a gone subscription");
            } else {
                tracing::info!(
                    subscription_id,
                    "subscription disabled: endpoint answered 410 Gone"
                );
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "deliver: could not load a gone subscription"),
    }
}

/// Queues a delivery for an attempt now (fan-out, manual retry, replay, test ping).
pub async fn enqueue(ctx: &AppContext, delivery_ids: &[String]) -> Result<(), PortError> {
    if delivery_ids.is_empty() {
        return Ok(());
    }
    let msgs = delivery_ids
        .iter()
        .map(|id| {
            QueueMessage::now(to_body(&DeliveryMessage {
                delivery_id: id.clone(),
            }))
        })
        .collect();
    ctx.queue.send(QueueName::Deliveries, msgs).await
}
