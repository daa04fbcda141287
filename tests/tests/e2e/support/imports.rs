//! Manufacturer import files for the tests, made here rather than committed: rows of the
//! template's columns, written as CSV or as an XLSX workbook (`rust_xlsxwriter`), and the
//! calls that send one and wait for its import to complete.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::api::ApiResponse;
use super::app::TestApp;
use super::wait::eventually;

/// The template's columns, in its order (docs/API.md).
pub const COLUMNS: [&str; 12] = [
    "fssai_licence",
    "name",
    "licence_valid_until",
    "address",
    "district",
    "state",
    "pincode",
    "contact.name",
    "contact.phone",
    "contact.email",
    "commodity",
    "states",
];

/// The content type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How long an import of a few rows may take to complete.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(30);

/// A valid row of an AP manufacturer with this licence number and name.
pub fn row(fssai: &str, name: &str) -> Vec<String> {
    [
        fssai,
        name,
        "2027-03-31",
        "Plot 12, Industrial Estate",
        "Krishna",
        "AP",
        "520001",
        "R. Lakshmi",
        "+91 98480 12345",
        "qa@annapurna.example",
        "FRK",
        "AP",
    ]
    .map(str::to_string)
    .to_vec()
}

/// `row` with one column set to `value`.
pub fn with(mut cells: Vec<String>, column: &str, value: &str) -> Vec<String> {
    let k = COLUMNS
        .iter()
        .position(|c| *c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    cells[k] = value.to_string();
    cells
}

/// A CSV file of `header` and `rows` (every cell quoted).
pub fn csv_of(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let quote = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let mut out = header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// A CSV file of the template's columns and `rows`.
pub fn csv(rows: &[Vec<String>]) -> Vec<u8> {
    csv_of(&COLUMNS, rows)
}

/// An XLSX workbook of `header` and `rows` on its first sheet, every cell a string.
pub fn xlsx_of(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    xlsx_with_numbers(header, rows, &[])
}

/// An XLSX workbook as [`xlsx_of`] writes it, but with the cells of the `numeric` columns
/// written as numbers (as a person typing a licence number into a cell gets it).
pub fn xlsx_with_numbers(header: &[&str], rows: &[Vec<String>], numeric: &[&str]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("a header cell");
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            let (row, col) = (r as u32 + 1, c as u16);
            match v.parse::<f64>() {
                Ok(n) if numeric.contains(&header[c]) => sheet.write_number(row, col, n),
                _ => sheet.write_string(row, col, v),
            }
            .expect("a cell");
        }
    }
    book.save_to_buffer().expect("a workbook")
}

/// An XLSX workbook of the template's columns and `rows`.
pub fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    xlsx_of(&COLUMNS, rows)
}

impl TestApp {
    /// `POST /v1/manufacturers/imports` of `body` as `content_type` (a dry run if asked).
    pub async fn import(
        &self,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
        dry_run: bool,
    ) -> ApiResponse {
        let path = match dry_run {
            true => "/v1/manufacturers/imports?dry_run=true",
            false => "/v1/manufacturers/imports",
        };
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// Imports `body` (202 expected) and waits for the import to complete; returns its report.
    pub async fn import_complete(&self, token: &str, content_type: &str, body: Vec<u8>) -> Value {
        let accepted = self.import(token, content_type, body, false).await;
        accepted.assert_status(202);
        let location = accepted
            .header("location")
            .unwrap_or_else(|| panic!("a 202 has a Location: {}", accepted.text))
            .to_string();
        assert_eq!(
            location,
            format!(
                "/v1/manufacturers/imports/{}",
                accepted.json["id"].as_str().unwrap_or("")
            ),
        );
        eventually(IMPORT_TIMEOUT, "the import to complete", || async {
            let report = self.get(&location, token).await;
            report.assert_status(200);
            (report.json["status"] == "complete").then_some(report.json)
        })
        .await
    }
}
