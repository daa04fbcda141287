//! Clients: one row per client, keyed and listed by id.

use hookline_domain::Client;
use hookline_ports::{Page, PortError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{from_json, limit_plus_one, page, query_bodies};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// Inserts a client; `Conflict` if the id exists.
pub(crate) fn insert(conn: &Connection, id: &str, body: &str) -> Result<(), PortError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO clients (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![id, body]))
        .map_err(|e| sqlite("insert_client", e))?;
    if n == 0 {
        return Err(PortError::Conflict(format!("client {id} already exists")));
    }
    Ok(())
}

/// The bootstrap admin, once: the `meta` marker and the client in one transaction.
pub(crate) fn insert_bootstrap_admin(
    conn: &Connection,
    id: &str,
    body: &str,
) -> Result<bool, PortError> {
    const OP: &str = "insert_bootstrap_admin";
    let marked = conn
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('bootstrap_admin', ?1)
             ON CONFLICT (key) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![id]))
        .map_err(|e| sqlite(OP, e))?;
    if marked == 0 {
        return Ok(false);
    }
    let created = conn
        .prepare_cached(
            "INSERT INTO clients (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![id, body]))
        .map_err(|e| sqlite(OP, e))?;
    Ok(created == 1)
}

/// A client by id.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Client>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM clients WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_client", e))?;
    body.map(|b| from_json("get_client", &b)).transpose()
}

/// Replaces an existing client; `NotFound` if there is none.
pub(crate) fn put(conn: &Connection, id: &str, body: &str) -> Result<(), PortError> {
    let n = conn
        .prepare_cached("UPDATE clients SET body = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, body]))
        .map_err(|e| sqlite("put_client", e))?;
    if n == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// Deletes a client; `NotFound` if there is none.
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<(), PortError> {
    let n = conn
        .prepare_cached("DELETE FROM clients WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(|e| sqlite("delete_client", e))?;
    if n == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// One page of clients sorted by id.
pub(crate) fn list(
    conn: &Connection,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Client>, PortError> {
    let after = match cursor {
        Some(c) => cursor::decode_id(Kind::Clients, c)?,
        None => String::new(),
    };
    let size = cursor::page_size(limit);
    let rows: Vec<Client> = query_bodies(
        "list_clients",
        conn,
        "SELECT body FROM clients WHERE id > ?1 ORDER BY id LIMIT ?2",
        params![after, limit_plus_one(size)],
    )?;
    Ok(page(rows, size, |c| {
        cursor::encode_id(Kind::Clients, &c.id)
    }))
}
