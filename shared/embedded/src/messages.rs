//! The `messages` table: one row per queued message, in whichever queue it sits now.
//!
//! A message is visible when `visible_at_ms <= now`. Receiving it gives it a fresh receipt
//! handle, counts the receive and hides it until `now + visibility`; only the current handle
//! can delete it or change its visibility. A handle is `<seq>.<random>`: the row's key, so
//! that deleting by handle is a lookup by key and needs no index of its own (one on random
//! handles would take a write to a random page of it on every receive and every delete), and
//! a random part that a later receive replaces. Each function here is one step of one
//! transaction; `queue.rs` adds the waiting.

use std::collections::HashSet;

use hookline_domain::ids;
use hookline_ports::{PortError, QueueName, ReceivedMessage};
use rusqlite::{Connection, params};

use crate::error::sqlite;

/// A message to insert.
pub(crate) struct Outgoing {
    /// New message id.
    pub message_id: String,
    /// JSON body.
    pub body: String,
    /// When it first becomes visible, Unix ms.
    pub visible_at_ms: i64,
}

/// What one receive transaction did.
pub(crate) struct Received {
    /// The messages handed out.
    pub messages: Vec<ReceivedMessage>,
    /// How many messages were moved to the dead-letter queue instead.
    pub moved: usize,
    /// When nothing was handed out: the earliest time a message of the queue becomes visible.
    pub next_visible_ms: Option<i64>,
}

/// Redrive settings of a source queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redrive {
    /// The dead-letter queue.
    pub dlq: QueueName,
    /// Receives a message may have before the next one moves it.
    pub max_receives: u32,
}

/// Inserts messages into `queue`, all sent at `now_ms`.
pub(crate) fn send(
    conn: &Connection,
    queue: QueueName,
    msgs: &[Outgoing],
    now_ms: i64,
) -> Result<(), PortError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO messages (queue, message_id, body, visible_at_ms, receive_count, sent_at_ms)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        )
        .map_err(|e| sqlite("send", e))?;
    for m in msgs {
        stmt.execute(params![
            queue.as_str(),
            m.message_id,
            m.body,
            m.visible_at_ms,
            now_ms
        ])
        .map_err(|e| sqlite("send", e))?;
    }
    Ok(())
}

struct Candidate {
    seq: i64,
    message_id: String,
    body: String,
    receive_count: i64,
    sent_at_ms: i64,
    visible_at_ms: i64,
}

