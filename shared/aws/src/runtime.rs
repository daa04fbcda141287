//! Wiring shared by every Lambda function: configuration from the environment the SAM
//! template sets, the AWS adapters behind the ports, the handler context, and JSON logs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::RetrySchedule;
use hookline_domain::destination::DestinationPolicy;
use hookline_handlers::{AppContext, HandlerConfig};
use hookline_ports::{
    KeyStore, PortError, Queue, QueueMessage, QueueName, ReceivedMessage, Store, SystemClock,
};

use crate::settings::AwsSettings;
use crate::sqs::QueueUrls;
use crate::{DynamoStore, SecretsKeyStore, SqsQueue};

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A variable is missing or malformed.
    #[error("configuration: {0}")]
    Config(String),
    /// The signing key could not be loaded or created.
    #[error("start-up: {0}")]
    Port(#[from] hookline_ports::PortError),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> Result<bool, StartError> {
    match var(name).as_deref().map(str::trim) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(v) => Err(StartError::Config(format!(
            "{name}: '{v}' is not true or false"
        ))),
    }
}

/// The handler configuration of a deployed function: `HOOKLINE_ISSUER` (the API's public
/// base URL; unset: `https://` + the request's host), `HOOKLINE_TOKEN_TTL_SECS` (900), `HOOKLINE_RETRY_SCHEDULE` (the API.md default),
/// `HOOKLINE_ALLOW_PRIVATE_DESTINATIONS` and `HOOKLINE_ALLOW_HTTP` (both false).
pub fn handler_config_from_env() -> Result<HandlerConfig, StartError> {
    let issuer = var("HOOKLINE_ISSUER").unwrap_or_default();
    let mut config = HandlerConfig::new(issuer.trim_end_matches('/'), "aws");
    if let Some(ttl) = var("HOOKLINE_TOKEN_TTL_SECS") {
        let secs: u64 = ttl.trim().parse().map_err(|_| {
            StartError::Config(format!("HOOKLINE_TOKEN_TTL_SECS: '{ttl}' is not a number"))
        })?;
        config.token_ttl = Duration::from_secs(secs.clamp(60, 86_400));
    }
    if let Some(s) = var("HOOKLINE_RETRY_SCHEDULE") {
        config.retry_schedule = RetrySchedule::parse(&s)
            .map_err(|e| StartError::Config(format!("HOOKLINE_RETRY_SCHEDULE: {e}")))?;
    }
    if let Some(states) = var("HOOKLINE_STATES") {
        config.states = HandlerConfig::parse_states(&states)
            .map_err(|e| StartError::Config(format!("HOOKLINE_STATES: {e}")))?;
    }
    config.destinations = DestinationPolicy {
        allow_private: flag("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS")?,
        allow_http: flag("HOOKLINE_ALLOW_HTTP")?,
    };
    Ok(config)
}

/// Builds a deployed function's handler context over DynamoDB, SQS and Secrets Manager from
/// the environment, with the queue access the function has (see [`QueueAccess`]).
pub async fn context_from_env(queues: QueueAccess) -> Result<Arc<AppContext>, StartError> {
    let settings = AwsSettings::from_env().map_err(|e| StartError::Config(e.to_string()))?;
    let config = handler_config_from_env()?;
    let sdk = crate::function_sdk_config();
    context(&sdk, &settings, config, queues).await
}

/// What a deployed function does with the SQS queues: the same as its IAM policy in
/// `template.yaml`. Lambda's event source mappings receive and delete the messages of the
/// fan-out and delivery functions, so no function receives, deletes or counts messages; a
/// function's queue port offers only what it uses, which also keeps the SQS operations it
/// never calls out of its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAccess {
    /// No queue at all (token).
    None,
    /// Sends messages and changes a received message's visibility (ingest, manage, fan-out,
    /// delivery).
    Send,
}

/// The three ports over AWS.
pub struct AwsPorts {
    /// DynamoDB.
    pub store: Arc<dyn Store>,
    /// SQS.
    pub queue: Arc<dyn Queue>,
    /// Secrets Manager.
    pub keys: Arc<dyn KeyStore>,
}

/// Builds the ports over the given SDK configuration and resource names, with full queue
/// access (the local runner, which polls the queues itself).
pub fn ports(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> AwsPorts {
    AwsPorts {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.table.clone(),
        )),
        queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            QueueUrls {
                events: settings.events_queue_url.clone(),
                events_dlq: settings.events_dlq_url.clone(),
                deliveries: settings.deliveries_queue_url.clone(),
                deliveries_dlq: settings.deliveries_dlq_url.clone(),
            },
        )),
        keys: Arc::new(SecretsKeyStore::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            settings.signing_key_secret.clone(),
        )),
    }
}

