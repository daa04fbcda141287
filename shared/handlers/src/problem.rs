//! RFC 9457 problem details: the one shape of every API error, and the mapping from port
//! and domain errors to it. OAuth endpoints use their own RFC 6749 body (`auth::token`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookline_domain::subscription::{
    CREDENTIAL_IN_HEADERS, INVALID_RETRY_SCHEDULE, INVALID_TEMPLATE,
};
use hookline_domain::{FieldError, ValidationError};
use hookline_ports::PortError;
use serde::Serialize;

/// Content type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every `code` a problem body can carry, as the OpenAPI document lists them (the `Problem`
/// schema's enum). Rendering any other code fails debug builds, so the tests catch a new code
/// that the document does not list.
pub const CODES: [&str; 20] = [
    "invalid_request",
    "unknown_event_type",
    "invalid_destination",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "conflict",
    "version_exists",
    "payload_too_large",
    "unsupported_media_type",
    "schema_mismatch",
    "invalid_template",
    "invalid_retry_schedule",
    "credential_in_headers",
    "quota_exceeded",
    "rate_limited",
    "backend_unavailable",
    "internal_error",
];

/// An API error, rendered as problem+json.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Explanation (never contains secrets).
    pub detail: String,
    /// Field errors.
    pub errors: Vec<FieldError>,
    /// Seconds to wait before trying again (`Retry-After`), for a 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    /// An error with no field list.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 429 rate_limited, to be tried again after `wait` (rounded up to whole seconds).
    pub fn rate_limited(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail)
        }
    }

    /// 422 quota_exceeded.
    pub fn quota_exceeded(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "quota_exceeded", detail)
    }

    /// 400 invalid_request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// 401 unauthorized.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403 forbidden.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404 not_found.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 503 for a backend failure; the cause is logged, not returned.
    pub fn unavailable(err: &PortError) -> Self {
        tracing::error!(error = %err, "backend call failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unavailable",
            "the service could not reach its storage; retry later",
        )
    }
}

/// The title of a status.
fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// Renders a problem body for any status and code (also used for framework rejections).
pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: &str,
    errors: &[FieldError],
) -> Response {
    debug_assert!(
        CODES.contains(&code),
        "problem code {code} is not in problem::CODES"
    );
    let body = Body {
        kind: format!("urn:hookline:problem:{code}"),
        title: title(status),
        status: status.as_u16(),
        detail,
        code,
        errors,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = (status, bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = problem_response(self.status, self.code, &self.detail, &self.errors);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let status = match e.code {
            "forbidden" => StatusCode::FORBIDDEN,
            "schema_mismatch"
            | INVALID_TEMPLATE
            | INVALID_RETRY_SCHEDULE
            | CREDENTIAL_IN_HEADERS => StatusCode::UNPROCESSABLE_ENTITY,
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            code: e.code,
            detail: e.detail,
            errors: e.errors,
            retry_after: None,
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound => ApiError::not_found("resource"),
            PortError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            PortError::InvalidCursor => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "cursor: not a cursor this API issued",
            ),
            PortError::Backend { .. } => ApiError::unavailable(&e),
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
