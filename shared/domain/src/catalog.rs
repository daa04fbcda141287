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
    /// A `data` value of this type, valid against its schema (shown to integrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
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
    /// An event type's example does not match its schema.
    #[error("catalog: {name}: {}", source.detail)]
    InvalidExample {
        /// The event type.
        name: String,
        /// How the example fails the schema.
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
            let validator = match &t.schema {
                Some(s) => {
                    Some(
                        compile_schema(s).map_err(|source| CatalogError::InvalidSchema {
                            name: name(),
                            source,
                        })?,
                    )
                }
                None => None,
            };
            if let (Some(v), Some(example)) = (&validator, &t.example) {
                check_example(v, example).map_err(|source| CatalogError::InvalidExample {
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

/// Validates an event type's `example` against its compiled schema: the same check as an
/// event's `data`, its errors naming `example…` instead of `data…`.
pub fn check_example(
    validator: &jsonschema::Validator,
    example: &Value,
) -> Result<(), ValidationError> {
    check_schema(validator, example).map_err(|mut e| {
        e.detail = "example does not match the event type's schema".into();
        for f in &mut e.errors {
            if let Some(rest) = f.field.strip_prefix("data") {
                f.field = format!("example{rest}");
            }
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_of_the_built_in_catalog_has_an_example_valid_against_its_schema() {
        let text = include_str!("../../../infra/catalogs/fortification.json");
        let catalog = Catalog::from_json(text).expect("the built-in catalog loads");
        for t in &catalog.event_types {
            let example = t.example.as_ref();
            assert!(
                example.is_some_and(Value::is_object),
                "{}: no example",
                t.name
            );
            if let (Some(schema), Some(example)) = (&t.schema, example) {
                let v = compile_schema(schema).expect("schema");
                assert!(check_example(&v, example).is_ok(), "{}", t.name);
            }
        }
    }

    #[test]
    fn an_example_that_fails_its_schema_is_refused_naming_the_field() {
        let text = r#"{"event_types": [{"name": "LotDispatched",
            "schema": {"type": "object", "required": ["lotNo"], "properties": {"lotNo": {"type": "string"}}},
            "example": {"lotNo": 7}}]}"#;
        let err = Catalog::from_json(text).expect_err("example fails");
        let CatalogError::InvalidExample { name, source } = err else {
            panic!("{err:?}");
        };
        assert_eq!(name, "LotDispatched");
        assert_eq!(source.code, "schema_mismatch");
        assert_eq!(source.errors[0].field, "example/lotNo");
    }

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
