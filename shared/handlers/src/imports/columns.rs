//! The import's columns: one per field of [`ManufacturerInput`], named as the field is in
//! JSON (`contact.phone`), so that a field error of `validate()` names its column. The header
//! row is matched by name (case and surrounding blanks ignored), in any order.

use hookline_domain::FieldError;
use hookline_domain::manufacturer::{ContactInput, ManufacturerInput};

use crate::problem::ApiError;

/// One column of the import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header name (the JSON field).
    pub name: &'static str,
    /// What goes in it, for the template and the documentation.
    pub rule: &'static str,
    /// An example value.
    pub example: &'static str,
}

/// What separates the entries of a list cell (`states`): `;`, and also `,` or blanks (none
/// can be part of a state code).
pub const LIST_SEPARATORS: [char; 2] = [';', ','];

/// Every column, in the template's order.
pub const COLUMNS: [Column; 12] = [
    Column {
        name: "fssai_licence",
        rule: "FSSAI licence number: exactly 14 digits (the key: a row with a known number updates its manufacturer)",
        example: "10014011000123",
    },
    Column {
        name: "name",
        rule: "registered name of the business, 1-200 characters",
        example: "Annapurna FRK Industries",
    },
    Column {
        name: "licence_valid_until",
        rule: "last day the licence is valid, YYYY-MM-DD (or a date cell)",
        example: "2027-03-31",
    },
    Column {
        name: "address",
        rule: "street address of the unit, 1-500 characters",
        example: "Plot 12, Industrial Estate",
    },
    Column {
        name: "district",
        rule: "district of the unit, 1-200 characters",
        example: "Krishna",
    },
    Column {
        name: "state",
        rule: "state code of the unit: 2-8 upper-case letters or digits",
        example: "AP",
    },
    Column {
        name: "pincode",
        rule: "PIN code: 6 digits, not starting with 0",
        example: "520001",
    },
    Column {
        name: "contact.name",
        rule: "contact person, 1-200 characters",
        example: "R. Lakshmi",
    },
    Column {
        name: "contact.phone",
        rule: "10-15 digits, optionally a leading + and blanks or - between them",
        example: "+919848012345",
    },
    Column {
        name: "contact.email",
        rule: "e-mail address",
        example: "qa@annapurna.example",
    },
    Column {
        name: "commodity",
        rule: "FRK, Premix or FortifiedRice (case and blanks ignored)",
        example: "FRK",
    },
    Column {
        name: "states",
        rule: "state codes of the programmes that use the manufacturer, separated by ; (commas and blanks also separate); empty: the unit's own state",
        example: "AP;TG",
    },
];

/// Where each column is in a file's header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    at: [usize; COLUMNS.len()],
}

