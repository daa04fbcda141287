//! One delivery message, step by step: **load** the delivery → **admit** it → **claim** it →
//! **render** and **sign** its request → **send** it (or, for a pull subscription, **store** it
//! in its message log; for a workflow, **run** its steps instead of all of these: `action.rs`)
//! → **decide** the outcome → **record** it;
//! the handler then **acknowledges** the message as the steps' [`Disposition`] says.
//!
//! Each step is a function over named types ([`Admitted`], [`Claimed`], [`Sent`],
//! [`Outcome`](crate::delivery::outcome::Outcome)); any step before the send may end the
//! message's work early with a [`Halt`].

use hookline_domain::Delivery;
use hookline_domain::subscription::DeliveryMode;

use crate::delivery::action::{Steps, run_actions};
use crate::delivery::admission::{Admitted, Claimed, admit, claim};
use crate::delivery::client::OutboundRequest;
use crate::delivery::context::DeliveryContext;
use crate::delivery::disposition::{DeliveryError, Disposition, EARLY_TOLERANCE, Inbound};
use crate::delivery::outcome::Outcome;
use crate::delivery::pull::{pull_outcome, store_for_pull};
use crate::delivery::record::{abandon, give_up, outcome_of, record, report};
use crate::delivery::request::RequestError;
use crate::delivery::send::{Sent, prepare, send, unrenderable};
use crate::index::SubscriptionIndex;
use crate::messages::DeliveryMessage;

/// Receives of a message whose delivery cannot be found before it is dead-lettered.
const UNKNOWN_DELIVERY_RECEIVES: u32 = 5;

/// Where a worker's copy of a delivery came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The message that queued it new: the delivery as created, at version 0.
    Message,
    /// The store.
    Store,
}

/// Why an attempt ends before it sends anything.
pub(crate) enum Halt {
    /// Settled: the message's disposition is known (wait, acknowledge, dead-letter).
    Settle(Disposition),
    /// The copy the message carried is not the stored delivery (or would end it, which is
    /// decided on the stored copy only): read the store. Only a [`Source::Message`] copy is
    /// ever stale, and it is found out before anything is sent or written.
    Stale,
    /// A step failed: the message stays as it is.
    Failed(DeliveryError),
}

impl From<DeliveryError> for Halt {
    fn from(e: DeliveryError) -> Self {
        Halt::Failed(e)
    }
}

impl From<Result<Disposition, DeliveryError>> for Halt {
    fn from(settled: Result<Disposition, DeliveryError>) -> Self {
        match settled {
            Ok(disposition) => Halt::Settle(disposition),
            Err(e) => Halt::Failed(e),
        }
    }
}

impl Halt {
    /// The message's disposition, once no other copy is left to try.
    fn settled(self) -> Result<Disposition, DeliveryError> {
        match self {
            Halt::Settle(disposition) => Ok(disposition),
            Halt::Failed(e) => Err(e),
            // A stored copy is never stale: should one be, the message waits.
            Halt::Stale => Err(DeliveryError::Changed),
        }
    }
}

/// The steps of one parsed message, up to its disposition.
///
/// Several messages may name one delivery; only the worker that claims it sends, and nothing
/// is dropped while the delivery is unfinished (see [`claim`]).
pub(crate) async fn process(
    ctx: &DeliveryContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    msg: &DeliveryMessage,
) -> Result<Disposition, DeliveryError> {
    // A new delivery's message carries it: start from that copy, unless it proves stale.
    if msg.new_cycle.is_none()
        && let Some(created) = msg.created_delivery()
    {
        match attempt(ctx, index, inbound, created, Source::Message).await {
            Err(Halt::Stale) => {}
            done => return done.or_else(Halt::settled),
        }
    }
    from_store(ctx, index, inbound, msg)
        .await
        .or_else(Halt::settled)
}

/// The steps from the stored delivery.
async fn from_store(
    ctx: &DeliveryContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    msg: &DeliveryMessage,
) -> Result<Disposition, Halt> {
    let delivery = load(ctx, inbound, msg).await?;
    let delivery = begin_cycle(ctx, msg, delivery).await?;
    attempt(ctx, index, inbound, delivery, Source::Store).await
}

/// Load: the stored delivery. One sent before its record was written (the API sends first)
/// whose write did not happen, or has not yet, is written from the message, which is its
/// whole record (once: the insert is conditional).
async fn load(
    ctx: &DeliveryContext,
    inbound: &Inbound<'_>,
    msg: &DeliveryMessage,
) -> Result<Delivery, Halt> {
    let read = DeliveryError::store("reading the delivery");
    let mut stored = ctx
        .store
        .get_delivery(&msg.delivery_id)
        .await
        .map_err(read)?;
    if stored.is_none()
        && let Some(created) = msg.created_delivery()
    {
        ctx.store
            .insert_delivery(&created)
            .await
            .map_err(DeliveryError::store(
                "writing the delivery from its message",
            ))?;
        stored = ctx
            .store
            .get_delivery(&msg.delivery_id)
            .await
            .map_err(DeliveryError::store("reading the delivery"))?;
    }
    match stored {
        Some(delivery) => Ok(delivery),
        None => Err(Halt::Settle(unknown_delivery(inbound, msg))),
    }
}

