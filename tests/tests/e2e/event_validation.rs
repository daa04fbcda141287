//! Every refusal of `POST /v1/events`: missing fields, malformed JSON, unknown types, states
//! the publisher may not publish for, oversized bodies, schema mismatches, bad batches.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, event};

#[tokio::test]
async fn event_missing_type_state_or_data_is_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;

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
    let publisher = app.publisher(&["AP"]).await;

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
    let publisher = app.publisher(&["AP"]).await;

    let resp = app
        .publish(&publisher.token, &event("LotTeleported", "AP", json!({})))
        .await;

    resp.assert_problem(400, "unknown_event_type");
}

#[tokio::test]
async fn publishing_for_a_state_the_client_may_not_is_403() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;

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
    let publisher = app.publisher(&["AP"]).await;

    let big = "x".repeat(257 * 1024);
    let resp = app
        .publish(
            &publisher.token,
            &event("LotCreated", "AP", json!({"blob": big})),
        )
        .await;
    resp.assert_problem(413, "payload_too_large");

    let fits = "x".repeat(250 * 1024);
    app.publish_event(&publisher.token, "LotCreated", "AP", json!({"blob": fits}))
        .await;
}

#[tokio::test]
async fn data_failing_the_types_schema_is_422_schema_mismatch() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let publisher = app.publisher(&["AP"]).await;
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
    app.publish_event(
        &publisher.token,
        "LotDispatched",
        "AP",
        json!({"lotNo": "L-1", "quantityKg": 400}),
    )
    .await;
    app.publish_event(
        &publisher.token,
        "LotCreated",
        "AP",
        json!({"anything": true}),
    )
    .await;
}

#[tokio::test]
async fn batch_with_invalid_items_is_rejected_whole_listing_each_invalid_item() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;
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
    let publisher = app.publisher(&["AP"]).await;
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
