//! `/v1/event-types`: the stack's event catalog.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_domain::catalog::{compile_schema, validate_type_name};
use hookline_domain::{EventType, Scope};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::extract::JsonBody;
use crate::api::views::{EventTypeView, ListView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::ApiResult;

/// Lists event types (any authenticated client).
#[utoipa::path(get, path = "/v1/event-types", tag = "event-types",
    responses((status = 200, description = "`{data: [EventType]}`")), security(("bearer" = [])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    _caller: Caller,
) -> ApiResult<Json<ListView<EventTypeView>>> {
    let mut types = ctx.store.list_event_types().await?;
    types.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(ListView {
        data: types.iter().map(EventTypeView::of).collect(),
        next_cursor: None,
    }))
}

/// Body of `PUT /v1/event-types/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeInput {
    /// What the event means.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the event's `data`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

/// Creates or replaces an event type (admin).
#[utoipa::path(put, path = "/v1/event-types/{name}", tag = "event-types", request_body = EventTypeInput,
    responses((status = 200, body = EventTypeView), (status = 201, body = EventTypeView), (status = 400)),
    security(("bearer" = ["admin"])))]
pub async fn put(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<EventTypeInput>,
) -> ApiResult<(StatusCode, Json<EventTypeView>)> {
    caller.require(Scope::Admin)?;
    validate_type_name(&name)?;
    if body.description.len() > 2000 {
        return Err(hookline_domain::ValidationError::invalid(
            "description",
            "at most 2000 characters",
        )
        .into());
    }
    if let Some(s) = &body.schema {
        compile_schema(s)?;
    }
    let existed = ctx
        .store
        .list_event_types()
        .await?
        .iter()
        .any(|t| t.name == name);
    let t = EventType {
        name,
        description: body.description,
        schema: body.schema,
    };
    ctx.store.put_event_type(&t).await?;
    ctx.catalog.reload(ctx.store.as_ref()).await?;
    tracing::info!(event_type = %t.name, by = %caller.client.id, "event type saved");
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(EventTypeView::of(&t))))
}
