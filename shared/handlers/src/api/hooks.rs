//! `POST /hooks/{hook_token}/{trigger}`: a third-party tool's webhook to one of a
//! connection's hook triggers, turned into a Hookline event of the trigger's type. No bearer
//! token: the URL's secret token names the connection, and the app's `verify` (an HMAC,
//! Standard Webhooks signatures, a shared token) proves the request is the tool's.
//!
//! The event goes through the catalog's validation and the same `accept` path as
//! `POST /v1/events`, published for the connection's state by its client, with the
//! idempotency key `hook:{connection}:{id}` (the body's id at the trigger's `id` pointer, or
//! the `webhook-id` header under Standard Webhooks): a tool's retry is published once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use hookline_domain::apps::{Connection, HookVerify, TriggerKind};
use hookline_domain::event::{EventRules, NewEvent, validate_event};
use hookline_domain::{Client, ValidationError};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::connection_writes::resolved;
use crate::api::events::accept;
use crate::api::extract::{parse_json, read_body};
use crate::api::responses::{BadRequest, NotFound, PayloadTooLarge, Unavailable, Unprocessable};
use crate::apps::poll::item_key;
use crate::catalog::CatalogEntry;
use crate::context::{AppContext, Core};
use crate::problem::{ApiError, ApiResult};

/// Largest body a hook accepts.
pub const MAX_HOOK_BODY: usize = 256 * 1024;

/// What a hook request became.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookAcceptedView {
    /// `evt_…` (the earlier event's, for a repeat).
    pub event_id: String,
    /// Whether the tool had sent this event before (same id): nothing new was published.
    pub duplicate: bool,
}

/// The `{hook_token}` and `{trigger}` of the hook route.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct HookParams {
    /// The connection's hook token (from its `hook_urls`). Any other text is a 404.
    #[param(pattern = r"^[A-Za-z0-9_-]{32}$")]
    hook_token: String,
    /// The key of a hook trigger of the connection's app version.
    #[param(max_length = 64)]
    trigger: String,
}

fn is_hook_token(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The event a trigger of `connection` publishes: `data` as an event of `event_type` for the
/// connection's state, from its client, validated against the catalog as `POST /v1/events`
/// validates one (the hook route and the poll scheduler).
pub(crate) fn trigger_event(
    ctx: &Core,
    catalog: &HashMap<String, CatalogEntry>,
    (connection, owner): (&Connection, &Client),
    event_type: &str,
    data: Value,
    key: Option<String>,
) -> Result<NewEvent, ValidationError> {
    let schema_of = |name: &str| catalog.get(name).map(|entry| entry.validator.as_ref());
    let is_admin = owner.has_scope(hookline_domain::Scope::Admin);
    let rules = EventRules {
        publisher: owner.id.as_str(),
        may_publish: &|state| is_admin || owner.allows_state(state),
        stack_states: &ctx.config.states,
        schema_of: &schema_of,
    };
    let event = json!({"type": event_type, "state": connection.state.as_str(), "data": data});
    validate_event(&event, key, &rules, ctx.clock.now())
}

/// Receives a tool's webhook for one of a connection's hook triggers.
#[utoipa::path(post, path = "/hooks/{hook_token}/{trigger}", operation_id = "receive_hook", tag = "hooks",
    params(HookParams), request_body(content = Object, description = "The tool's webhook body (JSON)."),
    responses((status = 202, description = "Published as an event (or a repeat of one).", body = HookAcceptedView),
        (status = 400, response = BadRequest),
        (status = 401, description = "The request does not verify as the tool's (`unauthorized`)."),
        (status = 403, description = "The connection's client may no longer publish for its state (`forbidden`)."),
        (status = 404, response = NotFound),
        (status = 409, description = "The connection (or its client) is disabled (`conflict`)."),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable)))]
pub async fn receive(
    State(ctx): State<Arc<AppContext>>,
    Path((token, trigger)): Path<(String, String)>,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<(StatusCode, Json<HookAcceptedView>)> {
    let query = req.uri().query().map(str::to_string);
    let body = read_body(req, MAX_HOOK_BODY).await?;
    let unknown = || ApiError::not_found("hook");
    if !is_hook_token(&token) {
        return Err(unknown());
    }
    let connection = ctx
        .store
        .connection_by_hook(&token)
        .await?
        .ok_or_else(unknown)?;
    let disabled = |what: &str| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("{what} is disabled: it accepts no hook"),
        )
    };
    if !connection.enabled {
        return Err(disabled("the connection"));
    }
    let owner = ctx
        .client(&connection.client_id)
        .await?
        .ok_or_else(unknown)?;
    if owner.disabled {
        return Err(disabled("the connection's client"));
    }
    let resolved = resolved(&ctx, connection, "hook").await?;
    let Some(spec) = resolved.app.definition.triggers.get(&trigger) else {
        return Err(unknown());
    };
    let TriggerKind::Hook { verify, id, data } = &spec.kind else {
        return Err(unknown());
    };
    if let Some(verify) = verify
        && ctx
            .engine
            .verify_hook(&resolved, verify, &headers, query.as_deref(), &body)
            .is_err()
    {
        tracing::info!(connection_id = %resolved.connection.id, trigger = %trigger, "hook refused: it does not verify");
        return Err(ApiError::unauthorized(
            "the request does not verify as the tool's",
        ));
    }
    let body: Value = parse_json(&body)?;
    let data = match data {
        None => body.clone(),
        Some(pointer) => body.pointer(pointer).cloned().ok_or_else(|| {
            crate::api::app_checks::field("data", &format!("the body has no value at '{pointer}'"))
        })?,
    };
    let tool_id = match (id, verify) {
        (Some(pointer), _) => Some(id_at(&body, pointer)?),
        (None, Some(HookVerify::StandardWebhooks { .. })) => headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(item_key),
        (None, _) => None,
    };
    let key = tool_id.map(|id| format!("hook:{}:{id}", resolved.connection.id));
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let event = trigger_event(
        &ctx,
        &catalog,
        (&resolved.connection, &owner),
        &spec.event_type,
        data,
        key,
    )
    .map_err(ApiError::from)?;
    let (event_id, duplicate) = accept(&ctx, ctx.queue.as_ref(), &ctx.events, vec![event])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::bad_request("no event"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(HookAcceptedView {
            event_id: event_id.into_string(),
            duplicate,
        }),
    ))
}

/// The tool's id of the event at `pointer` (a string or a number; a long one as its hash).
fn id_at(body: &Value, pointer: &str) -> ApiResult<String> {
    match body.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Ok(item_key(s)),
        Some(Value::Number(n)) => Ok(item_key(&n.to_string())),
        _ => Err(crate::api::app_checks::field(
            "id",
            &format!("the body has no id (a string or a number) at '{pointer}'"),
        )),
    }
}
