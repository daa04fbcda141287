//! `/v1/event-types`: the stack's event catalog.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_domain::catalog::{check_example, compile_schema, validate_type_name};
use hookline_domain::{EventType, Scope};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::JsonBody;
use crate::api::responses::{BadRequest, Forbidden, PayloadTooLarge, Unprocessable};
use crate::api::views::{EventTypeView, ListView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::ApiResult;

/// Lists event types (any authenticated client).
#[utoipa::path(get, path = "/v1/event-types", operation_id = "list_event_types", tag = "event-types",
    responses((status = 200, description = "Every event type of the catalog, by name (`next_cursor` is always null).", body = ListView<EventTypeView>)),
    security(("bearer" = [])))]
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
    /// What the event means (at most 2000 bytes).
    #[schema(max_length = 2000)]
    #[serde(default)]
    pub description: String,
    /// JSON Schema (an object) of the event's `data`; `null` or absent accepts any `data`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// A `data` value of this type, shown to integrators; it must satisfy `schema`
    /// (422 `schema_mismatch`, the errors naming `example…`).
    #[serde(default)]
    #[schema(value_type = Option<Value>)]
    pub example: Option<Value>,
}

/// The `{name}` of `PUT /v1/event-types/{name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct NameParam {
    /// The event type's name.
    #[param(pattern = r"^[A-Za-z0-9._\-]{1,100}$")]
    name: String,
}

/// Creates or replaces an event type (admin).
#[utoipa::path(put, path = "/v1/event-types/{name}", operation_id = "put_event_type", tag = "event-types", params(NameParam), request_body = EventTypeInput,
    responses((status = 200, description = "Replaced.", body = EventTypeView), (status = 201, description = "Created.", body = EventTypeView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden), (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable)),
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
        // `true` and `false` are JSON Schemas too, but a catalog entry describes an object's
        // fields: `true` is what no schema means, and `false` would refuse every event.
        if !s.is_object() {
            return Err(hookline_domain::ValidationError::invalid(
                "schema",
                "must be a JSON Schema object (or null)",
            )
            .into());
        }
        let validator = compile_schema(s)?;
        if let Some(example) = &body.example {
            check_example(&validator, example)?;
        }
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
        example: body.example,
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
