//! `/v1/events`: the ingest API. Authenticate, validate against the catalog, enforce the
//! caller's states, claim the idempotency key, persist, enqueue for fan-out.
//!
//! Crash safety: the event is stored (with an `enqueued` flag) before it is queued, and
//! acknowledged only after it is queued. If the process dies in between, the publisher gets
//! no 2xx and retries; the retry finds the stored, un-queued event and queues it then.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hookline_domain::event::{
    EventRules, MAX_BATCH, MAX_EVENT_BODY_BYTES, MAX_KEY_LEN, NewEvent, validate_event,
};
use hookline_domain::{EventId, FieldError, Scope, ValidationError};
use hookline_ports::{
    DeliveryFilter, DeliveryKey, EventInsert, QueueMessage, QueueName, QueueSender,
};
use serde_json::Value;

use crate::api::extract::{IdParam, IdPath, parse_json, read_body};
use crate::api::responses::{BadRequest, Forbidden, NotFound, PayloadTooLarge, Unprocessable};
use crate::api::schemas::{PublishRequest, PublishedOrBatch};
use crate::api::views::{DeliveryCounts, EventView, PublishedBatchView, PublishedView};
use crate::auth::Caller;
use crate::catalog::CatalogEntry;
use crate::context::{AppContext, Core};
use crate::messages::{EventMessage, to_body};
use crate::problem::{ApiError, ApiResult};
use crate::recent::{KnownEvent, RecentEvents};

/// Publishes one event, or a batch of up to 100 (`{"events": [...]}`).
#[utoipa::path(post, path = "/v1/events", operation_id = "publish_events", tag = "events", request_body = PublishRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200,
        description = "Single events only: a second request with the same key is a duplicate.")),
    responses((status = 202, description = "Accepted: the event, or each event of the batch.", body = PublishedOrBatch),
        (status = 200, description = "A duplicate of an earlier event (same `id` or `Idempotency-Key`).", body = PublishedView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["events:write"])))]
pub async fn publish(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<Response> {
    caller.require(Scope::EventsWrite)?;
    let bytes = read_body(req, MAX_EVENT_BODY_BYTES).await?;
    let body: Value = parse_json(&bytes)?;
    let header_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= MAX_KEY_LEN => Some(s.to_string()),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Idempotency-Key: 1-{MAX_KEY_LEN} visible characters"
                )));
            }
        },
    };
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let now = ctx.clock.now();
    if let Some(items) = body.get("events") {
        if body.as_object().is_some_and(|o| o.len() > 1) {
            return Err(ApiError::bad_request(
                "a batch body has only the 'events' field",
            ));
        }
        if header_key.is_some() {
            return Err(ApiError::bad_request(
                "Idempotency-Key applies to single events; give each batch item an 'id'",
            ));
        }
        let Some(items) = items
            .as_array()
            .filter(|a| !a.is_empty() && a.len() <= MAX_BATCH)
        else {
            return Err(ApiError::bad_request(format!(
                "events: an array of 1-{MAX_BATCH} events"
            )));
        };
        // One request was counted on the way in; a batch costs one per event.
        caller.charge(&ctx, u32::try_from(items.len() - 1).unwrap_or(u32::MAX))?;
        let mut valid = Vec::with_capacity(items.len());
        let mut errors: Vec<ValidationError> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let checked = published_type(item)
                .and_then(|()| validate(&ctx.config.states, &caller, &catalog, item, None, now));
            match checked {
                Ok(inc) => valid.push(inc),
                Err(e) => errors.push(e.prefixed(&format!("events[{i}]."))),
            }
        }
        if let Some(first) = errors.first() {
            let all: Vec<FieldError> = errors.iter().flat_map(|e| e.errors.clone()).collect();
            let mut err: ApiError = first.clone().into();
            err.detail = format!(
                "{} of {} events are invalid; nothing was accepted",
                errors.len(),
                items.len()
            );
            err.errors = all;
            return Err(err);
        }
        let outcomes = accept(&ctx, ctx.queue.as_ref(), &ctx.events, valid).await?;
        let data = outcomes
            .into_iter()
            .map(|(id, dup)| PublishedView::new(id, dup))
            .collect();
        return Ok((StatusCode::ACCEPTED, Json(PublishedBatchView { data })).into_response());
    }
    let inc = published_type(&body)
        .and_then(|()| {
            validate(
                &ctx.config.states,
                &caller,
                &catalog,
                &body,
                header_key,
                now,
            )
        })
        .map_err(ApiError::from)?;
    let outcomes = accept(&ctx, ctx.queue.as_ref(), &ctx.events, vec![inc]).await?;
    let (id, dup) = outcomes
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::bad_request("no event"))?;
    let status = if dup {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(PublishedView::new(id, dup))).into_response())
}