/// A message whose delivery is not stored. The record is written before the message is sent,
/// so it is normally there; a store that has not caught up yet (or a record already expired)
/// must not cost the message, until it has come back a few times.
fn unknown_delivery(inbound: &Inbound<'_>, msg: &DeliveryMessage) -> Disposition {
    let receives = inbound.receive_count();
    if receives >= UNKNOWN_DELIVERY_RECEIVES {
        tracing::error!(delivery_id = %msg.delivery_id, receives, "deliver: no such delivery; dead-lettering the message");
        return Disposition::DeadLetter;
    }
    tracing::warn!(delivery_id = %msg.delivery_id, receives, "deliver: delivery not found yet; retrying the message");
    Disposition::RetryIn(EARLY_TOLERANCE)
}

/// Begins the cycle of attempts the message asks for, if it has not begun: the API may not
/// have written it, or the message comes back from the dead-letter queue.
async fn begin_cycle(
    ctx: &DeliveryContext,
    msg: &DeliveryMessage,
    mut delivery: Delivery,
) -> Result<Delivery, Halt> {
    if !msg.new_cycle.is_some_and(|n| delivery.awaits_cycle(n)) {
        return Ok(delivery);
    }
    delivery.restart(ctx.clock.now());
    match ctx.store.update_delivery(&delivery).await {
        Ok(true) => delivery.version += 1,
        // Changed meanwhile (the API's own write, most likely): look again shortly.
        Ok(false) => return Err(Halt::Settle(Disposition::RetryIn(EARLY_TOLERANCE))),
        Err(e) => return Err(DeliveryError::store("beginning a new cycle")(e).into()),
    }
    tracing::info!(delivery_id = %delivery.id, "deliver: a new cycle of attempts begins");
    Ok(delivery)
}

/// Admit → claim → render and sign → send (or store, or run the steps) → decide → record, for
/// one copy of the delivery.
async fn attempt(
    ctx: &DeliveryContext,
    index: &SubscriptionIndex,
    inbound: &Inbound<'_>,
    delivery: Delivery,
    source: Source,
) -> Result<Disposition, Halt> {
    let admitted: Admitted = admit(ctx, index, inbound, delivery, source).await?;
    let Claimed(attempt) = claim(ctx, admitted).await?;
    let mode = attempt.entry.sub.mode;
    let (attempt, sent, outcome) = match mode {
        DeliveryMode::Push => {
            let (mut attempt, request) = prepared(ctx, attempt).await?;
            let sent: Sent = send(ctx, &mut attempt, request).await;
            let outcome = outcome_of(ctx, &attempt, &sent);
            (attempt, sent, outcome)
        }
        // Rendered so that a template that fails on this event fails as for a push; the body
        // the client fetches is rendered again then, and signed.
        DeliveryMode::Pull => {
            let (mut attempt, _) = prepared(ctx, attempt).await?;
            let sent = store_for_pull(ctx, &mut attempt).await;
            let outcome = pull_outcome(ctx, &attempt, &sent);
            (attempt, sent, outcome)
        }
        // No webhook request: the steps' requests are the app's.
        DeliveryMode::Action => {
            let mut attempt = attempt;
            match run_actions(ctx, &mut attempt).await {
                Steps::Ran(sent, outcome) => (attempt, sent, outcome),
                // As an unrenderable template: on record as the attempt, and dead-lettered
                // at once (it would fail the same way every time).
                Steps::Permanent(sent) => {
                    tracing::info!(delivery_id = %attempt.delivery.id, reason = ?sent.result.error, "workflow step can never succeed; dead-lettered");
                    report(ctx, &attempt, &sent, &Outcome::GiveUp).await;
                    return Err(give_up(ctx, attempt.delivery).await.into());
                }
            }
        }
    };
    report(ctx, &attempt, &sent, &outcome).await;
    record(ctx, attempt.delivery, outcome)
        .await
        .map_err(Halt::Failed)
}

/// Render and sign the webhook request of a claimed attempt, or end the delivery that can
/// never have one.
async fn prepared(
    ctx: &DeliveryContext,
    mut attempt: Admitted,
) -> Result<(Admitted, OutboundRequest), Halt> {
    match prepare(ctx, &attempt) {
        Ok(request) => Ok((attempt, request)),
        // The template failed on this event: on record as the attempt's error, and
        // dead-lettered at once (it would fail the same way every time).
        Err(why @ RequestError::Payload(_)) => {
            tracing::info!(delivery_id = %attempt.delivery.id, reason = %why, "delivery not renderable; dead-lettered");
            unrenderable(&mut attempt, &why);
            Err(give_up(ctx, attempt.delivery).await.into())
        }
        Err(why) => Err(abandon(ctx, attempt.delivery, &why).await.into()),
    }
}
