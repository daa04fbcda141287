//! Publishing events: single and batch, idempotency, reading back, and every refusal.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, event, eventually};

const WAIT: Duration = Duration::from_secs(15);

/// A subscriber for every AP event, delivering to a fresh receiver.
async fn ap_subscriber(app: &TestApp) -> Receiver {
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    app.subscribe_ok(
        &subscriber.token,
        &json!({"url": receiver.url("/hook"), "event_types": ["*"]}),
    )
    .await;
    receiver
}

#[tokio::test]
async fn published_event_is_accepted_with_an_evt_id() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

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
    let publisher = app.client(&["events:write"], &["AP"]).await;
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
    let publisher = app.client(&["events:write"], &["AP"]).await;
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
    let publisher = app.client(&["events:write"], &["AP"]).await;
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
    let publisher = app.client(&["events:write"], &["AP"]).await;
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
    let one = app.client(&["events:write"], &["AP"]).await;
    let two = app.client(&["events:write"], &["AP"]).await;
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
    let publisher = app.client(&["events:write"], &["AP"]).await;
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
async fn event_missing_type_state_or_data_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

    for (body, field) in [
        (json!({"state": "AP", "data": {}}), "type"),
        (json!({"type": "LotCreated", "data": {}}), "state"),
        (json!({"type": "LotCreated", "state": "AP"}), "data"),
        (json!({"type": 7, "state": "AP", "data": {}}), "type"),
    ] {
        let resp = app.publish(&publisher.token, &body).await;
        resp.assert_problem(400, "invalid_request");
        assert!(
            resp.error_fields().iter().any(|f| f.contains(field)) || resp.text.contains(field),
            "{body}: the problem names {field}: {}",
            resp.text
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

    for body in ["{\"type\": \"LotCreated\",", "not json", "", "[]", "null"] {
        let resp = app
            .send(
                app.request(Method::POST, "/v1/events")
                    .bearer_auth(&publisher.token)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        resp.assert_problem(400, "invalid_request");
    }
}

#[tokio::test]
async fn unknown_event_type_is_400_unknown_event_type() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

    let resp = app
        .publish(&publisher.token, &event("LotTeleported", "AP", json!({})))
        .await;

    resp.assert_problem(400, "unknown_event_type");
}

#[tokio::test]
async fn publishing_for_a_state_the_client_may_not_is_403() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

    let resp = app
        .publish(&publisher.token, &event("LotCreated", "TG", json!({})))
        .await;

    resp.assert_problem(403, "forbidden");
    let batch = app
        .publish(
            &publisher.token,
            &json!({"events": [event("LotCreated", "AP", json!({})), event("LotCreated", "TG", json!({}))]}),
        )
        .await;
    assert!(
        matches!(batch.status, 400 | 403),
        "a batch with a foreign state is refused: {}",
        batch.text
    );
}

#[tokio::test]
async fn body_over_256_kib_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;

    let big = "x".repeat(257 * 1024);
    let resp = app
        .publish(
            &publisher.token,
            &event("LotCreated", "AP", json!({"blob": big})),
        )
        .await;
    resp.assert_problem(413, "payload_too_large");

    let fits = "x".repeat(250 * 1024);
    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"blob": fits})),
    )
    .await;
}

#[tokio::test]
async fn data_failing_the_types_schema_is_422_schema_mismatch() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    app.put(
        "/v1/event-types/LotDispatched",
        &admin,
        &json!({
            "description": "A lot left the mill",
            "schema": {"type": "object", "required": ["lotNo", "quantityKg"],
                       "properties": {"lotNo": {"type": "string"}, "quantityKg": {"type": "number", "minimum": 0}}}
        }),
    )
    .await;

    let resp = app
        .publish(
            &publisher.token,
            &event(
                "LotDispatched",
                "AP",
                json!({"lotNo": 42, "quantityKg": -1}),
            ),
        )
        .await;

    resp.assert_problem(422, "schema_mismatch");
    let fields = resp.error_fields();
    assert!(
        !fields.is_empty(),
        "every violation is listed: {}",
        resp.text
    );
    assert!(fields.iter().all(|f| f.starts_with("data")), "{fields:?}");
    app.publish_ok(
        &publisher.token,
        &event(
            "LotDispatched",
            "AP",
            json!({"lotNo": "L-1", "quantityKg": 400}),
        ),
    )
    .await;
    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"anything": true})),
    )
    .await;
}

#[tokio::test]
async fn batch_with_invalid_items_is_rejected_whole_listing_each_invalid_item() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let valid = json!({"type": "LotCreated", "state": "AP", "id": "batch-valid-1", "data": {"lotNo": "L-1"}});

    let resp = app
        .publish(
            &publisher.token,
            &json!({"events": [valid, {"state": "AP", "data": {}}, {"type": "NoSuchType", "state": "AP", "data": {}}]}),
        )
        .await;

    resp.assert_status(400);
    assert_eq!(resp.content_type(), "application/problem+json");
    let fields = resp.error_fields();
    assert!(
        fields.len() >= 2,
        "both invalid items are listed: {}",
        resp.text
    );
    assert!(
        fields.iter().any(|f| f.contains('1')),
        "item 1 is named: {fields:?}"
    );
    assert!(
        fields.iter().any(|f| f.contains('2')),
        "item 2 is named: {fields:?}"
    );
    assert!(
        !fields.iter().any(|f| f.contains('0')),
        "the valid item is not blamed: {fields:?}"
    );
    // Nothing of the batch was stored: the valid item is new when sent alone.
    app.publish(&publisher.token, &valid)
        .await
        .assert_status(202);
}

#[tokio::test]
async fn batch_of_more_than_100_events_is_refused() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let events: Vec<Value> = (0..101)
        .map(|i| event("LotCreated", "AP", json!({"n": i})))
        .collect();

    let resp = app
        .publish(&publisher.token, &json!({"events": events}))
        .await;

    resp.assert_problem(400, "invalid_request");
    let hundred: Vec<Value> = (0..100)
        .map(|i| event("LotCreated", "AP", json!({"n": i})))
        .collect();
    let ok = app
        .publish(&publisher.token, &json!({"events": hundred}))
        .await;
    ok.assert_status(202);
    assert_eq!(ok.data().len(), 100);
}

#[tokio::test]
async fn events_are_readable_by_events_read_clients_of_their_state_only() {
    let app = TestApp::spawn().await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let ap_reader = app.client(&["events:read"], &["AP"]).await;
    let tg_reader = app.client(&["events:read"], &["TG"]).await;
    let other_publisher = app.client(&["events:write"], &["AP"]).await;
    let id = app
        .publish_ok(
            &publisher.token,
            &event("LotCreated", "AP", json!({"lotNo": "L-1"})),
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
