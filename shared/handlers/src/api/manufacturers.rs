//! `/v1/manufacturers`: the national manufacturer registry, keyed by FSSAI licence number.
//! Everyone with `manufacturers:read` reads every record (the registry is what keeps numbers
//! unique across India); `manufacturers:write` registers and updates the manufacturers of the
//! caller's own states, by the rules of `services::manufacturers`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::manufacturer::{FssaiLicence, ManufacturerInput, UpsertOutcome};
use hookline_domain::{Client, FieldError, Scope, StateCode};
use hookline_ports::ManufacturerQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::extract::{IdParam, IdPath, JsonBody, PageParams, QueryParams};
use crate::api::manufacturer_views::{
    ManufacturerBody, ManufacturerView, UpsertResult, UpsertView,
};
use crate::api::responses::{BadRequest, Conflict, Forbidden, NotFound, Unprocessable};
use crate::api::views::ListView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};
use crate::services::manufacturers::{create_manufacturer, upsert_manufacturer};

/// The scopes that read the registry.
const READ: [Scope; 2] = [Scope::ManufacturersRead, Scope::ManufacturersWrite];

/// Registers a manufacturer; 409 if its licence number is registered already.
#[utoipa::path(post, path = "/v1/manufacturers", operation_id = "create_manufacturer", tag = "manufacturers", request_body = ManufacturerBody,
    responses((status = 201, description = "Registered; `ManufacturerCreated` is published.", body = ManufacturerView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)),
    security(("bearer" = ["manufacturers:write"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    JsonBody(input): JsonBody<ManufacturerInput>,
) -> ApiResult<(StatusCode, Json<ManufacturerView>)> {
    caller.require(Scope::ManufacturersWrite)?;
    let details = input.validate().map_err(invalid)?;
    let number = details.fssai_licence.clone();
    match create_manufacturer(&ctx, &writer(&caller), details).await? {
        Some(m) => Ok((StatusCode::CREATED, Json(ManufacturerView::from(&m)))),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "manufacturer {number} is registered already; PUT /v1/manufacturers/{number} updates it"
            ),
        )),
    }
}

/// Gets a manufacturer by FSSAI licence number.
#[utoipa::path(get, path = "/v1/manufacturers/{id}", operation_id = "get_manufacturer", tag = "manufacturers", params(IdParam<FssaiLicence>),
    responses((status = 200, description = "The manufacturer.", body = ManufacturerView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["manufacturers:read"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(number): IdPath<FssaiLicence>,
) -> ApiResult<Json<ManufacturerView>> {
    caller.require_any(&READ)?;
    let m = ctx
        .store
        .get_manufacturer(&number)
        .await?
        .ok_or_else(|| ApiError::not_found("manufacturer"))?;
    Ok(Json(ManufacturerView::from(&m)))
}

/// Registers or updates a manufacturer by FSSAI licence number (an upsert): the same data
/// again changes nothing; another state's record of another business is a 409.
#[utoipa::path(put, path = "/v1/manufacturers/{id}", operation_id = "put_manufacturer", tag = "manufacturers", params(IdParam<FssaiLicence>),
    request_body = ManufacturerBody,
    responses((status = 201, description = "Registered; `ManufacturerCreated` is published.", body = UpsertView),
        (status = 200, description = "Updated (`ManufacturerUpdated` is published) or unchanged (nothing is).", body = UpsertView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 422, response = Unprocessable)),
    security(("bearer" = ["manufacturers:write"])))]
pub async fn put(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(number): IdPath<FssaiLicence>,
    JsonBody(mut input): JsonBody<ManufacturerInput>,
) -> ApiResult<(StatusCode, Json<UpsertView>)> {
    caller.require(Scope::ManufacturersWrite)?;
    if input.fssai_licence.trim().is_empty() {
        input.fssai_licence = number.to_string();
    }
    let details = input.validate().map_err(invalid)?;
    if details.fssai_licence != number {
        return Err(invalid(vec![FieldError::new(
            "fssai_licence",
            "differs from the licence number in the path",
        )]));
    }
    let (status, outcome, m) = match upsert_manufacturer(&ctx, &writer(&caller), details).await? {
        UpsertOutcome::Created(m) => (StatusCode::CREATED, UpsertResult::Created, m),
        UpsertOutcome::Updated(m) => (StatusCode::OK, UpsertResult::Updated, m),
        UpsertOutcome::Unchanged(m) => (StatusCode::OK, UpsertResult::Unchanged, m),
        UpsertOutcome::Conflict { existing, fields } => {
            let states: Vec<&str> = existing.details.states.iter().map(|s| s.as_str()).collect();
            let errors = fields
                .iter()
                .map(|f| {
                    FieldError::new(
                        *f,
                        format!(
                            "differs from the record registered for {}",
                            states.join(",")
                        ),
                    )
                })
                .collect();
            return Err(ApiError {
                errors,
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "manufacturer {} is registered by other states as another business; nothing was written",
                        existing.details.fssai_licence
                    ),
                )
            });
        }
    };
    let view = UpsertView {
        outcome,
        manufacturer: ManufacturerView::from(&m),
    };
    Ok((status, Json(view)))
}

/// `?state=`, `?name_prefix=` plus paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only the manufacturers this state uses (a state code).
    #[param(pattern = "^[A-Z0-9]{2,8}$")]
    pub state: Option<String>,
    /// Only names starting with this (case and repeated blanks ignored), at most 200 characters.
    #[param(max_length = 200)]
    pub name_prefix: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`; empty is the first page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// Lists manufacturers by name, of a state and/or a name prefix.
#[utoipa::path(get, path = "/v1/manufacturers", operation_id = "list_manufacturers", tag = "manufacturers", params(ListParams),
    responses((status = 200, description = "A page of manufacturers, by name then licence number.", body = ListView<ManufacturerView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["manufacturers:read"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(q): QueryParams<ListParams>,
) -> ApiResult<Json<ListView<ManufacturerView>>> {
    caller.require_any(&READ)?;
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(StateCode::parse(s).ok_or_else(|| {
            ApiError::bad_request("state: a state code is 2-8 upper-case letters or digits")
        })?),
    };
    if q.name_prefix
        .as_ref()
        .is_some_and(|p| p.chars().count() > 200)
    {
        return Err(ApiError::bad_request("name_prefix: at most 200 characters"));
    }
    let page = PageParams {
        cursor: q.cursor,
        limit: q.limit,
    };
    let query = ManufacturerQuery::new(state, q.name_prefix.as_deref());
    let p = ctx
        .store
        .list_manufacturers(&query, page.cursor(), page.limit()?)
        .await?;
    Ok(Json(ListView {
        data: p.items.iter().map(ManufacturerView::from).collect(),
        next_cursor: p.next_cursor,
    }))
}

/// The caller as a writer: its client, with the scopes of its token (an admin token writes
/// for every state).
fn writer(caller: &Caller) -> Client {
    Client {
        scopes: caller.scopes.clone(),
        ..caller.client.clone()
    }
}

/// The 422 of invalid fields: every one of them.
fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError {
        errors,
        ..ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "the manufacturer has invalid fields; nothing was written",
        )
    }
}
