//! A Hookline stack on moto for tests of the handlers over the AWS adapters: a table and the
//! four queues, the handlers' context over them, and a recorder of every AWS operation the
//! context's SDK clients send (by its `X-Amz-Target`, e.g. `DynamoDB_20120810.PutItem`), so a
//! test can count what a workflow costs or check what a function calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_aws::provision::queues::create_queues;
use hookline_aws::provision::table::create_table;
use hookline_aws::{DynamoStore, SqsQueue};
use hookline_domain::destination::DestinationPolicy;
use hookline_handlers::{AppContext, HandlerConfig};
use hookline_ports::{Queue, Store, SystemClock};

use super::moto::{Moto, unique};

/// Counts of the AWS operations sent, by `service.Operation` (`DynamoDB.PutItem`, `SQS.SendMessageBatch`).
#[derive(Debug, Clone, Default)]
pub struct Operations(Arc<Mutex<BTreeMap<String, u64>>>);

impl Operations {
    /// The counts so far, and a fresh start.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
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
            *self
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(format!("{service}.{op}"))
                .or_default() += 1;
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
    /// The handlers' context.
    pub ctx: Arc<AppContext>,
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
        let ddb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(ops.clone())
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&sqs_sdk)
                .interceptor(ops.clone())
                .build(),
        );
        let table = unique("hookline");
        create_table(&ddb, &table).await.expect("create the table");
        let urls = create_queues(&sqs, &unique("hookline"), 5, 60)
            .await
            .expect("create the queues");
        let dynamo = Arc::new(DynamoStore::new(ddb, table));
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
        let ctx = AppContext::new(
            store.clone(),
            wrap(queue.clone()),
            backend.keys(),
            Arc::new(SystemClock),
            config,
        )
        .await
        .expect("handler context");
        ops.take();
        StackOnMoto {
            moto,
            moto_sqs,
            store,
            dynamo,
            queue,
            ops,
            ctx,
            sqs,
            urls,
            _keys: keys_dir,
        }
    }
}
