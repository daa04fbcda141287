//! Bulk imports of the manufacturer registry: what a CSV or XLSX file becomes once it is
//! read and checked ([`Import`]: who sent it, how many rows, what is wrong with which cell),
//! and what the workers record for each chunk of its valid rows ([`ImportChunk`]: the
//! outcome of every row's upsert). Progress is read off the chunks recorded so far, so that
//! no counter is ever written by two workers at once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, ImportId};

/// Most errors an import records: a file of thousands of bad rows reports the first ones in
/// full, and how many more there were (the record stays far below a DynamoDB item's 400 KB).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// The kind of file an import was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// Comma-separated values (RFC 4180), UTF-8.
    Csv,
    /// An Office Open XML workbook; its first sheet is read.
    Xlsx,
}

/// One thing wrong with one row of a file: where a spreadsheet shows it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The row's line, 1-based as a spreadsheet numbers it (the header is line 1).
    pub line: u32,
    /// The column's header name.
    pub column: String,
    /// Why the cell (or the row) was refused.
    pub reason: String,
}

/// What an upsert did (or, in a dry run, would do) with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    /// A new manufacturer.
    Created,
    /// An existing manufacturer changed.
    Updated,
    /// An existing manufacturer already held exactly this.
    Unchanged,
    /// Refused: the FSSAI number belongs to a record another state keeps.
    Conflict,
    /// Refused when it was written: the client may no longer speak for a state of the row,
    /// or the record kept changing under the write (`detail` says which).
    Failed,
}

/// The outcome of one row's upsert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowOutcome {
    /// The row's line (as in [`RowError::line`]).
    pub line: u32,
    /// The row's FSSAI licence number.
    pub fssai: String,
    /// What happened.
    pub action: RowAction,
    /// For a conflict, why (which record holds the number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An import, as its file was read: the rows found, the rows refused and why, and how its
/// valid rows were cut into chunks for the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// `imp_…`
    pub id: ImportId,
    /// The client that sent the file (the only one that sees the import).
    pub client_id: ClientId,
    /// When the file was accepted.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The file's kind.
    pub format: ImportFormat,
    /// Data rows in the file (the header and blank rows not counted).
    pub total_rows: u32,
    /// Rows queued for the upsert.
    pub valid_rows: u32,
    /// Rows refused (each has at least one error).
    pub invalid_rows: u32,
    /// Chunks the valid rows were queued in; the import is complete when each is recorded.
    pub chunks: u32,
    /// The first [`MAX_REPORTED_ERRORS`] errors, by line.
    pub errors: Vec<RowError>,
    /// Errors found beyond those.
    pub errors_omitted: u32,
}

/// The recorded outcome of one chunk of an import's rows: written once, by the worker that
/// finished it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportChunk {
    /// The chunk's number, from 0.
    pub chunk: u32,
    /// When the chunk was finished.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// One outcome per row of the chunk, in line order.
    pub outcomes: Vec<RowOutcome>,
}

impl Import {
    /// Keeps the first [`MAX_REPORTED_ERRORS`] of `errors` (sorted by line, then column)
    /// and counts the rest.
    pub fn set_errors(&mut self, mut errors: Vec<RowError>) {
        errors.sort_by(|a, b| (a.line, &a.column).cmp(&(b.line, &b.column)));
        let omitted = errors.len().saturating_sub(MAX_REPORTED_ERRORS);
        errors.truncate(MAX_REPORTED_ERRORS);
        self.errors = errors;
        self.errors_omitted = u32::try_from(omitted).unwrap_or(u32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import() -> Import {
        Import {
            id: ImportId::new(1),
            client_id: ClientId::new(1),
            created_at: OffsetDateTime::UNIX_EPOCH,
            format: ImportFormat::Csv,
            total_rows: 0,
            valid_rows: 0,
            invalid_rows: 0,
            chunks: 0,
            errors: Vec::new(),
            errors_omitted: 0,
        }
    }

    #[test]
    fn errors_beyond_the_reported_ones_are_counted() {
        let mut i = import();
        let errors = (0..MAX_REPORTED_ERRORS as u32 + 5)
            .rev()
            .map(|n| RowError {
                line: n + 2,
                column: "name".into(),
                reason: "required".into(),
            })
            .collect();
        i.set_errors(errors);
        assert_eq!(i.errors.len(), MAX_REPORTED_ERRORS);
        assert_eq!(i.errors_omitted, 5);
        assert_eq!(i.errors[0].line, 2, "sorted by line, the first kept");
    }

    #[test]
    fn an_import_survives_its_json_whole() {
        let mut i = import();
        i.set_errors(vec![RowError {
            line: 3,
            column: "fssai_licence".into(),
            reason: "14 digits".into(),
        }]);
        let back: Import = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(back, i);
    }
}
