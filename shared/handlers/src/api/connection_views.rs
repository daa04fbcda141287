//! Request and response bodies of `/v1/connections`. Credentials and secret properties are
//! write-only: a view lists the keys that have a value (`secrets_set`), never a value.

use std::collections::BTreeMap;

use hookline_domain::apps::{AppVersion, Connection, PollSettingInput, PollState, TriggerKind};
use hookline_domain::time_fmt::format;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// How a connection runs one polling trigger, as given (each field optional: enabled, at
/// the trigger's default interval); read as `PollSettingInput`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PollingInput {
    /// Whether it polls (default true).
    pub enabled: Option<bool>,
    /// Seconds between polls: at least the trigger's `min_interval_seconds` (default: its
    /// `default_interval_seconds`, else the minimum).
    pub interval_seconds: Option<u32>,
}

/// Body of `POST /v1/connections`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// The app's key.
    pub app: String,
    /// A published (not deprecated) version of it.
    pub version: String,
    /// Free text (at most 200 characters).
    #[serde(default)]
    pub name: String,
    /// The state its triggers' events are published for: one of the caller's states.
    pub state: String,
    /// A value for each property the app version declares (secret ones are write-only).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: BTreeMap<String, Value>,
    /// The auth scheme's credentials (write-only).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub credentials: BTreeMap<String, Value>,
    /// Polling triggers by key (every polling trigger polls by default).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, PollingInput>)]
    pub polling: BTreeMap<String, PollSettingInput>,
}

/// Body of `PATCH /v1/connections/{id}`: every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    /// Free text.
    pub name: Option<String>,
    /// Properties to set (merged into the current ones; `null` removes one).
    #[schema(value_type = Option<Object>)]
    pub properties: Option<BTreeMap<String, Value>>,
    /// Credentials to replace (the ones not given stay).
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub credentials: Option<BTreeMap<String, Value>>,
    /// Polling triggers to change (the ones not given stay).
    #[schema(value_type = Option<BTreeMap<String, PollingInput>>)]
    pub polling: Option<BTreeMap<String, PollSettingInput>>,
    /// A disabled connection runs no poll, accepts no hook and fails its actions.
    pub enabled: Option<bool>,
}

/// Body of `POST /v1/connections/{id}/upgrade`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeInput {
    /// The published version to move to.
    pub version: String,
}

/// How a connection runs one polling trigger.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollSettingView {
    /// Whether it polls.
    pub enabled: bool,
    /// Seconds between polls.
    pub interval_seconds: u32,
}

/// A connection (never a secret value).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `con_…`
    pub id: String,
    /// Owner.
    pub client_id: String,
    /// The app's key.
    pub app: String,
    /// The app version it uses.
    pub version: String,
    /// Free text.
    pub name: String,
    /// The state its triggers' events are published for.
    pub state: String,
    /// Values of the non-secret properties.
    #[schema(value_type = Object)]
    pub properties: BTreeMap<String, Value>,
    /// Keys of the credentials and secret properties that have a value.
    pub secrets_set: Vec<String>,
    /// A disabled connection runs no poll, accepts no hook and fails its actions.
    pub enabled: bool,
    /// Polling triggers by key.
    pub polling: BTreeMap<String, PollSettingView>,
    /// The inbound URL of each hook trigger, by key (they carry the connection's secret
    /// token: give them only to the tool).
    pub hook_urls: BTreeMap<String, String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl ConnectionView {
    /// The view of a connection of `app` (its hook triggers' URLs under `base`).
    pub fn of(c: &Connection, app: Option<&AppVersion>, base: &str) -> Self {
        let hook_urls = app
            .map(|a| {
                a.definition
                    .triggers
                    .iter()
                    .filter(|(_, t)| matches!(t.kind, TriggerKind::Hook { .. }))
                    .map(|(key, _)| {
                        let url = format!(
                            "{}/hooks/{}/{key}",
                            base.trim_end_matches('/'),
                            c.hook_token
                        );
                        (key.clone(), url)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ConnectionView {
            id: c.id.to_string(),
            client_id: c.client_id.to_string(),
            app: c.app.clone(),
            version: c.app_version.clone(),
            name: c.name.clone(),
            state: c.state.to_string(),
            properties: c.properties.clone(),
            secrets_set: c.secrets_set.clone(),
            enabled: c.enabled,
            polling: c
                .polling
                .iter()
                .map(|(k, p)| {
                    let view = PollSettingView {
                        enabled: p.enabled,
                        interval_seconds: p.interval_seconds,
                    };
                    (k.clone(), view)
                })
                .collect(),
            hook_urls,
            created_at: format(c.created_at),
            updated_at: format(c.updated_at),
        }
    }
}

/// What a connection test found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTestView {
    /// Whether the tool answered the test request with a 2xx.
    pub ok: bool,
    /// The answer's status (`null` when none arrived).
    pub status: Option<u16>,
    /// Time taken.
    pub duration_ms: u64,
    /// Why it failed (no secret in it).
    pub error: Option<String>,
    /// `METHOD url` and the start of the body sent (credentials redacted).
    pub request_excerpt: String,
    /// The start of the answer (credentials redacted).
    pub response_excerpt: String,
}

/// The schedule and progress of one polling trigger.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollView {
    /// The trigger's key.
    pub trigger: String,
    /// Seconds between polls.
    pub interval_seconds: u32,
    /// When it runs next.
    pub next_run_at: String,
    /// When it last ran.
    pub last_run_at: Option<String>,
    /// Why its last run failed (no secret in it).
    pub last_error: Option<String>,
    /// Events it has published.
    pub published: u64,
}

impl PollView {
    /// The view of a poll schedule.
    pub fn of(p: &PollState) -> Self {
        PollView {
            trigger: p.trigger.clone(),
            interval_seconds: p.interval_seconds,
            next_run_at: format(p.next_run_at),
            last_run_at: p.last_run_at.map(format),
            last_error: p.last_error.clone(),
            published: p.published,
        }
    }
}

/// A connection's poll schedules.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollList {
    /// One per polling trigger it runs.
    pub data: Vec<PollView>,
}
