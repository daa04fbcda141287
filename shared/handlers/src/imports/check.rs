//! Checking every row of a file before anything is written: each field (the registry's own
//! `validate`), the states the sender may speak for, and FSSAI numbers repeated inside the
//! file (every repeat is refused, naming the line that used the number first; the first line
//! is imported). The result is the rows to upsert and the report of the others.

use std::collections::{BTreeSet, HashMap};

use hookline_domain::manufacturer::{FssaiLicence, ValidManufacturer, forbidden_states};
use hookline_domain::{Client, RowError};

use super::columns::{ColumnMap, column_of};
use super::sheet::Sheet;

/// A row that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    /// Its line.
    pub line: u32,
    /// Its fields.
    pub details: ValidManufacturer,
}

/// A file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The rows to upsert, in line order.
    pub valid: Vec<ValidRow>,
    /// Every error, in line order.
    pub errors: Vec<RowError>,
    /// Data rows in the file.
    pub total_rows: u32,
    /// Rows with at least one error.
    pub invalid_rows: u32,
}

/// Checks every row of `sheet` (whose header `columns` matched) as sent by `writer`.
pub fn check(sheet: &Sheet, columns: &ColumnMap, writer: &Client) -> Checked {
    let mut first_line: HashMap<FssaiLicence, u32> = HashMap::new();
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    let mut bad_lines = BTreeSet::new();
    for (line, cells) in &sheet.rows {
        let line = *line;
        let input = columns.input(cells);
        let mut row_errors = Vec::new();
        let mut push = |field_error: &hookline_domain::FieldError| {
            let (column, reason) = column_of(field_error);
            row_errors.push(RowError {
                line,
                column,
                reason,
            });
        };
        let details = match input.validate() {
            Ok(d) => {
                forbidden_states(&d, writer).iter().for_each(&mut push);
                Some(d)
            }
            Err(found) => {
                found.iter().for_each(&mut push);
                None
            }
        };
        if let Some(fssai) = FssaiLicence::parse(&input.fssai_licence) {
            match first_line.get(&fssai) {
                Some(first) => row_errors.push(RowError {
                    line,
                    column: "fssai_licence".into(),
                    reason: format!("repeats the FSSAI licence number of line {first}"),
                }),
                None => {
                    first_line.insert(fssai, line);
                }
            }
        }
        match (details, row_errors.is_empty()) {
            (Some(details), true) => valid.push(ValidRow { line, details }),
            _ => {
                bad_lines.insert(line);
                errors.extend(row_errors);
            }
        }
    }
    Checked {
        valid,
        errors,
        total_rows: u32::try_from(sheet.rows.len()).unwrap_or(u32::MAX),
        invalid_rows: u32::try_from(bad_lines.len()).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::ImportFormat;

    use super::*;
    use crate::imports::columns::COLUMNS;

    /// A portal allowed `states`, as the store would give it back.
    fn writer(states: &[&str]) -> Client {
        serde_json::from_value(serde_json::json!({
            "id": "cl_portal", "name": "portal", "scopes": ["manufacturers:write"],
            "states": states, "secret_hash": "", "created_at": "1970-01-01T00:00:00Z",
        }))
        .expect("a client")
    }

    fn row(edit: impl FnOnce(&mut Vec<String>)) -> Vec<String> {
        let mut cells: Vec<String> = COLUMNS.iter().map(|c| c.example.to_string()).collect();
        edit(&mut cells);
        cells
    }

    fn set(cells: &mut [String], column: &str, value: &str) {
        let k = COLUMNS.iter().position(|c| c.name == column).unwrap();
        cells[k] = value.to_string();
    }

    #[test]
    fn bad_cells_repeats_and_foreign_states_are_reported_by_line_and_column() {
        let header: Vec<String> = COLUMNS.iter().map(|c| c.name.to_string()).collect();
        let sheet = Sheet {
            format: ImportFormat::Csv,
            header: header.clone(),
            header_line: 1,
            rows: vec![
                (2, row(|_| {})),
                (
                    3,
                    row(|c| {
                        set(c, "fssai_licence", "123");
                        set(c, "pincode", "012345");
                    }),
                ),
                (5, row(|c| set(c, "name", "Another name"))),
                (
                    6,
                    row(|c| {
                        set(c, "fssai_licence", "10014011000999");
                        set(c, "states", "AP;KA");
                    }),
                ),
            ],
        };
        let map = ColumnMap::of(&header, 1).unwrap();
        let checked = check(&sheet, &map, &writer(&["AP", "TG"]));
        assert_eq!(checked.total_rows, 4);
        assert_eq!(checked.invalid_rows, 3);
        assert_eq!(
            checked.valid.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2]
        );
        let got: Vec<(u32, &str, &str)> = checked
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (3, "fssai_licence", "must be exactly 14 digits"),
                (3, "pincode", "must be 6 digits, not starting with 0"),
                (
                    5,
                    "fssai_licence",
                    "repeats the FSSAI licence number of line 2"
                ),
                (
                    6,
                    "states",
                    "entry 2: state 'KA' is not allowed for this client"
                ),
            ]
        );
    }
}
