//! `ApiResponse`: what the runner answered, and the assertions tests make on it.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response: status, headers, body text and the body as JSON (`Null` if it is not JSON).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
    /// Body as JSON, `Value::Null` when it is not JSON.
    pub json: Value,
}

impl ApiResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The content type without parameters.
    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// Asserts the status, showing the body otherwise.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status, expected,
            "expected HTTP {expected}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "an error body is problem+json: {}",
            self.text
        );
        assert_eq!(self.json["code"], code, "problem code: {}", self.text);
        assert_eq!(self.json["status"], status, "problem status: {}", self.text);
        assert_eq!(
            self.json["type"],
            format!("urn:hookline:problem:{code}"),
            "problem type: {}",
            self.text
        );
        assert!(
            self.json["title"].as_str().is_some_and(|t| !t.is_empty()),
            "a problem has a title: {}",
            self.text
        );
        self
    }

    /// Asserts `Cache-Control: no-store` (a response that carries a secret).
    #[track_caller]
    pub fn assert_no_store(&self) -> &Self {
        assert!(
            self.header("cache-control")
                .is_some_and(|c| c.split(',').any(|d| d.trim() == "no-store")),
            "a response with a secret is Cache-Control: no-store, not {:?}: {}",
            self.header("cache-control"),
            self.text
        );
        self
    }

    /// The `field` of every entry of the problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `data` of a list response.
    #[track_caller]
    pub fn data(&self) -> Vec<Value> {
        self.json["data"]
            .as_array()
            .unwrap_or_else(|| panic!("a list response has `data`: {}", self.text))
            .clone()
    }
}
