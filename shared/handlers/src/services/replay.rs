//! Replay: the past events a subscription matches, delivered to it again. A finished delivery
//! begins a new cycle of attempts; an event the subscription never had a delivery for gets
//! one; a delivery still under way is left alone.

use hookline_domain::{Delivery, DeliveryId, DeliveryStatus, Filter, StatePattern, Subscription};
use hookline_ports::PortError;
use time::OffsetDateTime;

use crate::context::AppContext;
use crate::messages::DeliveryMessage;
use crate::queueing::enqueue_messages;

/// How far back a replay reaches: the stores keep events this long.
pub const REPLAY_RETENTION_DAYS: i64 = 30;

/// Which events a replay re-delivers.
#[derive(Debug, Clone, Copy)]
pub struct ReplayWindow {
    /// Accepted at or after this (clamped to the retention).
    pub since: OffsetDateTime,
    /// Accepted before this.
    pub until: OffsetDateTime,
    /// Only events whose delivery to the subscription failed.
    pub only_failed: bool,
    /// The most events one replay re-delivers (the caller's quota, at least 1).
    pub quota: u64,
}

/// What a replay queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Deliveries queued.
    pub count: u64,
    /// The quota stopped it: the window may hold more.
    pub limit_reached: bool,
}

/// One delivery of a replay.
enum Replay {
    /// A finished delivery, to be attempted again in a new cycle.
    Restart(Delivery),
    /// An event the subscription never had a delivery for.
    New(Delivery),
}

/// Re-delivers to `sub` the events accepted in `window` that it matches, page by page.
pub async fn replay(
    ctx: &AppContext,
    sub: &Subscription,
    window: ReplayWindow,
) -> Result<Replayed, PortError> {
    let now = ctx.clock.now();
    // Nothing older than the retention is stored; clamping also bounds the backend's work
    // (DynamoDB walks one partition per day of an all-states window).
    let since = window
        .since
        .max(now - time::Duration::days(REPLAY_RETENTION_DAYS));
    let filter = sub.filter.as_ref().and_then(|f| Filter::compile(f).ok());
    let every_state = StatePattern::Any;
    let states: Vec<Option<&StatePattern>> = if sub.states.contains(&every_state) {
        vec![None]
    } else {
        // System events addressed to the owner are stored under every-state (`*`).
        sub.states
            .iter()
            .map(Some)
            .chain([Some(&every_state)])
            .collect()
    };
    let mut count = 0u64;
    'states: for state in states {
        let mut cursor: Option<String> = None;
        loop {
            let page = ctx
                .store
                .list_events(state, since, window.until, cursor.as_deref(), 100)
                .await?;
            let mut replays = Vec::new();
            for event in &page.items {
                if event.event_type == hookline_domain::event::PING_TYPE
                    || !sub.matches(event, filter.as_ref(), &event.envelope_bytes())
                {
                    continue;
                }
                let did = DeliveryId::for_event(&event.id, &sub.id);
                let replay = match ctx.store.get_delivery(&did).await? {
                    Some(d) if !d.status.is_terminal() => continue,
                    Some(d) if window.only_failed && d.status != DeliveryStatus::Failed => {
                        continue;
                    }
                    // A record made before deliveries kept their type gets it now.
                    Some(mut d) => {
                        d.event_type.get_or_insert_with(|| event.event_type.clone());
                        Replay::Restart(d)
                    }
                    None if window.only_failed => continue,
                    None => Replay::New(
                        Delivery::new(did, &event.id, &sub.id, &sub.client_id, now)
                            .with_event_type(&event.event_type),
                    ),
                };
                replays.push(replay);
                count += 1;
                if count >= window.quota {
                    replay_page(ctx, replays, now).await?;
                    break 'states;
                }
            }
            replay_page(ctx, replays, now).await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    tracing::info!(subscription_id = %sub.id, count, "replay queued");
    Ok(Replayed {
        count,
        limit_reached: count >= window.quota,
    })
}

/// Queues one page of a replay, then writes its records. The messages go first and each
/// carries what its write does (a new cycle, or the new delivery whole), so that a write that
/// fails or never happens is done by the worker that receives the message; a send that fails
/// leaves the page unwritten and fails the call, which may be repeated.
async fn replay_page(
    ctx: &AppContext,
    replays: Vec<Replay>,
    now: OffsetDateTime,
) -> Result<(), PortError> {
    if replays.is_empty() {
        return Ok(());
    }
    let messages: Vec<DeliveryMessage> = replays
        .iter()
        .map(|r| match r {
            Replay::Restart(d) => DeliveryMessage::retry(d),
            Replay::New(d) => DeliveryMessage::created(d),
        })
        .collect();
    enqueue_messages(ctx.queue.as_ref(), &messages).await?;
    for replay in replays {
        let written = match replay {
            Replay::Restart(mut d) => {
                d.restart(now);
                // `false`: picked up meanwhile (by this replay's own message, perhaps).
                ctx.store.update_delivery(&d).await.map(|_| ())
            }
            Replay::New(d) => ctx.store.insert_delivery(&d).await.map(|_| ()),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "replay: a record was not written; its queued message writes it");
        }
    }
    Ok(())
}
