//! The configuration the Lambda functions and the local runner share, typed, read once through
//! [`Env`]; the crate's documentation lists every variable with its default. Each runtime
//! turns it into the handlers' [`HandlerConfig`] (the runner then adds what only it has).

use std::time::Duration;

use hookline_aws::AwsSettings;
use hookline_aws::metrics::{DEFAULT_STAGE, EmfMetrics};
use hookline_domain::destination::DestinationPolicy;
use hookline_domain::retry::QueueLimits;
use hookline_domain::{LimitOverrides, Limits, RetrySchedule};
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::rotation::RotationPolicy;
use hookline_handlers::config::{
    DEFAULT_DISABLE_AFTER, DEFAULT_MAX_RECEIVES, DEFAULT_PULL_RETENTION, DEFAULT_QUEUE_RETENTION,
    parse_pull_retention_days,
};

use crate::env::{Env, EnvError};

/// Which program reads the configuration: where their defaults differ, the table in the
/// crate's documentation says which is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// A Lambda function: destinations are public https URLs unless allowed otherwise.
    Lambda,
    /// The local runner, a laptop's tool: private destinations and plain http are allowed
    /// unless refused.
    Runner,
}

/// What every runtime reads: the stack's tokens, keys, retries, states, limits and
/// destinations.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// `HOOKLINE_ISSUER`, without a trailing `/`; unset: the runtime's own default.
    pub issuer: Option<String>,
    /// `HOOKLINE_TOKEN_TTL_SECS`.
    pub token_ttl: Duration,
    /// `HOOKLINE_KEY_ACTIVATION_SECS`: from a new key's publication to its first signature.
    pub key_activation: Duration,
    /// `HOOKLINE_RETRY_SCHEDULE`.
    pub retry_schedule: RetrySchedule,
    /// `HOOKLINE_MAX_RECEIVES`: receives of a delivery message before it is dead-lettered.
    pub max_receives: u32,
    /// `HOOKLINE_QUEUE_RETENTION_SECS`: how long SQS keeps a delivery message.
    pub queue_retention: Duration,
    /// `HOOKLINE_DISABLE_AFTER_SECS`.
    pub disable_after: Duration,
    /// `HOOKLINE_STATES`.
    pub states: Vec<String>,
    /// `HOOKLINE_RATE_LIMIT_PER_SECOND`, `HOOKLINE_RATE_LIMIT_BURST`,
    /// `HOOKLINE_MAX_SUBSCRIPTIONS`, `HOOKLINE_MAX_REPLAY_EVENTS`,
    /// `HOOKLINE_TEST_PINGS_PER_MINUTE`: each client's limits unless an admin set its own.
    pub limits: Limits,
    /// `HOOKLINE_ALLOW_PRIVATE_DESTINATIONS` and `HOOKLINE_ALLOW_HTTP`.
    pub destinations: DestinationPolicy,
    /// `HOOKLINE_PULL_RETENTION_DAYS`: how long pull subscriptions' messages are kept.
    pub pull_retention: Duration,
}

impl StackConfig {
    /// Reads every shared variable, with `runtime`'s defaults.
    pub fn from_env(env: &Env, runtime: Runtime) -> Result<StackConfig, EnvError> {
        let laptop = runtime == Runtime::Runner;
        Ok(StackConfig {
            issuer: env
                .text("HOOKLINE_ISSUER")
                .map(|s| s.trim_end_matches('/').to_string()),
            token_ttl: token_ttl(env)?,
            key_activation: key_activation(env)?,
            retry_schedule: env
                .parsed("HOOKLINE_RETRY_SCHEDULE", RetrySchedule::parse)?
                .unwrap_or_default(),
            max_receives: env.number("HOOKLINE_MAX_RECEIVES", DEFAULT_MAX_RECEIVES, 1..=1000)?,
            queue_retention: env.secs(
                "HOOKLINE_QUEUE_RETENTION_SECS",
                DEFAULT_QUEUE_RETENTION.as_secs(),
                60..=1_209_600,
            )?,
            disable_after: env.secs(
                "HOOKLINE_DISABLE_AFTER_SECS",
                DEFAULT_DISABLE_AFTER.as_secs(),
                0..=u64::MAX,
            )?,
            states: env
                .parsed("HOOKLINE_STATES", HandlerConfig::parse_states)?
                .unwrap_or_else(|| vec!["*".to_string()]),
            limits: limits(env)?,
            destinations: DestinationPolicy {
                allow_private: env.flag("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", laptop)?,
                allow_http: env.flag("HOOKLINE_ALLOW_HTTP", laptop)?,
            },
            pull_retention: env
                .parsed("HOOKLINE_PULL_RETENTION_DAYS", parse_pull_retention_days)?
                .unwrap_or(DEFAULT_PULL_RETENTION),
        })
    }

