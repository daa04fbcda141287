//! The domain's checks of what the apps and connections routes are given
//! (`hookline_domain::apps`), as the routes answer them: 422 with the path of every offending
//! field as the request names it (`definition.actions.update.request.url`,
//! `environment.API_SECRET`, `properties.location`, `credentials.password`,
//! `polling.orders.interval_seconds`).

use std::collections::BTreeMap;

use hookline_domain::ValidationError;
use hookline_domain::apps::{
    AppDefinition, ConnectionSecrets, PollSetting, PollSettingInput, SplitValues, check_definition,
    in_definition, validate_connection_values, validate_environment, validate_polling,
};
use serde_json::Value;

use crate::api::sync_sources::invalid_field;
use crate::problem::ApiError;

/// The definition of a publish body, read and checked (schema, types, rules).
pub(crate) fn definition(raw: &Value) -> Result<AppDefinition, ApiError> {
    check_definition(raw).map_err(|e| unprocessable(in_definition(e)))
}

/// The environment's values against the variables `def` declares: the non-secret and the
/// secret ones.
pub(crate) fn environment(
    def: &AppDefinition,
    env: &BTreeMap<String, Value>,
) -> Result<SplitValues, ApiError> {
    validate_environment(def, env).map_err(unprocessable)
}

/// A connection's property values and credentials against `def`: the non-secret properties
/// and the secrets.
pub(crate) fn connection_values(
    def: &AppDefinition,
    properties: &BTreeMap<String, Value>,
    credentials: &BTreeMap<String, Value>,
) -> Result<(BTreeMap<String, Value>, ConnectionSecrets), ApiError> {
    validate_connection_values(def, properties, credentials).map_err(unprocessable)
}

/// A connection's polling settings: `given` over `current`, one per polling trigger of `def`.
pub(crate) fn polling(
    def: &AppDefinition,
    current: &BTreeMap<String, PollSetting>,
    given: &BTreeMap<String, PollSettingInput>,
) -> Result<BTreeMap<String, PollSetting>, ApiError> {
    validate_polling(def, given, current).map_err(unprocessable)
}

/// A domain refusal as a 422 (its own code when it has one that is 422 already, such as
/// `schema_mismatch`; `invalid_request` otherwise).
pub(crate) fn unprocessable(e: ValidationError) -> ApiError {
    invalid_field(e)
}

/// 422 `invalid_request` about one field.
pub(crate) fn field(path: &str, message: &str) -> ApiError {
    invalid_field(ValidationError::invalid(path, message))
}
