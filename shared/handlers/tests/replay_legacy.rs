//! A replay finds a delivery that an earlier build stored under the legacy form of its id
//! (before delivery ids were led by the event's id), and re-delivers that one instead of
//! making a second delivery of the event for the subscription.

mod support;

use std::time::Duration;

use hookline_domain::{Delivery, DeliveryStatus, Scope, ids};
use hookline_handlers::HandlerConfig;
use hookline_handlers::messages::DeliveryMessage;
use hookline_ports::{DeliveryKey, QueueName};
use serde_json::json;
use support::serve;
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
    let token = served.token().await;
    let (status, sub) = served.post(
        &token,
        "/v1/subscriptions",
        json!({"url": "http://portal.example.org/hook", "event_types": ["LotDispatched"], "states": ["AP"]}),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let sub_id = sub["id"].as_str().expect("subscription id");
    // Published by another client: a client's own events are not delivered back to it.
    let publisher = served
        .other_client_token(vec![Scope::EventsWrite], &["AP"])
        .await;
    let (status, event) = served
        .post(
            &publisher,
            "/v1/events",
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

    let replay = format!("/v1/subscriptions/{sub_id}/replay");
    let (status, body) = served.post(&token, &replay, json!({})).await;
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
