//! Request and response bodies of `/v1/apps`: what a publisher sends (a definition and its
//! environment's values) and what readers see (never a secret environment value: those show
//! as `"[secret]"`).

use std::collections::BTreeMap;

use hookline_domain::apps::{AppStatus, AppVersion};
use hookline_domain::time_fmt::format;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What a secret environment value shows as.
pub const SECRET_SHOWN: &str = "[secret]";

/// Body of `POST /v1/apps`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppVersion {
    /// The app definition (its JSON Schema: `GET /v1/apps/schema`).
    #[schema(value_type = Object)]
    pub definition: Value,
    /// A value for each environment variable the definition declares (secret ones are kept
    /// in the secret store and never shown again).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub environment: BTreeMap<String, Value>,
}

/// `published` (new connections may use it) or `deprecated` (runs for the connections that
/// use it; refuses new ones and upgrades to it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AppStatus)]
#[allow(dead_code)]
pub enum AppStatusSchema {
    /// New connections may use it.
    Published,
    /// Runs for the connections that use it; refuses new ones and upgrades to it.
    Deprecated,
}

/// The wire name of a version's status.
pub fn status_name(s: AppStatus) -> &'static str {
    match s {
        AppStatus::Published => "published",
        AppStatus::Deprecated => "deprecated",
    }
}

/// One published version of an app.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppVersionView {
    /// The app's key.
    pub key: String,
    /// Semantic version.
    pub version: String,
    /// Display name.
    pub name: String,
    /// What the app connects to.
    pub description: String,
    /// `published` or `deprecated`.
    #[schema(value_type = AppStatusSchema)]
    pub status: &'static str,
    /// The definition as published.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// Each environment variable's value; a secret one's is `"[secret]"`.
    pub environment: BTreeMap<String, String>,
    /// The client that published it.
    pub published_by: String,
    /// Publication time.
    pub published_at: String,
    /// Deprecation time (`null` while published).
    pub deprecated_at: Option<String>,
}

impl AppVersionView {
    /// The view of a stored version.
    pub fn of(v: &AppVersion) -> Self {
        let mut environment = v.environment.clone();
        for key in &v.secret_environment {
            environment.insert(key.clone(), SECRET_SHOWN.to_string());
        }
        AppVersionView {
            key: v.key().to_string(),
            version: v.version().to_string(),
            name: v.definition.name.clone(),
            description: v.definition.description.clone(),
            status: status_name(v.status),
            definition: serde_json::to_value(&v.definition).unwrap_or(Value::Null),
            environment,
            published_by: v.published_by.to_string(),
            published_at: format(v.published_at),
            deprecated_at: v.deprecated_at.map(format),
        }
    }
}

/// A version of an app, in the apps list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppVersionSummary {
    /// Semantic version.
    pub version: String,
    /// `published` or `deprecated`.
    #[schema(value_type = AppStatusSchema)]
    pub status: &'static str,
}

/// An app, with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppSummaryView {
    /// The app's key.
    pub key: String,
    /// Display name (of its latest version).
    pub name: String,
    /// What it connects to (of its latest version).
    pub description: String,
    /// The highest published version (`null` when every version is deprecated).
    pub latest_version: Option<String>,
    /// Every version, in semver order.
    pub versions: Vec<AppVersionSummary>,
}

impl AppSummaryView {
    /// The summary of one app's versions (in semver order, at least one).
    pub fn of(versions: &[AppVersion]) -> Option<Self> {
        let last = versions.last()?;
        Some(AppSummaryView {
            key: last.key().to_string(),
            name: last.definition.name.clone(),
            description: last.definition.description.clone(),
            latest_version: versions
                .iter()
                .rev()
                .find(|v| v.status == AppStatus::Published)
                .map(|v| v.version().to_string()),
            versions: versions
                .iter()
                .map(|v| AppVersionSummary {
                    version: v.version().to_string(),
                    status: status_name(v.status),
                })
                .collect(),
        })
    }
}
