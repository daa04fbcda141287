//! `POST /v1/subscriptions/{id}/replay`: re-delivers the past events a subscription matches.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::{Scope, SubscriptionId, ValidationError, time_fmt};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::extract::{IdParam, IdPath, OptionalJsonBody};
use crate::api::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable,
};
use crate::api::subscriptions::owned;
use crate::api::views::ReplayView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};
use crate::services::replay::{ReplayWindow, Replayed, replay as replay_events};

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

/// Re-delivers the events accepted in the window that match this subscription.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/replay", operation_id = "replay_subscription", tag = "subscriptions", params(IdParam<SubscriptionId>),
    request_body(content = Option<ReplayRequest>, description = "Optional: an empty body replays the last 7 days."),
    responses((status = 202, description = "The deliveries queued.", body = ReplayView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn replay(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
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
    // The caller's quota: the most events one call re-delivers.
    let quota = u64::from(ctx.limits_of(&caller.client).max_replay_events);
    if quota == 0 {
        return Err(ApiError::quota_exceeded(
            "this client may not replay events",
        ));
    }
    let window = ReplayWindow {
        since,
        until,
        only_failed: body.only_failed,
        quota,
    };
    let Replayed {
        count,
        limit_reached,
    } = replay_events(&ctx, &sub, window).await?;
    // At the quota, the window may hold more: the caller replays the rest with a later
    // `since` or a narrower window.
    Ok((
        StatusCode::ACCEPTED,
        Json(ReplayView {
            count,
            limit_reached,
        }),
    ))
}
