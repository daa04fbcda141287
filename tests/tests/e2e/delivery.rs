//! Delivering webhooks: the signed request, retries on every kind of failure, giving up,
//! manual retry, 410 Gone, redirects, Retry-After, and the delivery records.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::api::urlencode;
use crate::support::{Receiver, Reply, Sub, TestApp, TestClient, event, parse_rfc3339};

const WAIT: Duration = Duration::from_secs(20);

/// A subscriber portal (AP) with a subscription to every type at `receiver`'s `/hook`
/// (plus `extra` fields), and a publisher for AP.
async fn subscribed(
    app: &TestApp,
    receiver: &Receiver,
    extra: Value,
) -> (TestClient, TestClient, Sub) {
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let mut body = json!({"url": receiver.url("/hook"), "event_types": ["*"]});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    let sub = app.subscribe_ok(&subscriber.token, &body).await;
    (subscriber, publisher, sub)
}

fn attempts(delivery: &Value) -> Vec<Value> {
    delivery["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("a delivery has attempts: {delivery}"))
        .clone()
}

#[tokio::test]
async fn delivery_is_signed_per_standard_webhooks_with_the_documented_headers_and_envelope() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (_, publisher, sub) =
        subscribed(&app, &receiver, json!({"event_types": ["LotDispatched"]})).await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp();

    let id = app
        .publish_ok(
            &publisher.token,
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
    assert_eq!(req.required_header("hookline-subscription-id"), sub.id);

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
    assert_eq!(body["source"], publisher.id.as_str());
    assert_eq!(
        body["data"],
        json!({"lotNo": "L-1", "status": "dispatched"})
    );
    assert_eq!(
        parse_rfc3339(body["timestamp"].as_str().expect("a timestamp")),
        parse_rfc3339("2026-11-20T10:00:00Z")
    );

    req.assert_signed_by(&sub.secret);
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
    let (_, publisher, _) = subscribed(
        &app,
        &receiver,
        json!({"headers": {"X-Portal-Key": "abc-123", "X-Trace": "qaqc"}, "max_attempts": 5}),
    )
    .await;

    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"lotNo": "L-1"})),
    )
    .await;

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
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 5})).await;

    let id = app
        .publish_ok(
            &publisher.token,
            &event("LotCreated", "AP", json!({"lotNo": "L-1"})),
        )
        .await;

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
        req.assert_signed_by(&sub.secret);
        let ts: i64 = req
            .required_header("webhook-timestamp")
            .parse()
            .expect("a timestamp");
        assert!(ts >= last_ts, "each attempt is stamped when it is sent");
        last_ts = ts;
    }

    let delivery = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let dlv_id = delivery["id"].as_str().expect("a delivery id").to_string();
    assert!(dlv_id.starts_with("dlv_"));
    let done = app
        .wait_for_delivery_status(&subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
    assert_eq!(done["event_id"], id.as_str());
    assert_eq!(done["subscription_id"], sub.id.as_str());
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
    let (_, publisher, _) = subscribed(&app, &receiver, json!({"max_attempts": 10})).await;

    app.publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

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
    let (subscriber, publisher, sub) = subscribed(&app, &receiver, json!({})).await;

    let a = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    let b = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    receiver.wait_for(2, WAIT).await;
    receiver.assert_no_more_requests(2).await;
    for id in [a, b] {
        let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
        let id = d["id"].as_str().expect("an id").to_string();
        app.wait_for_delivery_status(&subscriber.token, &id, "succeeded", WAIT)
            .await;
    }
}

