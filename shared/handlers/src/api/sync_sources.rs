//! `/v1/resources/{resource_id}/external-sources`: the references an external system uses
//! for one of the caller's resources, and the members (participants) allocated to each.
//!
//! A resource lives in its owner's namespace: the caller's `resource_id` names the caller's
//! resource, and another client's resource of the same id is a different one that the
//! caller never sees (its sources are not listed, and acting on them is a 404). Path
//! segments of the wrong shape name nothing (404); a body field of the wrong shape is 422.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hookline_domain::sync::{
    MAX_ALLOCATIONS_PER_SOURCE, MAX_MEMBERS_PER_REQUEST, MAX_SOURCES_PER_RESOURCE, is_reference,
    validate_code, validate_reference,
};
use hookline_domain::{ClientId, ExternalSource, Scope, StateCode, ValidationError};
use hookline_ports::ResourceKey;
use utoipa::IntoParams;

use crate::api::extract::JsonBody;
use crate::api::responses::{Conflict, Forbidden, InvalidField, NotFound};
use crate::api::sync_views::{
    AllocationInput, AllocationsView, ExternalSourceList, ExternalSourceView, NewExternalSource,
};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// The scopes that read sources, allocations and sync requests.
pub const READ: [Scope; 2] = [Scope::SyncRead, Scope::SyncWrite];

/// A body field that is not a valid value: 422 `invalid_request`, naming the field.
pub(crate) fn invalid_field(e: ValidationError) -> ApiError {
    let mut err = ApiError::from(e);
    err.status = StatusCode::UNPROCESSABLE_ENTITY;
    err
}

/// The caller's resource named by a path segment, once the token has one of `scopes`.
pub(crate) fn resource_with(
    caller: &Caller,
    scopes: &[Scope],
    resource_id: &str,
) -> ApiResult<ResourceKey> {
    caller.require_any(scopes)?;
    resource_of(caller, resource_id)
}

/// The scope that changes sources, allocations and sync requests.
pub const WRITE: [Scope; 1] = [Scope::SyncWrite];

/// The caller's resource named by a path segment (404 if it cannot be a resource id).
pub(crate) fn resource_of(caller: &Caller, resource_id: &str) -> ApiResult<ResourceKey> {
    if !is_reference(resource_id) {
        return Err(ApiError::not_found("resource"));
    }
    Ok(ResourceKey {
        owner: caller.client.id.clone(),
        resource_id: resource_id.to_string(),
    })
}

/// The resource's sources (404 if it has none: the caller has no such resource).
pub(crate) async fn sources_of(
    ctx: &AppContext,
    resource: &ResourceKey,
) -> ApiResult<Vec<ExternalSource>> {
    let sources = ctx.store.list_external_sources(resource).await?;
    if sources.is_empty() {
        return Err(ApiError::not_found("resource"));
    }
    Ok(sources)
}

/// One source of the caller's resource (404 if there is none), once the token has one of
/// `scopes`.
async fn source(
    ctx: &AppContext,
    caller: &Caller,
    scopes: &[Scope],
    (resource_id, reference): &(String, String),
) -> ApiResult<ResourceKey> {
    let resource = resource_with(caller, scopes, resource_id)?;
    let found = match is_reference(reference) {
        true => ctx.store.list_external_sources(&resource).await?,
        false => Vec::new(),
    };
    match found.iter().any(|s| s.reference == *reference) {
        true => Ok(resource),
        false => Err(ApiError::not_found("external source")),
    }
}

/// The `{resource_id}` of the sync routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ResourceParam {
    /// The caller's resource: 1-128 of `0-9a-zA-Z-_,.;:|`. Any other text is a 404.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    resource_id: String,
}

/// The `{resource_id}` and `{reference}` of a source's routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct SourceParams {
    /// The caller's resource: 1-128 of `0-9a-zA-Z-_,.;:|`. Any other text is a 404.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    resource_id: String,
    /// The source's reference (`|` percent-encoded as `%7C`). Any other text is a 404.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    reference: String,
}

/// The `{resource_id}`, `{reference}` and `{member_id}` of one allocation.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct AllocationParams {
    /// The caller's resource.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    resource_id: String,
    /// The source's reference.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    reference: String,
    /// The allocated member.
    #[param(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    member_id: String,
}

