//! The integration apps' app versions and connections on SQLite. Each is stored whole as its
//! JSON body beside the columns its access patterns key on: an app version's (key, version),
//! its `sort_key` (semver order: `hookline_ports::version_sort_key`) and `revision`; a
//! connection's id, owner, hook token (unique: the lookup of an inbound hook) and `version`.
//! Conditional writes compare the column and store the body with the next value.

use async_trait::async_trait;
use hookline_domain::apps::{AppVersion, Connection};
use hookline_domain::{ClientId, ConnectionId};
use hookline_ports::{AppStore, ConnectionStore, Page, PortError, version_sort_key};
use rusqlite::{Connection as Sql, OptionalExtension, params};

use crate::EmbeddedBackend;
use crate::codec::{limit_plus_one, page, query_bodies, to_json};
use crate::cursor::{self, Kind};
use crate::error::sqlite;

/// Separates the key from the version in a cursor (neither holds it).
const CURSOR_SEP: char = '\u{1}';

fn sql_number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The stored number in `sql` (one row, one column), if there is a row.
fn stored_number(
    op: &str,
    conn: &Sql,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<i64>, PortError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, |r| r.get(0)).optional())
        .map_err(|e| sqlite(op, e))
}

/// Runs one statement; the rows it changed.
fn execute(
    op: &str,
    conn: &Sql,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, PortError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(|e| sqlite(op, e))
}

#[async_trait]
impl AppStore for EmbeddedBackend {
    async fn insert_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        const OP: &str = "insert_app_version";
        let (key, version) = (v.key().to_string(), v.version().to_string());
        let (sort, revision, body) = (
            version_sort_key(&version),
            sql_number(v.revision),
            to_json(OP, v)?,
        );
        self.db
            .write(OP, move |tx| {
                let n = execute(
                    OP,
                    tx,
                    "INSERT INTO app_versions (key, version, sort_key, revision, body)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key, version) DO NOTHING",
                    params![key, version, sort, revision, body],
                )?;
                Ok(n == 1)
            })
            .await
    }

    async fn get_app_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<AppVersion>, PortError> {
        const OP: &str = "get_app_version";
        let (key, version) = (key.to_string(), version.to_string());
        self.db
            .lookup(OP, move |c| {
                let sql = "SELECT body FROM app_versions WHERE key = ?1 AND version = ?2";
                Ok(query_bodies(OP, c, sql, params![key, version])?.pop())
            })
            .await
    }

    async fn update_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        const OP: &str = "update_app_version";
        let expected = v.revision;
        let mut next = v.clone();
        next.revision = expected.saturating_add(1);
        let (key, version) = (v.key().to_string(), v.version().to_string());
        let body = to_json(OP, &next)?;
        self.db
            .write(OP, move |tx| {
                let n = execute(
                    OP,
                    tx,
                    "UPDATE app_versions SET revision = ?3, body = ?4
                     WHERE key = ?1 AND version = ?2 AND revision = ?5",
                    params![
                        key,
                        version,
                        sql_number(expected.saturating_add(1)),
                        body,
                        sql_number(expected)
                    ],
                )?;
                if n == 1 {
                    return Ok(true);
                }
                let sql = "SELECT revision FROM app_versions WHERE key = ?1 AND version = ?2";
                match stored_number(OP, tx, sql, params![key, version])? {
                    Some(_) => Ok(false),
                    None => Err(PortError::NotFound),
                }
            })
            .await
    }

    async fn list_app_versions(
        &self,
        key: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AppVersion>, PortError> {
        const OP: &str = "list_app_versions";
        // After (key, sort key, version); the empty key sorts first.
        let after = match cursor {
            Some(c) => {
                let text = cursor::decode_id(Kind::AppVersions, c)?;
                let (k, v) = text
                    .split_once(CURSOR_SEP)
                    .ok_or(PortError::InvalidCursor)?;
                (k.to_string(), version_sort_key(v), v.to_string())
            }
            None => Default::default(),
        };
        let key = key.map(str::to_string);
        let size = cursor::page_size(limit);
        let rows: Vec<AppVersion> = self
            .db
            .read(OP, move |c| {
                let (ak, asort, aver) = after;
                match key {
                    Some(key) => query_bodies(
                        OP,
                        c,
                        "SELECT body FROM app_versions
                         WHERE key = ?1 AND (key, sort_key, version) > (?2, ?3, ?4)
                         ORDER BY key, sort_key, version LIMIT ?5",
                        params![key, ak, asort, aver, limit_plus_one(size)],
                    ),
                    None => query_bodies(
                        OP,
                        c,
                        "SELECT body FROM app_versions WHERE (key, sort_key, version) > (?1, ?2, ?3)
                         ORDER BY key, sort_key, version LIMIT ?4",
                        params![ak, asort, aver, limit_plus_one(size)],
                    ),
                }
            })
            .await?;
        Ok(page(rows, size, |v| {
            let last = format!("{}{CURSOR_SEP}{}", v.key(), v.version());
            cursor::encode_id(Kind::AppVersions, &last)
        }))
    }
}

