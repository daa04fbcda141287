//! Dead endpoints, as a portal sees them: a subscription whose every attempt fails for the
//! stack's disable period is disabled with reason `failing`, the portal hears of it through
//! a `hookline.subscription.disabled` event on its other subscription, and after fixing its
//! endpoint it re-enables the subscription and replays what it missed. The `hookline.`
//! event types are the system's own: nobody can publish or define one.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, Reply, TestApp, event};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_failing_endpoint_is_disabled_its_owner_told_and_a_replay_recovers_what_it_missed() {
    // A second failed attempt after the first one disables (a disable period of zero).
    let app = TestApp::builder()
        .retry_schedule("100ms")
        .env("HOOKLINE_DISABLE_AFTER_SECS", "0")
        .spawn()
        .await;
    let endpoint = Receiver::answering(Reply::status(500)).await;
    let notices = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &portal.token,
            &endpoint.url("/hook"),
            json!({"max_attempts": 3}),
        )
        .await;
    let told = app
        .subscribe_at(
            &portal.token,
            &notices.url("/hook"),
            json!({"event_types": ["hookline.subscription.disabled"]}),
        )
        .await;
    let path = sub.path("");
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);

    let first = app
        .publish_event(&publisher.token, "LotCreated", "AP", json!({"n": 1}))
        .await;
    let disabled = crate::support::eventually(WAIT, "the subscription to be disabled", || async {
        let s = app.get(&path, &portal.token).await;
        (s.json["enabled"] == false).then_some(s.json)
    })
    .await;
    assert_eq!(disabled["disabled_reason"], "failing");
    assert!(disabled["failing_since"].is_string(), "{disabled}");
    assert!(disabled["disabled_at"].is_string(), "{disabled}");

    let notice = notices.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        notice.required_header("hookline-event-type"),
        "hookline.subscription.disabled"
    );
    assert_eq!(notice.required_header("hookline-subscription-id"), told.id);
    let body = notice.json();
    assert_eq!(body["type"], "hookline.subscription.disabled");
    assert_eq!(body["data"]["subscription_id"], sub.id.as_str());
    assert_eq!(body["data"]["reason"], "failing");
    assert_eq!(body["data"]["url"], endpoint.url("/hook").as_str());
    assert_eq!(body["data"]["failing_since"], disabled["failing_since"]);
    // The notice is its owner's alone, even for a client that reads every state's events.
    let notice_path = format!("/v1/events/{}", notice.webhook_id());
    app.get(&notice_path, &portal.token)
        .await
        .assert_status(200);
    let reader = app.client(&["events:read"], &["*"]).await;
    app.get(&notice_path, &reader.token)
        .await
        .assert_problem(404, "not_found");

    // Missed while disabled.
    let second = app
        .publish_event(&publisher.token, "LotCreated", "AP", json!({"n": 2}))
        .await;
    let attempts_while_failing = endpoint.count();
    endpoint.set_default(Reply::ok());
    let enabled = app
        .patch(&path, &portal.token, &json!({"enabled": true}))
        .await;
    enabled.assert_status(200);
    assert_eq!(enabled.json["enabled"], true);
    for field in ["disabled_reason", "disabled_at", "failing_since"] {
        assert_eq!(enabled.json[field], Value::Null, "{field}");
    }

    let replay = app
        .post(
            &format!("{path}/replay"),
            &portal.token,
            &json!({"since": crate::support::rfc3339(before)}),
        )
        .await;
    replay.assert_status(202);
    let recovered = endpoint
        .wait_until("both events again", WAIT, |log| {
            let ids: Vec<&str> = log[attempts_while_failing..]
                .iter()
                .map(|r| r.webhook_id())
                .collect();
            ids.contains(&first.as_str()) && ids.contains(&second.as_str())
        })
        .await;
    // The notice about its own disabling is an event of its owner's too, and the
    // subscription names every type: it is among what it missed.
    for r in &recovered[attempts_while_failing..] {
        let t = r.event_type();
        assert!(
            t == "LotCreated" || t == "hookline.subscription.disabled",
            "a replay of this subscription delivered a {t}"
        );
    }
}

#[tokio::test]
async fn hookline_event_types_can_be_neither_published_nor_defined() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["AP"]).await;
    app.publish(
        &publisher.token,
        &event("hookline.subscription.disabled", "AP", json!({})),
    )
    .await
    .assert_problem(400, "unknown_event_type");
    let admin = app.admin_token().await;
    app.put(
        "/v1/event-types/hookline.mine",
        &admin,
        &json!({"description": "not allowed"}),
    )
    .await
    .assert_problem(400, "invalid_request");
}
