//! Every workflow that writes a delivery and queues its message, stopped between the two (the
//! store or the queue failing at that point, as a crash or an outage would): no delivery is
//! left pending or retrying without a message that will move it, and none is sent twice.
//! Also: a message that its queue could not keep waiting goes out again as a fresh one, and a
//! dead-lettered delivery moved back to its queue is retried.

mod support;

use axum::http::StatusCode;
use std::time::Duration;

use hookline_domain::delivery::OUTCOME_NOT_RECORDED;
use hookline_domain::subscription::DEFAULT_MAX_ATTEMPTS;
use hookline_domain::{DeliveryId, DeliveryStatus};
use hookline_handlers::messages::DeliveryMessage;
use hookline_ports::QueueName;
use hookline_ports::faults::{Fault, Faults};
use serde_json::json;

use support::hub::*;

/// Delivers every message of the deliveries queue once (acknowledging what the handler did
/// not report), until it has handled `n`.
async fn deliver_all(hub: &Hub, n: usize) {
    let batch = hub.receive_exactly(QueueName::Deliveries, n).await;
    let response = hub.deliver(&batch).await;
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_that_stored_its_deliveries_but_could_not_queue_them_queues_each_once_on_retry() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receivers = [
        Receiver::start(StatusCode::OK).await,
        Receiver::start(StatusCode::OK).await,
        Receiver::start(StatusCode::OK).await,
    ];
    for r in &receivers {
        hub.subscribe(&r.url, DEFAULT_MAX_ATTEMPTS).await;
    }
    let event = hub.publish().await;
    hub.queue
        .send(QueueName::Events, vec![event_message(&event.id)])
        .await
        .expect("send");
    let batch = hub.receive_exactly(QueueName::Events, 1).await;

    // The step of all the batch's events, then the event alone: both stored, neither queued.
    faults.fail_next("send:deliveries", 2);
    let response = hub.fan_out(&batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "the event is retried");
    assert_eq!(hub.deliveries_of(&event).await.len(), 3, "stored");
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0, "not queued");

    // The event's message comes back: the same deliveries are found, and queued now.
    let response = hub.fan_out(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Events, &batch, &response).await;
    assert_eq!(hub.deliveries_of(&event).await.len(), 3);
    deliver_all(&hub, 3).await;
    for r in &receivers {
        assert_eq!(r.count(), 1, "each subscription got the event once");
    }
    for d in hub.deliveries_of(&event).await {
        assert_eq!(d.status, DeliveryStatus::Succeeded);
    }
}