/// Hands out up to `max` visible messages, oldest-visible first, hidden until
/// `now_ms + visibility_ms`; a message already received `max_receives` times goes to the
/// dead-letter queue instead (SQS redrive happens at receive time too).
pub(crate) fn receive(
    conn: &Connection,
    queue: QueueName,
    max: usize,
    visibility_ms: i64,
    redrive: Option<Redrive>,
    now_ms: i64,
) -> Result<Received, PortError> {
    const OP: &str = "receive";
    // No `LIMIT ?`: SQLite re-plans a statement whose LIMIT is a bound parameter on every
    // new binding, and this one runs for every receive. The rows are read one by one along
    // the index, so stopping after `want` of them costs the same as a limit would.
    let mut select = conn
        .prepare_cached(
            "SELECT seq, message_id, body, receive_count, sent_at_ms, visible_at_ms FROM messages
             WHERE queue = ?1 AND visible_at_ms <= ?2 AND (visible_at_ms, seq) > (?3, ?4)
             ORDER BY visible_at_ms, seq",
        )
        .map_err(|e| sqlite(OP, e))?;
    let mut hand_out = conn
        .prepare_cached(
            "UPDATE messages SET receipt_handle = ?2, receive_count = receive_count + 1,
                 visible_at_ms = ?3
             WHERE seq = ?1",
        )
        .map_err(|e| sqlite(OP, e))?;
    let mut move_to = conn
        .prepare_cached(
            "UPDATE messages SET queue = ?2, receipt_handle = NULL, visible_at_ms = ?3 WHERE seq = ?1",
        )
        .map_err(|e| sqlite(OP, e))?;

    let mut out = Vec::new();
    let mut moved = 0;
    // A message handed out with visibility 0 stays visible and may come round again in a later
    // chunk of this same receive: `seen` keeps it from being handed out twice.
    let mut seen = HashSet::new();
    let mut after = (i64::MIN, i64::MIN);
    while out.len() < max {
        let want = max - out.len();
        let chunk = select
            .query_map(params![queue.as_str(), now_ms, after.0, after.1], |r| {
                Ok(Candidate {
                    seq: r.get(0)?,
                    message_id: r.get(1)?,
                    body: r.get(2)?,
                    receive_count: r.get(3)?,
                    sent_at_ms: r.get(4)?,
                    visible_at_ms: r.get(5)?,
                })
            })
            .map_err(|e| sqlite(OP, e))?
            .take(want)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sqlite(OP, e))?;
        let Some(last) = chunk.last() else { break };
        after = (last.visible_at_ms, last.seq);
        for c in chunk {
            if !seen.insert(c.seq) {
                continue;
            }
            match redrive {
                Some(r) if c.receive_count >= i64::from(r.max_receives) => {
                    move_to
                        .execute(params![c.seq, r.dlq.as_str(), now_ms])
                        .map_err(|e| sqlite(OP, e))?;
                    moved += 1;
                }
                _ => {
                    let handle = new_handle(c.seq);
                    hand_out
                        .execute(params![c.seq, handle, now_ms.saturating_add(visibility_ms)])
                        .map_err(|e| sqlite(OP, e))?;
                    out.push(ReceivedMessage {
                        message_id: c.message_id,
                        receipt_handle: handle,
                        body: c.body,
                        receive_count: u32::try_from(c.receive_count + 1).unwrap_or(u32::MAX),
                        sent_at_ms: c.sent_at_ms,
                    });
                }
            }
        }
    }
    let next_visible_ms = if out.is_empty() {
        conn.prepare_cached("SELECT min(visible_at_ms) FROM messages WHERE queue = ?1")
            .and_then(|mut s| s.query_row(params![queue.as_str()], |r| r.get(0)))
            .map_err(|e| sqlite(OP, e))?
    } else {
        None
    };
    Ok(Received {
        messages: out,
        moved,
        next_visible_ms,
    })
}

/// A fresh receipt handle for row `seq`: the key, a dot, 128 random bits in hex. The random
/// part only has to differ from the earlier receives' (a stale handle must not match); the
/// handle is no secret from the process that holds the queue.
fn new_handle(seq: i64) -> String {
    use std::fmt::Write;
    let mut handle = String::with_capacity(20 + 1 + 32);
    let _ = write!(handle, "{seq}.{:032x}", ids::random_u128());
    handle
}

/// The row a receipt handle names; `None` for text no receive handed out.
fn seq_of(handle: &str) -> Option<i64> {
    handle.split_once('.')?.0.parse().ok()
}

/// Deletes the messages whose current receipt handle is given; other handles do nothing.
pub(crate) fn delete(
    conn: &Connection,
    queue: QueueName,
    handles: &[String],
) -> Result<(), PortError> {
    let mut stmt = conn
        .prepare_cached(
            "DELETE FROM messages WHERE seq = ?1 AND queue = ?2 AND receipt_handle = ?3",
        )
        .map_err(|e| sqlite("delete", e))?;
    for h in handles {
        let Some(seq) = seq_of(h) else { continue };
        stmt.execute(params![seq, queue.as_str(), h])
            .map_err(|e| sqlite("delete", e))?;
    }
    Ok(())
}

/// Sets the visibility of the message whose current handle is `handle`; false if none.
pub(crate) fn change_visibility(
    conn: &Connection,
    queue: QueueName,
    handle: &str,
    visible_at_ms: i64,
) -> Result<bool, PortError> {
    let Some(seq) = seq_of(handle) else {
        return Ok(false);
    };
    let n = conn
        .prepare_cached(
            "UPDATE messages SET visible_at_ms = ?4
             WHERE seq = ?1 AND queue = ?2 AND receipt_handle = ?3",
        )
        .and_then(|mut s| s.execute(params![seq, queue.as_str(), handle, visible_at_ms]))
        .map_err(|e| sqlite("change_visibility", e))?;
    Ok(n > 0)
}

/// Messages in `queue`, visible, delayed or in flight.
pub(crate) fn depth(conn: &Connection, queue: QueueName) -> Result<u64, PortError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM messages WHERE queue = ?1")
        .and_then(|mut s| s.query_row(params![queue.as_str()], |r| r.get(0)))
        .map_err(|e| sqlite("depth", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
