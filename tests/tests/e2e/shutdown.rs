//! Graceful shutdown: SIGTERM stops taking work, lets in-flight deliveries finish, and exits
//! 0; what was in flight is recorded, not lost or sent twice.

use std::time::Duration;

use serde_json::json;

use crate::support::{Receiver, Reply, TestApp};

#[tokio::test]
async fn sigterm_lets_an_in_flight_delivery_finish_and_records_it() {
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::answering(Reply::status(204).delay(Duration::from_millis(1500))).await;
    let s = app
        .subscribed(&receiver, json!({"event_types": ["LotDispatched"]}))
        .await;
    let evt = s
        .publish(&app, "LotDispatched", json!({"lotNo": "L-9"}))
        .await;
    // The request has arrived and the receiver is still holding it: the delivery is in flight.
    receiver.wait_for(1, Duration::from_secs(15)).await;

    let status = app.stop().await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    app.start_again().await;
    let token = app
        .token(&s.subscriber.id, &s.subscriber.secret, None)
        .await;
    let dlv = app.delivery_of(&token, &s.sub.id, &evt).await;
    assert_eq!(dlv["status"], "succeeded", "{dlv}");
    assert_eq!(dlv["attempts"].as_array().map(Vec::len), Some(1), "{dlv}");
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn sigterm_answers_a_waiting_long_poll_instead_of_waiting_it_out() {
    let mut app = TestApp::spawn().await;
    let subscriber = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"mode": "pull", "event_types": ["*"]}),
        )
        .await;
    let url = app.url(&sub.path("/messages?wait=20"));
    let poll = tokio::spawn(
        reqwest::Client::new()
            .get(url)
            .bearer_auth(&subscriber.token)
            .send(),
    );
    // The poll has no message to return: it waits (well past this second).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!poll.is_finished(), "the poll waits for a message");

    let stopping = tokio::time::Instant::now();
    let status = app.stop().await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let resp = poll
        .await
        .expect("the poll task")
        .expect("an answer, not a dropped connection");
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.expect("the body");
    let page: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(page["data"], json!([]));
    // Far from the 19 s the poll had left: the shutdown did not wait it out.
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopping.elapsed()
    );
}
