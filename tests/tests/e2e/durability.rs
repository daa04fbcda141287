//! A restart, graceful or `kill -9`, loses nothing: clients, subscriptions, events,
//! idempotency keys and, above all, deliveries still owed.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{PORTAL_SCOPES, Receiver, Reply, TestApp, TestClient, event, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// A fresh token for a client after a restart (the secret is what survives).
async fn fresh(app: &TestApp, client: &TestClient, scopes: &[&str]) -> TestClient {
    TestClient {
        token: app
            .token(&client.id, &client.secret, Some(&scopes.join(" ")))
            .await,
        ..client.clone()
    }
}

/// Waits until every delivery of `sub_id` has been tried at least once (and so is being
/// retried, the receiver being down); returns them.
async fn all_tried(app: &TestApp, token: &str, sub_id: &str, n: usize) -> Vec<Value> {
    eventually(
        WAIT,
        &format!("{n} deliveries tried at least once"),
        || async {
            let list = app
                .deliveries(token, &format!("subscription_id={sub_id}"))
                .await;
            let tried = list
                .iter()
                .filter(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
                .count();
            (list.len() == n && tried == n).then_some(list)
        },
    )
    .await
}

/// Waits until the receiver got every one of `ids` at least once; names the missing ones
/// if some never come.
async fn all_arrived(receiver: &Receiver, ids: &[String]) {
    let want: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let seen = |got: &[crate::support::Recorded]| -> HashSet<String> {
        got.iter()
            .filter_map(|r| r.header("webhook-id"))
            .map(str::to_string)
            .collect()
    };
    if let Err(got) = receiver
        .try_wait_until(WAIT, |got| {
            let seen = seen(got);
            want.iter().all(|id| seen.contains(*id))
        })
        .await
    {
        let seen = seen(&got);
        let missing: Vec<&&str> = want.iter().filter(|id| !seen.contains(**id)).collect();
        panic!(
            "{} of {} acknowledged events never arrived within {WAIT:?}: {missing:?}",
            missing.len(),
            want.len()
        );
    }
}

#[tokio::test]
async fn clients_subscriptions_events_and_deliveries_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;
    let id = s.publish(&app, "LotCreated", json!({"lotNo": "L-1"})).await;
    receiver.wait_for(1, WAIT).await;
    let dlv = app.delivery_of(&s.subscriber.token, &s.sub.id, &id).await;
    let dlv_id = dlv["id"].as_str().expect("an id").to_string();
    app.wait_for_delivery_status(&s.subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;

    app.restart().await;

    app.admin_token().await;
    let subscriber = fresh(&app, &s.subscriber, &PORTAL_SCOPES).await;
    let publisher = fresh(&app, &s.publisher, &["events:write"]).await;
    let read = app.get(&s.sub.path(""), &subscriber.token).await;
    read.assert_status(200);
    assert_eq!(read.json["url"], receiver.url("/hook"));
    let secret = app.get(&s.sub.path("/secret"), &subscriber.token).await;
    assert_eq!(
        secret.json["secret"],
        s.sub.secret.as_str(),
        "the signing secret is kept"
    );
    let ev = app.get(&format!("/v1/events/{id}"), &publisher.token).await;
    ev.assert_status(200);
    assert_eq!(ev.json["data"], json!({"lotNo": "L-1"}));
    let d = app
        .get(&format!("/v1/deliveries/{dlv_id}"), &subscriber.token)
        .await;
    d.assert_status(200);
    assert_eq!(d.json["status"], "succeeded");

    let next = app
        .publish_event(&publisher.token, "LotCreated", "AP", json!({}))
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].webhook_id(), next);
    got[1].assert_signed_by(&s.sub.secret);
    receiver.assert_no_more_requests(2).await;
}

