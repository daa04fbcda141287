//! A deployed function's handler context: the AWS adapters behind the ports it uses, built
//! from the environment the SAM template sets, each function with only what it uses (and
//! what its IAM policy allows).

use std::sync::Arc;

use hookline_aws::{
    AwsSettings, DynamoStore, ManagedSecrets, SqsQueue, aws_config, aws_sdk_dynamodb,
    aws_sdk_secretsmanager, aws_sdk_sqs,
};
use hookline_domain::ClientId;
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::auth::rotation::RotationPolicy;
use hookline_handlers::context::{AppContext, Core, TokenContext, WorkerContext};
use hookline_handlers::metrics::{Metrics, NoMetrics};
use hookline_ports::{Queue, QueueSender, Store, SystemClock};

use crate::config;
use crate::env::{Env, EnvError};

// What the functions' `main`s use of the adapters, so that they name one crate for their wiring.
pub use hookline_aws::function_sdk_config;
pub use hookline_aws::keys::{RotationStep, SecretsKeys, rotation_step};
pub use hookline_aws::metrics::EmfMetrics;

/// The invocation's deadline (Unix milliseconds, as the Lambda runtime gives it in
/// `Context::deadline`) on this process's monotonic clock.
pub fn invocation_deadline(epoch_ms: u64) -> std::time::Instant {
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(epoch_ms.saturating_sub(now_ms))
}

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A variable is missing or malformed.
    #[error("configuration: {0}")]
    Env(#[from] EnvError),
    /// The bootstrap admin's secret is unreadable or malformed.
    #[error("configuration: {0}")]
    Config(String),
    /// The signing key could not be loaded or created.
    #[error("start-up: {0}")]
    Port(#[from] hookline_ports::PortError),
}

/// The stack's resource names, from the environment (`config::aws_settings`).
pub fn settings_from_env() -> Result<AwsSettings, StartError> {
    Ok(config::aws_settings(&Env::process())?)
}

/// A deployed function's handler configuration, from the environment
/// (`config::handler_config`).
pub fn handler_config_from_env() -> Result<HandlerConfig, StartError> {
    Ok(config::handler_config(&Env::process())?)
}

/// The `keys` function's rotation policy, from the environment (`config::rotation_policy`).
pub fn rotation_policy_from_env() -> Result<RotationPolicy, StartError> {
    Ok(config::rotation_policy(&Env::process())?)
}

/// A deployed function's metrics sink, for the stage the environment names
/// (`config::metrics`).
pub fn metrics_from_env() -> EmfMetrics {
    config::metrics(&Env::process())
}

/// Both key secrets of the stack, for the `keys` function (the only writer of either).
pub fn key_secrets(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> SecretsKeys {
    SecretsKeys::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        settings.signing_key_secret.clone(),
        settings.public_keys_secret.clone(),
    )
}

/// The ports over AWS, with the whole queue port: the local runner's, which polls the queues
/// itself (a deployed function builds only its own context: [`token_context_from_env`],
/// [`api_context_from_env`], [`worker_context_from_env`]).
pub struct AwsPorts {
    /// DynamoDB (and Secrets Manager: the secret store).
    pub store: Arc<dyn Store>,
    /// SQS.
    pub queue: Arc<dyn Queue>,
    /// Secrets Manager: both key secrets.
    pub keys: SecretsKeys,
}

/// The DynamoDB store of the stack, its secrets in Secrets Manager under the stack's prefix.
fn dynamo_store(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Arc<dyn Store> {
    let secrets = ManagedSecrets::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        settings.secrets_prefix.clone(),
    );
    Arc::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), settings.table.clone())
            .with_secrets(secrets),
    )
}

