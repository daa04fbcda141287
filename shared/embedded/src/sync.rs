//! The sync port on SQLite: `external_sources` keyed by (owner, resource, reference),
//! `source_allocations` by (owner, resource, reference, member), `sync_requests` by id and
//! listed per resource by id (ids are time-ordered). Ending a request is one `UPDATE` guarded
//! by `status = 'requested'`, so of two concurrent endings one changes a row and one none
//! (and the same ending again finds itself stored).

use async_trait::async_trait;
use hookline_domain::{ExternalSource, SyncRequest, SyncRequestId, SyncStatus};
use hookline_ports::{PortError, ResourceKey, SyncEnd, SyncStore};
use rusqlite::{Connection, OptionalExtension, params};

use crate::EmbeddedBackend;
use crate::codec::{from_json, query_bodies, to_json};
use crate::error::sqlite;

/// (owner, resource id) as owned strings, for a closure sent to another thread.
fn key(resource: &ResourceKey) -> (String, String) {
    (resource.owner.to_string(), resource.resource_id.to_string())
}

fn clear(
    conn: &Connection,
    owner: &str,
    resource: &str,
    reference: &str,
) -> Result<usize, PortError> {
    conn.prepare_cached(
        "DELETE FROM source_allocations WHERE owner = ?1 AND resource_id = ?2 AND reference = ?3",
    )
    .and_then(|mut s| s.execute(params![owner, resource, reference]))
    .map_err(|e| sqlite("clear_allocations", e))
}

#[async_trait]
impl SyncStore for EmbeddedBackend {
    async fn insert_external_source(&self, source: &ExternalSource) -> Result<(), PortError> {
        const OP: &str = "insert_external_source";
        let body = to_json(OP, source)?;
        let (owner, resource) = key(&ResourceKey::of(source));
        let reference = source.reference.clone();
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .prepare_cached(
                        "INSERT INTO external_sources (owner, resource_id, reference, body)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![owner, resource, reference, body]))
                    .map_err(|e| sqlite(OP, e))?;
                match n {
                    0 => Err(PortError::Conflict(format!(
                        "the resource already has the external source '{reference}'"
                    ))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn list_external_sources(
        &self,
        resource: &ResourceKey,
    ) -> Result<Vec<ExternalSource>, PortError> {
        const OP: &str = "list_external_sources";
        let (owner, resource) = key(resource);
        self.db
            .read(OP, move |c| {
                query_bodies(
                    OP,
                    c,
                    "SELECT body FROM external_sources WHERE owner = ?1 AND resource_id = ?2
                     ORDER BY reference",
                    params![owner, resource],
                )
            })
            .await
    }

    async fn delete_external_source(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<(), PortError> {
        const OP: &str = "delete_external_source";
        let (owner, resource) = key(resource);
        let reference = reference.to_string();
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .prepare_cached(
                        "DELETE FROM external_sources
                         WHERE owner = ?1 AND resource_id = ?2 AND reference = ?3",
                    )
                    .and_then(|mut s| s.execute(params![owner, resource, reference]))
                    .map_err(|e| sqlite(OP, e))?;
                if n == 0 {
                    return Err(PortError::NotFound);
                }
                clear(tx, &owner, &resource, &reference).map(|_| ())
            })
            .await
    }

    async fn add_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
        members: &[String],
    ) -> Result<(), PortError> {
        const OP: &str = "add_allocations";
        let (owner, resource) = key(resource);
        let (reference, members) = (reference.to_string(), members.to_vec());
        self.db
            .write(OP, move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO source_allocations (owner, resource_id, reference, member_id)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    )
                    .map_err(|e| sqlite(OP, e))?;
                for m in &members {
                    stmt.execute(params![owner, resource, reference, m])
                        .map_err(|e| sqlite(OP, e))?;
                }
                Ok(())
            })
            .await
    }

