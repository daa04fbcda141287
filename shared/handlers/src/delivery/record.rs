//! Decide and record: what an attempt's outcome means for its delivery (done, retry in a
//! while, or give up), told to the metrics, the log and the subscription's health, then
//! written over the version this worker owns. Also the end of a delivery that can no longer be
//! attempted at all.

use hookline_domain::{Delivery, DeliveryStatus, ids};

use crate::context::WorkerContext;
use crate::delivery::admission::Admitted;
use crate::delivery::context::DeliveryContext;
use crate::delivery::disposition::{DeliveryError, Disposition, dead_letter};
use crate::delivery::health;
use crate::delivery::outcome::{Outcome, decide};
use crate::delivery::send::Sent;
use crate::messages::{DeliveryMessage, to_body};
use crate::metrics::AttemptOutcome;

/// Decide: the outcome of the attempt just entered on the delivery.
pub(crate) fn outcome_of(ctx: &WorkerContext, attempt: &Admitted, sent: &Sent) -> Outcome {
    let sub = &attempt.entry.sub;
    // The subscription's own schedule, else the stack's.
    let own = sub.retry.as_ref().map(|policy| policy.schedule());
    decide(
        &sent.result,
        attempt.delivery.attempts_in_cycle(),
        sub.max_attempts,
        own.as_ref().unwrap_or(&ctx.config.retry_schedule),
        attempt.now.unix_timestamp(),
        ids::random_unit(),
    )
}

/// Tells what an attempt came to: the metrics, the log, and the subscription's health.
pub(crate) async fn report(
    ctx: &DeliveryContext,
    attempt: &Admitted,
    sent: &Sent,
    outcome: &Outcome,
) {
    let (sub, event, result) = (&attempt.entry.sub, &attempt.event, &sent.result);
    ctx.metrics.attempt(
        &event.state,
        &event.event_type,
        AttemptOutcome::from(outcome),
        sent.sent.then_some(result.duration_ms),
    );
    // Every attempt is recorded on its delivery (and listed by the API); the log adds the
    // ones an operator must notice. A success per delivery would be most of the log, and
    // writing it a measurable share of the runner's CPU at thousands per second.
    macro_rules! attempt_log {
        ($level:ident) => {
            tracing::$level!(
                delivery_id = %attempt.delivery.id,
                subscription_id = %sub.id,
                event_id = %event.id,
                attempt = sent.attempt_no,
                status = ?result.status,
                error = ?result.error,
                duration_ms = result.duration_ms,
                outcome = ?outcome,
                "delivery attempt"
            )
        };
    }
    if *outcome == Outcome::Succeeded {
        attempt_log!(debug);
    } else {
        attempt_log!(info);
    }
    health::track(ctx, sub, outcome, sent.sent, attempt.now).await;
}

/// Record: writes the outcome on the delivery; the message's disposition follows from it.
pub(crate) async fn record(
    ctx: &DeliveryContext,
    mut delivery: Delivery,
    outcome: Outcome,
) -> Result<Disposition, DeliveryError> {
    let after = ctx.clock.now();
    delivery.updated_at = after;
    match outcome {
        Outcome::Succeeded => {
            delivery.status = DeliveryStatus::Succeeded;
            delivery.next_attempt_at = None;
            write_outcome(ctx, &delivery).await?;
            Ok(Disposition::Ack)
        }
        Outcome::Gone | Outcome::GiveUp => give_up(ctx, delivery).await,
        Outcome::Retry(delay) => {
            delivery.status = DeliveryStatus::Retrying;
            delivery.next_attempt_at = Some(after + delay);
            write_outcome(ctx, &delivery).await?;
            Ok(Disposition::RetryIn(delay))
        }
    }
}

/// Writes the outcome over the version this worker claimed.
async fn write_outcome(ctx: &DeliveryContext, delivery: &Delivery) -> Result<(), DeliveryError> {
    match ctx.store.update_delivery(delivery).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            // Only the lease holder writes a claimed delivery; this means the lease ran out
            // (an attempt slower than its timeout) and another worker took over.
            tracing::warn!(delivery_id = %delivery.id, "deliver: the delivery changed during the attempt; its outcome is not recorded");
            Ok(())
        }
        Err(e) => Err(DeliveryError::store("recording the outcome")(e)),
    }
}

/// Marks the delivery failed after its message went to the dead-letter queue (first, so that
/// a failed delivery always has its message there); then the source message is deleted. The
/// dead-lettered message asks for a new cycle of attempts, so moving it back to the
/// deliveries queue (a redrive) retries the delivery.
pub(crate) async fn give_up(
    ctx: &DeliveryContext,
    mut delivery: Delivery,
) -> Result<Disposition, DeliveryError> {
    let retry = DeliveryMessage::retry(&delivery);
    dead_letter(ctx, to_body(&retry)).await?;
    delivery.status = DeliveryStatus::Failed;
    delivery.next_attempt_at = None;
    write_outcome(ctx, &delivery).await?;
    Ok(Disposition::Ack)
}

/// Ends a delivery that can no longer be attempted (subscription gone or disabled, event no
/// longer stored, a request that can never be sent).
pub(crate) async fn abandon(
    ctx: &WorkerContext,
    mut delivery: Delivery,
    why: impl std::fmt::Display,
) -> Result<Disposition, DeliveryError> {
    tracing::info!(delivery_id = %delivery.id, reason = %why, "delivery abandoned");
    delivery.status = DeliveryStatus::Failed;
    delivery.next_attempt_at = None;
    delivery.updated_at = ctx.clock.now();
    match ctx.store.update_delivery(&delivery).await {
        Ok(true) => Ok(Disposition::Ack),
        // Changed meanwhile: look again later.
        Ok(false) => Err(DeliveryError::Changed),
        Err(e) => Err(DeliveryError::store("recording the failure")(e)),
    }
}
