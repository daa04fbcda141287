//! Sync requests (seed 002): a client attaches external sources (references used by an
//! external system) to one of its own resources, asks for a sync, and the integration that
//! the sources name ends the cycle as complete or failed. Each step is an event
//! (`SyncRequested`, `SyncCompleted`, `SyncFailed`) published through the normal fan-out.
//!
//! A resource is whatever the client names by an id and a code (a flow, a lot); Hookline
//! keeps no record of it besides its sources, which live in the client's own namespace:
//! two clients naming the same resource id name two different resources.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValidationError;
use crate::ids::{ClientId, EventId, SyncRequestId};
use crate::state::StateCode;

/// Longest reference, resource id or member id.
pub const MAX_REFERENCE_LEN: usize = 128;
/// Longest resource code.
pub const MAX_CODE_LEN: usize = 200;
/// Longest failure reason.
pub const MAX_REASON_LEN: usize = 1000;
/// Most external sources one resource has.
pub const MAX_SOURCES_PER_RESOURCE: usize = 100;
/// Most members allocated to one external source.
pub const MAX_ALLOCATIONS_PER_SOURCE: usize = 1000;
/// Most member ids one allocation request adds.
pub const MAX_MEMBERS_PER_REQUEST: usize = 100;

/// Event type published when a sync is requested.
pub const SYNC_REQUESTED_TYPE: &str = "SyncRequested";
/// Event type published when the integration completes a sync request.
pub const SYNC_COMPLETED_TYPE: &str = "SyncCompleted";
/// Event type published when the integration fails a sync request.
pub const SYNC_FAILED_TYPE: &str = "SyncFailed";

/// Whether `event_type` is one of the sync events, which only the sync routes publish.
pub fn is_sync_event(event_type: &str) -> bool {
    matches!(
        event_type,
        SYNC_REQUESTED_TYPE | SYNC_COMPLETED_TYPE | SYNC_FAILED_TYPE
    )
}

/// The characters of a reference (seed 002: `^[0-9a-zA-Z\-_,.;:|]+$`), also those of a
/// resource id and a member id.
pub const REFERENCE_PATTERN: &str = r"^[0-9a-zA-Z\-_,.;:|]{1,128}$";

/// Whether `text` is a reference (or resource id, or member id): 1–128 of `0-9a-zA-Z-_,.;:|`.
pub fn is_reference(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_REFERENCE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_,.;:|".contains(&b))
}

/// Checks the reference-shaped field `field`.
pub fn validate_reference(field: &str, text: &str) -> Result<(), ValidationError> {
    if is_reference(text) {
        return Ok(());
    }
    Err(ValidationError::invalid(
        field,
        format!(
            "1-{MAX_REFERENCE_LEN} characters of 0-9, a-z, A-Z and - _ , . ; : | \
             (^[0-9a-zA-Z\\-_,.;:|]+$)"
        ),
    ))
}

/// Checks a resource code: 1–200 characters, no control characters.
pub fn validate_code(text: &str) -> Result<(), ValidationError> {
    let ok = !text.trim().is_empty()
        && text.chars().count() <= MAX_CODE_LEN
        && !text.chars().any(char::is_control);
    match ok {
        true => Ok(()),
        false => Err(ValidationError::invalid(
            "code",
            format!("1-{MAX_CODE_LEN} characters, no control characters"),
        )),
    }
}

/// Checks a failure reason: 1–1000 characters, no control characters but newlines and tabs.
pub fn validate_reason(text: &str) -> Result<(), ValidationError> {
    let ok = !text.trim().is_empty()
        && text.chars().count() <= MAX_REASON_LEN
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'));
    match ok {
        true => Ok(()),
        false => Err(ValidationError::invalid(
            "reason",
            format!("1-{MAX_REASON_LEN} characters"),
        )),
    }
}

/// One external source: a reference an external system uses, attached to a client's resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalSource {
    /// The client whose resource it is.
    pub owner: ClientId,
    /// The resource's id, as the owner names it.
    pub resource_id: String,
    /// The resource's code (carried in the sync events).
    pub resource_code: String,
    /// The state the resource's sync events belong to.
    pub state: StateCode,
    /// The reference.
    pub reference: String,
    /// The client that may complete or fail the resource's sync requests.
    pub integration: ClientId,
    /// When it was attached.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl ExternalSource {
    /// Whether `other`, a source of the same resource, describes the resource the same way
    /// (code, state, integration): every source of one resource must.
    pub fn agrees_with(&self, other: &ExternalSource) -> bool {
        self.resource_code == other.resource_code
            && self.state == other.state
            && self.integration == other.integration
    }
}

/// Where a sync request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Requested; the integration has not ended it yet.
    Requested,
    /// The integration completed it.
    Complete,
    /// The integration failed it, with a reason.
    Failed,
}

