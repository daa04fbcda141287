//! The domain's checks of what the apps and connections routes are given, as the routes call
//! them: each answers 422 `invalid_request` with the path of the offending field as the
//! request names it (`definition.actions.update.request.url`, `environment.API_SECRET`,
//! `properties.location`, `credentials.password`).
//!
//! TEMPORARY (issue 23, apps-api): the bodies below stand in for `hookline_domain::apps`'
//! validation (branch `apps-model`) until it is merged; then each becomes a call to it.

use std::collections::BTreeMap;

use hookline_domain::ValidationError;
use hookline_domain::apps::{
    AppDefinition, AppVersion, Connection, FieldSpec, FieldType, PollState, TriggerKind,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::api::sync_sources::invalid_field;
use crate::problem::ApiError;

/// The definition of a publish body, parsed and checked (paths under `definition.`).
pub(crate) fn definition(raw: &Value) -> Result<AppDefinition, ApiError> {
    let def: AppDefinition = serde_json::from_value(raw.clone())
        .map_err(|e| invalid_field(ValidationError::invalid("definition", e.to_string())))?;
    let key_ok = def.key.len() >= 2
        && def.key.len() <= 64
        && def.key.starts_with(|c: char| c.is_ascii_lowercase())
        && def
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(invalid_field(ValidationError::invalid(
            "definition.key",
            "2-64 of a-z, 0-9, _ and -, starting with a letter",
        )));
    }
    if !is_version(&def.version) {
        return Err(invalid_field(ValidationError::invalid(
            "definition.version",
            "a semantic version (1.2.0, 2.0.0-beta.1)",
        )));
    }
    Ok(def)
}

/// Whether `text` is a semantic version (`1.2.0`, `2.0.0-beta.1`).
pub(crate) fn is_version(text: &str) -> bool {
    let (core, pre) = match text.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (text, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    text.len() <= 64
        && parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
}

/// The environment's values against the variables the definition declares (paths under
/// `environment.`).
pub(crate) fn environment(
    def: &AppDefinition,
    env: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    if let Some(name) = env
        .keys()
        .find(|k| !def.environment.iter().any(|v| &v.key == *k))
    {
        return Err(field(
            &format!("environment.{name}"),
            "not a variable the definition declares",
        ));
    }
    if let Some(v) = def
        .environment
        .iter()
        .find(|v| v.required && env.get(&v.key).is_none_or(String::is_empty))
    {
        return Err(field(&format!("environment.{}", v.key), "is required"));
    }
    Ok(())
}

/// A connection's property values and credentials against the app version's fields (paths
/// under `properties.` and `credentials.`).
pub(crate) fn connection_values(
    def: &AppDefinition,
    properties: &BTreeMap<String, Value>,
    credentials: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    values("properties", &def.properties, properties)?;
    let creds: BTreeMap<String, Value> = credentials
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    values("credentials", &def.auth.credential_fields(), &creds)
}

fn values(
    prefix: &str,
    specs: &[FieldSpec],
    given: &BTreeMap<String, Value>,
) -> Result<(), ApiError> {
    if let Some(k) = given.keys().find(|k| !specs.iter().any(|s| &s.key == *k)) {
        return Err(field(&format!("{prefix}.{k}"), "not a field of this app"));
    }
    for spec in specs {
        let path = format!("{prefix}.{}", spec.key);
        let Some(v) = given.get(&spec.key).filter(|v| !v.is_null()) else {
            if spec.required {
                return Err(field(&path, "is required"));
            }
            continue;
        };
        let typed = match spec.kind {
            FieldType::String => v.is_string(),
            FieldType::Number => v.is_number(),
            FieldType::Integer => v.is_i64() || v.is_u64(),
            FieldType::Boolean => v.is_boolean(),
        };
        if !typed {
            return Err(field(&path, "not of the field's type"));
        }
        if spec.choices.as_ref().is_some_and(|c| !c.contains(v)) {
            return Err(field(&path, "not one of the field's choices"));
        }
    }
    Ok(())
}

/// The poll schedules a connection runs: one per enabled polling trigger of an enabled
/// connection, first due at `now`.
pub(crate) fn polls(c: &Connection, app: &AppVersion, now: OffsetDateTime) -> Vec<PollState> {
    if !c.enabled {
        return Vec::new();
    }
    c.polling
        .iter()
        .filter(|(key, setting)| {
            setting.enabled
                && app
                    .definition
                    .triggers
                    .get(*key)
                    .is_some_and(|t| matches!(t.kind, TriggerKind::Polling { .. }))
        })
        .map(|(key, setting)| PollState {
            connection_id: c.id.clone(),
            trigger: key.clone(),
            client_id: c.client_id.clone(),
            interval_seconds: setting.interval_seconds,
            next_run_at: now,
            cursor: None,
            seen: Vec::new(),
            last_run_at: None,
            last_error: None,
            published: 0,
            lease_until: None,
            version: 0,
        })
        .collect()
}

/// 422 `invalid_request` about one field.
pub(crate) fn field(path: &str, message: &str) -> ApiError {
    invalid_field(ValidationError::invalid(path, message))
}