/// Checks a new source's fields; returns its state and integration.
async fn check_new_source(
    ctx: &AppContext,
    caller: &Caller,
    input: &NewExternalSource,
) -> ApiResult<(StateCode, ClientId)> {
    validate_reference("reference", &input.reference).map_err(invalid_field)?;
    validate_code(&input.code).map_err(invalid_field)?;
    let state = StateCode::parse(&input.state).ok_or_else(|| {
        invalid_field(ValidationError::invalid(
            "state",
            "a state code: 2-8 upper-case letters or digits",
        ))
    })?;
    if !caller.allows_state(&state) || !ctx.config.serves(&state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!("this client may not publish for state '{state}' on this stack"),
        )
        .into());
    }
    let integration = match &input.integration_id {
        None => caller.client.id.clone(),
        Some(text) => {
            let unknown =
                || invalid_field(ValidationError::invalid("integration_id", "no such client"));
            let id = ClientId::parse(text).ok_or_else(unknown)?;
            ctx.store.get_client(&id).await?.ok_or_else(unknown)?;
            id
        }
    };
    Ok((state, integration))
}

/// Attaches an external source (a reference) to one of the caller's resources.
#[utoipa::path(post, path = "/v1/resources/{resource_id}/external-sources", operation_id = "add_external_source", tag = "sync",
    params(ResourceParam), request_body = NewExternalSource,
    responses((status = 201, description = "The source.", body = ExternalSourceView),
        (status = 400, description = "The body is not JSON of this shape (`invalid_request`)."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict), (status = 422, response = InvalidField)),
    security(("bearer" = ["sync:write"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(resource_id): Path<String>,
    JsonBody(input): JsonBody<NewExternalSource>,
) -> ApiResult<(StatusCode, Json<ExternalSourceView>)> {
    let resource = resource_with(&caller, &WRITE, &resource_id)?;
    let (state, integration) = check_new_source(&ctx, &caller, &input).await?;
    let source = ExternalSource {
        owner: resource.owner.clone(),
        resource_id: resource.resource_id.clone(),
        resource_code: input.code,
        state,
        reference: input.reference,
        integration,
        created_at: ctx.clock.now(),
    };
    let existing = ctx.store.list_external_sources(&resource).await?;
    if existing.len() >= MAX_SOURCES_PER_RESOURCE {
        return Err(ApiError::quota_exceeded(format!(
            "a resource has at most {MAX_SOURCES_PER_RESOURCE} external sources"
        )));
    }
    if let Some(other) = existing.iter().find(|e| !e.agrees_with(&source)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "the resource's other sources name code '{}', state '{}' and integration '{}'",
                other.resource_code, other.state, other.integration
            ),
        ));
    }
    ctx.store.insert_external_source(&source).await?;
    Ok((
        StatusCode::CREATED,
        Json(ExternalSourceView::of(&source, &[])),
    ))
}

/// Lists the external sources of one of the caller's resources, each with its sync state.
#[utoipa::path(get, path = "/v1/resources/{resource_id}/external-sources", operation_id = "list_external_sources", tag = "sync",
    params(ResourceParam),
    responses((status = 200, description = "The sources, by reference (none: an empty list).", body = ExternalSourceList),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:read"]), ("bearer" = ["sync:write"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(resource_id): Path<String>,
) -> ApiResult<Json<ExternalSourceList>> {
    let resource = resource_with(&caller, &READ, &resource_id)?;
    let sources = ctx.store.list_external_sources(&resource).await?;
    let requests = match sources.is_empty() {
        true => Vec::new(),
        false => {
            ctx.store
                .list_sync_requests(&resource, super::sync_requests::LISTED_REQUESTS)
                .await?
        }
    };
    let data = sources
        .iter()
        .map(|s| ExternalSourceView::of(s, &requests))
        .collect();
    Ok(Json(ExternalSourceList { data }))
}

