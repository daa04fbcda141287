//! Wiring shared by every Lambda function: configuration from the environment the SAM
//! template sets, the AWS adapters behind the ports, the handler context, and JSON logs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::RetrySchedule;
use hookline_domain::destination::DestinationPolicy;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::auth::rotation::RotationPolicy;
use hookline_handlers::{AppContext, HandlerConfig};
use hookline_ports::{PortError, Queue, QueueMessage, QueueName, QueueSender, Store, SystemClock};

use crate::metrics::EmfMetrics;
use crate::settings::AwsSettings;
use crate::{DynamoStore, SecretsKeys, SqsQueue};

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

/// A whole number from the environment, `default` where unset.
fn number(name: &str, default: u64) -> Result<u64, StartError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| StartError::Config(format!("{name}: '{v}' is not a number"))),
    }
}

/// The handler configuration of a deployed function: `HOOKLINE_ISSUER` (the API's public
/// base URL; unset: `https://` + the request's host), `HOOKLINE_TOKEN_TTL_SECS` (900), `HOOKLINE_RETRY_SCHEDULE` (the API.md default),
/// `HOOKLINE_ALLOW_PRIVATE_DESTINATIONS` and `HOOKLINE_ALLOW_HTTP` (both false), and the
/// deliveries queue's `HOOKLINE_MAX_RECEIVES` (60) and `HOOKLINE_QUEUE_RETENTION_SECS`
/// (1,209,600: 14 days), and `HOOKLINE_DISABLE_AFTER_SECS` (432,000: 5 days of failing
/// before a subscription is disabled).
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
    let max_receives = number(
        "HOOKLINE_MAX_RECEIVES",
        u64::from(hookline_handlers::config::DEFAULT_MAX_RECEIVES),
    )?;
    let retention = number(
        "HOOKLINE_QUEUE_RETENTION_SECS",
        hookline_handlers::config::DEFAULT_QUEUE_RETENTION.as_secs(),
    )?;
    config.delivery_queue = hookline_domain::retry::QueueLimits::sqs(
        u32::try_from(max_receives.clamp(1, 1000)).unwrap_or(1000),
        Duration::from_secs(retention.clamp(60, 1_209_600)),
    );
    config.disable_after = Duration::from_secs(number(
        "HOOKLINE_DISABLE_AFTER_SECS",
        hookline_handlers::config::DEFAULT_DISABLE_AFTER.as_secs(),
    )?);
    if let Some(states) = var("HOOKLINE_STATES") {
        config.states = HandlerConfig::parse_states(&states)
            .map_err(|e| StartError::Config(format!("HOOKLINE_STATES: {e}")))?;
    }
    config.limits =
        HandlerConfig::limits_from(|name| std::env::var(name).ok()).map_err(StartError::Config)?;
    config.destinations = DestinationPolicy {
        allow_private: flag("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS")?,
        allow_http: flag("HOOKLINE_ALLOW_HTTP")?,
    };
    Ok(config)
}

/// How the `keys` function rotates: `HOOKLINE_TOKEN_TTL_SECS` (900: how long a retired key
/// must still verify) and `HOOKLINE_KEY_ACTIVATION_SECS` (3600: from a new key's publication
/// to its first signature).
pub fn rotation_policy_from_env() -> Result<RotationPolicy, StartError> {
    Ok(RotationPolicy {
        activation_delay: Duration::from_secs(number("HOOKLINE_KEY_ACTIVATION_SECS", 3600)?),
        token_ttl: Duration::from_secs(number("HOOKLINE_TOKEN_TTL_SECS", 900)?),
    })
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
    let settings = AwsSettings::from_env().map_err(|e| StartError::Config(e.to_string()))?;
    let config = handler_config_from_env()?;
    let sdk = crate::function_sdk_config();
    context(&sdk, &settings, config, queues, keys).await
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
        keys: SecretsKeys::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            settings.signing_key_secret.clone(),
            settings.public_keys_secret.clone(),
        ),
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
        Arc::new(FunctionQueue { sqs }) as Arc<dyn QueueSender>,
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

/// The sending half of the queue port of a deployed function ([`QueueAccess`]): sends and
/// visibility changes go to SQS if the function may send, and fail without calling SQS if it
/// has no queue access (the token function). Receiving, deleting and counting are the event
/// source mapping's job (and outside every function's IAM policy): not offered at all.
#[derive(Debug)]
pub struct FunctionQueue {
    sqs: Option<SqsQueue>,
}

impl FunctionQueue {
    fn sender(&self) -> Result<&SqsQueue, PortError> {
        self.sqs
            .as_ref()
            .ok_or_else(|| PortError::backend("this function has no queue access"))
    }
}

#[async_trait]
impl QueueSender for FunctionQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.sender()?.send(queue, messages).await
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.sender()?
            .change_visibility(queue, receipt_handle, visibility)
            .await
    }
}

