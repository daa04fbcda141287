//! What can go wrong in a command, and the exit code each kind of failure gives scripts:
//! 0 ok, 1 the API answered with an error (or a checked signature is not valid), 2 a usage
//! or configuration error, 3 the API could not be reached or refused the credentials.

use std::fmt;
use std::process::ExitCode;

use serde_json::Value;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API answered 4xx/5xx with a problem document (or another body).
    #[error("{0}")]
    Api(Problem),
    /// Arguments, files or the profile are not usable.
    #[error("{0}")]
    Usage(String),
    /// The API could not be reached, or refused the credentials (or the token).
    #[error("{0}")]
    Connection(String),
    /// A checked thing (a signature) is not valid.
    #[error("{0}")]
    Invalid(String),
}

impl CliError {
    /// The documented exit code of this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Api(_) | CliError::Invalid(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Connection(_) => 3,
        })
    }

    /// A usage error from anything displayable.
    pub fn usage(message: impl fmt::Display) -> CliError {
        CliError::Usage(message.to_string())
    }
}

/// An error answer of the API: its status and body (an RFC 9457 problem document, or the
/// OAuth error body of the token endpoint).
#[derive(Debug)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON (`null` when it was not JSON).
    pub body: Value,
}

impl fmt::Display for Problem {
    /// One line: `error 422 schema_mismatch: <detail> (data.lotNo: <message>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |key: &str| self.body.get(key).and_then(Value::as_str);
        let code = text("code").or(text("error")).unwrap_or("error");
        write!(f, "error {} {code}", self.status)?;
        let detail = text("detail")
            .or(text("error_description"))
            .or(text("title"))
            .map(one_line)
            .unwrap_or_default();
        if !detail.is_empty() {
            write!(f, ": {detail}")?;
        }
        // The fields the detail does not already tell.
        let fields: Vec<String> = self
            .body
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let field = e.get("field").and_then(Value::as_str)?;
                let message = e.get("message").and_then(Value::as_str).map(one_line);
                match message {
                    Some(m) if detail.contains(field) && detail.contains(&m) => None,
                    Some(m) => Some(format!("{field}: {m}")),
                    None => Some(field.to_string()),
                }
            })
            .collect();
        if !fields.is_empty() {
            write!(f, " ({})", fields.join("; "))?;
        }
        Ok(())
    }
}

/// Text with its line breaks and runs of blanks folded to single spaces.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_problem_is_one_line_with_its_fields() {
        let p = Problem {
            status: 422,
            body: json!({"code": "schema_mismatch", "title": "Schema mismatch",
                "detail": "data does not match\nthe schema",
                "errors": [{"field": "data.lotNo", "message": "is required"}, {"field": "state"}]}),
        };
        assert_eq!(
            p.to_string(),
            "error 422 schema_mismatch: data does not match the schema (data.lotNo: is required; state)"
        );
    }

    #[test]
    fn a_field_the_detail_already_tells_is_not_repeated() {
        let p = Problem {
            status: 400,
            body: json!({"code": "invalid_destination", "detail": "url: must be an absolute http(s) URL",
                "errors": [{"field": "url", "message": "must be an absolute http(s) URL"}]}),
        };
        assert_eq!(
            p.to_string(),
            "error 400 invalid_destination: url: must be an absolute http(s) URL"
        );
    }

    #[test]
    fn an_oauth_error_names_its_error_code() {
        let p = Problem {
            status: 401,
            body: json!({"error": "invalid_client", "error_description": "bad credentials"}),
        };
        assert_eq!(p.to_string(), "error 401 invalid_client: bad credentials");
    }
}
