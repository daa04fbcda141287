//! Conversions between domain values and column values: JSON bodies, sortable times, pages.

use hookline_ports::{Page, PortError};
use rusqlite::Row;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::{json, sqlite};

/// A domain value as its JSON body column.
pub(crate) fn to_json<T: Serialize>(op: &str, value: &T) -> Result<String, PortError> {
    serde_json::to_string(value).map_err(|e| json(op, e))
}

/// A domain value from its JSON body column.
pub(crate) fn from_json<T: DeserializeOwned>(op: &str, body: &str) -> Result<T, PortError> {
    serde_json::from_str(body).map_err(|e| json(op, e))
}

/// A time as sortable Unix nanoseconds (clamped to the years 1677–2262, which `i64` covers).
pub(crate) fn unix_ns(t: OffsetDateTime) -> i64 {
    let ns = t.unix_timestamp_nanos();
    i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })
}

/// Runs a query whose first column is a JSON body and decodes every row.
pub(crate) fn query_bodies<T: DeserializeOwned>(
    op: &str,
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, PortError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| sqlite(op, e))?;
    let bodies = stmt
        .query_map(params, |row: &Row<'_>| row.get::<_, String>(0))
        .map_err(|e| sqlite(op, e))?
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| sqlite(op, e))?;
    bodies.iter().map(|b| from_json(op, b)).collect()
}

/// A page from up to `size + 1` rows: the extra row only says that another page exists, and
/// the cursor is the sort key of the page's last item.
pub(crate) fn page<T>(mut rows: Vec<T>, size: usize, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// A page size as an SQL `LIMIT` that also fetches the look-ahead row.
pub(crate) fn limit_plus_one(size: usize) -> i64 {
    i64::try_from(size).map_or(i64::MAX, |s| s.saturating_add(1))
}
