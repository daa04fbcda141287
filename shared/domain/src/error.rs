//! Validation errors: what is wrong with a request, field by field.

use serde::Serialize;

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON-pointer-like path of the field (`url`, `events[3].state`).
    pub field: String,
    /// Human-readable reason.
    pub message: String,
    /// Line of the field's text the error is on (a template's syntax error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            line: None,
        }
    }

    /// The same error, on line `line` of the field's text.
    pub fn on_line(mut self, line: Option<u32>) -> Self {
        self.line = line;
        self
    }
}

/// A request the domain refuses, with a stable problem code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ValidationError {
    /// Stable snake_case problem code (`invalid_request`, `unknown_event_type`, …).
    pub code: &'static str,
    /// One-sentence explanation.
    pub detail: String,
    /// Every invalid field found.
    pub errors: Vec<FieldError>,
}

impl ValidationError {
    /// An `invalid_request` error about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        Self {
            code: "invalid_request",
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    /// An error with a given code about one field.
    pub fn with_code(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let e = FieldError::new(field, message);
        Self {
            code,
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    /// An error with a given code about one field, from a [`FieldError`].
    pub fn of_field(code: &'static str, e: FieldError) -> Self {
        Self {
            code,
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    /// Prefixes every field path (used for batch items: `events[2].`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        for e in &mut self.errors {
            e.field = format!("{prefix}{}", e.field);
        }
        self
    }
}
