//! `/v1/connections`: a client's connections to app versions, with their credentials and
//! properties (secret values write-only, kept in the secret store), their polling settings
//! and inbound hook URLs; upgraded to another version, tested, and their poll schedules
//! read. Another client's connection is answered with 404, as if it did not exist.
//!
//! Secrets are written before the record and put back (or deleted) when the record's write
//! fails; a deleted connection's poll schedules and secrets go before its record, so that a
//! failure leaves a connection the client can delete again.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hookline_domain::apps::{AppVersion, Connection};
use hookline_domain::{ConnectionId, Scope, StateCode, ValidationError};

use crate::api::app_checks::{field, polling};
use crate::api::connection_views::{
    ConnectionPatch, ConnectionTestView, ConnectionView, NewConnection, PollList, PollView,
    UpgradeInput,
};
use crate::api::connection_writes::{
    Values, hook_token, ignore_missing, put_secrets, resolved, secrets_of, sync_polls,
    usable_version, write,
};
use crate::api::extract::{IdParam, IdPath, JsonBody, OwnedListParams, QueryParams};
use crate::api::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable,
};
use crate::api::views::ListView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// The scopes that read connections.
pub const READ: [Scope; 2] = [Scope::ConnectionsRead, Scope::ConnectionsWrite];

/// Longest connection name.
const MAX_NAME: usize = 200;

/// Loads a connection the caller may see, or 404.
pub async fn owned(ctx: &AppContext, caller: &Caller, id: &ConnectionId) -> ApiResult<Connection> {
    match ctx.store.get_connection(id).await? {
        Some(c) if caller.owns(&c.client_id) => Ok(c),
        _ => Err(ApiError::not_found("connection")),
    }
}

/// The app version a connection uses (gone: none, and the view shows no hook URL).
async fn app_of(ctx: &AppContext, c: &Connection) -> ApiResult<Option<AppVersion>> {
    Ok(ctx.store.get_app_version(&c.app, &c.app_version).await?)
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > MAX_NAME {
        return Err(field("name", "at most 200 characters"));
    }
    Ok(())
}

