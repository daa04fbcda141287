//! Sync requests: `POST /v1/resources/{resource_id}/sync` asks the resource's integration
//! to sync its external sources, `/v1/sync-requests/{id}` reads one, and the integration ends
//! it with `…/complete` or `…/fail`. Each step publishes its event (`SyncRequested`,
//! `SyncCompleted`, `SyncFailed`) through the ingest path, as `POST /v1/events` would: checked
//! against the catalog and the publisher's states, stored, then queued for fan-out.
//!
//! Who may do what: the resource's owner requests and reads; the integration its sources
//! name (the owner itself unless they name another client) reads and ends; an admin does
//! both. Anyone else gets the 404 of a request that does not exist; the owner ending a
//! request of another integration gets 403.
//!
//! Order: the request is stored before its event is published (a failure in between leaves
//! a `requested` request without its webhook, visible with its age, for the owner to ask
//! again); the ending is written (conditionally: one ending wins) before its event. An
//! ending whose event failed is published when its integration calls again: that call
//! still answers 409, and the event has the id and idempotency key the first one had, so no
//! subscriber gets it twice.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_domain::event::NewEvent;
use hookline_domain::sync::{
    SYNC_COMPLETED_TYPE, SYNC_FAILED_TYPE, SYNC_REQUESTED_TYPE, SyncTransition, validate_reason,
    validate_reference,
};
use hookline_domain::time_fmt::format;
use hookline_domain::{ClientId, Scope, SyncRequest, SyncRequestId, SyncStatus};
use hookline_ports::SyncEnd;
use serde_json::{Value, json};

use crate::api::events::{accept, validate};
use crate::api::extract::{IdParam, IdPath, JsonBody, OptionalJsonBody};
use crate::api::responses::{Conflict, Forbidden, InvalidField, NotFound};
use crate::api::sync_sources::{
    READ, ResourceParam, WRITE, invalid_field, resource_with, sources_of,
};
use crate::api::sync_views::{SyncFailure, SyncRequestInput, SyncRequestList, SyncRequestView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// The sync requests a resource's list shows: its newest.
pub(super) const LISTED_REQUESTS: usize = 100;

/// The event of one step of `req`, published by `caller`: validated as a published event
/// (the catalog's schema, the caller's states), with `key` as its idempotency key.
async fn step_event(
    ctx: &AppContext,
    caller: &Caller,
    event_type: &str,
    req: &SyncRequest,
    key: String,
    extra: Value,
) -> ApiResult<NewEvent> {
    let mut data = json!({
        "request_id": req.id,
        "resource_id": req.resource_id,
        "resource_code": req.resource_code,
        "references": req.references,
        "requested_by": req.owner,
        "requested_at": format(req.requested_at()),
    });
    if let (Some(d), Value::Object(extra)) = (data.as_object_mut(), extra) {
        d.extend(extra);
    }
    let body = json!({"type": event_type, "state": req.state, "id": key, "data": data});
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let now = ctx.clock.now();
    validate(&ctx.config.states, caller, &catalog, &body, None, now).map_err(ApiError::from)
}

/// Stores and queues an event, as the ingest API does.
async fn publish(ctx: &AppContext, event: NewEvent) -> ApiResult<()> {
    accept(ctx, ctx.queue.as_ref(), &ctx.events, vec![event]).await?;
    Ok(())
}

/// Requests a sync of the resource's external sources (all, or the one named).
#[utoipa::path(post, path = "/v1/resources/{resource_id}/sync", operation_id = "request_sync", tag = "sync",
    params(ResourceParam), request_body(content = Option<SyncRequestInput>, description = "Optional: `{\"reference\": …}` syncs that source only."),
    responses((status = 202, description = "Requested: `SyncRequested` is published.", body = SyncRequestView),
        (status = 400, description = "The body is not JSON of this shape, or the catalog lacks `SyncRequested` (`invalid_request`, `unknown_event_type`)."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 422, response = InvalidField)),
    security(("bearer" = ["sync:write"])))]
