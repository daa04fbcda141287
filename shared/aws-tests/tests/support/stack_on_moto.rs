//! A Hookline stack on moto for tests of the handlers over the AWS adapters: a table and the
//! four queues, the handlers' context over them, and a recorder of every AWS operation the
//! context's SDK clients send (by its `X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`), so a
//! test can count what a workflow costs or check what a function calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_aws::provision::queues::create_queues;
use hookline_aws::provision::table::create_table;
use hookline_aws::{DynamoStore, SqsQueue};
use hookline_domain::destination::DestinationPolicy;
use hookline_domain::{Delivery, DeliveryId, EventId, Subscription};
use hookline_handlers::HandlerConfig;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::delivery::{DeliveryContext, handle_deliveries};
use hookline_handlers::fanout::handle_events;
use hookline_handlers::messages::{DeliveryMessage, to_body};
use hookline_handlers::sqs_event::to_sqs_event;
use hookline_ports::{Queue, QueueMessage, QueueName, Store, SystemClock};
use serde_json::json;
use time::OffsetDateTime;

use super::api::serve_api;
use super::moto::{Moto, unique};

/// Counts of the AWS operations sent, by `service.Operation` (`DynamoDB.PutItem`,
/// `SQS.SendMessageBatch`), and an estimate of the DynamoDB write units they consume.
#[derive(Debug, Clone, Default)]
pub struct Operations(Arc<Mutex<Recorded>>);

/// What the recorder saw.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Requests by `service.Operation`.
    pub calls: BTreeMap<String, u64>,
    /// Estimated write request units: per item written, one unit per KB of the item in the
    /// table (twice that in a transaction), and for a new item one unit per index whose key it
    /// carries (the indexes project keys only, so a write that changes no key writes none).
    pub write_units: f64,
    /// Estimated read request units of `BatchGetItem` (half a unit per item: eventually
    /// consistent reads of items under 4 KB).
    pub batch_read_units: f64,
}

impl Operations {
    /// The counts so far, and a fresh start.
    pub fn take(&self) -> BTreeMap<String, u64> {
        self.take_all().calls
    }

    /// Everything recorded so far, and a fresh start.
    pub fn take_all(&self) -> Recorded {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The DynamoDB requests so far by operation (`Query`), and a fresh start (of every
    /// count).
    pub fn take_dynamodb(&self) -> BTreeMap<String, usize> {
        let calls = self.take().into_iter();
        calls
            .filter_map(|(op, n)| Some((op.strip_prefix("DynamoDB.")?.to_string(), n as usize)))
            .collect()
    }

    /// The DynamoDB `Query` requests so far, and a fresh start.
    pub fn queries(&self) -> usize {
        self.take_dynamodb().get("Query").copied().unwrap_or(0)
    }

    /// A DynamoDB client on `sdk` whose every request this records.
    pub fn dynamodb_client(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk)
                .interceptor(self.clone())
                .build(),
        )
    }

    /// An SQS client on `sdk` whose every request this records.
    pub fn sqs_client(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .interceptor(self.clone())
                .build(),
        )
    }
}

/// Bytes an item takes in DynamoDB (attribute names plus values; numbers as their digits).
fn item_bytes(item: &serde_json::Value) -> usize {
    item.as_object().map_or(0, |attrs| {
        attrs
            .iter()
            .map(|(name, v)| {
                let value = v
                    .as_object()
                    .and_then(|o| o.values().next())
                    .map_or(0, |x| x.as_str().map_or(8, str::len));
                name.len() + value
            })
            .sum()
    })
}

/// Estimated write units of putting `item`, outside a transaction (`factor` 1) or in one (2);
/// a new item also writes a key entry to each index whose key it carries.
fn put_units(item: &serde_json::Value, factor: f64, new: bool) -> f64 {
    let kb = (item_bytes(item) as f64 / 1024.0).ceil().max(1.0);
    let indexes = ["gsi1pk", "gsi2pk", "gsi3pk", "gsi4pk"]
        .iter()
        .filter(|k| item.get(**k).is_some())
        .count() as f64;
    kb * factor + if new { indexes } else { 0.0 }
}

/// Whether a put's condition says the item is new.
fn creates(put: &serde_json::Value) -> bool {
    put["ConditionExpression"]
        .as_str()
        .is_some_and(|c| c.contains("attribute_not_exists"))
}

