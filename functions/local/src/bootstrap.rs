//! The first admin client of a fresh data directory.

use std::path::Path;

use hookline_domain::{ClientId, secret};
use hookline_ports::{Clock, PortError, Store};

/// File in the data directory that names the generated admin client.
const ADMIN_FILE: &str = "bootstrap-admin";

/// Ensures the bootstrap admin was made: on the first start of a store only, with the
/// configured credentials or, without any, generated (its secret is returned so it can be
/// printed once). Later starts change nothing, whatever the configuration says: an admin
/// deleted, disabled or given a new secret through the API stays so.
pub async fn ensure_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    data_dir: &Path,
    configured: Option<&(ClientId, String)>,
) -> Result<Option<(ClientId, String)>, PortError> {
    if let Some((id, sec)) = configured {
        hookline_handlers::bootstrap::ensure_admin(store, clock, id, sec).await?;
        return Ok(None);
    }
    let now = clock.now();
    let marker = data_dir.join(ADMIN_FILE);
    if marker.exists() {
        return Ok(None);
    }
    let id = ClientId::new(now.unix_timestamp_nanos() / 1_000_000);
    let sec = secret::new_client_secret();
    let created = hookline_handlers::bootstrap::ensure_admin(store, clock, &id, &sec).await?;
    std::fs::write(&marker, format!("{id}\n"))
        .map_err(|e| PortError::backend_caused_by(format!("writing {ADMIN_FILE}: {e}"), e))?;
    // Not created: the store had its bootstrap admin already (another data directory over the
    // same AWS stack); this one's secret would be of no use.
    Ok(created.then_some((id, sec)))
}
