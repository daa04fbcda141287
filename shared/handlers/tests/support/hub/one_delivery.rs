//! One delivery set up on a hub the way most handler tests start: a receiver on loopback, a
//! new client subscribed to it, an event, and the delivery's message waiting in the queue.

use axum::http::StatusCode;
use hookline_domain::subscription::DEFAULT_MAX_ATTEMPTS;
use hookline_domain::{Delivery, DeliveryId, Event, Subscription};
use hookline_ports::{QueueName, ReceivedMessage};

use super::{Hub, Receiver};

/// One delivery of a new event to a new subscription, and the message that carries it.
pub struct OneDelivery {
    /// The subscription's endpoint.
    pub receiver: Receiver,
    pub sub: Subscription,
    pub event: Event,
    pub id: DeliveryId,
    /// The delivery's message, received (not attempted yet).
    pub batch: Vec<ReceivedMessage>,
}

impl Hub {
    /// A delivery recorded (after `adjust`) and queued by id, as a manual retry does, to a
    /// receiver answering `status` for a subscription of `max_attempts`.
    pub async fn queued_delivery(
        &self,
        status: StatusCode,
        max_attempts: u32,
        adjust: impl FnOnce(&mut Delivery),
    ) -> OneDelivery {
        self.one_delivery(status, max_attempts, async |event, sub| {
            let id = self.queue_delivery(event, sub, adjust).await;
            (id, self.receive_exactly(QueueName::Deliveries, 1).await)
        })
        .await
    }

    /// A delivery fanned out (its creation message carries it) to a receiver answering 200.
    pub async fn fanned_out_delivery(&self) -> OneDelivery {
        self.one_delivery(StatusCode::OK, DEFAULT_MAX_ATTEMPTS, async |event, sub| {
            let id = DeliveryId::for_event(&event.id, &sub.id);
            (id, self.fan_out_event(event, 1).await)
        })
        .await
    }

    /// A receiver, a subscription to it and an event; `message` makes the delivery and
    /// receives its message.
    async fn one_delivery(
        &self,
        status: StatusCode,
        max_attempts: u32,
        message: impl AsyncFnOnce(&Event, &Subscription) -> (DeliveryId, Vec<ReceivedMessage>),
    ) -> OneDelivery {
        let receiver = Receiver::start(status).await;
        let sub = self.subscribe(&receiver.url, max_attempts).await;
        let event = self.publish().await;
        let (id, batch) = message(&event, &sub).await;
        OneDelivery {
            receiver,
            sub,
            event,
            id,
            batch,
        }
    }
}
