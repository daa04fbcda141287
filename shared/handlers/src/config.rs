//! Configuration shared by every handler. `hookline-runtime` fills it from the environment,
//! for the Lambda functions and the local runner alike.

use std::time::Duration;

use hookline_domain::destination::DestinationPolicy;
use hookline_domain::retry::QueueLimits;
use hookline_domain::{Limits, RetrySchedule, StatePattern, ValidationError};

/// How long SQS keeps a message by default in this stack (`MessageRetentionPeriod` of the
/// deliveries queue in template.yaml: 14 days, SQS's maximum).
pub const DEFAULT_QUEUE_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// Receives of a delivery message before the queue dead-letters it (template.yaml's
/// `DeliveriesMaxReceiveCount` default).
pub const DEFAULT_MAX_RECEIVES: u32 = 60;

/// Default requests in flight to one subscription per process: far above what a receiver
/// that answers in milliseconds needs, far below what would let one that hangs take over.
pub const DEFAULT_ENDPOINT_CONCURRENCY: usize = 32;

/// Default of how long every attempt to a subscription may fail before the system disables
/// it (5 days, as Svix does).
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// How long a pull subscription's messages are kept by default (7 days).
pub const DEFAULT_PULL_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest pull retention (365 days).
pub const MAX_PULL_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A pull retention in days (`HOOKLINE_PULL_RETENTION_DAYS`): a positive number, fractions
/// allowed (`0.5` keeps messages 12 hours), at most 365.
pub fn parse_pull_retention_days(text: &str) -> Result<Duration, String> {
    let days: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of days"))?;
    let secs = days * 86_400.0;
    if !(secs >= 1.0 && secs <= MAX_PULL_RETENTION.as_secs_f64()) {
        return Err("must be at least one second's worth of days and at most 365".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Handler configuration.
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// `iss` of issued tokens and base of the metadata URLs (`http://127.0.0.1:3000`). Empty:
    /// `https://` + the request's `Host`, for an API whose URL the deployment cannot know in
    /// advance (tokens stay bound to this stack by its signing key either way).
    pub issuer: String,
    /// Lifetime of access tokens.
    pub token_ttl: Duration,
    /// Where webhooks may go.
    pub destinations: DestinationPolicy,
    /// Delays between attempts.
    pub retry_schedule: RetrySchedule,
    /// What the deliveries queue lets one message carry (receives, retention, visibility):
    /// a retry's wait that a message could not carry goes out as a fresh message.
    pub delivery_queue: QueueLimits,
    /// How long a cached client (and so a disabled client's token) may stay valid.
    pub client_cache_ttl: Duration,
    /// Version string reported by `/health` and in `user-agent`.
    pub version: String,
    /// `embedded` or `aws`.
    pub backend: &'static str,
    /// State codes this stack serves (`*` = every state): events and subscriptions for other
    /// states belong to another state's stack and are refused.
    pub states: Vec<String>,
    /// Deliveries fan-out stores and then queues per step (1,000): the step between two looks
    /// at the invocation's deadline, and the most deliveries one write of the embedded store
    /// carries.
    pub fanout_step: usize,
    /// Requests in flight to one subscription, per process (see `with_endpoint_concurrency`).
    pub endpoint_concurrency: usize,
    /// How long every attempt to a subscription may fail before the system disables it
    /// (reason `failing`): a failed attempt this long after the first failure since the last
    /// success disables it.
    pub disable_after: Duration,
    /// What each client may ask of this stack, unless an admin set otherwise for it.
    pub limits: Limits,
    /// How long a pull subscription's messages are kept.
    pub pull_retention: Duration,
}

impl HandlerConfig {
    /// Requests one process may have in flight to one subscription; past it, an attempt is
    /// recorded as failed without being sent (and retried on the schedule).
    pub fn with_endpoint_concurrency(mut self, n: usize) -> Self {
        self.endpoint_concurrency = n.max(1);
        self
    }

    /// Defaults for a backend, with `issuer` as given.
    pub fn new(issuer: impl Into<String>, backend: &'static str) -> Self {
        HandlerConfig {
            issuer: issuer.into(),
            token_ttl: Duration::from_secs(900),
            destinations: DestinationPolicy {
                allow_http: false,
                allow_private: false,
            },
            retry_schedule: RetrySchedule::default(),
            delivery_queue: QueueLimits::sqs(DEFAULT_MAX_RECEIVES, DEFAULT_QUEUE_RETENTION),
            client_cache_ttl: Duration::from_secs(30),
            version: env!("CARGO_PKG_VERSION").to_string(),
            backend,
            states: vec!["*".to_string()],
            endpoint_concurrency: DEFAULT_ENDPOINT_CONCURRENCY,
            disable_after: DEFAULT_DISABLE_AFTER,
            fanout_step: 1_000,
            limits: Limits::default(),
            pull_retention: DEFAULT_PULL_RETENTION,
        }
    }

    /// Whether this stack serves `state`.
    pub fn serves(&self, state: &str) -> bool {
        self.states.iter().any(|s| s == "*" || s == state)
    }

    /// Parses a comma list of state codes (`AP,TG` or `*`).
    pub fn parse_states(text: &str) -> Result<Vec<String>, StatesError> {
        let mut out = Vec::new();
        for code in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            StatePattern::parse_field("states", code).map_err(StatesError::InvalidCode)?;
            out.push(code.to_string());
        }
        if out.is_empty() {
            return Err(StatesError::Empty);
        }
        Ok(out)
    }
}

/// Why a list of served states ([`HandlerConfig::parse_states`]) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatesError {
    /// An item is not a state code.
    #[error("{}", .0.detail)]
    InvalidCode(#[source] ValidationError),
    /// No state at all.
    #[error("at least one state code (or *) is required")]
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_states_parse_or_say_what_is_wrong() {
        assert_eq!(
            HandlerConfig::parse_states(" AP, TG ,"),
            Ok(vec!["AP".to_string(), "TG".to_string()])
        );
        assert_eq!(HandlerConfig::parse_states(" , "), Err(StatesError::Empty));
        let err = HandlerConfig::parse_states("AP,ap").expect_err("lower case");
        assert!(matches!(err, StatesError::InvalidCode(_)), "{err:?}");
        // The text a refused HOOKLINE_STATES is reported with.
        assert_eq!(
            err.to_string(),
            "states: a state code is 2-8 upper-case letters or digits (e.g. AP), or *"
        );
        assert_eq!(
            StatesError::Empty.to_string(),
            "at least one state code (or *) is required"
        );
    }
}
