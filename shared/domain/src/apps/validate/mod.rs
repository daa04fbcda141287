//! The rules an app definition obeys before it is published: shapes of keys, names and
//! versions, bounded sizes, templates that parse and name only what their context holds and
//! the definition declares, searches that exist. Every problem is reported with the path of
//! its field within the definition (`actions.update_status.request.url`); the API puts them
//! under `definition.` ([`in_definition`]). The catalog (does a trigger's event type exist?)
//! is the API's to check.

mod behaviour;
mod problems;
mod request;
mod scope;

use std::collections::BTreeSet;

use crate::apps::{AppDefinition, AuthScheme, FieldSpec, FieldType, KeyLocation};
use crate::error::ValidationError;
pub use behaviour::MAX_POLL_INTERVAL_SECONDS;
pub(crate) use problems::Problems;
pub use problems::{MAX_PROBLEMS, in_definition};
use request::{MAX_URL_BYTES, check_pointer};
pub(crate) use scope::Scope;

/// Largest definition (its JSON).
pub const MAX_DEFINITION_BYTES: usize = 256 * 1024;
/// Most properties, environment variables, actions, triggers, or inputs of one action.
pub const MAX_ITEMS: usize = 50;
/// Most choices of one field.
pub const MAX_CHOICES: usize = 100;
/// Longest name or label.
const MAX_NAME_CHARS: usize = 200;
/// Longest description or help text.
const MAX_DESCRIPTION_CHARS: usize = 2000;

/// Checks `def`; `Err` lists every problem found (at most [`MAX_PROBLEMS`]).
pub fn validate(def: &AppDefinition) -> Result<(), ValidationError> {
    let mut p = Problems::default();
    // Serializing a definition cannot fail (string keys, JSON values).
    let size = serde_json::to_vec(def).map_or(usize::MAX, |json| json.len());
    if size > MAX_DEFINITION_BYTES {
        p.add(
            "",
            format!("a definition is at most {MAX_DEFINITION_BYTES} bytes of JSON"),
        );
        return p.finish();
    }
    if !is_app_key(&def.key) {
        p.add(
            "key",
            "2-64 characters: a lower-case letter, then lower-case letters, digits, `_` or `-`",
        );
    }
    check_text(&mut p, "name", &def.name, MAX_NAME_CHARS, true);
    check_text(
        &mut p,
        "description",
        &def.description,
        MAX_DESCRIPTION_CHARS,
        false,
    );
    if let Err(message) = check_version(&def.version) {
        p.add("version", message);
    }
    check_fields(&mut p, "properties", &def.properties);
    check_environment_specs(&mut p, def);
    check_auth(&mut p, def);
    if let Some(test) = &def.test {
        request::check_request(&mut p, "test", test, &Scope::poll(def));
    }
    behaviour::check_actions(&mut p, def);
    behaviour::check_triggers(&mut p, def);
    p.finish()
}

/// Whether `key` is an app key (`^[a-z][a-z0-9_-]{1,63}$`).
pub fn is_app_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    (2..=64).contains(&key.len())
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether `key` is a field, action or trigger key (`^[a-z][a-z0-9_]{0,63}$`).
pub fn is_field_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    key.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `name` is an environment variable name (`^[A-Z][A-Z0-9_]{0,63}$`).
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a version: semver, without build metadata (versions sort and are named by their
/// precedence, which ignores it: `1.0.0+a` and `1.0.0+b` would be one version), each number
/// at most ten digits (the stores' sort key), at most 64 characters.
pub fn check_version(version: &str) -> Result<semver::Version, String> {
    let parsed = semver::Version::parse(version)
        .map_err(|e| format!("not a semantic version (`1.2.0`, `2.0.0-beta.1`): {e}"))?;
    if !parsed.build.is_empty() {
        return Err(
            "build metadata (`+…`) is not part of a version's identity: leave it out".into(),
        );
    }
    let ten_digits = 9_999_999_999;
    if version.len() > 64
        || [parsed.major, parsed.minor, parsed.patch]
            .iter()
            .any(|n| *n > ten_digits)
    {
        return Err("at most 64 characters, each number at most ten digits".into());
    }
    Ok(parsed)
}

/// Checks free text: at most `max` characters, no control characters but newlines, and
/// present if `required`.
pub(crate) fn check_text(p: &mut Problems, field: &str, text: &str, max: usize, required: bool) {
    if required && text.trim().is_empty() {
        p.add(field, "is required");
    } else if text.chars().count() > max {
        p.add(field, format!("at most {max} characters"));
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        p.add(field, "control characters are not allowed");
    }
}

/// Checks a list of fields (properties, an action's inputs, a session's credentials).
pub(crate) fn check_fields(p: &mut Problems, path: &str, fields: &[FieldSpec]) {
    if fields.len() > MAX_ITEMS {
        p.add(path, format!("at most {MAX_ITEMS} fields"));
    }
    let mut seen = BTreeSet::new();
    for (i, field) in fields.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let shape = "1-64 characters: a lower-case letter, then lower-case letters, digits or `_`";
        check_key(p, &at, &field.key, is_field_key, shape, &mut seen);
        check_text(
            p,
            &format!("{at}.label"),
            &field.label,
            MAX_NAME_CHARS,
            false,
        );
        check_text(
            p,
            &format!("{at}.help"),
            &field.help,
            MAX_DESCRIPTION_CHARS,
            false,
        );
        if let Some(choices) = &field.choices {
            if choices.is_empty() || choices.len() > MAX_CHOICES {
                p.add(format!("{at}.choices"), format!("1-{MAX_CHOICES} values"));
            }
            for (j, choice) in choices.iter().enumerate() {
                if !has_type(choice, field.kind) {
                    p.add(
                        format!("{at}.choices[{j}]"),
                        format!("not a {}", type_name(field.kind)),
                    );
                }
            }
        }
    }
}

