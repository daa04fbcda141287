//! No secret ever reaches the runner's output: client secrets, webhook secrets, bearer
//! tokens, Basic credentials and outbound credentials. (Every test's app is scanned on drop;
//! these tests drive every path that handles a secret, with debug logging on.)

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::secrets::random_string;
use crate::support::{Receiver, Reply, TestApp};

const WAIT: Duration = Duration::from_secs(20);

/// Exercises every secret-handling path: tokens three ways, a refused secret, client secret
/// rotation, subscription secrets read and rotated, signed deliveries with a retry, a ping.
async fn full_flow(app: &TestApp) {
    let admin = app.admin_token().await;
    let receiver = Receiver::scripted(vec![Reply::status(500)], Reply::ok()).await;
    let (id, secret) = app
        .create_client(
            "AP portal",
            &["events:write", "subscriptions:write", "subscriptions:read"],
            &["AP"],
        )
        .await;

    let basic = app.token(&id, &secret, None).await;
    let post = app
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    post.assert_status(200);
    let json_body = app
        .send(
            app.request(Method::POST, "/oauth/token")
                .header("content-type", "application/json")
                .body(json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).to_string()),
        )
        .await;
    json_body.assert_status(200);
    let wrong = format!("{}-wrong", random_string(32));
    app.remember_secret("refused client secret", &wrong);
    app.token_request(&[("grant_type", "client_credentials")], Some((&id, &wrong)))
        .await
        .assert_status(401);
    app.token_request(
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &wrong),
        ],
        None,
    )
    .await
    .assert_status(401);
    let forged = format!("{basic}x");
    app.remember_secret("forged bearer token", &forged);
    app.get("/v1/subscriptions", &forged)
        .await
        .assert_status(401);

    let sub = app
        .subscribe_at(&basic, &receiver.url("/hook"), json!({"max_attempts": 5}))
        .await;
    app.get(&sub.path("/secret"), &basic)
        .await
        .assert_status(200);
    let new_secret = app.rotate_secret(&basic, &sub).await;

    let publisher = app.publisher(&["AP"]).await;
    let evt = app
        .publish_event(
            &publisher.token,
            "LotDispatched",
            "AP",
            json!({"lotNo": "L-1"}),
        )
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    got[1].assert_signed_by(&new_secret);
    app.post(&sub.path("/test"), &basic, &json!({}))
        .await
        .assert_status(202);
    receiver.wait_for(3, WAIT).await;

    let dlv = app.delivery_of(&basic, &sub.id, &evt).await;
    let dlv_id = dlv["id"].as_str().expect("an id").to_string();
    let record = app
        .wait_for_delivery_status(&basic, &dlv_id, "succeeded", WAIT)
        .await
        .to_string();
    for s in [&sub.secret, &new_secret, &secret, &basic] {
        assert!(
            !record.contains(s.as_str()),
            "a delivery record holds no secret"
        );
    }

    app.delete(&sub.path(""), &basic).await.assert_status(204);
    let rotated_client = app
        .post(&format!("/v1/clients/{id}/secret"), &admin, &json!({}))
        .await;
    rotated_client.assert_status(200);
    let new_client_secret = rotated_client.json["client_secret"]
        .as_str()
        .expect("a secret");
    app.token(&id, new_client_secret, None).await;
}

/// Runs the full flow on a runner logging in `format`, stops it, and scans everything it wrote.
async fn full_flow_leaves_no_secret_in_logs(format: &str) {
    let mut app = TestApp::builder()
        .log_format(format)
        .retry_schedule("100ms")
        .spawn()
        .await;

    full_flow(&app).await;
    app.stop().await;

    assert!(
        app.output()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            >= 10,
        "the runner logs at debug level, so the scan means something"
    );
    app.assert_logs_clean();
}

#[tokio::test]
async fn no_secret_reaches_json_logs_after_a_full_flow() {
    full_flow_leaves_no_secret_in_logs("json").await;
}

#[tokio::test]
async fn no_secret_reaches_text_logs_after_a_full_flow() {
    full_flow_leaves_no_secret_in_logs("text").await;
}

#[tokio::test]
async fn json_log_format_writes_one_json_object_per_line() {
    let mut app = TestApp::builder().log_format("json").spawn().await;
    let portal = app.portal(&["AP"]).await;
    app.get("/v1/subscriptions", &portal.token)
        .await
        .assert_status(200);
    app.stop().await;

    let output = app.output();
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the runner logs something");
    for line in lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            parsed.as_ref().is_ok_and(Value::is_object),
            "every log line is a JSON object: {line}"
        );
    }
}

#[tokio::test]
async fn outbound_credentials_in_subscription_headers_never_reach_the_logs() {
    let mut app = TestApp::builder().retry_schedule("100ms").spawn().await;
    let receiver = Receiver::scripted(vec![Reply::status(503)], Reply::ok()).await;
    let portal = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    let api_key = random_string(32);
    let bearer = random_string(40);
    app.remember_secret("outbound API key", &api_key);
    app.remember_secret("outbound bearer credential", &bearer);
    let sub = app
        .subscribe_at(
            &portal.token,
            &receiver.url("/hook"),
            json!({"max_attempts": 5,
                    "auth": {"type": "api_key", "header": "X-Api-Key", "value": api_key}}),
        )
        .await;
    app.patch(
        &sub.path(""),
        &portal.token,
        &json!({"description": "patched"}),
    )
    .await
    .assert_status(200);
    let bearer_receiver = Receiver::start().await;
    app.subscribe_at(
        &portal.token,
        &bearer_receiver.url("/hook"),
        json!({"auth": {"type": "bearer", "token": bearer}}),
    )
    .await;

    app.publish_event(&publisher.token, "LotCreated", "AP", json!({}))
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].header("x-api-key"), Some(api_key.as_str()));
    let got = bearer_receiver.wait_for(1, WAIT).await;
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {bearer}").as_str())
    );
    app.stop().await;

    app.assert_logs_clean();
}
