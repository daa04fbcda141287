//! TEMPORARY (issue 23 skeleton): the integration apps' ports on DynamoDB answer a backend
//! error until the stores' branch lands their implementation (the next commits).

use async_trait::async_trait;
use hookline_domain::apps::{AppVersion, Connection, PollState};
use hookline_domain::{ClientId, ConnectionId};
use hookline_ports::{AppStore, ConnectionStore, Page, PollStore, PortError, SecretStore};
use time::OffsetDateTime;

use super::DynamoStore;

fn pending() -> PortError {
    PortError::backend("not implemented by this store yet")
}

#[async_trait]
impl AppStore for DynamoStore {
    async fn insert_app_version(&self, _: &AppVersion) -> Result<bool, PortError> {
        Err(pending())
    }
    async fn get_app_version(&self, _: &str, _: &str) -> Result<Option<AppVersion>, PortError> {
        Err(pending())
    }
    async fn update_app_version(&self, _: &AppVersion) -> Result<bool, PortError> {
        Err(pending())
    }
    async fn list_app_versions(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
    ) -> Result<Page<AppVersion>, PortError> {
        Err(pending())
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn insert_connection(&self, _: &Connection) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_connection(&self, _: &ConnectionId) -> Result<Option<Connection>, PortError> {
        Err(pending())
    }
    async fn connection_by_hook(&self, _: &str) -> Result<Option<Connection>, PortError> {
        Err(pending())
    }
    async fn update_connection(&self, _: &Connection) -> Result<bool, PortError> {
        Err(pending())
    }
    async fn delete_connection(&self, _: &ConnectionId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn list_connections(
        &self,
        _: Option<&ClientId>,
        _: Option<&str>,
        _: usize,
    ) -> Result<Page<Connection>, PortError> {
        Err(pending())
    }
}

#[async_trait]
impl PollStore for DynamoStore {
    async fn put_poll(&self, _: &PollState) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_poll(&self, _: &ConnectionId, _: &str) -> Result<Option<PollState>, PortError> {
        Err(pending())
    }
    async fn update_poll(&self, _: &PollState) -> Result<bool, PortError> {
        Err(pending())
    }
    async fn delete_polls(&self, _: &ConnectionId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn due_polls(&self, _: OffsetDateTime, _: usize) -> Result<Vec<PollState>, PortError> {
        Err(pending())
    }
}

#[async_trait]
impl SecretStore for DynamoStore {
    async fn put_secret(&self, _: &str, _: &[u8]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_secret(&self, _: &str) -> Result<Option<Vec<u8>>, PortError> {
        Err(pending())
    }
    async fn delete_secret(&self, _: &str) -> Result<(), PortError> {
        Err(pending())
    }
}
