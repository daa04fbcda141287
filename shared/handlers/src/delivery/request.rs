//! Rendering and signing the webhook request of API.md.

use std::time::Duration;

use bytes::Bytes;
use hookline_domain::signature::SignatureError;
use hookline_domain::subscription::render_body;
use hookline_domain::template::TemplateError;
use hookline_domain::{Subscription, signature};
use http::header::{
    CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, InvalidHeaderName, InvalidHeaderValue,
    USER_AGENT,
};

use crate::delivery::client::OutboundRequest;
use crate::recent::KnownEvent;

/// The names of the headers every webhook carries: parsed once, and (being static) copied
/// into each request without an allocation.
const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
const EVENT_TYPE: HeaderName = HeaderName::from_static("hookline-event-type");
const STATE: HeaderName = HeaderName::from_static("hookline-state");
const ATTEMPT: HeaderName = HeaderName::from_static("hookline-attempt");
const SUBSCRIPTION_ID: HeaderName = HeaderName::from_static("hookline-subscription-id");

/// Why the request of an attempt cannot be built: nothing about it changes from one attempt
/// to the next, so the delivery is abandoned. Its text is what the delivery records; it
/// quotes no value (a custom header may hold a credential).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A value (`what`: `event id`, `custom header`, …) cannot be sent in a header.
    #[error("the {what} is not a valid header value")]
    HeaderValue {
        /// Which value.
        what: &'static str,
        /// Why not.
        #[source]
        source: InvalidHeaderValue,
    },
    /// A custom header's name is not a header name.
    #[error("a custom header name of the subscription is not valid")]
    HeaderName(#[source] InvalidHeaderName),
    /// The request could not be signed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The subscription's template did not render this event into JSON.
    #[error("the payload template did not render: {0}")]
    Payload(#[from] TemplateError),
}

/// A header value, or which value is not one.
fn value(v: &str, what: &'static str) -> Result<HeaderValue, RequestError> {
    HeaderValue::from_str(v).map_err(|source| RequestError::HeaderValue { what, source })
}

/// Renders the request for `attempt` of `event` to `sub` at `now`, unsigned ([`sign`] signs
/// it). The body is in the subscription's format: the event's envelope (which [`KnownEvent`]
/// serializes once for every delivery of the event), its CloudEvents form, or its template's
/// output. The receiver's credential, if any, goes in the header it names.
pub fn render(
    sub: &Subscription,
    event: &KnownEvent,
    attempt: u32,
    now: time::OffsetDateTime,
    user_agent: &str,
) -> Result<OutboundRequest, RequestError> {
    let body = match render_body(sub.format, sub.template.as_deref(), event)? {
        Some(rendered) => Bytes::from(rendered),
        None => event.envelope(),
    };
    let ts = now.unix_timestamp();
    // Room for the signature and the credential too.
    let mut headers = HeaderMap::with_capacity(10 + sub.headers.len());
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(sub.format.content_type()),
    );
    headers.insert(USER_AGENT, value(user_agent, "user agent")?);
    headers.insert(WEBHOOK_ID, value(&event.id, "event id")?);
    headers.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(ts));
    headers.insert(EVENT_TYPE, value(&event.event_type, "event type")?);
    headers.insert(STATE, value(&event.state, "state")?);
    headers.insert(ATTEMPT, HeaderValue::from(attempt));
    headers.insert(SUBSCRIPTION_ID, value(&sub.id, "subscription id")?);
    for (k, v) in &sub.headers {
        // Checked when the subscription was registered; a stored one that still does not
        // parse can never be sent, whatever the attempt.
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(RequestError::HeaderName)?;
        headers.append(name, value(v, "custom header")?);
    }
    if let Some(auth) = &sub.auth {
        let name =
            HeaderName::from_bytes(auth.header().as_bytes()).map_err(RequestError::HeaderName)?;
        let mut credential = value(&auth.header_value(), "credential")?;
        // Kept out of HTTP/2 header tables and marked for any layer that prints headers.
        credential.set_sensitive(true);
        headers.insert(name, credential);
    }
    Ok(OutboundRequest {
        headers,
        body,
        timeout: Duration::from_millis(sub.timeout_ms as u64),
    })
}

