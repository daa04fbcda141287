//! Delivery attempts and what follows them: success (signed, recorded), retries by
//! visibility, dead letters, gone endpoints, busy and failing endpoints, unknown deliveries.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hookline_domain::subscription::DEFAULT_MAX_ATTEMPTS;
use hookline_domain::{Delivery, DeliveryId, DeliveryStatus, EventId, SubscriptionId};
use hookline_handlers::messages::{DeliveryMessage, to_body};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{QueueMessage, QueueName};

use crate::support::hub::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempt_is_reported_and_rescheduled_by_visibility() {
    let hub = hub().await;
    let one = hub
        .queued_delivery(
            StatusCode::INTERNAL_SERVER_ERROR,
            DEFAULT_MAX_ATTEMPTS,
            |_| {},
        )
        .await;
    let started = Instant::now();
    let response = hub.deliver(&one.batch).await;
    let handled = Instant::now();
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([one.batch[0].message_id.clone()])
    );
    hub.acknowledge(QueueName::Deliveries, &one.batch, &response)
        .await;
    assert_eq!(one.receiver.count(), 1);

    let delivery = hub.delivery(&one.id).await;
    assert_eq!(delivery.status, DeliveryStatus::Retrying);
    assert_eq!(delivery.attempts.len(), 1);
    let attempt = &delivery.attempts[0];
    assert_eq!(attempt.attempt, 1);
    assert_eq!(attempt.status_code, Some(500));
    assert_eq!(attempt.error.as_deref(), Some("HTTP 500"));
    let next = delivery
        .next_attempt_at
        .expect("the next attempt is scheduled");
    let delay = next - delivery.updated_at;
    assert!(
        delay >= time::Duration::milliseconds(800) && delay <= time::Duration::milliseconds(1200),
        "retry delay {delay}"
    );

    let now = hub
        .queue
        .receive(QueueName::Deliveries, 10, Duration::ZERO, HELD);
    assert!(
        now.await.expect("receive").is_empty(),
        "hidden until the retry"
    );
    // Waits for the retry delay to pass: the receive returns as soon as the message shows.
    let again = hub
        .queue
        .receive(QueueName::Deliveries, 10, Duration::from_secs(5), HELD)
        .await
        .expect("receive");
    let back = Instant::now();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, one.batch[0].message_id);
    assert_eq!(again[0].receive_count, 2);
    let record = &to_sqs_event(QueueName::Deliveries, &again).records[0];
    assert_eq!(
        record
            .attributes
            .get("ApproximateReceiveCount")
            .map(String::as_str),
        Some("2")
    );
    let (earliest, latest) = (back - started, back - handled);
    assert!(
        earliest >= Duration::from_millis(800),
        "back after {earliest:?}"
    );
    assert!(latest <= Duration::from_secs(5), "back after {latest:?}");
}

