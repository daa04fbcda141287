//! The document's `webhooks` section (OpenAPI 3.1): the request Hookline sends to a
//! subscription's URL, so that a receiver can generate types for what it will be sent.
//!
//! The committed document describes it once for any event (`event`) and once per system event
//! (`hookline.ping`, `hookline.subscription.disabled`). The catalog is each stack's own, so the
//! served document ([`with_catalog`]) adds one webhook per event type of the live catalog, named
//! by the type, whose body's `type` is that name and whose `data` is the type's schema.

use std::collections::BTreeMap;

use hookline_domain::EventType;
use hookline_domain::event::{PING_TYPE, SUBSCRIPTION_DISABLED_TYPE};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{
    Content, PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder,
    Schema,
};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The generic webhook's name in `webhooks`.
pub const ANY_EVENT: &str = "event";

/// The body of every delivery: the event's envelope, signed as sent.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct WebhookEvent {
    /// The event's id; also the `webhook-id` header, the same on every attempt: deduplicate by
    /// it.
    #[schema(example = "evt_01JDQ3V5X8K2M4N6P8R0T2V4X6")]
    id: String,
    /// The event type.
    #[serde(rename = "type")]
    #[schema(example = "LotDispatched")]
    event_type: String,
    /// The state the event belongs to (`*` for Hookline's own events).
    #[schema(example = "AP")]
    state: String,
    /// When it happened (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-11-20T10:00:00Z")]
    timestamp: String,
    /// Who published it: a client id, or `hookline` for Hookline's own events.
    #[schema(example = "cl_01JDQ3V5X8K2M4N6P8R0T2V4X6")]
    source: String,
    /// The payload as published; valid against the type's schema where the catalog has one.
    #[schema(value_type = Value)]
    data: Value,
}

/// `data` of `hookline.ping` (`POST /v1/subscriptions/{id}/test`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct PingData {
    /// Always `ping`.
    message: String,
    /// The subscription tested.
    subscription_id: String,
}

/// `data` of `hookline.subscription.disabled`, sent to the owner's other subscriptions.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct SubscriptionDisabledData {
    /// The subscription Hookline disabled.
    subscription_id: String,
    /// Its URL.
    url: String,
    /// `gone` (its URL answered 410) or `failing` (every attempt failed for the stack's
    /// disable period).
    reason: Option<String>,
    /// Since when every attempt failed (RFC 3339), if it was failing.
    #[schema(format = DateTime)]
    failing_since: Option<String>,
    /// When it was disabled (RFC 3339).
    #[schema(format = DateTime)]
    disabled_at: String,
}

/// A header the request always carries.
fn header(name: &str, description: &str, example: Value) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .example(Some(example))
        .build()
}

/// The webhook request whose body is `body`.
fn webhook(summary: &str, operation_id: &str, body: RefOr<Schema>) -> PathItem {
    let respond = |d: &str| ResponseBuilder::new().description(d).build();
    let operation = OperationBuilder::new()
        .summary(Some(summary))
        .operation_id(Some(operation_id))
        .tag("webhooks")
        .description(Some(
            "Sent with `POST` to the subscription's URL. Verify `webhook-signature` (Standard \
             Webhooks: HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`, keyed with \
             the subscription's secret) before trusting the body. The subscription's own \
             `headers` are sent too.",
        ))
        .parameters(Some([
            header(
                "webhook-id",
                "The event's id, the same on every attempt.",
                json!("evt_01JDQ3V5X8K2M4N6P8R0T2V4X6"),
            ),
            header(
                "webhook-timestamp",
                "Seconds since the epoch when this attempt was signed.",
                json!("1763632800"),
            ),
            header(
                "webhook-signature",
                "`v1,<base64>`; space-separated during a secret rotation.",
                json!("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
            ),
            header(
                "hookline-event-type",
                "The event's type.",
                json!("LotDispatched"),
            ),
            header("hookline-state", "The event's state.", json!("AP")),
            header(
                "hookline-attempt",
                "1 for the first attempt, then 2, 3, …",
                json!("1"),
            ),
            header(
                "hookline-subscription-id",
                "The subscription it is delivered for.",
                json!("sub_01JDQ3V5X8K2M4N6P8R0T2V4X6"),
            ),
        ]))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", Content::new(Some(body)))
                .required(Some(Required::True))
                .build(),
        ))
        .responses(
            ResponsesBuilder::new()
                .response(
                    "2XX",
                    respond("Delivered: any 2xx within the subscription's timeout."),
                )
                .response("410", respond("Gone: Hookline disables the subscription."))
                .response(
                    "default",
                    respond(
                        "Anything else (3xx included: redirects are not followed), a timeout or \
                         a refused connection is retried on the schedule; `Retry-After` on 429 \
                         or 503 is honoured.",
                    ),
                ),
        )
        .build();
    PathItem::new(HttpMethod::Post, operation)
}

/// The envelope with `type` fixed to `name` and `data` described by `data`.
fn typed_envelope(name: &str, data: RefOr<Schema>) -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(Ref::from_schema_name("WebhookEvent"))
        .item(
            ObjectBuilder::new()
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([name])),
                )
                .property("data", data),
        )
        .into()
}

/// Adds the committed `webhooks`: any event, and each system event.
pub struct SystemWebhooks;

