//! The problems found in one definition, collected so that a publisher sees them all at once
//! (up to [`MAX_PROBLEMS`]), each with the path of its field.

use crate::error::{FieldError, ValidationError};
use crate::subscription::INVALID_TEMPLATE;
use crate::template::TemplateError;

/// Most problems one answer lists.
pub const MAX_PROBLEMS: usize = 50;

/// Problem code of a field refused for a reason other than its template (the API's usual
/// 422 code).
const INVALID_REQUEST: &str = "invalid_request";

/// Problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: Vec<(&'static str, FieldError)>,
}

impl Problems {
    /// A problem of field `field`.
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.add_with(INVALID_REQUEST, FieldError::new(field, message));
    }

    /// A problem with its own code.
    pub(crate) fn add_with(&mut self, code: &'static str, error: FieldError) {
        if self.found.len() < MAX_PROBLEMS {
            self.found.push((code, error));
        }
    }

    /// A template of field `field` that is refused.
    pub(crate) fn template(&mut self, field: impl Into<String>, error: &TemplateError) {
        self.add_with(
            INVALID_TEMPLATE,
            FieldError::new(field, error.to_string()).on_line(error.line),
        );
    }

    /// `Err` with every problem (the first one's code and detail), or `Ok`.
    pub(crate) fn finish(self) -> Result<(), ValidationError> {
        let mut found = self.found.into_iter();
        let Some((code, first)) = found.next() else {
            return Ok(());
        };
        let mut err = ValidationError::of_field(code, first);
        let more = found.len();
        if more > 0 {
            err.detail = format!("{} (and {more} more problems)", err.detail);
        }
        err.errors.extend(found.map(|(_, e)| e));
        Err(err)
    }
}

/// `err` with its paths under `definition.` (the API's request field); a problem of the whole
/// definition (an empty path) becomes `definition`.
pub fn in_definition(mut err: ValidationError) -> ValidationError {
    for e in &mut err.errors {
        e.field = if e.field.is_empty() {
            "definition".to_string()
        } else {
            format!("definition.{}", e.field)
        };
    }
    if let Some(first) = err.errors.first() {
        let rest = err.detail.split_once(": ").map_or("", |(_, rest)| rest);
        err.detail = format!("{}: {rest}", first.field);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed_under_the_first_ones_code() {
        let mut p = Problems::default();
        p.add("key", "bad key");
        p.add("", "too large");
        let err = p.finish().expect_err("two problems");
        assert_eq!(err.code, INVALID_REQUEST);
        assert_eq!(err.errors.len(), 2);
        assert_eq!(err.detail, "key: bad key (and 1 more problems)");
        let err = in_definition(err);
        assert_eq!(err.errors[0].field, "definition.key");
        assert_eq!(err.errors[1].field, "definition");
        assert_eq!(err.detail, "definition.key: bad key (and 1 more problems)");
        assert_eq!(Problems::default().finish(), Ok(()));
    }

    #[test]
    fn the_list_is_bounded() {
        let mut p = Problems::default();
        for i in 0..MAX_PROBLEMS + 10 {
            p.add(format!("f{i}"), "bad");
        }
        assert_eq!(p.finish().expect_err("many").errors.len(), MAX_PROBLEMS);
    }
}