fn write_units(op: &str, body: &[u8]) -> f64 {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0.0;
    };
    match op {
        "PutItem" => put_units(&json["Item"], 1.0, creates(&json)),
        "UpdateItem" | "DeleteItem" => 1.0,
        "BatchWriteItem" => json["RequestItems"].as_object().map_or(0.0, |tables| {
            tables
                .values()
                .flat_map(|w| w.as_array().cloned().unwrap_or_default())
                .map(|w| put_units(&w["PutRequest"]["Item"], 1.0, true))
                .sum()
        }),
        "TransactWriteItems" => json["TransactItems"].as_array().map_or(0.0, |items| {
            items
                .iter()
                .map(|i| match i.get("Put") {
                    Some(put) => put_units(&put["Item"], 2.0, creates(put)),
                    None => 2.0,
                })
                .sum()
        }),
        _ => 0.0,
    }
}

/// Estimated read units of a `BatchGetItem`: half a unit per key.
fn batch_reads(op: &str, body: &[u8]) -> f64 {
    if op != "BatchGetItem" {
        return 0.0;
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            json["RequestItems"].as_object().map(|tables| {
                tables
                    .values()
                    .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
                    .sum::<usize>() as f64
                    * 0.5
            })
        })
        .unwrap_or(0.0)
}

impl Intercept for Operations {
    fn name(&self) -> &'static str {
        "count-aws-operations"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(target) = context.request().headers().get("x-amz-target") {
            let (service, op) = target.split_once('.').unwrap_or(("?", target));
            let service = match service {
                s if s.starts_with("DynamoDB") => "DynamoDB",
                s if s.starts_with("AmazonSQS") => "SQS",
                s if s.starts_with("secretsmanager") => "SecretsManager",
                s => s,
            };
            let (units, reads) = match (service, context.request().body().bytes()) {
                ("DynamoDB", Some(body)) => (write_units(op, body), batch_reads(op, body)),
                _ => (0.0, 0.0),
            };
            let mut recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            *recorded.calls.entry(format!("{service}.{op}")).or_default() += 1;
            recorded.write_units += units;
            recorded.batch_read_units += reads;
        }
        Ok(())
    }
}

/// A table, queues and keys on moto, and the handlers' context over them.
pub struct StackOnMoto {
    /// The emulator of DynamoDB.
    pub moto: Moto,
    /// The emulator of SQS: a second process, so that the two services' emulation runs on
    /// two cores.
    pub moto_sqs: Moto,
    /// The store, through the recorded client.
    pub store: Arc<dyn Store>,
    /// The same store, as itself.
    pub dynamo: Arc<DynamoStore>,
    /// The queues, through the recorded client.
    pub queue: Arc<dyn Queue>,
    /// What the store and the queues sent.
    pub ops: Operations,
    /// Every function's context, as the local runner builds them.
    pub ctx: Contexts,
    /// The delivery function's context over `ctx.worker`.
    pub deliver: Arc<DeliveryContext>,
    /// The JWT signing keys (the embedded key store: these tests are not about them).
    pub signing_keys: Arc<dyn hookline_ports::SigningKeys>,
    /// The SQS client (recorded) and the queues' URLs, for what a test does to a queue
    /// directly.
    pub sqs: aws_sdk_sqs::Client,
    /// The queues' URLs.
    pub urls: hookline_aws::sqs::QueueUrls,
    _keys: tempfile::TempDir,
}

impl StackOnMoto {
    /// A fresh stack whose handler configuration `adjust` changes first (destinations on
    /// loopback are allowed).
    pub async fn start(adjust: impl FnOnce(&mut HandlerConfig)) -> StackOnMoto {
        Self::start_with(adjust, |q| q).await
    }

