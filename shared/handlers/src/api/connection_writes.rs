//! What creating, changing and upgrading a connection share: its values checked against an
//! app version and split into the record's and the secret store's, its polling settings
//! checked against the version's triggers, its secrets written (and restored when the
//! record's write fails), and its poll schedules kept in step with it.

use std::collections::BTreeMap;

use hookline_domain::apps::{
    AppVersion, Connection, ConnectionSecrets, PollSetting, PollState, TriggerKind,
};
use serde_json::Value;

use crate::api::app_checks::{self, field};
use crate::api::connection_views::PollingInput;
use crate::context::AppContext;
use crate::problem::ApiResult;

/// A connection's values as the client gives them: every property (secret or not) and
/// every credential.
#[derive(Default)]
pub(crate) struct Values {
    /// Every property's value.
    pub properties: BTreeMap<String, Value>,
    /// Every credential.
    pub credentials: BTreeMap<String, String>,
}

impl Values {
    /// The values of a stored connection: its record's and its secrets'.
    pub fn of(c: &Connection, secrets: &ConnectionSecrets) -> Values {
        let mut properties = c.properties.clone();
        properties.extend(secrets.properties.clone());
        Values {
            properties,
            credentials: secrets.credentials.clone(),
        }
    }

    /// Checks them against `app`, and splits them into the record's non-secret properties
    /// and the secrets, with the keys of the secrets that have a value.
    pub fn split(
        self,
        app: &AppVersion,
    ) -> ApiResult<(BTreeMap<String, Value>, ConnectionSecrets, Vec<String>)> {
        app_checks::connection_values(&app.definition, &self.properties, &self.credentials)?;
        let secret_property = |key: &str| {
            app.definition
                .properties
                .iter()
                .any(|p| p.secret && p.key == key)
        };
        let (secret, plain): (BTreeMap<_, _>, BTreeMap<_, _>) = self
            .properties
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .partition(|(k, _)| secret_property(k));
        let secrets = ConnectionSecrets {
            credentials: self.credentials,
            properties: secret,
        };
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

/// The polling settings of a connection of `app`: `given` over `current`, and every polling
/// trigger not named polling at its default interval. Settings of triggers the version does
/// not have as polling triggers are dropped from `current`, and refused in `given`.
pub(crate) fn polling(
    app: &AppVersion,
    current: &BTreeMap<String, PollSetting>,
    given: &BTreeMap<String, PollingInput>,
) -> ApiResult<BTreeMap<String, PollSetting>> {
    let mut out = BTreeMap::new();
    for key in given.keys() {
        let is_polling = app
            .definition
            .triggers
            .get(key)
            .is_some_and(|t| matches!(t.kind, TriggerKind::Polling { .. }));
        if !is_polling {
            return Err(field(
                &format!("polling.{key}"),
                "not a polling trigger of this app version",
            ));
        }
    }
    for (key, trigger) in &app.definition.triggers {
        let TriggerKind::Polling {
            min_interval_seconds,
            default_interval_seconds,
            ..
        } = &trigger.kind
        else {
            continue;
        };
        let default = PollSetting {
            enabled: true,
            interval_seconds: default_interval_seconds.unwrap_or(*min_interval_seconds),
        };
        let mut setting = current.get(key).cloned().unwrap_or(default);
        if let Some(input) = given.get(key) {
            setting.enabled = input.enabled.unwrap_or(setting.enabled);
            setting.interval_seconds = input.interval_seconds.unwrap_or(setting.interval_seconds);
        }
        if setting.interval_seconds < *min_interval_seconds {
            return Err(field(
                &format!("polling.{key}.interval_seconds"),
                &format!("at least {min_interval_seconds} seconds for this trigger"),
            ));
        }
        out.insert(key.clone(), setting);
    }
    Ok(out)
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
pub(crate) async fn restore_secrets(ctx: &AppContext, c: &Connection, old: &ConnectionSecrets) {
    if let Err(e) = put_secrets(ctx, c, old).await {
        tracing::warn!(connection_id = %c.id, error = ?e.detail, "a connection's secrets could not be put back after its record's write failed");
    }
}

/// Makes the stored poll schedules of `c` those it runs now (`app_checks::polls`), keeping
/// the cursor, the ids seen and the counts of the triggers it already ran.
pub(crate) async fn sync_polls(
    ctx: &AppContext,
    c: &Connection,
    app: &AppVersion,
    existing: bool,
) -> ApiResult<()> {
    let desired = app_checks::polls(c, app, ctx.clock.now());
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
        if let Some(old) = kept.remove(&p.trigger) {
            p.cursor = old.cursor;
            p.seen = old.seen;
            p.published = old.published;
            p.last_run_at = old.last_run_at;
            p.last_error = old.last_error;
            if old.interval_seconds == p.interval_seconds {
                p.next_run_at = old.next_run_at;
            }
        }
        ctx.store.put_poll(&p).await?;
    }
    Ok(())
}
