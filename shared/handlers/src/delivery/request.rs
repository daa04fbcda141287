//! Rendering and signing the webhook request of API.md.

use std::time::Duration;

use hookline_domain::{Event, Subscription, signature};

use crate::delivery::client::OutboundRequest;

/// Renders and signs the request for `attempt` of `event` to `sub`, at `now_unix`.
pub fn render<'a>(
    sub: &'a Subscription,
    event: &Event,
    attempt: u32,
    now: time::OffsetDateTime,
    user_agent: &str,
) -> Result<OutboundRequest<'a>, String> {
    let body = event.envelope_bytes();
    let ts = now.unix_timestamp();
    let secrets = sub.signing_secrets(now);
    let sig = signature::sign(&secrets, &event.id, ts, &body)?;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), user_agent.to_string()),
        ("webhook-id".to_string(), event.id.clone()),
        ("webhook-timestamp".to_string(), ts.to_string()),
        ("webhook-signature".to_string(), sig),
        ("hookline-event-type".to_string(), event.event_type.clone()),
        ("hookline-state".to_string(), event.state.clone()),
        ("hookline-attempt".to_string(), attempt.to_string()),
        ("hookline-subscription-id".to_string(), sub.id.clone()),
    ];
    for (k, v) in &sub.headers {
        headers.push((k.clone(), v.clone()));
    }
    Ok(OutboundRequest {
        url: &sub.url,
        headers,
        body,
        timeout: Duration::from_millis(sub.timeout_ms as u64),
    })
}
