//! The bootstrap admin: the one client a new stack starts with, whose credentials the
//! deployment owns (environment locally, a Secrets Manager secret on AWS).

use hookline_domain::{Client, ClientId, Scope, StatePattern, secret};
use hookline_ports::{Clock, PortError, Store};

/// Creates the admin client `id` with `client_secret`, once in the store's life: every cold
/// start may call it, and after the first nothing changes — an admin whose secret was reset,
/// or that was disabled or deleted through the API, stays so. Returns whether it was created.
pub async fn ensure_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    id: &ClientId,
    client_secret: &str,
) -> Result<bool, PortError> {
    let client = Client {
        id: id.clone(),
        name: "bootstrap admin".into(),
        scopes: vec![Scope::Admin],
        states: vec![StatePattern::Any],
        secret_hash: secret::hash_client_secret(client_secret),
        created_at: clock.now(),
        disabled: false,
        limits: Default::default(),
    };
    let created = store.insert_bootstrap_admin(&client).await?;
    if created {
        tracing::info!(client_id = %id, "bootstrap admin created");
    }
    Ok(created)
}
