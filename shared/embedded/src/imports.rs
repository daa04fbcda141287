//! Bulk imports: one row per import, keyed by id, and one row per recorded chunk, keyed by
//! (import, chunk number) so that a chunk is recorded once.

use async_trait::async_trait;
use hookline_domain::{Import, ImportChunk, ImportId};
use hookline_ports::{ImportStore, PortError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::EmbeddedBackend;
use crate::codec::{from_json, query_bodies, to_json};
use crate::error::sqlite;

/// Inserts an import; `Conflict` if the id exists.
fn insert(conn: &Connection, id: &str, body: &str) -> Result<(), PortError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO imports (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![id, body]))
        .map_err(|e| sqlite("insert_import", e))?;
    if n == 0 {
        return Err(PortError::Conflict(format!("import {id} already exists")));
    }
    Ok(())
}

/// An import by id.
fn get(conn: &Connection, id: &str) -> Result<Option<Import>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM imports WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_import", e))?;
    body.map(|b| from_json("get_import", &b)).transpose()
}

/// Records a chunk unless it was recorded before; returns whether it was written.
fn record_chunk(
    conn: &Connection,
    import_id: &str,
    chunk: u32,
    body: &str,
) -> Result<bool, PortError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO import_chunks (import_id, chunk, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (import_id, chunk) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![import_id, chunk, body]))
        .map_err(|e| sqlite("record_import_chunk", e))?;
    Ok(n == 1)
}

/// Every recorded chunk of an import, by number.
fn list_chunks(conn: &Connection, import_id: &str) -> Result<Vec<ImportChunk>, PortError> {
    query_bodies(
        "list_import_chunks",
        conn,
        "SELECT body FROM import_chunks WHERE import_id = ?1 ORDER BY chunk",
        params![import_id],
    )
}

#[async_trait]
impl ImportStore for EmbeddedBackend {
    async fn insert_import(&self, import: &Import) -> Result<(), PortError> {
        let (id, body) = (import.id.to_string(), to_json("insert_import", import)?);
        self.db
            .write("insert_import", move |tx| insert(tx, &id, &body))
            .await
    }

    async fn get_import(&self, id: &ImportId) -> Result<Option<Import>, PortError> {
        let id = id.to_string();
        self.db.lookup("get_import", move |c| get(c, &id)).await
    }

    async fn record_import_chunk(
        &self,
        import: &ImportId,
        chunk: &ImportChunk,
    ) -> Result<bool, PortError> {
        let (id, n) = (import.to_string(), chunk.chunk);
        let body = to_json("record_import_chunk", chunk)?;
        self.db
            .write_each("record_import_chunk", move |tx| {
                record_chunk(tx, &id, n, &body)
            })
            .await
    }

    async fn list_import_chunks(&self, import: &ImportId) -> Result<Vec<ImportChunk>, PortError> {
        let id = import.to_string();
        self.db
            .read("list_import_chunks", move |c| list_chunks(c, &id))
            .await
    }
}
