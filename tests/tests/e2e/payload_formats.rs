//! Payload formats: the Hookline envelope, CloudEvents 1.0 and a subscription's template,
//! each signed over the body actually sent; templates checked when written and a template
//! that fails on an event at send time dead-letters that delivery.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, attempts};

const WAIT: Duration = Duration::from_secs(20);

/// The facility-management seed's shape (`event` + `payload`).
const EVENT_AND_PAYLOAD: &str = r#"{"event": {{ type }}, "payload": {{ data }}}"#;

#[tokio::test]
async fn each_payload_format_arrives_signed_over_the_body_sent() {
    let app = TestApp::spawn().await;
    let (envelope, cloud, templated) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let s = app.subscribed(&envelope, json!({})).await;
    let token = &s.subscriber.token;
    let cloud_sub = app
        .subscribe_at(token, &cloud.url("/ce"), json!({"format": "cloudevents"}))
        .await;
    let template_sub = app
        .subscribe_at(
            token,
            &templated.url("/t"),
            json!({"format": "template", "template": EVENT_AND_PAYLOAD}),
        )
        .await;
    assert_eq!(cloud_sub.json["format"], "cloudevents");
    assert_eq!(template_sub.json["template"], EVENT_AND_PAYLOAD);
    assert_eq!(s.sub.json["format"], "hookline", "the default");

    let data = json!({"lotNo": "L-7", "status": "dispatched", "note": "a \"quoted\" <b>"});
    let id = app
        .publish_ok(
            &s.publisher.token,
            &json!({"type": "LotDispatched", "state": "AP", "occurred_at": "2026-11-20T10:00:00Z", "data": data}),
        )
        .await;

    let req = &envelope.wait_for(1, WAIT).await[0];
    req.assert_signed_by(&s.sub.secret);
    assert_eq!(req.required_header("content-type"), "application/json");
    assert_eq!(req.json()["data"], data);

    let req = &cloud.wait_for(1, WAIT).await[0];
    req.assert_signed_by(&cloud_sub.secret);
    assert_eq!(
        req.required_header("content-type"),
        "application/cloudevents+json"
    );
    assert_eq!(
        req.json(),
        json!({"specversion": "1.0", "id": id, "type": "LotDispatched",
            "source": format!("urn:hookline:client:{}", s.publisher.id),
            "time": "2026-11-20T10:00:00Z", "datacontenttype": "application/json",
            "hooklinestate": "AP", "hooklinepublisher": s.publisher.id, "data": data})
    );
    assert_eq!(req.webhook_id(), id, "webhook-id is the CloudEvents id");

    let req = &templated.wait_for(1, WAIT).await[0];
    req.assert_signed_by(&template_sub.secret);
    assert_eq!(req.required_header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({"event": "LotDispatched", "payload": data}),
        "exactly the rendered shape"
    );
}

#[tokio::test]
async fn a_template_that_does_not_parse_or_render_json_is_422_on_template_and_not_stored() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let body = |template: &str| {
        json!({"url": "https://portal.example.org/hook", "event_types": ["LotDispatched"],
            "format": "template", "template": template})
    };

    let resp = app
        .subscribe(&portal.token, &body("{\n  \"event\": {{ type \n}"))
        .await;
    resp.assert_problem(422, "invalid_template");
    assert_eq!(resp.error_fields(), ["template"]);
    assert_eq!(
        resp.json["errors"][0]["line"], 3,
        "the line of the stray brace: {}",
        resp.text
    );

    for refused in [
        r#"{"event": {{ type|safe }}}"#,
        "{\n\"lot\": {{ \"Lot \" ~ data.lotNo }}}",
    ] {
        let resp = app.subscribe(&portal.token, &body(refused)).await;
        resp.assert_problem(422, "invalid_template");
        assert_eq!(resp.error_fields(), ["template"], "{}", resp.text);
    }
    let resp = app
        .subscribe(
            &portal.token,
            &json!({"url": "https://portal.example.org/hook",
            "event_types": ["*"], "format": "template"}),
        )
        .await;
    resp.assert_problem(400, "invalid_request");
    assert_eq!(resp.error_fields(), ["template"]);
    assert!(
        app.get("/v1/subscriptions", &portal.token)
            .await
            .data()
            .is_empty(),
        "nothing was stored"
    );

    let sub = app
        .subscribe_ok(&portal.token, &body(EVENT_AND_PAYLOAD))
        .await;
    let resp = app
        .patch(
            &sub.path(""),
            &portal.token,
            &json!({"template": "{{ data "}),
        )
        .await;
    resp.assert_problem(422, "invalid_template");
    assert_eq!(resp.error_fields(), ["template"]);
    let stored = app.get(&sub.path(""), &portal.token).await;
    assert_eq!(stored.json["template"], EVENT_AND_PAYLOAD, "unchanged");
}

#[tokio::test]
async fn a_template_that_fails_on_an_event_dead_letters_its_delivery_with_the_reason() {
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    // Valid for the sample event (no `raw`), not JSON for an event whose `raw` is not JSON.
    let template = r#"{% if data.raw %}{{ data.raw|safe }}{% else %}{"ok": true}{% endif %}"#;
    let s = app
        .subscribed(
            &receiver,
            json!({"format": "template", "template": template, "max_attempts": 5}),
        )
        .await;

    let bad = s
        .publish(&app, "LotDispatched", json!({"raw": "{not json"}))
        .await;
    let failed = s.delivery_with_status(&app, &bad, "failed", WAIT).await;
    let tried = attempts(&failed);
    assert_eq!(tried.len(), 1, "no retry: {failed}");
    assert_eq!(tried[0]["status_code"], Value::Null);
    let error = tried[0]["error"].as_str().expect("the reason");
    assert!(
        error.starts_with("the payload template did not render"),
        "{error}"
    );
    assert!(
        !error.contains("not json"),
        "no event data on record: {error}"
    );

    let good = s.publish(&app, "LotDispatched", json!({})).await;
    s.delivery_with_status(&app, &good, "succeeded", WAIT).await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "the failed one was never sent");
    assert_eq!(got[0].json(), json!({"ok": true}));
    got[0].assert_signed_by(&s.sub.secret);

    assert!(app.stop().await.success(), "the runner stops cleanly");
    assert_eq!(
        app.dlq_count("deliveries").await,
        "1",
        "the delivery that could not be rendered waits in the dead-letter queue"
    );
}
