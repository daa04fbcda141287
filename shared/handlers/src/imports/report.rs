//! The report of an import, as `GET /v1/manufacturers/imports/{id}` (and a dry run) shows it:
//! the file's counts, its bad rows, and each processed row's outcome with the totals, read
//! off the chunks recorded so far.

use hookline_domain::{Import, ImportChunk, ImportFormat, RowAction, RowError, RowOutcome};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Some chunks of valid rows are still queued or being upserted.
    Processing,
    /// Every valid row was upserted (or, in a dry run, planned).
    Complete,
}

/// An import's report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ImportView {
    /// `imp_…`; absent for a dry run (nothing is stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<String>,
    /// Whether this is a dry run: the outcomes are what an import would do; nothing was written.
    pub dry_run: bool,
    /// The client that sent the file (the rows are written as its).
    pub client_id: String,
    /// `processing` until every chunk of valid rows is done, then `complete`.
    pub status: ImportStatus,
    /// `csv` or `xlsx`.
    #[schema(value_type = String, example = "xlsx")]
    pub format: ImportFormat,
    /// When the file was accepted (RFC 3339).
    #[serde(with = "hookline_domain::time_fmt::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Data rows in the file (header and blank rows not counted).
    pub total_rows: u32,
    /// Rows that passed every check (queued for the upsert).
    pub valid_rows: u32,
    /// Rows refused, each with at least one entry in `errors`.
    pub invalid_rows: u32,
    /// Valid rows upserted so far (progress: `processed_rows` of `valid_rows`).
    pub processed_rows: u32,
    /// Rows that created a manufacturer.
    pub created: u32,
    /// Rows that changed one.
    pub updated: u32,
    /// Rows that found their manufacturer already as they say (nothing written or published).
    pub unchanged: u32,
    /// Rows refused because another state's record names another business under the number.
    pub conflicts: u32,
    /// Rows refused when written (see each row's `detail`).
    pub failed: u32,
    /// Each bad cell or row: line (1-based, as a spreadsheet shows it), column, reason.
    #[schema(value_type = Vec<ImportRowError>)]
    pub errors: Vec<RowError>,
    /// Errors found beyond the first 1,000 listed.
    pub errors_omitted: u32,
    /// Each processed row's outcome (`created`, `updated`, `unchanged`, `conflict`, `failed`),
    /// by line.
    #[schema(value_type = Vec<ImportRowOutcome>)]
    pub rows: Vec<RowOutcome>,
}

/// One thing wrong with one row (the document's name for `hookline_domain::RowError`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportRowError {
    /// The row's line, 1-based as a spreadsheet numbers it (the header is line 1).
    line: u32,
    /// The column's header name (`fssai_licence`, `contact.phone`).
    column: String,
    /// Why the cell or row was refused.
    reason: String,
}

/// What the import did with one row (the document's name for `hookline_domain::RowOutcome`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportRowOutcome {
    /// The row's line.
    line: u32,
    /// The row's FSSAI licence number.
    fssai: String,
    /// `created`, `updated`, `unchanged`, `conflict` or `failed`.
    #[schema(pattern = "^(created|updated|unchanged|conflict|failed)$")]
    action: String,
    /// For a conflict, which identifying fields differ from another state's record; for a
    /// failed row, why.
    detail: Option<String>,
}

impl ImportView {
    /// The report of `import` with the `chunks` recorded so far.
    pub fn of(import: &Import, chunks: &[ImportChunk], dry_run: bool) -> ImportView {
        let mut rows: Vec<RowOutcome> = chunks
            .iter()
            .flat_map(|c| c.outcomes.iter().cloned())
            .collect();
        rows.sort_by_key(|r| r.line);
        let count = |a: RowAction| {
            u32::try_from(rows.iter().filter(|r| r.action == a).count()).unwrap_or(u32::MAX)
        };
        let recorded = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        ImportView {
            id: (!dry_run).then(|| import.id.to_string()),
            dry_run,
            client_id: import.client_id.to_string(),
            status: if recorded >= import.chunks {
                ImportStatus::Complete
            } else {
                ImportStatus::Processing
            },
            format: import.format,
            created_at: import.created_at,
            total_rows: import.total_rows,
            valid_rows: import.valid_rows,
            invalid_rows: import.invalid_rows,
            processed_rows: u32::try_from(rows.len()).unwrap_or(u32::MAX),
            created: count(RowAction::Created),
            updated: count(RowAction::Updated),
            unchanged: count(RowAction::Unchanged),
            conflicts: count(RowAction::Conflict),
            failed: count(RowAction::Failed),
            errors: import.errors.clone(),
            errors_omitted: import.errors_omitted,
            rows,
        }
    }
}
