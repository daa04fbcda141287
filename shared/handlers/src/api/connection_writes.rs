//! What creating, changing and upgrading a connection share: the version it may move to, its
//! values checked against it and split into the record's and the secret store's, its secrets
//! written (and put back when the record's write fails), and its poll schedules kept in step
//! with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use hookline_domain::apps::{
    AppStatus, AppVersion, Connection, ConnectionSecrets, PollState, polls_for,
};
use hookline_ports::PortError;
use serde_json::Value;

use crate::api::app_checks::{self, field};
use crate::api::apps::version_of;
use crate::apps::{ResolveError, Resolved};
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// A connection's values as the client gives them: every property (secret or not) and
/// every credential.
#[derive(Default)]
pub(crate) struct Values {
    /// Every property's value.
    pub properties: BTreeMap<String, Value>,
    /// Every credential.
    pub credentials: BTreeMap<String, Value>,
}

impl Values {
    /// The values of a stored connection: its record's and its secrets'.
    pub fn of(c: &Connection, secrets: &ConnectionSecrets) -> Values {
        let mut properties = c.properties.clone();
        properties.extend(secrets.properties.clone());
        let credentials = secrets
            .credentials
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Values {
            properties,
            credentials,
        }
    }

    /// Checks them against `app`, and splits them into the record's non-secret properties
    /// and the secrets, with the keys of the secrets that have a value.
    pub fn split(
        self,
        app: &AppVersion,
    ) -> ApiResult<(BTreeMap<String, Value>, ConnectionSecrets, Vec<String>)> {
        let (plain, secrets) =
            app_checks::connection_values(&app.definition, &self.properties, &self.credentials)?;
        let mut set: Vec<String> = secrets
            .credentials
            .keys()
            .chain(secrets.properties.keys())
            .cloned()
            .collect();
        set.sort();
        set.dedup();
        Ok((plain, secrets, set))
    }
}

/// Writes a connection's secrets (none: deletes them).
pub(crate) async fn put_secrets(
    ctx: &AppContext,
    c: &Connection,
    secrets: &ConnectionSecrets,
) -> ApiResult<()> {
    let name = Connection::secret_name(&c.id);
    if secrets.credentials.is_empty() && secrets.properties.is_empty() {
        ctx.store.delete_secret(&name).await?;
    } else {
        let bytes = serde_json::to_vec(secrets).unwrap_or_default();
        ctx.store.put_secret(&name, &bytes).await?;
    }
    Ok(())
}

/// A connection's secrets (none stored: none).
pub(crate) async fn secrets_of(ctx: &AppContext, c: &Connection) -> ApiResult<ConnectionSecrets> {
    let raw = ctx
        .store
        .get_secret(&Connection::secret_name(&c.id))
        .await?;
    Ok(raw
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default())
}

/// Puts back what a failed write replaced (logged, not answered: the write's own error is
/// the answer).
async fn restore_secrets(ctx: &AppContext, c: &Connection, old: &ConnectionSecrets) {
    if let Err(e) = put_secrets(ctx, c, old).await {
        tracing::warn!(connection_id = %c.id, error = ?e.detail, "a connection's secrets could not be put back after its record's write failed");
    }
}

/// Makes the stored poll schedules of `c` those it runs now (`polls_for`), keeping the
/// progress (cursor, ids seen, counts) of the triggers it already ran.
pub(crate) async fn sync_polls(
    ctx: &AppContext,
    c: &Connection,
    app: &AppVersion,
    existing: bool,
) -> ApiResult<()> {
    let desired = polls_for(c, &app.definition, ctx.clock.now());
    let mut kept: BTreeMap<String, PollState> = BTreeMap::new();
    if existing {
        for p in &desired {
            if let Some(old) = ctx.store.get_poll(&c.id, &p.trigger).await? {
                kept.insert(p.trigger.clone(), old);
            }
        }
        ctx.store.delete_polls(&c.id).await?;
    }
    for mut p in desired {
        if let Some(old) = kept.get(&p.trigger) {
            p.keep_progress(old);
        }
        ctx.store.put_poll(&p).await?;
    }
    Ok(())
}

/// A fresh hook token: 32 url-safe characters (192 random bits).
pub(crate) fn hook_token() -> String {
    use base64::Engine;
    let mut b = [0u8; 24];
    hookline_domain::ids::random_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A version a connection may move to: it exists and is published (422 `version` otherwise).
pub(crate) async fn usable_version(
    ctx: &AppContext,
    key: &str,
    version: &str,
) -> ApiResult<AppVersion> {
    let app = match version_of(ctx, key, version).await {
        Ok(app) => app,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return Err(field("version", "no such version of this app"));
        }
        Err(e) => return Err(e),
    };
    if app.status == AppStatus::Deprecated {
        return Err(field(
            "version",
            "deprecated: new connections must use a published version",
        ));
    }
    Ok(app)
}

/// Writes a changed connection (its secrets first, put back if the record's write fails)
/// and brings its poll schedules in step.
pub(crate) async fn write(
    ctx: &AppContext,
    mut c: Connection,
    app: &AppVersion,
    secrets: Option<(&ConnectionSecrets, &ConnectionSecrets)>,
) -> ApiResult<Connection> {
    if let Some((new, _)) = secrets {
        put_secrets(ctx, &c, new).await?;
    }
    let written = ctx.store.update_connection(&c).await;
    let failed = match written {
        Ok(true) => None,
        Ok(false) => Some(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the connection changed during this change; read it and try again",
        )),
        Err(PortError::NotFound) => Some(ApiError::not_found("connection")),
        Err(e) => Some(e.into()),
    };
    if let Some(e) = failed {
        if let Some((_, old)) = secrets {
            restore_secrets(ctx, &c, old).await;
        }
        return Err(e);
    }
    c.version += 1;
    sync_polls(ctx, &c, app, true).await?;
    Ok(c)
}

pub(crate) fn ignore_missing(r: Result<(), PortError>) -> Result<(), PortError> {
    match r {
        Err(PortError::NotFound) => Ok(()),
        other => other,
    }
}

/// `c` with its app version, secrets and environment, as the engine runs it: a version that
/// is gone is the 404 of `what`; a store failure, or a stored secret that cannot be read, a
/// 503 (logged, never quoted).
pub(crate) async fn resolved(
    ctx: &AppContext,
    c: Connection,
    what: &str,
) -> ApiResult<Arc<Resolved>> {
    ctx.engine
        .resolver
        .resolve_connection(c)
        .await
        .map_err(|e| match e {
            ResolveError::Store(p) => ApiError::from(p),
            ResolveError::UnreadableSecret(_) => {
                ApiError::unavailable(&PortError::backend(e.to_string()))
            }
            ResolveError::ConnectionNotFound | ResolveError::AppVersionNotFound { .. } => {
                ApiError::not_found(what)
            }
        })
}
