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
use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{
    Client, ClientId, DeliveryStatus, EventId, EventType, Scope, StatePattern, Subscription,
    SubscriptionId,
};
use hookline_ports::faults::Fault;
use hookline_ports::{DeliveryKey, Queue, QueueName, SigningKeys, Store};
use time::OffsetDateTime;

use super::receiver::Receiver;

mod rig;

const STATE: &str = "AP";
const EVENT_TYPE: &str = "LotDispatched";
/// Receivers (one subscription each) per scenario.
const SUBSCRIPTIONS: usize = 3;
/// How long a received message stays invisible unless a handler says otherwise: also how long
/// a receive whose answer was lost keeps its messages.
const VISIBILITY: Duration = Duration::from_secs(3);
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
}

/// A fault to inject: fail the call after `skip` calls at `point`, as `fault` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub point: String,
    pub skip: u32,
    pub fault: Fault,
}

impl Backend {
    /// A publisher client and the event type every scenario uses.
    pub async fn prepare(&self) -> (String, String) {
        let t = EventType {
            name: EVENT_TYPE.into(),
            description: String::new(),
            schema: None,
            example: None,
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
        let page = self
            .store
            .list_deliveries(&key, &Default::default(), None, 100)
            .await;
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
