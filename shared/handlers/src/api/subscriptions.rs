//! `/v1/subscriptions`: a client's webhook subscriptions, test pings and replays (their signing
//! secrets: `subscription_secrets`). Another client's subscription is answered with 404, as if it
//! did not exist.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hookline_domain::subscription::{
    DeliveryMode, SubscriptionInput, SubscriptionRules, apply_input, new_subscription,
};
use hookline_domain::{
    Client, ClientId, Scope, Subscription, SubscriptionId, ValidationError, secret,
};
use hookline_ports::PortError;

use crate::api::extract::{IdParam, IdPath, JsonBody, OwnedListParams, QueryParams};
use crate::api::no_store::NoStore;
use crate::api::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable,
};
use crate::api::schemas::{NewSubscription, SubscriptionPatch};
use crate::api::views::{ListView, SubscriptionView, TestPingView};
use crate::auth::Caller;
use crate::catalog::CatalogEntry;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};
use crate::services::test_ping::send_test_ping;
use crate::subscription_writes::{Modified, check_workflow, modify_subscription};

/// Loads a subscription the caller may see, or 404.
pub async fn owned(
    ctx: &AppContext,
    caller: &Caller,
    id: &SubscriptionId,
) -> ApiResult<Subscription> {
    match ctx.store.get_subscription(id).await? {
        Some(s) if caller.owns(&s.client_id) => Ok(s),
        _ => Err(ApiError::not_found("subscription")),
    }
}

/// The scopes that read subscriptions and their deliveries (never their secrets).
pub const READ: [Scope; 2] = [Scope::SubscriptionsRead, Scope::SubscriptionsWrite];

async fn validate(
    ctx: &AppContext,
    sub: &mut Subscription,
    input: SubscriptionInput,
    owner: &Client,
    creating: bool,
) -> ApiResult<()> {
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let url_changed = input.url.is_some();
    apply(ctx, &catalog, sub, input, owner, creating)?;
    if url_changed {
        check_resolved(ctx, &sub.url).await?;
    }
    if sub.mode == DeliveryMode::Action {
        check_workflow(ctx.store.as_ref(), &owner.id, &sub.actions).await?;
    }
    Ok(())
}

/// Applies `input` to `sub`, checking it against the catalog and the stack's states (what
/// [`validate`] checks, but for where the URL resolves).
fn apply(
    ctx: &AppContext,
    catalog: &HashMap<String, CatalogEntry>,
    sub: &mut Subscription,
    input: SubscriptionInput,
    owner: &Client,
    creating: bool,
) -> ApiResult<()> {
    let known = |name: &str| catalog.contains_key(name);
    let serves = |state: &str| ctx.config.serves(state);
    let rules = SubscriptionRules {
        destinations: ctx.config.destinations,
        is_known_type: &known,
        serves_state: &serves,
    };
    apply_input(sub, input, owner, &rules, creating)?;
    if let Some(state) = sub
        .states
        .iter()
        .find(|s| s.as_str() != "*" && !ctx.config.serves(s))
    {
        return Err(ValidationError::with_code(
            "forbidden",
            "states",
            format!(
                "this stack serves {}; '{state}' belongs to another stack",
                ctx.config.states.join(",")
            ),
        )
        .into());
    }
    Ok(())
}

/// Registration-time check of where the host name resolves now (it is checked again at every
/// send). A name that does not resolve yet is accepted.
async fn check_resolved(ctx: &AppContext, raw: &str) -> ApiResult<()> {
    if ctx.config.destinations.allow_private {
        return Ok(());
    }
    let Ok(url) = url::Url::parse(raw) else {
        return Ok(());
    };
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let lookup = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(443))),
    )
    .await;
    if let Ok(Ok(addrs)) = lookup {
        let addrs: Vec<_> = addrs.collect();
        if !addrs.is_empty()
            && addrs
                .iter()
                .all(|a| hookline_domain::destination::is_forbidden(a.ip()))
        {
            return Err(ValidationError::with_code(
                "invalid_destination",
                "url",
                "the host resolves to a private, loopback, link-local or metadata address",
            )
            .into());
        }
    }
    Ok(())
}

