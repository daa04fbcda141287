//! Events: what publishers send, and the envelope subscribers receive.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::catalog::{SchemaValidator, check_schema};
use crate::error::ValidationError;
use crate::ids::{ClientId, EventId};
use crate::state::{StateCode, StatePattern};
use crate::time_fmt;

/// Largest accepted request body for `POST /v1/events`.
pub const MAX_EVENT_BODY_BYTES: usize = 256 * 1024;
/// Largest batch of events in one request.
pub const MAX_BATCH: usize = 100;
/// Longest publisher id (`id`) or `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 200;

/// An accepted event, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`
    pub id: EventId,
    /// Event type name (`LotDispatched`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// State code the event belongs to: one state for a published event; every state (`*`)
    /// for a system event addressed to one client.
    pub state: StatePattern,
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
    pub recipient: Option<ClientId>,
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

/// What the stack and the publisher allow, needed to validate a published event.
pub struct EventRules<'a> {
    /// The publishing client's id: the event's `source`.
    pub publisher: &'a str,
    /// May the publisher publish for this state (a code, never `*`)?
    pub may_publish: &'a dyn Fn(&str) -> bool,
    /// The state codes this stack serves (`*`: every state).
    pub stack_states: &'a [String],
    /// The catalog: `None` for a type it lacks, otherwise the type's schema, if it has one.
    pub schema_of: &'a dyn Fn(&str) -> Option<Option<&'a SchemaValidator>>,
}

/// A published event that passed validation, waiting to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event, as it will be stored.
    pub event: Event,
    /// Its idempotency key (the `Idempotency-Key` header, or else the publisher's `id`).
    pub key: Option<String>,
}

