//! The JWT keys, in the data directory's database next to everything else: the private set
//! (`signing_keys`) and its published public halves (`public_keys`), written together by
//! rotation in one transaction.

use hookline_ports::{KeyRotation, PortError, PublicKey, PublicKeys, SigningKey, SigningKeys};
use rusqlite::{Connection, params};

use crate::error::sqlite;

/// Every key, newest first.
pub(crate) fn list(conn: &Connection) -> Result<Vec<SigningKey>, PortError> {
    const OP: &str = "signing_keys";
    let mut stmt = conn
        .prepare_cached(
            "SELECT kid, pkcs8, created_at, coalesce(not_before, created_at) FROM signing_keys
             ORDER BY created_at DESC, kid DESC",
        )
        .map_err(|e| sqlite(OP, e))?;
    stmt.query_map([], |r| {
        Ok(SigningKey {
            kid: r.get(0)?,
            pkcs8_der: r.get(1)?,
            created_at: r.get(2)?,
            not_before: r.get(3)?,
        })
    })
    .map_err(|e| sqlite(OP, e))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| sqlite(OP, e))
}

fn list_public(conn: &Connection) -> Result<Vec<PublicKey>, PortError> {
    const OP: &str = "public_keys";
    let mut stmt = conn
        .prepare_cached("SELECT kid, x, y FROM public_keys ORDER BY kid")
        .map_err(|e| sqlite(OP, e))?;
    stmt.query_map([], |r| {
        Ok(PublicKey {
            kid: r.get(0)?,
            x: r.get(1)?,
            y: r.get(2)?,
        })
    })
    .map_err(|e| sqlite(OP, e))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| sqlite(OP, e))
}

/// Replaces both sets if the private one still holds `expected`; runs inside the write
/// transaction, so two rotations cannot both pass the check.
fn replace(
    conn: &Connection,
    expected: &[String],
    keys: &[SigningKey],
    public: &[PublicKey],
) -> Result<bool, PortError> {
    const OP: &str = "replace_keys";
    let mut current: Vec<String> = list(conn)?.into_iter().map(|k| k.kid).collect();
    let mut wanted = expected.to_vec();
    current.sort();
    wanted.sort();
    if current != wanted {
        return Ok(false);
    }
    let run = |sql: &str| conn.execute(sql, []).map_err(|e| sqlite(OP, e));
    run("DELETE FROM public_keys")?;
    run("DELETE FROM signing_keys")?;
    for p in public {
        conn.prepare_cached("INSERT INTO public_keys (kid, x, y) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![p.kid, p.x, p.y]))
            .map_err(|e| sqlite(OP, e))?;
    }
    for k in keys {
        conn.prepare_cached(
            "INSERT INTO signing_keys (kid, pkcs8, created_at, not_before) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![k.kid, k.pkcs8_der, k.created_at, k.not_before]))
        .map_err(|e| sqlite(OP, e))?;
    }
    Ok(true)
}

#[async_trait::async_trait]
impl SigningKeys for crate::EmbeddedBackend {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError> {
        self.db.read("signing_keys", list).await
    }
}

#[async_trait::async_trait]
impl PublicKeys for crate::EmbeddedBackend {
    async fn public_keys(&self) -> Result<Vec<PublicKey>, PortError> {
        self.db.read("public_keys", list_public).await
    }
}

#[async_trait::async_trait]
impl KeyRotation for crate::EmbeddedBackend {
    async fn replace_keys(
        &self,
        expected: &[String],
        keys: &[SigningKey],
        public: &[PublicKey],
    ) -> Result<bool, PortError> {
        let (expected, keys, public) = (expected.to_vec(), keys.to_vec(), public.to_vec());
        self.db
            .write("replace_keys", move |tx| {
                replace(tx, &expected, &keys, &public)
            })
            .await
    }
}
