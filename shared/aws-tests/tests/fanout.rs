//! Large fan-out on DynamoDB and SQS (moto): events that each match thousands of
//! subscriptions, fanned out by invocations with a short time budget, so that every event
//! continues across several of them. Every delivery is stored and queued exactly once.
//!
//! "Queued" is what SQS accepted: every `SendMessageBatch` to the deliveries queue that
//! succeeded is recorded on its way out. The queue itself is emptied as it fills, as the
//! deliver function would empty it: moto counts a queue's messages on every send, and with
//! 20,000 waiting it would take an hour (a real SQS queue does not care).

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookline_domain::secret::new_webhook_secret;
use hookline_domain::subscription::new_subscription;
use hookline_domain::{ClientId, DeliveryId, EventId, StatePattern, SubscriptionId};
use hookline_handlers::fanout::handle_events_until;
use hookline_handlers::messages::{DeliveryMessage, EventMessage, to_body};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{
    DeliveryKey, PortError, Queue, QueueConsumer, QueueMessage, QueueName, QueueSender,
    ReceivedMessage,
};
use support::stack_on_moto::StackOnMoto;
use time::OffsetDateTime;

const SUBSCRIPTIONS: usize = 2_000;
const EVENTS: usize = 10;

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_events_matching_two_thousand_subscriptions_queue_each_delivery_exactly_once() {
    let sent = Sent::default();
    let recorder = sent.clone();
    let stack = StackOnMoto::start_with(
        |_| {},
        move |queue| {
            Arc::new(Recording {
                queue,
                sent: recorder,
            })
        },
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let subs: Vec<_> = (0..SUBSCRIPTIONS)
        .map(|i| {
            let mut sub = new_subscription(
                SubscriptionId::from_stored(format!("sub_{i:05}")),
                ClientId::from_stored(format!("cl_{:03}", i % 100)),
                new_webhook_secret(),
                now,
            );
            sub.url = "https://receiver.example/hook".into();
            sub.event_types = vec!["LotDispatched".into()];
            sub.states = vec![StatePattern::from_stored("AP")];
            sub
        })
        .collect();
    // Imported in batches: one insert at a time (each a transaction with the generation
    // counter) takes minutes on moto, which copies the table for every transaction.
    let t0 = Instant::now();
    stack
        .dynamo
        .import_subscriptions(&subs)
        .await
        .expect("subscriptions");
    eprintln!("imported in {:?}", t0.elapsed());
    let mut events = Vec::new();
    for i in 0..EVENTS {
        let event = support::lot_dispatched(
            EventId::new(now_ms() + i as i128),
            serde_json::json!({ "lot": i }),
            now,
        );
        stack.store.insert_event(&event, None).await.expect("event");
        events.push(event);
    }
    let messages = events
        .iter()
        .map(|e| {
            QueueMessage::now(to_body(&EventMessage {
                event_id: e.id.clone(),
                after: None,
            }))
        })
        .collect();
    stack
        .queue
        .send(QueueName::Events, messages)
        .await
        .expect("send the events");

    let purger = tokio::spawn(purge_continually(
        stack.sqs.clone(),
        stack.urls.url(QueueName::Deliveries).to_string(),
    ));
    // Invocations with about two seconds of work each, as the event source mapping would run
    // them: until the events queue is empty.
    let budget = Duration::from_secs(10);
    let mut invocations = 0;
    let mut continued = 0;
    loop {
        let batch = stack
            .queue
            .receive(
                QueueName::Events,
                10,
                Duration::from_secs(1),
                Duration::from_secs(120),
            )
            .await
            .expect("receive events");
        if batch.is_empty() {
            break;
        }
        continued += batch
            .iter()
            .filter(|m| m.body.contains("\"after\""))
            .count();
        invocations += 1;
        assert!(invocations < 200, "the fan-out makes no progress");
        let step = Instant::now();
        let response = handle_events_until(
            stack.ctx.worker.clone(),
            to_sqs_event(QueueName::Events, &batch),
            Some(Instant::now() + budget),
        )
        .await;
        eprintln!(
            "invocation {invocations} ({} messages): {:?}",
            batch.len(),
            step.elapsed()
        );
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        let handles = batch.into_iter().map(|m| m.receipt_handle).collect();
        stack
            .queue
            .delete(QueueName::Events, handles)
            .await
            .expect("delete");
    }
    assert!(continued > 0, "some events continued in another invocation");
    purger.abort();
    let queued = sent.0.lock().expect("sent").clone();

    let twice: Vec<_> = queued.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "queued more than once: {:?}",
        &twice[..twice.len().min(5)]
    );
    assert_eq!(queued.len(), EVENTS * SUBSCRIPTIONS);
    for event in &events {
        for sub in [&subs[0], &subs[SUBSCRIPTIONS - 1]] {
            assert!(queued.contains_key(&DeliveryId::for_event(&event.id, &sub.id)));
        }
    }
    // Stored, each once (moto answers a query by walking the table: two events suffice).
    for event in &events[..2] {
        let mut stored = 0;
        let mut cursor = None;
        loop {
            let page = stack
                .store
                .list_deliveries(
                    &DeliveryKey::Event(event.id.clone()),
                    &Default::default(),
                    cursor.as_deref(),
                    100,
                )
                .await
                .expect("list");
            stored += page.items.len();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(stored, SUBSCRIPTIONS, "{} stored", event.id);
    }
    eprintln!("{invocations} invocations, {continued} continuations");
}

/// Empties the queue every 100 ms, as a deliver function keeping up with it would.
async fn purge_continually(sqs: aws_sdk_sqs::Client, url: String) {
    loop {
        sqs.purge_queue()
            .queue_url(&url)
            .send()
            .await
            .expect("purge the deliveries queue");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How often each delivery's message was accepted by SQS.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<BTreeMap<DeliveryId, u32>>>);

/// The queue port, recording each delivery message that SQS accepted.
struct Recording {
    queue: Arc<dyn Queue>,
    sent: Sent,
}

#[async_trait::async_trait]
impl QueueSender for Recording {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        let ids: Vec<DeliveryId> = messages
            .iter()
            .filter(|_| queue == QueueName::Deliveries)
            .map(|m| {
                let msg: DeliveryMessage =
                    serde_json::from_str(&m.body).expect("a delivery message");
                msg.delivery_id
            })
            .collect();
        self.queue.send(queue, messages).await?;
        let mut sent = self.sent.0.lock().expect("sent");
        for id in ids {
            *sent.entry(id).or_default() += 1;
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.queue
            .change_visibility(queue, handle, visibility)
            .await
    }
}

#[async_trait::async_trait]
impl QueueConsumer for Recording {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        self.queue.receive(queue, max, wait, visibility).await
    }

    async fn delete(&self, queue: QueueName, handles: Vec<String>) -> Result<(), PortError> {
        self.queue.delete(queue, handles).await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        self.queue.depth(queue).await
    }
}
