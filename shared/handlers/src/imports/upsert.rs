//! TEMPORARY stub until the registry's store and service are merged.
use hookline_domain::manufacturer::ValidManufacturer;
use hookline_domain::{Client, RowAction};
use hookline_ports::PortError;

use crate::context::WorkerContext;

/// What a row did.
pub type RowResult = (RowAction, Option<String>);

/// Plan.
pub async fn plan(
    _store: &dyn hookline_ports::Store,
    _writer: &Client,
    _details: ValidManufacturer,
) -> Result<RowResult, PortError> {
    Ok((RowAction::Created, None))
}

/// Upsert.
pub async fn row(
    _ctx: &WorkerContext,
    _writer: &Client,
    _details: ValidManufacturer,
) -> Result<RowResult, PortError> {
    Ok((RowAction::Created, None))
}