/// Refuses a type that only Hookline's own routes publish (the manufacturer registry's, the
/// sync requests'): a client may not publish it through `POST /v1/events`.
fn published_type(v: &Value) -> Result<(), ValidationError> {
    let Some(t) = v.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let owner = match t {
        _ if hookline_domain::manufacturer::is_registry_event(t) => {
            "the manufacturer registry only (/v1/manufacturers)"
        }
        _ if hookline_domain::sync::is_sync_event(t) => {
            "the sync routes only (/v1/resources/{id}/sync, /v1/sync-requests/{id}/...)"
        }
        _ => return Ok(()),
    };
    Err(ValidationError::with_code(
        "forbidden",
        "type",
        format!("'{t}' is published by {owner}"),
    ))
}

/// Validates one event object against the catalog, the caller's states and the stack's (the
/// types only Hookline's routes publish included: `publish` refuses those first).
pub(crate) fn validate(
    stack_states: &[String],
    caller: &Caller,
    catalog: &HashMap<String, CatalogEntry>,
    v: &Value,
    header_key: Option<String>,
    now: time::OffsetDateTime,
) -> Result<NewEvent, ValidationError> {
    let schema_of = |name: &str| catalog.get(name).map(|entry| entry.validator.as_ref());
    let rules = EventRules {
        publisher: &caller.client.id,
        may_publish: &|state| caller.allows_state(state),
        stack_states,
        schema_of: &schema_of,
    };
    validate_event(v, header_key, &rules, now)
}

/// Stores and queues events; returns (event id, was a duplicate) per input, in order. System
/// events (`hookline.subscription.disabled`) are accepted here too (by the delivery worker,
/// whose context has the same `queue` and `events` as the API's).
pub(crate) async fn accept(
    ctx: &Core,
    queue: &dyn QueueSender,
    events: &RecentEvents,
    items: Vec<NewEvent>,
) -> ApiResult<Vec<(EventId, bool)>> {
    let mut out = Vec::with_capacity(items.len());
    let mut to_queue = Vec::new();
    for inc in items {
        match ctx
            .store
            .insert_event(&inc.event, inc.key.as_deref())
            .await?
        {
            EventInsert::Created => {
                // Counted once stored: a publisher's retry finds it and is a duplicate.
                ctx.metrics
                    .events_accepted(&inc.event.state, &inc.event.event_type, 1);
                to_queue.push(inc.event.id.clone());
                out.push((inc.event.id.clone(), false));
                events.remember(std::sync::Arc::new(KnownEvent::new(inc.event)));
            }
            EventInsert::Existing { event_id, enqueued } => {
                if !enqueued && !to_queue.contains(&event_id) {
                    to_queue.push(event_id.clone());
                }
                out.push((event_id, true));
            }
        }
    }
    if !to_queue.is_empty() {
        let msgs = to_queue
            .iter()
            .map(|id| {
                QueueMessage::now(to_body(&EventMessage {
                    event_id: id.clone(),
                    after: None,
                }))
            })
            .collect();
        queue.send(QueueName::Events, msgs).await?;
        for id in &to_queue {
            ctx.store.mark_event_enqueued(id).await?;
        }
    }
    tracing::debug!(
        accepted = out.len(),
        queued = to_queue.len(),
        "events accepted"
    );
    Ok(out)
}

/// Whether the caller may read `event`: its publisher, its recipient, an admin, or a reader
/// (`events:read`) of its state. A system event about one client's resources is that
/// client's alone.
pub(crate) fn readable(caller: &Caller, event: &hookline_domain::Event) -> bool {
    caller.is_admin()
        || event.source == caller.client.id.as_str()
        || match &event.recipient {
            Some(recipient) => *recipient == caller.client.id,
            None => caller.require(Scope::EventsRead).is_ok() && caller.allows_state(&event.state),
        }
}

/// Gets an event with its delivery counts (its publisher, or `events:read` for its state).
#[utoipa::path(get, path = "/v1/events/{id}", operation_id = "get_event", tag = "events", params(IdParam<EventId>),
    responses((status = 200, description = "The event with its delivery counts.", body = EventView),
        (status = 404, response = NotFound)),
    security(("bearer" = ["events:read"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<EventId>,
) -> ApiResult<Json<EventView>> {
    let event = ctx
        .store
        .get_event(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    if !readable(&caller, &event) {
        return Err(ApiError::not_found("event"));
    }
    let mut counts = DeliveryCounts::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = ctx
            .store
            .list_deliveries(
                &DeliveryKey::Event(event.id.clone()),
                &DeliveryFilter::default(),
                cursor.as_deref(),
                100,
            )
            .await?;
        for d in &page.items {
            match d.status {
                hookline_domain::DeliveryStatus::Succeeded => counts.succeeded += 1,
                hookline_domain::DeliveryStatus::Failed => counts.failed += 1,
                _ => counts.pending += 1,
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(Json(EventView::of(&event, Some(counts))))
}