    /// As [`StackOnMoto::start`], the handlers reaching the queues through `wrap` of them.
    pub async fn start_with(
        adjust: impl FnOnce(&mut HandlerConfig),
        wrap: impl FnOnce(Arc<dyn Queue>) -> Arc<dyn Queue>,
    ) -> StackOnMoto {
        let moto = Moto::start();
        let moto_sqs = Moto::start();
        let sdk = moto.sdk_config().await;
        let sqs_sdk = moto_sqs.sdk_config().await;
        let ops = Operations::default();
        let ddb = ops.dynamodb_client(&sdk);
        let sqs = ops.sqs_client(&sqs_sdk);
        let table = unique("hookline");
        create_table(&ddb, &table).await.expect("create the table");
        let urls = create_queues(&sqs, &unique("hookline"), 5, 60)
            .await
            .expect("create the queues");
        let secrets = hookline_aws::ManagedSecrets::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            format!("hookline/{table}/"),
        );
        let dynamo = Arc::new(DynamoStore::new(ddb, table).with_secrets(secrets));
        let store: Arc<dyn Store> = dynamo.clone();
        let queue: Arc<dyn Queue> = Arc::new(SqsQueue::new(sqs.clone(), urls.clone()));
        // The keys are not what these tests are about: the embedded key store in a temporary
        // directory keeps Secrets Manager out of the counts.
        let keys_dir = tempfile::tempdir().expect("a key directory");
        let path = keys_dir.path().to_path_buf();
        let backend = tokio::task::spawn_blocking(move || {
            hookline_embedded::EmbeddedBackend::open(&path, Default::default())
        })
        .await
        .expect("open task")
        .expect("the key store");
        let mut config = HandlerConfig::new("http://test", "aws");
        config.destinations = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        adjust(&mut config);
        let signing_keys = backend.signing_keys();
        hookline_handlers::auth::rotation::ensure_first_key(&backend, 1)
            .await
            .expect("a signing key");
        let core = Core::new(store.clone(), Arc::new(SystemClock), config);
        let ctx = Contexts::new(
            Arc::new(core),
            wrap(queue.clone()),
            hookline_handlers::auth::keys::KeySource::Signing(signing_keys.clone()),
        )
        .await
        .expect("handler contexts");
        let deliver = DeliveryContext::new(ctx.worker.clone()).expect("delivery context");
        ops.take();
        StackOnMoto {
            moto,
            moto_sqs,
            store,
            dynamo,
            queue,
            ops,
            ctx,
            deliver,
            signing_keys,
            sqs,
            urls,
            _keys: keys_dir,
        }
    }
}

/// What one invocation of a queue's function did.
pub struct Invocation {
    /// Messages handed over.
    pub messages: usize,
    /// Ids of the messages the handler reported failed (left on the queue).
    pub failed: Vec<String>,
    /// The handler's own time (not the receive or the deletes).
    pub handler_time: Duration,
}

impl StackOnMoto {
    /// Serves the stack's HTTP API on loopback: its base URL, and an access token of the
    /// client `client_id` with `secret`.
    pub async fn api_token(&self, client_id: &str, secret: &str) -> (String, String) {
        serve_api(&self.ctx, client_id, secret).await
    }

    /// What the API and fan-out leave for one delivery: `sub` and an accepted `LotDispatched`
    /// of lot L-42 stored, the event's delivery to `sub` recorded, and its message on the
    /// deliveries queue. Its id.
    pub async fn queue_delivery(&self, sub: &Subscription, now: OffsetDateTime) -> DeliveryId {
        self.store
            .insert_subscription(sub)
            .await
            .expect("subscription");
        let event = super::lot_dispatched(EventId::new(1), json!({ "lot": "L-42" }), now);
        self.store.insert_event(&event, None).await.expect("event");
        let id = DeliveryId::for_event(&event.id, &sub.id);
        let delivery = Delivery::new(id.clone(), &event.id, &sub.id, &sub.client_id, now);
        assert!(self.store.insert_delivery(&delivery).await.expect("insert"));
        let message = QueueMessage::now(to_body(&DeliveryMessage::id(&id)));
        self.queue
            .send(QueueName::Deliveries, vec![message])
            .await
            .expect("send");
        id
    }

    /// One invocation as Lambda's SQS event source mapping makes it: up to ten visible
    /// messages of `queue` (waiting up to `wait` for the first) handed to its function's
    /// handler, and those it does not report failed deleted. `None` if none came.
    pub async fn invoke_once(&self, queue: QueueName, wait: Duration) -> Option<Invocation> {
        let batch = self
            .queue
            .receive(queue, 10, wait, Duration::from_secs(60))
            .await
            .expect("receive");
        if batch.is_empty() {
            return None;
        }
        let started = Instant::now();
        let event = to_sqs_event(queue, &batch);
        let response = match queue {
            QueueName::Events => handle_events(self.ctx.worker.clone(), event).await,
            _ => handle_deliveries(self.deliver.clone(), event).await,
        };
        let handler_time = started.elapsed();
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        let messages = batch.len();
        let done = batch
            .into_iter()
            .filter(|m| !failed.contains(&m.message_id))
            .map(|m| m.receipt_handle)
            .collect();
        self.queue.delete(queue, done).await.expect("delete");
        Some(Invocation {
            messages,
            failed,
            handler_time,
        })
    }
}
