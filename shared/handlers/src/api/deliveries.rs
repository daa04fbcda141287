//! `/v1/deliveries`: what happened to each delivery, attempt by attempt, and manual retry.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::{
    Delivery, DeliveryId, DeliveryStatus, EventId, Scope, SubscriptionId, ValidationError,
};
use hookline_ports::{DeliveryFilter, DeliveryKey};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::event_deliveries;
use crate::api::extract::{IdParam, IdPath, PageParams, QueryParams, id_param};
use crate::api::filters::{event_type_param, time_param};
use crate::api::responses::{Conflict, Forbidden, NotFound};
use crate::api::subscriptions::{READ, owned};
use crate::api::views::{DeliveryView, ListView, RetryView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::messages::DeliveryMessage;
use crate::problem::{ApiError, ApiResult};
use crate::queueing::enqueue_messages;

/// Filters of `GET /v1/deliveries`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// One subscription's deliveries (an id of another shape is a 400).
    #[param(pattern = "^sub_[0-9a-hjkmnp-tv-z]{26}$")]
    pub subscription_id: Option<String>,
    /// One event's deliveries (an id of another shape is a 400).
    #[param(pattern = "^evt_[0-9a-hjkmnp-tv-z]{26}$")]
    pub event_id: Option<String>,
    /// Only this status: `pending`, `succeeded`, `retrying` or `failed` (empty: any).
    #[param(pattern = "^(pending|succeeded|retrying|failed)?$")]
    pub status: Option<String>,
    /// Only deliveries of events of this type (deliveries made before the type was kept with
    /// them match no type).
    #[param(pattern = r"^[A-Za-z0-9._\-]{0,100}$")]
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Only deliveries created before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`; empty is the first page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// Lists deliveries of the caller's subscriptions, newest first.
#[utoipa::path(get, path = "/v1/deliveries", operation_id = "list_deliveries", tag = "deliveries", params(ListParams),
    responses((status = 200, description = "A page of deliveries, newest first.", body = ListView<DeliveryView>),
        (status = 400, response = crate::api::responses::BadRequest),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(q): QueryParams<ListParams>,
) -> ApiResult<Json<ListView<DeliveryView>>> {
    caller.require_any(&READ)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::from(ValidationError::invalid(
                "status",
                "one of pending, succeeded, retrying, failed",
            ))
        })?),
    };
    let filter = DeliveryFilter {
        status,
        event_type: event_type_param("event_type", q.event_type.as_deref())?,
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
    };
    let page = PageParams {
        cursor: q.cursor,
        limit: q.limit,
    };
    let limit = page.limit()?;
    let sub = q
        .subscription_id
        .as_deref()
        .map(|id| id_param::<SubscriptionId>("subscription_id", id))
        .transpose()?;
    let event = q
        .event_id
        .as_deref()
        .map(|id| id_param::<EventId>("event_id", id))
        .transpose()?;
    if let Some(sub) = &sub {
        owned(&ctx, &caller, sub).await?;
    }
    let p = match (sub, event) {
        // The event's list holds every client's deliveries: paged here, the caller's only.
        (sub, Some(event)) => {
            let visible = |d: &Delivery| {
                caller.owns(&d.client_id) && sub.as_ref().is_none_or(|s| d.subscription_id == *s)
            };
            let cursor = page.cursor();
            event_deliveries::page(ctx.store.as_ref(), &event, &filter, cursor, limit, visible)
                .await?
        }
        (sub, None) => {
            ctx.store
                .list_deliveries(&visible_key(&caller, sub), &filter, page.cursor(), limit)
                .await?
        }
    };
    // Every list above holds only what the caller may see; this guards the next one added.
    let data = p
        .items
        .iter()
        .filter(|d| caller.owns(&d.client_id))
        .map(DeliveryView::of)
        .collect();
    Ok(Json(ListView {
        data,
        next_cursor: p.next_cursor,
    }))
}

/// The list of deliveries a caller reads: one subscription's (checked as the caller's), or
/// every delivery for an admin, or the caller's own.
pub(crate) fn visible_key(caller: &Caller, sub: Option<SubscriptionId>) -> DeliveryKey {
    match sub {
        Some(sub) => DeliveryKey::Subscription(sub),
        None if caller.is_admin() => DeliveryKey::All,
        None => DeliveryKey::Client(caller.client.id.clone()),
    }
}

/// Gets a delivery and its attempts.
#[utoipa::path(get, path = "/v1/deliveries/{id}", operation_id = "get_delivery", tag = "deliveries", params(IdParam<DeliveryId>),
    responses((status = 200, description = "The delivery with its attempts.", body = DeliveryView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<DeliveryId>,
) -> ApiResult<Json<DeliveryView>> {
    caller.require_any(&READ)?;
    match ctx.store.get_delivery(&id).await? {
        Some(d) if caller.owns(&d.client_id) => Ok(Json(DeliveryView::of(&d))),
        _ => Err(ApiError::not_found("delivery")),
    }
}

/// Re-enqueues a finished (succeeded or failed) delivery for an attempt now; a new cycle of
/// `max_attempts` begins.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", operation_id = "retry_delivery", tag = "deliveries", params(IdParam<DeliveryId>),
    responses((status = 202, description = "Queued for an attempt now.", body = RetryView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn retry(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<DeliveryId>,
) -> ApiResult<(StatusCode, Json<RetryView>)> {
    caller.require(Scope::SubscriptionsWrite)?;
    let mut d = match ctx.store.get_delivery(&id).await? {
        Some(d) if caller.owns(&d.client_id) => d,
        _ => return Err(ApiError::not_found("delivery")),
    };
    if !d.status.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the delivery is already scheduled; retry it once it has succeeded or failed",
        ));
    }
    match ctx.store.get_subscription(&d.subscription_id).await? {
        Some(s) if s.enabled => {}
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the subscription is disabled; enable it first",
            ));
        }
        None => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the subscription was deleted",
            ));
        }
    }
    // The message first, then the record: the message asks for this new cycle itself, so if
    // the write below fails (or a crash comes between), the worker that receives it begins
    // the cycle; if the send fails, nothing has changed and the caller may try again.
    enqueue_messages(ctx.queue.as_ref(), &[DeliveryMessage::retry(&d)]).await?;
    d.restart(ctx.clock.now());
    match ctx.store.update_delivery(&d).await {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, delivery_id = %d.id, "retry: the record was not updated; the queued message begins the cycle")
        }
    }
    tracing::info!(delivery_id = %d.id, "delivery retry queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(RetryView {
            id: d.id.into_string(),
            status: "pending".to_string(),
        }),
    ))
}