    /// The handlers' configuration for `backend`, whose issuer is `default_issuer` unless
    /// `HOOKLINE_ISSUER` names one; the deliveries queue is SQS's (the runner's embedded
    /// queue replaces it).
    pub fn handler_config(&self, default_issuer: String, backend: &'static str) -> HandlerConfig {
        let mut config = HandlerConfig::new(self.issuer.clone().unwrap_or(default_issuer), backend);
        config.token_ttl = self.token_ttl;
        config.retry_schedule = self.retry_schedule.clone();
        config.delivery_queue = QueueLimits::sqs(self.max_receives, self.queue_retention);
        config.disable_after = self.disable_after;
        config.states = self.states.clone();
        config.limits = self.limits;
        config.destinations = self.destinations;
        config.pull_retention = self.pull_retention;
        config
    }

    /// How rotation spaces the keys.
    pub fn rotation_policy(&self) -> RotationPolicy {
        RotationPolicy {
            activation_delay: self.key_activation,
            token_ttl: self.token_ttl,
        }
    }
}

/// `HOOKLINE_TOKEN_TTL_SECS`: 900, from 60 to 86,400.
fn token_ttl(env: &Env) -> Result<Duration, EnvError> {
    env.secs("HOOKLINE_TOKEN_TTL_SECS", 900, 60..=86_400)
}

/// `HOOKLINE_KEY_ACTIVATION_SECS`: 3,600, up to 86,400.
fn key_activation(env: &Env) -> Result<Duration, EnvError> {
    env.secs("HOOKLINE_KEY_ACTIVATION_SECS", 3600, 0..=86_400)
}