/// JSON logs on stdout, one object per line, as CloudWatch expects; level from `RUST_LOG`
/// (default `info`): a level, or comma-separated `target=level` directives
/// (`info,hookline_handlers=debug`). Span and field filters (the regular-expression part of
/// `EnvFilter`'s syntax) are not supported here, which keeps a regex engine out of functions
/// that have no other use for one; a malformed value falls back to `info`.
///
/// A line logged during an invocation lists the spans it runs in (`spans`): first
/// lambda_runtime's, with the invocation's `requestId` and `xrayTraceId`, then
/// [`invocation`]'s, with `coldStart`. Both are kept at any level, so that an error line
/// under `RUST_LOG=warn` still says which request it belongs to.
pub fn init_logs() {
    use tracing_subscriber::util::SubscriberInitExt;
    json_logs(var("RUST_LOG").as_deref(), std::io::stdout).init();
}

/// The target of lambda_runtime's span around each invocation (`requestId`, `xrayTraceId`).
const RUNTIME_SPAN_TARGET: &str = "lambda_runtime::layers::trace";
/// The target of [`invocation`]'s span (`coldStart`), which no event uses.
const INVOCATION_SPAN_TARGET: &str = "hookline::invocation";

/// The subscriber [`init_logs`] installs, with the filter `rust_log` describes, writing to
/// `writer` (tests read the lines back).
pub fn json_logs<W>(
    rust_log: Option<&str>,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .without_time()
                .with_writer(writer),
        )
        .with(log_filter(rust_log))
}

/// `RUST_LOG`'s directives, with the invocation spans always on (they hold no events).
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing::Level;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let mut filter = rust_log
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    for target in [RUNTIME_SPAN_TARGET, INVOCATION_SPAN_TARGET] {
        if !filter.would_enable(target, &Level::INFO) {
            filter = filter.with_target(target, Level::INFO);
        }
    }
    filter
}

/// Whether this process has begun an invocation yet.
static INVOKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs one invocation's `work` in a span that says whether it is the first of this process
/// (`coldStart`), which every line it logs carries; then prints the metrics it recorded,
/// before the function answers (Lambda may freeze the process as soon as it has).
pub async fn invocation<F: Future>(metrics: &EmfMetrics, work: F) -> F::Output {
    use tracing::Instrument;
    let cold_start = !INVOKED.swap(true, std::sync::atomic::Ordering::Relaxed);
    let output = work.instrument(invocation_span(cold_start)).await;
    metrics.flush();
    output
}

fn invocation_span(cold_start: bool) -> tracing::Span {
    tracing::info_span!(target: INVOCATION_SPAN_TARGET, "invocation", coldStart = cold_start)
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
    match var("HOOKLINE_BOOTSTRAP_ADMIN_SECRET") {
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
    hookline_handlers::bootstrap::ensure_admin(
        ctx.store.as_ref(),
        ctx.clock.as_ref(),
        &admin.client_id,
        &admin.client_secret,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::QueueUrls;

    fn sqs() -> SqsQueue {
        // An endpoint nothing listens on: a call that reached SQS would fail differently.
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let url = "http://127.0.0.1:9/q".to_string();
        SqsQueue::new(
            aws_sdk_sqs::Client::from_conf(config),
            QueueUrls {
                events: url.clone(),
                events_dlq: url.clone(),
                deliveries: url.clone(),
                deliveries_dlq: url,
            },
        )
    }

    fn message(e: PortError) -> String {
        e.to_string()
    }

    #[tokio::test]
    async fn a_function_without_queue_access_refuses_every_call() {
        let q = FunctionQueue { sqs: None };
        let msg = || vec![QueueMessage::now("{}".to_string())];
        for e in [
            q.send(QueueName::Events, msg()).await.err(),
            q.change_visibility(QueueName::Deliveries, "h", Duration::ZERO)
                .await
                .err(),
        ] {
            let e = message(e.expect("refused"));
            assert!(e.contains("has no queue access"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_sending_function_sends_to_sqs() {
        let q = FunctionQueue { sqs: Some(sqs()) };
        // Sends do go to SQS (here: an endpoint that refuses the connection).
        let sent = q
            .send(QueueName::Events, vec![QueueMessage::now("{}".to_string())])
            .await
            .expect_err("nothing listens");
        assert!(!message(sent).contains("no queue access"));
    }

    #[test]
    fn the_invocation_spans_stay_on_at_any_level() {
        use tracing::Level;
        for rust_log in [
            None,
            Some("warn"),
            Some("error,hookline_handlers=debug"),
            Some("off"),
        ] {
            let filter = log_filter(rust_log);
            for target in [RUNTIME_SPAN_TARGET, INVOCATION_SPAN_TARGET] {
                assert!(filter.would_enable(target, &Level::INFO), "{rust_log:?}");
            }
        }
        let quiet = log_filter(Some("warn"));
        assert!(!quiet.would_enable("hookline_handlers::delivery", &Level::INFO));
        assert!(!quiet.would_enable("lambda_runtime::runtime", &Level::INFO));
        let verbose = log_filter(Some("info,lambda_runtime=trace"));
        assert!(
            verbose.would_enable(RUNTIME_SPAN_TARGET, &Level::TRACE),
            "a directive that asks for more is kept"
        );
    }
}
