//! The apps and connections API's writes when the store fails between them: a publish or a
//! connection whose record is not written leaves no secret behind, a change whose record is
//! not written puts the old secrets back, and a delete that fails half-way can be done again.

mod support;

use hookline_domain::apps::{AppVersion, Connection, ConnectionSecrets};
use hookline_domain::{ConnectionId, EventType, Scope};
use hookline_ports::faults::Faults;
use serde_json::{Value, json};
use support::api::{send_json, serve_api};
use support::hub::{Hub, STATE, faulty_hub};

/// A client allowed to publish apps and hold connections, and the served API with its token.
async fn api(hub: &Hub) -> (String, String) {
    let (client, secret) = support::client(
        "integrator",
        vec![Scope::AppsWrite, Scope::ConnectionsWrite],
        &[STATE],
    );
    hub.store.insert_client(&client).await.expect("client");
    let t = EventType {
        name: "LotCreated".into(),
        description: String::new(),
        schema: None,
        example: None,
    };
    hub.store.put_event_type(&t).await.expect("event type");
    serve_api(&hub.ctx, client.id.as_str(), &secret).await
}

fn definition() -> Value {
    json!({
        "key": "feed", "name": "Feed", "version": "1.0.0",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "environment": [{"key": "BASE_URL"}, {"key": "TOKEN", "secret": true}],
        "triggers": {"orders": {
            "label": "Orders", "event_type": "LotCreated", "kind": "polling",
            "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders"},
            "items": "/orders", "id": "/id", "min_interval_seconds": 60,
        }},
    })
}

async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    send_json(
        &reqwest::Client::new(),
        method,
        &format!("{base}{path}"),
        token,
        body,
    )
    .await
}

async fn secrets_of(hub: &Hub, id: &ConnectionId) -> Option<ConnectionSecrets> {
    hub.store
        .get_secret(&Connection::secret_name(id))
        .await
        .expect("secret read")
        .map(|b| serde_json::from_slice(&b).expect("secret JSON"))
}

#[tokio::test]
async fn a_publish_whose_record_is_not_written_leaves_no_secret() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (base, token) = api(&hub).await;
    let body = json!({"definition": definition(),
        "environment": {"BASE_URL": "https://feed.example", "TOKEN": "env-secret-77"}});

    faults.fail_next("insert_app_version", 1);
    let (status, answer) = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/v1/apps",
        body.clone(),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    let name = AppVersion::secret_name("feed", "1.0.0");
    assert_eq!(hub.store.get_secret(&name).await.expect("read"), None);
    assert!(
        hub.store
            .get_app_version("feed", "1.0.0")
            .await
            .expect("read")
            .is_none()
    );

    let (status, answer) = call(&base, &token, reqwest::Method::POST, "/v1/apps", body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["environment"]["TOKEN"], "[secret]");
    let stored = hub
        .store
        .get_secret(&name)
        .await
        .expect("read")
        .expect("the secret");
    let stored: Value = serde_json::from_slice(&stored).expect("JSON");
    assert_eq!(stored, json!({"TOKEN": "env-secret-77"}));
}

#[tokio::test]
async fn connection_writes_keep_record_secrets_and_polls_together() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (base, token) = api(&hub).await;
    let publish = json!({"definition": definition(),
        "environment": {"BASE_URL": "https://feed.example", "TOKEN": "env-secret-77"}});
    let (status, _) = call(&base, &token, reqwest::Method::POST, "/v1/apps", publish).await;
    assert_eq!(status, 201);
    let create = json!({"app": "feed", "version": "1.0.0", "state": STATE,
        "credentials": {"api_key": "key-one-1234"}});

    // The record is not written: its secret goes again, and no poll stays.
    faults.record();
    faults.fail_next("insert_connection", 1);
    let (status, answer) = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/v1/connections",
        create.clone(),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    let calls = faults.recorded();
    let at = |point: &str| calls.iter().position(|c| c == point);
    let order = (
        at("put_secret"),
        at("insert_connection"),
        at("delete_secret"),
    );
    assert!(
        matches!(order, (Some(put), Some(insert), Some(delete)) if put < insert && insert < delete),
        "the secret is written first and deleted after the failed insert: {calls:?}"
    );
    let listed = hub
        .store
        .list_connections(None, None, 10)
        .await
        .expect("list");
    assert!(listed.items.is_empty());

    let (status, c) = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/v1/connections",
        create,
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let id = ConnectionId::parse(c["id"].as_str().expect("id")).expect("a connection id");
    assert!(
        hub.store
            .get_poll(&id, "orders")
            .await
            .expect("read")
            .is_some()
    );
    let path = format!("/v1/connections/{id}");

    // A change whose record is not written: the old credentials come back.
    faults.fail_next("update_connection", 1);
    let (status, answer) = call(
        &base,
        &token,
        reqwest::Method::PATCH,
        &path,
        json!({"credentials": {"api_key": "key-two-5678"}}),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    let kept = secrets_of(&hub, &id).await.expect("secrets");
    assert_eq!(kept.credentials["api_key"], "key-one-1234");

    // A delete that fails at its record: done again, it removes everything.
    faults.fail_next("delete_connection", 1);
    let (status, _) = call(&base, &token, reqwest::Method::DELETE, &path, Value::Null).await;
    assert_eq!(status, 503);
    let (status, _) = call(&base, &token, reqwest::Method::DELETE, &path, Value::Null).await;
    assert_eq!(status, 204);
    assert!(secrets_of(&hub, &id).await.is_none());
    assert!(
        hub.store
            .get_poll(&id, "orders")
            .await
            .expect("read")
            .is_none()
    );
    assert!(hub.store.get_connection(&id).await.expect("read").is_none());
}
