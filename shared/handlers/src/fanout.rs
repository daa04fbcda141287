//! The fan-out handler: one SQS batch of accepted events in; for each, one delivery per
//! matching subscription, recorded and queued. Delivery ids derive from (event, subscription),
//! so a repeated fan-out (redelivered message, crash mid-batch) creates nothing twice.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::{Delivery, DeliveryStatus, ids};
use hookline_ports::PortError;

use crate::context::AppContext;
use crate::delivery::handler::enqueue;
use crate::index::SubscriptionIndex;
use crate::messages::EventMessage;

/// Fans out every event of the batch; returns the items that could not be processed.
pub async fn handle_events(ctx: Arc<AppContext>, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let index = match ctx.index.get(ctx.store.as_ref()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "fanout: could not load subscriptions; retrying the batch");
            response.batch_item_failures = event.records.iter().filter_map(failure).collect();
            return response;
        }
    };
    for record in &event.records {
        if let Err(why) = fan_out_one(&ctx, &index, record).await {
            tracing::warn!(message_id = ?record.message_id, reason = %why, "fanout: message failed");
            response.batch_item_failures.extend(failure(record));
        }
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
        .store
        .get_event(&msg.event_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown event {}", msg.event_id))?;
    let envelope = event.envelope_bytes();
    let now = ctx.clock.now();
    let mut to_send = Vec::new();
    for entry in index.candidates(&event.state, &event.event_type) {
        if !entry.sub.matches(&event, entry.filter.as_ref(), &envelope) {
            continue;
        }
        let id = ids::delivery_id(&event.id, &entry.sub.id);
        let delivery = Delivery::new(
            id.clone(),
            &event.id,
            &entry.sub.id,
            &entry.sub.client_id,
            now,
        );
        if ctx
            .store
            .insert_delivery(&delivery)
            .await
            .map_err(|e| e.to_string())?
        {
            to_send.push(id);
        } else if needs_requeue(ctx, &id).await.map_err(|e| e.to_string())? {
            // Created by an earlier run of this message that stopped before queueing it.
            to_send.push(id);
        }
    }
    let n = to_send.len();
    enqueue(ctx, &to_send).await.map_err(|e| e.to_string())?;
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
