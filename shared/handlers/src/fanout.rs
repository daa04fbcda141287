//! The fan-out handler: one SQS batch of accepted events in; for each, one delivery per
//! matching subscription, recorded and queued. Delivery ids derive from (event, subscription),
//! so a repeated fan-out (redelivered message, crash mid-batch) creates nothing twice.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::{Delivery, DeliveryStatus, ids};
use hookline_ports::PortError;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::context::AppContext;
use crate::delivery::handler::{enqueue_messages, receive_count};
use crate::index::SubscriptionIndex;
use crate::messages::{DeliveryMessage, EventMessage};

/// Deliveries stored per write.
const INSERT_CHUNK: usize = 1_000;

/// Fans out every event of the batch; returns the items that could not be processed.
///
/// The deliveries of all the batch's events are stored together (one write per
/// [`INSERT_CHUNK`]) and queued together: on the embedded backend, one commit then carries
/// the index pages that every event's deliveries share (one per subscription), instead of
/// one commit per event writing them all again. A message that cannot be read, or names an
/// unknown event, fails alone; if storing or queueing fails, every event of the batch is
/// retried, and the retry creates nothing twice.
pub async fn handle_events(ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let all: Vec<BatchItemFailure> = event.records.iter().filter_map(failure).collect();
    // A panic would leave unknown which messages were handled: the batch runs on a task of
    // its own, and if that task fails, all of it is retried (a re-run creates nothing twice).
    match tokio::spawn(fan_out_batch(ctx, event)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "fanout: task failed; retrying the batch");
            let mut response = SqsBatchResponse::default();
            response.batch_item_failures = all;
            response
        }
    }
}

async fn fan_out_batch(ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let all: Vec<BatchItemFailure> = event.records.iter().filter_map(failure).collect();
    let index = match ctx.index.get(ctx.store.as_ref()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "fanout: could not load subscriptions; retrying the batch");
            response.batch_item_failures = all;
            return response;
        }
    };
    let now = ctx.clock.now();
    // The events are read side by side (each may be a store read); their deliveries are then
    // stored in the messages' order.
    let mut reads = JoinSet::new();
    for (i, record) in event.records.into_iter().enumerate() {
        let (ctx, index) = (ctx.clone(), index.clone());
        reads.spawn(async move {
            let matched = matches_of(&ctx, &index, &record, now).await;
            (i, record, matched)
        });
    }
    let mut matched = Vec::new();
    while let Some(joined) = reads.join_next().await {
        match joined {
            Ok(read) => matched.push(read),
            Err(e) => {
                tracing::error!(error = %e, "fanout: task failed; retrying the batch");
                response.batch_item_failures = all;
                return response;
            }
        }
    }
    matched.sort_by_key(|(i, _, _)| *i);
    let mut deliveries = Vec::new();
    for (_, record, result) in matched {
        match result {
            Ok(mut of_event) => deliveries.append(&mut of_event),
            Err(why) => {
                tracing::warn!(message_id = ?record.message_id, reason = %why, "fanout: message failed");
                response.batch_item_failures.extend(failure(&record));
            }
        }
    }
    if let Err(why) = store_and_queue(&ctx, &deliveries).await {
        tracing::warn!(reason = %why, "fanout: batch failed; retrying it");
        response.batch_item_failures = all;
    }
    response
}

fn failure(record: &SqsMessage) -> Option<BatchItemFailure> {
    let mut f = BatchItemFailure::default();
    f.item_identifier = record.message_id.clone()?;
    Some(f)
}

/// The deliveries that one event message calls for: one per matching subscription.
async fn matches_of(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
    now: OffsetDateTime,
) -> Result<Vec<Delivery>, String> {
    let body = record.body.as_deref().unwrap_or("");
    let msg: EventMessage =
        serde_json::from_str(body).map_err(|_| "malformed message".to_string())?;
    let event = ctx
        .events
        .get(ctx.store.as_ref(), &msg.event_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown event {}", msg.event_id))?;
    let envelope = event.envelope();
    let mut deliveries: Vec<Delivery> = index
        .candidates(&event.state, &event.event_type)
        .into_iter()
        .filter(|entry| entry.sub.matches(&event, entry.filter.as_ref(), &envelope))
        .map(|entry| {
            let id = ids::delivery_id(&event.id, &entry.sub.id);
            Delivery::new(id, &event.id, &entry.sub.id, &entry.sub.client_id, now)
        })
        .collect();
    // A message received before may have been fanned out by a version that derived delivery
    // ids the old way: its deliveries keep those ids, and are not made again under new ones.
    if receive_count(record) > 1 {
        for d in &mut deliveries {
            if let Some(stored) = legacy_delivery(ctx, &d.id, &d.event_id, &d.subscription_id)
                .await
                .map_err(|e| e.to_string())?
            {
                d.id = stored.id;
            }
        }
    }
    tracing::debug!(event_id = %event.id, deliveries = deliveries.len(), "fanned out");
    Ok(deliveries)
}

/// The delivery of `event_id` for `subscription_id` stored under its
/// [`ids::legacy_delivery_id`], if that differs from `id` (today's) and exists.
pub(crate) async fn legacy_delivery(
    ctx: &AppContext,
    id: &str,
    event_id: &str,
    subscription_id: &str,
) -> Result<Option<Delivery>, PortError> {
    let legacy = ids::legacy_delivery_id(event_id, subscription_id);
    if legacy == id {
        return Ok(None);
    }
    ctx.store.get_delivery(&legacy).await
}

/// Stores the deliveries and queues the ones that need it.
async fn store_and_queue(ctx: &AppContext, deliveries: &[Delivery]) -> Result<(), String> {
    let mut to_send = Vec::with_capacity(deliveries.len());
    // A bounded number at a time keeps one write (and one queue send) bounded.
    for chunk in deliveries.chunks(INSERT_CHUNK) {
        let created = ctx
            .store
            .insert_deliveries(chunk)
            .await
            .map_err(|e| e.to_string())?;
        for (d, new) in chunk.iter().zip(created) {
            if new {
                // Stored as made here: the message carries it, and the worker skips a read.
                to_send.push(DeliveryMessage::created(d));
            } else if needs_requeue(ctx, &d.id).await.map_err(|e| e.to_string())? {
                // Created by an earlier run of this message that stopped before queueing it,
                // and still untouched; its stored copy differs from `d` (its creation time).
                to_send.push(DeliveryMessage::id(&d.id));
            }
        }
    }
    // Remembered before their messages go out, so that no message finds one unremembered.
    ctx.first_attempts.created(
        to_send
            .iter()
            .filter(|m| m.created.is_some())
            .map(|m| m.delivery_id.as_str()),
    );
    enqueue_messages(ctx, &to_send)
        .await
        .map_err(|e| e.to_string())
}

async fn needs_requeue(ctx: &AppContext, delivery_id: &str) -> Result<bool, PortError> {
    Ok(ctx
        .store
        .get_delivery(delivery_id)
        .await?
        .is_some_and(|d| d.status == DeliveryStatus::Pending && d.attempt_count() == 0))
}
