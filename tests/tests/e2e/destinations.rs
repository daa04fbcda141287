//! The SSRF guard as a deployment sees it: private, loopback, link-local and metadata
//! destinations and plain http are refused at registration when the deployment forbids them,
//! and a delivery is blocked at send time even for a subscription registered while they were
//! allowed.

use std::time::Duration;

use serde_json::json;

use crate::support::{Receiver, TestApp};

const WAIT: Duration = Duration::from_secs(15);

async fn strict_app() -> TestApp {
    TestApp::builder()
        .env("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "false")
        .env("HOOKLINE_ALLOW_HTTP", "false")
        .spawn()
        .await
}

#[tokio::test]
async fn private_loopback_metadata_and_plain_http_urls_are_refused_when_forbidden() {
    let app = strict_app().await;
    let portal = app.portal(&["AP"]).await;
    for url in [
        "http://portal.example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://localhost/hook",
        "https://hooks.localhost/hook",
    ] {
        app.subscribe(
            &portal.token,
            &json!({"url": url, "event_types": ["LotDispatched"]}),
        )
        .await
        .assert_problem(400, "invalid_destination");
    }
}

#[tokio::test]
async fn changing_a_subscription_url_to_a_private_address_is_refused() {
    let app = strict_app().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &portal.token,
            "https://8.8.8.8/hook",
            json!({"event_types": ["LotDispatched"]}),
        )
        .await;

    app.patch(
        &sub.path(""),
        &portal.token,
        &json!({"url": "https://172.16.0.9/hook"}),
    )
    .await
    .assert_problem(400, "invalid_destination");

    let after = app.get(&sub.path(""), &portal.token).await;
    assert_eq!(after.json["url"], "https://8.8.8.8/hook", "nothing changed");
}

#[tokio::test]
async fn delivery_to_a_private_address_is_blocked_at_send_time() {
    // Registered while the deployment allowed private destinations…
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app
        .subscribed(
            &receiver,
            json!({"event_types": ["LotDispatched"], "max_attempts": 2}),
        )
        .await;

    // …then the deployment forbids them: the stored subscription must not reach loopback.
    app.stop().await;
    app.set_env("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "false");
    app.start_again().await;
    let portal_token = app
        .token(&s.subscriber.id, &s.subscriber.secret, None)
        .await;
    let publisher_token = app.token(&s.publisher.id, &s.publisher.secret, None).await;
    let evt = app
        .publish_event(
            &publisher_token,
            "LotDispatched",
            "AP",
            json!({"lotNo": "L-1"}),
        )
        .await;

    let dlv = app.delivery_of(&portal_token, &s.sub.id, &evt).await;
    let id = dlv["id"].as_str().expect("delivery id").to_string();
    let failed = app
        .wait_for_delivery_status(&portal_token, &id, "failed", WAIT)
        .await;
    let attempts = failed["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{failed}");
    for a in attempts {
        assert!(a["status_code"].is_null(), "{a}");
        assert!(
            a["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("blocked destination")),
            "{a}"
        );
    }
    assert_eq!(
        receiver.count(),
        0,
        "the loopback receiver was never contacted"
    );
}
