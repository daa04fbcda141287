//! The values given for a definition's declarations: an app version's environment when it is
//! published, a connection's properties and credentials when it is created, changed or
//! upgraded. Each is checked against what the definition declares (required, undeclared,
//! type, choices) and split into what is stored with the record and what goes to the secret
//! store. Error paths name the request's fields (`environment.API_SECRET`,
//! `properties.location_id`, `credentials.password`); messages never quote a value.

use std::collections::BTreeMap;

use serde_json::Value;

use super::validate::{Problems, has_type, type_name};
use super::{AppDefinition, ConnectionSecrets, FieldSpec};
use crate::error::ValidationError;

/// Longest environment or credential value.
pub const MAX_VALUE_BYTES: usize = 8192;

/// Non-secret values (stored with the record) and secret ones (for the secret store).
pub type SplitValues = (BTreeMap<String, String>, BTreeMap<String, String>);

/// Checks the environment values published with `def`: each declared variable that is
/// required has a non-empty string, no undeclared name is given. Returns the non-secret and
/// the secret values.
pub fn validate_environment(
    def: &AppDefinition,
    values: &BTreeMap<String, Value>,
) -> Result<SplitValues, ValidationError> {
    let mut p = Problems::default();
    let (mut plain, mut secret) = (BTreeMap::new(), BTreeMap::new());
    for name in values.keys() {
        if !def.environment.iter().any(|v| &v.key == name) {
            p.add(
                format!("environment.{name}"),
                "not an environment variable of this app version",
            );
        }
    }
    for var in &def.environment {
        let field = format!("environment.{}", var.key);
        match values.get(&var.key) {
            None | Some(Value::Null) => {
                if var.required {
                    p.add(field, "is required");
                }
            }
            Some(Value::String(text)) if text.is_empty() && var.required => {
                p.add(field, "is required");
            }
            Some(Value::String(text)) if text.len() > MAX_VALUE_BYTES => {
                p.add(field, format!("at most {MAX_VALUE_BYTES} bytes"));
            }
            Some(Value::String(text)) => {
                let into = if var.secret { &mut secret } else { &mut plain };
                into.insert(var.key.clone(), text.clone());
            }
            Some(_) => p.add(field, "must be a string"),
        }
    }
    p.finish().map(|()| (plain, secret))
}

/// Checks a connection's values against `def`: every property and credential (the auth
/// scheme's fields) that is required has a value, each is of its field's type and among its
/// choices, none is undeclared; JSON null is no value. Returns the non-secret properties
/// (stored with the connection) and the secrets (credentials, secret properties).
pub fn validate_connection_values(
    def: &AppDefinition,
    properties: &BTreeMap<String, Value>,
    credentials: &BTreeMap<String, Value>,
) -> Result<(BTreeMap<String, Value>, ConnectionSecrets), ValidationError> {
    let mut p = Problems::default();
    let mut plain = BTreeMap::new();
    let mut secrets = ConnectionSecrets::default();
    for (key, value) in checked(&mut p, "properties", &def.properties, properties) {
        let spec = def.properties.iter().find(|f| f.key == key);
        if spec.is_some_and(|f| f.secret) {
            secrets.properties.insert(key, value);
        } else {
            plain.insert(key, value);
        }
    }
    let fields = def.auth.credential_fields();
    for (key, value) in checked(&mut p, "credentials", &fields, credentials) {
        let text = match value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        if text.len() > MAX_VALUE_BYTES {
            p.add(
                format!("credentials.{key}"),
                format!("at most {MAX_VALUE_BYTES} bytes"),
            );
        }
        secrets.credentials.insert(key, text);
    }
    p.finish().map(|()| (plain, secrets))
}

