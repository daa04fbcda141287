//! The sync port: external sources of a client's resources, the members allocated to each,
//! and sync requests with their state transitions.
//!
//! A resource is named by its owner and its id ([`ResourceKey`]); its sources by their
//! reference within it. Every method is one DynamoDB-cheap operation (or a bounded run of
//! them), as in `store`:
//!
//! | method | access pattern (DynamoDB shape) |
//! |---|---|
//! | `insert_external_source` | conditional put `XS#owner#resource` / `SRC#reference` (attribute_not_exists) |
//! | `list_external_sources` | query partition `XS#owner#resource#SOURCES`, by reference |
//! | `delete_external_source` | conditional delete of the source, then its allocations' deletes |
//! | `add_allocations` | one put per member `XS#owner#resource` / `ALLOC#reference#member` |
//! | `remove_allocation` | conditional delete of one allocation |
//! | `clear_allocations` | query the source's allocations, delete each |
//! | `list_allocations` | query partition `XS#owner#resource#ALLOC#reference`, by member |
//! | `insert_sync_request` | conditional put `SYNCREQ#id` (attribute_not_exists) |
//! | `get_sync_request` | key lookup `SYNCREQ#id` |
//! | `end_sync_request` | put `SYNCREQ#id` conditioned on `status = requested` |
//! | `list_sync_requests` | query partition `XS#owner#resource#REQUESTS`, newest first |

use async_trait::async_trait;
use hookline_domain::{ClientId, ExternalSource, SyncRequest, SyncRequestId};

use crate::error::PortError;

/// A resource: its owner and the id the owner names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKey {
    /// The client whose resource it is.
    pub owner: ClientId,
    /// The resource's id (a reference-shaped string).
    pub resource_id: String,
}

impl ResourceKey {
    /// The resource of `source`.
    pub fn of(source: &ExternalSource) -> ResourceKey {
        ResourceKey {
            owner: source.owner.clone(),
            resource_id: source.resource_id.clone(),
        }
    }
}

/// What [`SyncStore::end_sync_request`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncEnd {
    /// Written: this call moved the request from `requested`.
    Ended,
    /// Nothing written: the request had already ended (by another call).
    AlreadyEnded,
}

/// External sources, allocations and sync requests.
#[async_trait]
pub trait SyncStore: Send + Sync + 'static {
    /// Attaches a source; `Conflict` if its resource already has one with its reference.
    async fn insert_external_source(&self, source: &ExternalSource) -> Result<(), PortError>;
    /// Every source of a resource (at most `MAX_SOURCES_PER_RESOURCE` are attached), by
    /// reference.
    async fn list_external_sources(
        &self,
        resource: &ResourceKey,
    ) -> Result<Vec<ExternalSource>, PortError>;
    /// Removes a source and its allocations; `NotFound` if there is no such source.
    async fn delete_external_source(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<(), PortError>;
    /// Allocates `members` to a source; a member already allocated stays as it is. The
    /// caller checks that the source exists.
    async fn add_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
        members: &[String],
    ) -> Result<(), PortError>;
    /// Removes one allocation; `NotFound` if the member was not allocated.
    async fn remove_allocation(
        &self,
        resource: &ResourceKey,
        reference: &str,
        member: &str,
    ) -> Result<(), PortError>;
    /// Removes every allocation of a source; returns how many there were.
    async fn clear_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<usize, PortError>;
    /// The members allocated to a source, sorted.
    async fn list_allocations(
        &self,
        resource: &ResourceKey,
        reference: &str,
    ) -> Result<Vec<String>, PortError>;
    /// Stores a new sync request; `Conflict` if the id exists.
    async fn insert_sync_request(&self, request: &SyncRequest) -> Result<(), PortError>;
    /// A sync request by id.
    async fn get_sync_request(&self, id: &SyncRequestId) -> Result<Option<SyncRequest>, PortError>;
    /// Replaces a sync request with `ended` (its complete or failed successor) only if the
    /// stored one is still `requested`: of two concurrent calls, one ends it and the other is
    /// told [`SyncEnd::AlreadyEnded`]. A call finding `ended` itself stored (the same call
    /// retried after its write landed) is told [`SyncEnd::Ended`]. `NotFound` if there is no
    /// such request.
    async fn end_sync_request(&self, ended: &SyncRequest) -> Result<SyncEnd, PortError>;
    /// The newest `limit` sync requests of a resource, newest first.
    async fn list_sync_requests(
        &self,
        resource: &ResourceKey,
        limit: usize,
    ) -> Result<Vec<SyncRequest>, PortError>;
}
