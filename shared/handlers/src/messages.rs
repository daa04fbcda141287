//! Bodies of the queue messages: ids (and a new delivery's few fixed fields), so a message
//! stays far below the SQS size limit whatever the event's size, and the store stays the one
//! source of truth.

use hookline_domain::{ClientId, Delivery, DeliveryId, EventId, SubscriptionId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A message of the events queue: fan this event out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMessage {
    /// The accepted event.
    pub event_id: EventId,
    /// A continuation of a fan-out that ran out of time: the subscription id after which it
    /// resumes (its deliveries are made in subscription-id order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SubscriptionId>,
}

/// A message of the deliveries queue: attempt this delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryMessage {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// What the delivery was made of, when this message queues it as fan-out created it.
    /// A worker may start from this copy instead of reading the store: its claim is a write
    /// over version 0, which only an untouched delivery still has, so a stale copy is found
    /// out there (and the worker reads the stored delivery) before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<CreatedDelivery>,
    /// The cycle of attempts this message asks for (a manual retry, a replay, or a message
    /// redriven from the dead-letter queue): the number of the cycle after the one its sender
    /// saw finish. It begins if the delivery has finished and no later cycle began since.
    /// Whoever comes first — the API's write or the worker holding this message — begins it,
    /// so a crash between the API's send and its write loses nothing, and the cycle never
    /// begins twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_cycle: Option<u32>,
}

/// The fields from which [`Delivery::new`] made a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedDelivery {
    /// The event.
    pub event_id: EventId,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The subscription's owner.
    pub client_id: ClientId,
    /// The event's type (absent in messages queued before it was carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Creation time.
    #[serde(with = "hookline_domain::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl DeliveryMessage {
    /// A message naming a delivery only; the worker reads it from the store.
    pub fn id(delivery_id: &DeliveryId) -> DeliveryMessage {
        DeliveryMessage {
            delivery_id: delivery_id.clone(),
            created: None,
            new_cycle: None,
        }
    }

    /// A message asking for the cycle of attempts after the one `d` is in (see
    /// [`DeliveryMessage::new_cycle`]).
    pub fn retry(d: &Delivery) -> DeliveryMessage {
        DeliveryMessage {
            delivery_id: d.id.clone(),
            created: None,
            new_cycle: Some(d.cycle.saturating_add(1)),
        }
    }

    /// A message carrying a delivery just made by [`Delivery::new`] (and not changed since).
    pub fn created(d: &Delivery) -> DeliveryMessage {
        DeliveryMessage {
            delivery_id: d.id.clone(),
            created: Some(CreatedDelivery {
                event_id: d.event_id.clone(),
                subscription_id: d.subscription_id.clone(),
                client_id: d.client_id.clone(),
                event_type: d.event_type.clone(),
                created_at: d.created_at,
            }),
            new_cycle: None,
        }
    }

    /// The delivery as it was created, if the message carries it.
    pub fn created_delivery(&self) -> Option<Delivery> {
        let c = self.created.as_ref()?;
        let mut d = Delivery::new(
            self.delivery_id.clone(),
            &c.event_id,
            &c.subscription_id,
            &c.client_id,
            c.created_at,
        );
        d.event_type = c.event_type.clone();
        Some(d)
    }
}

/// Serializes a message body.
pub fn to_body<T: Serialize>(m: &T) -> String {
    // Structs of strings always serialize.
    serde_json::to_string(m).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_delivery_survives_its_message_whole() {
        // Nanoseconds included: the copy must equal what the store holds, field for field.
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        let d = Delivery::new(
            DeliveryId::new(1),
            &EventId::new(1),
            &SubscriptionId::new(1),
            &ClientId::new(1),
            at,
        )
        .with_event_type("LotDispatched");
        let body = to_body(&DeliveryMessage::created(&d));
        let back: DeliveryMessage = serde_json::from_str(&body).unwrap();
        assert_eq!(back.created_delivery(), Some(d));
    }

    #[test]
    fn a_message_with_the_id_only_reads_as_before() {
        let id = DeliveryId::from_stored("dlv_1");
        let body = to_body(&DeliveryMessage::id(&id));
        assert_eq!(body, r#"{"delivery_id":"dlv_1"}"#);
        let back: DeliveryMessage = serde_json::from_str(&body).unwrap();
        assert_eq!(back.created_delivery(), None);
    }
}
