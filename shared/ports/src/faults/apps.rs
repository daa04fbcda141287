//! The fault-injecting store's integration apps ports (app versions, connections, polls) and
//! secret store: each call a fault point named after its method.

use async_trait::async_trait;
use hookline_domain::apps::{AppVersion, Connection, PollState};
use hookline_domain::{ClientId, ConnectionId};
use time::OffsetDateTime;

use super::FaultyStore;
use crate::{AppStore, ConnectionStore, Page, PollStore, PortError, SecretStore};

#[async_trait]
impl AppStore for FaultyStore {
    async fn insert_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        self.faults
            .around("insert_app_version", self.inner.insert_app_version(v))
            .await
    }
    async fn get_app_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<AppVersion>, PortError> {
        self.faults
            .around("get_app_version", self.inner.get_app_version(key, version))
            .await
    }
    async fn update_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        self.faults
            .around("update_app_version", self.inner.update_app_version(v))
            .await
    }
    async fn list_app_versions(
        &self,
        key: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AppVersion>, PortError> {
        self.faults
            .around(
                "list_app_versions",
                self.inner.list_app_versions(key, cursor, limit),
            )
            .await
    }
}

#[async_trait]
impl ConnectionStore for FaultyStore {
    async fn insert_connection(&self, c: &Connection) -> Result<(), PortError> {
        self.faults
            .around("insert_connection", self.inner.insert_connection(c))
            .await
    }
    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, PortError> {
        self.faults
            .around("get_connection", self.inner.get_connection(id))
            .await
    }
    async fn connection_by_hook(&self, hook_token: &str) -> Result<Option<Connection>, PortError> {
        self.faults
            .around(
                "connection_by_hook",
                self.inner.connection_by_hook(hook_token),
            )
            .await
    }
    async fn update_connection(&self, c: &Connection) -> Result<bool, PortError> {
        self.faults
            .around("update_connection", self.inner.update_connection(c))
            .await
    }
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), PortError> {
        self.faults
            .around("delete_connection", self.inner.delete_connection(id))
            .await
    }
    async fn list_connections(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Connection>, PortError> {
        self.faults
            .around(
                "list_connections",
                self.inner.list_connections(client_id, cursor, limit),
            )
            .await
    }
}

#[async_trait]
impl PollStore for FaultyStore {
    async fn put_poll(&self, p: &PollState) -> Result<(), PortError> {
        self.faults.around("put_poll", self.inner.put_poll(p)).await
    }
    async fn get_poll(
        &self,
        connection: &ConnectionId,
        trigger: &str,
    ) -> Result<Option<PollState>, PortError> {
        self.faults
            .around("get_poll", self.inner.get_poll(connection, trigger))
            .await
    }
    async fn update_poll(&self, p: &PollState) -> Result<bool, PortError> {
        self.faults
            .around("update_poll", self.inner.update_poll(p))
            .await
    }
    async fn delete_polls(&self, connection: &ConnectionId) -> Result<(), PortError> {
        self.faults
            .around("delete_polls", self.inner.delete_polls(connection))
            .await
    }
    async fn due_polls(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<PollState>, PortError> {
        self.faults
            .around("due_polls", self.inner.due_polls(now, limit))
            .await
    }
}

#[async_trait]
impl SecretStore for FaultyStore {
    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), PortError> {
        self.faults
            .around("put_secret", self.inner.put_secret(name, value))
            .await
    }
    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        self.faults
            .around("get_secret", self.inner.get_secret(name))
            .await
    }
    async fn delete_secret(&self, name: &str) -> Result<(), PortError> {
        self.faults
            .around("delete_secret", self.inner.delete_secret(name))
            .await
    }
}
