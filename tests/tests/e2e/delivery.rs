//! Delivering webhooks: the signed request, and retries on every kind of failure until the
//! receiver answers 2xx.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, Reply, TestApp, attempts, parse_rfc3339};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn delivery_is_signed_per_standard_webhooks_with_the_documented_headers_and_envelope() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app
        .subscribed(&receiver, json!({"event_types": ["LotDispatched"]}))
        .await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp();

    let id = app
        .publish_ok(
            &s.publisher.token,
            &json!({"type": "LotDispatched", "state": "AP", "occurred_at": "2026-11-20T10:00:00Z", "data": {"lotNo": "L-1", "status": "dispatched"}}),
        )
        .await;

    let got = receiver.wait_for(1, WAIT).await;
    let req = &got[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/hook");
    assert!(
        req.required_header("content-type")
            .starts_with("application/json")
    );
    assert!(
        req.required_header("user-agent").starts_with("Hookline/"),
        "user-agent: {:?}",
        req.header("user-agent")
    );
    assert_eq!(req.webhook_id(), id);
    let ts: i64 = req
        .required_header("webhook-timestamp")
        .parse()
        .expect("a Unix timestamp");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        ts >= before - 5 && ts <= now + 5,
        "webhook-timestamp is the attempt's time: {ts}"
    );
    assert!(req.required_header("webhook-signature").starts_with("v1,"));
    assert_eq!(req.required_header("hookline-event-type"), "LotDispatched");
    assert_eq!(req.required_header("hookline-state"), "AP");
    assert_eq!(req.required_header("hookline-attempt"), "1");
    assert_eq!(req.required_header("hookline-subscription-id"), s.sub.id);

    let body = req.json();
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["data", "id", "source", "state", "timestamp", "type"]);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["type"], "LotDispatched");
    assert_eq!(body["state"], "AP");
    assert_eq!(body["source"], s.publisher.id.as_str());
    assert_eq!(
        body["data"],
        json!({"lotNo": "L-1", "status": "dispatched"})
    );
    assert_eq!(
        parse_rfc3339(body["timestamp"].as_str().expect("a timestamp")),
        parse_rfc3339("2026-11-20T10:00:00Z")
    );

    req.assert_signed_by(&s.sub.secret);
    assert!(
        req.verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .is_err(),
        "another secret does not verify"
    );
}

#[tokio::test]
async fn subscription_headers_are_sent_on_every_attempt() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(vec![Reply::status(500)], Reply::ok()).await;
    let s = app
        .subscribed(
            &receiver,
            json!({"headers": {"X-Portal-Key": "abc-123", "X-Trace": "qaqc"}, "max_attempts": 5}),
        )
        .await;

    s.publish(&app, "LotCreated", json!({"lotNo": "L-1"})).await;

    let got = receiver.wait_for(2, WAIT).await;
    for req in &got {
        assert_eq!(req.header("x-portal-key"), Some("abc-123"));
        assert_eq!(req.header("x-trace"), Some("qaqc"));
    }
}

#[tokio::test]
async fn http_500_is_retried_with_the_same_webhook_id_until_success() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(
        vec![
            Reply::status(500).body("boom"),
            Reply::status(500).body("boom"),
        ],
        Reply::ok(),
    )
    .await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 5})).await;

    let id = s.publish(&app, "LotCreated", json!({"lotNo": "L-1"})).await;

    let got = receiver.wait_for(3, WAIT).await;
    let attempt_headers: Vec<&str> = got
        .iter()
        .map(|r| r.required_header("hookline-attempt"))
        .collect();
    assert_eq!(attempt_headers, ["1", "2", "3"]);
    let mut last_ts = 0;
    for req in &got {
        assert_eq!(
            req.webhook_id(),
            id,
            "webhook-id is the same on every attempt"
        );
        req.assert_signed_by(&s.sub.secret);
        let ts: i64 = req
            .required_header("webhook-timestamp")
            .parse()
            .expect("a timestamp");
        assert!(ts >= last_ts, "each attempt is stamped when it is sent");
        last_ts = ts;
    }

    let dlv_id = s.delivery_id(&app, &id).await;
    assert!(dlv_id.starts_with("dlv_"));
    let done = app
        .wait_for_delivery_status(&s.subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
    assert_eq!(done["event_id"], id.as_str());
    assert_eq!(done["subscription_id"], s.sub.id.as_str());
    assert_eq!(done["next_attempt_at"], Value::Null);
    let tries = attempts(&done);
    let codes: Vec<Value> = tries.iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(500), json!(200)]);
    for (i, a) in tries.iter().enumerate() {
        assert_eq!(a["attempt"], i + 1);
        assert!(a["at"].as_str().is_some());
        assert!(a["duration_ms"].as_u64().is_some(), "{a}");
    }
    assert!(
        tries[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{}",
        tries[0]
    );
    assert_eq!(tries[0]["response_excerpt"], "boom");
    assert_eq!(tries[2]["error"], Value::Null);
}

