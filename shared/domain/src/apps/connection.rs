//! Connections: a client's use of one app version, with its credentials and properties.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ids::{ClientId, ConnectionId};
use crate::state::StateCode;

/// A connection, as stored. Its secrets (credentials, secret properties) are not here: they
/// are in the secret store under [`Connection::secret_name`], as [`ConnectionSecrets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// `con_…`
    pub id: ConnectionId,
    /// Owner.
    pub client_id: ClientId,
    /// The app's key.
    pub app: String,
    /// The app version it uses (semver); changed by an upgrade.
    pub app_version: String,
    /// Free text.
    #[serde(default)]
    pub name: String,
    /// The state the events of its triggers are published for (one of the owner's states).
    pub state: StateCode,
    /// Values of the non-secret properties.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    /// Keys of the secret properties and credentials that have a value (never the values).
    #[serde(default)]
    pub secrets_set: Vec<String>,
    /// The secret token of its inbound hook URLs (`/hooks/{hook_token}/{trigger}`): 32
    /// random characters, never listed except to its owner.
    pub hook_token: String,
    /// Polling triggers it runs, by trigger key.
    #[serde(default)]
    pub polling: BTreeMap<String, PollSetting>,
    /// A disabled connection runs no poll, accepts no hook and fails its actions.
    pub enabled: bool,
    /// Creation time.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version; every change (secrets too) moves it, so a cache of
    /// its secrets keyed by (id, version) is never stale.
    #[serde(default)]
    pub version: u64,
}

impl Connection {
    /// The secret store's name of its secrets.
    pub fn secret_name(id: &ConnectionId) -> String {
        format!("connections/{id}")
    }
}

/// How a connection runs one polling trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollSetting {
    /// Whether it polls.
    pub enabled: bool,
    /// Seconds between polls (at least the trigger's minimum).
    pub interval_seconds: u32,
}

/// A connection's secrets, as the secret store keeps them (JSON).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSecrets {
    /// The auth scheme's credentials by field key.
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
    /// Values of the secret properties.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

impl std::fmt::Debug for ConnectionSecrets {
    /// Never a value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSecrets")
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}
