//! The deliver worker and a pull subscription: an attempt appends the delivery to the
//! subscription's log instead of sending it, and a message handled again — its outcome's
//! write having failed after the append — appends nothing twice.

mod support;

use std::time::Duration;

use hookline_domain::delivery::OUTCOME_NOT_RECORDED;
use hookline_domain::subscription::{DEFAULT_MAX_ATTEMPTS, DeliveryMode};
use hookline_domain::{DeliveryId, DeliveryStatus, Subscription};
use hookline_handlers::delivery::pull::STORED_FOR_PULL;
use hookline_ports::faults::{Fault, Faults};
use hookline_ports::{QueueName, ReceivedMessage};
use time::OffsetDateTime;

use support::hub::*;

/// A new client's subscription, made a pull subscription.
async fn pull_subscription(hub: &Hub) -> Subscription {
    let mut sub = hub.subscribe("", DEFAULT_MAX_ATTEMPTS).await;
    sub.mode = DeliveryMode::Pull;
    assert!(hub.store.update_subscription(&sub).await.expect("update"));
    sub
}

/// A delivery to a new pull subscription, queued by id, and its message, received.
async fn queued_pull_delivery(hub: &Hub) -> (Subscription, DeliveryId, Vec<ReceivedMessage>) {
    let sub = pull_subscription(hub).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    (sub, id, batch)
}

async fn log_positions(hub: &Hub, sub: &Subscription) -> Vec<u64> {
    hub.store
        .list_pull_messages(&sub.id, 0, 100, OffsetDateTime::now_utc())
        .await
        .expect("list")
        .iter()
        .map(|m| m.position)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_attempt_appends_once_even_when_its_outcome_is_written_only_the_second_time() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (sub, id, batch) = queued_pull_delivery(&hub).await;

    // Appended, and the outcome's write fails: the message is kept.
    faults.inject("update_delivery", Fault::Fail, 0, 1);
    let response = hub.deliver(&batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "the message is kept");
    assert_eq!(log_positions(&hub, &sub).await, [1]);
    let stored = hub.delivery(&id).await;
    assert_eq!(
        stored.attempts[0].error.as_deref(),
        Some(OUTCOME_NOT_RECORDED)
    );

    // It comes back after the claim's lease: the same cycle appends nothing more.
    hub.clock.advance(Duration::from_secs(60));
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(log_positions(&hub, &sub).await, [1], "appended once");
    let d = hub.delivery(&id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    let last = &d.attempts[1];
    assert_eq!(
        (
            last.status_code,
            last.error.as_deref(),
            last.response_excerpt.as_str()
        ),
        (None, None, STORED_FOR_PULL)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_attempt_whose_append_fails_is_retried_on_the_schedule() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (sub, id, batch) = queued_pull_delivery(&hub).await;

    faults.inject("append_pull_message", Fault::Fail, 0, 1);
    let response = hub.deliver(&batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "retried");
    let d = hub.delivery(&id).await;
    assert_eq!(d.status, DeliveryStatus::Retrying);
    assert!(
        d.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not stored for pull delivery")),
        "{d:?}"
    );
    assert_eq!(log_positions(&hub, &sub).await, Vec::<u64>::new());

    hub.clock.advance(Duration::from_secs(60));
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(log_positions(&hub, &sub).await, [1]);
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Succeeded);
}

/// A long poll does not hold a runner's shutdown: once the process stops waiting (the runner
/// calls `Core::stop_waiting` on SIGTERM), a poll that is waiting answers with no messages, and
/// so does every poll after it. (The bounds are far from each other, not a timing: a poll
/// that kept waiting would take its whole 20 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_with_none_once_the_process_stops_waiting() {
    let hub = hub().await;
    let portal = hub.portal("", DEFAULT_MAX_ATTEMPTS).await;
    let mut sub = portal.sub.clone();
    sub.mode = DeliveryMode::Pull;
    assert!(hub.store.update_subscription(&sub).await.expect("update"));
    let path = format!("/v1/subscriptions/{}/messages?wait=20", sub.id);
    let poll = || portal.send(reqwest::Method::GET, &path, serde_json::Value::Null);

    let mut waiting = Box::pin(poll());
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut waiting)
            .await
            .is_err(),
        "with no message, the poll waits"
    );
    hub.ctx.api.stop_waiting();
    let (status, page) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting poll answers once the process stops waiting");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"], serde_json::json!([]));

    let (status, page) = tokio::time::timeout(Duration::from_secs(10), poll())
        .await
        .expect("a poll after the stop does not wait");
    assert_eq!((status, page["data"].clone()), (200, serde_json::json!([])));
}
