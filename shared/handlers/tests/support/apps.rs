//! What the integration apps' tests plant in a store (either backend's): an app version, a
//! client's connection to it (its secrets in the secret store), a workflow of its actions, a
//! poll. (Also used by the AWS backend's tests.)
#![allow(dead_code)]

use std::collections::BTreeMap;

use hookline_domain::apps::{
    AppDefinition, AppStatus, AppVersion, Connection, ConnectionSecrets, PollSetting, PollState,
    polls_for,
};
use hookline_domain::state::StateCode;
use hookline_domain::subscription::{ActionStep, DeliveryMode};
use std::sync::Arc;

use axum::http::StatusCode;
use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{
    Client, ClientId, ConnectionId, EventType, Scope, StatePattern, Subscription,
};
use hookline_handlers::apps::scheduler::{PollContext, run_due_polls};
use hookline_handlers::context::WorkerContext;
use hookline_ports::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::tool::Tool;

/// The state of the connections planted.
pub const STATE: &str = "AP";

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// A client of `STATE` with the connections' scopes (its secret unknown: it never signs in).
pub async fn plant_client(store: &dyn Store) -> ClientId {
    let client = Client {
        id: ClientId::new(now_ms()),
        name: "connected portal".into(),
        scopes: vec![Scope::ConnectionsWrite, Scope::SubscriptionsWrite],
        states: vec![StatePattern::from_stored(STATE)],
        secret_hash: hash_client_secret(&new_client_secret()),
        created_at: OffsetDateTime::now_utc(),
        disabled: false,
        limits: Default::default(),
    };
    store.insert_client(&client).await.expect("client");
    client.id
}

/// Publishes the app version `definition` (JSON) with the non-secret `environment`.
pub async fn plant_app(
    store: &dyn Store,
    definition: Value,
    environment: &[(&str, &str)],
) -> AppVersion {
    let definition: AppDefinition = serde_json::from_value(definition).expect("an app definition");
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
        store
            .insert_app_version(&version)
            .await
            .expect("insert app version")
    );
    version
}

/// A connection of `client` to `app` in `STATE`, with its secret properties and
/// credentials in the secret store, polling `polling` (trigger, interval in seconds).
pub async fn plant_connection(
    store: &dyn Store,
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
    store.put_secret(&name, &bytes).await.expect("secret");
    store
        .insert_connection(&connection)
        .await
        .expect("insert connection");
    connection
}

/// `sub` made a workflow of `steps`.
pub async fn make_workflow(store: &dyn Store, sub: &mut Subscription, steps: Vec<ActionStep>) {
    sub.mode = DeliveryMode::Action;
    sub.url = String::new();
    sub.actions = steps;
    assert!(store.update_subscription(sub).await.expect("update"));
    sub.version += 1;
}

/// The schedules of `connection`'s polling triggers on `app` (as the API puts them), due
/// now.
pub async fn plant_polls(store: &dyn Store, connection: &Connection, app: &AppVersion) {
    let due = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    for poll in polls_for(connection, &app.definition, due) {
        store.put_poll(&poll).await.expect("put poll");
    }
}

