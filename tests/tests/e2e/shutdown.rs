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
