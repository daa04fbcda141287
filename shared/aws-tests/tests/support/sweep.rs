//! A fault sweep over the whole path of an event, on either backend: ingest (the HTTP API),
//! fan-out and delivery to real receivers on loopback, with the store and the queues behind
//! fault-injecting ports. A clean run lists the fault points the path reaches; then each call
//! of each point fails once, in each way a call can fail, and the system recovers as it
//! would in production: the publisher retries its request (same `Idempotency-Key`) until it
//! is acknowledged, and unacknowledged messages come back, as SQS and Lambda bring them.
//!
//! The checks, for every injected fault: the acknowledged event reaches every subscription;
//! a subscription that got it twice shows a failed attempt on its delivery; nothing is left
//! pending, queued or dead-lettered.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hookline_domain::destination::DestinationPolicy;
use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{
    Client, ClientId, DeliveryStatus, EventId, EventType, RetrySchedule, Scope, StatePattern,
    Subscription, SubscriptionId, ids,
};
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::delivery::{DeliveryContext, handle_deliveries};
use hookline_handlers::fanout::{handle_events, handle_events_for_delivery};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::faults::{Fault, Faults, FaultyQueue, FaultyStore};
use hookline_ports::{
    DeliveryKey, Queue, QueueConsumer, QueueName, ShiftedClock, SigningKeys, Store,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::receiver::Receiver;
use super::stack_on_moto::serve_api;

const STATE: &str = "AP";
const EVENT_TYPE: &str = "LotDispatched";
/// Receivers (one subscription each) per scenario.
const SUBSCRIPTIONS: usize = 3;
/// Requests a publisher makes before it gives up on an event.
const PUBLISH_TRIES: usize = 5;
/// How long a received message stays invisible unless a handler says otherwise: also how long
/// a receive whose answer was lost keeps its messages.
const VISIBILITY: Duration = Duration::from_secs(3);
/// How far the clock jumps when nothing is visible: past any retry delay or claim lease.
const TICK: Duration = Duration::from_secs(60);
/// Longest a scenario may take to settle.
const PATIENCE: Duration = Duration::from_secs(20);

/// One backend's store, queue and key set, which every scenario's handlers reach through
/// fault-injecting ports of their own.
pub struct Backend {
    /// The real store.
    pub store: Arc<dyn Store>,
    /// The real queues.
    pub queue: Arc<dyn Queue>,
    /// The JWT signing keys.
    pub keys: Arc<dyn SigningKeys>,
    /// `embedded` or `aws` (the handlers' backend name).
    pub name: &'static str,
    /// The handlers own their fresh deliveries' first attempts without a claim, as the local
    /// runner does on the embedded backend (`HandlerConfig::sole_process`).
    pub sole_process: bool,
}

/// A fault to inject: fail the call after `skip` calls at `point`, as `fault` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub point: String,
    pub skip: u32,
    pub fault: Fault,
}

/// The handlers of one scenario: fresh caches, their own faults and clock, the API served.
struct Rig<'b> {
    backend: &'b Backend,
    ctx: Contexts,
    deliver: Arc<DeliveryContext>,
    faults: Faults,
    clock: Arc<ShiftedClock>,
    base: String,
    /// The publisher's access token.
    token: String,
    http: reqwest::Client,
    /// The queues as the handlers reach them (`ctx.worker.queue` is their sending half).
    queue: Arc<FaultyQueue>,
}

impl Backend {
    /// A publisher client and the event type every scenario uses.
    pub async fn prepare(&self) -> (String, String) {
        let t = EventType {
            name: EVENT_TYPE.into(),
            description: String::new(),
            schema: None,
        };
        self.store.put_event_type(&t).await.expect("event type");
        let secret = new_client_secret();
        let client = Client {
            id: ClientId::new(now_ms()),
            name: "Publisher".into(),
            scopes: vec![Scope::EventsWrite],
            states: vec![StatePattern::from_stored(STATE)],
            secret_hash: hash_client_secret(&secret),
            created_at: OffsetDateTime::now_utc(),
            disabled: false,
            limits: Default::default(),
        };
        self.store.insert_client(&client).await.expect("client");
        (client.id.into_string(), secret)
    }

    /// Handlers for one scenario, the API served, and a token of `publisher`.
    async fn rig(&self, publisher: &(String, String)) -> Rig<'_> {
        let faults = Faults::default();
        let clock = Arc::new(ShiftedClock::default());
        let mut config = HandlerConfig::new("http://test", self.name);
        config.destinations = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        config.retry_schedule = RetrySchedule::parse("1s").expect("retry schedule");
        config.sole_process = self.sole_process;
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

    /// Runs the path with `injection` (none: a clean run), checks it, and returns what went
    /// wrong (empty if nothing did) and, for a clean run, the fault points reached in order.
    pub async fn scenario(
        &self,
        publisher: &(String, String),
        injection: Option<&Injection>,
    ) -> (Vec<String>, Vec<String>) {
        let rig = self.rig(publisher).await;
        let mut receivers = Vec::new();
        let mut subs = Vec::new();
        for _ in 0..SUBSCRIPTIONS {
            let r = Receiver::start(StatusCode::OK).await;
            subs.push(self.subscribe(&r.url).await);
            receivers.push(r);
        }
        match injection {
            None => rig.faults.record(),
            Some(i) => rig.faults.inject(&i.point, i.fault, i.skip, 1),
        }
        let mut problems = Vec::new();
        let event_id = rig.publish().await;
        if let Err(e) = rig.settle().await {
            problems.push(e);
        }
        let reached = rig.faults.recorded();
        if let Some(i) = injection
            && rig.faults.pending(&i.point) > 0
        {
            problems.push("the fault was never reached".into());
        }
        match event_id {
            Some(id) => problems.extend(self.check(&id, &subs, &receivers).await),
            None => problems.push("the event was never acknowledged".into()),
        }
        for sub in &subs {
            // Out of the next scenario's fan-out.
            self.store
                .delete_subscription(&sub.id)
                .await
                .expect("delete the subscription");
        }
        (problems, reached)
    }