/// Each client's limits: the defaults, with what the variables set.
fn limits(env: &Env) -> Result<Limits, EnvError> {
    type Field = fn(&mut LimitOverrides) -> &mut Option<u32>;
    let fields: [(&'static str, Field); 5] = [
        ("HOOKLINE_RATE_LIMIT_PER_SECOND", |o| {
            &mut o.requests_per_second
        }),
        ("HOOKLINE_RATE_LIMIT_BURST", |o| &mut o.burst),
        ("HOOKLINE_MAX_SUBSCRIPTIONS", |o| &mut o.max_subscriptions),
        ("HOOKLINE_MAX_REPLAY_EVENTS", |o| &mut o.max_replay_events),
        ("HOOKLINE_TEST_PINGS_PER_MINUTE", |o| {
            &mut o.test_pings_per_minute
        }),
    ];
    let mut all = LimitOverrides::default();
    for (name, field) in fields {
        let Some(value) = env.optional_number(name)? else {
            continue;
        };
        // Checked one by one, so that the error names the variable.
        let mut one = LimitOverrides::default();
        *field(&mut one) = Some(value);
        one.validate().map_err(|e| EnvError::new(name, e.detail))?;
        *field(&mut all) = Some(value);
    }
    Ok(Limits::default().with(&all))
}

/// The handler configuration of a deployed function (every variable of [`StackConfig`]).
pub fn handler_config(env: &Env) -> Result<HandlerConfig, EnvError> {
    Ok(StackConfig::from_env(env, Runtime::Lambda)?.handler_config(String::new(), "aws"))
}

/// How the `keys` function rotates: `HOOKLINE_TOKEN_TTL_SECS` (how long a retired key must
/// still verify) and `HOOKLINE_KEY_ACTIVATION_SECS`, read as [`StackConfig`] reads them; it
/// reads no other variable of the stack's.
pub fn rotation_policy(env: &Env) -> Result<RotationPolicy, EnvError> {
    Ok(RotationPolicy {
        activation_delay: key_activation(env)?,
        token_ttl: token_ttl(env)?,
    })
}

/// The names of a stack's AWS resources, each required (`hookline_aws::settings::ENV_VARS`).
pub fn aws_settings(env: &Env) -> Result<AwsSettings, EnvError> {
    Ok(AwsSettings {
        table: env.required("HOOKLINE_TABLE")?,
        events_queue_url: env.required("HOOKLINE_EVENTS_QUEUE_URL")?,
        events_dlq_url: env.required("HOOKLINE_EVENTS_DLQ_URL")?,
        deliveries_queue_url: env.required("HOOKLINE_DELIVERIES_QUEUE_URL")?,
        deliveries_dlq_url: env.required("HOOKLINE_DELIVERIES_DLQ_URL")?,
        signing_key_secret: env.required("HOOKLINE_SIGNING_KEY_SECRET")?,
        public_keys_secret: env.required("HOOKLINE_PUBLIC_KEYS_SECRET")?,
        secrets_prefix: env.required("HOOKLINE_SECRETS_PREFIX")?,
    })
}

/// A Lambda function's metrics sink, for the stage `HOOKLINE_STAGE` names.
pub fn metrics(env: &Env) -> EmfMetrics {
    let stage = env.text("HOOKLINE_STAGE");
    EmfMetrics::new(stage.as_deref().map_or(DEFAULT_STAGE, str::trim))
}

#[cfg(test)]
mod tests {
    use hookline_ports::Metrics;

    use super::*;

    fn lambda(pairs: &[(&str, &str)]) -> Result<StackConfig, EnvError> {
        StackConfig::from_env(&Env::from_pairs(pairs.iter().copied()), Runtime::Lambda)
    }

    #[test]
    fn the_runtimes_differ_only_in_where_destinations_may_go() {
        let none = Env::from_pairs::<&str, &str>([]);
        let aws = StackConfig::from_env(&none, Runtime::Lambda).expect("defaults");
        let laptop = StackConfig::from_env(&none, Runtime::Runner).expect("defaults");
        assert!(!aws.destinations.allow_private && !aws.destinations.allow_http);
        assert!(laptop.destinations.allow_private && laptop.destinations.allow_http);
        assert_eq!(aws.token_ttl, laptop.token_ttl);
        assert_eq!(aws.max_receives, DEFAULT_MAX_RECEIVES);
        assert_eq!(aws.queue_retention, DEFAULT_QUEUE_RETENTION);
        assert_eq!(aws.states, ["*"]);
        assert_eq!(aws.limits, Limits::default());
    }

    #[test]
    fn a_lambda_takes_the_runners_spellings_of_a_flag() {
        let c = lambda(&[
            ("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "yes"),
            ("HOOKLINE_ALLOW_HTTP", "On"),
        ])
        .expect("flags");
        assert!(c.destinations.allow_private && c.destinations.allow_http);
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_variable() {
        for (name, value) in [
            ("HOOKLINE_TOKEN_TTL_SECS", "15m"),
            ("HOOKLINE_RETRY_SCHEDULE", "soon"),
            ("HOOKLINE_STATES", "not a state"),
            ("HOOKLINE_MAX_RECEIVES", "many"),
            ("HOOKLINE_RATE_LIMIT_BURST", "0"),
            ("HOOKLINE_MAX_SUBSCRIPTIONS", "99999999"),
            ("HOOKLINE_ALLOW_HTTP", "sometimes"),
        ] {
            let e = lambda(&[(name, value)]).expect_err(name);
            assert_eq!(e.name(), name, "{e}");
        }
    }

    #[test]
    fn limits_and_durations_reach_the_handlers() {
        let c = lambda(&[
            ("HOOKLINE_RATE_LIMIT_PER_SECOND", "0"),
            ("HOOKLINE_MAX_SUBSCRIPTIONS", "5"),
            ("HOOKLINE_TOKEN_TTL_SECS", "30"),
            ("HOOKLINE_ISSUER", "https://hooks.example/"),
        ])
        .expect("config");
        let hc = c.handler_config(String::new(), "aws");
        assert_eq!(hc.limits.requests_per_second, 0);
        assert_eq!(hc.limits.max_subscriptions, 5);
        assert_eq!(
            hc.token_ttl,
            Duration::from_secs(60),
            "brought up to the minimum"
        );
        assert_eq!(hc.issuer, "https://hooks.example");
        assert_eq!(c.rotation_policy().token_ttl, hc.token_ttl);
    }

    #[test]
    fn a_missing_resource_name_is_named() {
        let e = aws_settings(&Env::from_pairs([("HOOKLINE_TABLE", "t")])).expect_err("missing");
        assert_eq!(e.to_string(), "HOOKLINE_EVENTS_QUEUE_URL: is not set");
    }

    #[test]
    fn the_metrics_carry_the_stage_trimmed_and_default_when_unset_or_blank() {
        for (set, stage) in [
            (None, DEFAULT_STAGE),
            (Some("  "), DEFAULT_STAGE),
            (Some(" prod "), "prod"),
        ] {
            let env = Env::from_pairs(set.map(|v| ("HOOKLINE_STAGE", v)));
            let sink = metrics(&env);
            sink.events_accepted("AP", "LotDispatched", 1);
            let mut out = Vec::new();
            sink.flush_to(&mut out).expect("flush");
            let line: serde_json::Value = serde_json::from_slice(&out).expect("one EMF line");
            assert_eq!(line["Stage"], stage, "{set:?}");
        }
    }
}