#[async_trait]
impl ConnectionStore for EmbeddedBackend {
    async fn insert_connection(&self, c: &Connection) -> Result<(), PortError> {
        const OP: &str = "insert_connection";
        let (id, client, token) = (
            c.id.to_string(),
            c.client_id.to_string(),
            c.hook_token.clone(),
        );
        let (version, body) = (sql_number(c.version), to_json(OP, c)?);
        self.db
            .write(OP, move |tx| {
                let n = execute(
                    OP,
                    tx,
                    "INSERT INTO connections (id, client_id, hook_token, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![id, client, token, version, body],
                )?;
                match n {
                    1 => Ok(()),
                    _ => Err(PortError::Conflict(
                        "connection id or hook token already exists".to_string(),
                    )),
                }
            })
            .await
    }

    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, PortError> {
        const OP: &str = "get_connection";
        let id = id.to_string();
        self.db
            .lookup(OP, move |c| {
                let sql = "SELECT body FROM connections WHERE id = ?1";
                Ok(query_bodies(OP, c, sql, params![id])?.pop())
            })
            .await
    }

    async fn connection_by_hook(&self, hook_token: &str) -> Result<Option<Connection>, PortError> {
        const OP: &str = "connection_by_hook";
        let token = hook_token.to_string();
        self.db
            .lookup(OP, move |c| {
                let sql = "SELECT body FROM connections WHERE hook_token = ?1";
                Ok(query_bodies(OP, c, sql, params![token])?.pop())
            })
            .await
    }

    async fn update_connection(&self, c: &Connection) -> Result<bool, PortError> {
        const OP: &str = "update_connection";
        let expected = c.version;
        let mut next = c.clone();
        next.version = expected.saturating_add(1);
        let (id, client, token) = (
            c.id.to_string(),
            c.client_id.to_string(),
            c.hook_token.clone(),
        );
        let body = to_json(OP, &next)?;
        self.db
            .write(OP, move |tx| {
                let stored: Option<(i64, String)> = tx
                    .prepare_cached("SELECT version, hook_token FROM connections WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(|e| sqlite(OP, e))?;
                let Some((version, stored_token)) = stored else {
                    return Err(PortError::NotFound);
                };
                if version != sql_number(expected) {
                    return Ok(false);
                }
                if stored_token != token {
                    return Err(PortError::Conflict(
                        "a connection's hook token never changes".to_string(),
                    ));
                }
                execute(
                    OP,
                    tx,
                    "UPDATE connections SET client_id = ?2, version = ?3, body = ?4 WHERE id = ?1",
                    params![id, client, sql_number(expected.saturating_add(1)), body],
                )?;
                Ok(true)
            })
            .await
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), PortError> {
        const OP: &str = "delete_connection";
        let id = id.to_string();
        self.db
            .write(OP, move |tx| {
                match execute(OP, tx, "DELETE FROM connections WHERE id = ?1", params![id])? {
                    0 => Err(PortError::NotFound),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn list_connections(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Connection>, PortError> {
        const OP: &str = "list_connections";
        let after = match cursor {
            Some(c) => cursor::decode_id(Kind::Connections, c)?,
            None => String::new(),
        };
        let client = client_id.map(ClientId::to_string);
        let size = cursor::page_size(limit);
        let rows: Vec<Connection> = self
            .db
            .read(OP, move |c| match client {
                Some(client) => query_bodies(
                    OP,
                    c,
                    "SELECT body FROM connections WHERE client_id = ?1 AND id > ?2
                     ORDER BY id LIMIT ?3",
                    params![client, after, limit_plus_one(size)],
                ),
                None => query_bodies(
                    OP,
                    c,
                    "SELECT body FROM connections WHERE id > ?1 ORDER BY id LIMIT ?2",
                    params![after, limit_plus_one(size)],
                ),
            })
            .await?;
        Ok(page(rows, size, |c| {
            cursor::encode_id(Kind::Connections, c.id.as_str())
        }))
    }
}