impl Modify for SystemWebhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in [
            ("WebhookEvent", WebhookEvent::schema()),
            ("PingData", PingData::schema()),
            (
                "SubscriptionDisabledData",
                SubscriptionDisabledData::schema(),
            ),
        ] {
            components.schemas.insert(name.to_string(), schema);
        }
        let mut webhooks = BTreeMap::new();
        webhooks.insert(
            ANY_EVENT.to_string(),
            webhook(
                "Any event a subscription matches.",
                "on_event",
                Ref::from_schema_name("WebhookEvent").into(),
            ),
        );
        webhooks.insert(
            PING_TYPE.to_string(),
            webhook(
                "The test request of `POST /v1/subscriptions/{id}/test`.",
                "on_ping",
                typed_envelope(PING_TYPE, Ref::from_schema_name("PingData").into()),
            ),
        );
        webhooks.insert(
            SUBSCRIPTION_DISABLED_TYPE.to_string(),
            webhook(
                "Hookline disabled another of the owner's subscriptions.",
                "on_subscription_disabled",
                typed_envelope(
                    SUBSCRIPTION_DISABLED_TYPE,
                    Ref::from_schema_name("SubscriptionDisabledData").into(),
                ),
            ),
        );
        let paths = webhooks
            .into_iter()
            .fold(PathsBuilder::new(), |paths, (name, item)| {
                paths.path(name, item)
            });
        openapi.webhooks = Some(paths.build());
    }
}

/// `document` (a serialized OpenAPI document with [`SystemWebhooks`]) with one webhook per type
/// of `catalog`, named by the type: the generic request with the body's `type` fixed to the
/// name and its `data` described by the type's schema (any JSON value where it has none).
pub fn with_catalog<'a>(document: &mut Value, catalog: impl IntoIterator<Item = &'a EventType>) {
    let Some(template) = document
        .pointer(&format!("/webhooks/{ANY_EVENT}/post"))
        .cloned()
    else {
        return;
    };
    let mut added = serde_json::Map::new();
    for t in catalog {
        let mut op = template.clone();
        let data = t.schema.clone().unwrap_or_else(
            || json!({"description": "Any JSON value: the type declares no schema."}),
        );
        let summary = if t.description.is_empty() {
            format!("A `{}` event.", t.name)
        } else {
            t.description.clone()
        };
        op["summary"] = summary.into();
        op["operationId"] = format!("on_{}", t.name).into();
        op["requestBody"]["content"]["application/json"]["schema"] = json!({"allOf": [
            {"$ref": "#/components/schemas/WebhookEvent"},
            {"type": "object", "properties": {"type": {"enum": [t.name]}, "data": data}},
        ]});
        added.insert(t.name.clone(), json!({ "post": op }));
    }
    if let Some(webhooks) = document.get_mut("webhooks").and_then(Value::as_object_mut) {
        for (name, item) in added {
            // A catalog type never shadows the generic or a system webhook.
            webhooks.entry(name).or_insert(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed() -> Value {
        serde_json::from_str(super::super::COMMITTED_DOCUMENT).expect("JSON")
    }

    #[test]
    fn the_committed_document_describes_any_event_and_each_system_event() {
        let doc = committed();
        let webhooks = doc["webhooks"].as_object().expect("webhooks");
        let mut names: Vec<&str> = webhooks.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, [ANY_EVENT, PING_TYPE, SUBSCRIPTION_DISABLED_TYPE]);
        let op = &doc["webhooks"][ANY_EVENT]["post"];
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|p| p["in"] == "header" && p["required"] == true)
            .filter_map(|p| p["name"].as_str())
            .collect();
        for h in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            assert!(headers.contains(&h), "{h} in {headers:?}");
        }
        assert_eq!(
            doc["components"]["schemas"]["WebhookEvent"]["required"],
            json!(["id", "type", "state", "timestamp", "source", "data"])
        );
    }

    #[test]
    fn each_catalog_type_becomes_a_webhook_with_its_data_schema() {
        let mut doc = committed();
        let schema = json!({"type": "object", "required": ["lot_id"], "properties": {"lot_id": {"type": "string"}}});
        let catalog = [
            EventType {
                name: "LotDispatched".into(),
                description: "A lot left.".into(),
                schema: Some(schema.clone()),
                example: None,
            },
            EventType {
                name: "BatchCreated".into(),
                description: String::new(),
                schema: None,
                example: None,
            },
            // Cannot shadow the generic entry.
            EventType {
                name: ANY_EVENT.into(),
                description: "shadow".into(),
                schema: None,
                example: None,
            },
        ];
        with_catalog(&mut doc, &catalog);

        let lot = &doc["webhooks"]["LotDispatched"]["post"];
        assert_eq!(lot["summary"], "A lot left.");
        assert_eq!(lot["operationId"], "on_LotDispatched");
        let body = &lot["requestBody"]["content"]["application/json"]["schema"]["allOf"];
        assert_eq!(body[0]["$ref"], "#/components/schemas/WebhookEvent");
        assert_eq!(
            body[1]["properties"]["type"]["enum"],
            json!(["LotDispatched"])
        );
        assert_eq!(body[1]["properties"]["data"], schema);
        assert_eq!(
            lot["parameters"],
            doc["webhooks"][ANY_EVENT]["post"]["parameters"]
        );
        assert_eq!(
            doc["webhooks"]["BatchCreated"]["post"]["summary"],
            "A `BatchCreated` event."
        );
        assert_eq!(
            doc["webhooks"][ANY_EVENT]["post"]["operationId"],
            "on_event"
        );
    }
}