/// Creates a subscription; the response carries its signing secret.
#[utoipa::path(post, path = "/v1/subscriptions", operation_id = "create_subscription", tag = "subscriptions", request_body = NewSubscription,
    responses((status = 201, description = "The subscription, with its signing `secret`.", body = SubscriptionView,
            headers(("cache-control" = String, description = "`no-store`: the body holds the signing secret"))),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 409, response = Conflict), (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn create(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    JsonBody(input): JsonBody<SubscriptionInput>,
) -> ApiResult<(StatusCode, NoStore<Json<SubscriptionView>>)> {
    caller.require(Scope::SubscriptionsWrite)?;
    let now = ctx.clock.now();
    let mut sub = new_subscription(
        SubscriptionId::new(now.unix_timestamp_nanos() / 1_000_000),
        caller.client.id.clone(),
        secret::new_webhook_secret(),
        now,
    );
    let owner = caller.client.clone();
    validate(&ctx, &mut sub, input, &owner, true).await?;
    let quota = ctx.limits_of(&owner).max_subscriptions;
    if count_subscriptions(&ctx, &owner.id, quota).await? >= quota {
        return Err(ApiError::quota_exceeded(format!(
            "this client may have {quota} subscriptions; delete one first, or ask an admin for more"
        )));
    }
    ctx.store.insert_subscription(&sub).await?;
    tracing::info!(subscription_id = %sub.id, client_id = %sub.client_id, "subscription created");
    Ok((
        StatusCode::CREATED,
        NoStore(Json(SubscriptionView::of(&sub, true))),
    ))
}

/// How many subscriptions `client_id` has, counting no further than `up_to`. Two creates at
/// the same moment may both pass at `up_to - 1`: a quota, not a lock.
async fn count_subscriptions(ctx: &AppContext, client_id: &ClientId, up_to: u32) -> ApiResult<u32> {
    let mut count = 0u32;
    let mut cursor: Option<String> = None;
    while count < up_to {
        let page = ctx
            .store
            .list_subscriptions(Some(client_id), cursor.as_deref(), 100)
            .await?;
        count = count.saturating_add(u32::try_from(page.items.len()).unwrap_or(u32::MAX));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(count)
}

/// `?client_id=` (admin) plus paging.
pub type ListParams = OwnedListParams;

/// Lists own subscriptions (admin: all, or one client's).
#[utoipa::path(get, path = "/v1/subscriptions", operation_id = "list_subscriptions", tag = "subscriptions", params(ListParams),
    responses((status = 200, description = "A page of subscriptions.", body = ListView<SubscriptionView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(q): QueryParams<ListParams>,
) -> ApiResult<Json<ListView<SubscriptionView>>> {
    caller.require_any(&READ)?;
    let (client, page) = q.owner_and_page(&caller)?;
    let p = ctx
        .store
        .list_subscriptions(client.as_ref(), page.cursor(), page.limit()?)
        .await?;
    Ok(Json(ListView {
        data: p
            .items
            .iter()
            .map(|s| SubscriptionView::of(s, false))
            .collect(),
        next_cursor: p.next_cursor,
    }))
}

/// Gets a subscription.
#[utoipa::path(get, path = "/v1/subscriptions/{id}", operation_id = "get_subscription", tag = "subscriptions", params(IdParam<SubscriptionId>),
    responses((status = 200, description = "The subscription.", body = SubscriptionView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
) -> ApiResult<Json<SubscriptionView>> {
    caller.require_any(&READ)?;
    let s = owned(&ctx, &caller, &id).await?;
    Ok(Json(SubscriptionView::of(&s, false)))
}

/// Changes any creatable field, or `enabled`.
#[utoipa::path(patch, path = "/v1/subscriptions/{id}", operation_id = "update_subscription", tag = "subscriptions", params(IdParam<SubscriptionId>), request_body = SubscriptionPatch,
    responses((status = 200, description = "The changed subscription.", body = SubscriptionView),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden),
        (status = 404, response = NotFound), (status = 413, response = PayloadTooLarge)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn patch(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
    JsonBody(input): JsonBody<SubscriptionInput>,
) -> ApiResult<Json<SubscriptionView>> {
    caller.require(Scope::SubscriptionsWrite)?;
    let mut sub = owned(&ctx, &caller, &id).await?;
    let owner = if sub.client_id == caller.client.id {
        caller.client.clone()
    } else {
        ctx.store
            .get_client(&sub.client_id)
            .await?
            .ok_or_else(|| ApiError::not_found("subscription"))?
    };
    // Checked on the copy just read (the URL's resolution too), then applied to a fresh
    // read and written over its version, again if another write got in first.
    validate(&ctx, &mut sub, input.clone(), &owner, false).await?;
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let now = ctx.clock.now();
    let written = modify_subscription::<ApiError>(ctx.store.as_ref(), &id, |fresh| {
        apply(&ctx, &catalog, fresh, input.clone(), &owner, false)?;
        fresh.updated_at = now;
        Ok(true)
    })
    .await?;
    Ok(Json(SubscriptionView::of(&written_or_404(written)?, false)))
}

/// The subscription a write stored, or 404 if it was deleted meanwhile.
pub(crate) fn written_or_404(m: Modified) -> ApiResult<Subscription> {
    match m {
        Modified::Written(sub) | Modified::Unchanged(sub) => Ok(sub),
        Modified::Missing => Err(ApiError::not_found("subscription")),
    }
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/v1/subscriptions/{id}", operation_id = "delete_subscription", tag = "subscriptions", params(IdParam<SubscriptionId>),
    responses((status = 204, description = "Deleted."),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn delete(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::SubscriptionsWrite)?;
    owned(&ctx, &caller, &id).await?;
    match ctx.store.delete_subscription(&id).await {
        Ok(()) | Err(PortError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    // After the subscription (its messages stay readable for as long as it exists). A log
    // left by a failure here is never read again, and its messages expire with their
    // retention: the subscription is gone either way, so the answer is still 204.
    if let Err(e) = ctx.store.delete_pull_log(&id).await {
        tracing::warn!(subscription_id = %id, error = %e, "the deleted subscription's pull log was not deleted; its messages expire with their retention");
    }
    tracing::info!(subscription_id = %id, "subscription deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `hookline.ping` event to this subscription only.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/test", operation_id = "test_subscription", tag = "subscriptions", params(IdParam<SubscriptionId>),
    responses((status = 202, description = "The ping's delivery, queued.", body = TestPingView),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn test(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
) -> ApiResult<(StatusCode, Json<TestPingView>)> {
    caller.require(Scope::SubscriptionsWrite)?;
    let sub = owned(&ctx, &caller, &id).await?;
    caller.charge_test_ping(&ctx)?;
    let delivery_id = send_test_ping(&ctx, &sub).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TestPingView {
            delivery_id: delivery_id.into_string(),
        }),
    ))
}