/// A delivery that failed for good (its receiver answered 500 to its only attempt) and whose
/// receiver now answers 200; its dead-lettered message is left in the DLQ.
async fn failed_delivery(hub: &Hub) -> (Portal, Receiver, DeliveryId) {
    let receiver = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let portal = hub.portal(&receiver.url, 1).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &portal.sub, |_| {}).await;
    deliver_all(hub, 1).await;
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Failed);
    receiver.answer(StatusCode::OK);
    (portal, receiver, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_whose_record_write_fails_after_its_message_is_queued_still_retries() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (portal, receiver, id) = failed_delivery(&hub).await;

    faults.fail_next("update_delivery", 1);
    let (status, body) = portal
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(faults.pending("update_delivery"), 0, "the write was tried");
    let stored = hub.delivery(&id).await;
    assert_eq!(stored.status, DeliveryStatus::Failed, "the write failed");
    assert_eq!(stored.cycle_start, 0);

    // The queued message begins the cycle itself.
    deliver_all(&hub, 1).await;
    let d = hub.delivery(&id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.cycle_start, 1);
    assert_eq!(d.attempt_count(), 2);
    assert_eq!(receiver.count(), 2);
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_whose_message_cannot_be_queued_changes_nothing_and_can_be_repeated() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let (portal, receiver, id) = failed_delivery(&hub).await;

    faults.fail_next("send:deliveries", 1);
    let (status, body) = portal
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 503, "{body}");
    let stored = hub.delivery(&id).await;
    assert_eq!(stored.status, DeliveryStatus::Failed, "nothing changed");
    assert_eq!(stored.cycle_start, 0);
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);

    let (status, body) = portal
        .post(&format!("/v1/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Pending);
    deliver_all(&hub, 1).await;
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Succeeded);
    assert_eq!(receiver.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_whose_record_writes_fail_after_its_messages_are_queued_still_delivers() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let portal = hub.portal(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    // Two events the subscription never had a delivery for, and one it failed.
    let (fresh, other) = (hub.publish().await, hub.publish().await);
    let failed = hub
        .queue_delivery(&hub.publish().await, &portal.sub, |d| {
            d.status = DeliveryStatus::Failed;
            d.next_attempt_at = None;
        })
        .await;
    let planted = hub.receive_exactly(QueueName::Deliveries, 1).await;
    hub.queue
        .delete(
            QueueName::Deliveries,
            vec![planted[0].receipt_handle.clone()],
        )
        .await
        .expect("delete");

    faults.fail_next("insert_delivery", 2);
    faults.fail_next("update_delivery", 1);
    let (status, body) = portal
        .post(
            &format!("/v1/subscriptions/{}/replay", portal.sub.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["count"], 3);
    assert!(hub.deliveries_of(&fresh).await.is_empty(), "not written");
    assert!(hub.deliveries_of(&other).await.is_empty(), "not written");
    assert_eq!(hub.delivery(&failed).await.status, DeliveryStatus::Failed);

    // Each of the replay's messages writes what the API could not.
    deliver_all(&hub, 3).await;
    assert_eq!(receiver.count(), 3);
    for event in [&fresh, &other] {
        let ds = hub.deliveries_of(event).await;
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].status, DeliveryStatus::Succeeded);
    }
    assert_eq!(
        hub.delivery(&failed).await.status,
        DeliveryStatus::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_whose_messages_cannot_be_queued_writes_nothing() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let portal = hub.portal(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;

    faults.fail_next("send:deliveries", 1);
    let path = format!("/v1/subscriptions/{}/replay", portal.sub.id);
    let (status, body) = portal.post(&path, json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert!(hub.deliveries_of(&event).await.is_empty());
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);

    let (status, body) = portal.post(&path, json!({})).await;
    assert_eq!((status, body["count"].as_u64()), (202, Some(1)), "{body}");
    deliver_all(&hub, 1).await;
    assert_eq!(receiver.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_ping_whose_record_write_fails_after_its_message_is_queued_is_still_sent() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let portal = hub.portal(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;

    faults.fail_next("insert_delivery", 1);
    let path = format!("/v1/subscriptions/{}/test", portal.sub.id);
    let (status, body) = portal.post(&path, json!({})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["delivery_id"]
        .as_str()
        .and_then(DeliveryId::parse)
        .expect("delivery_id");
    assert!(hub.store.get_delivery(&id).await.expect("get").is_none());

    deliver_all(&hub, 1).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lettered_delivery_moved_back_to_its_queue_is_retried_once() {
    let hub = hub().await;
    let (_portal, receiver, id) = failed_delivery(&hub).await;
    let dead = hub.receive_exactly(QueueName::DeliveriesDlq, 1).await;
    let msg: DeliveryMessage = serde_json::from_str(&dead[0].body).expect("a message");
    assert_eq!(msg.new_cycle, Some(1), "it asks for the next cycle");

    // A redrive: what SQS's move task (or `hookline-local dlq redrive`) does.
    for _ in 0..2 {
        // Twice, as a redrive repeated by mistake would: the second finds the cycle begun.
        hub.queue
            .send(
                QueueName::Deliveries,
                vec![hookline_ports::QueueMessage::now(dead[0].body.clone())],
            )
            .await
            .expect("send");
    }
    let batch = hub.receive_exactly(QueueName::Deliveries, 2).await;
    for one in batch.chunks(1) {
        let response = hub.deliver(one).await;
        assert!(failed_ids(&response).is_empty(), "{response:?}");
        hub.acknowledge(QueueName::Deliveries, one, &response).await;
    }
    let d = hub.delivery(&id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.attempt_count(), 2);
    assert_eq!(receiver.count(), 2, "one new attempt, not two");
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_near_its_last_receive_waits_as_a_fresh_message_instead() {
    // Two receives of room besides the reserve: the second failure's wait cannot be carried.
    let hub = hub_with(|c| {
        c.delivery_queue.max_receives = 2 + hookline_domain::retry::RESERVED_RECEIVES;
    })
    .await;
    let receiver = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;

    let first = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&first).await;
    assert_eq!(failed_ids(&response).len(), 1, "hidden for the retry");
    let again = hub.receive_at_least(QueueName::Deliveries, 1).await;
    assert_eq!(again[0].message_id, first[0].message_id);
    assert_eq!(again[0].receive_count, 2);

    let response = hub.deliver(&again).await;
    assert!(
        failed_ids(&response).is_empty(),
        "done with: it went out again"
    );
    hub.acknowledge(QueueName::Deliveries, &again, &response)
        .await;
    let fresh = hub.receive_at_least(QueueName::Deliveries, 1).await;
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0].message_id, first[0].message_id, "a new message");
    assert_eq!(fresh[0].receive_count, 1);
    assert_eq!(delivery_id_of(&fresh[0]), id);
    assert_eq!(hub.delivery(&id).await.attempt_count(), 2);
    assert_eq!(receiver.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_whose_outcome_cannot_be_recorded_is_made_again_with_the_reason_on_record() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;

    // The claim is written (`claim_delivery`), the request sent, and the outcome's write
    // fails.
    faults.inject("update_delivery", Fault::Fail, 0, 1);
    let response = hub.deliver(&batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "the message is kept");
    assert_eq!(receiver.count(), 1);
    let stored = hub.delivery(&id).await;
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.attempts.len(), 1, "{stored:?}");
    assert_eq!(
        stored.attempts[0].error.as_deref(),
        Some(OUTCOME_NOT_RECORDED)
    );

    // The message comes back once the claim's lease has run out: sent again, with the reason.
    hub.clock.advance(Duration::from_secs(60));
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(receiver.count(), 2);
    let d = hub.delivery(&id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.attempt_count(), 2);
    assert_eq!(d.attempts[0].error.as_deref(), Some(OUTCOME_NOT_RECORDED));
    assert_eq!(
        (d.attempts[1].attempt, d.attempts[1].status_code),
        (2, Some(200))
    );
}
