//! The polling triggers' schedule on SQLite: one row per (connection, trigger), its JSON body
//! beside `next_run_ns` and `lease_until_ns` (what `due_polls` filters and sorts on, through
//! the `polls_due` index) and `version` (the condition of `update_poll`).

use async_trait::async_trait;
use hookline_domain::ConnectionId;
use hookline_domain::apps::PollState;
use hookline_ports::{PollStore, PortError};
use rusqlite::params;
use time::OffsetDateTime;

use crate::EmbeddedBackend;
use crate::codec::{query_bodies, to_json, unix_ns};
use crate::error::sqlite;

/// The columns of a poll's row.
struct PollRow {
    connection: String,
    trigger: String,
    next_run_ns: i64,
    lease_until_ns: Option<i64>,
    version: i64,
    body: String,
}

impl PollRow {
    fn of(op: &str, p: &PollState) -> Result<PollRow, PortError> {
        Ok(PollRow {
            connection: p.connection_id.to_string(),
            trigger: p.trigger.clone(),
            next_run_ns: unix_ns(p.next_run_at),
            lease_until_ns: p.lease_until.map(unix_ns),
            version: i64::try_from(p.version).unwrap_or(i64::MAX),
            body: to_json(op, p)?,
        })
    }
}

#[async_trait]
impl PollStore for EmbeddedBackend {
    async fn put_poll(&self, p: &PollState) -> Result<(), PortError> {
        const OP: &str = "put_poll";
        let r = PollRow::of(OP, p)?;
        self.db
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO polls
                         (connection_id, trigger_key, next_run_ns, lease_until_ns, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        r.connection,
                        r.trigger,
                        r.next_run_ns,
                        r.lease_until_ns,
                        r.version,
                        r.body
                    ])
                })
                .map_err(|e| sqlite(OP, e))
                .map(|_| ())
            })
            .await
    }

    async fn get_poll(
        &self,
        connection: &ConnectionId,
        trigger: &str,
    ) -> Result<Option<PollState>, PortError> {
        const OP: &str = "get_poll";
        let (connection, trigger) = (connection.to_string(), trigger.to_string());
        self.db
            .lookup(OP, move |c| {
                let sql = "SELECT body FROM polls WHERE connection_id = ?1 AND trigger_key = ?2";
                Ok(query_bodies(OP, c, sql, params![connection, trigger])?.pop())
            })
            .await
    }

    async fn update_poll(&self, p: &PollState) -> Result<bool, PortError> {
        const OP: &str = "update_poll";
        let expected = i64::try_from(p.version).unwrap_or(i64::MAX);
        let mut next = p.clone();
        next.version = p.version.saturating_add(1);
        let r = PollRow::of(OP, &next)?;
        self.db
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "UPDATE polls SET next_run_ns = ?3, lease_until_ns = ?4, version = ?5, body = ?6
                     WHERE connection_id = ?1 AND trigger_key = ?2 AND version = ?7",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        r.connection,
                        r.trigger,
                        r.next_run_ns,
                        r.lease_until_ns,
                        r.version,
                        r.body,
                        expected
                    ])
                })
                .map_err(|e| sqlite(OP, e))
                .map(|n| n == 1)
            })
            .await
    }

    async fn delete_polls(&self, connection: &ConnectionId) -> Result<(), PortError> {
        const OP: &str = "delete_polls";
        let connection = connection.to_string();
        self.db
            .write(OP, move |tx| {
                tx.prepare_cached("DELETE FROM polls WHERE connection_id = ?1")
                    .and_then(|mut s| s.execute(params![connection]))
                    .map_err(|e| sqlite(OP, e))
                    .map(|_| ())
            })
            .await
    }

    async fn due_polls(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<PollState>, PortError> {
        const OP: &str = "due_polls";
        let now_ns = unix_ns(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(OP, move |c| {
                query_bodies(
                    OP,
                    c,
                    "SELECT body FROM polls
                     WHERE next_run_ns <= ?1 AND (lease_until_ns IS NULL OR lease_until_ns <= ?1)
                     ORDER BY next_run_ns, connection_id, trigger_key LIMIT ?2",
                    params![now_ns, limit],
                )
            })
            .await
    }
}
