//! The bootstrap admin: the one client a new stack starts with, whose credentials the
//! deployment owns (environment locally, a Secrets Manager secret on AWS).

use hookline_domain::{Client, Scope, secret};
use hookline_ports::{Clock, PortError, Store};

/// Makes `id` an enabled admin client whose secret is `client_secret`: created if missing,
/// reset if it differs. Idempotent, so every cold start may call it.
pub async fn ensure_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    id: &str,
    client_secret: &str,
) -> Result<(), PortError> {
    match store.get_client(id).await? {
        Some(mut c) => {
            let current = secret::verify_client_secret(client_secret, &c.secret_hash)
                && c.scopes == [Scope::Admin]
                && c.states == ["*"]
                && !c.disabled;
            if !current {
                c.secret_hash = secret::hash_client_secret(client_secret);
                c.scopes = vec![Scope::Admin];
                c.states = vec!["*".into()];
                c.disabled = false;
                store.put_client(&c).await?;
            }
            Ok(())
        }
        None => {
            let client = Client {
                id: id.to_string(),
                name: "bootstrap admin".into(),
                scopes: vec![Scope::Admin],
                states: vec!["*".into()],
                secret_hash: secret::hash_client_secret(client_secret),
                created_at: clock.now(),
                disabled: false,
            };
            match store.insert_client(&client).await {
                // A concurrent cold start created it first: same credentials, nothing to do.
                Ok(()) | Err(PortError::Conflict(_)) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}
