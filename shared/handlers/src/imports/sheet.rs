//! Reading an uploaded file into a [`Sheet`]: a header row and the data rows below it, every
//! cell as text, each row with the line a spreadsheet shows it on. What kind of file it is
//! comes from its content type and its first bytes together, so that a PDF called `text/csv`
//! or a workbook sent as `application/octet-stream` is recognised for what it is.
//!
//! Memory is bounded by the upload's bytes: the body is at most [`MAX_FILE_BYTES`]; a
//! workbook's parts may expand to at most [`MAX_UNPACKED_BYTES`] (checked on the archive's
//! directory before anything is unpacked); at most [`MAX_ROWS`] data rows are read.

use std::io::Cursor;

use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use hookline_domain::ImportFormat;
use time::{Date, Duration, Month};

use crate::problem::ApiError;

/// Largest file an import accepts (413 beyond): a Lambda request body is at most 6 MB, and a
/// binary body reaches it base64-encoded (4/3 larger).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes a workbook's parts may unpack to (a small archive that inflates to gigabytes is
/// refused before it is unpacked).
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
/// Most data rows in one file (413 beyond).
pub const MAX_ROWS: usize = 10_000;

/// The content type of an XLSX workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The content type of a CSV file.
pub const CSV_TYPE: &str = "text/csv";

/// The first bytes of a ZIP archive (an XLSX workbook is one).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The first bytes of an OLE compound file (an Excel 97-2003 `.xls` workbook).
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

/// A file's rows, every cell as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// What the file was.
    pub format: ImportFormat,
    /// The header row's cells, trimmed.
    pub header: Vec<String>,
    /// The header's line.
    pub header_line: u32,
    /// The data rows that are not blank: (line, cells).
    pub rows: Vec<(u32, Vec<String>)>,
}

/// What kind of file the body is, from its declared content type and its first bytes.
pub fn format_of(content_type: Option<&str>, bytes: &[u8]) -> Result<ImportFormat, ApiError> {
    let media = content_type
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let zip = bytes.starts_with(ZIP_MAGIC);
    if bytes.starts_with(OLE_MAGIC) {
        return Err(unsupported(
            "the file is an Excel 97-2003 workbook (.xls): save it as XLSX or CSV",
        ));
    }
    let texty = !bytes.iter().take(8192).any(|b| *b == 0);
    match media.as_str() {
        XLSX_TYPE if zip => Ok(ImportFormat::Xlsx),
        XLSX_TYPE => Err(unsupported(
            "the body is declared XLSX but is not an XLSX workbook (no ZIP archive)",
        )),
        "text/csv" | "application/csv" | "text/plain" if !zip && texty => Ok(ImportFormat::Csv),
        "text/csv" | "application/csv" | "text/plain" => Err(unsupported(
            "the body is declared CSV but holds binary data",
        )),
        "" | "application/octet-stream" if zip => Ok(ImportFormat::Xlsx),
        "" | "application/octet-stream" if texty => Ok(ImportFormat::Csv),
        "" | "application/octet-stream" => Err(unsupported(
            "the body is neither a CSV file nor an XLSX workbook",
        )),
        other => Err(unsupported(&format!(
            "content type {other}: send text/csv or {XLSX_TYPE}"
        ))),
    }
}

/// Reads the file.
pub fn read(format: ImportFormat, bytes: &[u8]) -> Result<Sheet, ApiError> {
    let (header_line, header, rows) = match format {
        ImportFormat::Csv => read_csv(bytes)?,
        ImportFormat::Xlsx => read_xlsx(bytes)?,
    };
    Ok(Sheet {
        format,
        header,
        header_line,
        rows,
    })
}

type Lines = (u32, Vec<String>, Vec<(u32, Vec<String>)>);

/// Gathers rows: the first non-blank one is the header; blank rows are skipped; more than
/// [`MAX_ROWS`] data rows is a 413 naming the first line too many.
fn gather(
    rows: impl Iterator<Item = Result<(u32, Vec<String>), ApiError>>,
) -> Result<Lines, ApiError> {
    let mut header = None;
    let mut data = Vec::new();
    for row in rows {
        let (line, cells) = row?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if header.is_none() {
            let names = cells.iter().map(|c| c.trim().to_string()).collect();
            header = Some((line, names));
            continue;
        }
        if data.len() == MAX_ROWS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("line {line}: the file has more than {MAX_ROWS} data rows"),
            ));
        }
        data.push((line, cells));
    }
    let (line, names) =
        header.ok_or_else(|| ApiError::bad_request("the file is empty: it has no header row"))?;
    Ok((line, names, data))
}

fn read_csv(bytes: &[u8]) -> Result<Lines, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut lines = LineCounter::default();
    let rows = reader.records().map(move |r| match r {
        Ok(rec) => {
            let line = rec.position().map_or(0, |p| lines.line_at(bytes, p.byte()));
            Ok((line, rec.iter().map(str::to_string).collect()))
        }
        Err(e) => {
            let line = e.position().map_or(0, |p| lines.line_at(bytes, p.byte()));
            Err(csv_error(&e, line))
        }
    });
    gather(rows)
}

/// The line a byte offset of a text is on, for offsets that only grow.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u32,
}

