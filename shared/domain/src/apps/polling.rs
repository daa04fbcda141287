//! How a connection runs its app's polling triggers: the settings a client gives
//! ([`validate_polling`]), and the schedule entries they make ([`polls_for`]).
//!
//! Every polling trigger of the version runs by default, at its default interval; a client
//! turns one off or slows it down. An upgrade keeps the settings of the triggers the new
//! version still has (and refuses an interval below its new minimum).

use std::collections::BTreeMap;

use serde::Deserialize;
use time::OffsetDateTime;

use super::validate::{MAX_POLL_INTERVAL_SECONDS, Problems};
use super::{AppDefinition, Connection, PollSetting, PollState, TriggerKind};
use crate::error::ValidationError;

/// A client's setting of one polling trigger; `None`: unchanged (or the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollSettingInput {
    /// Whether it polls.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Seconds between polls.
    #[serde(default)]
    pub interval_seconds: Option<u32>,
}

/// The polling settings of a connection to `def`: `current` (the connection's, empty for a
/// new one) with `given` applied, one per polling trigger of `def` (a trigger no setting
/// names runs at its default interval). Errors name `polling.<trigger>` or
/// `polling.<trigger>.interval_seconds`.
pub fn validate_polling(
    def: &AppDefinition,
    given: &BTreeMap<String, PollSettingInput>,
    current: &BTreeMap<String, PollSetting>,
) -> Result<BTreeMap<String, PollSetting>, ValidationError> {
    let mut p = Problems::default();
    for key in given.keys() {
        match def.triggers.get(key).map(|t| &t.kind) {
            Some(TriggerKind::Polling { .. }) => {}
            Some(TriggerKind::Hook { .. }) => {
                p.add(format!("polling.{key}"), "a hook trigger is not polled");
            }
            None => p.add(
                format!("polling.{key}"),
                "not a trigger of this app version",
            ),
        }
    }
    let mut settings = BTreeMap::new();
    for (key, trigger) in &def.triggers {
        let TriggerKind::Polling {
            min_interval_seconds: min,
            default_interval_seconds,
            ..
        } = &trigger.kind
        else {
            continue;
        };
        let mut setting = current.get(key).cloned().unwrap_or(PollSetting {
            enabled: true,
            interval_seconds: default_interval_seconds.unwrap_or(*min),
        });
        if let Some(input) = given.get(key) {
            setting.enabled = input.enabled.unwrap_or(setting.enabled);
            setting.interval_seconds = input.interval_seconds.unwrap_or(setting.interval_seconds);
        }
        if !(*min..=MAX_POLL_INTERVAL_SECONDS.max(*min)).contains(&setting.interval_seconds) {
            p.add(
                format!("polling.{key}.interval_seconds"),
                format!(
                    "from {min} (the trigger's minimum) to {MAX_POLL_INTERVAL_SECONDS} seconds"
                ),
            );
        }
        settings.insert(key.clone(), setting);
    }
    p.finish().map(|()| settings)
}

/// The schedule entries of `connection` on `app`: one per enabled polling setting of a
/// polling trigger of `app`, due at `now`, with no progress (none for a disabled
/// connection). To keep a trigger's progress across a change, see
/// [`PollState::keep_progress`].
pub fn polls_for(
    connection: &Connection,
    app: &AppDefinition,
    now: OffsetDateTime,
) -> Vec<PollState> {
    if !connection.enabled {
        return Vec::new();
    }
    connection
        .polling
        .iter()
        .filter(|(key, setting)| {
            setting.enabled
                && matches!(
                    app.triggers.get(*key).map(|t| &t.kind),
                    Some(TriggerKind::Polling { .. })
                )
        })
        .map(|(key, setting)| PollState {
            connection_id: connection.id.clone(),
            trigger: key.clone(),
            client_id: connection.client_id.clone(),
            interval_seconds: setting.interval_seconds,
            next_run_at: now,
            cursor: None,
            seen: Vec::new(),
            last_run_at: None,
            last_error: None,
            published: 0,
            lease_until: None,
            version: 0,
        })
        .collect()
}

