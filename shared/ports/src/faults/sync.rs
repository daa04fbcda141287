//! The fault-injecting store's sync port: each call a fault point named after its method.

use async_trait::async_trait;
use hookline_domain::{ExternalSource, SyncRequest, SyncRequestId};

use super::FaultyStore;
use crate::{PortError, ResourceKey, SyncEnd, SyncStore};

#[async_trait]
impl SyncStore for FaultyStore {
    async fn insert_external_source(&self, source: &ExternalSource) -> Result<(), PortError> {
        self.faults
            .around(
                "insert_external_source",
                self.inner.insert_external_source(source),
            )
            .await
    }
    async fn list_external_sources(
        &self,
        resource: &ResourceKey,
    ) -> Result<Vec<ExternalSource>, PortError> {
        self.faults
            .around(
                "list_external_sources",
                self.inner.list_external_sources(resource),
            )
            .await
    }
    async fn delete_external_source(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "delete_external_source",
                self.inner.delete_external_source(resource, reference),
            )
            .await
    }
    async fn add_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
        members: &[String],
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "add_allocations",
                self.inner.add_allocations(resource, reference, members),
            )
            .await
    }
    async fn remove_allocation(
        &self,
        resource: &ResourceKey,
        reference: &str,
        member: &str,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "remove_allocation",
                self.inner.remove_allocation(resource, reference, member),
            )
            .await
    }
    async fn clear_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<usize, PortError> {
        self.faults
            .around(
                "clear_allocations",
                self.inner.clear_allocations(resource, reference),
            )
            .await
    }
    async fn list_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<Vec<String>, PortError> {
        self.faults
            .around(
                "list_allocations",
                self.inner.list_allocations(resource, reference),
            )
            .await
    }
    async fn insert_sync_request(&self, request: &SyncRequest) -> Result<(), PortError> {
        self.faults
            .around(
                "insert_sync_request",
                self.inner.insert_sync_request(request),
            )
            .await
    }
    async fn get_sync_request(&self, id: &SyncRequestId) -> Result<Option<SyncRequest>, PortError> {
        self.faults
            .around("get_sync_request", self.inner.get_sync_request(id))
            .await
    }
    async fn end_sync_request(&self, ended: &SyncRequest) -> Result<SyncEnd, PortError> {
        self.faults
            .around("end_sync_request", self.inner.end_sync_request(ended))
            .await
    }
    async fn list_sync_requests(
        &self,
        resource: &ResourceKey,
        limit: usize,
    ) -> Result<Vec<SyncRequest>, PortError> {
        self.faults
            .around(
                "list_sync_requests",
                self.inner.list_sync_requests(resource, limit),
            )
            .await
    }
}
