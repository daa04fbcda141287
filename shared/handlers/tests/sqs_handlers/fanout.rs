//! Fan-out batches: a poison message fails alone, and a re-run sends nothing twice.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use hookline_domain::subscription::DEFAULT_MAX_ATTEMPTS;
use hookline_domain::{DeliveryId, DeliveryStatus, EventId};
use hookline_ports::{QueueMessage, QueueName};

use crate::support::hub::*;

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
