//! What the integration apps' tests plant in a hub's store: an app version, a client's
//! connection to it (its secrets in the secret store), a workflow of its actions, a poll.

use std::collections::BTreeMap;

use hookline_domain::apps::{
    AppDefinition, AppStatus, AppVersion, Connection, ConnectionSecrets, PollSetting, PollState,
};
use hookline_domain::state::StateCode;
use hookline_domain::subscription::{ActionStep, DeliveryMode};
use hookline_domain::{ClientId, ConnectionId, Subscription};
use serde_json::Value;
use time::OffsetDateTime;

use super::{Hub, STATE, now_ms};

impl Hub {
    /// Publishes the app version `definition` (JSON) with the non-secret `environment`.
    pub async fn plant_app(&self, definition: Value, environment: &[(&str, &str)]) -> AppVersion {
        let definition: AppDefinition =
            serde_json::from_value(definition).expect("an app definition");
        let version = AppVersion {
            definition,
            status: AppStatus::Published,
            environment: environment
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            secret_environment: Vec::new(),
            published_by: ClientId::from_stored("cl_publisher".to_string()),
            published_at: OffsetDateTime::now_utc(),
            deprecated_at: None,
            revision: 0,
        };
        assert!(
            self.store
                .insert_app_version(&version)
                .await
                .expect("insert app version")
        );
        version
    }

    /// A connection of `client` to `app` in `STATE`, with its secret properties and
    /// credentials in the secret store, polling `polling` (trigger, interval in seconds).
    pub async fn plant_connection(
        &self,
        client: &ClientId,
        app: &AppVersion,
        secrets: ConnectionSecrets,
        polling: &[(&str, u32)],
    ) -> Connection {
        let now = OffsetDateTime::now_utc();
        let id = ConnectionId::new(now_ms());
        let mut secrets_set: Vec<String> = secrets.credentials.keys().cloned().collect();
        secrets_set.extend(secrets.properties.keys().cloned());
        let connection = Connection {
            id: id.clone(),
            client_id: client.clone(),
            app: app.key().to_string(),
            app_version: app.version().to_string(),
            name: "test connection".into(),
            state: StateCode::parse(STATE).expect("a state"),
            properties: BTreeMap::new(),
            secrets_set,
            hook_token: format!("{:0>32}", now_ms()),
            polling: polling
                .iter()
                .map(|(trigger, every)| {
                    let setting = PollSetting {
                        enabled: true,
                        interval_seconds: *every,
                    };
                    (trigger.to_string(), setting)
                })
                .collect(),
            enabled: true,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let name = Connection::secret_name(&id);
        let bytes = serde_json::to_vec(&secrets).expect("secrets JSON");
        self.store.put_secret(&name, &bytes).await.expect("secret");
        self.store
            .insert_connection(&connection)
            .await
            .expect("insert connection");
        connection
    }

    /// `sub` made a workflow of `steps`.
    pub async fn make_workflow(&self, sub: &mut Subscription, steps: Vec<ActionStep>) {
        sub.mode = DeliveryMode::Action;
        sub.url = String::new();
        sub.actions = steps;
        assert!(self.store.update_subscription(sub).await.expect("update"));
        sub.version += 1;
    }

    /// The schedule of `connection`'s trigger, due now.
    pub async fn plant_poll(&self, connection: &Connection, trigger: &str) -> PollState {
        let every = connection.polling[trigger].interval_seconds;
        let poll = PollState {
            connection_id: connection.id.clone(),
            trigger: trigger.to_string(),
            client_id: connection.client_id.clone(),
            interval_seconds: every,
            next_run_at: OffsetDateTime::now_utc() - time::Duration::seconds(1),
            cursor: None,
            seen: Vec::new(),
            last_run_at: None,
            last_error: None,
            published: 0,
            lease_until: None,
            version: 0,
        };
        self.store.put_poll(&poll).await.expect("put poll");
        poll
    }

    /// The stored schedule of `connection`'s trigger.
    pub async fn poll_of(&self, connection: &Connection, trigger: &str) -> PollState {
        self.store
            .get_poll(&connection.id, trigger)
            .await
            .expect("get poll")
            .expect("the poll exists")
    }
}

/// A step of `connection`'s `action` with `input`.
pub fn step(connection: &Connection, action: &str, input: Value) -> ActionStep {
    let input = match input {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    ActionStep {
        connection_id: connection.id.clone(),
        action: action.to_string(),
        input,
    }
}