/// Signs a rendered request as Standard Webhooks does, with every secret of `sub` that signs
/// at `now` (`webhook-signature`; the id and timestamp are those [`render`] set).
pub fn sign(
    request: &mut OutboundRequest,
    sub: &Subscription,
    event_id: &str,
    now: time::OffsetDateTime,
) -> Result<(), RequestError> {
    let secrets = sub.signing_secrets(now);
    let sig = signature::sign(&secrets, event_id, now.unix_timestamp(), &request.body)?;
    request
        .headers
        .insert(WEBHOOK_SIGNATURE, value(&sig, "signature")?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{event, subscription};
    use time::OffsetDateTime;

    #[test]
    fn the_request_carries_the_signed_standard_webhooks_headers_and_the_custom_ones() {
        let mut sub = subscription();
        sub.headers.insert("X-Portal-Key".into(), "k1".into());
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let ev = KnownEvent::new(event("evt_1", serde_json::json!({"lotNo": "L-1"})));
        let mut req = render(&sub, &ev, 3, now, "Hookline/test").expect("render");
        assert!(
            req.headers.get("webhook-signature").is_none(),
            "not signed yet"
        );
        sign(&mut req, &sub, &ev.id, now).expect("sign");
        assert_eq!(
            req.body,
            ev.envelope_bytes(),
            "the body is the event's envelope"
        );
        let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
        assert_eq!(h("content-type"), Some("application/json"));
        assert_eq!(h("user-agent"), Some("Hookline/test"));
        assert_eq!(h("webhook-id"), Some("evt_1"));
        assert_eq!(h("webhook-timestamp"), Some("1700000000"));
        assert_eq!(h("hookline-event-type"), Some("LotDispatched"));
        assert_eq!(h("hookline-state"), Some("AP"));
        assert_eq!(h("hookline-attempt"), Some("3"));
        assert_eq!(h("hookline-subscription-id"), Some("sub_1"));
        assert_eq!(h("x-portal-key"), Some("k1"));
        let secrets = sub.signing_secrets(now);
        let expected = signature::sign(&secrets, "evt_1", 1_700_000_000, &req.body).expect("sign");
        assert_eq!(h("webhook-signature"), Some(expected.as_str()));
    }

    #[test]
    fn the_body_is_in_the_subscriptions_format_signed_as_sent_with_its_credential() {
        use hookline_domain::subscription::{OutboundAuth, PayloadFormat};
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let ev = KnownEvent::new(event("evt_1", serde_json::json!({"lotNo": "L-1"})));
        let mut sub = subscription();
        sub.format = PayloadFormat::Cloudevents;
        sub.auth = Some(OutboundAuth::Bearer {
            token: "tok-1234".into(),
        });
        let mut req = render(&sub, &ev, 1, now, "Hookline/test").expect("render");
        sign(&mut req, &sub, &ev.id, now).expect("sign");
        let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
        assert_eq!(h("content-type"), Some("application/cloudevents+json"));
        assert_eq!(h("authorization"), Some("Bearer tok-1234"));
        let body: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON");
        assert_eq!(body["specversion"], "1.0");
        let expected =
            signature::sign(&sub.signing_secrets(now), "evt_1", 1_700_000_000, &req.body)
                .expect("sign");
        assert_eq!(
            h("webhook-signature"),
            Some(expected.as_str()),
            "over the body sent"
        );

        sub.format = PayloadFormat::Template;
        sub.template = Some("{% if data.lotNo %}{{ data.lotNo|safe }}{% endif %}".into());
        let err = render(&sub, &ev, 1, now, "Hookline/test")
            .err()
            .expect("not JSON");
        assert!(matches!(err, RequestError::Payload(_)), "{err:?}");
    }

    #[test]
    fn a_stored_header_that_cannot_be_sent_is_an_error() {
        let mut sub = subscription();
        sub.headers.insert("x-bad".into(), "a\u{1}b".into());
        let ev = KnownEvent::new(event("evt_1", serde_json::json!({"lotNo": "L-1"})));
        let err = render(&sub, &ev, 1, OffsetDateTime::UNIX_EPOCH, "Hookline/test")
            .err()
            .expect("an error");
        assert!(
            matches!(
                err,
                RequestError::HeaderValue {
                    what: "custom header",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the custom header is not a valid header value"
        );
        let mut sub = subscription();
        sub.headers.insert("x bad".into(), "v".into());
        let err = render(&sub, &ev, 1, OffsetDateTime::UNIX_EPOCH, "Hookline/test")
            .err()
            .expect("an error");
        assert!(matches!(err, RequestError::HeaderName(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "a custom header name of the subscription is not valid"
        );
    }

    #[test]
    fn a_stored_secret_that_cannot_sign_is_an_error() {
        let mut sub = subscription();
        let ev = KnownEvent::new(event("evt_1", serde_json::json!({"lotNo": "L-1"})));
        let mut req =
            render(&sub, &ev, 1, OffsetDateTime::UNIX_EPOCH, "Hookline/test").expect("render");
        sub.secrets[0].secret = "whsec_not*base64!".into();
        let err = sign(&mut req, &sub, &ev.id, OffsetDateTime::UNIX_EPOCH).expect_err("malformed");
        assert!(
            matches!(
                err,
                RequestError::Signature(SignatureError::MalformedSecret)
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "a stored webhook secret is malformed");
    }
}
