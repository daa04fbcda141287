//! Pull delivery: a pull subscription's deliveries wait in its message log, and its client
//! fetches them in order with a cursor, each with the body and headers a push receiver would
//! get (signed at fetch time), until it acknowledges them.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::support::api::Sub;
use crate::support::scenario::Subscribed;
use crate::support::{TestApp, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// An AP portal with a pull subscription to every type, and an AP publisher.
async fn pulling(app: &TestApp) -> Subscribed {
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    let sub = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"mode": "pull", "event_types": ["*"]}),
        )
        .await;
    Subscribed {
        subscriber,
        publisher,
        sub,
    }
}

/// `GET …/messages?{query}` as `token`, asserting 200.
async fn fetch(app: &TestApp, token: &str, sub: &Sub, query: &str) -> Value {
    let resp = app
        .get(&sub.path(&format!("/messages?{query}")), token)
        .await;
    resp.assert_status(200);
    resp.json
}

/// Fetches from the acknowledged cursor until at least `n` messages are there.
async fn fetch_n(app: &TestApp, s: &Subscribed, n: usize) -> Value {
    eventually(WAIT, &format!("{n} pull messages"), || async {
        let page = fetch(app, &s.subscriber.token, &s.sub, "wait=1").await;
        (page["data"].as_array().map_or(0, Vec::len) >= n).then_some(page)
    })
    .await
}

fn messages(page: &Value) -> Vec<Value> {
    page["data"].as_array().cloned().unwrap_or_default()
}

