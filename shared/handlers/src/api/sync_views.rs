//! Request and response bodies of the sync routes (`sync_sources`, `sync_requests`).

use hookline_domain::sync::SyncTransition;
use hookline_domain::time_fmt::format;
use hookline_domain::{ExternalSource, SyncRequest};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Body of `POST /v1/resources/{resource_id}/external-sources`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExternalSource {
    /// The reference the external system uses.
    #[schema(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    pub reference: String,
    /// The resource's code, carried in its sync events (1-200 characters). Every source of
    /// one resource names the same code, state and integration.
    #[schema(min_length = 1, max_length = 200)]
    pub code: String,
    /// The state code the resource's sync events belong to: one the caller may publish for,
    /// and this stack serves.
    #[schema(example = "AP", pattern = "^[A-Z0-9]{2,8}$")]
    pub state: String,
    /// The client that completes or fails the resource's sync requests; the caller itself
    /// when absent.
    #[serde(default)]
    pub integration_id: Option<String>,
}

/// The last sync request that named a source.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceSyncView {
    /// `sync_…`
    pub request_id: String,
    /// `requested`, `complete` or `failed`.
    pub status: String,
    /// When it reached that status.
    pub at: String,
}

/// An external source of a resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalSourceView {
    /// The resource's id.
    pub resource_id: String,
    /// The resource's code.
    pub resource_code: String,
    /// The state of the resource's sync events.
    pub state: String,
    /// The reference.
    pub reference: String,
    /// The client that completes or fails sync requests.
    pub integration_id: String,
    /// When it was attached.
    pub created_at: String,
    /// The newest sync request naming it (of the resource's 100 newest), or null.
    pub sync: Option<SourceSyncView>,
}

impl ExternalSourceView {
    /// The view of `s`, with its state from `requests` (newest first).
    pub fn of(s: &ExternalSource, requests: &[SyncRequest]) -> ExternalSourceView {
        let sync = requests
            .iter()
            .find(|r| r.references.contains(&s.reference))
            .map(|r| SourceSyncView {
                request_id: r.id.to_string(),
                status: r.status.as_str().to_string(),
                at: format(r.history.last().map_or(r.requested_at(), |t| t.at)),
            });
        ExternalSourceView {
            resource_id: s.resource_id.clone(),
            resource_code: s.resource_code.clone(),
            state: s.state.to_string(),
            reference: s.reference.clone(),
            integration_id: s.integration.to_string(),
            created_at: format(s.created_at),
            sync,
        }
    }
}

/// Body of `POST /v1/resources/{resource_id}/sync` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequestInput {
    /// Sync this source only; every source of the resource when absent.
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$")]
    pub reference: Option<String>,
}

/// Body of `POST /v1/sync-requests/{id}/fail`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncFailure {
    /// Why the sync failed (1-1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// One status change of a sync request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncTransitionView {
    /// `requested`, `complete` or `failed`.
    pub status: String,
    /// When.
    pub at: String,
    /// The client that made the change.
    pub by: String,
    /// The failure reason (`failed` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event published for it (`SyncRequested`, `SyncCompleted`, `SyncFailed`).
    pub event_id: String,
}

impl SyncTransitionView {
    fn of(t: &SyncTransition) -> SyncTransitionView {
        SyncTransitionView {
            status: t.status.as_str().to_string(),
            at: format(t.at),
            by: t.by.to_string(),
            reason: t.reason.clone(),
            event_id: t.event_id.to_string(),
        }
    }
}

/// A sync request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRequestView {
    /// `sync_…`
    pub id: String,
    /// The resource's id.
    pub resource_id: String,
    /// The resource's code.
    pub resource_code: String,
    /// The state of its events.
    pub state: String,
    /// The references synced.
    pub references: Vec<String>,
    /// The client that may complete or fail it.
    pub integration_id: String,
    /// The client that requested it (the resource's owner).
    pub requested_by: String,
    /// `requested` (not ended yet), `complete` or `failed`.
    pub status: String,
    /// The failure reason (`failed` only).
    pub reason: Option<String>,
    /// When it was requested.
    pub requested_at: String,
    /// When it was completed or failed; null while `requested`.
    pub ended_at: Option<String>,
    /// Whole seconds since it was requested.
    pub age_seconds: i64,
    /// Every status change, oldest first.
    pub history: Vec<SyncTransitionView>,
}

impl SyncRequestView {
    /// The view of `r` at `now`.
    pub fn of(r: &SyncRequest, now: OffsetDateTime) -> SyncRequestView {
        let end = r.end();
        SyncRequestView {
            id: r.id.to_string(),
            resource_id: r.resource_id.clone(),
            resource_code: r.resource_code.clone(),
            state: r.state.to_string(),
            references: r.references.clone(),
            integration_id: r.integration.to_string(),
            requested_by: r.owner.to_string(),
            status: r.status.as_str().to_string(),
            reason: end.and_then(|t| t.reason.clone()),
            requested_at: format(r.requested_at()),
            ended_at: end.map(|t| format(t.at)),
            age_seconds: (now - r.requested_at()).whole_seconds().max(0),
            history: r.history.iter().map(SyncTransitionView::of).collect(),
        }
    }
}

/// A list of sync requests, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRequestList {
    /// The requests.
    pub data: Vec<SyncRequestView>,
}

/// A list of external sources, by reference.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalSourceList {
    /// The sources.
    pub data: Vec<ExternalSourceView>,
}

/// Body of `POST …/allocations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// Member (participant) ids to allocate: 1-100, each 1-128 of `0-9a-zA-Z-_,.;:|`.
    #[schema(min_items = 1, max_items = 100)]
    pub member_ids: Vec<String>,
}

/// The members allocated to an external source.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationsView {
    /// The source's reference.
    pub reference: String,
    /// The allocated member ids, sorted.
    pub member_ids: Vec<String>,
}
