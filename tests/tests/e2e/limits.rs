//! Limits: each client's request rate (429 with `Retry-After`), its quotas (subscriptions,
//! replay size, test pings), an admin's per-client overrides, and the send rate a
//! subscription asks for.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, TestClient, event};

/// Sets `client`'s limits as admin; asserts 200.
async fn set_limits(app: &TestApp, client: &TestClient, limits: Value) {
    let admin = app.admin_token().await;
    let resp = app
        .patch(
            &format!("/v1/clients/{}", client.id),
            &admin,
            &json!({ "limits": limits }),
        )
        .await;
    resp.assert_status(200);
    assert_eq!(resp.json["limits"], limits, "{}", resp.text);
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after_and_other_clients_do_not() {
    let app = TestApp::spawn().await;
    let limited = app.portal(&["AP"]).await;
    let other = app.portal(&["AP"]).await;
    let admin = app.admin_token().await;
    let path = format!("/v1/clients/{}", limited.id);
    for bad in [
        json!([1, 2]),
        json!({"burst": 0}),
        json!({"burst": -1}),
        json!({"rate": 1}),
    ] {
        app.patch(&path, &admin, &json!({ "limits": bad }))
            .await
            .assert_problem(400, "invalid_request");
    }
    set_limits(
        &app,
        &limited,
        json!({"requests_per_second": 1, "burst": 3}),
    )
    .await;

    for _ in 0..3 {
        app.get("/v1/subscriptions", &limited.token)
            .await
            .assert_status(200);
    }
    let refused = app.get("/v1/subscriptions", &limited.token).await;
    refused.assert_problem(429, "rate_limited");
    let retry_after: u64 = refused
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!((1..=3).contains(&retry_after), "{retry_after}");

    app.get("/v1/subscriptions", &other.token)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_batch_costs_one_request_per_event_and_is_refused_whole() {
    let app = TestApp::spawn().await;
    let publisher = app.portal(&["AP"]).await;
    set_limits(
        &app,
        &publisher,
        json!({"requests_per_second": 1, "burst": 4}),
    )
    .await;
    let batch: Vec<Value> = (0..5)
        .map(|n| event("LotCreated", "AP", json!({ "n": n })))
        .collect();
    app.publish(&publisher.token, &json!({ "events": batch }))
        .await
        .assert_problem(429, "rate_limited");
    // The refused batch took nothing: a batch of three still fits the burst.
    let resp = app
        .publish(&publisher.token, &json!({ "events": batch[..3] }))
        .await;
    resp.assert_status(202);
}

#[tokio::test]
async fn quotas_on_subscriptions_replays_and_test_pings_hold_per_client() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    set_limits(
        &app,
        &portal,
        json!({"max_subscriptions": 1, "max_replay_events": 1, "test_pings_per_minute": 2}),
    )
    .await;
    let body = json!({"url": receiver.url("/hook"), "event_types": ["*"]});
    let sub = app.subscribe_ok(&portal.token, &body).await;
    app.subscribe(&portal.token, &body)
        .await
        .assert_problem(422, "quota_exceeded");

    let publisher = app.publisher(&["AP"]).await;
    for n in 0..2 {
        app.publish_event(&publisher.token, "LotCreated", "AP", json!({ "n": n }))
            .await;
    }
    // Delivered (a delivery under way is not replayed), then replayed: one of the two.
    app.wait_until_all_succeeded(&portal.token, &sub.id, 2)
        .await;
    let replay = app
        .post(&sub.path("/replay"), &portal.token, &json!({}))
        .await;
    replay.assert_status(202);
    assert_eq!(replay.json["count"], 1, "{}", replay.text);
    assert_eq!(replay.json["limit_reached"], true, "{}", replay.text);

    let ping = sub.path("/test");
    for _ in 0..2 {
        app.post(&ping, &portal.token, &json!({}))
            .await
            .assert_status(202);
    }
    app.post(&ping, &portal.token, &json!({}))
        .await
        .assert_problem(429, "rate_limited");

    // Another client has the stack's quotas.
    let other = app.portal(&["AP"]).await;
    app.subscribe_ok(&other.token, &body).await;
    app.subscribe_ok(&other.token, &body).await;
}

#[tokio::test]
async fn a_subscription_with_a_rate_limit_is_sent_to_no_faster_and_loses_no_attempt() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    app.subscribe(
        &portal.token,
        &json!({"url": receiver.url("/hook"), "event_types": ["*"], "rate_limit": 0}),
    )
    .await
    .assert_problem(400, "invalid_request");
    let sub = app
        .subscribe_at(
            &portal.token,
            &receiver.url("/hook"),
            json!({"rate_limit": 2}),
        )
        .await;
    assert_eq!(sub.json["rate_limit"], 2);
    let batch: Vec<Value> = (0..6)
        .map(|n| event("LotCreated", "AP", json!({ "n": n })))
        .collect();
    let publisher = app.publisher(&["AP"]).await;
    app.publish(&publisher.token, &json!({ "events": batch }))
        .await
        .assert_status(202);

    let got = receiver.wait_for(6, Duration::from_secs(30)).await;
    let mut at: Vec<_> = got.iter().map(|r| r.at).collect();
    at.sort();
    // Six requests at two per second: five intervals of 500 ms at the least (less a margin
    // for the receiver's clock of arrival).
    let span = at[5] - at[0];
    assert!(span >= Duration::from_millis(2_000), "sent within {span:?}");
    app.wait_until_all_succeeded(&portal.token, &sub.id, 6)
        .await;
    for d in app
        .deliveries(&portal.token, &format!("subscription_id={}", sub.id))
        .await
    {
        let full = app
            .get(
                &format!("/v1/deliveries/{}", d["id"].as_str().unwrap()),
                &portal.token,
            )
            .await;
        assert_eq!(
            full.json["attempts"].as_array().map(Vec::len),
            Some(1),
            "waiting for its moment costs no attempt: {}",
            full.text
        );
    }
    assert_eq!(receiver.count(), 6, "each event once");
}
