//! The manufacturer registry: one row per FSSAI licence number (the primary key keeps it
//! unique, and the single writer serialises racing inserts), and one `manufacturer_states` row
//! per state that uses it, written in the same savepoint, for the lists by state.

use hookline_domain::Manufacturer;
use hookline_ports::{ManufacturerQuery, Page, PortError, manufacturer_sort_key};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{from_json, limit_plus_one, page, query_bodies, to_json};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// What a write stores: the columns of both tables.
pub(crate) struct ManufacturerRow {
    fssai: String,
    sort_key: String,
    version: i64,
    states: Vec<String>,
    body: String,
}

impl ManufacturerRow {
    /// The row of `m` (serialised on the calling task).
    pub(crate) fn of(op: &str, m: &Manufacturer) -> Result<Self, PortError> {
        Ok(ManufacturerRow {
            fssai: m.details.fssai_licence.to_string(),
            sort_key: manufacturer_sort_key(&m.details),
            version: i64::try_from(m.version).unwrap_or(i64::MAX),
            states: m.details.states.iter().map(|s| s.to_string()).collect(),
            body: to_json(op, m)?,
        })
    }
}

/// Inserts a manufacturer; false if the number is registered.
pub(crate) fn insert(conn: &Connection, row: &ManufacturerRow) -> Result<bool, PortError> {
    const OP: &str = "insert_manufacturer";
    let n = conn
        .prepare_cached(
            "INSERT INTO manufacturers (fssai, sort_key, version, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (fssai) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![row.fssai, row.sort_key, row.version, row.body]))
        .map_err(|e| sqlite(OP, e))?;
    if n == 0 {
        return Ok(false);
    }
    write_states(OP, conn, row)?;
    Ok(true)
}

/// Replaces a manufacturer stored at version `expected`; false if it moved, `NotFound` if
/// there is none.
pub(crate) fn update(
    conn: &Connection,
    row: &ManufacturerRow,
    expected: u64,
) -> Result<bool, PortError> {
    const OP: &str = "update_manufacturer";
    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
    let n = conn
        .prepare_cached(
            "UPDATE manufacturers SET sort_key = ?2, version = ?3, body = ?4
             WHERE fssai = ?1 AND version = ?5",
        )
        .and_then(|mut s| {
            s.execute(params![
                row.fssai,
                row.sort_key,
                row.version,
                row.body,
                expected
            ])
        })
        .map_err(|e| sqlite(OP, e))?;
    if n == 1 {
        conn.prepare_cached("DELETE FROM manufacturer_states WHERE fssai = ?1")
            .and_then(|mut s| s.execute(params![row.fssai]))
            .map_err(|e| sqlite(OP, e))?;
        write_states(OP, conn, row)?;
        return Ok(true);
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM manufacturers WHERE fssai = ?1")
        .and_then(|mut s| s.exists(params![row.fssai]))
        .map_err(|e| sqlite(OP, e))?;
    if exists {
        Ok(false)
    } else {
        Err(PortError::NotFound)
    }
}

fn write_states(op: &str, conn: &Connection, row: &ManufacturerRow) -> Result<(), PortError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO manufacturer_states (state, sort_key, fssai) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )
        .map_err(|e| sqlite(op, e))?;
    for state in &row.states {
        stmt.execute(params![state, row.sort_key, row.fssai])
            .map_err(|e| sqlite(op, e))?;
    }
    Ok(())
}

/// A manufacturer by licence number.
pub(crate) fn get(conn: &Connection, fssai: &str) -> Result<Option<Manufacturer>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM manufacturers WHERE fssai = ?1")
        .and_then(|mut s| s.query_row(params![fssai], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_manufacturer", e))?;
    body.map(|b| from_json("get_manufacturer", &b)).transpose()
}

/// One page of manufacturers by sort key, of a state and/or a name prefix.
pub(crate) fn list(
    conn: &Connection,
    query: &ManufacturerQuery,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Manufacturer>, PortError> {
    const OP: &str = "list_manufacturers";
    let after = match cursor {
        Some(c) => cursor::decode_id(Kind::Manufacturers, c)?,
        None => String::new(),
    };
    let (lo, hi) = query
        .sort_key_range()
        .unwrap_or_else(|| (String::new(), char::MAX.to_string()));
    let size = cursor::page_size(limit);
    let rows: Vec<Manufacturer> = match &query.state {
        Some(state) => query_bodies(
            OP,
            conn,
            "SELECT m.body FROM manufacturer_states s JOIN manufacturers m ON m.fssai = s.fssai
             WHERE s.state = ?1 AND s.sort_key > ?2 AND s.sort_key BETWEEN ?3 AND ?4
             ORDER BY s.sort_key LIMIT ?5",
            params![state.as_str(), after, lo, hi, limit_plus_one(size)],
        )?,
        None => query_bodies(
            OP,
            conn,
            "SELECT body FROM manufacturers
             WHERE sort_key > ?1 AND sort_key BETWEEN ?2 AND ?3
             ORDER BY sort_key LIMIT ?4",
            params![after, lo, hi, limit_plus_one(size)],
        )?,
    };
    Ok(page(rows, size, |m| {
        cursor::encode_id(Kind::Manufacturers, &manufacturer_sort_key(&m.details))
    }))
}
