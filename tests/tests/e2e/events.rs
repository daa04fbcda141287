//! Publishing events: single and batch, idempotency, and reading them back. The refusals are
//! in `event_validation`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, event, eventually};

const WAIT: Duration = Duration::from_secs(15);

/// A subscriber for every AP event, delivering to a fresh receiver.
async fn ap_subscriber(app: &TestApp) -> Receiver {
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    app.subscribe_at(&subscriber.token, &receiver.url("/hook"), json!({}))
        .await;
    receiver
}

#[tokio::test]
async fn published_event_is_accepted_with_an_evt_id() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;

    let resp = app
        .publish(
            &publisher.token,
            &json!({"type": "LotDispatched", "state": "AP", "occurred_at": "2026-11-20T10:00:00Z", "data": {"lotNo": "L-1", "status": "dispatched"}}),
        )
        .await;

    resp.assert_status(202);
    assert_eq!(resp.json["status"], "accepted");
    assert!(
        resp.json["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_")),
        "{}",
        resp.text
    );
}

#[tokio::test]
async fn publisher_reads_back_its_event_with_delivery_counts() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let publisher = app.publisher(&["AP"]).await;
    let id = app
        .publish_ok(
            &publisher.token,
            &json!({"type": "LotDispatched", "state": "AP", "occurred_at": "2026-11-20T10:00:00Z", "data": {"lotNo": "L-1"}}),
        )
        .await;
    receiver.wait_for(1, WAIT).await;

    let read = eventually(WAIT, "the delivery to be counted as succeeded", || async {
        let resp = app.get(&format!("/v1/events/{id}"), &publisher.token).await;
        resp.assert_status(200);
        (resp.json["deliveries"]["succeeded"] == 1).then_some(resp.json)
    })
    .await;

    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["type"], "LotDispatched");
    assert_eq!(read["state"], "AP");
    assert_eq!(read["source"], publisher.id.as_str());
    assert_eq!(read["data"], json!({"lotNo": "L-1"}));
    assert_eq!(
        crate::support::parse_rfc3339(read["occurred_at"].as_str().expect("occurred_at")),
        crate::support::parse_rfc3339("2026-11-20T10:00:00Z")
    );
    assert!(read["received_at"].as_str().is_some());
    assert_eq!(
        read["deliveries"],
        json!({"pending": 0, "succeeded": 1, "failed": 0})
    );
}

#[tokio::test]
async fn batch_is_accepted_with_one_id_per_event_in_order() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let publisher = app.publisher(&["AP"]).await;
    let lots = ["L-1", "L-2", "L-3"];
    let events: Vec<Value> = lots
        .iter()
        .map(|l| event("LotCreated", "AP", json!({"lotNo": l})))
        .collect();

    let resp = app
        .publish(&publisher.token, &json!({"events": events}))
        .await;

    resp.assert_status(202);
    let items = resp.data();
    assert_eq!(items.len(), 3);
    assert!(
        items.iter().all(|i| i["status"] == "accepted"),
        "{}",
        resp.text
    );
    let ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_string())
        .collect();
    for (id, lot) in ids.iter().zip(lots) {
        let read = app.get(&format!("/v1/events/{id}"), &publisher.token).await;
        read.assert_status(200);
        assert_eq!(
            read.json["data"]["lotNo"], lot,
            "ids come back in request order"
        );
    }
    let got = receiver.wait_for(3, WAIT).await;
    let mut delivered: Vec<&str> = got.iter().map(|r| r.webhook_id()).collect();
    delivered.sort();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(delivered, expected);
}

