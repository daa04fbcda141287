//! Render, sign and send: the request of a claimed attempt goes out (or, without a slot, is
//! recorded as failed unsent), and the attempt is entered on the worker's copy of its delivery.

use hookline_domain::Attempt;

use crate::delivery::admission::Admitted;
use crate::delivery::client::{OutboundRequest, SendResult};
use crate::delivery::context::DeliveryContext;
use crate::delivery::request::{RequestError, render, sign};

/// What the send step did.
pub(crate) struct Sent {
    /// The attempt's number (1-based, over the delivery's life).
    pub(crate) attempt_no: u32,
    /// The response, or why there was none.
    pub(crate) result: SendResult,
    /// Whether the request went out (`false`: the endpoint was busy).
    pub(crate) sent: bool,
}

/// Render and sign: the webhook request of this attempt, or why it can never be sent.
pub(crate) fn prepare(
    ctx: &DeliveryContext,
    attempt: &Admitted,
) -> Result<OutboundRequest, RequestError> {
    let (sub, event) = (&attempt.entry.sub, &attempt.event);
    let attempt_no = attempt.delivery.next_attempt_number();
    let mut request = render(sub, event, attempt_no, attempt.now, ctx.http.user_agent())?;
    sign(&mut request, sub, &event.id, attempt.now)?;
    Ok(request)
}

/// Records an attempt whose request could not be rendered (its template failed for this
/// event): nothing was sent, and nothing about the next attempt would differ.
pub(crate) fn unrenderable(attempt: &mut Admitted, why: &RequestError) {
    let attempt_no = attempt.delivery.next_attempt_number();
    attempt.delivery.record_attempt(Attempt {
        attempt: attempt_no,
        at: attempt.now,
        status_code: None,
        duration_ms: 0,
        error: Some(why.to_string()),
        response_excerpt: String::new(),
        request_excerpt: String::new(),
    });
}

/// Send: the request goes to the subscription's URL if the attempt holds a slot (which it
/// frees with what the answer says of the endpoint); the attempt is entered on the delivery.
pub(crate) async fn send(
    ctx: &DeliveryContext,
    attempt: &mut Admitted,
    request: OutboundRequest,
) -> Sent {
    let attempt_no = attempt.delivery.next_attempt_number();
    let sent = attempt.slot.is_some();
    let result = match attempt.slot.take() {
        Some(slot) => {
            let target = attempt
                .entry
                .target
                .get_or_init(|| ctx.http.target(&attempt.entry.sub.url));
            let result = ctx.http.send(target, request).await;
            slot.finish(result.status.is_some_and(|s| s < 500 && s != 429));
            result
        }
        None => SendResult::not_sent(format!(
            "not sent: {} requests to this endpoint are already in flight",
            ctx.config.endpoint_concurrency
        )),
    };
    let mut result = result;
    if let Some(auth) = &attempt.entry.sub.auth {
        // A receiver that echoes what it was sent must not put the credential on record.
        result.excerpt = auth.redact(&result.excerpt);
        result.error = result.error.map(|e| auth.redact(&e));
    }
    enter(attempt, attempt_no, result, String::new(), sent)
}

/// Enters attempt `attempt_no` on the delivery as `result` says (with `request_excerpt`, what
/// the attempt keeps of its request: nothing for a webhook, whose request is the event's).
pub(crate) fn enter(
    attempt: &mut Admitted,
    attempt_no: u32,
    result: SendResult,
    request_excerpt: String,
    sent: bool,
) -> Sent {
    attempt.delivery.record_attempt(Attempt {
        attempt: attempt_no,
        at: attempt.now,
        status_code: result.status,
        duration_ms: result.duration_ms,
        error: result.error.clone(),
        response_excerpt: result.excerpt.clone(),
        request_excerpt,
    });
    Sent {
        attempt_no,
        result,
        sent,
    }
}
