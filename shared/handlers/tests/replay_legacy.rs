//! A replay finds a delivery that an earlier build stored under the legacy form of its id
//! (before delivery ids were led by the event's id), and re-delivers that one instead of
//! making a second delivery of the event for the subscription.

mod support;

use std::time::Duration;

use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{Client, Delivery, DeliveryStatus, Scope, ids};
use hookline_handlers::HandlerConfig;
use hookline_handlers::messages::DeliveryMessage;
use hookline_ports::{DeliveryKey, QueueName};
use serde_json::{Value, json};
use support::{Served, serve};
use time::OffsetDateTime;

#[tokio::test]
async fn a_replay_redelivers_the_delivery_stored_under_the_legacy_id() {
    let mut config = HandlerConfig::new("http://stack.test", "embedded");
    config.destinations.allow_http = true;
    let served = serve(
        config,
        vec![Scope::EventsWrite, Scope::SubscriptionsWrite],
        &["AP"],
        &["LotDispatched"],
    )
    .await;
    let resp = served.token_request(None).send().await.expect("token");
    let token: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
    let token = token["access_token"].as_str().expect("access_token");
    let post = |path: String, body: Value| call(&served, token, path, body);
    let (status, sub) = post(
        "/v1/subscriptions".into(),
        json!({"url": "http://portal.example.org/hook", "event_types": ["LotDispatched"], "states": ["AP"]}),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let sub_id = sub["id"].as_str().expect("subscription id");
    // Published by another client: a client's own events are not delivered back to it.
    let publisher = publisher(&served).await;
    let (status, event) = call(
        &served,
        &publisher,
        "/v1/events".into(),
        json!({"type": "LotDispatched", "state": "AP", "data": {"lotNo": "L-1"}}),
    )
    .await;
    assert_eq!(status, 202, "{event}");
    let event_id = event["id"].as_str().expect("event id");

    // No fan-out runs in this stack: the event's only delivery is the one an earlier build
    // made and finished, under the legacy id.
    let legacy = ids::legacy_delivery_id(event_id, sub_id);
    assert_ne!(legacy, ids::delivery_id(event_id, sub_id));
    let client_id = served.client_id.clone();
    let mut old = Delivery::new(
        legacy.clone(),
        event_id,
        sub_id,
        &client_id,
        OffsetDateTime::now_utc(),
    );
    old.status = DeliveryStatus::Succeeded;
    old.version = 2;
    served.store.put_delivery(&old).await.expect("put");
    // The event's own fan-out message, left unconsumed, is not what this test is about.
    let _ = served
        .queue
        .receive(
            QueueName::Events,
            10,
            Duration::ZERO,
            Duration::from_secs(60),
        )
        .await;

    let (status, body) = post(format!("/v1/subscriptions/{sub_id}/replay"), json!({})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["count"], 1, "{body}");

    let page = served
        .store
        .list_deliveries(&DeliveryKey::Event(event_id.into()), None, None, 10)
        .await
        .expect("list");
    let found: Vec<(&str, DeliveryStatus)> = page
        .items
        .iter()
        .map(|d| (d.id.as_str(), d.status))
        .collect();
    assert_eq!(
        found,
        [(legacy.as_str(), DeliveryStatus::Pending)],
        "the legacy delivery restarted, and no second one"
    );
    let queued = served
        .queue
        .receive(
            QueueName::Deliveries,
            10,
            Duration::from_secs(1),
            Duration::from_secs(60),
        )
        .await
        .expect("receive");
    let named: Vec<String> = queued
        .iter()
        .map(|m| {
            serde_json::from_str::<DeliveryMessage>(&m.body)
                .expect("delivery message")
                .delivery_id
        })
        .collect();
    assert_eq!(named, [legacy]);
}

/// POSTs `body` with the bearer token; the status and the JSON answer.
async fn call(served: &Served, token: &str, path: String, body: Value) -> (u16, Value) {
    let resp = served
        .http
        .post(format!("{}{path}", served.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body = serde_json::from_slice(&resp.bytes().await.expect("body")).unwrap_or(Value::Null);
    (status, body)
}

/// A second client that may publish for AP, and its token.
async fn publisher(served: &Served) -> String {
    let secret = new_client_secret();
    let client = Client {
        id: ids::new_id(ids::CLIENT, 2),
        name: "publisher".into(),
        scopes: vec![Scope::EventsWrite],
        states: vec!["AP".into()],
        secret_hash: hash_client_secret(&secret),
        created_at: OffsetDateTime::now_utc(),
        disabled: false,
    };
    served.store.insert_client(&client).await.expect("client");
    let resp = served
        .http
        .post(format!("{}/oauth/token", served.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}",
            client.id
        ))
        .send()
        .await
        .expect("token");
    let token: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
    token["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}
