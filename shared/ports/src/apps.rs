//! The integration apps' ports: published app versions ([`AppStore`]), connections
//! ([`ConnectionStore`]) and the polling triggers' schedule ([`PollStore`]). As in `store`,
//! every method is a DynamoDB-cheap operation:
//!
//! | method | access pattern (DynamoDB shape) |
//! |---|---|
//! | `insert_app_version` | conditional put `APP#key#version` (attribute_not_exists) |
//! | `get_app_version` | key lookup `APP#key#version` |
//! | `update_app_version` | conditional put `APP#key#version` (revision = expected) |
//! | `list_app_versions` | query index partition `APPS` (every key) or `APP#key#VERSIONS`, by key then [`version_sort_key`] |
//! | `insert_connection` | transaction: conditional put `CONN#id` + conditional put `HOOK#token` |
//! | `get_connection` | key lookup `CONN#id` |
//! | `connection_by_hook` | key lookup `HOOK#token`, then `CONN#id` |
//! | `update_connection` | conditional put `CONN#id` (version = expected, hook token unchanged) |
//! | `delete_connection` | transaction: delete `CONN#id` + delete `HOOK#token` |
//! | `list_connections` | query index partition `CLIENT#id#CONNS`, or `CONNS` for all, by id |
//! | `put_poll` | put `POLL#connection` / `TRIGGER#trigger` (listed in index partition `POLLS` by next run) |
//! | `get_poll` | key lookup `POLL#connection` / `TRIGGER#trigger` |
//! | `update_poll` | conditional put (version = expected) |
//! | `delete_polls` | query partition `POLL#connection`, delete each |
//! | `due_polls` | query index partition `POLLS` up to `now` (by next run), leased ones dropped from what is read |
//!
//! Secrets are not here but in [`crate::secrets`].

use async_trait::async_trait;
use hookline_domain::apps::{AppVersion, Connection, PollState};
use hookline_domain::{ClientId, ConnectionId};
use time::OffsetDateTime;

use crate::error::PortError;
use crate::store::Page;

/// The key by which versions sort in semver order (`1.10.0` after `1.9.0`, a pre-release
/// before its release): each numeric part zero-padded to ten digits, then `~` for a release
/// or `-` and the pre-release text.
pub fn version_sort_key(version: &str) -> String {
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version.split('+').next().unwrap_or(version), None),
    };
    let mut key = core
        .split('.')
        .map(|part| format!("{:0>10}", part))
        .collect::<Vec<_>>()
        .join(".");
    match pre {
        Some(pre) => {
            key.push('-');
            key.push_str(pre.split('+').next().unwrap_or(pre));
        }
        None => key.push('~'),
    }
    key
}

/// Published app versions.
#[async_trait]
pub trait AppStore: Send + Sync + 'static {
    /// Stores a new version; false (writing nothing) if (key, version) exists.
    async fn insert_app_version(&self, v: &AppVersion) -> Result<bool, PortError>;
    /// A version by key and semver.
    async fn get_app_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<AppVersion>, PortError>;
    /// Replaces a version only if its stored `revision` still equals `v.revision`, storing
    /// `revision + 1`; false (writing nothing) if it moved; `NotFound` if there is none.
    async fn update_app_version(&self, v: &AppVersion) -> Result<bool, PortError>;
    /// Versions of one app (or of every app), by key then [`version_sort_key`].
    async fn list_app_versions(
        &self,
        key: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AppVersion>, PortError>;
}

/// Connections.
#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    /// Stores a new connection; `Conflict` if its id or hook token exists.
    async fn insert_connection(&self, c: &Connection) -> Result<(), PortError>;
    /// A connection by id.
    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, PortError>;
    /// The connection whose hook token this is.
    async fn connection_by_hook(&self, hook_token: &str) -> Result<Option<Connection>, PortError>;
    /// Replaces a connection only if its stored `version` still equals `c.version`, storing
    /// `version + 1`; false (writing nothing) if it moved; `NotFound` if there is none. The
    /// hook token never changes: `Conflict` (writing nothing) if `c` carries another one.
    async fn update_connection(&self, c: &Connection) -> Result<bool, PortError>;
    /// Deletes a connection (and its hook token); `NotFound` if there is none.
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), PortError>;
    /// Connections of one client (or all, for `None`), by id.
    async fn list_connections(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Connection>, PortError>;
}

/// The polling triggers' schedule and progress.
#[async_trait]
pub trait PollStore: Send + Sync + 'static {
    /// Creates or replaces the schedule of (connection, trigger), whatever is stored.
    async fn put_poll(&self, p: &PollState) -> Result<(), PortError>;
    /// The schedule of (connection, trigger).
    async fn get_poll(
        &self,
        connection: &ConnectionId,
        trigger: &str,
    ) -> Result<Option<PollState>, PortError>;
    /// Replaces it only if its stored `version` still equals `p.version`, storing
    /// `version + 1`; false (writing nothing) if it moved or is gone. A poller claims a run
    /// with this (setting `lease_until`), and records the run's outcome with it.
    async fn update_poll(&self, p: &PollState) -> Result<bool, PortError>;
    /// Deletes every trigger's schedule of a connection.
    async fn delete_polls(&self, connection: &ConnectionId) -> Result<(), PortError>;
    /// Schedules due at `now` (`next_run_at <= now`, no lease past `now`), the most overdue
    /// first, at most `limit`.
    async fn due_polls(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<PollState>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::version_sort_key;

    #[test]
    fn versions_sort_in_semver_order() {
        let mut v = [
            "1.10.0",
            "1.9.0",
            "2.0.0-beta.1",
            "2.0.0",
            "1.9.0-rc.1",
            "0.1.0",
        ];
        v.sort_by_key(|s| version_sort_key(s));
        assert_eq!(
            v,
            [
                "0.1.0",
                "1.9.0-rc.1",
                "1.9.0",
                "1.10.0",
                "2.0.0-beta.1",
                "2.0.0"
            ]
        );
    }
}
