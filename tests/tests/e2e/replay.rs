//! Replaying past events to a subscription: everything in a window, or only what failed.

use std::time::Duration;

use serde_json::json;

use crate::support::{Receiver, Reply, TestApp, parse_rfc3339, rfc3339};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn replay_redelivers_past_events_once_with_their_original_webhook_ids() {
    let app = TestApp::spawn().await;
    let replayed = Receiver::start().await;
    let bystander = Receiver::start().await;
    let s = app.subscribed(&replayed, json!({})).await;
    app.subscribe_at(&s.subscriber.token, &bystander.url("/hook"), json!({}))
        .await;
    let a = s.publish(&app, "LotCreated", json!({"n": 1})).await;
    let b = s.publish(&app, "LotCreated", json!({"n": 2})).await;
    replayed.wait_for(2, WAIT).await;
    bystander.wait_for(2, WAIT).await;
    // Replay leaves deliveries that are still in flight alone: let both finish first.
    app.wait_until_all_succeeded(&s.subscriber.token, &s.sub.id, 2)
        .await;

    let resp = app
        .post(&s.sub.path("/replay"), &s.subscriber.token, &json!({}))
        .await;

    resp.assert_status(202);
    assert_eq!(resp.json["count"], 2, "{}", resp.text);
    let got = replayed.wait_for(4, WAIT).await;
    let mut again: Vec<&str> = got[2..].iter().map(|r| r.webhook_id()).collect();
    again.sort();
    let mut expected = [a.as_str(), b.as_str()];
    expected.sort();
    assert_eq!(again, expected, "replays carry the original event ids");
    for req in &got[2..] {
        req.assert_signed_by(&s.sub.secret);
    }
    replayed.assert_no_more_requests(4).await;
    assert_eq!(
        bystander.count(),
        2,
        "other subscriptions are not replayed to"
    );
    let records = app
        .deliveries(
            &s.subscriber.token,
            &format!("subscription_id={}", s.sub.id),
        )
        .await;
    assert_eq!(
        records.len(),
        2,
        "a replay reuses the deliveries, it does not add new ones"
    );
}

#[tokio::test]
async fn replay_only_failed_redelivers_just_the_failed_deliveries() {
    let app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::start().await;
    receiver.reply_when(
        |r| String::from_utf8_lossy(&r.body).contains("fail-me"),
        Reply::status(500),
    );
    let s = app.subscribed(&receiver, json!({"max_attempts": 1})).await;
    let failed = s
        .publish(&app, "LotCreated", json!({"note": "fail-me"}))
        .await;
    let fine = s.publish(&app, "LotCreated", json!({"note": "fine"})).await;
    receiver.wait_for(2, WAIT).await;
    let t = &s.subscriber.token;
    let failed_dlv = app.delivery_of(t, &s.sub.id, &failed).await["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let fine_dlv = app.delivery_of(t, &s.sub.id, &fine).await["id"]
        .as_str()
        .expect("an id")
        .to_string();
    app.wait_for_delivery_status(t, &failed_dlv, "failed", WAIT)
        .await;
    app.wait_for_delivery_status(t, &fine_dlv, "succeeded", WAIT)
        .await;
    receiver.clear_rules();

    let resp = app
        .post(&s.sub.path("/replay"), t, &json!({"only_failed": true}))
        .await;

    resp.assert_status(202);
    assert_eq!(resp.json["count"], 1, "{}", resp.text);
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(got[2].webhook_id(), failed);
    app.wait_for_delivery_status(t, &failed_dlv, "succeeded", WAIT)
        .await;
    receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn replay_window_selects_events_by_acceptance_time() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;
    let early = s.publish(&app, "LotCreated", json!({"n": 1})).await;
    let read = app
        .get(&format!("/v1/events/{early}"), &s.publisher.token)
        .await;
    let early_at = parse_rfc3339(read.json["received_at"].as_str().expect("received_at"));
    // The boundary must lie strictly between the two acceptance times whatever precision
    // the API keeps: wait for the clock itself to pass it (time is the condition here).
    let boundary = early_at + time::Duration::milliseconds(1500);
    let wait = boundary - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(500);
    if wait.is_positive() {
        tokio::time::sleep(wait.unsigned_abs()).await;
    }
    let late = s.publish(&app, "LotCreated", json!({"n": 2})).await;
    receiver.wait_for(2, WAIT).await;
    app.wait_until_all_succeeded(&s.subscriber.token, &s.sub.id, 2)
        .await;
    let replay = s.sub.path("/replay");

    let since = app
        .post(
            &replay,
            &s.subscriber.token,
            &json!({"since": rfc3339(boundary)}),
        )
        .await;
    since.assert_status(202);
    assert_eq!(since.json["count"], 1, "{}", since.text);
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(got[2].webhook_id(), late);
    app.wait_until_all_succeeded(&s.subscriber.token, &s.sub.id, 2)
        .await;

    let until = app
        .post(
            &replay,
            &s.subscriber.token,
            &json!({"until": rfc3339(boundary)}),
        )
        .await;
    until.assert_status(202);
    assert_eq!(until.json["count"], 1, "{}", until.text);
    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got[3].webhook_id(), early);

    let empty = app
        .post(
            &replay,
            &s.subscriber.token,
            &json!({"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}),
        )
        .await;
    empty.assert_status(202);
    assert_eq!(empty.json["count"], 0);
    receiver.assert_no_more_requests(4).await;
}

#[tokio::test]
async fn replay_with_an_unreadable_window_is_400() {
    let app = TestApp::spawn().await;
    let subscriber = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &subscriber.token,
            "https://portal.example.org/hook",
            json!({}),
        )
        .await;
    let replay = sub.path("/replay");

    for body in [
        json!({"since": "yesterday"}),
        json!({"until": 12}),
        json!({"only_failed": "yes"}),
    ] {
        app.post(&replay, &subscriber.token, &body)
            .await
            .assert_problem(400, "invalid_request");
    }
    app.post(
        "/v1/subscriptions/sub_doesnotexist/replay",
        &subscriber.token,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
}
