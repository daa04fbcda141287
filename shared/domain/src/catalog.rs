//! The event catalog: which event types a stack accepts, and their optional JSON Schemas.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;

/// One event type of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    /// Type name (`LotDispatched`).
    pub name: String,
    /// What the event means.
    #[serde(default)]
    pub description: String,
    /// JSON Schema the `data` of such events must satisfy, if any.
    #[serde(default)]
    pub schema: Option<Value>,
}

/// A catalog file: `{"event_types": [...]}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Catalog {
    /// The types.
    pub event_types: Vec<EventType>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not JSON, or not of the catalog's shape.
    #[error("catalog: {0}")]
    Json(#[source] serde_json::Error),
    /// An event type's name is not a valid one.
    #[error("catalog: {name}: {}", source.detail)]
    InvalidName {
        /// The refused name.
        name: String,
        /// What is wrong with it.
        #[source]
        source: ValidationError,
    },
    /// An event type's schema is not a valid JSON Schema.
    #[error("catalog: {name}: {}", source.detail)]
    InvalidSchema {
        /// The event type.
        name: String,
        /// What is wrong with its schema.
        #[source]
        source: ValidationError,
    },
}

impl Catalog {
    /// Parses and validates a catalog file's contents.
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let c: Catalog = serde_json::from_str(text).map_err(CatalogError::Json)?;
        for t in &c.event_types {
            let name = || t.name.clone();
            validate_type_name(&t.name).map_err(|source| CatalogError::InvalidName {
                name: name(),
                source,
            })?;
            if let Some(s) = &t.schema {
                compile_schema(s).map_err(|source| CatalogError::InvalidSchema {
                    name: name(),
                    source,
                })?;
            }
        }
        Ok(c)
    }
}

/// Validates an event type name: 1–100 characters of letters, digits, `.`, `_`, `-`, not
/// starting with `hookline.` (reserved for the system's own events).
pub fn validate_type_name(name: &str) -> Result<(), ValidationError> {
    if crate::event::is_system_type(name) {
        return Err(ValidationError::invalid(
            "name",
            format!(
                "the '{}' prefix is reserved for Hookline's own events",
                crate::event::SYSTEM_TYPE_PREFIX
            ),
        ));
    }
    if !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            "name",
            "1-100 characters: letters, digits, '.', '_' or '-'",
        ))
    }
}

/// A compiled JSON Schema.
pub type SchemaValidator = jsonschema::Validator;

/// Compiles a JSON Schema, refusing invalid ones.
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, ValidationError> {
    jsonschema::validator_for(schema)
        .map_err(|e| ValidationError::invalid("schema", format!("not a valid JSON Schema: {e}")))
}

/// Validates `data` against a compiled schema; every violation becomes a field error.
pub fn check_schema(
    validator: &jsonschema::Validator,
    data: &Value,
) -> Result<(), ValidationError> {
    let errors: Vec<_> = validator
        .iter_errors(data)
        .take(20)
        .map(|e| crate::FieldError::new(format!("data{}", e.instance_path()), e.to_string()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError {
            code: "schema_mismatch",
            detail: "data does not match the event type's schema".into(),
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_catalog_says_which_type_and_what_is_wrong() {
        let err = Catalog::from_json("{").expect_err("not JSON");
        assert!(matches!(err, CatalogError::Json(_)), "{err:?}");
        assert!(err.to_string().starts_with("catalog: "), "{err}");

        let err =
            Catalog::from_json(r#"{"event_types": [{"name": "Bad Name"}]}"#).expect_err("bad name");
        assert!(
            matches!(&err, CatalogError::InvalidName { name, .. } if name == "Bad Name"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "catalog: Bad Name: name: 1-100 characters: letters, digits, '.', '_' or '-'"
        );

        let err = Catalog::from_json(
            r#"{"event_types": [{"name": "LotDispatched", "schema": {"type": 7}}]}"#,
        )
        .expect_err("bad schema");
        assert!(
            matches!(&err, CatalogError::InvalidSchema { name, .. } if name == "LotDispatched"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("catalog: LotDispatched: schema: not a valid JSON Schema"),
            "{err}"
        );
    }

    #[test]
    fn a_valid_catalog_parses() {
        let c = Catalog::from_json(
            r#"{"event_types": [{"name": "LotDispatched", "schema": {"type": "object"}}]}"#,
        )
        .expect("catalog");
        assert_eq!(c.event_types[0].name, "LotDispatched");
    }
}
