//! Endpoint health: what an attempt's outcome changes on its subscription. A 410 disables it
//! at once (reason `gone`). Otherwise the first failed attempt after a success starts its
//! failing period (`failing_since`), the next successful one ends it, and a failed attempt
//! `disable_after` or more into the period disables it (reason `failing`). The worker decides
//! on its snapshot of the subscription, so a steady endpoint costs no store access at all;
//! only a change is read, re-applied and written, conditionally on the version.
//!
//! A subscription the system disabled is announced to its owner as a
//! `hookline.subscription.disabled` event, which reaches the owner's other subscriptions
//! through the normal fan-out and delivery path (retries, attempt log, dead-letter queue).

use std::sync::Mutex;

use hookline_domain::event::NewEvent;
use hookline_domain::{
    DisabledReason, Event, EventId, FailureStep, StatePattern, Subscription, SubscriptionId,
    event::SUBSCRIPTION_DISABLED_TYPE, time_fmt,
};
use hookline_ports::PortError;
use serde_json::json;
use time::OffsetDateTime;

use crate::api::events::accept;
use crate::delivery::context::DeliveryContext;
use crate::delivery::outcome::Outcome;
use crate::subscription_writes::{Modified, modify_subscription};

/// Applies an attempt's outcome to its subscription's health. `sub` is the worker's snapshot;
/// `sent` is false for an attempt recorded failed unsent (the endpoint was busy). Store
/// failures are logged: they never fail the delivery, and the next attempt tries again.
pub(crate) async fn track(
    ctx: &DeliveryContext,
    sub: &Subscription,
    outcome: &Outcome,
    sent: bool,
    at: OffsetDateTime,
) {
    if matches!(outcome, Outcome::Gone) {
        return disable(ctx, &sub.id, DisabledReason::Gone, at).await;
    }
    // One write of the failing period per subscription at a time in this process: the
    // attempts of a burst all see the same snapshot, and each would read and write the same
    // change (on DynamoDB, all but one as cancelled transactions). The one under way makes
    // it; the others skip, and a later attempt finds what is left to do.
    let Some(_writing) = ctx.health_writes.begin(&sub.id) else {
        return;
    };
    match outcome {
        Outcome::Succeeded if sub.failing_since.is_some() => {
            let ended = modify_subscription::<PortError>(ctx.store.as_ref(), &sub.id, |s| {
                Ok(s.record_success())
            })
            .await;
            if let Err(e) = ended {
                tracing::warn!(error = %e, subscription_id = %sub.id, "deliver: could not end the failing period");
            }
        }
        Outcome::Retry(_) | Outcome::GiveUp if sent => failed(ctx, sub, at).await,
        _ => {}
    }
}

/// A failed attempt: starts the failing period, or disables a subscription failing for long.
async fn failed(ctx: &DeliveryContext, sub: &Subscription, at: OffsetDateTime) {
    let disable_after =
        time::Duration::try_from(ctx.config.disable_after).unwrap_or(time::Duration::MAX);
    if sub.failure_step(at, disable_after) == FailureStep::Unchanged {
        return;
    }
    let mut step = FailureStep::Unchanged;
    let written = modify_subscription::<PortError>(ctx.store.as_ref(), &sub.id, |s| {
        step = s.record_failure(at, disable_after);
        Ok(step != FailureStep::Unchanged)
    })
    .await;
    match written {
        Ok(Modified::Written(s)) if step == FailureStep::Disabled => {
            tracing::warn!(subscription_id = %s.id, failing_since = ?s.failing_since, "subscription disabled: every attempt failed for the stack's disable_after");
            notify_disabled(ctx, &s).await;
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, subscription_id = %sub.id, "deliver: could not record a failing endpoint");
        }
    }
}

/// Disables a subscription for `reason`, over whatever else changed it meanwhile.
async fn disable(
    ctx: &DeliveryContext,
    id: &SubscriptionId,
    reason: DisabledReason,
    at: OffsetDateTime,
) {
    let written =
        modify_subscription::<PortError>(ctx.store.as_ref(), id, |s| Ok(s.disable(reason, at)))
            .await;
    match written {
        Ok(Modified::Written(s)) => {
            tracing::info!(
                subscription_id = %id,
                reason = reason.as_str(),
                "subscription disabled"
            );
            notify_disabled(ctx, &s).await;
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, subscription_id = %id, "deliver: could not disable a subscription");
        }
    }
}

/// The `hookline.subscription.disabled` event of a subscription the system just disabled.
pub fn disabled_event(sub: &Subscription, now: OffsetDateTime) -> Event {
    let at = sub.disabled_at.unwrap_or(now);
    Event {
        id: EventId::new(now.unix_timestamp_nanos() / 1_000_000),
        event_type: SUBSCRIPTION_DISABLED_TYPE.to_string(),
        // Stored under every-state; delivered by recipient, not by state.
        state: StatePattern::Any,
        occurred_at: at,
        received_at: now,
        source: "hookline".to_string(),
        publisher_key: None,
        data: json!({
            "subscription_id": sub.id,
            "url": sub.url,
            "reason": sub.disabled_reason.map(DisabledReason::as_str),
            "failing_since": sub.failing_since.map(time_fmt::format),
            "disabled_at": time_fmt::format(at),
        }),
        recipient: Some(sub.client_id.clone()),
    }
}

/// Publishes the disabled event to the subscription's owner.
async fn notify_disabled(ctx: &DeliveryContext, sub: &Subscription) {
    let event = disabled_event(sub, ctx.clock.now());
    let incoming = NewEvent { event, key: None };
    if let Err(e) = accept(ctx, ctx.queue.as_ref(), &ctx.events, vec![incoming]).await {
        tracing::error!(error = ?e, subscription_id = %sub.id, "deliver: could not publish hookline.subscription.disabled");
    }
}

/// Keys with work under way in this process, so that a burst does one piece of work per key.
#[derive(Default)]
pub struct KeysInFlight(Mutex<std::collections::HashSet<String>>);

/// Holds a key of [`KeysInFlight`] until dropped.
pub struct KeyInFlight<'a> {
    keys: &'a KeysInFlight,
    key: String,
}

impl KeysInFlight {
    /// Takes `key`, unless work on it is already under way here.
    pub fn begin(&self, key: &str) -> Option<KeyInFlight<'_>> {
        let mut keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(key.to_string()).then(|| KeyInFlight {
            keys: self,
            key: key.to_string(),
        })
    }
}

impl Drop for KeyInFlight<'_> {
    fn drop(&mut self) {
        let mut keys = self.keys.0.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(&self.key);
    }
}