    async fn remove_allocation(
        &self,
        resource: &ResourceKey,
        reference: &str,
        member: &str,
    ) -> Result<(), PortError> {
        const OP: &str = "remove_allocation";
        let (owner, resource) = key(resource);
        let (reference, member) = (reference.to_string(), member.to_string());
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .prepare_cached(
                        "DELETE FROM source_allocations WHERE owner = ?1 AND resource_id = ?2
                         AND reference = ?3 AND member_id = ?4",
                    )
                    .and_then(|mut s| s.execute(params![owner, resource, reference, member]))
                    .map_err(|e| sqlite(OP, e))?;
                match n {
                    0 => Err(PortError::NotFound),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn clear_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<usize, PortError> {
        let (owner, resource) = key(resource);
        let reference = reference.to_string();
        self.db
            .write("clear_allocations", move |tx| {
                clear(tx, &owner, &resource, &reference)
            })
            .await
    }

    async fn list_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<Vec<String>, PortError> {
        const OP: &str = "list_allocations";
        let (owner, resource) = key(resource);
        let reference = reference.to_string();
        self.db
            .read(OP, move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT member_id FROM source_allocations
                         WHERE owner = ?1 AND resource_id = ?2 AND reference = ?3
                         ORDER BY member_id",
                    )
                    .map_err(|e| sqlite(OP, e))?;
                stmt.query_map(params![owner, resource, reference], |r| r.get(0))
                    .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
                    .map_err(|e| sqlite(OP, e))
            })
            .await
    }

    async fn insert_sync_request(&self, request: &SyncRequest) -> Result<(), PortError> {
        const OP: &str = "insert_sync_request";
        let body = to_json(OP, request)?;
        let id = request.id.to_string();
        let (owner, resource) = (request.owner.to_string(), request.resource_id.clone());
        let status = request.status.as_str();
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .prepare_cached(
                        "INSERT INTO sync_requests (id, owner, resource_id, status, body)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![id, owner, resource, status, body]))
                    .map_err(|e| sqlite(OP, e))?;
                match n {
                    0 => Err(PortError::Conflict(format!("sync request {id} exists"))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn get_sync_request(&self, id: &SyncRequestId) -> Result<Option<SyncRequest>, PortError> {
        const OP: &str = "get_sync_request";
        let id = id.to_string();
        self.db
            .lookup(OP, move |c| {
                let body: Option<String> = c
                    .prepare_cached("SELECT body FROM sync_requests WHERE id = ?1")
                    .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
                    .map_err(|e| sqlite(OP, e))?;
                body.map(|b| from_json(OP, &b)).transpose()
            })
            .await
    }

    async fn end_sync_request(&self, ended: &SyncRequest) -> Result<SyncEnd, PortError> {
        const OP: &str = "end_sync_request";
        let body = to_json(OP, ended)?;
        let id = ended.id.to_string();
        let status = ended.status.as_str();
        let requested = SyncStatus::Requested.as_str();
        self.db
            .write(OP, move |tx| {
                let n = tx
                    .prepare_cached(
                        "UPDATE sync_requests SET status = ?2, body = ?3
                         WHERE id = ?1 AND status = ?4",
                    )
                    .and_then(|mut s| s.execute(params![id, status, body, requested]))
                    .map_err(|e| sqlite(OP, e))?;
                if n == 1 {
                    return Ok(SyncEnd::Ended);
                }
                let stored: Option<String> = tx
                    .prepare_cached("SELECT body FROM sync_requests WHERE id = ?1")
                    .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
                    .map_err(|e| sqlite(OP, e))?;
                match stored {
                    Some(b) if b == body => Ok(SyncEnd::Ended),
                    Some(_) => Ok(SyncEnd::AlreadyEnded),
                    None => Err(PortError::NotFound),
                }
            })
            .await
    }

    async fn list_sync_requests(
        &self,
        resource: &ResourceKey,
        limit: usize,
    ) -> Result<Vec<SyncRequest>, PortError> {
        const OP: &str = "list_sync_requests";
        let (owner, resource) = key(resource);
        let limit = i64::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.db
            .read(OP, move |c| {
                query_bodies(
                    OP,
                    c,
                    "SELECT body FROM sync_requests WHERE owner = ?1 AND resource_id = ?2
                     ORDER BY id DESC LIMIT ?3",
                    params![owner, resource, limit],
                )
            })
            .await
    }
}
