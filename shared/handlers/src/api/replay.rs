//! `POST /v1/subscriptions/{id}/replay`: re-delivers the past events a subscription matches.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::{Delivery, DeliveryStatus, Scope, ValidationError, ids, time_fmt};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::api::extract::{IdParam, IdPath, OptionalJsonBody};
use crate::api::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable,
};
use crate::api::subscriptions::owned;
use crate::api::views::ReplayView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::messages::DeliveryMessage;
use crate::problem::{ApiError, ApiResult};
use crate::queueing::enqueue_messages;

/// Body of a replay request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Start of the window (RFC 3339; default 7 days ago; at most 30 days ago, the retention).
    pub since: Option<String>,
    /// End of the window (RFC 3339; default now).
    pub until: Option<String>,
    /// Only events whose delivery to this subscription failed.
    #[serde(default)]
    pub only_failed: bool,
}

/// One delivery of a replay.
enum Replay {
    /// A finished delivery, to be attempted again in a new cycle.
    Restart(Delivery),
    /// An event the subscription never had a delivery for.
    New(Delivery),
}

/// Queues one page of a replay, then writes its records. The messages go first and each
/// carries what its write does (a new cycle, or the new delivery whole), so that a write that
/// fails or never happens is done by the worker that receives the message; a send that fails
/// leaves the page unwritten and fails the call, which may be repeated.
async fn replay_page(ctx: &AppContext, replays: Vec<Replay>, now: OffsetDateTime) -> ApiResult<()> {
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
    enqueue_messages(ctx, &messages).await?;
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

/// How far back a replay reaches: the stores keep events this long.
const REPLAY_RETENTION_DAYS: i64 = 30;

/// Re-delivers the events accepted in the window that match this subscription.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/replay", operation_id = "replay_subscription", tag = "subscriptions", params(IdParam),
    request_body(content = Option<ReplayRequest>, description = "Optional: an empty body replays the last 7 days."),
    responses((status = 202, description = "The deliveries queued.", body = ReplayView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn replay(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath,
    OptionalJsonBody(body): OptionalJsonBody<ReplayRequest>,
) -> ApiResult<(StatusCode, Json<ReplayView>)> {
    caller.require(Scope::SubscriptionsWrite)?;
    let sub = owned(&ctx, &caller, &id).await?;
    if !sub.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the subscription is disabled; enable it first",
        ));
    }
    let now = ctx.clock.now();
    let parse = |field: &str, v: &Option<String>, default| match v {
        None => Ok(default),
        Some(s) => time_fmt::parse(s).ok_or_else(|| {
            ApiError::from(ValidationError::invalid(
                field,
                "must be an RFC 3339 timestamp",
            ))
        }),
    };
    let since = parse("since", &body.since, now - time::Duration::days(7))?;
    let until = parse("until", &body.until, now)?;
    if since >= until {
        return Err(ValidationError::invalid("since", "must be before until").into());
    }
    // Nothing older than the retention is stored; clamping also bounds the backend's work
    // (DynamoDB walks one partition per day of an all-states window).
    let since = since.max(now - time::Duration::days(REPLAY_RETENTION_DAYS));
    let filter = sub
        .filter
        .as_ref()
        .and_then(|f| hookline_domain::Filter::compile(f).ok());
    let states: Vec<Option<&str>> = if sub.states.iter().any(|s| s == "*") {
        vec![None]
    } else {
        // System events addressed to the owner are stored under every-state (`*`).
        sub.states
            .iter()
            .map(|s| Some(s.as_str()))
            .chain([Some("*")])
            .collect()
    };
    // The caller's quota: the most events one call re-delivers.
    let quota = u64::from(ctx.limits_of(&caller.client).max_replay_events);
    if quota == 0 {
        return Err(ApiError::quota_exceeded(
            "this client may not replay events",
        ));
    }
    let mut count = 0u64;
    'states: for state in states {
        let mut cursor: Option<String> = None;
        loop {
            let page = ctx
                .store
                .list_events(state, since, until, cursor.as_deref(), 100)
                .await?;
            let mut replays = Vec::new();
            for event in &page.items {
                if event.event_type == hookline_domain::event::PING_TYPE
                    || !sub.matches(event, filter.as_ref(), &event.envelope_bytes())
                {
                    continue;
                }
                let did = ids::delivery_id(&event.id, &sub.id);
                let replay = match ctx.store.get_delivery(&did).await? {
                    Some(d) if !d.status.is_terminal() => continue,
                    Some(d) if body.only_failed && d.status != DeliveryStatus::Failed => continue,
                    Some(d) => Replay::Restart(d),
                    None if body.only_failed => continue,
                    None => {
                        Replay::New(Delivery::new(did, &event.id, &sub.id, &sub.client_id, now))
                    }
                };
                replays.push(replay);
                count += 1;
                if count >= quota {
                    replay_page(&ctx, replays, now).await?;
                    break 'states;
                }
            }
            replay_page(&ctx, replays, now).await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    tracing::info!(subscription_id = %sub.id, count, "replay queued");
    // At the quota, the window may hold more: the caller replays the rest with a later
    // `since` or a narrower window.
    Ok((
        StatusCode::ACCEPTED,
        Json(ReplayView {
            count,
            limit_reached: count >= quota,
        }),
    ))
}
