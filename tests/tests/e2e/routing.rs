//! Which subscriptions an event reaches: states, type selectors, payload filters, the
//! own-events rule, disabled subscriptions, fan-out, and test pings.
//!
//! "Not delivered" is shown by publishing the non-matching events first and a matching one
//! last, waiting for the expected arrivals, then watching the quiet window.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, TestClient};

const WAIT: Duration = Duration::from_secs(15);

/// A routing scenario: a runner, a receiver, a portal for some states subscribed at the
/// receiver's `/hook`, and a publisher allowed every state.
struct Route {
    app: TestApp,
    receiver: Receiver,
    publisher: TestClient,
}

/// A portal for `states` subscribed to every type at a receiver, with `fields` on top.
async fn route(states: &[&str], fields: Value) -> Route {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let subscriber = app.portal(states).await;
    let publisher = app.publisher(&["*"]).await;
    app.subscribe_at(&subscriber.token, &receiver.url("/hook"), fields)
        .await;
    Route {
        app,
        receiver,
        publisher,
    }
}

impl Route {
    /// Publishes one event as a publisher allowed every state; returns its id.
    async fn publish(&self, event_type: &str, state: &str, data: Value) -> String {
        self.app
            .publish_event(&self.publisher.token, event_type, state, data)
            .await
    }
}

fn types(got: &[crate::support::Recorded]) -> Vec<String> {
    let mut t: Vec<String> = got.iter().map(|r| r.event_type()).collect();
    t.sort();
    t
}

#[tokio::test]
async fn subscription_receives_only_events_of_its_states() {
    let r = route(&["AP", "TG"], json!({"states": ["AP"]})).await;

    r.publish("LotCreated", "TG", json!({})).await;
    r.publish("LotCreated", "KA", json!({})).await;
    let ap = r.publish("LotCreated", "AP", json!({})).await;

    let got = r.receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), ap);
    assert_eq!(got[0].required_header("hookline-state"), "AP");
    r.receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn client_allowed_every_state_receives_every_state() {
    let r = route(&["*"], json!({})).await;

    for state in ["AP", "TG", "KA"] {
        r.publish("LotCreated", state, json!({})).await;
    }

    let got = r.receiver.wait_for(3, WAIT).await;
    let mut states: Vec<&str> = got
        .iter()
        .map(|r| r.required_header("hookline-state"))
        .collect();
    states.sort();
    assert_eq!(states, ["AP", "KA", "TG"]);
}

#[tokio::test]
async fn type_prefix_selects_only_the_types_it_names() {
    let r = route(
        &["AP"],
        json!({"event_types": ["LotTest*", "BatchApproved"]}),
    )
    .await;

    for t in [
        "LotDispatched",
        "BatchTestPassed",
        "LotCreated",
        "LotTestPassed",
        "BatchApproved",
        "LotTestFailed",
    ] {
        r.publish(t, "AP", json!({})).await;
    }

    let got = r.receiver.wait_for(3, WAIT).await;
    assert_eq!(
        types(&got),
        ["BatchApproved", "LotTestFailed", "LotTestPassed"]
    );
    r.receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn payload_filter_delivers_only_matching_events() {
    let r = route(
        &["AP"],
        json!({"filter": {"data": {"status": ["dispatched"], "lotNo": [{"prefix": "L-"}]}}}),
    )
    .await;

    r.publish(
        "LotDispatched",
        "AP",
        json!({"status": "received", "lotNo": "L-1"}),
    )
    .await;
    r.publish(
        "LotDispatched",
        "AP",
        json!({"status": "dispatched", "lotNo": "X-1"}),
    )
    .await;
    r.publish("LotDispatched", "AP", json!({"lotNo": "L-2"}))
        .await;
    let hit = r
        .publish(
            "LotDispatched",
            "AP",
            json!({"status": "dispatched", "lotNo": "L-3"}),
        )
        .await;

    let got = r.receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), hit);
    r.receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn or_filter_matches_when_any_branch_matches() {
    let r = route(
        &["AP"],
        json!({"filter": {"type": ["LotDispatched"],
                           "$or": [{"data": {"qty": [{"numeric": [">", 100]}]}},
                                   {"data": {"status": ["dispatched"]}}]}}),
    )
    .await;

    r.publish("LotDispatched", "AP", json!({"qty": 1, "status": "x"}))
        .await;
    r.publish(
        "LotReceived",
        "AP",
        json!({"qty": 500, "status": "dispatched"}),
    )
    .await;
    let by_status = r
        .publish(
            "LotDispatched",
            "AP",
            json!({"qty": 1, "status": "dispatched"}),
        )
        .await;
    let by_qty = r
        .publish("LotDispatched", "AP", json!({"qty": 500, "status": "x"}))
        .await;

    let got = r.receiver.wait_for(2, WAIT).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.webhook_id()).collect();
    ids.sort();
    let mut expected = [by_status.as_str(), by_qty.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    r.receiver.assert_no_more_requests(2).await;
}

