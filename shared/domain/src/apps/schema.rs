//! The published JSON Schema of an app definition (`apps/schema.json`, served at
//! `GET /v1/apps/schema`), and the one entry point that turns a submitted definition into an
//! [`AppDefinition`]: the schema (so that a misspelt field anywhere is refused with its path),
//! then the types, then [`validate`]'s rules.

use std::sync::LazyLock;

use serde_json::Value;

use super::AppDefinition;
use super::validate::{MAX_DEFINITION_BYTES, MAX_PROBLEMS, validate};
use crate::error::{FieldError, ValidationError};

/// The JSON Schema (draft 2020-12) of an app definition.
pub const APP_SCHEMA: &str = include_str!("../../../../apps/schema.json");

/// Problem code of a definition that does not match the schema (422).
pub const SCHEMA_MISMATCH: &str = "schema_mismatch";

/// Longest message of one schema violation (it may quote the offending value).
const MAX_MESSAGE_CHARS: usize = 300;

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(APP_SCHEMA).map_err(|e| e.to_string())?;
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
});

/// Checks a submitted definition against the schema, reads it, and applies [`validate`];
/// error paths are the definition's (`actions.update_status.request.url`; put them under
/// `definition.` with [`super::in_definition`]).
pub fn check_definition(json: &Value) -> Result<AppDefinition, ValidationError> {
    let size = serde_json::to_vec(json).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_DEFINITION_BYTES {
        return Err(ValidationError::invalid(
            "",
            format!("a definition is at most {MAX_DEFINITION_BYTES} bytes of JSON"),
        ));
    }
    let validator = VALIDATOR
        .as_ref()
        .map_err(|_| ValidationError::invalid("", "the app definition schema does not compile"))?;
    let errors: Vec<FieldError> = validator
        .iter_errors(json)
        .take(MAX_PROBLEMS)
        .map(|e| {
            let message: String = e.to_string().chars().take(MAX_MESSAGE_CHARS).collect();
            FieldError::new(dotted(json, &e.instance_path().to_string()), message)
        })
        .collect();
    if let Some(first) = errors.first() {
        return Err(ValidationError {
            code: SCHEMA_MISMATCH,
            detail: format!(
                "the definition does not match the app schema ({}: {})",
                first.field, first.message
            ),
            errors,
        });
    }
    let def: AppDefinition = serde_json::from_value(json.clone())
        .map_err(|e| ValidationError::with_code(SCHEMA_MISMATCH, "", e.to_string()))?;
    validate(&def)?;
    Ok(def)
}

/// The JSON pointer `pointer` into `root` as a field path: `.name` for an object's member,
/// `[i]` for an array's item (`/actions/a/inputs/0/key` → `actions.a.inputs[0].key`).
fn dotted(root: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut at = Some(root);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match at {
            Some(Value::Array(items)) => {
                path.push_str(&format!("[{segment}]"));
                at = segment.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !path.is_empty() {
                    path.push('.');
                }
                at = other.and_then(|v| v.get(&segment));
                path.push_str(&segment);
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pointer_becomes_a_field_path() {
        let doc = json!({"actions": {"a/b": {"inputs": [{"key": 1}]}}});
        assert_eq!(
            dotted(&doc, "/actions/a~1b/inputs/0/key"),
            "actions.a/b.inputs[0].key"
        );
        assert_eq!(dotted(&doc, ""), "");
    }
}
