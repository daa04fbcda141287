//! `/v1/subscriptions/{id}/secret`: a subscription's signing secret, read or rotated.
//!
//! Who may hold a secret: a token with `subscriptions:write` (it creates and rotates secrets,
//! and could point the subscription anywhere, so reading adds nothing to what it can do) or
//! one with `subscriptions:secrets` (a receiver that verifies signatures and needs nothing
//! else). `subscriptions:read` lists and shows subscriptions but never a secret. Every answer
//! that holds a secret is `Cache-Control: no-store`.

use std::sync::Arc;

use crate::api::extract::{IdParam, IdPath};
use crate::api::no_store::NoStore;
use crate::api::responses::{Conflict, Forbidden, NotFound};
use crate::api::subscriptions::{owned, written_or_404};
use crate::api::views::SecretView;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};
use crate::subscription_writes::modify_subscription;
use axum::Json;
use axum::extract::State;
use hookline_domain::{Scope, SubscriptionId, secret};

/// The scopes that may read a stored signing secret.
pub const READ_SECRET: [Scope; 2] = [Scope::SubscriptionsSecrets, Scope::SubscriptionsWrite];

/// The current signing secret.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/secret", operation_id = "get_subscription_secret", tag = "subscriptions", params(IdParam<SubscriptionId>),
    responses((status = 200, description = "The current signing secret.", body = SecretView,
            headers(("cache-control" = String, description = "`no-store`"))),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:secrets"]), ("bearer" = ["subscriptions:write"])))]
pub async fn get_secret(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
) -> ApiResult<NoStore<Json<SecretView>>> {
    caller.require_any(&READ_SECRET)?;
    let s = owned(&ctx, &caller, &id).await?;
    Ok(NoStore(Json(SecretView {
        secret: s.current_secret().map(str::to_string),
    })))
}

/// Rotates the signing secret; the previous one keeps signing alongside for 24 hours.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/secret/rotate", operation_id = "rotate_subscription_secret", tag = "subscriptions", params(IdParam<SubscriptionId>),
    responses((status = 200, description = "The new signing secret.", body = SecretView,
            headers(("cache-control" = String, description = "`no-store`"))),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict)),
    security(("bearer" = ["subscriptions:write"])))]
pub async fn rotate_secret(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    IdPath(id): IdPath<SubscriptionId>,
) -> ApiResult<NoStore<Json<SecretView>>> {
    caller.require(Scope::SubscriptionsWrite)?;
    owned(&ctx, &caller, &id).await?;
    let new = secret::new_webhook_secret();
    let now = ctx.clock.now();
    // Applied to a fresh read, and written only over that version: a concurrent change stays.
    let written = modify_subscription::<ApiError>(ctx.store.as_ref(), &id, |fresh| {
        fresh.rotate_secret(new.clone(), now);
        Ok(true)
    })
    .await?;
    written_or_404(written)?;
    tracing::info!(subscription_id = %id, "subscription secret rotated");
    Ok(NoStore(Json(SecretView { secret: Some(new) })))
}
