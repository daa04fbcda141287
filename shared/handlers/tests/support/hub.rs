//! A stack of the SQS handlers for tests: the embedded backend in a temporary directory
//! (optionally behind fault-injecting ports), the handlers' context, and the helpers that
//! drive its queues the way Lambda's SQS event source mapping does. Webhook receivers are
//! real HTTP servers on loopback.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use super::receiver::{Captured, Receiver};
use aws_lambda_events::event::sqs::SqsBatchResponse;
use hookline_domain::destination::DestinationPolicy;
use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{Client, Delivery, Event, RetrySchedule, Scope, Subscription, ids};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_handlers::delivery::{DeliveryContext, handle_deliveries};
use hookline_handlers::fanout::handle_events;
use hookline_handlers::messages::{DeliveryMessage, EventMessage, to_body};
use hookline_handlers::metrics::Metrics;
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_handlers::{AppContext, HandlerConfig};
use hookline_ports::faults::{Faults, FaultyQueue, FaultyStore};
use hookline_ports::{
    DeliveryKey, Queue, QueueMessage, QueueName, ReceivedMessage, ShiftedClock, Store,
};
use tempfile::TempDir;
use time::OffsetDateTime;

pub const STATE: &str = "AP";
pub const EVENT_TYPE: &str = "LotDispatched";
/// Visibility of what a test receives: long, so that a message shows again early only if a
/// handler changed its visibility.
pub const HELD: Duration = Duration::from_secs(30);
/// How long any awaited condition may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// One stack on the embedded backend, with the handlers' context.
pub struct Hub {
    pub ctx: Arc<AppContext>,
    /// The delivery handler's context over `ctx`.
    pub deliver: Arc<DeliveryContext>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// The handlers' clock (the system's, until a test moves it on).
    pub clock: Arc<ShiftedClock>,
    /// The backend itself.
    pub embedded: EmbeddedBackend,
    _dir: TempDir,
}

pub async fn hub() -> Hub {
    hub_with(|_| {}).await
}

/// A hub whose handler configuration `adjust` changes first.
pub async fn hub_with(adjust: impl FnOnce(&mut HandlerConfig)) -> Hub {
    hub_of(adjust, None, None, false).await
}

/// A hub whose handlers count into `metrics`.
pub async fn hub_with_metrics(metrics: Arc<dyn Metrics>) -> Hub {
    hub_of(|_| {}, None, Some(metrics), false).await
}

/// A hub whose handlers reach the store and the queue through fault-injecting ports driven
/// by `faults` (the hub's own `store` and `queue` stay the real ones).
pub async fn faulty_hub(faults: &Faults) -> Hub {
    hub_of(|_| {}, Some(faults), None, false).await
}

/// A [`faulty_hub`] whose store holds the claims of the deliveries it inserts in memory, as
/// the local runner's does (`EmbeddedBackend::holding_claims_in_memory`).
pub async fn hub_holding_claims_in_memory(faults: &Faults) -> Hub {
    hub_of(|_| {}, Some(faults), None, true).await
}

async fn hub_of(
    adjust: impl FnOnce(&mut HandlerConfig),
    faults: Option<&Faults>,
    metrics: Option<Arc<dyn Metrics>>,
    claims_in_memory: bool,
) -> Hub {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("open task")
            .expect("open the embedded backend");
    let backend = match claims_in_memory {
        true => backend.holding_claims_in_memory(),
        false => backend,
    };
    let mut config = HandlerConfig::new("http://test", "embedded");
    config.destinations = DestinationPolicy {
        allow_http: true,
        allow_private: true,
    };
    config.retry_schedule = RetrySchedule::parse("1s").expect("retry schedule");
    adjust(&mut config);
    let (store, queue): (Arc<dyn Store>, Arc<dyn Queue>) = match faults {
        None => (backend.store(), backend.queue()),
        Some(f) => (
            Arc::new(FaultyStore::new(backend.store(), f.clone())),
            Arc::new(FaultyQueue::new(backend.queue(), f.clone())),
        ),
    };
    let keys = super::signing_keys_of(&backend).await;
    let clock = Arc::new(ShiftedClock::default());
    let ctx = AppContext::new(store, queue, keys, clock.clone(), config)
        .await
        .expect("handler context");
    let ctx = match metrics {
        Some(metrics) => ctx.with_metrics(metrics),
        None => ctx,
    };
    let deliver = DeliveryContext::new(ctx.clone()).expect("delivery context");
    Hub {
        ctx,
        deliver,
        store: backend.store(),
        queue: backend.queue(),
        clock,
        embedded: backend,
        _dir: dir,
    }
}

/// A portal that holds a subscription, and the stack's HTTP API served over the hub's own
/// handler context, with a token of that portal.
pub struct Portal {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The portal's access token.
    pub token: String,
    /// Its subscription.
    pub sub: Subscription,
    http: reqwest::Client,
}

impl Portal {
    /// POSTs `body` as JSON; the status and the JSON answer (null if none).
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// Sends `body` as JSON with `method`; the status and the JSON answer (null if none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

impl Hub {
    /// A new client subscribed to `EVENT_TYPE` in `STATE` at `url`.
    pub async fn subscribe(&self, url: &str, max_attempts: u32) -> Subscription {
        self.subscribe_as(&new_client_secret(), url, max_attempts)
            .await
    }

