//! Subscriptions, and the generation counter that every subscription write bumps in the same
//! transaction, so fan-out can tell cheaply whether its in-memory index is stale. Each write
//! returns the generation it committed.

use hookline_domain::Subscription;
use hookline_ports::{Page, PortError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{from_json, limit_plus_one, page, query_bodies};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// The `meta` row holding the generation.
const GENERATION: &str = "subscriptions_generation";

/// Inserts a subscription; `Conflict` if the id exists.
pub(crate) fn insert(
    conn: &Connection,
    id: &str,
    client_id: &str,
    body: &str,
) -> Result<u64, PortError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO subscriptions (id, client_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![id, client_id, body]))
        .map_err(|e| sqlite("insert_subscription", e))?;
    if n == 0 {
        return Err(PortError::Conflict(format!(
            "subscription {id} already exists"
        )));
    }
    bump_generation(conn)
}

/// A subscription by id.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Subscription>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM subscriptions WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_subscription", e))?;
    body.map(|b| from_json("get_subscription", &b)).transpose()
}

/// Replaces a subscription whose stored version is `expected` (the new body carries the
/// next one); the committed generation, or `None` if the version moved; `NotFound` if there
/// is none. The version lives in the body (a body from before versions has none: 0).
pub(crate) fn update(
    conn: &Connection,
    id: &str,
    client_id: &str,
    body: &str,
    expected: u64,
) -> Result<Option<u64>, PortError> {
    const OP: &str = "update_subscription";
    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
    let n = conn
        .prepare_cached(
            "UPDATE subscriptions SET client_id = ?2, body = ?3
             WHERE id = ?1 AND COALESCE(json_extract(body, '$.version'), 0) = ?4",
        )
        .and_then(|mut s| s.execute(params![id, client_id, body, expected]))
        .map_err(|e| sqlite(OP, e))?;
    if n == 1 {
        return bump_generation(conn).map(Some);
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM subscriptions WHERE id = ?1")
        .and_then(|mut s| s.exists(params![id]))
        .map_err(|e| sqlite(OP, e))?;
    if exists {
        Ok(None)
    } else {
        Err(PortError::NotFound)
    }
}

/// Deletes a subscription; `NotFound` if there is none.
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<u64, PortError> {
    let n = conn
        .prepare_cached("DELETE FROM subscriptions WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(|e| sqlite("delete_subscription", e))?;
    if n == 0 {
        return Err(PortError::NotFound);
    }
    bump_generation(conn)
}

/// One page of the subscriptions of a client (or of all), sorted by id.
pub(crate) fn list(
    conn: &Connection,
    client_id: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Subscription>, PortError> {
    const OP: &str = "list_subscriptions";
    let after = match cursor {
        Some(c) => cursor::decode_id(Kind::Subscriptions, c)?,
        None => String::new(),
    };
    let size = cursor::page_size(limit);
    let rows: Vec<Subscription> = match client_id {
        Some(client) => query_bodies(
            OP,
            conn,
            "SELECT body FROM subscriptions WHERE client_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![client, after, limit_plus_one(size)],
        )?,
        None => query_bodies(
            OP,
            conn,
            "SELECT body FROM subscriptions WHERE id > ?1 ORDER BY id LIMIT ?2",
            params![after, limit_plus_one(size)],
        )?,
    };
    Ok(page(rows, size, |s| {
        cursor::encode_id(Kind::Subscriptions, &s.id)
    }))
}

/// The current generation.
pub(crate) fn generation(conn: &Connection) -> Result<u64, PortError> {
    let value: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row(params![GENERATION], |r| r.get(0)).optional())
        .map_err(|e| sqlite("subscriptions_generation", e))?;
    Ok(value.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
}

fn bump_generation(conn: &Connection) -> Result<u64, PortError> {
    let value: i64 = conn
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
        )
        .and_then(|mut s| s.query_row(params![GENERATION], |r| r.get(0)))
        .map_err(|e| sqlite("subscriptions_generation", e))?;
    Ok(u64::try_from(value).unwrap_or(0))
}
