//! The JWT signing keys, in the data directory's database next to everything else.

use hookline_ports::{PortError, SigningKey};
use rusqlite::{Connection, params};

use crate::error::sqlite;

/// Every key, newest first.
pub(crate) fn list(conn: &Connection) -> Result<Vec<SigningKey>, PortError> {
    const OP: &str = "signing_keys";
    let mut stmt = conn
        .prepare_cached(
            "SELECT kid, pkcs8, created_at FROM signing_keys ORDER BY created_at DESC, kid DESC",
        )
        .map_err(|e| sqlite(OP, e))?;
    stmt.query_map([], |r| {
        Ok(SigningKey {
            kid: r.get(0)?,
            pkcs8_der: r.get(1)?,
            created_at: r.get(2)?,
        })
    })
    .map_err(|e| sqlite(OP, e))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| sqlite(OP, e))
}

/// Stores `key` if there is no key yet; the key set afterwards. Runs inside the write
/// transaction, so two first starts cannot both insert.
pub(crate) fn init(conn: &Connection, key: &SigningKey) -> Result<Vec<SigningKey>, PortError> {
    conn.prepare_cached(
        "INSERT INTO signing_keys (kid, pkcs8, created_at)
         SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
    )
    .and_then(|mut s| s.execute(params![key.kid, key.pkcs8_der, key.created_at]))
    .map_err(|e| sqlite("init_signing_key", e))?;
    list(conn)
}

#[async_trait::async_trait]
impl hookline_ports::KeyStore for crate::EmbeddedBackend {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError> {
        self.db.read("signing_keys", list).await
    }

    async fn init_signing_key(&self, key: SigningKey) -> Result<Vec<SigningKey>, PortError> {
        self.db
            .write("init_signing_key", move |tx| init(tx, &key))
            .await
    }
}
