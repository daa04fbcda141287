//! The test ping: a `hookline.ping` event delivered to one subscription only, through the
//! normal delivery path (queue, signature, attempt log, retries).

use hookline_domain::{Delivery, DeliveryId, Event, EventId, StatePattern, Subscription};
use hookline_ports::PortError;
use serde_json::json;

use crate::context::AppContext;
use crate::messages::DeliveryMessage;
use crate::queueing::enqueue_messages;

/// Stores a `hookline.ping` event for `sub` and queues its one delivery; returns the
/// delivery's id.
pub async fn send_test_ping(ctx: &AppContext, sub: &Subscription) -> Result<DeliveryId, PortError> {
    let now = ctx.clock.now();
    let ms = now.unix_timestamp_nanos() / 1_000_000;
    let event = Event {
        id: EventId::new(ms),
        event_type: hookline_domain::event::PING_TYPE.to_string(),
        state: sub.states.first().cloned().unwrap_or(StatePattern::Any),
        occurred_at: now,
        received_at: now,
        source: "hookline".into(),
        publisher_key: None,
        recipient: None,
        data: json!({"message": "ping", "subscription_id": sub.id}),
    };
    ctx.store.insert_event(&event, None).await?;
    let delivery = Delivery::new(DeliveryId::new(ms), &event.id, &sub.id, &sub.client_id, now)
        .with_event_type(&event.event_type);
    // The message carries the new delivery whole and goes first: a worker that finds no
    // record writes it from the message, so the record can never wait without a message.
    enqueue_messages(ctx.queue.as_ref(), &[DeliveryMessage::created(&delivery)]).await?;
    if let Err(e) = ctx.store.insert_delivery(&delivery).await {
        tracing::warn!(error = %e, delivery_id = %delivery.id, "test: the record was not written; the queued message writes it");
    }
    Ok(delivery.id)
}
