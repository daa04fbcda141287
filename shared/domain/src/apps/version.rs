//! A published app version, as stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::AppDefinition;
use crate::ids::ClientId;

/// Whether new connections may use a version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// In use; new connections may name it.
    #[default]
    Published,
    /// Still runs for the connections that name it; refuses new ones (and upgrades to it).
    Deprecated,
}

/// One published version of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppVersion {
    /// The definition (its `key` and `version` name this record).
    pub definition: AppDefinition,
    /// Published or deprecated.
    pub status: AppStatus,
    /// Values of the non-secret environment variables. Secret ones are in the secret store
    /// under [`AppVersion::secret_name`].
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Names of the secret environment variables that have a value.
    #[serde(default)]
    pub secret_environment: Vec<String>,
    /// The client that published it (only it, or an admin, publishes further versions of the
    /// key and deprecates them).
    pub published_by: ClientId,
    /// Publication time.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Deprecation time.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub deprecated_at: Option<OffsetDateTime>,
    /// Optimistic-concurrency version of this record (not the app's semver).
    #[serde(default)]
    pub revision: u64,
}

impl AppVersion {
    /// The app's key.
    pub fn key(&self) -> &str {
        &self.definition.key
    }

    /// The app's semver.
    pub fn version(&self) -> &str {
        &self.definition.version
    }

    /// The secret store's name of this version's secret environment values (a JSON object of
    /// name to value). It ends in `/env`, not in the version: Secrets Manager may read a name
    /// that ends in a hyphen and six characters (`1.0.0-beta.1`) as a partial ARN.
    pub fn secret_name(key: &str, version: &str) -> String {
        format!("apps/{key}/{version}/env")
    }
}

#[cfg(test)]
mod tests {
    use super::AppVersion;
    use crate::ConnectionId;
    use crate::apps::Connection;

    /// Secrets Manager's rule: a name ending in `-` and six characters may be taken for a
    /// partial ARN (whose last part is such a suffix).
    fn looks_like_an_arn_suffix(name: &str) -> bool {
        let b = name.as_bytes();
        b.len() >= 7 && b[b.len() - 7] == b'-'
    }

    #[test]
    fn secret_names_never_end_like_an_arn_suffix() {
        for version in ["1.0.0", "1.0.0-beta.1", "2.0.0-rc.10", "0.1.0-alpha1"] {
            let name = AppVersion::secret_name("shop-orders", version);
            assert!(!looks_like_an_arn_suffix(&name), "{name}");
            assert!(name.starts_with("apps/shop-orders/"), "{name}");
        }
        assert!(
            looks_like_an_arn_suffix("apps/shop/1.0.0-beta.1"),
            "the check"
        );
        let connection = Connection::secret_name(&ConnectionId::new(1_765_000_000_000));
        assert!(!looks_like_an_arn_suffix(&connection), "{connection}");
    }
}
