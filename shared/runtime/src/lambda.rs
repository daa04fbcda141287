//! A deployed function's ports and handler context: the AWS adapters behind the ports, built
//! from the environment the SAM template sets, with what the function's IAM policy allows.

use std::sync::Arc;

use hookline_aws::{
    AwsSettings, DynamoStore, SqsQueue, aws_config, aws_sdk_dynamodb, aws_sdk_secretsmanager,
    aws_sdk_sqs,
};
use hookline_domain::ClientId;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::auth::rotation::RotationPolicy;
use hookline_handlers::{AppContext, HandlerConfig};
use hookline_ports::{Queue, QueueSender, Store, SystemClock};

use crate::config;
use crate::env::{Env, EnvError};
use crate::function_queue::FunctionQueue;

// What the functions' `main`s use of the adapters, so that they name one crate for their wiring.
pub use hookline_aws::function_sdk_config;
pub use hookline_aws::keys::{RotationStep, SecretsKeys, rotation_step};
pub use hookline_aws::metrics::EmfMetrics;

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

/// Builds a deployed function's handler context over DynamoDB, SQS and Secrets Manager from
/// the environment, with the queue access the function has (see [`QueueAccess`]).
pub async fn context_from_env(queues: QueueAccess) -> Result<Arc<AppContext>, StartError> {
    context_from_env_with(queues, KeyAccess::Verify).await
}

/// [`context_from_env`] with the key access the function has (see [`KeyAccess`]).
pub async fn context_from_env_with(
    queues: QueueAccess,
    keys: KeyAccess,
) -> Result<Arc<AppContext>, StartError> {
    let sdk = function_sdk_config();
    context(
        &sdk,
        &settings_from_env()?,
        handler_config_from_env()?,
        queues,
        keys,
    )
    .await
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

/// What a deployed function may read of the JWT keys: the same as its IAM policy in
/// `template.yaml`. Only the token function reads the private key set; the functions that
/// verify tokens read the published public keys; the others read neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAccess {
    /// The private key set (token).
    Sign,
    /// The public keys (ingest, manage).
    Verify,
    /// No keys (fan-out, delivery).
    None,
}

/// What a deployed function does with the SQS queues: the same as its IAM policy in
/// `template.yaml`. Lambda's event source mappings receive and delete the messages of the
/// fan-out and delivery functions, so no function receives, deletes or counts messages; a
/// function holds only the sending half of the queue port ([`QueueSender`]), which also keeps
/// the SQS operations it never calls out of its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAccess {
    /// No queue at all (token).
    None,
    /// Sends messages and changes a received message's visibility (ingest, manage, fan-out,
    /// delivery).
    Send,
}

/// The three ports over AWS; `Q` is the queue port: [`QueueSender`] for a deployed function,
/// [`Queue`] for the local runner, which polls the queues itself.
pub struct AwsPorts<Q: ?Sized = dyn QueueSender> {
    /// DynamoDB.
    pub store: Arc<dyn Store>,
    /// SQS: what a deployed function may do with it.
    pub queue: Arc<Q>,
    /// Secrets Manager: both key secrets (a function reads only what its [`KeyAccess`] and
    /// its IAM policy allow).
    pub keys: SecretsKeys,
}

fn ports_with<Q: ?Sized>(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    queue: Arc<Q>,
) -> AwsPorts<Q> {
    AwsPorts {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            settings.table.clone(),
        )),
        queue,
        keys: key_secrets(sdk, settings),
    }
}

/// Builds the ports over the given SDK configuration and resource names, with full queue
/// access (the local runner, which polls the queues itself).
pub fn ports(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> AwsPorts<dyn Queue> {
    let sqs = SqsQueue::from_settings(aws_sdk_sqs::Client::new(sdk), settings);
    ports_with(sdk, settings, Arc::new(sqs) as Arc<dyn Queue>)
}

/// The ports of a deployed function: DynamoDB and Secrets Manager, and SQS as far as
/// `queues` allows.
pub fn function_ports(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    queues: QueueAccess,
) -> AwsPorts {
    let sqs = match queues {
        QueueAccess::None => None,
        QueueAccess::Send => Some(SqsQueue::from_settings(
            aws_sdk_sqs::Client::new(sdk),
            settings,
        )),
    };
    ports_with(
        sdk,
        settings,
        Arc::new(FunctionQueue::new(sqs)) as Arc<dyn QueueSender>,
    )
}

/// Builds a deployed function's handler context over the given SDK configuration and
/// resource names.
pub async fn context(
    sdk: &aws_config::SdkConfig,
    settings: &AwsSettings,
    config: HandlerConfig,
    queues: QueueAccess,
    keys: KeyAccess,
) -> Result<Arc<AppContext>, StartError> {
    let p = function_ports(sdk, settings, queues);
    let source = match keys {
        KeyAccess::Sign => KeySource::Signing(Arc::new(p.keys)),
        KeyAccess::Verify => KeySource::Published(Arc::new(p.keys)),
        KeyAccess::None => KeySource::None,
    };
    Ok(AppContext::new(p.store, p.queue, source, Arc::new(SystemClock), config).await?)
}

/// Creates the bootstrap admin client from the deploy-time secret named by
/// `HOOKLINE_BOOTSTRAP_ADMIN_SECRET` (JSON `{"client_id", "client_secret"}`), if the variable
/// is set, once in the stack's life (see `Store::insert_bootstrap_admin`): the token function
/// calls it at every cold start, and after the first it changes nothing, so an admin revoked
/// through the API stays revoked.
pub async fn ensure_bootstrap_admin(
    sdk: &aws_config::SdkConfig,
    ctx: &AppContext,
) -> Result<(), StartError> {
    match Env::process().text("HOOKLINE_BOOTSTRAP_ADMIN_SECRET") {
        Some(secret_id) => ensure_bootstrap_admin_from(sdk, ctx, &secret_id).await,
        None => Ok(()),
    }
}

/// [`ensure_bootstrap_admin`] from the secret `secret_id`.
pub async fn ensure_bootstrap_admin_from(
    sdk: &aws_config::SdkConfig,
    ctx: &AppContext,
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