/// Validates one published event object (`type`, `state`, `data`, optional `id` and
/// `occurred_at`), accepted at `now`. `header_key` is the request's `Idempotency-Key`, already
/// checked for its length.
pub fn validate_event(
    v: &Value,
    header_key: Option<String>,
    rules: &EventRules<'_>,
    now: OffsetDateTime,
) -> Result<NewEvent, ValidationError> {
    let Some(obj) = v.as_object() else {
        return Err(ValidationError::invalid("", "an event is a JSON object"));
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "type" | "state" | "id" | "occurred_at" | "data") {
            return Err(ValidationError::invalid(k.as_str(), "unknown field"));
        }
    }
    let text = |name: &str| -> Result<Option<&str>, ValidationError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ValidationError::invalid(name, "must be a string")),
        }
    };
    let event_type =
        text("type")?.ok_or_else(|| ValidationError::invalid("type", "is required"))?;
    let state = text("state")?.ok_or_else(|| ValidationError::invalid("state", "is required"))?;
    let data = match obj.get("data") {
        None | Some(Value::Null) => return Err(ValidationError::invalid("data", "is required")),
        Some(d) => d.clone(),
    };
    let state: StateCode = match StatePattern::parse_field("state", state)? {
        StatePattern::Code(code) => code,
        StatePattern::Any => {
            return Err(ValidationError::invalid(
                "state",
                "an event belongs to one state",
            ));
        }
    };
    let key = match (header_key, text("id")?) {
        (Some(h), _) => Some(h),
        (None, Some(id)) if !id.is_empty() && id.len() <= MAX_KEY_LEN => Some(id.to_string()),
        (None, Some(_)) => {
            return Err(ValidationError::invalid(
                "id",
                format!("1-{MAX_KEY_LEN} characters"),
            ));
        }
        (None, None) => None,
    };
    let occurred_at = match text("occurred_at")? {
        None => now,
        Some(s) => time_fmt::parse(s).ok_or_else(|| {
            ValidationError::invalid("occurred_at", "must be an RFC 3339 timestamp")
        })?,
    };
    let Some(schema) = (rules.schema_of)(event_type) else {
        return Err(ValidationError::with_code(
            "unknown_event_type",
            "type",
            format!("'{event_type}' is not in this stack's event catalog"),
        ));
    };
    if !(rules.may_publish)(&state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!("this client may not publish for state '{state}'"),
        ));
    }
    if !rules.stack_states.iter().any(|s| s == "*" || *s == *state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!(
                "this stack serves {}; '{state}' belongs to another stack",
                rules.stack_states.join(",")
            ),
        ));
    }
    if let Some(validator) = schema {
        check_schema(validator, &data)?;
    }
    Ok(NewEvent {
        event: Event {
            id: EventId::new(now.unix_timestamp_nanos() / 1_000_000),
            event_type: event_type.to_string(),
            state: state.into(),
            occurred_at,
            received_at: now,
            source: rules.publisher.to_string(),
            publisher_key: key.clone(),
            recipient: None,
            data,
        },
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value, header_key: Option<&str>) -> Result<NewEvent, ValidationError> {
        let schema =
            crate::catalog::compile_schema(&json!({"required": ["lotNo"]})).expect("schema");
        let schema_of = |t: &str| match t {
            "LotDispatched" => Some(None),
            "LotTested" => Some(Some(&schema)),
            _ => None,
        };
        let rules = EventRules {
            publisher: "cl_1",
            may_publish: &|s| s != "KA",
            stack_states: &["AP".to_string(), "KA".to_string(), "TG".to_string()],
            schema_of: &schema_of,
        };
        validate_event(
            &v,
            header_key.map(str::to_string),
            &rules,
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn field_of(e: ValidationError) -> (&'static str, String) {
        (
            e.code,
            e.errors
                .first()
                .map(|f| f.field.clone())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn a_valid_event_is_stamped_with_its_publisher_and_key() {
        let ok = check(
            json!({"type": "LotDispatched", "state": "AP", "id": "p-1", "data": {}}),
            None,
        )
        .expect("valid");
        assert_eq!(ok.key.as_deref(), Some("p-1"));
        assert_eq!(ok.event.source, "cl_1");
        assert_eq!(ok.event.occurred_at, OffsetDateTime::UNIX_EPOCH);
        assert!(ok.event.id.starts_with(EventId::PREFIX));
        let keyed = check(
            json!({"type": "LotDispatched", "state": "AP", "id": "p-1", "data": {}}),
            Some("h-1"),
        )
        .expect("valid");
        assert_eq!(keyed.key.as_deref(), Some("h-1"), "the header wins");
    }

    #[test]
    fn an_invalid_event_names_its_field() {
        let cases = [
            (
                json!({"type": "LotDispatched", "state": "AP", "data": {}, "x": 1}),
                "x",
            ),
            (json!({"state": "AP", "data": {}}), "type"),
            (
                json!({"type": "LotDispatched", "state": "*", "data": {}}),
                "state",
            ),
            (json!({"type": "LotDispatched", "state": "AP"}), "data"),
            (
                json!({"type": "LotDispatched", "state": "AP", "data": {}, "id": ""}),
                "id",
            ),
            (
                json!({"type": "LotDispatched", "state": "AP", "data": {}, "occurred_at": "soon"}),
                "occurred_at",
            ),
        ];
        for (v, field) in cases {
            let e = check(v.clone(), None).expect_err("invalid");
            assert_eq!(field_of(e).1, field, "{v}");
        }
    }

    #[test]
    fn the_catalog_the_publishers_states_and_the_stacks_states_bound_an_event() {
        let unknown = check(json!({"type": "Nope", "state": "AP", "data": {}}), None);
        assert_eq!(
            field_of(unknown.expect_err("unknown")).0,
            "unknown_event_type"
        );
        let not_allowed = check(
            json!({"type": "LotDispatched", "state": "KA", "data": {}}),
            None,
        );
        assert_eq!(
            field_of(not_allowed.expect_err("forbidden")),
            ("forbidden", "state".into())
        );
        let other_stack = check(
            json!({"type": "LotDispatched", "state": "MH", "data": {}}),
            None,
        );
        assert_eq!(
            field_of(other_stack.expect_err("forbidden")),
            ("forbidden", "state".into())
        );
        let mismatch = check(
            json!({"type": "LotTested", "state": "AP", "data": {}}),
            None,
        );
        assert_eq!(field_of(mismatch.expect_err("schema")).0, "schema_mismatch");
        assert!(
            check(
                json!({"type": "LotTested", "state": "AP", "data": {"lotNo": "L"}}),
                None
            )
            .is_ok()
        );
    }
}