    async fn subscribe(&self, url: &str) -> Subscription {
        let now = OffsetDateTime::now_utc();
        let mut sub = new_subscription(
            SubscriptionId::new(now_ms()),
            ClientId::new(now_ms()),
            new_webhook_secret(),
            now,
        );
        sub.url = url.into();
        sub.event_types = vec![EVENT_TYPE.into()];
        sub.states = vec![StatePattern::from_stored(STATE)];
        sub.timeout_ms = 2_000;
        self.store
            .insert_subscription(&sub)
            .await
            .expect("subscription");
        sub
    }

    /// What went wrong for the event `event_id`.
    async fn check(&self, event_id: &str, subs: &[Subscription], rs: &[Receiver]) -> Vec<String> {
        let mut problems = Vec::new();
        let event_id = EventId::parse(event_id).expect("the API answers with event ids");
        let key = DeliveryKey::Event(event_id);
        let page = self.store.list_deliveries(&key, None, None, 100).await;
        let deliveries: BTreeMap<SubscriptionId, _> = page
            .expect("list deliveries")
            .items
            .into_iter()
            .map(|d| (d.subscription_id.clone(), d))
            .collect();
        for (sub, receiver) in subs.iter().zip(rs) {
            let got = receiver.count();
            let Some(d) = deliveries.get(&sub.id) else {
                problems.push(format!("{}: no delivery recorded (received {got})", sub.id));
                continue;
            };
            if got == 0 {
                problems.push(format!("{}: never delivered ({:?})", sub.id, d.status));
            }
            let failed_attempts = d
                .attempts
                .iter()
                .filter(|a| a.error.is_some() || a.status_code.is_none_or(|s| s >= 300))
                .count();
            if got > 1 && failed_attempts == 0 {
                problems.push(format!(
                    "{}: received {got} times, but its delivery shows no failed attempt ({} attempts)",
                    sub.id,
                    d.attempt_count()
                ));
            }
            if d.status != DeliveryStatus::Succeeded {
                problems.push(format!("{}: left {:?}", sub.id, d.status));
            }
        }
        for queue in [
            QueueName::Events,
            QueueName::Deliveries,
            QueueName::DeliveriesDlq,
        ] {
            let depth = self.queue.depth(queue).await.expect("depth");
            if depth > 0 {
                problems.push(format!("{depth} messages left in {}", queue.as_str()));
                self.purge(queue).await;
            }
        }
        problems
    }

    /// Empties `queue`, so that the next scenario starts clean.
    async fn purge(&self, queue: QueueName) {
        let deadline = Instant::now() + PATIENCE;
        while self.queue.depth(queue).await.is_ok_and(|d| d > 0) && Instant::now() < deadline {
            let wait = Duration::from_millis(200);
            let got = self.queue.receive(queue, 10, wait, VISIBILITY).await;
            let handles = got.unwrap_or_default();
            let handles = handles.into_iter().map(|m| m.receipt_handle).collect();
            let _ = self.queue.delete(queue, handles).await;
        }
    }
}

impl Rig<'_> {
    /// Publishes one event as a publisher does: the same request, with the same
    /// `Idempotency-Key`, until it is acknowledged. The event's id once acknowledged.
    async fn publish(&self) -> Option<String> {
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
    async fn settle(&self) -> Result<(), String> {
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
                    // The local runner fans out in the process that delivers.
                    QueueName::Events if self.backend.sole_process => {
                        handle_events_for_delivery(self.deliver.clone(), event).await
                    }
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

/// Every call of the clean run's `reached` points as an injection of `fault`, in order.
/// Receives fail only where they first occur: later ones are mostly empty polls.
pub fn injections(reached: &[String]) -> Vec<Injection> {
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for point in reached {
        let n = seen.entry(point).or_default();
        if !(point.starts_with("receive:") && *n > 0) {
            for fault in Fault::ALL {
                out.push(Injection {
                    point: point.clone(),
                    skip: *n,
                    fault,
                });
            }
        }
        *n += 1;
    }
    out
}

/// Runs the clean run and then every injection on `backend`; fails the test listing every
/// injection whose run went wrong.
pub async fn sweep(backend: &Backend) {
    let publisher = backend.prepare().await;
    let (problems, reached) = backend.scenario(&publisher, None).await;
    assert!(problems.is_empty(), "the clean run: {problems:?}");
    let plan = injections(&reached);
    let points: std::collections::BTreeSet<&String> = reached.iter().collect();
    eprintln!(
        "{}: {} calls at {} fault points {points:?}; {} injections",
        backend.name,
        reached.len(),
        points.len(),
        plan.len()
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    for injection in &plan {
        let (problems, _) = backend.scenario(&publisher, Some(injection)).await;
        if !problems.is_empty() {
            failures.push(format!("{injection:?}: {problems:?}"));
        }
    }
    eprintln!("{}: swept in {:?}", backend.name, started.elapsed());
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        backend.name,
        failures.join("\n")
    );
}

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}
