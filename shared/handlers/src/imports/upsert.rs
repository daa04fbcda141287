//! One row's upsert, through the registry's own rules: for real (the registry's service,
//! which writes the record with one conditional write and publishes its event), or planned
//! for a dry run (the same pure decision over the stored record, nothing written).

use hookline_domain::manufacturer::{UpsertOutcome, UpsertPlan, ValidManufacturer, plan_upsert};
use hookline_domain::{Client, RowAction};
use hookline_ports::{ManufacturerStore, PortError};

use crate::context::WorkerContext;
use crate::problem::ApiError;
use crate::services::manufacturers::{RegistryWriter, upsert_manufacturer_with};

/// What a row did: its action, and for a conflict which fields differ from whose record.
pub type RowResult = (RowAction, Option<String>);

fn conflict_detail(fields: &[&str]) -> String {
    format!(
        "another state's record of this FSSAI number names another business (differs in {})",
        fields.join(", ")
    )
}

/// What upserting `details` as `writer` would do, writing nothing.
pub async fn plan(
    store: &dyn ManufacturerStore,
    writer: &Client,
    details: ValidManufacturer,
) -> Result<RowResult, PortError> {
    let stored = store.get_manufacturer(&details.fssai_licence).await?;
    Ok(match plan_upsert(stored.as_ref(), details, writer) {
        UpsertPlan::Create(_) => (RowAction::Created, None),
        UpsertPlan::Update(_) => (RowAction::Updated, None),
        UpsertPlan::Unchanged => (RowAction::Unchanged, None),
        UpsertPlan::Conflict { fields } => (RowAction::Conflict, Some(conflict_detail(&fields))),
    })
}

/// Upserts `details` as `writer` through the registry's service (which publishes
/// `ManufacturerCreated`/`ManufacturerUpdated` for what changed). A refusal the service
/// answers for this row alone (a 4xx: a state the writer no longer has, a record that kept
/// changing under the write) is the row's outcome, `failed`; a backend failure is the
/// chunk's, and the queue retries it.
pub async fn row(
    ctx: &WorkerContext,
    writer: &Client,
    details: ValidManufacturer,
) -> Result<RowResult, RowFailure> {
    let outcome = upsert_manufacturer_with(&RegistryWriter::from(ctx), writer, details).await;
    match outcome {
        Ok(UpsertOutcome::Created(_)) => Ok((RowAction::Created, None)),
        Ok(UpsertOutcome::Updated(_)) => Ok((RowAction::Updated, None)),
        Ok(UpsertOutcome::Unchanged(_)) => Ok((RowAction::Unchanged, None)),
        Ok(UpsertOutcome::Conflict { fields, .. }) => {
            Ok((RowAction::Conflict, Some(conflict_detail(&fields))))
        }
        Err(e) if e.status.is_client_error() => Ok((RowAction::Failed, Some(e.detail))),
        Err(e) => Err(RowFailure(e)),
    }
}

/// Why a row's upsert failed (the service's answer, logged; the chunk is retried).
#[derive(Debug, thiserror::Error)]
#[error("{} {}: {}", .0.status, .0.code, .0.detail)]
pub struct RowFailure(pub ApiError);