/// The ports of a deployed function: DynamoDB and Secrets Manager, and SQS as far as
/// `queues` allows.
pub fn function_ports(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    queues: QueueAccess,
) -> AwsPorts {
    AwsPorts {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.table.clone(),
        )),
        queue: match queues {
            QueueAccess::None => Arc::new(NoQueue),
            QueueAccess::Send => Arc::new(SendingQueue(SqsQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                QueueUrls::from_settings(settings),
            ))),
        },
        keys: Arc::new(SecretsKeyStore::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            settings.signing_key_secret.clone(),
        )),
    }
}

/// Builds a deployed function's handler context over the given SDK configuration and
/// resource names.
pub async fn context(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    config: HandlerConfig,
    queues: QueueAccess,
) -> Result<Arc<AppContext>, StartError> {
    let p = function_ports(sdk, settings, queues);
    Ok(AppContext::new(p.store, p.queue, p.keys, Arc::new(SystemClock), config).await?)
}

/// The queue port of a function that has no queue access: every call fails, as IAM would
/// refuse it.
#[derive(Debug)]
pub struct NoQueue;

fn no_queue() -> PortError {
    PortError::Backend("this function has no queue access".into())
}

#[async_trait]
impl Queue for NoQueue {
    async fn send(&self, _: QueueName, _: Vec<QueueMessage>) -> Result<(), PortError> {
        Err(no_queue())
    }

    async fn receive(
        &self,
        _: QueueName,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        Err(no_queue())
    }

    async fn delete(&self, _: QueueName, _: Vec<String>) -> Result<(), PortError> {
        Err(no_queue())
    }

    async fn change_visibility(&self, _: QueueName, _: &str, _: Duration) -> Result<(), PortError> {
        Err(no_queue())
    }

    async fn depth(&self, _: QueueName) -> Result<u64, PortError> {
        Err(no_queue())
    }
}

/// The queue port of a function that sends ([`QueueAccess::Send`]): sends and visibility
/// changes go to SQS; receiving, deleting and counting are the event source mapping's job
/// (and outside the function's IAM policy), so they fail without calling SQS.
#[derive(Debug)]
pub struct SendingQueue(pub SqsQueue);

fn only_sends(what: &str) -> PortError {
    PortError::Backend(format!(
        "this function only sends to queues and cannot {what} (the event source mapping does)"
    ))
}

#[async_trait]
impl Queue for SendingQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.0.send(queue, messages).await
    }

    async fn receive(
        &self,
        _: QueueName,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        Err(only_sends("receive"))
    }

    async fn delete(&self, _: QueueName, _: Vec<String>) -> Result<(), PortError> {
        Err(only_sends("delete"))
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.0
            .change_visibility(queue, receipt_handle, visibility)
            .await
    }

    async fn depth(&self, _: QueueName) -> Result<u64, PortError> {
        Err(only_sends("count messages"))
    }
}

/// JSON logs on stdout, one object per line, as CloudWatch expects; level from `RUST_LOG`
/// (default `info`): a level, or comma-separated `target=level` directives
/// (`info,hookline_handlers=debug`). Span and field filters (the regular-expression part of
/// `EnvFilter`'s syntax) are not supported here, which keeps a regex engine out of functions
/// that have no other use for one; a malformed value falls back to `info`.
pub fn init_logs() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = var("RUST_LOG")
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .without_time(),
        )
        .with(filter)
        .init();
}

/// Creates (or resets) the bootstrap admin client from the deploy-time secret named by
/// `HOOKLINE_BOOTSTRAP_ADMIN_SECRET` (JSON `{"client_id", "client_secret"}`), if the variable
/// is set. The token function calls it at cold start, so the admin exists as soon as the
/// stack does.
pub async fn ensure_bootstrap_admin(
    sdk: &aws_config::SdkConfig,
    ctx: &AppContext,
) -> Result<(), StartError> {
    let Some(secret_id) = var("HOOKLINE_BOOTSTRAP_ADMIN_SECRET") else {
        return Ok(());
    };
    let value = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(|e| {
            StartError::Config(format!(
                "reading the bootstrap admin secret: {}",
                e.into_service_error()
            ))
        })?;
    #[derive(serde::Deserialize)]
    struct Admin {
        client_id: String,
        client_secret: String,
    }
    let admin: Admin =
        serde_json::from_str(value.secret_string().unwrap_or_default()).map_err(|_| {
            StartError::Config(
                "the bootstrap admin secret is not {client_id, client_secret} JSON".into(),
            )
        })?;
    hookline_handlers::bootstrap::ensure_admin(
        ctx.store.as_ref(),
        ctx.clock.as_ref(),
        &admin.client_id,
        &admin.client_secret,
    )
    .await?;
    Ok(())
}
