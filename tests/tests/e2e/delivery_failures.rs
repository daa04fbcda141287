//! When a receiver keeps failing: giving up after `max_attempts`, the manual retry, 410 Gone,
//! redirects, Retry-After, and the response excerpt kept on the record.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, Reply, TestApp, attempts, eventually};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn delivery_is_failed_after_max_attempts_and_not_tried_again() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 3})).await;

    let id = s.publish(&app, "LotCreated", json!({})).await;

    receiver.wait_for(3, WAIT).await;
    let failed = s.delivery_with_status(&app, &id, "failed", WAIT).await;
    assert_eq!(attempts(&failed).len(), 3);
    assert_eq!(failed["next_attempt_at"], Value::Null);
    receiver.assert_no_more_requests(3).await;
    let ev = app
        .get(&format!("/v1/events/{id}"), &s.publisher.token)
        .await;
    assert_eq!(
        ev.json["deliveries"],
        json!({"pending": 0, "succeeded": 0, "failed": 1})
    );
    let listed = app
        .deliveries(
            &s.subscriber.token,
            &format!("subscription_id={}&status=failed", s.sub.id),
        )
        .await;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn failed_delivery_is_delivered_by_a_manual_retry() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::status(503)).await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 2})).await;
    let id = s.publish(&app, "LotCreated", json!({})).await;
    receiver.wait_for(2, WAIT).await;
    let failed = s.delivery_with_status(&app, &id, "failed", WAIT).await;
    let dlv_id = failed["id"].as_str().expect("an id");
    receiver.set_default(Reply::ok());

    let retry = app
        .post(
            &format!("/v1/deliveries/{dlv_id}/retry"),
            &s.subscriber.token,
            &json!({}),
        )
        .await;

    retry.assert_status(202);
    assert_eq!(retry.json["id"], dlv_id);
    assert_eq!(retry.json["status"], "pending");
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(got[2].webhook_id(), id);
    got[2].assert_signed_by(&s.sub.secret);
    let done = app
        .wait_for_delivery_status(&s.subscriber.token, dlv_id, "succeeded", WAIT)
        .await;
    assert_eq!(attempts(&done).len(), 3, "the record keeps every attempt");
    receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn endpoint_answering_410_disables_the_subscription() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::answering(Reply::gone()).await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 10})).await;
    let path = s.sub.path("");

    s.publish(&app, "LotCreated", json!({"n": 1})).await;

    receiver.wait_for(1, WAIT).await;
    let disabled = eventually(WAIT, "the subscription to be disabled", || async {
        let read = app.get(&path, &s.subscriber.token).await;
        (read.json["enabled"] == false).then_some(read.json)
    })
    .await;
    assert_eq!(disabled["disabled_reason"], "gone");
    s.publish(&app, "LotCreated", json!({"n": 2})).await;
    receiver.assert_no_more_requests(1).await;

    let enabled = app
        .patch(&path, &s.subscriber.token, &json!({"enabled": true}))
        .await;
    enabled.assert_status(200);
    assert_eq!(enabled.json["enabled"], true);
    assert_eq!(enabled.json["disabled_reason"], Value::Null);
    receiver.set_default(Reply::ok());
    let third = s.publish(&app, "LotCreated", json!({"n": 3})).await;
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
    let s = app.subscribed(&receiver, json!({"max_attempts": 2})).await;

    let id = s.publish(&app, "LotCreated", json!({})).await;

    receiver.wait_for(2, WAIT).await;
    let failed = s.delivery_with_status(&app, &id, "failed", WAIT).await;
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
    let s = app.subscribed(&receiver, json!({"max_attempts": 5})).await;

    s.publish(&app, "LotCreated", json!({})).await;

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
    let s = app.subscribed(&receiver, json!({"max_attempts": 5})).await;

    s.publish(&app, "LotCreated", json!({})).await;

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
    let s = app.subscribed(&receiver, json!({"max_attempts": 1})).await;

    let id = s.publish(&app, "LotCreated", json!({})).await;

    let failed = s.delivery_with_status(&app, &id, "failed", WAIT).await;
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