impl LineCounter {
    /// The 1-based line of the record starting at `offset` (which may point at the `\n` of
    /// the previous record's `\r\n`: the record starts after it).
    fn line_at(&mut self, text: &[u8], offset: u64) -> u32 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        let mut start = offset;
        if text.get(start) == Some(&b'\n') {
            start += 1;
        }
        if start > self.offset {
            let seen = text[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.newlines = self
                .newlines
                .saturating_add(u32::try_from(seen).unwrap_or(u32::MAX));
            self.offset = start;
        }
        self.newlines.saturating_add(1)
    }
}

fn csv_error(e: &csv::Error, line: u32) -> ApiError {
    let why = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
        _ => format!("is not CSV ({e})"),
    };
    ApiError::bad_request(format!("line {line}: the row {why}"))
}

fn read_xlsx(bytes: &[u8]) -> Result<Lines, ApiError> {
    check_unpacked_size(bytes)?;
    let not_a_workbook = |e: calamine::XlsxError| {
        unsupported(&format!("the body is not a readable XLSX workbook ({e})"))
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ApiError::bad_request("the workbook has no sheet"))?
        .map_err(not_a_workbook)?;
    let first_row = range.start().map_or(0, |(row, _)| row);
    let rows = range.rows().enumerate().map(|(i, cells)| {
        let line = first_row
            .saturating_add(u32::try_from(i).unwrap_or(u32::MAX))
            .saturating_add(1);
        Ok((line, cells.iter().map(cell_text).collect()))
    });
    gather(rows)
}

/// Refuses a workbook whose parts, as its ZIP directory declares them, unpack to more than
/// [`MAX_UNPACKED_BYTES`].
fn check_unpacked_size(bytes: &[u8]) -> Result<(), ApiError> {
    let unreadable = |e: zip::result::ZipError| {
        unsupported(&format!("the body is not a readable XLSX workbook ({e})"))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        // The central directory's sizes: read without unpacking anything.
        total = total.saturating_add(archive.by_index_raw(i).map_err(unreadable)?.size());
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the workbook unpacks to more than {MAX_UNPACKED_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A cell as the text a person typed: whole numbers without a fraction (a licence number or
/// PIN code typed as a number), dates as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => serial_date(d.as_f64()).map_or_else(
            || float_text(d.as_f64()),
            hookline_domain::time_fmt::date::format,
        ),
        Data::DateTime(d) => float_text(d.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// The day of an Excel date serial number (days since 1899-12-30, the 1900 system).
fn serial_date(serial: f64) -> Option<Date> {
    if !(0.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let epoch = Date::from_calendar_date(1899, Month::December, 30).ok()?;
    epoch.checked_add(Duration::days(serial.floor() as i64))
}

fn unsupported(detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_of_file_comes_from_its_type_and_its_bytes() {
        let zip = b"PK\x03\x04rest";
        let text = b"name,fssai_licence\n";
        assert_eq!(format_of(Some(XLSX_TYPE), zip).unwrap(), ImportFormat::Xlsx);
        assert_eq!(
            format_of(Some("text/csv; charset=utf-8"), text).unwrap(),
            ImportFormat::Csv
        );
        assert_eq!(format_of(None, zip).unwrap(), ImportFormat::Xlsx);
        assert_eq!(
            format_of(Some("application/octet-stream"), text).unwrap(),
            ImportFormat::Csv
        );
        for (t, b) in [
            (Some(XLSX_TYPE), &text[..]),
            (Some("text/csv"), &zip[..]),
            (Some("application/pdf"), &b"%PDF-1.7"[..]),
            (None, &b"\x89PNG\r\n\x1a\n\0\0"[..]),
            (Some("text/csv"), OLE_MAGIC),
        ] {
            let e = format_of(t, b).expect_err("refused");
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{t:?}");
        }
    }

    #[test]
    fn csv_rows_keep_their_lines_and_blank_rows_are_skipped() {
        for newline in ["\n", "\r\n"] {
            let text = format!("\u{feff}a,b{newline}1,2{newline},{newline}\"x\",\"y, z\"{newline}");
            let sheet = read(ImportFormat::Csv, text.as_bytes()).unwrap();
            assert_eq!(sheet.header, ["a", "b"]);
            assert_eq!(sheet.header_line, 1);
            assert_eq!(
                sheet.rows,
                vec![
                    (2, vec!["1".to_string(), "2".to_string()]),
                    (4, vec!["x".to_string(), "y, z".to_string()])
                ],
                "{newline:?}"
            );
        }
    }

    #[test]
    fn a_row_that_is_not_utf8_is_named_by_its_line() {
        let e = read(ImportFormat::Csv, b"a,b\r\n1,2\r\n3,\xff\r\n").expect_err("refused");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.detail, "line 3: the row is not UTF-8 text");
    }

    #[test]
    fn one_row_too_many_is_named() {
        let mut csv = String::from("a\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("{i}\n"));
        }
        let e = read(ImportFormat::Csv, csv.as_bytes()).expect_err("too many");
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            e.detail.starts_with(&format!("line {}:", MAX_ROWS + 2)),
            "{}",
            e.detail
        );
    }

    #[test]
    fn numbers_and_dates_read_as_typed() {
        assert_eq!(float_text(10014011000123.0), "10014011000123");
        assert_eq!(float_text(2.5), "2.5");
        assert_eq!(
            serial_date(46477.0).map(hookline_domain::time_fmt::date::format),
            Some("2027-03-31".to_string())
        );
    }

    #[test]
    fn an_empty_file_or_a_zip_that_is_no_workbook_is_refused() {
        assert_eq!(
            read(ImportFormat::Csv, b"\n\n").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let e = read(ImportFormat::Xlsx, b"PK\x03\x04not really").unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
