//! Response bodies: what the API shows of the stored domain types (never a secret hash, and
//! a webhook secret only where API.md says so).

use std::collections::BTreeMap;

use hookline_domain::subscription::{ActionStep, DeliveryMode, PayloadFormat, RetryPolicy};
use hookline_domain::time_fmt::format;
use hookline_domain::{Client, Delivery, Event, EventId, EventType, LimitOverrides, Subscription};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::delivery_settings::{
    AuthView, DeliveryModeSchema, PayloadFormatSchema, RetryPolicySchema, shown_headers,
};

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
    /// A disabled client gets no tokens, and its tokens stop working.
    pub disabled: bool,
    /// The stack's limits an admin overrode for this client; the others follow the stack's
    /// configuration.
    pub limits: LimitsView,
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
            id: c.id.to_string(),
            name: c.name.clone(),
            scopes: c.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            states: c.states.iter().map(ToString::to_string).collect(),
            disabled: c.disabled,
            limits: LimitsView::from(c.limits),
            created_at: format(c.created_at),
            client_secret: secret,
        }
    }
}

/// Limits of one client (each unset field: the stack's value).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsView {
    /// Sustained `/v1` requests per second (a batch publish counts one per event); 0: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// Requests allowed at once above that rate (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Subscriptions the client may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_subscriptions: Option<u32>,
    /// Events one replay call re-delivers at most (0: no replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replay_events: Option<u32>,
    /// Test pings per minute (0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_pings_per_minute: Option<u32>,
}

impl From<LimitOverrides> for LimitsView {
    fn from(o: LimitOverrides) -> Self {
        LimitsView {
            requests_per_second: o.requests_per_second,
            burst: o.burst,
            max_subscriptions: o.max_subscriptions,
            max_replay_events: o.max_replay_events,
            test_pings_per_minute: o.test_pings_per_minute,
        }
    }
}

impl From<LimitsView> for LimitOverrides {
    fn from(v: LimitsView) -> Self {
        LimitOverrides {
            requests_per_second: v.requests_per_second,
            burst: v.burst,
            max_subscriptions: v.max_subscriptions,
            max_replay_events: v.max_replay_events,
            test_pings_per_minute: v.test_pings_per_minute,
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
    /// `push` (signed POSTs to `url`) or `pull` (messages fetched from
    /// `/v1/subscriptions/{id}/messages`).
    #[schema(value_type = DeliveryModeSchema)]
    pub mode: DeliveryMode,
    /// Destination (`null` for a pull subscription).
    pub url: Option<String>,
    /// Free text.
    pub description: String,
    /// Type selectors.
    pub event_types: Vec<String>,
    /// States.
    pub states: Vec<String>,
    /// Event pattern.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// Extra headers (never a credential: those are refused, see `auth`).
    pub headers: BTreeMap<String, String>,
    /// Per-attempt timeout.
    pub timeout_ms: u32,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Payload format.
    #[schema(value_type = PayloadFormatSchema)]
    pub format: PayloadFormat,
    /// The template of `format: template` (else absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Its own retry schedule (`null`: the stack's).
    #[schema(value_type = Option<RetryPolicySchema>)]
    pub retry: Option<RetryPolicy>,
    /// The receiver's credential: its type and header only (`null`: none).
    pub auth: Option<AuthView>,
    /// Enabled flag.
    pub enabled: bool,
    /// Why the system disabled it: `gone` (the endpoint answered 410) or `failing` (every
    /// attempt failed for the stack's disable period).
    pub disabled_reason: Option<String>,
    /// When the system disabled it.
    pub disabled_at: Option<String>,
    /// Since when every attempt has failed (the first failure after the last success);
    /// null while the endpoint answers.
    pub failing_since: Option<String>,
    /// Deliver own events too.
    pub include_own_events: bool,
    /// Requests per second at most to the URL (`null`: no limit).
    pub rate_limit: Option<u32>,
    /// A workflow's steps (mode `action` only; else absent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionStepView>,
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
            id: s.id.to_string(),
            client_id: s.client_id.to_string(),
            mode: s.mode,
            url: (s.mode == DeliveryMode::Push).then(|| s.url.clone()),
            description: s.description.clone(),
            event_types: s.event_types.clone(),
            states: s.states.iter().map(ToString::to_string).collect(),
            filter: s.filter.clone(),
            headers: shown_headers(s),
            timeout_ms: s.timeout_ms,
            max_attempts: s.max_attempts,
            format: s.format,
            template: s.template.clone(),
            retry: s.retry.clone(),
            auth: AuthView::of(s),
            enabled: s.enabled,
            disabled_reason: s.disabled_reason.map(|r| r.as_str().to_string()),
            disabled_at: s.disabled_at.map(format),
            failing_since: s.failing_since.map(format),
            include_own_events: s.include_own_events,
            rate_limit: s.rate_limit,
            actions: s.actions.iter().map(ActionStepView::of).collect(),
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

/// One step of a workflow: an action of one of the client's connections, with its inputs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionStepView {
    /// `con_…`: a connection of the subscription's client.
    pub connection_id: String,
    /// The key of a create or update action of the connection's app version.
    pub action: String,
    /// Each input of the action: a value, or a string template over `event` (the envelope);
    /// a string that is exactly one `{{ expression }}` keeps the value's JSON type.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub input: BTreeMap<String, Value>,
}

impl ActionStepView {
    /// The view of a step.
    pub fn of(s: &ActionStep) -> Self {
        ActionStepView {
            connection_id: s.connection_id.to_string(),
            action: s.action.clone(),
            input: s.input.clone(),
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
    /// An app action's attempt: `METHOD url` and the start of the body sent, credentials
    /// redacted (absent for a webhook's).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_excerpt: String,
}

/// A delivery with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `dlv_…`
    pub id: String,
    /// Event.
    pub event_id: String,
    /// The event's type (`null` on deliveries made before the type was kept with them).
    pub event_type: Option<String>,
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
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.clone(),
            subscription_id: d.subscription_id.to_string(),
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
                    request_excerpt: a.request_excerpt.clone(),
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
    /// The payload as published (any JSON value but null; valid against the type's schema
    /// where the catalog has one).
    #[schema(value_type = Value)]
    pub data: Value,
    /// Delivery counts (`GET /v1/events/{id}` only; a list leaves them out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<DeliveryCounts>,
}

impl EventView {
    /// The view of an event with its delivery counts (none: as a list shows it).
    pub fn of(e: &Event, deliveries: Option<DeliveryCounts>) -> Self {
        EventView {
            id: e.id.to_string(),
            event_type: e.event_type.clone(),
            state: e.state.to_string(),
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
    /// A `data` value of this type, valid against its schema (`null` when the catalog has none).
    #[schema(value_type = Option<Value>)]
    pub example: Option<Value>,
}

impl EventTypeView {
    /// The view of an event type.
    pub fn of(t: &EventType) -> Self {
        EventTypeView {
            name: t.name.clone(),
            description: t.description.clone(),
            schema: t.schema.clone(),
            example: t.example.clone(),
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
    /// The caller's `max_replay_events` stopped the replay: the window may hold more.
    pub limit_reached: bool,
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
    pub fn new(id: EventId, duplicate: bool) -> Self {
        let status = if duplicate { "duplicate" } else { "accepted" };
        PublishedView {
            id: id.into_string(),
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
