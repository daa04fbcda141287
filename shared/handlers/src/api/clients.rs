//! `/v1/clients`: client registration and secret reset (admin only).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::client::validate_new_client;
use hookline_domain::{Client, ClientId, LimitOverrides, Scope, ValidationError, secret};
use hookline_ports::PortError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::extract::{IdParam, IdPath, JsonBody, PageParams, QueryParams};
use crate::api::no_store::NoStore;
use crate::api::responses::{BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge};
use crate::api::views::{ClientView, LimitsView, ListView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// Body of `POST /v1/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// Display name.
    pub name: String,
    /// Scopes (`events:write`, `events:read`, `subscriptions:read`, `subscriptions:write`,
    /// `subscriptions:secrets`, `manufacturers:read`, `manufacturers:write`, `sync:read`,
    /// `sync:write`, `apps:read`, `apps:write`, `connections:read`, `connections:write`,
    /// `admin`).
    pub scopes: Vec<String>,
    /// State codes, or `*`.
    pub states: Vec<String>,
}

/// Creates a client and returns its secret once.
#[utoipa::path(post, path = "/v1/clients", operation_id = "create_client", tag = "clients", request_body = NewClient,
    responses((status = 201, description = "The client, with its `client_secret` (shown only here).", body = ClientView,
            headers(("cache-control" = String, description = "`no-store`: the body holds the client secret"))),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 409, response = Conflict), (status = 413, response = PayloadTooLarge)),
    security(("bearer" = ["admin"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewClient>,
) -> ApiResult<(StatusCode, NoStore<Json<ClientView>>)> {
    caller.require(Scope::Admin)?;
    let (scopes, states) = validate_new_client(&body.name, &body.scopes, &body.states)?;
    let now = ctx.clock.now();
    let secret = secret::new_client_secret();
    let client = Client {
        id: ClientId::new(now.unix_timestamp_nanos() / 1_000_000),
        name: body.name.trim().to_string(),
        scopes,
        states,
        secret_hash: secret::hash_client_secret(&secret),
        created_at: now,
        disabled: false,
        limits: Default::default(),
    };
    ctx.store.insert_client(&client).await?;
    tracing::info!(client_id = %client.id, by = %caller.client.id, "client created");
    Ok((
        StatusCode::CREATED,
        NoStore(Json(ClientView::of(&client, Some(secret)))),
    ))
}

/// Lists clients.
#[utoipa::path(get, path = "/v1/clients", operation_id = "list_clients", tag = "clients", params(PageParams),
    responses((status = 200, description = "A page of clients.", body = ListView<ClientView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["admin"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(page): QueryParams<PageParams>,
) -> ApiResult<Json<ListView<ClientView>>> {
    caller.require(Scope::Admin)?;
    let p = ctx.store.list_clients(page.cursor(), page.limit()?).await?;
    Ok(Json(ListView {
        data: p.items.iter().map(|c| ClientView::of(c, None)).collect(),
        next_cursor: p.next_cursor,
    }))
}

/// Gets a client.
#[utoipa::path(get, path = "/v1/clients/{id}", operation_id = "get_client", tag = "clients", params(IdParam<ClientId>),
    responses((status = 200, description = "The client.", body = ClientView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ClientId>,
) -> ApiResult<Json<ClientView>> {
    caller.require(Scope::Admin)?;
    let c = ctx
        .store
        .get_client(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(Json(ClientView::of(&c, None)))
}

/// Body of `PATCH /v1/clients/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    /// Replaces the client's limits: each field set overrides the stack's value, each field
    /// left out follows it (`{}` clears every override). An object: read as JSON first, as
    /// serde would otherwise also take an array for the struct.
    #[schema(value_type = Option<LimitsView>)]
    pub limits: Option<serde_json::Value>,
    /// Disables (`true`) or enables (`false`) the client: a disabled client gets no tokens,
    /// and the tokens it holds stop working. An admin cannot disable itself (409).
    pub disabled: Option<bool>,
}

/// Changes a client's limits, or disables or enables it.
#[utoipa::path(patch, path = "/v1/clients/{id}", operation_id = "update_client", tag = "clients", params(IdParam<ClientId>),
    request_body = ClientPatch,
    responses((status = 200, description = "The client, with its limits.", body = ClientView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge)),
    security(("bearer" = ["admin"])))]
pub async fn patch(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ClientId>,
    JsonBody(body): JsonBody<ClientPatch>,
) -> ApiResult<Json<ClientView>> {
    caller.require(Scope::Admin)?;
    let mut client = ctx
        .store
        .get_client(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    if body.disabled == Some(true) && id == caller.client.id {
        // It would lock itself out, and the stack with it when it is the last admin.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "an admin cannot disable itself; use another admin",
        ));
    }
    if let Some(disabled) = body.disabled {
        client.disabled = disabled;
    }
    if let Some(limits) = body.limits {
        let limits: LimitsView = match limits {
            serde_json::Value::Object(_) => serde_json::from_value(limits)
                .map_err(|e| ApiError::from(ValidationError::invalid("limits", e.to_string())))?,
            _ => {
                return Err(ValidationError::invalid("limits", "must be an object").into());
            }
        };
        let limits = LimitOverrides::from(limits);
        limits.validate()?;
        client.limits = limits;
    }
    ctx.store.put_client(&client).await?;
    ctx.forget_client(&id);
    tracing::info!(client_id = %id, by = %caller.client.id, disabled = client.disabled, "client changed");
    Ok(Json(ClientView::of(&client, None)))
}

/// Deletes a client and its subscriptions; its tokens stop working.
#[utoipa::path(delete, path = "/v1/clients/{id}", operation_id = "delete_client", tag = "clients", params(IdParam<ClientId>),
    responses((status = 204, description = "Deleted, with its subscriptions."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict)),
    security(("bearer" = ["admin"])))]
