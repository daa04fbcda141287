//! The downloadable import templates: a CSV file of the header row, and an XLSX workbook
//! whose first sheet is the header row (every column formatted as text, so that a licence
//! number or a PIN code typed in stays as typed) and whose second sheet explains each column.
//! Filled in and sent back, either imports as it is.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::columns::COLUMNS;

/// The CSV template: the header row.
pub fn csv() -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    format!("{}\r\n", names.join(","))
}

/// The XLSX template.
pub fn xlsx() -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let rows = book.add_worksheet();
    rows.set_name("Manufacturers")?;
    for (i, c) in COLUMNS.iter().enumerate() {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        rows.write_string_with_format(0, col, c.name, &bold)?;
        rows.set_column_width(col, 22)?;
        rows.set_column_format(col, &text)?;
    }
    rows.set_freeze_panes(1, 0)?;
    let help = book.add_worksheet();
    help.set_name("Columns")?;
    for (col, title) in ["column", "what goes in it", "example"].iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        help.write_string_with_format(0, col, *title, &bold)?;
    }
    for (i, c) in COLUMNS.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        help.write_string(row, 0, c.name)?;
        help.write_string(row, 1, c.rule)?;
        help.write_string(row, 2, c.example)?;
    }
    help.set_column_width(0, 22)?;
    help.set_column_width(1, 90)?;
    help.set_column_width(2, 28)?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use hookline_domain::ImportFormat;

    use super::*;
    use crate::imports::columns::ColumnMap;
    use crate::imports::sheet;

    #[test]
    fn both_templates_read_back_as_the_header_row_alone() {
        let from_csv = sheet::read(ImportFormat::Csv, csv().as_bytes()).unwrap();
        let book = xlsx().unwrap();
        let from_xlsx = sheet::read(ImportFormat::Xlsx, &book).unwrap();
        for s in [from_csv, from_xlsx] {
            assert!(
                ColumnMap::of(&s.header, s.header_line).is_ok(),
                "{:?}",
                s.header
            );
            assert_eq!((s.header_line, s.rows.len()), (1, 0));
        }
    }
}
