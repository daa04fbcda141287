//! Event types of the catalog: a small table read whole, sorted by name.

use hookline_domain::EventType;
use hookline_ports::PortError;
use rusqlite::{Connection, params};

use crate::codec::query_bodies;
use crate::error::sqlite;

/// Every event type, sorted by name.
pub(crate) fn list(conn: &Connection) -> Result<Vec<EventType>, PortError> {
    query_bodies(
        "list_event_types",
        conn,
        "SELECT body FROM event_types ORDER BY name",
        [],
    )
}

/// Creates or replaces an event type.
pub(crate) fn put(conn: &Connection, name: &str, body: &str) -> Result<(), PortError> {
    conn.prepare_cached(
        "INSERT INTO event_types (name, body) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET body = excluded.body",
    )
    .and_then(|mut s| s.execute(params![name, body]))
    .map_err(|e| sqlite("put_event_type", e))?;
    Ok(())
}
