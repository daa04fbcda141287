//! A hub's queues driven the way Lambda's SQS event source mapping drives them: receive a
//! batch, run a handler on it, delete what it does not report as failed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use hookline_domain::Event;
use hookline_domain::{DeliveryId, EventId};
use hookline_handlers::delivery::handle_deliveries;
use hookline_handlers::fanout::handle_events;
use hookline_handlers::messages::{DeliveryMessage, EventMessage, to_body};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{QueueMessage, QueueName, ReceivedMessage};

use super::{HELD, Hub, PATIENCE};

impl Hub {
    /// Receives exactly `n` messages of `queue` (waiting for them), and checks that no more
    /// are visible.
    pub async fn receive_exactly(&self, queue: QueueName, n: usize) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + PATIENCE;
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < deadline {
            let wait = Duration::from_millis(500);
            got.extend(
                self.queue
                    .receive(queue, 10, wait, HELD)
                    .await
                    .expect("receive"),
            );
        }
        let more = self.queue.receive(queue, 10, Duration::ZERO, HELD).await;
        got.extend(more.expect("receive"));
        let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(got.len(), n, "{}: {bodies:?}", queue.as_str());
        got
    }

    /// Receives whatever is visible once at least `n` messages have arrived.
    pub async fn receive_at_least(&self, queue: QueueName, n: usize) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + PATIENCE;
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < deadline {
            got.extend(
                self.queue
                    .receive(queue, 10, Duration::from_millis(500), HELD)
                    .await
                    .expect("receive"),
            );
        }
        got.extend(
            self.queue
                .receive(queue, 10, Duration::ZERO, HELD)
                .await
                .expect("receive"),
        );
        assert!(got.len() >= n, "{}: {} messages", queue.as_str(), got.len());
        got
    }

    /// Deletes the messages the response does not report, as the event source mapping does.
    pub async fn acknowledge(
        &self,
        queue: QueueName,
        batch: &[ReceivedMessage],
        response: &SqsBatchResponse,
    ) {
        let failed = failed_ids(response);
        let done = batch
            .iter()
            .filter(|m| !failed.contains(&m.message_id))
            .map(|m| m.receipt_handle.clone())
            .collect();
        self.queue.delete(queue, done).await.expect("delete");
    }

    /// Delivers `batch`, checks that the handler is done with all of it (it reported no
    /// failure), and deletes it, as the event source mapping does.
    pub async fn deliver_done(&self, batch: &[ReceivedMessage]) {
        let response = self.deliver(batch).await;
        assert!(failed_ids(&response).is_empty(), "{response:?}");
        self.acknowledge(QueueName::Deliveries, batch, &response)
            .await;
    }

    /// Fans `event` out through the events queue; returns the delivery messages it queued.
    pub async fn fan_out_event(&self, event: &Event, deliveries: usize) -> Vec<ReceivedMessage> {
        self.queue
            .send(QueueName::Events, vec![event_message(&event.id)])
            .await
            .expect("send");
        let batch = self.receive_exactly(QueueName::Events, 1).await;
        let response = self.fan_out(&batch).await;
        assert!(failed_ids(&response).is_empty(), "{response:?}");
        self.acknowledge(QueueName::Events, &batch, &response).await;
        self.receive_exactly(QueueName::Deliveries, deliveries)
            .await
    }

    pub async fn fan_out(&self, batch: &[ReceivedMessage]) -> SqsBatchResponse {
        handle_events(
            self.ctx.worker.clone(),
            to_sqs_event(QueueName::Events, batch),
        )
        .await
    }

    pub async fn deliver(&self, batch: &[ReceivedMessage]) -> SqsBatchResponse {
        handle_deliveries(
            self.deliver.clone(),
            to_sqs_event(QueueName::Deliveries, batch),
        )
        .await
    }

    pub async fn depth(&self, queue: QueueName) -> u64 {
        self.queue.depth(queue).await.expect("depth")
    }
}

pub fn failed_ids(response: &SqsBatchResponse) -> BTreeSet<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

pub fn event_message(event_id: &EventId) -> QueueMessage {
    QueueMessage::now(to_body(&EventMessage {
        event_id: event_id.clone(),
        after: None,
    }))
}

pub fn delivery_id_of(message: &ReceivedMessage) -> DeliveryId {
    let msg: DeliveryMessage =
        serde_json::from_str(&message.body).expect("a delivery message body");
    msg.delivery_id
}
