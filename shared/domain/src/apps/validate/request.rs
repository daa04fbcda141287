//! The checks of one request template and of the small shapes definitions are made of (JSON
//! pointers, header and parameter names).

use serde_json::Value;

use super::problems::Problems;
use super::scope::Scope;
use crate::apps::RequestTemplate;
use crate::error::FieldError;
use crate::subscription::{CREDENTIAL_IN_HEADERS, is_credential_header};

/// Longest URL template.
pub const MAX_URL_BYTES: usize = 2048;
/// Most headers, query parameters or form fields of one request.
pub const MAX_REQUEST_ENTRIES: usize = 20;
/// Longest header value template.
const MAX_HEADER_VALUE_BYTES: usize = 4096;
/// Longest JSON pointer.
const MAX_POINTER_BYTES: usize = 200;
/// Deepest JSON body template.
const MAX_BODY_DEPTH: usize = 32;

/// Whether `pointer` is an RFC 6901 JSON pointer (`""` or `/a/b~1c`).
pub(crate) fn is_pointer(pointer: &str) -> bool {
    let escapes_ok = pointer
        .split('~')
        .skip(1)
        .all(|after| after.starts_with('0') || after.starts_with('1'));
    pointer.len() <= MAX_POINTER_BYTES
        && (pointer.is_empty() || pointer.starts_with('/'))
        && escapes_ok
}

/// Checks that `pointer` of field `field` is a JSON pointer.
pub(crate) fn check_pointer(problems: &mut Problems, field: &str, pointer: &str) {
    if !is_pointer(pointer) {
        problems.add(
            field,
            format!(
                "not a JSON pointer (`/items`, `/order/id`; `~0` and `~1` escape `~` and `/`; at most {MAX_POINTER_BYTES} bytes)"
            ),
        );
    }
}

/// Whether `name` is a query parameter or form field name a request can carry (1 to 100
/// printable ASCII characters).
pub(crate) fn is_parameter_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_graphic())
}

/// Checks a header name of field `field`: a valid name, not one Hookline sets.
pub(crate) fn check_header_name(problems: &mut Problems, field: &str, name: &str) {
    if !crate::subscription::is_header_name(name) {
        problems.add(field, "not a valid header name");
    } else if crate::subscription::is_reserved_header(name) {
        problems.add(field, "this header is set by Hookline");
    }
}

/// Checks request template `req` at `path` whose templates see `scope`.
pub(crate) fn check_request(
    problems: &mut Problems,
    path: &str,
    req: &RequestTemplate,
    scope: &Scope,
) {
    let url = format!("{path}.url");
    if req.url.trim().is_empty() {
        problems.add(url, "is required");
    } else if req.url.len() > MAX_URL_BYTES {
        problems.add(url, format!("at most {MAX_URL_BYTES} bytes"));
    } else {
        scope.check(problems, &url, &req.url);
    }
    if req.headers.len() > MAX_REQUEST_ENTRIES {
        problems.add(
            format!("{path}.headers"),
            format!("at most {MAX_REQUEST_ENTRIES} headers"),
        );
    }
    for (name, value) in &req.headers {
        let field = format!("{path}.headers.{name}");
        check_header_name(problems, &field, name);
        if is_credential_header(name) {
            problems.add_with(
                CREDENTIAL_IN_HEADERS,
                FieldError::new(
                    &field,
                    "a credential: the app's `auth` scheme carries it (secrets never sit in a definition)",
                ),
            );
        }
        let sendable = |b: u8| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80;
        if value.len() > MAX_HEADER_VALUE_BYTES || !value.bytes().all(sendable) {
            problems.add(&field, "not a valid header value");
        } else {
            scope.check(problems, &field, value);
        }
    }
    check_parameters(problems, &format!("{path}.query"), &req.query, scope);
    if let Some(form) = &req.form {
        check_parameters(problems, &format!("{path}.form"), form, scope);
        if req.body.is_some() {
            problems.add(
                format!("{path}.form"),
                "a request has a JSON body or a form, not both",
            );
        }
    }
    if let Some(body) = &req.body {
        check_body(problems, &format!("{path}.body"), body, scope, 0);
    }
}

fn check_parameters(
    problems: &mut Problems,
    path: &str,
    parameters: &std::collections::BTreeMap<String, String>,
    scope: &Scope,
) {
    if parameters.len() > MAX_REQUEST_ENTRIES {
        problems.add(path, format!("at most {MAX_REQUEST_ENTRIES} entries"));
    }
    for (name, value) in parameters {
        let field = format!("{path}.{name}");
        if !is_parameter_name(name) {
            problems.add(
                &field,
                "not a valid parameter name (1-100 printable ASCII characters)",
            );
        }
        scope.check(problems, &field, value);
    }
}

/// Every string leaf of a JSON body is a template.
fn check_body(problems: &mut Problems, path: &str, body: &Value, scope: &Scope, depth: usize) {
    if depth > MAX_BODY_DEPTH {
        problems.add(
            path,
            format!("a body is at most {MAX_BODY_DEPTH} levels deep"),
        );
        return;
    }
    match body {
        Value::String(source) => scope.check(problems, path, source),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_body(problems, &format!("{path}[{i}]"), item, scope, depth + 1);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                check_body(problems, &format!("{path}.{name}"), item, scope, depth + 1);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_rfc_6901() {
        for good in ["", "/", "/items", "/a~1b/c~0d", "/0"] {
            assert!(is_pointer(good), "{good}");
        }
        for bad in ["items", "/a~2", "/a~", "#/a"] {
            assert!(!is_pointer(bad), "{bad}");
        }
    }
}