    /// A new client (with `secret`) subscribed to `EVENT_TYPE` in `STATE` at `url`, the HTTP
    /// API served over this hub's context, and a token of that client.
    pub async fn portal(&self, url: &str, max_attempts: u32) -> Portal {
        let secret = new_client_secret();
        let sub = self.subscribe_as(&secret, url, max_attempts).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the API");
        let base = format!("http://{}", listener.local_addr().expect("API address"));
        let app = hookline_handlers::app(self.ctx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let answer = http
            .post(format!("{base}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={secret}",
                sub.client_id
            ))
            .send()
            .await
            .expect("token request")
            .bytes()
            .await
            .expect("token answer");
        let token: serde_json::Value = serde_json::from_slice(&answer).expect("token JSON");
        let token = token["access_token"].as_str().expect("a token").to_string();
        Portal {
            base,
            token,
            sub,
            http,
        }
    }

    async fn subscribe_as(&self, secret: &str, url: &str, max_attempts: u32) -> Subscription {
        let now = OffsetDateTime::now_utc();
        let client = Client {
            id: ids::new_id(ids::CLIENT, now_ms()),
            name: "Receiving portal".into(),
            scopes: vec![
                Scope::SubscriptionsWrite,
                Scope::SubscriptionsRead,
                Scope::EventsRead,
            ],
            states: vec![STATE.into()],
            secret_hash: hash_client_secret(secret),
            created_at: now,
            disabled: false,
            limits: Default::default(),
        };
        self.store.insert_client(&client).await.expect("client");
        let mut sub = new_subscription(
            ids::new_id(ids::SUBSCRIPTION, now_ms()),
            client.id,
            new_webhook_secret(),
            now,
        );
        sub.url = url.into();
        sub.event_types = vec![EVENT_TYPE.into()];
        sub.states = vec![STATE.into()];
        sub.max_attempts = max_attempts;
        self.store
            .insert_subscription(&sub)
            .await
            .expect("subscription");
        sub
    }

    /// A stored, accepted event of `EVENT_TYPE` in `STATE`.
    pub async fn publish(&self) -> Event {
        let now = OffsetDateTime::now_utc();
        let event = Event {
            id: ids::new_id(ids::EVENT, now_ms()),
            event_type: EVENT_TYPE.into(),
            state: STATE.into(),
            occurred_at: now,
            received_at: now,
            source: "cl_publisher".into(),
            publisher_key: None,
            recipient: None,
            data: serde_json::json!({ "lot": "L-42", "quantity_kg": 1200 }),
        };
        self.store.insert_event(&event, None).await.expect("event");
        event
    }

    /// Records a delivery of `event` to `sub` (after `adjust`) and queues it by id, as a
    /// manual retry does: the worker reads it from the store.
    pub async fn queue_delivery(
        &self,
        event: &Event,
        sub: &Subscription,
        adjust: impl FnOnce(&mut Delivery),
    ) -> String {
        let id = ids::delivery_id(&event.id, &sub.id);
        let mut delivery = Delivery::new(
            id.clone(),
            &event.id,
            &sub.id,
            &sub.client_id,
            OffsetDateTime::now_utc(),
        );
        adjust(&mut delivery);
        assert!(self.store.insert_delivery(&delivery).await.expect("insert"));
        let body = to_body(&DeliveryMessage::id(&id));
        self.queue
            .send(QueueName::Deliveries, vec![QueueMessage::now(body)])
            .await
            .expect("send");
        id
    }

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
        handle_events(self.ctx.clone(), to_sqs_event(QueueName::Events, batch)).await
    }

    pub async fn deliver(&self, batch: &[ReceivedMessage]) -> SqsBatchResponse {
        handle_deliveries(
            self.deliver.clone(),
            to_sqs_event(QueueName::Deliveries, batch),
        )
        .await
    }

    pub async fn delivery(&self, id: &str) -> Delivery {
        self.store
            .get_delivery(id)
            .await
            .expect("get delivery")
            .expect("the delivery exists")
    }

    pub async fn deliveries_of(&self, event: &Event) -> Vec<Delivery> {
        let key = DeliveryKey::Event(event.id.clone());
        let page = self.store.list_deliveries(&key, None, None, 100).await;
        page.expect("list deliveries").items
    }

    pub async fn depth(&self, queue: QueueName) -> u64 {
        self.queue.depth(queue).await.expect("depth")
    }
}

pub fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

pub fn failed_ids(response: &SqsBatchResponse) -> BTreeSet<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

pub fn event_message(event_id: &str) -> QueueMessage {
    QueueMessage::now(to_body(&EventMessage {
        event_id: event_id.into(),
        after: None,
    }))
}

pub fn delivery_id_of(message: &ReceivedMessage) -> String {
    let msg: DeliveryMessage =
        serde_json::from_str(&message.body).expect("a delivery message body");
    msg.delivery_id
}

/// Polls `check` until it holds, failing the test after `PATIENCE`.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
