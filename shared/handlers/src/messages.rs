//! Bodies of the queue messages: ids only, so a message stays far below the SQS size limit
//! whatever the event's size, and the store stays the one source of truth.

use serde::{Deserialize, Serialize};

/// A message of the events queue: fan this event out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventMessage {
    /// The accepted event.
    pub event_id: String,
}

/// A message of the deliveries queue: attempt this delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryMessage {
    /// The delivery.
    pub delivery_id: String,
}

/// Serializes a message body.
pub fn to_body<T: Serialize>(m: &T) -> String {
    // Structs of strings always serialize.
    serde_json::to_string(m).unwrap_or_default()
}