#[tokio::test]
async fn client_errors_other_than_410_are_retried_too() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(
        vec![Reply::status(400), Reply::status(404), Reply::status(429)],
        Reply::ok(),
    )
    .await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 10})).await;

    s.publish(&app, "LotCreated", json!({})).await;

    receiver.wait_for(4, WAIT).await;
    receiver.assert_no_more_requests(4).await;
}

#[tokio::test]
async fn any_2xx_is_success_and_not_retried() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(
        vec![Reply::status(204), Reply::status(202)],
        Reply::status(201),
    )
    .await;
    let s = app.subscribed(&receiver, json!({})).await;

    let a = s.publish(&app, "LotCreated", json!({})).await;
    let b = s.publish(&app, "LotCreated", json!({})).await;

    receiver.wait_for(2, WAIT).await;
    receiver.assert_no_more_requests(2).await;
    for id in [a, b] {
        s.delivery_with_status(&app, &id, "succeeded", WAIT).await;
    }
}

#[tokio::test]
async fn timeout_is_retried_until_success() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver =
        Receiver::scripted(vec![Reply::ok().delay(Duration::from_secs(3))], Reply::ok()).await;
    let s = app
        .subscribed(&receiver, json!({"timeout_ms": 300, "max_attempts": 5}))
        .await;

    let id = s.publish(&app, "LotCreated", json!({})).await;

    let got = receiver.wait_for(2, WAIT).await;
    assert!(
        got[1].at.duration_since(got[0].at) < Duration::from_millis(2500),
        "the second attempt does not wait for the slow first answer"
    );
    let done = s.delivery_with_status(&app, &id, "succeeded", WAIT).await;
    let first = &attempts(&done)[0];
    assert_eq!(first["status_code"], Value::Null, "{first}");
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.to_ascii_lowercase().contains("timeout")),
        "{first}"
    );
    let took = first["duration_ms"].as_u64().expect("duration_ms");
    assert!(
        (250..2500).contains(&took),
        "the attempt was cut at the timeout: {took} ms"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_until_the_receiver_comes_up() {
    let app = TestApp::builder().retry_schedule("200ms").spawn().await;
    let addr = Receiver::reserve_addr();
    let s = app
        .subscribed_at(&format!("http://{addr}/hook"), json!({"max_attempts": 50}))
        .await;
    let id = s.publish(&app, "LotCreated", json!({})).await;
    let dlv_id = s.delivery_id(&app, &id).await;

    let failing = app
        .wait_for_delivery(
            &s.subscriber.token,
            &dlv_id,
            "two failed attempts",
            WAIT,
            |d| d["attempts"].as_array().is_some_and(|a| a.len() >= 2),
        )
        .await;
    assert!(
        matches!(failing["status"].as_str(), Some("retrying" | "pending")),
        "{failing}"
    );
    let first = &attempts(&failing)[0];
    assert_eq!(first["status_code"], Value::Null);
    let error = first["error"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        error.contains("refused") || error.contains("connect"),
        "{first}"
    );

    let receiver = Receiver::start_at(addr, Reply::ok()).await;

    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), id);
    got[0].assert_signed_by(&s.sub.secret);
    app.wait_for_delivery_status(&s.subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
}