/// Builds the ports over the given SDK configuration and resource names, with full queue
/// access (the local runner, which polls the queues itself).
pub fn ports(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> AwsPorts {
    AwsPorts {
        store: dynamo_store(sdk, settings),
        queue: Arc::new(sqs(sdk, settings)),
        keys: key_secrets(sdk, settings),
    }
}

/// The sending half of the queue port over SQS, as the IAM policies of the functions that
/// queue work allow (ingest, manage, fan-out, delivery): Lambda's event source mappings
/// receive and delete the messages, so no function does; and only the sending half is
/// referenced, which keeps the SQS operations a function never calls out of its binary.
pub fn queue_sender(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Arc<dyn QueueSender> {
    Arc::new(sqs(sdk, settings))
}

/// The stack's SQS queues.
fn sqs(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> SqsQueue {
    SqsQueue::from_settings(aws_sdk_sqs::Client::new(sdk), settings)
}

/// The core of a deployed function over the given SDK configuration and resource names:
/// DynamoDB, the system clock, `config`, and `metrics`.
pub fn core(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    config: HandlerConfig,
    metrics: Arc<dyn Metrics>,
) -> Arc<Core> {
    let core = Core::new(dynamo_store(sdk, settings), Arc::new(SystemClock), config);
    Arc::new(core.with_metrics(metrics))
}

/// The stack's resource names and a function's core, from the environment.
fn core_from_env(
    sdk: &aws_config::SdkConfig,
    metrics: Arc<dyn Metrics>,
) -> Result<(AwsSettings, Arc<Core>), StartError> {
    let settings = settings_from_env()?;
    let core = core(sdk, &settings, handler_config_from_env()?, metrics);
    Ok((settings, core))
}

/// The token function's context, from the environment: the core (counting nowhere: the
/// invocation wrapper only gives its log lines `coldStart`) and the private key set. No
/// queue: the function sends nothing (nor has an IAM permission to).
pub async fn token_context_from_env(
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<TokenContext>, StartError> {
    let (settings, core) = core_from_env(sdk, Arc::new(NoMetrics))?;
    let keys = KeySource::Signing(Arc::new(key_secrets(sdk, &settings)));
    Ok(TokenContext::new(core, keys).await?)
}

/// The API functions' (ingest, manage) context, from the environment: the core counting into
/// `metrics`, the published public keys, and a sender to SQS.
pub async fn api_context_from_env(
    metrics: Arc<dyn Metrics>,
) -> Result<Arc<AppContext>, StartError> {
    let sdk = function_sdk_config();
    let (settings, core) = core_from_env(&sdk, metrics)?;
    let keys = KeySource::Published(Arc::new(key_secrets(&sdk, &settings)));
    Ok(AppContext::new(core, queue_sender(&sdk, &settings), keys).await?)
}

/// The queue workers' (fan-out, delivery) context, from the environment: the core counting
/// into `metrics` and a sender to SQS. No JWT keys: they verify no token (and their IAM roles
/// read no key secret).
pub fn worker_context_from_env(
    metrics: Arc<dyn Metrics>,
) -> Result<Arc<WorkerContext>, StartError> {
    let sdk = function_sdk_config();
    let (settings, core) = core_from_env(&sdk, metrics)?;
    Ok(WorkerContext::new(core, queue_sender(&sdk, &settings)))
}

/// Creates the bootstrap admin client from the deploy-time secret named by
/// `HOOKLINE_BOOTSTRAP_ADMIN_SECRET` (JSON `{"client_id", "client_secret"}`), if the variable
/// is set, once in the stack's life (see `Store::insert_bootstrap_admin`): the token function
/// calls it at every cold start, and after the first it changes nothing, so an admin revoked
/// through the API stays revoked.
pub async fn ensure_bootstrap_admin(
    sdk: &aws_config::SdkConfig,
    ctx: &Core,
) -> Result<(), StartError> {
    match Env::process().text("HOOKLINE_BOOTSTRAP_ADMIN_SECRET") {
        Some(secret_id) => ensure_bootstrap_admin_from(sdk, ctx, &secret_id).await,
        None => Ok(()),
    }
}

/// [`ensure_bootstrap_admin`] from the secret `secret_id`.
pub async fn ensure_bootstrap_admin_from(
    sdk: &aws_config::SdkConfig,
    ctx: &Core,
    secret_id: &str,
) -> Result<(), StartError> {
    let value = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
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
    let client_id = ClientId::parse(&admin.client_id).ok_or_else(|| {
        StartError::Config(
            "the bootstrap admin secret's client_id is not 1-128 letters, digits, '_', '-' or '.'"
                .into(),
        )
    })?;
    hookline_handlers::bootstrap::ensure_admin(
        ctx.store.as_ref(),
        ctx.clock.as_ref(),
        &client_id,
        &admin.client_secret,
    )
    .await?;
    Ok(())
}