impl PollState {
    /// Carries `previous`'s progress (cursor, seen ids, last run, count, version) into this
    /// new entry of the same trigger, so that a changed connection does not read its feed
    /// from the start again; it stays due no later than `previous` was.
    pub fn keep_progress(&mut self, previous: &PollState) {
        self.cursor = previous.cursor.clone();
        self.seen = previous.seen.clone();
        self.last_run_at = previous.last_run_at;
        self.last_error = previous.last_error.clone();
        self.published = previous.published;
        self.lease_until = previous.lease_until;
        self.version = previous.version;
        self.next_run_at = self.next_run_at.max(previous.next_run_at);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::{ClientId, ConnectionId};
    use crate::state::StateCode;

    fn def(min: u32) -> AppDefinition {
        let poll = |min: u32| {
            json!({
                "event_type": "LotCreated", "kind": "polling",
                "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders"},
                "items": "/orders", "id": "/id",
                "min_interval_seconds": min, "default_interval_seconds": 300
            })
        };
        serde_json::from_value(json!({
            "key": "feed", "name": "Feed", "version": "1.0.0", "auth": {"type": "none"},
            "environment": [{"key": "BASE_URL"}],
            "triggers": {
                "orders": poll(min),
                "returns": poll(60),
                "hooked": {"event_type": "LotCreated", "kind": "hook"}
            }
        }))
        .expect("a definition")
    }

    fn input(enabled: Option<bool>, interval: Option<u32>) -> PollSettingInput {
        PollSettingInput {
            enabled,
            interval_seconds: interval,
        }
    }

    #[test]
    fn every_polling_trigger_runs_by_default_and_a_setting_changes_one() {
        let given = BTreeMap::from([("returns".to_string(), input(Some(false), None))]);
        let settings = validate_polling(&def(60), &given, &BTreeMap::new()).expect("valid");
        assert_eq!(
            settings,
            BTreeMap::from([
                (
                    "orders".to_string(),
                    PollSetting {
                        enabled: true,
                        interval_seconds: 300
                    }
                ),
                (
                    "returns".to_string(),
                    PollSetting {
                        enabled: false,
                        interval_seconds: 300
                    }
                ),
            ])
        );
        let bad = BTreeMap::from([
            ("orders".to_string(), input(None, Some(59))),
            ("hooked".to_string(), input(Some(true), None)),
            ("nope".to_string(), input(None, None)),
        ]);
        let err = validate_polling(&def(60), &bad, &BTreeMap::new()).expect_err("bad");
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "polling.hooked",
                "polling.nope",
                "polling.orders.interval_seconds"
            ]
        );
        // An upgrade to a version with a higher minimum refuses the kept interval.
        let err = validate_polling(&def(600), &BTreeMap::new(), &settings).expect_err("upgrade");
        assert_eq!(err.errors[0].field, "polling.orders.interval_seconds");
    }

    #[test]
    fn polls_are_the_enabled_polling_settings_of_an_enabled_connection() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let app = def(60);
        let mut connection = Connection {
            id: ConnectionId::from_stored("con_1"),
            client_id: ClientId::from_stored("cl_1"),
            app: "feed".into(),
            app_version: "1.0.0".into(),
            name: String::new(),
            state: StateCode::from_stored("AP"),
            properties: BTreeMap::new(),
            secrets_set: Vec::new(),
            hook_token: "t".repeat(32),
            polling: validate_polling(
                &app,
                &BTreeMap::from([("returns".to_string(), input(Some(false), None))]),
                &BTreeMap::new(),
            )
            .expect("valid"),
            enabled: true,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let polls = polls_for(&connection, &app, now);
        assert_eq!(polls.len(), 1);
        assert_eq!(
            (polls[0].trigger.as_str(), polls[0].interval_seconds),
            ("orders", 300)
        );
        assert_eq!(polls[0].next_run_at, now);
        let mut fresh = polls[0].clone();
        let mut previous = polls[0].clone();
        previous.cursor = Some(json!(7));
        previous.published = 7;
        previous.next_run_at = now + time::Duration::minutes(5);
        fresh.keep_progress(&previous);
        assert_eq!((fresh.cursor, fresh.published), (Some(json!(7)), 7));
        assert_eq!(fresh.next_run_at, previous.next_run_at);
        connection.enabled = false;
        assert!(polls_for(&connection, &app, now).is_empty());
    }
}
