//! Response bodies: what the API shows of the stored domain types (never a secret hash, and
//! a webhook secret only where API.md says so).

use std::collections::BTreeMap;

use hookline_domain::time_fmt::format;
use hookline_domain::{Client, Delivery, Event, EventType, Subscription};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// `cl_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Allowed states.
    pub states: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// The secret: only in the create and secret-reset responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    /// The view of a client, with the secret when it was just created.
    pub fn of(c: &Client, secret: Option<String>) -> Self {
        ClientView {
            id: c.id.clone(),
            name: c.name.clone(),
            scopes: c.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            states: c.states.clone(),
            created_at: format(c.created_at),
            client_secret: secret,
        }
    }
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// `sub_…`
    pub id: String,
    /// Owner.
    pub client_id: String,
    /// Destination.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Type selectors.
    pub event_types: Vec<String>,
    /// States.
    pub states: Vec<String>,
    /// Event pattern.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// Per-attempt timeout.
    pub timeout_ms: u32,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Enabled flag.
    pub enabled: bool,
    /// Why the system disabled it.
    pub disabled_reason: Option<String>,
    /// Deliver own events too.
    pub include_own_events: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Signing secret: only in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SubscriptionView {
    /// The view of a subscription.
    pub fn of(s: &Subscription, with_secret: bool) -> Self {
        SubscriptionView {
            id: s.id.clone(),
            client_id: s.client_id.clone(),
            url: s.url.clone(),
            description: s.description.clone(),
            event_types: s.event_types.clone(),
            states: s.states.clone(),
            filter: s.filter.clone(),
            headers: s.headers.clone(),
            timeout_ms: s.timeout_ms,
            max_attempts: s.max_attempts,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason.clone(),
            include_own_events: s.include_own_events,
            created_at: format(s.created_at),
            updated_at: format(s.updated_at),
            secret: if with_secret {
                s.current_secret().map(str::to_string)
            } else {
                None
            },
        }
    }
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1-based number.
    pub attempt: u32,
    /// When.
    pub at: String,
    /// Response status.
    pub status_code: Option<u16>,
    /// Duration.
    pub duration_ms: u64,
    /// Failure.
    pub error: Option<String>,
    /// First 1 KiB of the response.
    pub response_excerpt: String,
}

/// A delivery with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_…`
    pub id: String,
    /// Event.
    pub event_id: String,
    /// Subscription.
    pub subscription_id: String,
    /// pending, succeeded, retrying or failed.
    pub status: String,
    /// The first attempt and the latest ones (at most 21), oldest first.
    pub attempts: Vec<AttemptView>,
    /// Attempts made between the first and the latest listed, which the record no longer keeps.
    pub attempts_omitted: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl DeliveryView {
    /// The view of a delivery.
    pub fn of(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id.clone(),
            event_id: d.event_id.clone(),
            subscription_id: d.subscription_id.clone(),
            status: d.status.as_str().to_string(),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    at: format(a.at),
                    status_code: a.status_code,
                    duration_ms: a.duration_ms,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                })
                .collect(),
            attempts_omitted: d.attempts_omitted,
            next_attempt_at: d.next_attempt_at.map(format),
            created_at: format(d.created_at),
            updated_at: format(d.updated_at),
        }
    }
}

/// Delivery counts of an event.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct DeliveryCounts {
    /// Pending or retrying.
    pub pending: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
}

/// An event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// `evt_…`
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// State.
    pub state: String,
    /// When it happened.
    pub occurred_at: String,
    /// When it was accepted.
    pub received_at: String,
    /// Publisher.
    pub source: String,
    /// Payload.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Delivery counts.
    pub deliveries: DeliveryCounts,
}

impl EventView {
    /// The view of an event with its delivery counts.
    pub fn of(e: &Event, deliveries: DeliveryCounts) -> Self {
        EventView {
            id: e.id.clone(),
            event_type: e.event_type.clone(),
            state: e.state.clone(),
            occurred_at: format(e.occurred_at),
            received_at: format(e.received_at),
            source: e.source.clone(),
            data: e.data.clone(),
            deliveries,
        }
    }
}

/// An event type.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeView {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of `data`.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

impl EventTypeView {
    /// The view of an event type.
    pub fn of(t: &EventType) -> Self {
        EventTypeView {
            name: t.name.clone(),
            description: t.description.clone(),
            schema: t.schema.clone(),
        }
    }
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListView<T: Serialize + ToSchema> {
    /// Items.
    pub data: Vec<T>,
    /// Cursor of the next page, or null.
    pub next_cursor: Option<String>,
}

/// A subscription's signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// `whsec_…`: the one that signs now (`null` only for a subscription without one).
    pub secret: Option<String>,
}

/// The delivery a test ping made.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestPingView {
    /// `dlv_…`
    pub delivery_id: String,
}

/// How many deliveries a replay queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    /// Deliveries queued.
    pub count: u64,
}

/// A delivery queued for another attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryView {
    /// `dlv_…`
    pub id: String,
    /// Always `pending`.
    pub status: String,
}

/// What became of one published event.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedView {
    /// `evt_…` (the earlier event's, for a duplicate).
    pub id: String,
    /// `accepted`, or `duplicate` of an earlier event with the same id or `Idempotency-Key`.
    #[schema(pattern = "^(accepted|duplicate)$")]
    pub status: String,
}

impl PublishedView {
    /// The view of an event just accepted, or found to be a duplicate.
    pub fn new(id: String, duplicate: bool) -> Self {
        let status = if duplicate { "duplicate" } else { "accepted" };
        PublishedView {
            id,
            status: status.to_string(),
        }
    }
}

/// What became of each event of a batch, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedBatchView {
    /// One per event of the batch.
    pub data: Vec<PublishedView>,
}

/// Liveness and version.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// Always `ok`.
    pub status: String,
    /// The running version.
    pub version: String,
    /// `embedded` or `aws`.
    pub backend: String,
}
