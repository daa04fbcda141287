//! `/v1/events`: the ingest API. Authenticate, validate against the catalog, enforce the
//! caller's states, claim the idempotency key, persist, enqueue for fan-out.
//!
//! Crash safety: the event is stored (with an `enqueued` flag) before it is queued, and
//! acknowledged only after it is queued. If the process dies in between, the publisher gets
//! no 2xx and retries; the retry finds the stored, un-queued event and queues it then.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hookline_domain::event::{MAX_BATCH, MAX_EVENT_BODY_BYTES};
use hookline_domain::{Event, FieldError, Scope, ValidationError, catalog, ids, time_fmt};
use hookline_ports::{DeliveryKey, EventInsert, QueueMessage, QueueName};
use serde_json::Value;

use crate::api::extract::{IdParam, IdPath, parse_json, read_body};
use crate::api::responses::{BadRequest, Forbidden, NotFound, PayloadTooLarge, Unprocessable};
use crate::api::schemas::{PublishRequest, PublishedOrBatch};
use crate::api::views::{DeliveryCounts, EventView, PublishedBatchView, PublishedView};
use crate::auth::Caller;
use crate::catalog::CatalogEntry;
use crate::context::AppContext;
use crate::messages::{EventMessage, to_body};
use crate::problem::{ApiError, ApiResult};
use crate::recent::KnownEvent;

/// Longest publisher id / idempotency key.
const MAX_KEY_LEN: usize = 200;

/// A validated event waiting to be stored.
pub(crate) struct Incoming {
    /// The event, as it will be stored.
    pub(crate) event: Event,
    /// Its idempotency key, if any.
    pub(crate) key: Option<String>,
}

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
            match validate(&ctx.config.states, &caller, &catalog, item, None, now) {
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
        let outcomes = accept(&ctx, valid).await?;
        let data = outcomes
            .into_iter()
            .map(|(id, dup)| PublishedView::new(id, dup))
            .collect();
        return Ok((StatusCode::ACCEPTED, Json(PublishedBatchView { data })).into_response());
    }
    let inc = validate(
        &ctx.config.states,
        &caller,
        &catalog,
        &body,
        header_key,
        now,
    )
    .map_err(ApiError::from)?;
    let outcomes = accept(&ctx, vec![inc]).await?;
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

/// Validates one event object.
fn validate(
    stack_states: &[String],
    caller: &Caller,
    catalog: &std::collections::HashMap<String, CatalogEntry>,
    v: &Value,
    header_key: Option<String>,
    now: time::OffsetDateTime,
) -> Result<Incoming, ValidationError> {
    let Some(obj) = v.as_object() else {
        return Err(ValidationError::invalid("", "an event is a JSON object"));
    };
    for k in obj.keys() {
        if !matches!(k.as_str(), "type" | "state" | "id" | "occurred_at" | "data") {
            return Err(ValidationError::invalid(k.as_str(), "unknown field"));
        }
    }
    let text = |name: &str| -> Result<Option<&str>, ValidationError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ValidationError::invalid(name, "must be a string")),
        }
    };
    let event_type =
        text("type")?.ok_or_else(|| ValidationError::invalid("type", "is required"))?;
    let state = text("state")?.ok_or_else(|| ValidationError::invalid("state", "is required"))?;
    let data = match obj.get("data") {
        None | Some(Value::Null) => return Err(ValidationError::invalid("data", "is required")),
        Some(d) => d.clone(),
    };
    hookline_domain::client::validate_state_code("state", state)?;
    if state == "*" {
        return Err(ValidationError::invalid(
            "state",
            "an event belongs to one state",
        ));
    }
    let key = match (header_key, text("id")?) {
        (Some(h), _) => Some(h),
        (None, Some(id)) if !id.is_empty() && id.len() <= MAX_KEY_LEN => Some(id.to_string()),
        (None, Some(_)) => {
            return Err(ValidationError::invalid(
                "id",
                format!("1-{MAX_KEY_LEN} characters"),
            ));
        }
        (None, None) => None,
    };
    let occurred_at = match text("occurred_at")? {
        None => now,
        Some(s) => time_fmt::parse(s).ok_or_else(|| {
            ValidationError::invalid("occurred_at", "must be an RFC 3339 timestamp")
        })?,
    };
    let Some(entry) = catalog.get(event_type) else {
        return Err(ValidationError::with_code(
            "unknown_event_type",
            "type",
            format!("'{event_type}' is not in this stack's event catalog"),
        ));
    };
    if !caller.allows_state(state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!("this client may not publish for state '{state}'"),
        ));
    }
    if !stack_states.iter().any(|s| s == "*" || s == state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!(
                "this stack serves {}; '{state}' belongs to another stack",
                stack_states.join(",")
            ),
        ));
    }
    if let Some(validator) = &entry.validator {
        catalog::check_schema(validator, &data)?;
    }
    Ok(Incoming {
        event: Event {
            id: ids::new_id(ids::EVENT, now.unix_timestamp_nanos() / 1_000_000),
            event_type: event_type.to_string(),
            state: state.to_string(),
            occurred_at,
            received_at: now,
            source: caller.client.id.clone(),
            publisher_key: key.clone(),
            recipient: None,
            data,
        },
        key,
    })
}

/// Stores and queues events; returns (event id, was a duplicate) per input, in order. System
/// events (`hookline.subscription.disabled`) are accepted here too.
pub(crate) async fn accept(
    ctx: &AppContext,
    items: Vec<Incoming>,
) -> ApiResult<Vec<(String, bool)>> {
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
                ctx.events
                    .remember(std::sync::Arc::new(KnownEvent::new(inc.event)));
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
        ctx.queue.send(QueueName::Events, msgs).await?;
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

/// Gets an event with its delivery counts (its publisher, or `events:read` for its state).
#[utoipa::path(get, path = "/v1/events/{id}", operation_id = "get_event", tag = "events", params(IdParam),
    responses((status = 200, description = "The event with its delivery counts.", body = EventView),
        (status = 404, response = NotFound)),
    security(("bearer" = ["events:read"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath,
) -> ApiResult<Json<EventView>> {
    let event = ctx
        .store
        .get_event(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    // A system event about one client's resources is that client's alone.
    let readable = caller.is_admin()
        || event.source == caller.client.id
        || match &event.recipient {
            Some(recipient) => *recipient == caller.client.id,
            None => caller.require(Scope::EventsRead).is_ok() && caller.allows_state(&event.state),
        };
    if !readable {
        return Err(ApiError::not_found("event"));
    }
    let mut counts = DeliveryCounts::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = ctx
            .store
            .list_deliveries(
                &DeliveryKey::Event(event.id.clone()),
                None,
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
    Ok(Json(EventView::of(&event, counts)))
}