#[tokio::test]
async fn filter_can_match_envelope_fields_with_anything_but_and_exists() {
    let r = route(&["*"], json!({"filter": {"state": [{"anything-but": ["TG"]}], "data": {"manufacturer": [{"exists": true}]}}})).await;

    r.publish("BatchCreated", "TG", json!({"manufacturer": "M-1"}))
        .await;
    r.publish("BatchCreated", "AP", json!({"batchNo": "B-1"}))
        .await;
    let hit = r
        .publish("BatchCreated", "KA", json!({"manufacturer": "M-2"}))
        .await;

    let got = r.receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), hit);
    r.receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn client_does_not_receive_the_events_it_published_itself() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    let other = app.publisher(&["*"]).await;
    app.subscribe_at(&portal.token, &receiver.url("/hook"), json!({}))
        .await;

    app.publish_event(&portal.token, "LotReceived", "AP", json!({"mine": true}))
        .await;
    let theirs = app
        .publish_event(&other.token, "LotReceived", "AP", json!({"mine": false}))
        .await;

    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), theirs);
    assert_eq!(got[0].json()["source"], other.id.as_str());
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn include_own_events_delivers_the_clients_own_events() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &portal.token,
            &receiver.url("/hook"),
            json!({"include_own_events": true}),
        )
        .await;
    assert_eq!(sub.json["include_own_events"], true);

    let mine = app
        .publish_event(&portal.token, "LotReceived", "AP", json!({}))
        .await;

    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].webhook_id(), mine);
    assert_eq!(got[0].json()["source"], portal.id.as_str());
}

#[tokio::test]
async fn disabled_subscription_receives_nothing() {
    let app = TestApp::spawn().await;
    let off = Receiver::start().await;
    let on = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let p = app.publisher(&["*"]).await;
    app.subscribe_at(
        &subscriber.token,
        &off.url("/hook"),
        json!({"enabled": false}),
    )
    .await;
    app.subscribe_at(&subscriber.token, &on.url("/hook"), json!({}))
        .await;

    app.publish_event(&p.token, "LotCreated", "AP", json!({}))
        .await;

    on.wait_for(1, WAIT).await;
    off.assert_no_more_requests(0).await;
}

#[tokio::test]
async fn event_fans_out_once_to_each_matching_subscription() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let ap = app.portal(&["AP"]).await;
    let all = app.portal(&["*"]).await;
    let p = app.publisher(&["*"]).await;
    let s1 = app
        .subscribe_at(
            &ap.token,
            &receiver.url("/ap"),
            json!({"event_types": ["LotDispatched"]}),
        )
        .await;
    let s2 = app
        .subscribe_at(
            &all.token,
            &receiver.url("/all"),
            json!({"event_types": ["Lot*"]}),
        )
        .await;
    let s3 = app
        .subscribe_at(&all.token, &receiver.url("/all-2"), json!({}))
        .await;

    let id = app
        .publish_event(&p.token, "LotDispatched", "AP", json!({"lotNo": "L-1"}))
        .await;

    let got = receiver.wait_for(3, WAIT).await;
    receiver.assert_no_more_requests(3).await;
    for (path, sub) in [("/ap", &s1), ("/all", &s2), ("/all-2", &s3)] {
        let req = got
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} got the event: {:#?}", receiver.summary()));
        assert_eq!(req.webhook_id(), id);
        assert_eq!(req.required_header("hookline-subscription-id"), sub.id);
        req.assert_signed_by(&sub.secret);
    }
}

#[tokio::test]
async fn test_ping_reaches_that_subscription_only() {
    let app = TestApp::spawn().await;
    let pinged = Receiver::start().await;
    let other = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(
            &subscriber.token,
            &pinged.url("/hook"),
            json!({"event_types": ["LotDispatched"]}),
        )
        .await;
    app.subscribe_at(&subscriber.token, &other.url("/hook"), json!({}))
        .await;

    let resp = app
        .post(&sub.path("/test"), &subscriber.token, &json!({}))
        .await;

    resp.assert_status(202);
    let dlv_id = resp.json["delivery_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a delivery_id: {}", resp.text))
        .to_string();
    assert!(dlv_id.starts_with("dlv_"));
    let got = pinged.wait_for(1, WAIT).await;
    assert_eq!(got[0].event_type(), "hookline.ping");
    assert_eq!(
        got[0].required_header("hookline-event-type"),
        "hookline.ping"
    );
    assert_eq!(got[0].required_header("hookline-subscription-id"), sub.id);
    got[0].assert_signed_by(&sub.secret);
    app.wait_for_delivery_status(&subscriber.token, &dlv_id, "succeeded", WAIT)
        .await;
    other.assert_no_more_requests(0).await;
    assert_eq!(pinged.count(), 1);
}