/// The given values of `fields` that pass, after recording each problem under `path`.
fn checked(
    p: &mut Problems,
    path: &str,
    fields: &[FieldSpec],
    given: &BTreeMap<String, Value>,
) -> Vec<(String, Value)> {
    for key in given.keys() {
        if !fields.iter().any(|f| &f.key == key) {
            p.add(
                format!("{path}.{key}"),
                format!("not one of this app version's {path}"),
            );
        }
    }
    let mut ok = Vec::new();
    for spec in fields {
        let field = format!("{path}.{}", spec.key);
        let value = match given.get(&spec.key) {
            None | Some(Value::Null) => {
                if spec.required {
                    p.add(field, "is required");
                }
                continue;
            }
            Some(value) => value,
        };
        if spec.required && value.as_str().is_some_and(str::is_empty) {
            p.add(field, "is required");
        } else if !has_type(value, spec.kind) {
            p.add(field, format!("must be a {}", type_name(spec.kind)));
        } else if spec.choices.as_ref().is_some_and(|c| !c.contains(value)) {
            p.add(field, "not one of the field's choices");
        } else {
            ok.push((spec.key.clone(), value.clone()));
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn def() -> AppDefinition {
        serde_json::from_value(json!({
            "key": "shop", "name": "Shop", "version": "1.0.0",
            "auth": {"type": "basic"},
            "properties": [
                {"key": "location_id", "required": true},
                {"key": "size", "type": "integer", "choices": [1, 2]},
                {"key": "hook_key", "secret": true, "required": true}
            ],
            "environment": [
                {"key": "BASE_URL"},
                {"key": "API_SECRET", "secret": true},
                {"key": "REGION", "required": false}
            ]
        }))
        .expect("a definition")
    }

    fn fields(err: ValidationError) -> Vec<String> {
        err.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn environment_values_are_split_and_checked_against_the_declarations() {
        let (plain, secret) = validate_environment(
            &def(),
            &BTreeMap::from([
                ("BASE_URL".into(), json!("https://shop.example")),
                ("API_SECRET".into(), json!("s3cr3t")),
            ]),
        )
        .expect("valid");
        assert_eq!(
            plain,
            BTreeMap::from([("BASE_URL".into(), "https://shop.example".into())])
        );
        assert_eq!(
            secret,
            BTreeMap::from([("API_SECRET".into(), "s3cr3t".into())])
        );
        let err = validate_environment(
            &def(),
            &BTreeMap::from([
                ("BASE_URL".into(), json!(5)),
                ("OTHER".into(), json!("x")),
                ("REGION".into(), json!("s3cr3t-region")),
            ]),
        )
        .expect_err("bad");
        assert_eq!(
            fields(err.clone()),
            [
                "environment.OTHER",
                "environment.BASE_URL",
                "environment.API_SECRET"
            ]
        );
        assert!(!format!("{err:?}").contains("s3cr3t"));
    }

    #[test]
    fn connection_values_are_typed_split_and_never_quoted() {
        let (plain, secrets) = validate_connection_values(
            &def(),
            &BTreeMap::from([
                ("location_id".into(), json!("loc_1")),
                ("size".into(), json!(2)),
                ("hook_key".into(), json!("hk_s3cr3t")),
            ]),
            &BTreeMap::from([
                ("username".into(), json!("me")),
                ("password".into(), json!("pw_s3cr3t")),
            ]),
        )
        .expect("valid");
        assert_eq!(plain.len(), 2);
        assert_eq!(secrets.properties["hook_key"], json!("hk_s3cr3t"));
        assert_eq!(secrets.credentials["password"], "pw_s3cr3t");
        let err = validate_connection_values(
            &def(),
            &BTreeMap::from([
                ("size".into(), json!(3)),
                ("hook_key".into(), json!("hk_s3cr3t")),
                ("colour".into(), json!("red")),
            ]),
            &BTreeMap::from([("password".into(), json!(["pw_s3cr3t"]))]),
        )
        .expect_err("bad");
        assert_eq!(
            fields(err.clone()),
            [
                "properties.colour",
                "properties.location_id",
                "properties.size",
                "credentials.username",
                "credentials.password"
            ]
        );
        assert!(!format!("{err:?}").contains("s3cr3t"));
    }
}