impl ColumnMap {
    /// Matches a header row. Every column must be there once, and no other (blank header cells
    /// are ignored): anything else is a 400 naming each missing, unknown or repeated column.
    pub fn of(header: &[String], line: u32) -> Result<ColumnMap, ApiError> {
        let mut at = [usize::MAX; COLUMNS.len()];
        let mut errors = Vec::new();
        for (i, cell) in header.iter().enumerate() {
            let name = cell.trim();
            if name.is_empty() {
                continue;
            }
            match COLUMNS
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
            {
                Some(k) if at[k] == usize::MAX => at[k] = i,
                Some(k) => errors.push(FieldError::new(
                    COLUMNS[k].name,
                    format!("line {line}, column {}: repeats this column", i + 1),
                )),
                None => errors.push(FieldError::new(
                    name,
                    format!("line {line}, column {}: unknown column", i + 1),
                )),
            }
        }
        for (k, c) in COLUMNS.iter().enumerate() {
            if at[k] == usize::MAX {
                errors.push(FieldError::new(
                    c.name,
                    format!("line {line}: missing column"),
                ));
            }
        }
        if errors.is_empty() {
            return Ok(ColumnMap { at });
        }
        let detail = format!(
            "line {line}: the header row does not match the template ({})",
            errors
                .iter()
                .map(|e| format!(
                    "{}: {}",
                    e.field,
                    e.message.rsplit(": ").next().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let mut err = ApiError::bad_request(detail);
        err.errors = errors;
        Err(err)
    }

    /// A row's cells as a manufacturer input.
    pub fn input(&self, cells: &[String]) -> ManufacturerInput {
        let cell = |name: &str| -> String {
            let k = COLUMNS.iter().position(|c| c.name == name).unwrap_or(0);
            cells.get(self.at[k]).cloned().unwrap_or_default()
        };
        ManufacturerInput {
            name: cell("name"),
            fssai_licence: cell("fssai_licence"),
            licence_valid_until: cell("licence_valid_until"),
            address: cell("address"),
            district: cell("district"),
            state: cell("state"),
            pincode: cell("pincode"),
            contact: ContactInput {
                name: cell("contact.name"),
                phone: cell("contact.phone"),
                email: cell("contact.email"),
            },
            commodity: cell("commodity"),
            states: split_list(&cell("states")),
        }
    }
}

/// The entries of a list cell.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split(|c: char| LIST_SEPARATORS.contains(&c) || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The column a field error of `validate()` is about, and its reason: `states[2]` is the
/// `states` column's third entry.
pub fn column_of(e: &FieldError) -> (String, String) {
    match e.field.split_once('[') {
        Some((list, rest)) => {
            let n: usize = rest.trim_end_matches(']').parse().unwrap_or(0);
            (list.to_string(), format!("entry {}: {}", n + 1, e.message))
        }
        None => (e.field.clone(), e.message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_input_field_has_a_column_and_a_row_fills_it() {
        let names: Vec<&str> = COLUMNS.iter().rev().map(|c| c.name).collect();
        let map = ColumnMap::of(&header(&names), 1).expect("any order");
        let cells: Vec<String> = COLUMNS
            .iter()
            .rev()
            .map(|c| c.example.to_string())
            .collect();
        let input = map.input(&cells);
        assert_eq!(input.contact.phone, "+919848012345");
        assert_eq!(input.states, ["AP", "TG"]);
        assert!(input.validate().is_ok(), "{:?}", input.validate());
        // The JSON form of the input has exactly these fields.
        let json = serde_json::to_value(&input).unwrap();
        let mut fields: Vec<String> = Vec::new();
        for (k, v) in json.as_object().unwrap() {
            match v.as_object() {
                Some(inner) => fields.extend(inner.keys().map(|f| format!("{k}.{f}"))),
                None => fields.push(k.clone()),
            }
        }
        fields.sort();
        let mut columns: Vec<String> = COLUMNS.iter().map(|c| c.name.to_string()).collect();
        columns.sort();
        assert_eq!(fields, columns);
    }

    #[test]
    fn missing_unknown_and_repeated_columns_are_each_named() {
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        names.retain(|n| *n != "pincode" && *n != "commodity");
        names.push("Phone No");
        names.push("NAME");
        let err = ColumnMap::of(&header(&names), 3).expect_err("refused");
        let got: Vec<(&str, &str)> = err
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Phone No", "line 3, column 11: unknown column"),
                ("name", "line 3, column 12: repeats this column"),
                ("pincode", "line 3: missing column"),
                ("commodity", "line 3: missing column"),
            ]
        );
        assert!(err.detail.starts_with("line 3: "), "{}", err.detail);
    }

    #[test]
    fn list_entries_are_named_by_their_column() {
        assert_eq!(split_list(" AP; TG,KA  MH;"), ["AP", "TG", "KA", "MH"]);
        let (col, why) = column_of(&FieldError::new("states[1]", "bad"));
        assert_eq!((col.as_str(), why.as_str()), ("states", "entry 2: bad"));
        let (col, _) = column_of(&FieldError::new("contact.email", "bad"));
        assert_eq!(col, "contact.email");
    }
}
