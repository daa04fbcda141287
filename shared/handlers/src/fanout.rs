//! The fan-out handler: one SQS batch of accepted events in; for each, one delivery per
//! matching subscription, recorded and queued. Delivery ids derive from (event, subscription),
//! so a repeated fan-out (redelivered message, crash mid-batch) creates nothing twice.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::{Delivery, DeliveryStatus, ids};
use hookline_ports::PortError;
use tokio::task::JoinSet;

use crate::context::AppContext;
use crate::delivery::handler::enqueue_messages;
use crate::index::SubscriptionIndex;
use crate::messages::{DeliveryMessage, EventMessage};

/// Deliveries stored per write.
const INSERT_CHUNK: usize = 250;

/// Fans out every event of the batch; returns the items that could not be processed.
pub async fn handle_events(ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let all: Vec<BatchItemFailure> = event.records.iter().filter_map(failure).collect();
    let mut failed_all = false;
    let index = match ctx.index.get(ctx.store.as_ref()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "fanout: could not load subscriptions; retrying the batch");
            response.batch_item_failures = all;
            return response;
        }
    };
    // The events of a batch are independent: fan them out side by side.
    let mut tasks = JoinSet::new();
    for record in event.records {
        let (ctx, index) = (ctx.clone(), index.clone());
        tasks.spawn(async move {
            match fan_out_one(&ctx, &index, &record).await {
                Ok(()) => None,
                Err(why) => {
                    tracing::warn!(message_id = ?record.message_id, reason = %why, "fanout: message failed");
                    failure(&record)
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(failed) => response.batch_item_failures.extend(failed),
            // A task that panicked did not report its message: fail the whole batch rather
            // than let it be deleted (a re-run creates nothing twice).
            Err(e) => {
                tracing::error!(error = %e, "fanout: task failed; retrying the batch");
                failed_all = true;
            }
        }
    }
    if failed_all {
        response.batch_item_failures = all;
    }
    response
}

fn failure(record: &SqsMessage) -> Option<BatchItemFailure> {
    let mut f = BatchItemFailure::default();
    f.item_identifier = record.message_id.clone()?;
    Some(f)
}

async fn fan_out_one(
    ctx: &AppContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
) -> Result<(), String> {
    let body = record.body.as_deref().unwrap_or("");
    let msg: EventMessage =
        serde_json::from_str(body).map_err(|_| "malformed message".to_string())?;
    let event = ctx
        .events
        .get(ctx.store.as_ref(), &msg.event_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown event {}", msg.event_id))?;
    let envelope = event.envelope_bytes();
    let now = ctx.clock.now();
    let deliveries: Vec<Delivery> = index
        .candidates(&event.state, &event.event_type)
        .into_iter()
        .filter(|entry| entry.sub.matches(&event, entry.filter.as_ref(), &envelope))
        .map(|entry| {
            let id = ids::delivery_id(&event.id, &entry.sub.id);
            Delivery::new(id, &event.id, &entry.sub.id, &entry.sub.client_id, now)
        })
        .collect();
    let mut to_send = Vec::with_capacity(deliveries.len());
    // A few hundred at a time keeps one write (and one queue send) bounded.
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
    let n = to_send.len();
    enqueue_messages(ctx, &to_send)
        .await
        .map_err(|e| e.to_string())?;
    tracing::debug!(event_id = %event.id, deliveries = n, "fanned out");
    Ok(())
}

async fn needs_requeue(ctx: &AppContext, delivery_id: &str) -> Result<bool, PortError> {
    Ok(ctx
        .store
        .get_delivery(delivery_id)
        .await?
        .is_some_and(|d| d.status == DeliveryStatus::Pending && d.attempts.is_empty()))
}