pub async fn request(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(resource_id): Path<String>,
    OptionalJsonBody(input): OptionalJsonBody<SyncRequestInput>,
) -> ApiResult<(StatusCode, Json<SyncRequestView>)> {
    let resource = resource_with(&caller, &WRITE, &resource_id)?;
    if let Some(r) = &input.reference {
        validate_reference("reference", r).map_err(invalid_field)?;
    }
    let mut sources = sources_of(&ctx, &resource).await?;
    if let Some(r) = &input.reference {
        sources.retain(|s| s.reference == *r);
    }
    let Some(first) = sources.first() else {
        return Err(ApiError::not_found("external source"));
    };
    let now = ctx.clock.now();
    let id = SyncRequestId::new(now.unix_timestamp_nanos() / 1_000_000);
    let mut req = SyncRequest {
        id: id.clone(),
        owner: resource.owner.clone(),
        resource_id: resource.resource_id.clone(),
        resource_code: first.resource_code.clone(),
        state: first.state.clone(),
        references: sources.iter().map(|s| s.reference.clone()).collect(),
        integration: first.integration.clone(),
        status: SyncStatus::Requested,
        history: Vec::new(),
    };
    let event = step_event(
        &ctx,
        &caller,
        SYNC_REQUESTED_TYPE,
        &req,
        id.to_string(),
        json!({}),
    )
    .await?;
    req.history.push(SyncTransition {
        status: SyncStatus::Requested,
        at: event.event.received_at,
        by: caller.client.id.clone(),
        reason: None,
        event_id: event.event.id.clone(),
    });
    ctx.store.insert_sync_request(&req).await?;
    publish(&ctx, event).await?;
    tracing::info!(sync_request_id = %id, "sync requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(SyncRequestView::of(&req, ctx.clock.now())),
    ))
}

/// Lists the newest 100 sync requests of one of the caller's resources.
#[utoipa::path(get, path = "/v1/resources/{resource_id}/sync-requests", operation_id = "list_sync_requests", tag = "sync",
    params(ResourceParam),
    responses((status = 200, description = "The resource's newest 100 sync requests, newest first.", body = SyncRequestList),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:read"]), ("bearer" = ["sync:write"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(resource_id): Path<String>,
) -> ApiResult<Json<SyncRequestList>> {
    let resource = resource_with(&caller, &READ, &resource_id)?;
    let requests = ctx
        .store
        .list_sync_requests(&resource, LISTED_REQUESTS)
        .await?;
    let now = ctx.clock.now();
    let data = requests
        .iter()
        .map(|r| SyncRequestView::of(r, now))
        .collect();
    Ok(Json(SyncRequestList { data }))
}

/// A sync request the caller may see: its owner's, its integration's, or any for an admin.
async fn visible(ctx: &AppContext, caller: &Caller, id: &SyncRequestId) -> ApiResult<SyncRequest> {
    match ctx.store.get_sync_request(id).await? {
        Some(r) if caller.owns(&r.owner) || caller.client.id == r.integration => Ok(r),
        _ => Err(ApiError::not_found("sync request")),
    }
}

/// Reads a sync request: its status, its age and every status change.
#[utoipa::path(get, path = "/v1/sync-requests/{id}", operation_id = "get_sync_request", tag = "sync",
    params(IdParam<SyncRequestId>),
    responses((status = 200, description = "The sync request.", body = SyncRequestView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:read"]), ("bearer" = ["sync:write"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SyncRequestId>,
) -> ApiResult<Json<SyncRequestView>> {
    caller.require_any(&READ)?;
    let req = visible(&ctx, &caller, &id).await?;
    Ok(Json(SyncRequestView::of(&req, ctx.clock.now())))
}

/// Completes a sync request (its integration only).
#[utoipa::path(post, path = "/v1/sync-requests/{id}/complete", operation_id = "complete_sync_request", tag = "sync",
    params(IdParam<SyncRequestId>),
    responses((status = 200, description = "Complete: `SyncCompleted` is published.", body = SyncRequestView),
        (status = 400, description = "The catalog lacks `SyncCompleted` (`unknown_event_type`)."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict)),
    security(("bearer" = ["sync:write"])))]
