//! The handler configuration of a deployed function, from the environment the SAM template
//! sets.

use std::time::Duration;

use hookline_domain::RetrySchedule;
use hookline_domain::destination::DestinationPolicy;
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::rotation::RotationPolicy;

use crate::lambda::StartError;

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
