//! One row's upsert, through the registry's own rules: for real (the registry's service,
//! which writes the record with one conditional write and publishes its event), or planned
//! for a dry run (the same pure decision over the stored record, nothing written).

use hookline_domain::manufacturer::{UpsertPlan, ValidManufacturer, plan_upsert};
use hookline_domain::{Client, RowAction};
use hookline_ports::{ManufacturerStore, PortError};

use crate::context::WorkerContext;

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

/// Upserts `details` as `writer`.
pub async fn row(
    ctx: &WorkerContext,
    writer: &Client,
    details: ValidManufacturer,
) -> Result<RowResult, PortError> {
    // Until the registry's upsert service is merged: planned only, nothing written.
    plan(ctx.store.as_ref(), writer, details).await
}
