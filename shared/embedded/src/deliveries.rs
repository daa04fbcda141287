//! Deliveries: one row per delivery with the columns its four list keys, the status filter
//! and the creation window need; lists run newest first (by created_at, then id).

use hookline_domain::Delivery;
use hookline_ports::{DeliveryFilter, DeliveryKey, Page, PortError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::codec::{from_json, limit_plus_one, page, query_bodies, unix_ns};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// A delivery ready to be written: its body and indexed columns.
pub(crate) struct DeliveryRow {
    pub(crate) id: String,
    subscription_id: String,
    event_id: String,
    client_id: String,
    status: &'static str,
    created_at_ns: i64,
    version: i64,
    body: String,
}

impl DeliveryRow {
    /// The columns of `d`, with its JSON body.
    pub(crate) fn new(d: &Delivery, body: String) -> DeliveryRow {
        DeliveryRow {
            id: d.id.to_string(),
            subscription_id: d.subscription_id.to_string(),
            event_id: d.event_id.to_string(),
            client_id: d.client_id.to_string(),
            status: d.status.as_str(),
            created_at_ns: unix_ns(d.created_at),
            version: i64::try_from(d.version).unwrap_or(i64::MAX),
            body,
        }
    }
}

/// Inserts a delivery; false (and nothing written) if the id exists.
pub(crate) fn insert(conn: &Connection, d: &DeliveryRow) -> Result<bool, PortError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO deliveries
                 (id, subscription_id, event_id, client_id, status, created_at_ns, version, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                d.id,
                d.subscription_id,
                d.event_id,
                d.client_id,
                d.status,
                d.created_at_ns,
                d.version,
                d.body
            ])
        })
        .map_err(|e| sqlite("insert_delivery", e))?;
    Ok(n == 1)
}

/// Creates or replaces a delivery.
pub(crate) fn put(conn: &Connection, d: &DeliveryRow) -> Result<(), PortError> {
    conn.prepare_cached(
        "INSERT INTO deliveries
             (id, subscription_id, event_id, client_id, status, created_at_ns, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET
             subscription_id = excluded.subscription_id, event_id = excluded.event_id,
             client_id = excluded.client_id, status = excluded.status,
             created_at_ns = excluded.created_at_ns, version = excluded.version,
             body = excluded.body",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.id,
            d.subscription_id,
            d.event_id,
            d.client_id,
            d.status,
            d.created_at_ns,
            d.version,
            d.body
        ])
    })
    .map_err(|e| sqlite("put_delivery", e))?;
    Ok(())
}

/// Replaces a delivery whose stored version is `expected` (the new body carries the next
/// version); false if the version moved, `NotFound` if the delivery is gone.
pub(crate) fn update(conn: &Connection, d: &DeliveryRow, expected: u64) -> Result<bool, PortError> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?2, body = ?3, version = ?4
             WHERE id = ?1 AND version = ?5",
        )
        .and_then(|mut s| {
            let expected = i64::try_from(expected).unwrap_or(i64::MAX);
            s.execute(params![d.id, d.status, d.body, d.version, expected])
        })
        .map_err(|e| sqlite("update_delivery", e))?;
    if n == 1 {
        return Ok(true);
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1")
        .and_then(|mut s| s.exists(params![d.id]))
        .map_err(|e| sqlite("update_delivery", e))?;
    if exists {
        Ok(false)
    } else {
        Err(PortError::NotFound)
    }
}

/// A delivery by id.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Delivery>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM deliveries WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_delivery", e))?;
    body.map(|b| from_json("get_delivery", &b)).transpose()
}

/// One page of deliveries by key, newest first, narrowed by `filter` (the event type is read
/// from the body: it narrows a key's rows, which the indexes find by creation time).
pub(crate) fn list(
    conn: &Connection,
    key: &DeliveryKey,
    filter: &DeliveryFilter,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Delivery>, PortError> {
    let size = cursor::page_size(limit);
    let mut conditions: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    match key {
        DeliveryKey::Subscription(id) => {
            conditions.push("subscription_id = ?");
            args.push(Value::Text(id.to_string()));
        }
        DeliveryKey::Event(id) => {
            conditions.push("event_id = ?");
            args.push(Value::Text(id.to_string()));
        }
        DeliveryKey::Client(id) => {
            conditions.push("client_id = ?");
            args.push(Value::Text(id.to_string()));
        }
        DeliveryKey::All => {}
    }
    if let Some(status) = filter.status {
        conditions.push("status = ?");
        args.push(Value::Text(status.as_str().to_string()));
    }
    if let Some(event_type) = &filter.event_type {
        conditions.push("json_extract(body, '$.event_type') = ?");
        args.push(Value::Text(event_type.clone()));
    }
    if let Some(since) = filter.since {
        conditions.push("created_at_ns >= ?");
        args.push(Value::Integer(unix_ns(since)));
    }
    if let Some(until) = filter.until {
        conditions.push("created_at_ns < ?");
        args.push(Value::Integer(unix_ns(until)));
    }
    if let Some(c) = cursor {
        let (ns, id) = cursor::decode_timed(Kind::Deliveries, c)?;
        conditions.push("(created_at_ns, id) < (?, ?)");
        args.push(Value::Integer(ns));
        args.push(Value::Text(id));
    }
    let mut sql = String::from("SELECT body FROM deliveries");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY created_at_ns DESC, id DESC LIMIT ?");
    args.push(Value::Integer(limit_plus_one(size)));
    let rows: Vec<Delivery> = query_bodies("list_deliveries", conn, &sql, params_from_iter(args))?;
    Ok(page(rows, size, |d| {
        cursor::encode_timed(Kind::Deliveries, unix_ns(d.created_at), &d.id)
    }))
}