fn ids(page: &Value, field: &str) -> Vec<String> {
    messages(page)
        .iter()
        .map(|m| m[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Publishes an event and waits until it is the log's `n`th message.
async fn publish_nth(app: &TestApp, s: &Subscribed, n: usize, lot: &str) -> String {
    let id = s.publish(app, "LotDispatched", json!({"lotNo": lot})).await;
    let page = fetch_n(app, s, n).await;
    assert_eq!(ids(&page, "event_id").last(), Some(&id), "appended last");
    id
}

/// Verifies a message as a receiver would, with the `standardwebhooks` library.
fn verify(message: &Value, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
    let mut headers = HeaderMap::new();
    for (k, v) in message["headers"].as_object().expect("headers") {
        headers.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
            HeaderValue::from_str(v.as_str().expect("text")).expect("a header value"),
        );
    }
    let body = message["body"].as_str().expect("a body");
    standardwebhooks::Webhook::new(secret)?.verify(body.as_bytes(), &headers)
}

#[tokio::test]
async fn pull_messages_come_in_order_signed_as_a_push_receiver_gets_them() {
    let app = TestApp::spawn().await;
    let s = pulling(&app).await;
    assert_eq!(s.sub.json["mode"], "pull");
    assert_eq!(s.sub.json["url"], Value::Null);
    let mut published = Vec::new();
    for (n, lot) in ["L-1", "L-2", "L-3"].iter().enumerate() {
        published.push(publish_nth(&app, &s, n + 1, lot).await);
    }
    let page = fetch(&app, &s.subscriber.token, &s.sub, "").await;
    assert_eq!(ids(&page, "event_id"), published, "oldest first");
    assert_eq!(page["acked_cursor"], Value::Null);
    let first = &messages(&page)[0];
    assert_eq!(first["event_type"], "LotDispatched");
    let body: Value = serde_json::from_str(first["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["id"], published[0].as_str());
    assert_eq!(body["data"], json!({"lotNo": "L-1"}));
    let h = &first["headers"];
    assert_eq!(h["webhook-id"], published[0].as_str());
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["hookline-event-type"], "LotDispatched");
    assert_eq!(h["hookline-state"], "AP");
    assert_eq!(h["hookline-attempt"], "1");
    assert_eq!(h["hookline-subscription-id"], s.sub.id.as_str());
    verify(first, &s.sub.secret).expect("the signature verifies");
    assert!(verify(first, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());

    // A secret in rotation: both sign, so either verifies.
    let new_secret = app.rotate_secret(&s.subscriber.token, &s.sub).await;
    let again = fetch(&app, &s.subscriber.token, &s.sub, "limit=1").await;
    let signed_twice = &messages(&again)[0];
    verify(signed_twice, &new_secret).expect("the new secret verifies");
    verify(signed_twice, &s.sub.secret).expect("the old one still does");
    assert_eq!(signed_twice["body"], first["body"], "the same bytes");

    // The delivery is on record as delivered, stored for pulling.
    let delivery = s
        .delivery_with_status(&app, &published[0], "succeeded", WAIT)
        .await;
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["status_code"], Value::Null);
    assert_eq!(attempt["error"], Value::Null);
    assert_eq!(attempt["response_excerpt"], "stored for pull delivery");
}

#[tokio::test]
async fn a_fetch_without_ack_repeats_and_an_ack_resumes_after_it() {
    let app = TestApp::spawn().await;
    let s = pulling(&app).await;
    let token = &s.subscriber.token;
    let empty = fetch(&app, token, &s.sub, "").await;
    assert_eq!(messages(&empty), Vec::<Value>::new());
    let start = empty["next_cursor"]
        .as_str()
        .expect("a start cursor")
        .to_string();
    for (n, lot) in ["L-1", "L-2", "L-3"].iter().enumerate() {
        publish_nth(&app, &s, n + 1, lot).await;
    }
    let page = fetch(&app, token, &s.sub, "").await;
    let repeated = fetch(&app, token, &s.sub, "").await;
    assert_eq!(
        ids(&page, "delivery_id"),
        ids(&repeated, "delivery_id"),
        "at least once"
    );
    let cursors = ids(&page, "cursor");
    assert_eq!(
        page["next_cursor"].as_str(),
        cursors.last().map(String::as_str)
    );

    let after_first = fetch(&app, token, &s.sub, &format!("after={}", cursors[0])).await;
    assert_eq!(ids(&after_first, "cursor"), cursors[1..].to_vec());
    let limited = fetch(&app, token, &s.sub, &format!("after={start}&limit=1")).await;
    assert_eq!(ids(&limited, "cursor"), cursors[..1].to_vec());

    let ack_path = s.sub.path("/messages/ack");
    let ack = |cursor: String| {
        let (app, path) = (&app, &ack_path);
        async move { app.post(path, token, &json!({"cursor": cursor})).await }
    };
    let acked = ack(cursors[1].clone()).await;
    acked.assert_status(200);
    assert_eq!(
        acked.json["acked_cursor"].as_str(),
        Some(cursors[1].as_str())
    );
    let resumed = fetch(&app, token, &s.sub, "").await;
    assert_eq!(
        ids(&resumed, "cursor"),
        cursors[2..].to_vec(),
        "after the ack"
    );
    assert_eq!(resumed["acked_cursor"].as_str(), Some(cursors[1].as_str()));
    let older = ack(cursors[0].clone()).await;
    older.assert_status(200);
    assert_eq!(
        older.json["acked_cursor"].as_str(),
        Some(cursors[1].as_str()),
        "forward only"
    );

    // A manual retry (and a test ping) append again: new messages.
    let delivery_id = ids(&page, "delivery_id")[0].clone();
    app.post(
        &format!("/v1/deliveries/{delivery_id}/retry"),
        token,
        &json!({}),
    )
    .await
    .assert_status(202);
    let retried = fetch_n(&app, &s, 2).await;
    assert_eq!(
        ids(&retried, "delivery_id")[1],
        delivery_id,
        "appended once more"
    );
    assert_eq!(messages(&retried)[1]["headers"]["hookline-attempt"], "2");

    // Bad cursors: 400 on the field.
    let other = pulling(&app).await;
    let theirs = fetch(&app, &other.subscriber.token, &other.sub, "").await;
    let foreign = theirs["next_cursor"]
        .as_str()
        .expect("a cursor")
        .to_string();
    for bad in ["nonsense", foreign.as_str()] {
        let r = app
            .get(&s.sub.path(&format!("/messages?after={bad}")), token)
            .await;
        r.assert_problem(400, "invalid_request");
        assert_eq!(r.error_fields(), ["after"]);
        let r = ack(bad.to_string()).await;
        r.assert_problem(400, "invalid_request");
        assert_eq!(r.error_fields(), ["cursor"]);
    }
    let last = retried["next_cursor"].as_str().expect("a cursor");
    let beyond = PullCursorText::beyond(last);
    ack(beyond).await.assert_problem(400, "invalid_request");
    for q in ["limit=0", "limit=101", "wait=21", "wait=x"] {
        let r = app.get(&s.sub.path(&format!("/messages?{q}")), token).await;
        r.assert_problem(400, "invalid_request");
    }
}

/// Cursors are opaque to clients; this test knows their form to make one past the end.
struct PullCursorText;

impl PullCursorText {
    fn beyond(cursor: &str) -> String {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let plain = URL_SAFE_NO_PAD.decode(cursor).expect("base64");
        let plain = String::from_utf8(plain).expect("text");
        let (sub, position) = plain.rsplit_once(':').expect("sub:position");
        let next: u64 = position.parse::<u64>().expect("a position") + 1;
        URL_SAFE_NO_PAD.encode(format!("{sub}:{next}"))
    }
}

#[tokio::test]
async fn a_long_poll_returns_when_a_message_arrives() {
    let app = TestApp::spawn().await;
    let s = pulling(&app).await;
    let poll = fetch(&app, &s.subscriber.token, &s.sub, "wait=20");
    let publish = s.publish(&app, "LotDispatched", json!({"lotNo": "L-1"}));
    // Well before the 20 s the poll may wait: it returned because the message came.
    let (page, id) = tokio::time::timeout(Duration::from_secs(15), async {
        tokio::join!(poll, publish)
    })
    .await
    .expect("the poll returns when the message arrives");
    assert_eq!(ids(&page, "event_id"), [id]);
}

#[tokio::test]
async fn pull_messages_are_the_subscribers_alone() {
    let app = TestApp::spawn().await;
    let s = pulling(&app).await;
    let stranger = app.portal(&["AP"]).await;
    for path in [s.sub.path("/messages"), s.sub.path("/messages?wait=1")] {
        app.get(&path, &stranger.token)
            .await
            .assert_problem(404, "not_found");
    }
    let ack = json!({"cursor": "x"});
    app.post(&s.sub.path("/messages/ack"), &stranger.token, &ack)
        .await
        .assert_problem(404, "not_found");
    let admin = app.admin_token().await;
    fetch(&app, &admin, &s.sub, "").await;

    let push = app
        .subscribe_ok(
            &s.subscriber.token,
            &json!({"url": "https://portal.example.org/hook", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(push.json["mode"], "push");
    app.get(&push.path("/messages"), &s.subscriber.token)
        .await
        .assert_problem(409, "conflict");

    // What a pull subscription refuses, and a mode that does not change.
    let token = &s.subscriber.token;
    for (body, field) in [
        (
            json!({"mode": "pull", "event_types": ["*"], "url": "https://x.example.org/"}),
            "url",
        ),
        (
            json!({"mode": "pull", "event_types": ["*"], "timeout_ms": 1000}),
            "timeout_ms",
        ),
        (
            json!({"mode": "pull", "event_types": ["*"], "rate_limit": 5}),
            "rate_limit",
        ),
        (json!({"mode": "push", "event_types": ["*"]}), "url"),
    ] {
        let r = app.subscribe(token, &body).await;
        r.assert_problem(400, "invalid_request");
        assert_eq!(r.error_fields(), [field], "{body}: {}", r.text);
    }
    // Not a mode at all: refused as the body's JSON (as an unknown `format` is).
    app.subscribe(token, &json!({"mode": "poll", "event_types": ["*"]}))
        .await
        .assert_problem(400, "invalid_request");
    let r = app
        .patch(&s.sub.path(""), token, &json!({"mode": "push"}))
        .await;
    r.assert_problem(400, "invalid_request");
    assert_eq!(r.error_fields(), ["mode"]);
    app.patch(
        &s.sub.path(""),
        token,
        &json!({"url": "https://x.example.org/"}),
    )
    .await
    .assert_problem(400, "invalid_request");

    app.delete(&s.sub.path(""), token).await.assert_status(204);
    app.get(&s.sub.path("/messages"), token)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn messages_past_the_retention_are_not_fetched_and_reading_goes_on_from_the_oldest_kept() {
    // 0.00005 days: about 4.3 seconds.
    let app = TestApp::builder()
        .env("HOOKLINE_PULL_RETENTION_DAYS", "0.00005")
        .spawn()
        .await;
    let s = pulling(&app).await;
    let token = &s.subscriber.token;
    let start = fetch(&app, token, &s.sub, "").await["next_cursor"].clone();
    let old = publish_nth(&app, &s, 1, "L-old").await;
    eventually(WAIT, "the message to expire", || async {
        messages(&fetch(&app, token, &s.sub, "").await)
            .is_empty()
            .then_some(())
    })
    .await;
    let kept = publish_nth(&app, &s, 1, "L-kept").await;
    assert_ne!(old, kept);
    let from_start = fetch(
        &app,
        token,
        &s.sub,
        &format!("after={}", start.as_str().expect("a cursor")),
    )
    .await;
    assert_eq!(ids(&from_start, "event_id"), [kept], "from the oldest kept");
}
