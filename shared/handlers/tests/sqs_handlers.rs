//! The SQS handlers (fan-out and delivery), driven the way Lambda's SQS event source mapping
//! drives them: receive a batch, hand it over as an `SqsEvent`, then delete every message the
//! partial batch response does not name. The backend is the embedded one in a temporary
//! directory; webhook receivers are real HTTP servers on loopback.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hookline_domain::subscription::DEFAULT_MAX_ATTEMPTS;
use hookline_domain::{DeliveryId, DeliveryStatus, EventId, Subscription, SubscriptionId};
use hookline_handlers::messages::{DeliveryMessage, to_body};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{QueueMessage, QueueName, ReceivedMessage};
use time::OffsetDateTime;

use support::hub::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_batch_with_one_poison_message_reports_only_that_item() {
    let hub = hub().await;
    let sub = hub
        .subscribe("http://127.0.0.1:9/hook", DEFAULT_MAX_ATTEMPTS)
        .await;
    let first = hub.publish().await;
    let second = hub.publish().await;
    let unknown = EventId::new(now_ms());
    let malformed = QueueMessage::now("{\"event_id\": ".into());
    let messages = vec![
        event_message(&first.id),
        malformed.clone(),
        event_message(&unknown),
        event_message(&second.id),
    ];
    hub.queue
        .send(QueueName::Events, messages)
        .await
        .expect("send");

    let batch = hub.receive_exactly(QueueName::Events, 4).await;
    let poison: BTreeSet<String> = batch
        .iter()
        .filter(|m| m.body == malformed.body || m.body.contains(unknown.as_str()))
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(poison.len(), 2);
    let response = hub.fan_out(&batch).await;
    assert_eq!(failed_ids(&response), poison);
    hub.acknowledge(QueueName::Events, &batch, &response).await;
    assert_eq!(
        hub.depth(QueueName::Events).await,
        2,
        "only the poison messages stay, for redelivery and then the dead-letter queue"
    );

    let mut expected = BTreeSet::new();
    for event in [&first, &second] {
        let deliveries = hub.deliveries_of(event).await;
        assert_eq!(deliveries.len(), 1, "deliveries of {}", event.id);
        assert_eq!(deliveries[0].id, DeliveryId::for_event(&event.id, &sub.id));
        assert_eq!(deliveries[0].status, DeliveryStatus::Pending);
        expected.insert(deliveries[0].id.clone());
    }
    let queued = hub.receive_exactly(QueueName::Deliveries, 2).await;
    let queued: BTreeSet<DeliveryId> = queued.iter().map(delivery_id_of).collect();
    assert_eq!(queued, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_twice_for_the_same_event_sends_one_delivery_once() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;

    // The same event message handled twice (SQS redelivery, a re-run after a crash).
    for run in 1..=2 {
        hub.queue
            .send(QueueName::Events, vec![event_message(&event.id)])
            .await
            .expect("send");
        let batch = hub.receive_exactly(QueueName::Events, 1).await;
        let response = hub.fan_out(&batch).await;
        assert!(failed_ids(&response).is_empty(), "run {run}: {response:?}");
        hub.acknowledge(QueueName::Events, &batch, &response).await;
    }

    let deliveries = hub.deliveries_of(&event).await;
    assert_eq!(
        deliveries.len(),
        1,
        "one delivery record per (event, subscription)"
    );
    assert_eq!(deliveries[0].id, DeliveryId::for_event(&event.id, &sub.id));

    // A re-run may queue the delivery again (it cannot tell a crash before queueing from a
    // normal first run); every message for it is handled, concurrently, in one batch.
    let queued = hub.receive_at_least(QueueName::Deliveries, 1).await;
    assert!(queued.iter().all(|m| delivery_id_of(m) == deliveries[0].id));
    let response = hub.deliver(&queued).await;
    hub.acknowledge(QueueName::Deliveries, &queued, &response)
        .await;

    assert_eq!(receiver.count(), 1, "the receiver gets the event once");
    let delivery = hub.delivery(&deliveries[0].id).await;
    assert_eq!(delivery.status, DeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts.len(), 1, "one attempt recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempt_is_reported_and_rescheduled_by_visibility() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;

    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let started = Instant::now();
    let response = hub.deliver(&batch).await;
    let handled = Instant::now();
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([batch[0].message_id.clone()])
    );
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    assert_eq!(receiver.count(), 1);

    let delivery = hub.delivery(&id).await;
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
    assert_eq!(again[0].message_id, batch[0].message_id);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_past_max_attempts_is_dead_lettered_and_acknowledged() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sub = hub.subscribe(&receiver.url, 1).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;

    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);

    let delivery = hub.delivery(&id).await;
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status_code, Some(500));
    assert_eq!(delivery.next_attempt_at, None);
    let dead = hub.receive_exactly(QueueName::DeliveriesDlq, 1).await;
    assert_eq!(delivery_id_of(&dead[0]), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_answered_410_disables_the_subscription_and_dead_letters() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::GONE).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;

    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    assert_eq!(receiver.count(), 1);

    let stored = hub.store.get_subscription(&sub.id).await.expect("get");
    let stored = stored.expect("the subscription is kept");
    assert!(!stored.enabled);
    assert_eq!(
        stored.disabled_reason,
        Some(hookline_domain::DisabledReason::Gone)
    );
    let delivery = hub.delivery(&id).await;
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status_code, Some(410));
    let dead = hub.receive_exactly(QueueName::DeliveriesDlq, 1).await;
    assert_eq!(delivery_id_of(&dead[0]), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_delivery_is_signed_and_recorded() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::NO_CONTENT).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;

    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    assert_eq!(hub.depth(QueueName::Deliveries).await, 0);

    {
        let requests = receiver.requests.lock().expect("request log");
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        let webhook_id = request
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok());
        assert_eq!(webhook_id, Some(event.id.as_str()));
        let secret = sub.current_secret().expect("a signing secret");
        let verifier = standardwebhooks::Webhook::new(secret).expect("secret");
        let verified = verifier.verify(&request.body, &request.headers);
        assert!(verified.is_ok(), "signature rejected: {verified:?}");
        let envelope: serde_json::Value =
            serde_json::from_slice(&request.body).expect("a JSON envelope");
        assert_eq!(envelope["id"], event.id.as_str());
        assert_eq!(envelope["type"], EVENT_TYPE);
    }

    let delivery = hub.delivery(&id).await;
    assert_eq!(delivery.status, DeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.attempts[0].status_code, Some(204));
    assert_eq!(delivery.attempts[0].error, None);
    assert_eq!(delivery.next_attempt_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_finished_delivery_message_is_acknowledged_without_sending() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let id = hub
        .queue_delivery(&event, &sub, |d| {
            d.status = DeliveryStatus::Succeeded;
            d.next_attempt_at = None;
        })
        .await;
    let before = hub.delivery(&id).await;

    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;

    assert_eq!(receiver.count(), 0, "a finished delivery is not sent again");
    assert_eq!(hub.delivery(&id).await, before);
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
    let limit = hub.deliver.config.endpoint_concurrency;
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

/// A repeat of a delivered message (SQS delivers at least once): resends it as it was.
async fn repeat(hub: &Hub, message: &ReceivedMessage) -> Vec<ReceivedMessage> {
    hub.queue
        .send(
            QueueName::Deliveries,
            vec![QueueMessage::now(message.body.clone())],
        )
        .await
        .expect("send");
    hub.receive_exactly(QueueName::Deliveries, 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deliverys_message_carries_it_and_a_repeat_of_it_sends_nothing() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let batch = hub.fan_out_event(&event, 1).await;
    let id = DeliveryId::for_event(&event.id, &sub.id);
    let msg: DeliveryMessage = serde_json::from_str(&batch[0].body).expect("a message body");
    assert_eq!(
        msg.created_delivery().as_ref(),
        Some(&hub.delivery(&id).await),
        "the message carries the delivery exactly as stored"
    );

    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    assert_eq!(receiver.count(), 1);
    let delivered = hub.delivery(&id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);

    // Its copy is stale now: the claim over version 0 fails, the stored delivery is read,
    // and the message is acknowledged without a second request.
    let again = repeat(&hub, &batch[0]).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(receiver.count(), 1, "a finished delivery is not sent again");
    assert_eq!(hub.delivery(&id).await, delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deliverys_message_waits_while_another_worker_holds_the_delivery() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let batch = hub.fan_out_event(&event, 1).await;
    let id = DeliveryId::for_event(&event.id, &sub.id);
    // Another worker (a repeat of this message, a manual retry) claimed it first.
    let mut held = hub.delivery(&id).await;
    held.next_attempt_at = Some(OffsetDateTime::now_utc() + Duration::from_secs(60));
    assert!(hub.store.update_delivery(&held).await.expect("claim"));
    let held = hub.delivery(&id).await;

    let response = hub.deliver(&batch).await;
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([batch[0].message_id.clone()]),
        "left in the queue for when the claim ends"
    );
    assert_eq!(
        receiver.count(),
        0,
        "never sent beside the worker holding it"
    );
    assert_eq!(hub.delivery(&id).await, held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_message_of_a_finished_delivery_whose_subscription_went_is_acknowledged() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let batch = hub.fan_out_event(&event, 1).await;
    let response = hub.deliver(&batch).await;
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
    let id = DeliveryId::for_event(&event.id, &sub.id);
    let delivered = hub.delivery(&id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    hub.store
        .delete_subscription(&sub.id)
        .await
        .expect("delete subscription");

    // Ending a delivery is decided on the stored copy, which is finished: nothing changes,
    // and the message does not come back forever.
    let again = repeat(&hub, &batch[0]).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(hub.delivery(&id).await, delivered);
    assert_eq!(receiver.count(), 1);
}

/// One delivery fanned out by a hub that is the sole process over its store, to a receiver
/// answering 200, and not attempted yet.
struct OneDelivery {
    hub: Hub,
    receiver: Receiver,
    sub: Subscription,
    id: DeliveryId,
    /// Its creation message.
    batch: Vec<ReceivedMessage>,
}

async fn one_delivery_in_a_sole_process() -> OneDelivery {
    let hub = hub_with(|c| c.sole_process = true).await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let event = hub.publish().await;
    let batch = hub.fan_out_event(&event, 1).await;
    let id = DeliveryId::for_event(&event.id, &sub.id);
    OneDelivery {
        hub,
        receiver,
        sub,
        id,
        batch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_sole_process_a_fresh_deliverys_first_attempt_skips_the_claim_and_runs_once() {
    let OneDelivery {
        hub,
        receiver,
        id,
        batch,
        ..
    } = one_delivery_in_a_sole_process().await;
    assert_eq!(hub.deliver.first_attempts.len(), 1, "fan-out remembered it");

    // The creation message and a repeat of it, attempted side by side.
    let twin = repeat(&hub, &batch[0]).await;
    let both = [batch[0].clone(), twin[0].clone()];
    let response = hub.deliver(&both).await;
    assert_eq!(receiver.count(), 1, "sent once, whichever came first");
    let delivered = hub.delivery(&id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    assert_eq!(
        delivered.version, 1,
        "one write, the outcome: the first attempt claimed nothing"
    );
    assert!(hub.deliver.first_attempts.is_empty(), "and it is forgotten");

    // A message left waiting (it found the attempt under way) now finds the delivery done.
    let waiting: Vec<ReceivedMessage> = both
        .iter()
        .filter(|m| failed_ids(&response).contains(&m.message_id))
        .cloned()
        .collect();
    assert!(waiting.len() <= 1, "{response:?}");
    if !waiting.is_empty() {
        let again = hub.receive_at_least(QueueName::Deliveries, 1).await;
        let response = hub.deliver(&again).await;
        assert!(failed_ids(&response).is_empty(), "{response:?}");
    }
    assert_eq!(receiver.count(), 1, "a finished delivery is not sent again");
    assert_eq!(hub.delivery(&id).await, delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_sole_process_a_delivery_another_message_reached_first_is_claimed_as_elsewhere() {
    let OneDelivery {
        hub,
        receiver,
        id,
        batch,
        ..
    } = one_delivery_in_a_sole_process().await;

    // A message naming the delivery (as a fan-out re-run queues) is attempted first: it
    // claims, so the creation message, which comes later, finds the claim and sends nothing.
    hub.queue
        .send(
            QueueName::Deliveries,
            vec![QueueMessage::now(to_body(&DeliveryMessage::id(&id)))],
        )
        .await
        .expect("send");
    let by_id = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&by_id).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(receiver.count(), 1);
    assert_eq!(hub.delivery(&id).await.version, 2, "claimed, then recorded");

    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(receiver.count(), 1, "the creation message sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_sole_process_a_delivery_that_ends_unattempted_is_forgotten() {
    let OneDelivery {
        hub,
        receiver,
        sub,
        batch,
        ..
    } = one_delivery_in_a_sole_process().await;
    assert_eq!(hub.deliver.first_attempts.len(), 1);
    hub.store
        .delete_subscription(&sub.id)
        .await
        .expect("delete subscription");

    // The subscription went while the delivery waited: it is abandoned, never sent.
    let response = hub.deliver(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(receiver.count(), 0);
    assert!(
        hub.deliver.first_attempts.is_empty(),
        "nothing is left remembered for it"
    );
}
