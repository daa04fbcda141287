//! Store for pull: a pull subscription's attempt appends the delivery to the subscription's
//! message log instead of sending it (once per cycle of attempts: the store keys the append
//! by delivery and cycle, so a message received again appends nothing twice). Its body is
//! rendered and signed when the client fetches it (`api::pull`), as a push request is when
//! it is sent.

use std::time::Instant;

use hookline_domain::PullMessage;

use crate::delivery::admission::Admitted;
use crate::delivery::client::SendResult;
use crate::delivery::context::DeliveryContext;
use crate::delivery::outcome::Outcome;
use crate::delivery::record::outcome_of;
use crate::delivery::send::{Sent, enter};

/// The response excerpt of an attempt that stored its delivery for pulling.
pub const STORED_FOR_PULL: &str = "stored for pull delivery";

/// Appends the attempt's delivery to its subscription's log and enters the attempt on the
/// delivery: stored (no status code, no error), or failed unsent if the store failed (and
/// retried on the schedule, as a push that could not be sent is).
pub(crate) async fn store_for_pull(ctx: &DeliveryContext, attempt: &mut Admitted) -> Sent {
    let attempt_no = attempt.delivery.next_attempt_number();
    let started = Instant::now();
    let message = PullMessage {
        subscription_id: attempt.delivery.subscription_id.clone(),
        position: 0,
        delivery_id: attempt.delivery.id.clone(),
        cycle: attempt.delivery.cycle,
        event_id: attempt.delivery.event_id.clone(),
        event_type: attempt.event.event_type.clone(),
        attempt: attempt_no,
        stored_at: attempt.now,
        kept_until: attempt.now + ctx.config.pull_retention,
    };
    let appended = ctx.store.append_pull_message(&message).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let result = match appended {
        Ok(_) => SendResult {
            status: None,
            duration_ms,
            error: None,
            excerpt: STORED_FOR_PULL.to_string(),
            retry_after: None,
        },
        Err(e) => {
            tracing::warn!(delivery_id = %attempt.delivery.id, error = %e, "deliver: could not store a pull message");
            SendResult {
                duration_ms,
                ..SendResult::not_sent("not stored for pull delivery: the store failed".to_string())
            }
        }
    };
    if let Some(slot) = attempt.slot.take() {
        slot.finish(true);
    }
    let stored = result.error.is_none();
    enter(attempt, attempt_no, result, String::new(), stored)
}

/// Decide, for a pull attempt: stored is delivered; a failed store is decided as a failed
/// send is.
pub(crate) fn pull_outcome(ctx: &DeliveryContext, attempt: &Admitted, sent: &Sent) -> Outcome {
    if sent.result.error.is_none() {
        Outcome::Succeeded
    } else {
        outcome_of(ctx, attempt, sent)
    }
}
