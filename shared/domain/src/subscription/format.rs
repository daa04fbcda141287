//! The payload shapes a subscription can ask for: Hookline's envelope, CloudEvents 1.0
//! (structured JSON mode), or the subscription's own template. Whatever the shape, the body
//! built here is the exact bytes that are signed and sent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{Envelope, Event};
use crate::template::{self, TemplateError};

/// Content type of a CloudEvents structured-mode body.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";
/// Content type of the envelope and of a template's output.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// Prefix of a CloudEvents `source`: `urn:hookline:client:<publisher id>` (for system events,
/// `urn:hookline:client:hookline`), stable for as long as the publishing client exists.
pub const CLOUDEVENTS_SOURCE_PREFIX: &str = "urn:hookline:client:";

/// The body shape a subscription receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    /// The Hookline envelope (`id`, `type`, `state`, `timestamp`, `source`, `data`).
    #[default]
    Hookline,
    /// CloudEvents 1.0, structured JSON mode.
    Cloudevents,
    /// The subscription's `template`, rendered with the envelope's fields.
    Template,
}

impl PayloadFormat {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::Hookline => "hookline",
            PayloadFormat::Cloudevents => "cloudevents",
            PayloadFormat::Template => "template",
        }
    }

    /// The `content-type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            PayloadFormat::Cloudevents => CLOUDEVENTS_CONTENT_TYPE,
            PayloadFormat::Hookline | PayloadFormat::Template => JSON_CONTENT_TYPE,
        }
    }
}

/// A CloudEvents 1.0 event in structured JSON mode. Hookline's own envelope fields that
/// CloudEvents has no attribute for ride as extension attributes (lower-case alphanumeric).
#[derive(Debug, Serialize)]
pub struct CloudEvent<'a> {
    /// Always `1.0`.
    pub specversion: &'static str,
    /// The event id (`evt_…`): also the `webhook-id` header.
    pub id: &'a str,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// `urn:hookline:client:<publisher id>`.
    pub source: String,
    /// When the business event happened (RFC 3339).
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: &'static str,
    /// The state code of the event (`AP`; `*` for a system event).
    pub hooklinestate: &'a str,
    /// The publishing client's id (`cl_…`), or `hookline`.
    pub hooklinepublisher: &'a str,
    /// The payload.
    pub data: &'a Value,
}

impl<'a> CloudEvent<'a> {
    /// The CloudEvents form of `event`.
    pub fn of(event: &'a Event) -> Self {
        CloudEvent {
            specversion: "1.0",
            id: &event.id,
            event_type: &event.event_type,
            source: format!("{CLOUDEVENTS_SOURCE_PREFIX}{}", event.source),
            time: crate::time_fmt::format(event.occurred_at),
            datacontenttype: JSON_CONTENT_TYPE,
            hooklinestate: &event.state,
            hooklinepublisher: &event.source,
            data: &event.data,
        }
    }
}

/// The body of a webhook for `event` in `format` (`template`: the subscription's template),
/// unless the format is the envelope, which the caller serializes once for every delivery
/// of the event (`Ok(None)`).
pub fn render_body(
    format: PayloadFormat,
    template: Option<&str>,
    event: &Event,
) -> Result<Option<Vec<u8>>, TemplateError> {
    match format {
        PayloadFormat::Hookline => Ok(None),
        // Serializing a struct of strings and a Value cannot fail.
        PayloadFormat::Cloudevents => Ok(Some(
            serde_json::to_vec(&CloudEvent::of(event)).unwrap_or_default(),
        )),
        PayloadFormat::Template => {
            template::render_json(template.unwrap_or_default(), &event.envelope()).map(Some)
        }
    }
}

/// Checks a template against a sample envelope of `event_type`: it must parse and render one
/// JSON document (undefined fields of the sample's empty `data` render as `null`).
pub fn check_template(source: &str, event_type: &str, state: &str) -> Result<(), TemplateError> {
    let data = Value::Object(Default::default());
    let sample = Envelope {
        id: "evt_00000000000000000000000000",
        event_type,
        state,
        timestamp: "2026-01-01T00:00:00Z".into(),
        source: "cl_00000000000000000000000000",
        data: &data,
    };
    template::check_json(source, &sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;
    use crate::state::StatePattern;
    use serde_json::json;
    use time::OffsetDateTime;

    fn event() -> Event {
        Event {
            id: EventId::from_stored("evt_1"),
            event_type: "LotDispatched".into(),
            state: StatePattern::from_stored("AP"),
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            received_at: OffsetDateTime::UNIX_EPOCH,
            source: "cl_pub".into(),
            publisher_key: None,
            data: json!({"lotNo": "L-1"}),
            recipient: None,
        }
    }

    #[test]
    fn cloudevents_carry_the_required_attributes_and_the_envelope_as_extensions() {
        let body = render_body(PayloadFormat::Cloudevents, None, &event())
            .expect("render")
            .expect("a body");
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            v,
            json!({"specversion": "1.0", "id": "evt_1", "type": "LotDispatched",
                "source": "urn:hookline:client:cl_pub", "time": "1970-01-01T00:00:00Z",
                "datacontenttype": "application/json", "hooklinestate": "AP",
                "hooklinepublisher": "cl_pub", "data": {"lotNo": "L-1"}})
        );
        for name in v.as_object().expect("object").keys() {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    && name.len() <= 20,
                "{name} is a valid CloudEvents attribute name"
            );
        }
    }

    #[test]
    fn a_template_renders_the_envelope_fields() {
        let body = render_body(
            PayloadFormat::Template,
            Some(r#"{"event": {{ type }}, "payload": {{ data }}}"#),
            &event(),
        )
        .expect("render")
        .expect("a body");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("JSON"),
            json!({"event": "LotDispatched", "payload": {"lotNo": "L-1"}})
        );
        assert_eq!(
            render_body(PayloadFormat::Hookline, None, &event()),
            Ok(None)
        );
    }
}