/// The stored schedule of `connection`'s trigger.
pub async fn poll_of(store: &dyn Store, connection: &Connection, trigger: &str) -> PollState {
    store
        .get_poll(&connection.id, trigger)
        .await
        .expect("get poll")
        .expect("the poll exists")
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

/// The event type of the market's orders.
pub const ORDER_PLACED: &str = "OrderPlaced";
/// The market's route of its order feed.
pub const ORDERS: &str = "GET /orders";

/// A marketplace (a tool on loopback) whose `orders` trigger polls
/// `GET /orders?since=<cursor>` (items at `/orders`, ids at `/id`, the cursor the largest
/// `/seq`); its orders are `OrderPlaced` events, whose `total` is a number. One connection
/// polls it every minute, due now.
pub struct Market {
    pub tool: Tool,
    pub connection: Connection,
    /// The runner that polls it.
    pub ctx: Arc<PollContext>,
}

impl Market {
    /// The market, its app, event type, and a connection of `client` with its poll, planted
    /// in `store`; `ctx` runs the polls.
    pub async fn plant(store: &dyn Store, client: &ClientId, ctx: Arc<PollContext>) -> Market {
        let tool = Tool::start().await;
        let order_placed = EventType {
            name: ORDER_PLACED.into(),
            description: String::new(),
            schema: Some(json!({
                "type": "object",
                "required": ["id"],
                "properties": { "total": { "type": "number" } }
            })),
            example: None,
        };
        store
            .put_event_type(&order_placed)
            .await
            .expect("event type");
        let definition = json!({
            "key": "market",
            "name": "Market",
            "version": "1.0.0",
            "auth": { "type": "none" },
            "environment": [{ "key": "BASE_URL" }],
            "triggers": {
                "orders": {
                    "event_type": ORDER_PLACED,
                    "kind": "polling",
                    "request": {
                        "method": "GET",
                        "url": "{{ env.BASE_URL }}/orders",
                        "query": { "since": "{{ cursor or '' }}" }
                    },
                    "items": "/orders",
                    "id": "/id",
                    "cursor": { "field": "/seq" },
                    "min_interval_seconds": 60
                }
            }
        });
        let app = plant_app(store, definition, &[("BASE_URL", tool.base.as_str())]).await;
        let secrets = ConnectionSecrets::default();
        let connection = plant_connection(store, client, &app, secrets, &[("orders", 60)]).await;
        plant_polls(store, &connection, &app).await;
        Market {
            tool,
            connection,
            ctx,
        }
    }

    /// A second runner (another process's engine over `worker`'s store) and this market's
    /// race for the polls due at `now`, the tool answering slowly (so that both have found
    /// the poll due before either has recorded its run); checks that one of them polled the
    /// tool, once, and returns the events published.
    pub async fn race_two_runners(&self, worker: Arc<WorkerContext>, now: OffsetDateTime) -> u64 {
        self.tool.slow(std::time::Duration::from_millis(300));
        let other = PollContext::from_worker(worker).expect("a second runner");
        let (a, b) = tokio::join!(
            run_due_polls(&self.ctx, now, 10),
            run_due_polls(&other, now, 10)
        );
        let (a, b) = (a.expect("runner a"), b.expect("runner b"));
        assert_eq!(a.ran + b.ran, 1, "{a:?} {b:?}");
        let polled = self.tool.requests_to(ORDERS).len();
        assert_eq!(polled, 1, "the tool was polled once");
        a.published + b.published
    }

    /// The tool lists these orders (id and cursor `id`, and a total) from now on.
    pub fn lists(&self, items: &[(u64, Value)]) {
        self.tool.answer(ORDERS, StatusCode::OK, orders(items));
    }
}

/// The market's answer listing `items` (id, total).
pub fn orders(items: &[(u64, Value)]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|(id, total)| json!({ "id": id, "seq": id, "total": total }))
        .collect();
    json!({ "orders": list })
}

/// The shop's connection secret (a secret property its requests carry).
pub const SHOP_TOKEN: &str = "shop-token-8f41c2d9";

/// A shop (a tool on loopback) whose app has three actions: a note on a lot (the connection's
/// token in its body), an order's status set to ready, and one whose URL names a variable
/// nobody declared (it can never render); and a connection of one client to it.
pub struct Shop {
    pub tool: Tool,
    pub connection: Connection,
}

impl Shop {
    /// The shop, its app and a connection of `client` (its token in the secret store),
    /// planted in `store`.
    pub async fn plant(store: &dyn Store, client: &ClientId) -> Shop {
        let tool = Tool::start().await;
        let definition = json!({
            "key": "shop",
            "name": "Shop",
            "version": "1.0.0",
            "auth": { "type": "none" },
            "properties": [{ "key": "token", "secret": true, "required": true }],
            "environment": [{ "key": "BASE_URL" }],
            "actions": {
                "note": {
                    "kind": "create",
                    "inputs": [{ "key": "lot", "required": true }],
                    "request": {
                        "method": "POST",
                        "url": "{{ env.BASE_URL }}/notes",
                        "body": { "lot": "{{ input.lot }}", "token": "{{ props.token }}" }
                    }
                },
                "ready": {
                    "kind": "update",
                    "inputs": [{ "key": "lot", "required": true }],
                    "request": {
                        "method": "PUT",
                        "url": "{{ env.BASE_URL }}/orders/{{ input.lot }}/status",
                        "body": { "status": "ready" }
                    }
                },
                "broken": {
                    "kind": "create",
                    "request": {
                        "method": "POST",
                        "url": "{{ env.BASE_URL }}/x/{{ env.NOWHERE }}"
                    }
                }
            }
        });
        let app = plant_app(store, definition, &[("BASE_URL", tool.base.as_str())]).await;
        let mut secrets = ConnectionSecrets::default();
        secrets.properties.insert("token".into(), json!(SHOP_TOKEN));
        let connection = plant_connection(store, client, &app, secrets, &[]).await;
        Shop { tool, connection }
    }

    /// A workflow's steps: each of `actions` with the event's lot (`data.lot`) as input.
    pub fn steps(&self, actions: &[&str]) -> Vec<ActionStep> {
        let lot = json!({ "lot": "{{ event.data.lot }}" });
        actions
            .iter()
            .map(|a| step(&self.connection, a, lot.clone()))
            .collect()
    }
}
