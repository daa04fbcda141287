//! The delivery records: listing them by subscription, event and status with a cursor, and
//! the wall between clients.

use std::time::Duration;

use serde_json::json;

use crate::support::api::urlencode;
use crate::support::{Receiver, TestApp, eventually};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn deliveries_are_listed_by_subscription_event_and_status_with_a_cursor() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed_at(&receiver.url("/a"), json!({})).await;
    let t = &s.subscriber.token;
    let a = &s.sub;
    let b = app.subscribe_at(t, &receiver.url("/b"), json!({})).await;
    let e1 = s.publish(&app, "LotCreated", json!({})).await;
    let e2 = s.publish(&app, "LotCreated", json!({})).await;
    receiver.wait_for(4, WAIT).await;
    eventually(WAIT, "4 succeeded deliveries", || async {
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
    let s = app.subscribed(&receiver, json!({})).await;
    let intruder = app.portal(&["AP"]).await;
    let admin = app.admin_token().await;
    let id = s.publish(&app, "LotCreated", json!({})).await;
    let dlv_id = s.delivery_id(&app, &id).await;

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