/// Checks the key of the declaration at `at`: of its shape, declared once.
fn check_key<'a>(
    p: &mut Problems,
    at: &str,
    key: &'a str,
    valid: fn(&str) -> bool,
    shape: &str,
    seen: &mut BTreeSet<&'a str>,
) {
    if !valid(key) {
        p.add(format!("{at}.key"), shape);
    } else if !seen.insert(key) {
        p.add(format!("{at}.key"), format!("`{key}` is declared twice"));
    }
}

/// Whether `value` is of type `kind`.
pub(crate) fn has_type(value: &serde_json::Value, kind: FieldType) -> bool {
    match kind {
        FieldType::String => value.is_string(),
        FieldType::Number => value.is_number(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Boolean => value.is_boolean(),
    }
}

/// A type's name in messages.
pub(crate) fn type_name(kind: FieldType) -> &'static str {
    match kind {
        FieldType::String => "string",
        FieldType::Number => "number",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
    }
}

fn check_environment_specs(p: &mut Problems, def: &AppDefinition) {
    if def.environment.len() > MAX_ITEMS {
        p.add("environment", format!("at most {MAX_ITEMS} variables"));
    }
    let mut seen = BTreeSet::new();
    for (i, var) in def.environment.iter().enumerate() {
        let at = format!("environment[{i}]");
        let shape = "1-64 characters: an upper-case letter, then upper-case letters, digits or `_`";
        check_key(p, &at, &var.key, is_env_name, shape, &mut seen);
        check_text(
            p,
            &format!("{at}.description"),
            &var.description,
            MAX_DESCRIPTION_CHARS,
            false,
        );
    }
}

fn check_auth(p: &mut Problems, def: &AppDefinition) {
    match &def.auth {
        AuthScheme::None | AuthScheme::Basic | AuthScheme::Digest => {}
        AuthScheme::ApiKey { location, name } => match location {
            KeyLocation::Header => request::check_header_name(p, "auth.name", name),
            KeyLocation::Query if !request::is_parameter_name(name) => {
                p.add(
                    "auth.name",
                    "not a valid parameter name (1-100 printable ASCII characters)",
                );
            }
            KeyLocation::Query => {}
        },
        AuthScheme::Oauth2ClientCredentials {
            token_url, scope, ..
        } => {
            if token_url.trim().is_empty() || token_url.len() > MAX_URL_BYTES {
                p.add("auth.token_url", format!("1-{MAX_URL_BYTES} bytes"));
            } else {
                Scope::token_url(def).check(p, "auth.token_url", token_url);
            }
            if let Some(scope) = scope {
                check_text(p, "auth.scope", scope, 1000, false);
            }
        }
        AuthScheme::Session {
            fields,
            login,
            token,
            expires_in,
            ttl_seconds,
            apply,
        } => {
            check_fields(p, "auth.fields", fields);
            request::check_request(p, "auth.login", login, &Scope::with_credentials(def));
            check_pointer(p, "auth.token", token);
            if let Some(pointer) = expires_in {
                check_pointer(p, "auth.expires_in", pointer);
            }
            if ttl_seconds.is_some_and(|ttl| !(1..=30 * 86_400).contains(&ttl)) {
                p.add("auth.ttl_seconds", "1 second to 30 days");
            }
            request::check_header_name(p, "auth.apply.header", &apply.header);
            Scope::session().check(p, "auth.apply.value", &apply.value);
        }
    }
}

#[cfg(test)]
mod tests;