/// Removes an external source and its allocations.
#[utoipa::path(delete, path = "/v1/resources/{resource_id}/external-sources/{reference}", operation_id = "remove_external_source", tag = "sync",
    params(SourceParams),
    responses((status = 204, description = "Removed, with its allocations."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:write"])))]
pub async fn delete(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let resource = source(&ctx, &caller, &WRITE, &path).await?;
    let reference = path.1;
    ctx.store
        .delete_external_source(&resource, &reference)
        .await
        .map_err(|e| not_found_as(e, "external source"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A port's `NotFound` as the 404 of `what`.
fn not_found_as(e: hookline_ports::PortError, what: &str) -> ApiError {
    match e {
        hookline_ports::PortError::NotFound => ApiError::not_found(what),
        e => e.into(),
    }
}

/// Allocates members (participants) to an external source; members already allocated stay.
#[utoipa::path(post, path = "/v1/resources/{resource_id}/external-sources/{reference}/allocations", operation_id = "add_allocations", tag = "sync",
    params(SourceParams), request_body = AllocationInput,
    responses((status = 200, description = "Every member now allocated to the source.", body = AllocationsView),
        (status = 400, description = "The body is not JSON of this shape (`invalid_request`)."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 422, response = InvalidField)),
    security(("bearer" = ["sync:write"])))]
pub async fn allocate(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(path): Path<(String, String)>,
    JsonBody(input): JsonBody<AllocationInput>,
) -> ApiResult<Json<AllocationsView>> {
    let resource = source(&ctx, &caller, &WRITE, &path).await?;
    let reference = path.1;
    if input.member_ids.is_empty() || input.member_ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(invalid_field(ValidationError::invalid(
            "member_ids",
            format!("1-{MAX_MEMBERS_PER_REQUEST} member ids"),
        )));
    }
    for (i, m) in input.member_ids.iter().enumerate() {
        validate_reference(&format!("member_ids[{i}]"), m).map_err(invalid_field)?;
    }
    let mut members = ctx.store.list_allocations(&resource, &reference).await?;
    let new: Vec<String> = {
        let mut new: Vec<String> = input
            .member_ids
            .into_iter()
            .filter(|m| !members.contains(m))
            .collect();
        new.sort();
        new.dedup();
        new
    };
    if members.len() + new.len() > MAX_ALLOCATIONS_PER_SOURCE {
        return Err(ApiError::quota_exceeded(format!(
            "a source has at most {MAX_ALLOCATIONS_PER_SOURCE} allocated members"
        )));
    }
    ctx.store
        .add_allocations(&resource, &reference, &new)
        .await?;
    members.extend(new);
    members.sort();
    Ok(Json(AllocationsView {
        reference,
        member_ids: members,
    }))
}

/// Lists the members allocated to an external source.
#[utoipa::path(get, path = "/v1/resources/{resource_id}/external-sources/{reference}/allocations", operation_id = "list_allocations", tag = "sync",
    params(SourceParams),
    responses((status = 200, description = "The allocated members, sorted.", body = AllocationsView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:read"]), ("bearer" = ["sync:write"])))]
pub async fn allocations(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(path): Path<(String, String)>,
) -> ApiResult<Json<AllocationsView>> {
    let resource = source(&ctx, &caller, &READ, &path).await?;
    let reference = path.1;
    let member_ids = ctx.store.list_allocations(&resource, &reference).await?;
    Ok(Json(AllocationsView {
        reference,
        member_ids,
    }))
}

/// Removes every allocation of an external source.
#[utoipa::path(delete, path = "/v1/resources/{resource_id}/external-sources/{reference}/allocations", operation_id = "clear_allocations", tag = "sync",
    params(SourceParams),
    responses((status = 204, description = "No member is allocated to the source any more."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:write"])))]
pub async fn clear(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let resource = source(&ctx, &caller, &WRITE, &path).await?;
    let reference = path.1;
    ctx.store.clear_allocations(&resource, &reference).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one member's allocation.
#[utoipa::path(delete, path = "/v1/resources/{resource_id}/external-sources/{reference}/allocations/{member_id}", operation_id = "remove_allocation", tag = "sync",
    params(AllocationParams),
    responses((status = 204, description = "The member is no longer allocated to the source."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["sync:write"])))]
pub async fn remove(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    Path((resource_id, reference, member)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let path = (resource_id, reference);
    let resource = source(&ctx, &caller, &WRITE, &path).await?;
    let reference = path.1;
    if !is_reference(&member) {
        return Err(ApiError::not_found("allocation"));
    }
    ctx.store
        .remove_allocation(&resource, &reference, &member)
        .await
        .map_err(|e| not_found_as(e, "allocation"))?;
    Ok(StatusCode::NO_CONTENT)
}
