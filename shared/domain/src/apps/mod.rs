//! Integration apps (the APPS seed): declarative definitions of a third-party tool — how to
//! authenticate to it, the actions Hookline can perform on it, and the triggers by which its
//! events become Hookline events — published in semver versions; the connections through
//! which a client uses one version with its own credentials and properties; and the schedule
//! of a connection's polling triggers.
//!
//! Every trigger becomes a Hookline event, and every action is a delivery (a subscription
//! whose mode is `action`, with its steps in [`crate::subscription::ActionStep`]), so apps add
//! no queue, retry schedule, attempt log or dead-letter queue of their own.
//!
//! Strings in requests are templates of the product's one engine ([`crate::template`]).

mod connection;
mod definition;
mod poll;
mod polling;
mod schema;
mod validate;
mod values;
mod version;

pub use connection::{Connection, ConnectionSecrets, PollSetting};
pub use definition::{
    ActionKind, ActionSpec, AppDefinition, AuthScheme, ClientAuth, EnvVarSpec, FieldSpec,
    FieldType, HmacAlgorithm, HmacEncoding, HookVerify, HttpMethod, KeyLocation, PollCursor,
    RequestTemplate, SessionApply, TriggerKind, TriggerSpec,
};
pub use poll::{MAX_SEEN_IDS, PollState};
pub use polling::{PollSettingInput, polls_for, validate_polling};
pub use schema::{APP_SCHEMA, SCHEMA_MISMATCH, check_definition};
pub use validate::{
    MAX_CHOICES, MAX_DEFINITION_BYTES, MAX_ITEMS, MAX_POLL_INTERVAL_SECONDS, MAX_PROBLEMS,
    check_version, in_definition, is_app_key, is_env_name, is_field_key, validate,
};
pub(crate) use validate::{Problems, Scope};
pub use values::{MAX_VALUE_BYTES, SplitValues, validate_connection_values, validate_environment};
pub use version::{AppStatus, AppVersion};
