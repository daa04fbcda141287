//! The names of a stack's AWS resources. The SAM template passes them to every function in
//! the variables [`ENV_VARS`] lists, and `infra/local/bootstrap` prints them for the local
//! runner; `hookline_runtime::config::aws_settings` reads them.

use std::time::Duration;

/// Resource names and queue settings of one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `HOOKLINE_TABLE`: the DynamoDB table.
    pub table: String,
    /// `HOOKLINE_EVENTS_QUEUE_URL`.
    pub events_queue_url: String,
    /// `HOOKLINE_EVENTS_DLQ_URL`.
    pub events_dlq_url: String,
    /// `HOOKLINE_DELIVERIES_QUEUE_URL`.
    pub deliveries_queue_url: String,
    /// `HOOKLINE_DELIVERIES_DLQ_URL`.
    pub deliveries_dlq_url: String,
    /// `HOOKLINE_SIGNING_KEY_SECRET`: Secrets Manager id of the JWT signing key set (the
    /// private keys; only the token function may read it).
    pub signing_key_secret: String,
    /// `HOOKLINE_PUBLIC_KEYS_SECRET`: Secrets Manager id of the published public keys (a
    /// JWKS document; every function that verifies tokens reads it).
    pub public_keys_secret: String,
    /// `HOOKLINE_SECRETS_PREFIX`: the prefix of the secret store's names in Secrets Manager
    /// (`hookline/{stack}/` in the template, which scopes the functions' permissions to it).
    pub secrets_prefix: String,
}

/// The environment variables that name the resources; the template sets each on every
/// function and `infra/local/bootstrap` prints each.
pub const ENV_VARS: [&str; 8] = [
    "HOOKLINE_TABLE",
    "HOOKLINE_EVENTS_QUEUE_URL",
    "HOOKLINE_EVENTS_DLQ_URL",
    "HOOKLINE_DELIVERIES_QUEUE_URL",
    "HOOKLINE_DELIVERIES_DLQ_URL",
    "HOOKLINE_SIGNING_KEY_SECRET",
    "HOOKLINE_PUBLIC_KEYS_SECRET",
    "HOOKLINE_SECRETS_PREFIX",
];

/// SQS counts whole seconds: a sub-second delay or visibility is rounded up, never down, so
/// a retry is never earlier than scheduled.
pub fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(i32::MAX as u64) as i32
}