#[tokio::test]
async fn idempotency_keys_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    app.subscribe_at(&subscriber.token, &receiver.url("/hook"), json!({}))
        .await;
    let body = json!({"type": "LotDispatched", "state": "AP", "id": "dispatch-L-1", "data": {"lotNo": "L-1"}});
    let first = app.publish_ok(&publisher.token, &body).await;
    receiver.wait_for(1, WAIT).await;

    app.restart().await;

    let publisher = fresh(&app, &publisher, &["events:write"]).await;
    let again = app.publish(&publisher.token, &body).await;
    again.assert_status(200);
    assert_eq!(again.json["id"], first.as_str());
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn deliveries_being_retried_survive_a_graceful_restart() {
    let mut app = TestApp::builder().retry_schedule("300ms").spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({"max_attempts": 50})).await;
    let before = s.publish(&app, "LotCreated", json!({"n": "before"})).await;
    assert_eq!(receiver.wait_for(1, WAIT).await[0].webhook_id(), before);
    // The receiver goes down: from now on connections are refused.
    let addr = receiver.stop().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(s.publish(&app, "LotCreated", json!({"n": n})).await);
    }
    eventually(WAIT, "the 3 new deliveries to be failing", || async {
        let list = app
            .deliveries(
                &s.subscriber.token,
                &format!("subscription_id={}", s.sub.id),
            )
            .await;
        let failing = list
            .iter()
            .filter(|d| d["event_id"] != before.as_str())
            .filter(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
            .count();
        (failing == 3).then_some(())
    })
    .await;

    app.stop().await;
    let receiver = Receiver::start_at(addr, Reply::ok()).await;
    app.start_again().await;

    all_arrived(&receiver, &ids).await;
    for req in receiver.requests() {
        req.assert_signed_by(&s.sub.secret);
        assert_ne!(
            req.webhook_id(),
            before,
            "what was delivered is not sent again"
        );
    }
    let subscriber = fresh(&app, &s.subscriber, &PORTAL_SCOPES).await;
    eventually(
        WAIT,
        "every delivery to be recorded as succeeded",
        || async {
            let list = app
                .deliveries(
                    &subscriber.token,
                    &format!("subscription_id={}&status=succeeded", s.sub.id),
                )
                .await;
            (list.len() == 4).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn kill_9_while_deliveries_are_retrying_loses_none_of_them() {
    let mut app = TestApp::builder()
        .retry_schedule("300ms")
        .visibility_timeout_secs(3)
        .spawn()
        .await;
    let addr = Receiver::reserve_addr();
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &subscriber.token,
            &format!("http://{addr}/hook"),
            json!({"max_attempts": 50}),
        )
        .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            app.publish_event(&publisher.token, "LotCreated", "AP", json!({"n": n}))
                .await,
        );
    }
    all_tried(&app, &subscriber.token, &sub.id, 5).await;

    app.kill9();
    let receiver = Receiver::start_at(addr, Reply::ok()).await;
    app.start_again().await;

    all_arrived(&receiver, &ids).await;
    for req in receiver.requests() {
        req.assert_signed_by(&sub.secret);
        assert!(
            ids.iter().any(|id| id == req.webhook_id()),
            "only the published events arrive"
        );
    }
}

#[tokio::test]
async fn kill_9_right_after_acceptance_loses_nothing() {
    let mut app = TestApp::builder()
        .retry_schedule("300ms")
        .visibility_timeout_secs(3)
        .spawn()
        .await;
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    app.subscribe_at(
        &subscriber.token,
        &receiver.url("/hook"),
        json!({"max_attempts": 50}),
    )
    .await;
    let batch: Vec<Value> = (0..20)
        .map(|n| event("LotCreated", "AP", json!({"n": n})))
        .collect();
    let resp = app
        .publish(&publisher.token, &json!({"events": batch}))
        .await;
    resp.assert_status(202);
    let mut ids: Vec<String> = resp
        .data()
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_string())
        .collect();
    for n in 20..25 {
        ids.push(
            app.publish_event(&publisher.token, "LotCreated", "AP", json!({"n": n}))
                .await,
        );
    }

    app.kill9();
    app.start_again().await;

    all_arrived(&receiver, &ids).await;
}