/// Delivers `one`, checking that it was sent once, failed on its one attempt answered
/// `status`, and was dead-lettered; the delivery as stored.
async fn failed_once_and_dead_lettered(hub: &Hub, one: &OneDelivery, status: u16) -> Delivery {
    hub.deliver_done(&one.batch).await;
    assert_eq!(one.receiver.count(), 1);
    let delivery = hub.delivery(&one.id).await;
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status_code, Some(status));
    let dead = hub.receive_exactly(QueueName::DeliveriesDlq, 1).await;
    assert_eq!(delivery_id_of(&dead[0]), one.id);
    delivery
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_past_max_attempts_is_dead_lettered_and_acknowledged() {
    let hub = hub().await;
    let one = hub
        .queued_delivery(StatusCode::INTERNAL_SERVER_ERROR, 1, |_| {})
        .await;

    let delivery = failed_once_and_dead_lettered(&hub, &one, 500).await;
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);
    assert_eq!(delivery.next_attempt_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_answered_410_disables_the_subscription_and_dead_letters() {
    let hub = hub().await;
    let one = hub
        .queued_delivery(StatusCode::GONE, DEFAULT_MAX_ATTEMPTS, |_| {})
        .await;

    failed_once_and_dead_lettered(&hub, &one, 410).await;
    let stored = hub.store.get_subscription(&one.sub.id).await.expect("get");
    let stored = stored.expect("the subscription is kept");
    assert!(!stored.enabled);
    assert_eq!(
        stored.disabled_reason,
        Some(hookline_domain::DisabledReason::Gone)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_delivery_is_signed_and_recorded() {
    let hub = hub().await;
    let one = hub
        .queued_delivery(StatusCode::NO_CONTENT, DEFAULT_MAX_ATTEMPTS, |_| {})
        .await;

    hub.deliver_done(&one.batch).await;
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);

    {
        let requests = one.receiver.requests.lock().expect("request log");
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        let webhook_id = request
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok());
        assert_eq!(webhook_id, Some(one.event.id.as_str()));
        let secret = one.sub.current_secret().expect("a signing secret");
        let verifier = standardwebhooks::Webhook::new(secret).expect("secret");
        let verified = verifier.verify(&request.body, &request.headers);
        assert!(verified.is_ok(), "signature rejected: {verified:?}");
        let envelope: serde_json::Value =
            serde_json::from_slice(&request.body).expect("a JSON envelope");
        assert_eq!(envelope["id"], one.event.id.as_str());
        assert_eq!(envelope["type"], EVENT_TYPE);
    }

    let delivery = hub.delivery(&one.id).await;
    assert_eq!(delivery.status, DeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status_code, Some(204));
    assert_eq!(delivery.attempts[0].error, None);
    assert_eq!(delivery.next_attempt_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_finished_delivery_message_is_acknowledged_without_sending() {
    let hub = hub().await;
    let one = hub
        .queued_delivery(StatusCode::OK, DEFAULT_MAX_ATTEMPTS, |d| {
            d.status = DeliveryStatus::Succeeded;
            d.next_attempt_at = None;
        })
        .await;
    let before = hub.delivery(&one.id).await;

    hub.deliver_done(&one.batch).await;

    assert_eq!(
        one.receiver.count(),
        0,
        "a finished delivery is not sent again"
    );
    assert_eq!(hub.delivery(&one.id).await, before);
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_past_the_endpoint_limit_waits_briefly_then_fails_unsent_and_is_rescheduled() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::NO_CONTENT).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;
    // Every slot of this endpoint is taken (as by requests hanging until their timeout).
    let limit = hub.ctx.worker.config.endpoint_concurrency;
    let held: Vec<_> = (0..limit)
        .map(|_| {
            hub.deliver
                .in_flight
                .try_take(&sub.id, limit)
                .expect("a free slot")
        })
        .collect();

    // The first receives wait a moment for a slot, without using an attempt.
    for receive in 1..4 {
        let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
        assert_eq!(batch[0].receive_count, receive);
        let response = hub.deliver(&batch).await;
        assert_eq!(failed_ids(&response).len(), 1, "left in the queue");
        assert!(
            hub.delivery(&id).await.attempts.is_empty(),
            "no attempt used"
        );
    }
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([batch[0].message_id.clone()]),
        "left for the retry"
    );
    assert_eq!(receiver.count(), 0, "nothing was sent");
    let delivery = hub.delivery(&id).await;
    assert_eq!(delivery.status, DeliveryStatus::Retrying);
    assert_eq!(delivery.attempts.len(), 1);
    let error = delivery.attempts[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("not sent"), "{error}");
    assert!(delivery.next_attempt_at.is_some(), "the retry is scheduled");

    // Once the endpoint's requests finish, the retry goes out.
    drop(held);
    let again = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(receiver.count(), 1);
    assert_eq!(hub.delivery(&id).await.status, DeliveryStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_keeps_failing_gets_no_more_requests_while_its_breaker_is_open() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::SERVICE_UNAVAILABLE).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let trip = hookline_handlers::delivery::in_flight::TRIP;
    for _ in 0..trip {
        let event = hub.publish().await;
        hub.queue_delivery(&event, &sub, |_| {}).await;
        let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
        hub.deliver(&batch).await;
    }
    assert_eq!(receiver.count(), trip as usize, "each was attempted");

    // The next one is held back without using an attempt.
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "left in the queue");
    assert_eq!(receiver.count(), trip as usize, "nothing more was sent");
    assert!(
        hub.delivery(&id).await.attempts.is_empty(),
        "no attempt used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_for_a_delivery_not_found_is_retried_then_dead_lettered_never_dropped() {
    // (A message that carries its new delivery whole writes the record instead: see
    // crash_points.rs.)
    let missing = DeliveryId::for_event(&EventId::new(now_ms()), &SubscriptionId::new(now_ms()));
    let body = to_body(&DeliveryMessage::id(&missing));
    message_not_found_is_retried_then_dead_lettered(&hub().await, body).await;
}

async fn message_not_found_is_retried_then_dead_lettered(hub: &Hub, body: String) {
    hub.queue
        .send(QueueName::Deliveries, vec![QueueMessage::now(body.clone())])
        .await
        .expect("send");
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;

    // Not found yet: the message stays (reported failed), nothing is dead-lettered.
    let response = hub.deliver(&batch).await;
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([batch[0].message_id.clone()])
    );
    assert_eq!(
        hub.queue
            .depth(QueueName::DeliveriesDlq)
            .await
            .expect("depth"),
        0
    );

    // Still not found after several receives: dead-lettered (kept, replayable), not dropped.
    let mut late = batch[0].clone();
    late.receive_count = 5;
    let response = hub.deliver(std::slice::from_ref(&late)).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    let dead = hub.receive_exactly(QueueName::DeliveriesDlq, 1).await;
    assert_eq!(dead[0].body, body);
}