/// Creates a connection.
#[utoipa::path(post, path = "/v1/connections", operation_id = "create_connection", tag = "connections", request_body = NewConnection,
    responses((status = 201, description = "The connection (no secret value).", body = ConnectionView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["connections:write"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NewConnection>,
) -> ApiResult<(StatusCode, Json<ConnectionView>)> {
    caller.require(Scope::ConnectionsWrite)?;
    check_name(&input.name)?;
    let app = usable_version(&ctx, &input.app, &input.version).await?;
    let state = StateCode::parse(&input.state)
        .ok_or_else(|| field("state", "a state code: 2-8 upper-case letters or digits"))?;
    if !caller.allows_state(&state) || !ctx.config.serves(&state) {
        return Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!("this client may not publish for state '{state}' on this stack"),
        )
        .into());
    }
    let values = Values {
        properties: input.properties,
        credentials: input.credentials,
    };
    let (properties, secrets, secrets_set) = values.split(&app)?;
    let polling = polling(&app.definition, &Default::default(), &input.polling)?;
    let now = ctx.clock.now();
    let c = Connection {
        id: ConnectionId::new(now.unix_timestamp_nanos() / 1_000_000),
        client_id: caller.client.id.clone(),
        app: input.app,
        app_version: input.version,
        name: input.name,
        state,
        properties,
        secrets_set,
        hook_token: hook_token(),
        polling,
        enabled: true,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    put_secrets(&ctx, &c, &secrets).await?;
    let stored = match ctx.store.insert_connection(&c).await {
        Ok(()) => sync_polls(&ctx, &c, &app, false).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = stored {
        // Nothing of it may stay: no schedule, no record, no secret.
        for undone in [
            ctx.store.delete_polls(&c.id).await,
            ignore_missing(ctx.store.delete_connection(&c.id).await),
            ctx.store
                .delete_secret(&Connection::secret_name(&c.id))
                .await,
        ] {
            if let Err(u) = undone {
                tracing::warn!(connection_id = %c.id, error = %u, "a connection that failed to be created was not wholly removed");
            }
        }
        return Err(e);
    }
    tracing::info!(connection_id = %c.id, client_id = %c.client_id, app = %c.app, version = %c.app_version, "connection created");
    let base = ctx.issuer(&headers);
    Ok((
        StatusCode::CREATED,
        Json(ConnectionView::of(&c, Some(&app), &base)),
    ))
}

/// Lists own connections (admin: all, or one client's).
#[utoipa::path(get, path = "/v1/connections", operation_id = "list_connections", tag = "connections", params(OwnedListParams),
    responses((status = 200, description = "A page of connections.", body = ListView<ConnectionView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["connections:read"]), ("bearer" = ["connections:write"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<OwnedListParams>,
) -> ApiResult<Json<ListView<ConnectionView>>> {
    caller.require_any(&READ)?;
    let (client, page) = q.owner_and_page(&caller)?;
    let p = ctx
        .store
        .list_connections(client.as_ref(), page.cursor(), page.limit()?)
        .await?;
    let base = ctx.issuer(&headers);
    // Read once per app version of the page (its hook triggers make the hook URLs).
    let mut apps = std::collections::BTreeMap::new();
    let mut data = Vec::with_capacity(p.items.len());
    for c in &p.items {
        let key = (c.app.clone(), c.app_version.clone());
        if !apps.contains_key(&key) {
            apps.insert(key.clone(), app_of(&ctx, c).await?);
        }
        let app = apps.get(&key).and_then(Option::as_ref);
        data.push(ConnectionView::of(c, app, &base));
    }
    Ok(Json(ListView {
        data,
        next_cursor: p.next_cursor,
    }))
}

/// Gets a connection.
#[utoipa::path(get, path = "/v1/connections/{id}", operation_id = "get_connection", tag = "connections", params(IdParam<ConnectionId>),
    responses((status = 200, description = "The connection (no secret value).", body = ConnectionView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["connections:read"]), ("bearer" = ["connections:write"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    IdPath(id): IdPath<ConnectionId>,
) -> ApiResult<Json<ConnectionView>> {
    caller.require_any(&READ)?;
    let c = owned(&ctx, &caller, &id).await?;
    let app = app_of(&ctx, &c).await?;
    Ok(Json(ConnectionView::of(
        &c,
        app.as_ref(),
        &ctx.issuer(&headers),
    )))
}

/// Changes a connection's name, properties (merged), credentials (the given ones replaced),
/// polling settings or `enabled`.
#[utoipa::path(patch, path = "/v1/connections/{id}", operation_id = "update_connection", tag = "connections",
    params(IdParam<ConnectionId>), request_body = ConnectionPatch,
    responses((status = 200, description = "The changed connection.", body = ConnectionView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["connections:write"])))]
pub async fn patch(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    IdPath(id): IdPath<ConnectionId>,
    JsonBody(input): JsonBody<ConnectionPatch>,
) -> ApiResult<Json<ConnectionView>> {
    caller.require(Scope::ConnectionsWrite)?;
    let mut c = owned(&ctx, &caller, &id).await?;
    let app = app_of(&ctx, &c)
        .await?
        .ok_or_else(|| field("version", "the connection's app version is gone"))?;
    if let Some(name) = input.name {
        check_name(&name)?;
        c.name = name;
    }
    let mut secrets = None;
    if input.properties.is_some() || input.credentials.is_some() {
        let old = secrets_of(&ctx, &c).await?;
        let mut values = Values::of(&c, &old);
        for (k, v) in input.properties.unwrap_or_default() {
            match v.is_null() {
                true => values.properties.remove(&k),
                false => values.properties.insert(k, v),
            };
        }
        values
            .credentials
            .extend(input.credentials.unwrap_or_default());
        let (properties, new, set) = values.split(&app)?;
        c.properties = properties;
        c.secrets_set = set;
        secrets = Some((new, old));
    }
    if let Some(given) = input.polling {
        c.polling = polling(&app.definition, &c.polling, &given)?;
    }
    if let Some(enabled) = input.enabled {
        c.enabled = enabled;
    }
    c.updated_at = ctx.clock.now();
    let pair = secrets.as_ref().map(|(new, old)| (new, old));
    let c = write(&ctx, c, &app, pair).await?;
    Ok(Json(ConnectionView::of(
        &c,
        Some(&app),
        &ctx.issuer(&headers),
    )))
}

/// Moves a connection to another published version of its app; its values must satisfy it.
#[utoipa::path(post, path = "/v1/connections/{id}/upgrade", operation_id = "upgrade_connection", tag = "connections",
    params(IdParam<ConnectionId>), request_body = UpgradeInput,
    responses((status = 200, description = "The connection, on the new version.", body = ConnectionView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge), (status = 422, response = Unprocessable)),
    security(("bearer" = ["connections:write"])))]
pub async fn upgrade(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    headers: HeaderMap,
    IdPath(id): IdPath<ConnectionId>,
    JsonBody(input): JsonBody<UpgradeInput>,
) -> ApiResult<Json<ConnectionView>> {
    caller.require(Scope::ConnectionsWrite)?;
    let mut c = owned(&ctx, &caller, &id).await?;
    let app = usable_version(&ctx, &c.app, &input.version).await?;
    // The target may make secret a property the current version keeps with the record (or
    // the other way round): the values are split again, and the secrets written anew.
    let old = secrets_of(&ctx, &c).await?;
    let (properties, new, set) = Values::of(&c, &old).split(&app)?;
    c.polling = polling(&app.definition, &c.polling, &Default::default())?;
    c.properties = properties;
    c.secrets_set = set;
    c.app_version = input.version;
    c.updated_at = ctx.clock.now();
    let c = write(&ctx, c, &app, Some((&new, &old))).await?;
    tracing::info!(connection_id = %c.id, version = %c.app_version, "connection upgraded");
    Ok(Json(ConnectionView::of(
        &c,
        Some(&app),
        &ctx.issuer(&headers),
    )))
}

/// Deletes a connection, its secrets and its poll schedules.
#[utoipa::path(delete, path = "/v1/connections/{id}", operation_id = "delete_connection", tag = "connections", params(IdParam<ConnectionId>),
    responses((status = 204, description = "Deleted, with its secrets and poll schedules."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["connections:write"])))]