#[tokio::test]
async fn resending_the_same_publisher_id_returns_200_with_the_original_id_and_no_new_delivery() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let publisher = app.publisher(&["AP"]).await;
    let body = json!({"type": "LotDispatched", "state": "AP", "id": "qaqc-lot-L-1-dispatch", "data": {"lotNo": "L-1"}});
    let first = app.publish_ok(&publisher.token, &body).await;
    receiver.wait_for(1, WAIT).await;

    let again = app.publish(&publisher.token, &body).await;

    again.assert_status(200);
    assert_eq!(again.json["id"], first.as_str());
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn idempotency_key_header_deduplicates_a_single_event() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let publisher = app.publisher(&["AP"]).await;
    let send = || {
        app.send(
            app.request(Method::POST, "/v1/events")
                .bearer_auth(&publisher.token)
                .header("content-type", "application/json")
                .header("idempotency-key", "retry-me-7f3a")
                .body(event("LotReceived", "AP", json!({"lotNo": "L-9"})).to_string()),
        )
    };
    let first = send().await;
    first.assert_status(202);
    receiver.wait_for(1, WAIT).await;

    let second = send().await;

    second.assert_status(200);
    assert_eq!(second.json["id"], first.json["id"]);
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn publisher_ids_are_scoped_to_their_publisher() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let one = app.publisher(&["AP"]).await;
    let two = app.publisher(&["AP"]).await;
    let body =
        json!({"type": "LotCreated", "state": "AP", "id": "lot-L-1", "data": {"lotNo": "L-1"}});

    let a = app.publish_ok(&one.token, &body).await;
    let b = app.publish_ok(&two.token, &body).await;

    assert_ne!(
        a, b,
        "the same publisher id from another client is another event"
    );
    receiver.wait_for(2, WAIT).await;
}

#[tokio::test]
async fn batch_idempotency_applies_to_each_item() {
    let app = TestApp::spawn().await;
    let receiver = ap_subscriber(&app).await;
    let publisher = app.publisher(&["AP"]).await;
    let item =
        |id: &str| json!({"type": "LotCreated", "state": "AP", "id": id, "data": {"lotNo": id}});
    let first = app
        .publish(&publisher.token, &json!({"events": [item("a"), item("b")]}))
        .await;
    first.assert_status(202);
    let first_ids = first.data();
    // The retry comes after the first batch's deliveries, as a client's retry after a lost
    // answer would. Sent while those were still being written, it raced moto rather than
    // Hookline: moto answers a cancelled transaction (here, the repeated idempotency key) by
    // restoring a copy of every table it touched, which erased writes made meanwhile.
    receiver.wait_for(2, WAIT).await;

    let second = app
        .publish(&publisher.token, &json!({"events": [item("a"), item("c")]}))
        .await;

    assert!(matches!(second.status, 200 | 202), "{}", second.text);
    let second_ids = second.data();
    assert_eq!(
        second_ids[0]["id"], first_ids[0]["id"],
        "the repeated item keeps its id"
    );
    assert_ne!(second_ids[1]["id"], first_ids[0]["id"]);
    assert_ne!(second_ids[1]["id"], first_ids[1]["id"]);
    let got = receiver.wait_for(3, WAIT).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.webhook_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "a, b and c are delivered once each");
    receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn events_are_readable_by_events_read_clients_of_their_state_only() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;
    let ap_reader = app.client(&["events:read"], &["AP"]).await;
    let tg_reader = app.client(&["events:read"], &["TG"]).await;
    let other_publisher = app.publisher(&["AP"]).await;
    let id = app
        .publish_event(
            &publisher.token,
            "LotCreated",
            "AP",
            json!({"lotNo": "L-1"}),
        )
        .await;
    let path = format!("/v1/events/{id}");

    app.get(&path, &ap_reader.token).await.assert_status(200);
    for outsider in [&tg_reader, &other_publisher] {
        let resp = app.get(&path, &outsider.token).await;
        assert!(matches!(resp.status, 403 | 404), "{}", resp.text);
        assert_eq!(resp.content_type(), "application/problem+json");
        assert!(!resp.text.contains("L-1"), "nothing of the event leaks");
    }
}

#[tokio::test]
async fn unknown_event_id_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    app.get("/v1/events/evt_doesnotexist", &admin)
        .await
        .assert_problem(404, "not_found");
}
