//! Events: what publishers send, and the envelope subscribers receive.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Largest accepted request body for `POST /v1/events`.
pub const MAX_EVENT_BODY_BYTES: usize = 256 * 1024;
/// Largest batch of events in one request.
pub const MAX_BATCH: usize = 100;

/// An accepted event, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`
    pub id: String,
    /// Event type name (`LotDispatched`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// State code the event belongs to.
    pub state: String,
    /// When the business event happened (publisher's clock; defaults to acceptance time).
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// When Hookline accepted it.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The publishing client (`cl_…`), or `hookline` for system events.
    pub source: String,
    /// The publisher's own id or idempotency key, if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_key: Option<String>,
    /// The business payload.
    pub data: Value,
    /// For a system event about one client's own resources (`hookline.subscription.disabled`):
    /// that client, the only one it is delivered to, whatever the states and filters of its
    /// subscriptions. `None` for every published event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

/// The JSON body of a webhook request.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<'a> {
    /// Event id; also the `webhook-id` header.
    pub id: &'a str,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// State code.
    pub state: &'a str,
    /// RFC 3339 time of the business event.
    pub timestamp: String,
    /// Publishing client id.
    pub source: &'a str,
    /// Payload.
    pub data: &'a Value,
}

impl Event {
    /// The envelope delivered to subscribers (and matched by subscription filters).
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            id: &self.id,
            event_type: &self.event_type,
            state: &self.state,
            timestamp: crate::time_fmt::format(self.occurred_at),
            source: &self.source,
            data: &self.data,
        }
    }

    /// The envelope as the exact bytes that are signed and sent.
    pub fn envelope_bytes(&self) -> Vec<u8> {
        // Serializing a struct of strings and a Value cannot fail.
        serde_json::to_vec(&self.envelope()).unwrap_or_default()
    }
}

/// Event type of the connectivity test sent by `POST /v1/subscriptions/{id}/test`.
pub const PING_TYPE: &str = "hookline.ping";

/// Event type telling a client that the system disabled one of its subscriptions.
pub const SUBSCRIPTION_DISABLED_TYPE: &str = "hookline.subscription.disabled";

/// Prefix of the event types Hookline itself emits: no catalog may define such a type, and
/// no client may publish one.
pub const SYSTEM_TYPE_PREFIX: &str = "hookline.";

/// The system event types a subscription may name exactly (besides `hookline.*` or `*`).
pub const SUBSCRIBABLE_SYSTEM_TYPES: [&str; 1] = [SUBSCRIPTION_DISABLED_TYPE];

/// Whether `name` is reserved for Hookline's own events.
pub fn is_system_type(name: &str) -> bool {
    name.starts_with(SYSTEM_TYPE_PREFIX)
}
