//! What commands print: the API's JSON (`--json`), or tables and short lines for people.

use comfy_table::{Table, presets};
use serde_json::Value;

/// How the invocation prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`: the API's JSON, as it came.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON (pretty), or runs `human` to print it for people.
    pub fn show(&self, value: &Value, human: impl FnOnce(&Value)) {
        if self.json {
            print_json(value);
        } else {
            human(value);
        }
    }

    /// A list answer (`{"data": [...], "next_cursor"}`): JSON as it came, or a table of
    /// `columns` (header, field) with a hint for the next page.
    pub fn list(&self, value: &Value, columns: &[(&str, &str)]) {
        self.show(value, |v| {
            let items = v
                .get("data")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            print_table(columns, items);
            if let Some(next) = v.get("next_cursor").and_then(Value::as_str) {
                eprintln!("more: --cursor {next}");
            }
        });
    }
}

/// Pretty JSON on stdout.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A table of `items`, one row each, with the `columns` (header, field; `a.b` reaches into
/// an object).
pub fn print_table(columns: &[(&str, &str)], items: &[Value]) {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(columns.iter().map(|(h, _)| h.to_uppercase()));
    for item in items {
        table.add_row(columns.iter().map(|(_, f)| cell(item, f)));
    }
    // The last column is padded to its widest cell: no trailing blanks on narrower lines.
    for line in table.to_string().lines() {
        println!("{}", line.trim_end());
    }
}

/// `field: value` lines of an object, for one resource.
pub fn print_fields(value: &Value, fields: &[&str]) {
    let width = fields.iter().map(|f| f.len()).max().unwrap_or(0);
    for f in fields {
        println!("{f:width$}  {}", cell(value, f));
    }
}

/// A field as table text: strings as they are, lists joined with commas, `-` for null or
/// missing, other JSON compact. `a.b` reaches into an object.
pub fn cell(item: &Value, field: &str) -> String {
    let value = field
        .split('.')
        .try_fold(item, |v, key| v.get(key))
        .unwrap_or(&Value::Null);
    text(value)
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_reach_into_objects_and_join_lists() {
        let v = json!({"a": {"b": 3}, "l": ["x", "y"], "n": null});
        assert_eq!(cell(&v, "a.b"), "3");
        assert_eq!(cell(&v, "l"), "x,y");
        assert_eq!(cell(&v, "n"), "-");
        assert_eq!(cell(&v, "missing.deeper"), "-");
    }
}
