//! `/v1/subscriptions/{id}/messages`: a pull subscription's messages, fetched after a cursor
//! (waiting for one up to `wait` seconds) and acknowledged by moving the subscription's
//! cursor. Same scopes and ownership as reading the subscription; a push subscription has no
//! messages (409).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::subscription::DeliveryMode;
use hookline_domain::{PullCursor, PullMessage, Subscription, SubscriptionId, ValidationError};
use hookline_ports::{Ack, PullLog};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{IdParam, IdPath, JsonBody, QueryParams};
use crate::api::pull_views::{AckInput, AckView, PullMessageView, PullPageView};
use crate::api::responses::{BadRequest, Conflict, Forbidden, NotFound};
use crate::api::subscriptions::{READ, owned};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// Messages one fetch returns at most (and by default).
pub const MAX_FETCH: usize = 100;
/// The longest `wait`, in seconds.
pub const MAX_WAIT_SECS: u64 = 20;
/// Body bytes past which a fetch returns what it has (at least one message), so that a page
/// stays well inside a Lambda response.
pub const MAX_FETCH_BYTES: usize = 4 * 1024 * 1024;

/// `?after=&limit=&wait=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FetchParams {
    /// A cursor of this subscription's messages (a message's `cursor`, a `next_cursor` or the
    /// `acked_cursor`); absent: after the acknowledged cursor.
    #[param(max_length = 200)]
    pub after: Option<String>,
    /// Messages at most, 1–100 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Seconds to wait for a message when none is there yet, 0–20 (default 0).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 20)]
    pub wait: Option<String>,
}

impl FetchParams {
    fn number(
        &self,
        field: &str,
        text: Option<&str>,
        range: (u64, u64),
        or: u64,
    ) -> ApiResult<u64> {
        match text {
            None => Ok(or),
            Some(t) => match t.parse::<u64>() {
                Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
                _ => Err(ValidationError::invalid(
                    field,
                    format!("must be an integer between {} and {}", range.0, range.1),
                )
                .into()),
            },
        }
    }
}

/// The caller's pull subscription, or 404 (not the caller's) or 409 (a push subscription).
async fn pull_subscription(
    ctx: &AppContext,
    caller: &Caller,
    id: &SubscriptionId,
) -> ApiResult<Subscription> {
    caller.require_any(&READ)?;
    let sub = owned(ctx, caller, id).await?;
    if sub.mode != DeliveryMode::Pull {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is a push subscription: its deliveries are sent to its URL, not kept for fetching",
        ));
    }
    Ok(sub)
}

/// The position of a cursor of `sub` given as `field`, or 400 on the field.
fn position(sub: &Subscription, field: &str, text: &str) -> ApiResult<u64> {
    PullCursor::parse(text, &sub.id).ok_or_else(|| {
        ValidationError::invalid(field, "not a cursor of this subscription's messages").into()
    })
}

/// Fetches messages after a cursor, oldest first, each with the body and headers a push
/// receiver would get, signed now.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/messages", operation_id = "fetch_subscription_messages", tag = "subscriptions",
    params(IdParam<SubscriptionId>, FetchParams),
    responses((status = 200, description = "The messages after the cursor (none: `data` is empty once `wait` has passed).", body = PullPageView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn fetch(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
    QueryParams(q): QueryParams<FetchParams>,
) -> ApiResult<Json<PullPageView>> {
    let sub = pull_subscription(&ctx, &caller, &id).await?;
    let limit = q.number(
        "limit",
        q.limit.as_deref(),
        (1, MAX_FETCH as u64),
        MAX_FETCH as u64,
    )?;
    let wait = q.number("wait", q.wait.as_deref(), (0, MAX_WAIT_SECS), 0)?;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(text) => Some(position(&sub, "after", text)?),
        None => None,
    };
    let log: PullLog = ctx.store.pull_log(&sub.id).await?;
    let after = after.unwrap_or(log.acked);
    let deadline = Instant::now() + Duration::from_secs(wait);
    let messages = loop {
        let seen = ctx.store.pull_appends_seen();
        let now = ctx.clock.now();
        let found = ctx
            .store
            .list_pull_messages(&sub.id, after, limit as usize, now)
            .await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if !found.is_empty() || left.is_zero() {
            break found;
        }
        tokio::select! {
            () = ctx.store.await_pull_append(seen, left) => {}
            // Shutting down: answer with none rather than hold the shutdown.
            () = ctx.stopped_waiting() => break found,
        }
    };
    let next = messages.last().map_or(after, |m| m.position);
    Ok(Json(PullPageView {
        data: views(&ctx, &sub, &messages).await?,
        next_cursor: PullCursor::new(&sub.id, next).encode(),
        acked_cursor: (log.acked > 0).then(|| PullCursor::new(&sub.id, log.acked).encode()),
    }))
}

/// The views of `messages`, rendered and signed now, up to [`MAX_FETCH_BYTES`] of bodies. A
/// message whose event is no longer stored, or that the subscription's current template does
/// not render, is left out (and logged): it could never be shown.
async fn views(
    ctx: &AppContext,
    sub: &Subscription,
    messages: &[PullMessage],
) -> ApiResult<Vec<PullMessageView>> {
    let user_agent = format!("Hookline/{}", ctx.config.version);
    let now = ctx.clock.now();
    let mut out: Vec<PullMessageView> = Vec::with_capacity(messages.len());
    let mut bytes = 0;
    for m in messages {
        let Some(event) = ctx.events.get(ctx.store.as_ref(), &m.event_id).await? else {
            tracing::warn!(subscription_id = %sub.id, event_id = %m.event_id, "pull: the event of a message is no longer stored; left out");
            continue;
        };
        match PullMessageView::render(m, sub, &event, now, &user_agent) {
            Ok(view) => {
                bytes += view.body.len();
                out.push(view);
            }
            Err(e) => {
                tracing::warn!(subscription_id = %sub.id, event_id = %m.event_id, reason = %e, "pull: a message does not render; left out");
            }
        }
        if bytes >= MAX_FETCH_BYTES {
            break;
        }
    }
    Ok(out)
}

/// Acknowledges the messages up to a cursor: a fetch without `after` starts after it.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/messages/ack", operation_id = "ack_subscription_messages", tag = "subscriptions",
    params(IdParam<SubscriptionId>), request_body = AckInput,
    responses((status = 200, description = "The acknowledged cursor (an older cursor than it leaves it as it was).", body = AckView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn ack(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
    JsonBody(input): JsonBody<AckInput>,
) -> ApiResult<Json<AckView>> {
    let sub = pull_subscription(&ctx, &caller, &id).await?;
    let asked = position(&sub, "cursor", &input.cursor)?;
    match ctx.store.ack_pull_messages(&sub.id, asked).await? {
        Ack::At(p) => Ok(Json(AckView {
            acked_cursor: PullCursor::new(&sub.id, p).encode(),
        })),
        Ack::Beyond => Err(ValidationError::invalid(
            "cursor",
            "is beyond the last message stored for this subscription",
        )
        .into()),
    }
}