#[tokio::test]
async fn timeout_is_retried_until_success() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver =
        Receiver::scripted(vec![Reply::ok().delay(Duration::from_secs(3))], Reply::ok()).await;
    let (subscriber, publisher, sub) = subscribed(
        &app,
        &receiver,
        json!({"timeout_ms": 300, "max_attempts": 5}),
    )
    .await;

    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    let got = receiver.wait_for(2, WAIT).await;
    assert!(
        got[1].at.duration_since(got[0].at) < Duration::from_millis(2500),
        "the second attempt does not wait for the slow first answer"
    );
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let done = app
        .wait_for_delivery_status(
            &subscriber.token,
            d["id"].as_str().expect("an id"),
            "succeeded",
            WAIT,
        )
        .await;
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
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let sub = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"url": format!("http://{addr}/hook"), "event_types": ["*"], "max_attempts": 50}),
        )
        .await;
    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let dlv_id = d["id"].as_str().expect("an id").to_string();

    let failing = app
        .wait_for_delivery(
            &subscriber.token,
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
    got[0].assert_signed_by(&sub.secret);
    app.wait_for_delivery_status(&subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
}

#[tokio::test]
async fn delivery_is_failed_after_max_attempts_and_not_tried_again() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 3})).await;

    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    receiver.wait_for(3, WAIT).await;
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let failed = app
        .wait_for_delivery_status(
            &subscriber.token,
            d["id"].as_str().expect("an id"),
            "failed",
            WAIT,
        )
        .await;
    assert_eq!(attempts(&failed).len(), 3);
    assert_eq!(failed["next_attempt_at"], Value::Null);
    receiver.assert_no_more_requests(3).await;
    let ev = app.get(&format!("/v1/events/{id}"), &publisher.token).await;
    assert_eq!(
        ev.json["deliveries"],
        json!({"pending": 0, "succeeded": 0, "failed": 1})
    );
    let listed = app
        .deliveries(
            &subscriber.token,
            &format!("subscription_id={}&status=failed", sub.id),
        )
        .await;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn failed_delivery_is_delivered_by_a_manual_retry() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::status(503)).await;
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 2})).await;
    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    receiver.wait_for(2, WAIT).await;
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let dlv_id = d["id"].as_str().expect("an id").to_string();
    app.wait_for_delivery_status(&subscriber.token, &dlv_id, "failed", WAIT)
        .await;
    receiver.set_default(Reply::ok());

    let retry = app
        .post(
            &format!("/v1/deliveries/{dlv_id}/retry"),
            &subscriber.token,
            &json!({}),
        )
        .await;

    retry.assert_status(202);
    assert_eq!(retry.json["id"], dlv_id.as_str());
    assert_eq!(retry.json["status"], "pending");
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(got[2].webhook_id(), id);
    got[2].assert_signed_by(&sub.secret);
    let done = app
        .wait_for_delivery_status(&subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
    assert_eq!(attempts(&done).len(), 3, "the record keeps every attempt");
    receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn endpoint_answering_410_disables_the_subscription() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::gone()).await;
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 10})).await;
    let path = format!("/v1/subscriptions/{}", sub.id);

    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"n": 1})),
    )
    .await;

    receiver.wait_for(1, WAIT).await;
    let disabled = crate::support::eventually(WAIT, "the subscription to be disabled", || async {
        let s = app.get(&path, &subscriber.token).await;
        (s.json["enabled"] == false).then_some(s.json)
    })
    .await;
    assert_eq!(disabled["disabled_reason"], "gone");
    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"n": 2})),
    )
    .await;
    receiver.assert_no_more_requests(1).await;

    let enabled = app
        .patch(&path, &subscriber.token, &json!({"enabled": true}))
        .await;
    enabled.assert_status(200);
    assert_eq!(enabled.json["enabled"], true);
    assert_eq!(enabled.json["disabled_reason"], Value::Null);
    receiver.set_default(Reply::ok());
    let third = app
        .publish_ok(
            &publisher.token,
            &event("LotCreated", "AP", json!({"n": 3})),
        )
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(
        got[1].webhook_id(),
        third,
        "events published while disabled are not delivered"
    );
}

#[tokio::test]
async fn redirect_is_a_failure_and_is_not_followed() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::start().await;
    receiver.reply_when(|r| r.path == "/target", Reply::ok());
    receiver.set_default(Reply::redirect(302, &receiver.url("/target")));
    receiver.push_reply(Reply::redirect(307, &receiver.url("/target")));
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 2})).await;

    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    receiver.wait_for(2, WAIT).await;
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let failed = app
        .wait_for_delivery_status(
            &subscriber.token,
            d["id"].as_str().expect("an id"),
            "failed",
            WAIT,
        )
        .await;
    let codes: Vec<Value> = attempts(&failed)
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(307), json!(302)]);
    receiver.assert_no_more_requests(2).await;
    assert!(
        receiver.requests().iter().all(|r| r.path == "/hook"),
        "the redirect target is never requested: {:#?}",
        receiver.summary()
    );
}

#[tokio::test]
async fn retry_after_seconds_on_503_is_honoured() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(vec![Reply::retry_after(503, 2)], Reply::ok()).await;
    let (_, publisher, _) = subscribed(&app, &receiver, json!({"max_attempts": 5})).await;

    app.publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    let got = receiver.wait_for(2, WAIT).await;
    let gap = got[1].at.duration_since(got[0].at);
    assert!(
        gap >= Duration::from_millis(1500),
        "Retry-After: 2 was honoured, not the 100 ms schedule: {gap:?}"
    );
    assert!(
        gap < Duration::from_secs(10),
        "and not much longer: {gap:?}"
    );
}