pub async fn delete(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ClientId>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    if id == caller.client.id {
        // It would lock itself out, and the stack with it when it is the last admin.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a client cannot delete itself",
        ));
    }
    if ctx.store.get_client(&id).await?.is_none() {
        return Err(ApiError::not_found("client"));
    }
    // Its webhooks stop with it. Subscriptions go first, so a delete interrupted half-way
    // leaves the client in place and can simply be repeated.
    let removed = delete_subscriptions_of(&ctx, &id).await?;
    match ctx.store.delete_client(&id).await {
        Ok(()) => {}
        Err(PortError::NotFound) => return Err(ApiError::not_found("client")),
        Err(e) => return Err(e.into()),
    }
    ctx.forget_client(&id);
    tracing::info!(client_id = %id, by = %caller.client.id, subscriptions = removed, "client deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_subscriptions_of(ctx: &AppContext, client_id: &ClientId) -> ApiResult<usize> {
    let mut removed = 0;
    loop {
        // Always the first page: what was deleted is gone from the next listing.
        let page = ctx
            .store
            .list_subscriptions(Some(client_id), None, 100)
            .await?;
        if page.items.is_empty() {
            return Ok(removed);
        }
        for sub in page.items {
            match ctx.store.delete_subscription(&sub.id).await {
                Ok(()) | Err(PortError::NotFound) => removed += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Issues a new secret; the old one stops working.
#[utoipa::path(post, path = "/v1/clients/{id}/secret", operation_id = "reset_client_secret", tag = "clients", params(IdParam<ClientId>),
    responses((status = 200, description = "The client, with its new `client_secret` (shown only here).", body = ClientView,
            headers(("cache-control" = String, description = "`no-store`: the body holds the client secret"))),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["admin"])))]
pub async fn reset_secret(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ClientId>,
) -> ApiResult<NoStore<Json<ClientView>>> {
    caller.require(Scope::Admin)?;
    let mut c = ctx
        .store
        .get_client(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    let secret = secret::new_client_secret();
    c.secret_hash = secret::hash_client_secret(&secret);
    ctx.store.put_client(&c).await?;
    ctx.forget_client(&id);
    tracing::info!(client_id = %id, by = %caller.client.id, "client secret reset");
    Ok(NoStore(Json(ClientView::of(&c, Some(secret)))))
}
