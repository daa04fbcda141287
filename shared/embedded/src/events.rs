//! Events, their idempotency claims and the `enqueued` flag.
//!
//! An idempotency claim (`source`, `key`) and the event it names are written in the same
//! transaction, so a claim never exists without its event, and a repeat finds the original.

use hookline_domain::{Event, EventId};
use hookline_ports::{EventInsert, EventListing, Page, PortError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::codec::{from_json, limit_plus_one, page, query_bodies, unix_ns};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// An event ready to be written: its body and indexed columns.
pub(crate) struct NewEvent {
    /// Event id.
    pub id: String,
    /// Publishing client (`event.source`).
    pub source: String,
    /// State code.
    pub state: String,
    /// `received_at` in Unix nanoseconds.
    pub received_at_ns: i64,
    /// JSON body.
    pub body: String,
}

impl NewEvent {
    /// The columns of `event`, with its JSON body.
    pub(crate) fn new(event: &Event, body: String) -> NewEvent {
        NewEvent {
            id: event.id.to_string(),
            source: event.source.clone(),
            state: event.state.to_string(),
            received_at_ns: unix_ns(event.received_at),
            body,
        }
    }
}

/// Claims the idempotency key (if any) and stores the event, or returns the original.
pub(crate) fn insert(
    conn: &Connection,
    ev: &NewEvent,
    key: Option<&str>,
) -> Result<EventInsert, PortError> {
    const OP: &str = "insert_event";
    if let Some(key) = key {
        let existing: Option<String> = conn
            .prepare_cached("SELECT event_id FROM idempotency WHERE source = ?1 AND key = ?2")
            .and_then(|mut s| {
                s.query_row(params![ev.source, key], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| sqlite(OP, e))?;
        if let Some(event_id) = existing {
            let enqueued = is_enqueued(conn, &event_id)?.unwrap_or(false);
            return Ok(EventInsert::Existing {
                event_id: EventId::from_stored(event_id),
                enqueued,
            });
        }
        conn.prepare_cached("INSERT INTO idempotency (source, key, event_id) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![ev.source, key, ev.id]))
            .map_err(|e| sqlite(OP, e))?;
    }
    let n = conn
        .prepare_cached(
            "INSERT INTO events (id, state, received_at_ns, enqueued, body)
             VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![ev.id, ev.state, ev.received_at_ns, ev.body]))
        .map_err(|e| sqlite(OP, e))?;
    if n == 0 {
        // Returning the error rolls back the claim made above.
        return Err(PortError::Conflict(format!(
            "event {} already exists",
            ev.id
        )));
    }
    Ok(EventInsert::Created)
}

fn is_enqueued(conn: &Connection, id: &str) -> Result<Option<bool>, PortError> {
    conn.prepare_cached("SELECT enqueued FROM events WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get::<_, bool>(0)).optional())
        .map_err(|e| sqlite("insert_event", e))
}

/// Sets the `enqueued` flag; `NotFound` if there is no such event.
pub(crate) fn mark_enqueued(conn: &Connection, id: &str) -> Result<(), PortError> {
    let n = conn
        .prepare_cached("UPDATE events SET enqueued = 1 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id]))
        .map_err(|e| sqlite("mark_event_enqueued", e))?;
    if n == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// An event by id.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Event>, PortError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM events WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
        .map_err(|e| sqlite("get_event", e))?;
    body.map(|b| from_json("get_event", &b)).transpose()
}

/// What `list` selects.
pub(crate) struct EventQuery {
    /// One state, or every state.
    pub state: Option<String>,
    /// Inclusive lower bound, Unix ns.
    pub since_ns: i64,
    /// Exclusive upper bound, Unix ns.
    pub until_ns: i64,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Requested page size.
    pub limit: usize,
}

/// One page of events in `[since, until)`, oldest first (by received_at, then id).
pub(crate) fn list(conn: &Connection, q: &EventQuery) -> Result<Page<Event>, PortError> {
    let size = cursor::page_size(q.limit);
    let mut sql =
        String::from("SELECT body FROM events WHERE received_at_ns >= ? AND received_at_ns < ?");
    let mut args = vec![Value::Integer(q.since_ns), Value::Integer(q.until_ns)];
    if let Some(state) = &q.state {
        sql.push_str(" AND state = ?");
        args.push(Value::Text(state.clone()));
    }
    if let Some(c) = &q.cursor {
        let (ns, id) = cursor::decode_timed(Kind::Events, c)?;
        sql.push_str(" AND (received_at_ns, id) > (?, ?)");
        args.push(Value::Integer(ns));
        args.push(Value::Text(id));
    }
    sql.push_str(" ORDER BY received_at_ns, id LIMIT ?");
    args.push(Value::Integer(limit_plus_one(size)));
    let rows: Vec<Event> = query_bodies("list_events", conn, &sql, params_from_iter(args))?;
    Ok(page(rows, size, |e| {
        cursor::encode_timed(Kind::Events, unix_ns(e.received_at), &e.id)
    }))
}

/// One page of `list_recent_events`: events in `[since, until)`, newest first (by received_at,
/// then id), of some states and one type (read from the body).
pub(crate) fn list_recent(
    conn: &Connection,
    listing: &EventListing,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Event>, PortError> {
    let size = cursor::page_size(limit);
    if listing.states.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let mut sql =
        String::from("SELECT body FROM events WHERE received_at_ns >= ? AND received_at_ns < ?");
    let mut args = vec![
        Value::Integer(unix_ns(listing.since)),
        Value::Integer(unix_ns(listing.until)),
    ];
    if let Some(states) = &listing.states {
        let marks = vec!["?"; states.len()].join(", ");
        sql.push_str(&format!(" AND state IN ({marks})"));
        args.extend(states.iter().map(|s| Value::Text(s.to_string())));
    }
    if let Some(event_type) = &listing.event_type {
        sql.push_str(" AND json_extract(body, '$.type') = ?");
        args.push(Value::Text(event_type.clone()));
    }
    if let Some(c) = cursor {
        let (ns, id) = cursor::decode_timed(Kind::Events, c)?;
        sql.push_str(" AND (received_at_ns, id) < (?, ?)");
        args.push(Value::Integer(ns));
        args.push(Value::Text(id));
    }
    sql.push_str(" ORDER BY received_at_ns DESC, id DESC LIMIT ?");
    args.push(Value::Integer(limit_plus_one(size)));
    let rows: Vec<Event> = query_bodies("list_recent_events", conn, &sql, params_from_iter(args))?;
    Ok(page(rows, size, |e| {
        cursor::encode_timed(Kind::Events, unix_ns(e.received_at), &e.id)
    }))
}