#[tokio::test]
async fn retry_after_date_on_429_is_honoured() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::start().await;
    let when = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = when.format(&fmt).expect("an HTTP date");
    receiver.push_reply(Reply::status(429).header("retry-after", &date));
    let (_, publisher, _) = subscribed(&app, &receiver, json!({"max_attempts": 5})).await;

    app.publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    let got = receiver.wait_for(2, WAIT).await;
    let gap = got[1].at.duration_since(got[0].at);
    assert!(
        gap >= Duration::from_millis(1000),
        "Retry-After: {date} was honoured: {gap:?}"
    );
}

#[tokio::test]
async fn response_excerpt_is_kept_and_capped_at_1024_bytes() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::status(500).body("E".repeat(5000))).await;
    let (subscriber, publisher, sub) =
        subscribed(&app, &receiver, json!({"max_attempts": 1})).await;

    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;

    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let failed = app
        .wait_for_delivery_status(
            &subscriber.token,
            d["id"].as_str().expect("an id"),
            "failed",
            WAIT,
        )
        .await;
    let excerpt = attempts(&failed)[0]["response_excerpt"]
        .as_str()
        .expect("a response excerpt")
        .to_string();
    assert!(
        !excerpt.is_empty() && excerpt.len() <= 1024,
        "excerpt of {} bytes",
        excerpt.len()
    );
    assert!(
        excerpt.chars().all(|c| c == 'E'),
        "the excerpt is the start of the body"
    );
}

#[tokio::test]
async fn deliveries_are_listed_by_subscription_event_and_status_with_a_cursor() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let a = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"url": receiver.url("/a"), "event_types": ["*"]}),
        )
        .await;
    let b = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"url": receiver.url("/b"), "event_types": ["*"]}),
        )
        .await;
    let e1 = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    let e2 = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    receiver.wait_for(4, WAIT).await;
    let t = &subscriber.token;
    crate::support::eventually(WAIT, "4 succeeded deliveries", || async {
        (app.deliveries(t, "status=succeeded").await.len() == 4).then_some(())
    })
    .await;

    let of_a = app
        .deliveries(t, &format!("subscription_id={}", a.id))
        .await;
    assert_eq!(of_a.len(), 2);
    assert!(of_a.iter().all(|d| d["subscription_id"] == a.id.as_str()));
    let of_e1 = app.deliveries(t, &format!("event_id={e1}")).await;
    assert_eq!(of_e1.len(), 2);
    assert!(of_e1.iter().all(|d| d["event_id"] == e1.as_str()));
    let one = app
        .deliveries(t, &format!("subscription_id={}&event_id={e2}", b.id))
        .await;
    assert_eq!(one.len(), 1);
    assert!(app.deliveries(t, "status=failed").await.is_empty());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let q = match &cursor {
            Some(c) => format!("/v1/deliveries?limit=1&cursor={}", urlencode(c)),
            None => "/v1/deliveries?limit=1".to_string(),
        };
        let page = app.get(&q, t).await;
        page.assert_status(200);
        let data = page.data();
        assert!(data.len() <= 1, "limit is honoured: {}", page.text);
        seen.extend(
            data.iter()
                .map(|d| d["id"].as_str().expect("an id").to_string()),
        );
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "paging walks every delivery once: {seen:?}");
}

#[tokio::test]
async fn another_clients_delivery_is_404_but_visible_to_admins() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (subscriber, publisher, sub) = subscribed(&app, &receiver, json!({})).await;
    let intruder = app.portal(&["AP"]).await;
    let admin = app.admin_token().await;
    let id = app
        .publish_ok(&publisher.token, &event("LotCreated", "AP", json!({})))
        .await;
    let d = app.delivery_of(&subscriber.token, &sub.id, &id).await;
    let dlv_id = d["id"].as_str().expect("an id");

    app.get(&format!("/v1/deliveries/{dlv_id}"), &intruder.token)
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/v1/deliveries/{dlv_id}/retry"),
        &intruder.token,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    assert!(app.deliveries(&intruder.token, "").await.is_empty());
    app.get(&format!("/v1/deliveries/{dlv_id}"), &admin)
        .await
        .assert_status(200);
    app.get("/v1/deliveries/dlv_doesnotexist", &admin)
        .await
        .assert_problem(404, "not_found");
}
