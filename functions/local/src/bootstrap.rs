//! The first admin client of a fresh data directory.

use std::path::Path;

use hookline_domain::{Client, Scope, ids, secret};
use hookline_ports::{Clock, PortError, Store};

/// File in the data directory that names the generated admin client.
const ADMIN_FILE: &str = "bootstrap-admin";

/// Ensures the bootstrap admin exists. With configured credentials, the client gets exactly
/// those (created or reset). Without, an admin is generated on first start only, and its
/// secret is returned so it can be printed once.
pub async fn ensure_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    data_dir: &Path,
    configured: Option<&(String, String)>,
) -> Result<Option<(String, String)>, PortError> {
    let now = clock.now();
    let admin = |id: String, secret: &str| Client {
        id,
        name: "bootstrap admin".into(),
        scopes: vec![Scope::Admin],
        states: vec!["*".into()],
        secret_hash: secret::hash_client_secret(secret),
        created_at: now,
        disabled: false,
    };
    if let Some((id, sec)) = configured {
        match store.get_client(id).await? {
            Some(mut c) => {
                if !secret::verify_client_secret(sec, &c.secret_hash)
                    || !c.scopes.contains(&Scope::Admin)
                {
                    c.secret_hash = secret::hash_client_secret(sec);
                    c.scopes = vec![Scope::Admin];
                    c.states = vec!["*".into()];
                    c.disabled = false;
                    store.put_client(&c).await?;
                }
            }
            None => store.insert_client(&admin(id.clone(), sec)).await?,
        }
        return Ok(None);
    }
    let marker = data_dir.join(ADMIN_FILE);
    if marker.exists() {
        return Ok(None);
    }
    let id = ids::new_id(ids::CLIENT, now.unix_timestamp_nanos() / 1_000_000);
    let sec = secret::new_client_secret();
    store.insert_client(&admin(id.clone(), &sec)).await?;
    std::fs::write(&marker, format!("{id}\n"))
        .map_err(|e| PortError::Backend(format!("writing {ADMIN_FILE}: {e}")))?;
    Ok(Some((id, sec)))
}
