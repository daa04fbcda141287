//! The pull port on SQLite: `pull_logs` holds each log's last and acknowledged positions,
//! `pull_messages` its messages by (subscription, position), unique per delivery cycle
//! (`append_key`). An append is one write on the one writer: it reads the last position,
//! inserts the message at the next and moves the last position, so that positions follow one
//! another without a gap whatever appends at once. A reader waiting for a message is woken
//! by a watch channel that every append bumps.

use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::{PullMessage, SubscriptionId};
use hookline_ports::{Ack, Appended, PortError, PullLog, PullStore};
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::EmbeddedBackend;
use crate::codec::{query_bodies, to_json, unix_ns};
use crate::error::sqlite;

fn position(p: i64) -> u64 {
    u64::try_from(p).unwrap_or(0)
}

fn sql_position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

fn read_log(op: &str, conn: &Connection, sub: &str) -> Result<PullLog, PortError> {
    conn.prepare_cached(
        "SELECT last_position, acked_position FROM pull_logs WHERE subscription_id = ?1",
    )
    .and_then(|mut s| {
        s.query_row(params![sub], |r| {
            Ok(PullLog {
                last: position(r.get(0)?),
                acked: position(r.get(1)?),
            })
        })
        .optional()
    })
    .map(Option::unwrap_or_default)
    .map_err(|e| sqlite(op, e))
}

fn append(conn: &Connection, m: &PullMessage, body: String) -> Result<Appended, PortError> {
    const OP: &str = "append_pull_message";
    let sub = m.subscription_id.as_str();
    let key = format!("{}#{}", m.delivery_id, m.cycle);
    let existing: Option<i64> = conn
        .prepare_cached(
            "SELECT position FROM pull_messages WHERE subscription_id = ?1 AND append_key = ?2",
        )
        .and_then(|mut s| s.query_row(params![sub, key], |r| r.get(0)).optional())
        .map_err(|e| sqlite(OP, e))?;
    if let Some(p) = existing {
        return Ok(Appended::Already(position(p)));
    }
    let next = read_log(OP, conn, sub)?.last + 1;
    conn.prepare_cached(
        "INSERT INTO pull_logs (subscription_id, last_position, acked_position) VALUES (?1, ?2, 0)
         ON CONFLICT (subscription_id) DO UPDATE SET last_position = excluded.last_position",
    )
    .and_then(|mut s| s.execute(params![sub, sql_position(next)]))
    .map_err(|e| sqlite(OP, e))?;
    conn.prepare_cached(
        "INSERT INTO pull_messages (subscription_id, position, append_key, kept_until_ns, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            sub,
            sql_position(next),
            key,
            unix_ns(m.kept_until),
            body
        ])
    })
    .map_err(|e| sqlite(OP, e))?;
    Ok(Appended::New(next))
}

#[async_trait]
impl PullStore for EmbeddedBackend {
    async fn append_pull_message(&self, message: &PullMessage) -> Result<Appended, PortError> {
        const OP: &str = "append_pull_message";
        let mut stored = message.clone();
        let m = message.clone();
        let appended = self
            .db
            .write(OP, move |tx| {
                // The body holds the position it is stored at.
                stored.position = read_log(OP, tx, stored.subscription_id.as_str())?.last + 1;
                let body = to_json(OP, &stored)?;
                append(tx, &m, body)
            })
            .await?;
        if matches!(appended, Appended::New(_)) {
            self.pull_appends.send_modify(|n| *n += 1);
        }
        Ok(appended)
    }

    async fn list_pull_messages(
        &self,
        subscription: &SubscriptionId,
        after: u64,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<PullMessage>, PortError> {
        const OP: &str = "list_pull_messages";
        let sub = subscription.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (after, now_ns) = (sql_position(after), unix_ns(now));
        self.db
            .read(OP, move |c| {
                query_bodies(
                    OP,
                    c,
                    "SELECT body FROM pull_messages
                     WHERE subscription_id = ?1 AND position > ?2 AND kept_until_ns > ?3
                     ORDER BY position LIMIT ?4",
                    params![sub, after, now_ns, limit],
                )
            })
            .await
    }

    async fn pull_log(&self, subscription: &SubscriptionId) -> Result<PullLog, PortError> {
        const OP: &str = "pull_log";
        let sub = subscription.to_string();
        self.db.read(OP, move |c| read_log(OP, c, &sub)).await
    }

    async fn ack_pull_messages(
        &self,
        subscription: &SubscriptionId,
        position: u64,
    ) -> Result<Ack, PortError> {
        const OP: &str = "ack_pull_messages";
        let sub = subscription.to_string();
        self.db
            .write(OP, move |tx| {
                let log = read_log(OP, tx, &sub)?;
                if position > log.last {
                    return Ok(Ack::Beyond);
                }
                if position > log.acked {
                    tx.prepare_cached(
                        "UPDATE pull_logs SET acked_position = ?2 WHERE subscription_id = ?1",
                    )
                    .and_then(|mut s| s.execute(params![sub, sql_position(position)]))
                    .map_err(|e| sqlite(OP, e))?;
                }
                Ok(Ack::At(position.max(log.acked)))
            })
            .await
    }

    async fn delete_pull_log(&self, subscription: &SubscriptionId) -> Result<(), PortError> {
        const OP: &str = "delete_pull_log";
        let sub = subscription.to_string();
        self.db
            .write(OP, move |tx| {
                for sql in [
                    "DELETE FROM pull_messages WHERE subscription_id = ?1",
                    "DELETE FROM pull_logs WHERE subscription_id = ?1",
                ] {
                    tx.prepare_cached(sql)
                        .and_then(|mut s| s.execute(params![sub]))
                        .map_err(|e| sqlite(OP, e))?;
                }
                Ok(())
            })
            .await
    }

    fn pull_appends_seen(&self) -> u64 {
        *self.pull_appends.borrow()
    }

    async fn await_pull_append(&self, seen: u64, max: Duration) {
        let mut appends = self.pull_appends.subscribe();
        let _ = tokio::time::timeout(max, appends.wait_for(|n| *n != seen)).await;
    }
}
