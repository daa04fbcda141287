//! Request bodies that the handlers read as domain types or raw JSON, described for the
//! OpenAPI document with the limits the handlers enforce. Each mirrors the input it documents
//! (`SubscriptionInput`, an event object, the token form); the handlers' own validation stays
//! the authority, and `infra/scripts/fuzz.sh` (Schemathesis) holds the two together.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::schema::{OneOfBuilder, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::api::delivery_settings::{
    DeliveryModeSchema, OutboundAuthSchema, PayloadFormatSchema, RetryPolicySchema,
};

/// Body of `POST /v1/subscriptions`: the fields of [`SubscriptionPatch`] and `mode`, with
/// `event_types` required (and `url`, for a push subscription).
pub struct NewSubscription;

impl ToSchema for NewSubscription {}

impl PartialSchema for NewSubscription {
    fn schema() -> RefOr<Schema> {
        let mut schema = SubscriptionPatch::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required = vec!["event_types".into()];
            object.description = Some(
                "A new subscription: `url` is required for `mode: push` (the default), and \
                 refused (with `timeout_ms`, `rate_limit` and `auth`) for `mode: pull`."
                    .into(),
            );
            // Required here, so never null (a null `url` is 400 "is required"), whereas a
            // patch may leave them out.
            for name in &object.required {
                let schema_type = match object.properties.get_mut(name) {
                    Some(RefOr::T(Schema::Object(field))) => &mut field.schema_type,
                    Some(RefOr::T(Schema::Array(field))) => &mut field.schema_type,
                    _ => continue,
                };
                if let SchemaType::Array(types) = schema_type {
                    types.retain(|t| *t != Type::Null);
                    if let [only] = types.as_slice() {
                        *schema_type = SchemaType::Type(only.clone());
                    }
                }
            }
        }
        schema
    }
}

/// The optional fields of a subscription, as `PATCH /v1/subscriptions/{id}` takes them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SubscriptionPatch {
    /// `push` (default), `pull` or `action` (a workflow); set when the subscription is
    /// created (a different value in a patch is 400).
    #[schema(value_type = Option<DeliveryModeSchema>)]
    mode: Option<String>,
    /// Destination: `https://` (and `http://` where the deployment allows it); push only.
    #[schema(format = "uri", max_length = 2048)]
    url: Option<String>,
    /// Free text (at most 1000 bytes).
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// Type selectors: exact catalog names, prefixes ending in one `*`, or `*`.
    #[schema(min_items = 1, max_items = 100)]
    event_types: Option<Vec<String>>,
    /// State codes of the owner's states (default: all of them).
    #[schema(min_items = 1)]
    states: Option<Vec<String>>,
    /// Event pattern on the envelope (`null` clears it).
    #[schema(value_type = Option<Object>)]
    filter: Option<Value>,
    /// Extra headers of every delivery (at most 20; not `webhook-*`, `hookline-*` or
    /// hop-by-hop; no credential: a name such as `Authorization`, `Cookie` or `X-Api-Key` is
    /// 422 `credential_in_headers`, see `auth`).
    headers: Option<BTreeMap<String, String>>,
    /// Per-attempt timeout.
    #[schema(minimum = 100, maximum = 30000)]
    timeout_ms: Option<u32>,
    /// Attempts before giving up.
    #[schema(minimum = 1, maximum = 50)]
    max_attempts: Option<u32>,
    /// Enabled flag.
    enabled: Option<bool>,
    /// Deliver the client's own events too (default `false`; `true` for `mode: action`).
    include_own_events: Option<bool>,
    /// Payload format (default `hookline`).
    #[schema(value_type = Option<PayloadFormatSchema>)]
    format: Option<String>,
    /// With `format: template`: a minijinja template rendering one JSON document (every
    /// `{{ … }}` writes a JSON value). One that does not parse or render JSON: 422
    /// `invalid_template`.
    #[schema(max_length = 16384)]
    template: Option<String>,
    /// Own retry schedule (`null`: the stack's); outside the stack's limits: 422
    /// `invalid_retry_schedule`.
    #[schema(value_type = Option<RetryPolicySchema>)]
    retry: Option<Value>,
    /// The receiver's credential, write-only (`null` removes it).
    #[schema(value_type = Option<OutboundAuthSchema>)]
    auth: Option<Value>,
    /// A workflow's steps, run in order for each event (`mode: action` only, and required
    /// there). Each names a connection of the client and a create or update action of its
    /// app version; a connection that is not the client's, an unknown or search action, a
    /// missing required input, an undeclared input or an input template that does not parse:
    /// 422 naming `actions[i].<field>`.
    #[schema(min_items = 1, max_items = 5)]
    actions: Option<Vec<crate::api::views::ActionStepView>>,
}

/// One event to publish (`POST /v1/events`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewEvent {
    /// An event type of the stack's catalog.
    #[serde(rename = "type")]
    event_type: String,
    /// The one state the event belongs to (one of the client's).
    #[schema(pattern = "^[A-Z0-9]{2,8}$")]
    state: String,
    /// The publisher's id for it: a second event with the same id is a duplicate (1-200
    /// characters). The `Idempotency-Key` header does the same for a single event.
    #[schema(min_length = 1, max_length = 200)]
    id: Option<String>,
    /// When it happened (RFC 3339; default: when it is accepted).
    #[schema(format = DateTime)]
    occurred_at: Option<String>,
    /// The payload, valid against the type's schema.
    #[schema(value_type = Value)]
    data: Value,
}

/// Up to 100 events to publish at once (`POST /v1/events`); all are accepted or none.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewEventBatch {
    /// The events.
    #[schema(min_items = 1, max_items = 100)]
    events: Vec<NewEvent>,
}

/// One of two named schemas, as the body that is either a single event or a batch.
fn one_of(first: &str, second: &str, description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Ref::from_schema_name(first))
        .item(Ref::from_schema_name(second))
        .description(Some(description))
        .into()
}

/// Body of `POST /v1/events`: one event, or a batch.
pub struct PublishRequest;

impl ToSchema for PublishRequest {}

impl PartialSchema for PublishRequest {
    fn schema() -> RefOr<Schema> {
        one_of(
            "NewEvent",
            "NewEventBatch",
            "One event, or `{\"events\": [...]}`.",
        )
    }
}

/// The 202 answer of `POST /v1/events`: the one event's outcome, or the batch's.
pub struct PublishedOrBatch;

impl ToSchema for PublishedOrBatch {}

impl PartialSchema for PublishedOrBatch {
    fn schema() -> RefOr<Schema> {
        one_of(
            "PublishedView",
            "PublishedBatchView",
            "The event's outcome, or each event's of a batch.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_subscriptions_required_fields_are_never_null_a_patchs_may_be() {
        let new = serde_json::to_value(NewSubscription::schema()).expect("JSON");
        let patch = serde_json::to_value(SubscriptionPatch::schema()).expect("JSON");
        assert_eq!(new["properties"]["event_types"]["type"], "array");
        assert_eq!(new["required"], serde_json::json!(["event_types"]));
        // Required for push only: a pull subscription has none.
        assert_eq!(
            new["properties"]["url"]["type"],
            serde_json::json!(["string", "null"])
        );
        assert_eq!(
            patch["properties"]["url"]["type"],
            serde_json::json!(["string", "null"])
        );
        // The rest of a new subscription is the patch's.
        assert_eq!(new["properties"]["filter"], patch["properties"]["filter"]);
    }
}
