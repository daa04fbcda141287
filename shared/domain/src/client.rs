//! API clients: who may call Hookline, with which scopes, for which states.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValidationError;
use crate::ids::ClientId;
use crate::limits::LimitOverrides;
use crate::state::StatePattern;

/// An OAuth scope of the v1 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Scope {
    /// Publish events.
    #[serde(rename = "events:write")]
    EventsWrite,
    /// Read events of the client's states.
    #[serde(rename = "events:read")]
    EventsRead,
    /// Read own subscriptions and their deliveries.
    #[serde(rename = "subscriptions:read")]
    SubscriptionsRead,
    /// Manage own subscriptions and their deliveries.
    #[serde(rename = "subscriptions:write")]
    SubscriptionsWrite,
    /// Read the signing secrets of own subscriptions (`GET /v1/subscriptions/{id}/secret`):
    /// for a receiver that verifies signatures and should not also read or change
    /// subscriptions. `subscriptions:read` never shows a secret.
    #[serde(rename = "subscriptions:secrets")]
    SubscriptionsSecrets,
    /// Read the national manufacturer registry (every manufacturer, whatever its states).
    #[serde(rename = "manufacturers:read")]
    ManufacturersRead,
    /// Register and update manufacturers used by the client's own states.
    #[serde(rename = "manufacturers:write")]
    ManufacturersWrite,
    /// Read own external sources, their allocations and sync requests (and the sync
    /// requests naming the client as their integration).
    #[serde(rename = "sync:read")]
    SyncRead,
    /// Manage own external sources and allocations, request syncs, and complete or fail the
    /// sync requests naming the client as their integration.
    #[serde(rename = "sync:write")]
    SyncWrite,
    /// Read the published integration apps and their versions.
    #[serde(rename = "apps:read")]
    AppsRead,
    /// Publish and deprecate integration app versions (of the keys the client published
    /// first); also reads.
    #[serde(rename = "apps:write")]
    AppsWrite,
    /// Read own connections to app versions (never a secret value).
    #[serde(rename = "connections:read")]
    ConnectionsRead,
    /// Create, change, test, upgrade and delete own connections; also reads.
    #[serde(rename = "connections:write")]
    ConnectionsWrite,
    /// Everything, for every client.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, in a stable order.
    pub const ALL: [Scope; 14] = [
        Scope::EventsWrite,
        Scope::EventsRead,
        Scope::SubscriptionsRead,
        Scope::SubscriptionsWrite,
        Scope::SubscriptionsSecrets,
        Scope::ManufacturersRead,
        Scope::ManufacturersWrite,
        Scope::SyncRead,
        Scope::SyncWrite,
        Scope::AppsRead,
        Scope::AppsWrite,
        Scope::ConnectionsRead,
        Scope::ConnectionsWrite,
        Scope::Admin,
    ];

    /// The scope's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::EventsRead => "events:read",
            Scope::SubscriptionsRead => "subscriptions:read",
            Scope::SubscriptionsWrite => "subscriptions:write",
            Scope::SubscriptionsSecrets => "subscriptions:secrets",
            Scope::ManufacturersRead => "manufacturers:read",
            Scope::ManufacturersWrite => "manufacturers:write",
            Scope::SyncRead => "sync:read",
            Scope::SyncWrite => "sync:write",
            Scope::AppsRead => "apps:read",
            Scope::AppsWrite => "apps:write",
            Scope::ConnectionsRead => "connections:read",
            Scope::ConnectionsWrite => "connections:write",
            Scope::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

/// A registered client (portal, partner tool, admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// `cl_…`
    pub id: ClientId,
    /// Display name.
    pub name: String,
    /// Scopes the client may request.
    pub scopes: Vec<Scope>,
    /// State codes the client may publish for and receive (`*` = all).
    pub states: Vec<StatePattern>,
    /// `sha256:` hash of the current secret; the secret itself is never stored.
    pub secret_hash: String,
    /// Creation time.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A disabled client can get no tokens, and its tokens stop working.
    #[serde(default)]
    pub disabled: bool,
    /// The stack's limits this client has overridden (set by an admin).
    #[serde(default, skip_serializing_if = "LimitOverrides::is_empty")]
    pub limits: LimitOverrides,
}

impl Client {
    /// Whether the client may act for `state`.
    pub fn allows_state(&self, state: &str) -> bool {
        self.states.iter().any(|s| s.covers(state))
    }

    /// Whether the client holds `scope` (admin holds every scope).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
}

#[cfg(test)]
impl Client {
    /// A client for the domain's tests: `id`, no scopes, allowed `states`.
    pub(crate) fn for_test(id: &str, states: &[&str]) -> Client {
        Client {
            id: ClientId::from_stored(id),
            name: "portal".into(),
            scopes: Vec::new(),
            states: states
                .iter()
                .map(|s| StatePattern::from_stored(*s))
                .collect(),
            secret_hash: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            disabled: false,
            limits: LimitOverrides::default(),
        }
    }
}

/// Validates a client registration and returns its normalised scopes and states.
pub fn validate_new_client(
    name: &str,
    scopes: &[String],
    states: &[String],
) -> Result<(Vec<Scope>, Vec<StatePattern>), ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ValidationError::invalid("name", "must be 1-200 characters"));
    }
    if scopes.is_empty() {
        return Err(ValidationError::invalid(
            "scopes",
            "at least one scope is required",
        ));
    }
    let mut out = Vec::new();
    for (i, s) in scopes.iter().enumerate() {
        match Scope::parse(s) {
            Some(sc) if !out.contains(&sc) => out.push(sc),
            Some(_) => {}
            None => {
                return Err(ValidationError::invalid(
                    format!("scopes[{i}]"),
                    format!(
                        "unknown scope; one of {}",
                        Scope::ALL.map(|s| s.as_str()).join(", ")
                    ),
                ));
            }
        }
    }
    if states.is_empty() {
        return Err(ValidationError::invalid(
            "states",
            "at least one state (or *) is required",
        ));
    }
    let mut st = Vec::new();
    for (i, s) in states.iter().enumerate() {
        let pattern = StatePattern::parse_field(&format!("states[{i}]"), s)?;
        if !st.contains(&pattern) {
            st.push(pattern);
        }
    }
    if st.contains(&StatePattern::Any) {
        st = vec![StatePattern::Any];
    }
    Ok((out, st))
}