impl SyncStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Requested => "requested",
            SyncStatus::Complete => "complete",
            SyncStatus::Failed => "failed",
        }
    }
}

/// One change of a sync request's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncTransition {
    /// The status it changed to.
    pub status: SyncStatus,
    /// When.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub at: OffsetDateTime,
    /// The client that changed it.
    pub by: ClientId,
    /// The failure reason (`failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The event published for it.
    pub event_id: EventId,
}

/// A request to sync a resource's external sources (all of them, or one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// `sync_…`
    pub id: SyncRequestId,
    /// The client whose resource it is (who requested it).
    pub owner: ClientId,
    /// The resource's id.
    pub resource_id: String,
    /// The resource's code.
    pub resource_code: String,
    /// The state its events belong to.
    pub state: StateCode,
    /// The references synced.
    pub references: Vec<String>,
    /// The client that may complete or fail it.
    pub integration: ClientId,
    /// Where it stands: the last transition's status.
    pub status: SyncStatus,
    /// Every transition, oldest first; the first is `requested`.
    pub history: Vec<SyncTransition>,
}

impl SyncRequest {
    /// When it was requested.
    pub fn requested_at(&self) -> OffsetDateTime {
        self.history
            .first()
            .map(|t| t.at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// This request ended by `by` at `at` as `status` (complete or failed), with its event:
    /// what the store writes over the stored request, if that is still `requested`.
    pub fn ended(
        &self,
        status: SyncStatus,
        reason: Option<String>,
        by: ClientId,
        at: OffsetDateTime,
        event_id: EventId,
    ) -> SyncRequest {
        let mut next = self.clone();
        next.status = status;
        next.history.push(SyncTransition {
            status,
            at,
            by,
            reason,
            event_id,
        });
        next
    }

    /// The transition that ended it, if it has ended.
    pub fn end(&self) -> Option<&SyncTransition> {
        self.history
            .last()
            .filter(|t| t.status != SyncStatus::Requested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_of_the_seeds_characters_are_accepted() {
        for ok in [
            "EXAM-2026",
            "a",
            "class_A,class_B",
            "x.y;z:1|2",
            "0123456789",
            &"r".repeat(MAX_REFERENCE_LEN),
        ] {
            assert!(is_reference(ok), "{ok:?}");
            assert!(validate_reference("reference", ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn references_with_other_characters_or_lengths_are_refused() {
        for bad in [
            "",
            "a b",
            "a/b",
            "a#b",
            "ä",
            "a\nb",
            "a%20",
            "\"x\"",
            "<script>",
            &"r".repeat(MAX_REFERENCE_LEN + 1),
        ] {
            assert!(!is_reference(bad), "{bad:?}");
            let e = validate_reference("reference", bad).expect_err("refused");
            assert_eq!(e.errors[0].field, "reference");
        }
    }

    #[test]
    fn the_documented_pattern_admits_exactly_what_is_reference_does() {
        let validator = jsonschema::validator_for(
            &serde_json::json!({"type": "string", "pattern": REFERENCE_PATTERN}),
        )
        .expect("a valid pattern");
        for text in ["EXAM-1", "a|b", "", "a b", "a#", &"x".repeat(129), "é"] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(text)),
                is_reference(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn codes_and_reasons_are_bounded_and_printable() {
        assert!(validate_code("FLOW 17 / Class A").is_ok());
        assert!(validate_code(" ").is_err());
        assert!(validate_code("a\u{1}").is_err());
        assert!(validate_code(&"c".repeat(MAX_CODE_LEN + 1)).is_err());
        assert!(validate_reason("the exam is\nnot found").is_ok());
        assert!(validate_reason("").is_err());
        assert!(validate_reason(&"r".repeat(MAX_REASON_LEN + 1)).is_err());
    }

    #[test]
    fn an_ended_request_keeps_its_history() {
        let owner = ClientId::new(1);
        let req = SyncRequest {
            id: SyncRequestId::new(1),
            owner: owner.clone(),
            resource_id: "flow-1".into(),
            resource_code: "F1".into(),
            state: StateCode::from_stored("AP"),
            references: vec!["A".into()],
            integration: owner.clone(),
            status: SyncStatus::Requested,
            history: vec![SyncTransition {
                status: SyncStatus::Requested,
                at: OffsetDateTime::UNIX_EPOCH,
                by: owner.clone(),
                reason: None,
                event_id: EventId::new(1),
            }],
        };
        assert!(req.end().is_none());
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        let done = req.ended(
            SyncStatus::Failed,
            Some("no such exam".into()),
            owner,
            at,
            EventId::new(2),
        );
        assert_eq!(done.status, SyncStatus::Failed);
        assert_eq!(done.history.len(), 2);
        assert_eq!(done.requested_at(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(done.end().map(|t| t.at), Some(at));
    }
}