pub async fn delete(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::ConnectionsWrite)?;
    owned(&ctx, &caller, &id).await?;
    ctx.store.delete_polls(&id).await?;
    ctx.store
        .delete_secret(&Connection::secret_name(&id))
        .await?;
    ignore_missing(ctx.store.delete_connection(&id).await)?;
    tracing::info!(connection_id = %id, "connection deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The poll schedules of a connection's polling triggers.
#[utoipa::path(get, path = "/v1/connections/{id}/polls", operation_id = "list_connection_polls", tag = "connections", params(IdParam<ConnectionId>),
    responses((status = 200, description = "One per polling trigger it runs.", body = PollList),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["connections:read"]), ("bearer" = ["connections:write"])))]
pub async fn polls(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> ApiResult<Json<PollList>> {
    caller.require_any(&READ)?;
    let c = owned(&ctx, &caller, &id).await?;
    let mut data = Vec::new();
    for trigger in c.polling.keys() {
        if let Some(p) = ctx.store.get_poll(&c.id, trigger).await? {
            data.push(PollView::of(&p));
        }
    }
    Ok(Json(PollList { data }))
}

/// How long a connection test may take.
const TEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends the app version's test request with the connection's authentication (counted as a
/// test ping).
#[utoipa::path(post, path = "/v1/connections/{id}/test", operation_id = "test_connection", tag = "connections", params(IdParam<ConnectionId>),
    responses((status = 200, description = "What the test request came to (`ok`: a 2xx answer).", body = ConnectionTestView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 422, response = Unprocessable)),
    security(("bearer" = ["connections:write"])))]
pub async fn test(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<ConnectionId>,
) -> ApiResult<Json<ConnectionTestView>> {
    caller.require(Scope::ConnectionsWrite)?;
    let c = owned(&ctx, &caller, &id).await?;
    let resolved = resolved(&ctx, c, "connection's app version").await?;
    if resolved.app.definition.test.is_none() {
        return Err(field(
            "version",
            "this app version declares no test request",
        ));
    }
    caller.charge_test_ping(&ctx)?;
    let o = ctx.engine.test_connection(&resolved, TEST_TIMEOUT).await;
    Ok(Json(ConnectionTestView {
        ok: o.succeeded(),
        status: o.status,
        duration_ms: o.duration_ms,
        error: o.error,
        request_excerpt: o.request_excerpt,
        response_excerpt: o.response_excerpt,
    }))
}