pub async fn complete(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SyncRequestId>,
) -> ApiResult<Json<SyncRequestView>> {
    end(&ctx, &caller, &id, SyncStatus::Complete, None).await
}

/// Fails a sync request with a reason (its integration only).
#[utoipa::path(post, path = "/v1/sync-requests/{id}/fail", operation_id = "fail_sync_request", tag = "sync",
    params(IdParam<SyncRequestId>), request_body = SyncFailure,
    responses((status = 200, description = "Failed: `SyncFailed` is published.", body = SyncRequestView),
        (status = 400, description = "The body is not JSON of this shape, or the catalog lacks `SyncFailed` (`invalid_request`, `unknown_event_type`)."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict), (status = 422, response = InvalidField)),
    security(("bearer" = ["sync:write"])))]
pub async fn fail(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SyncRequestId>,
    JsonBody(input): JsonBody<SyncFailure>,
) -> ApiResult<Json<SyncRequestView>> {
    validate_reason(&input.reason).map_err(invalid_field)?;
    end(&ctx, &caller, &id, SyncStatus::Failed, Some(input.reason)).await
}

/// The event type and the data an ending adds (to those of every step).
fn ending(status: SyncStatus, reason: Option<&str>, by: &ClientId) -> (&'static str, Value) {
    match status {
        SyncStatus::Failed => (
            SYNC_FAILED_TYPE,
            json!({"status": "failed", "reason": reason, "ended_by": by}),
        ),
        _ => (
            SYNC_COMPLETED_TYPE,
            json!({"status": "complete", "ended_by": by}),
        ),
    }
}

/// Ends a sync request as `status`: the integration's (or an admin's) call, once.
async fn end(
    ctx: &AppContext,
    caller: &Caller,
    id: &SyncRequestId,
    status: SyncStatus,
    reason: Option<String>,
) -> ApiResult<Json<SyncRequestView>> {
    caller.require(Scope::SyncWrite)?;
    let req = visible(ctx, caller, id).await?;
    if caller.client.id != req.integration && !caller.is_admin() {
        return Err(ApiError::forbidden(format!(
            "only the integration '{}' may end this sync request",
            req.integration
        )));
    }
    if req.status != SyncStatus::Requested {
        return Err(already_ended(ctx, caller, &req).await);
    }
    let (event_type, extra) = ending(status, reason.as_deref(), &caller.client.id);
    let key = format!("{id}.{}", status.as_str());
    let event = step_event(ctx, caller, event_type, &req, key, extra).await?;
    let ended = req.ended(
        status,
        reason,
        caller.client.id.clone(),
        event.event.received_at,
        event.event.id.clone(),
    );
    match ctx.store.end_sync_request(&ended).await? {
        SyncEnd::Ended => {
            publish(ctx, event).await?;
            tracing::info!(sync_request_id = %id, status = status.as_str(), "sync request ended");
            Ok(Json(SyncRequestView::of(&ended, ctx.clock.now())))
        }
        SyncEnd::AlreadyEnded => match ctx.store.get_sync_request(id).await? {
            Some(now) => Err(already_ended(ctx, caller, &now).await),
            None => Err(ApiError::not_found("sync request")),
        },
    }
}

/// The 409 of a request that has ended. When the caller ended it itself, its event is
/// published again first (same id, same idempotency key: a no-op if it went out), in case
/// the call that ended it failed before publishing.
async fn already_ended(ctx: &AppContext, caller: &Caller, req: &SyncRequest) -> ApiError {
    let status = req.status.as_str();
    if let Some(t) = req.end().filter(|t| t.by == caller.client.id) {
        let (event_type, extra) = ending(t.status, t.reason.as_deref(), &t.by);
        let key = format!("{}.{status}", req.id);
        if let Ok(mut event) = step_event(ctx, caller, event_type, req, key, extra).await {
            event.event.id = t.event_id.clone();
            event.event.received_at = t.at;
            if let Err(e) = publish(ctx, event).await {
                tracing::warn!(sync_request_id = %req.id, error = %e.detail, "sync ending's event not published again");
            }
        }
    }
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("the sync request is already {status}"),
    )
}
