//! The runner's configuration, read from the environment (every variable is documented in
//! the README with its default).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hookline_domain::RetrySchedule;

/// Which implementation of the ports the runner uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory.
    Embedded,
    /// DynamoDB, SQS and Secrets Manager (AWS, or an emulator named by `AWS_ENDPOINT_URL`).
    Aws,
}

/// Everything the local runner reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOOKLINE_BACKEND` (embedded): `embedded` or `aws`.
    pub backend: Backend,
    /// `HOOKLINE_ADDR` (127.0.0.1:3000; port 0 picks a free port).
    pub addr: SocketAddr,
    /// `HOOKLINE_DATA_DIR` (./.hookline).
    pub data_dir: PathBuf,
    /// `HOOKLINE_ADMIN_CLIENT_ID` and `HOOKLINE_ADMIN_CLIENT_SECRET`.
    pub admin: Option<(String, String)>,
    /// `HOOKLINE_RETRY_SCHEDULE` (5s,30s,2m,10m,30m,1h,2h,4h,8h,12h,12h).
    pub retry_schedule: RetrySchedule,
    /// `HOOKLINE_ALLOW_PRIVATE_DESTINATIONS` (true).
    pub allow_private: bool,
    /// `HOOKLINE_ALLOW_HTTP` (true).
    pub allow_http: bool,
    /// `HOOKLINE_CATALOG` (the built-in fortification catalog).
    pub catalog: Option<PathBuf>,
    /// `HOOKLINE_TOKEN_TTL_SECS` (900).
    pub token_ttl: Duration,
    /// `HOOKLINE_KEY_ACTIVATION_SECS` (3600): from a rotated-in key's publication to its
    /// first signature (`hookline-local keys rotate`).
    pub key_activation: Duration,
    /// `HOOKLINE_VISIBILITY_TIMEOUT_SECS` (60): how long a received message stays hidden.
    pub visibility: Duration,
    /// `HOOKLINE_MAX_RECEIVES` (60): receives of a delivery message before redrive.
    pub max_receives: u32,
    /// `HOOKLINE_DELIVERY_CONCURRENCY` (64): deliveries in flight at once.
    pub delivery_concurrency: usize,
    /// `HOOKLINE_ENDPOINT_CONCURRENCY` (half the delivery concurrency): requests in flight to
    /// one subscription; past it, an attempt is recorded as failed unsent and retried.
    pub endpoint_concurrency: usize,
    /// `HOOKLINE_DISABLE_AFTER_SECS` (432000: 5 days): how long every attempt to a
    /// subscription may fail before it is disabled (reason `failing`).
    pub disable_after: Duration,
    /// `HOOKLINE_ISSUER` (http://ADDR): token issuer and metadata base URL.
    pub issuer: Option<String>,
    /// `HOOKLINE_LOG_FORMAT` (text): `text` or `json`.
    pub json_logs: bool,
    /// `HOOKLINE_STATES` (*): the state codes this stack serves.
    pub states: Vec<String>,
}

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    reason: String,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            name,
            reason: format!("cannot parse '{v}'"),
        }),
    }
}

fn flag(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError {
            name,
            reason: format!("'{v}' is not true or false"),
        }),
    }
}

impl Config {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        let admin = match (
            var("HOOKLINE_ADMIN_CLIENT_ID"),
            var("HOOKLINE_ADMIN_CLIENT_SECRET"),
        ) {
            (Some(id), Some(secret)) => {
                if secret.len() < 16 {
                    return Err(ConfigError {
                        name: "HOOKLINE_ADMIN_CLIENT_SECRET",
                        reason: "must be at least 16 characters".into(),
                    });
                }
                Some((id, secret))
            }
            (None, None) => None,
            _ => {
                return Err(ConfigError {
                    name: "HOOKLINE_ADMIN_CLIENT_ID",
                    reason: "set both HOOKLINE_ADMIN_CLIENT_ID and HOOKLINE_ADMIN_CLIENT_SECRET, or neither".into(),
                });
            }
        };
        let retry_schedule = match var("HOOKLINE_RETRY_SCHEDULE") {
            None => RetrySchedule::default(),
            Some(s) => RetrySchedule::parse(&s).map_err(|reason| ConfigError {
                name: "HOOKLINE_RETRY_SCHEDULE",
                reason,
            })?,
        };
        let format = var("HOOKLINE_LOG_FORMAT").unwrap_or_else(|| "text".into());
        let json_logs = match format.as_str() {
            "json" => true,
            "text" => false,
            other => {
                return Err(ConfigError {
                    name: "HOOKLINE_LOG_FORMAT",
                    reason: format!("'{other}' is not text or json"),
                });
            }
        };
        let backend = match var("HOOKLINE_BACKEND").as_deref().map(str::trim) {
            None | Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws,
            Some(other) => {
                return Err(ConfigError {
                    name: "HOOKLINE_BACKEND",
                    reason: format!("'{other}' is not embedded or aws"),
                });
            }
        };
        let states = match var("HOOKLINE_STATES") {
            None => vec!["*".to_string()],
            Some(s) => hookline_handlers::HandlerConfig::parse_states(&s).map_err(|reason| {
                ConfigError {
                    name: "HOOKLINE_STATES",
                    reason,
                }
            })?,
        };
        let delivery_concurrency = parsed("HOOKLINE_DELIVERY_CONCURRENCY", 64usize)?.clamp(1, 1024);
        let endpoint_concurrency = parsed(
            "HOOKLINE_ENDPOINT_CONCURRENCY",
            (delivery_concurrency / 2).max(1),
        )?
        .clamp(1, 1024);
        Ok(Config {
            states,
            backend,
            addr: parsed("HOOKLINE_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            data_dir: var("HOOKLINE_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".hookline")),
            admin,
            retry_schedule,
            allow_private: flag("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", true)?,
            allow_http: flag("HOOKLINE_ALLOW_HTTP", true)?,
            catalog: var("HOOKLINE_CATALOG").map(PathBuf::from),
            token_ttl: Duration::from_secs(
                parsed("HOOKLINE_TOKEN_TTL_SECS", 900u64)?.clamp(60, 86_400),
            ),
            key_activation: Duration::from_secs(
                parsed("HOOKLINE_KEY_ACTIVATION_SECS", 3600u64)?.min(86_400),
            ),
            visibility: Duration::from_secs(
                parsed("HOOKLINE_VISIBILITY_TIMEOUT_SECS", 60u64)?.clamp(1, 43_200),
            ),
            max_receives: parsed("HOOKLINE_MAX_RECEIVES", 60u32)?.clamp(1, 1000),
            delivery_concurrency,
            endpoint_concurrency,
            disable_after: Duration::from_secs(parsed(
                "HOOKLINE_DISABLE_AFTER_SECS",
                hookline_handlers::config::DEFAULT_DISABLE_AFTER.as_secs(),
            )?),
            issuer: var("HOOKLINE_ISSUER").map(|s| s.trim_end_matches('/').to_string()),
            json_logs,
        })
    }
}
