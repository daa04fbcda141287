//! The handlers of one sweep scenario over a [`Backend`], and how it drives them: the
//! publisher's requests, and SQS and Lambda's event source mappings played until the queues
//! are empty.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_domain::destination::DestinationPolicy;
use hookline_domain::{RetrySchedule, ids};
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::delivery::{DeliveryContext, handle_deliveries};
use hookline_handlers::fanout::handle_events;
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::faults::{Faults, FaultyQueue, FaultyStore};
use hookline_ports::{QueueConsumer, QueueName, ShiftedClock};
use serde_json::{Value, json};

use super::{Backend, EVENT_TYPE, PATIENCE, STATE, VISIBILITY, now_ms};
use crate::support::api::serve_api;

/// How many requests a publisher makes before it gives up on an event.
const PUBLISH_TRIES: usize = 5;
/// How far the clock jumps when nothing is visible: past any retry delay or claim lease.
const TICK: Duration = Duration::from_secs(60);

/// The handlers of one scenario: fresh caches, their own faults and clock, the API served.
pub(super) struct Rig<'b> {
    backend: &'b Backend,
    ctx: Contexts,
    deliver: Arc<DeliveryContext>,
    pub(super) faults: Faults,
    clock: Arc<ShiftedClock>,
    base: String,
    /// The publisher's access token.
    token: String,
    http: reqwest::Client,
    /// The queues as the handlers reach them (`ctx.worker.queue` is their sending half).
    queue: Arc<FaultyQueue>,
}

impl Backend {
    /// Handlers for one scenario, the API served, and a token of `publisher`.
    pub(super) async fn rig(&self, publisher: &(String, String)) -> Rig<'_> {
        let faults = Faults::default();
        let clock = Arc::new(ShiftedClock::default());
        let mut config = HandlerConfig::new("http://test", self.name);
        config.destinations = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        config.retry_schedule = RetrySchedule::parse("1s").expect("retry schedule");
        let queue = Arc::new(FaultyQueue::new(self.queue.clone(), faults.clone()));
        let store = Arc::new(FaultyStore::new(self.store.clone(), faults.clone()));
        let core = Core::new(store, clock.clone(), config);
        let ctx = Contexts::new(
            Arc::new(core),
            queue.clone(),
            KeySource::Signing(self.keys.clone()),
        )
        .await
        .expect("handler contexts");
        let (base, token) = serve_api(&ctx, &publisher.0, &publisher.1).await;
        let deliver = DeliveryContext::new(ctx.worker.clone()).expect("delivery context");
        Rig {
            backend: self,
            ctx,
            deliver,
            faults,
            clock,
            base,
            token,
            http: reqwest::Client::new(),
            queue,
        }
    }
}

impl Rig<'_> {
    /// Publishes one event as a publisher does: the same request, with the same
    /// `Idempotency-Key`, until it is acknowledged. The event's id once acknowledged.
    pub(super) async fn publish(&self) -> Option<String> {
        let key = ids::new_id("idem", now_ms());
        let body = json!({"type": EVENT_TYPE, "state": STATE, "data": {"lot": "L-42"}});
        for _ in 0..PUBLISH_TRIES {
            let sent = self
                .http
                .post(format!("{}/v1/events", self.base))
                .bearer_auth(&self.token)
                .header("idempotency-key", &key)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await;
            let Ok(resp) = sent else { continue };
            if !resp.status().is_success() {
                continue;
            }
            let answer: Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
            return answer["id"].as_str().map(str::to_string);
        }
        None
    }

    /// Plays SQS and Lambda's event source mappings until the queues are empty: each visible
    /// batch goes to its handler, and the messages it does not report are deleted. When
    /// nothing is visible, time moves on: the clock jumps past retry delays and leases, and
    /// every message a handler kept (or whose deletion failed) is made visible again.
    pub(super) async fn settle(&self) -> Result<(), String> {
        let (faulty, real) = (&self.queue, &self.backend.queue);
        let deadline = Instant::now() + PATIENCE;
        let mut kept: Vec<(QueueName, String)> = Vec::new();
        while Instant::now() < deadline {
            let mut busy = false;
            for queue in [QueueName::Events, QueueName::Deliveries] {
                let Ok(batch) = faulty.receive(queue, 10, Duration::ZERO, VISIBILITY).await else {
                    busy = true;
                    continue;
                };
                if batch.is_empty() {
                    continue;
                }
                busy = true;
                let event = to_sqs_event(queue, &batch);
                let response = match queue {
                    QueueName::Events => handle_events(self.ctx.worker.clone(), event).await,
                    _ => handle_deliveries(self.deliver.clone(), event).await,
                };
                let failed: Vec<String> = response
                    .batch_item_failures
                    .into_iter()
                    .map(|f| f.item_identifier)
                    .collect();
                let (retry, done): (Vec<_>, Vec<_>) = batch
                    .into_iter()
                    .partition(|m| failed.contains(&m.message_id));
                kept.extend(retry.into_iter().map(|m| (queue, m.receipt_handle)));
                let done: Vec<String> = done.into_iter().map(|m| m.receipt_handle).collect();
                if faulty.delete(queue, done.clone()).await.is_err() {
                    kept.extend(done.into_iter().map(|h| (queue, h)));
                }
            }
            if busy {
                continue;
            }
            let mut depth = 0;
            for queue in [QueueName::Events, QueueName::Deliveries] {
                depth += real.depth(queue).await.map_err(|e| e.to_string())?;
            }
            if depth == 0 {
                return Ok(());
            }
            self.clock.advance(TICK);
            for (queue, handle) in kept.drain(..) {
                // A handle of a message since deleted fails; nothing to bring back then.
                let _ = real.change_visibility(queue, &handle, Duration::ZERO).await;
            }
            // Messages no handle reaches (a receive whose answer was lost) come back when
            // their visibility ends.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the queues did not empty".into())
    }
}
