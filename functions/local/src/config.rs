//! The runner's configuration, read from the environment (every variable is documented in
//! the README with its default).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hookline_domain::RetrySchedule;

use crate::server::HttpLimits;

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
    /// `HOOKLINE_ALLOW_UNSAFE_DESTINATIONS` (false): keep the two above while listening on a
    /// non-loopback address or running on the AWS backend ([`Config::check_exposure`]).
    pub allow_unsafe_destinations: bool,
    /// `HOOKLINE_HTTP_HEADER_TIMEOUT_SECS` (10), `HOOKLINE_HTTP_BODY_TIMEOUT_SECS` (30),
    /// `HOOKLINE_HTTP_IDLE_TIMEOUT_SECS` (60), `HOOKLINE_HTTP_MAX_CONNECTIONS` (1024).
    pub http: HttpLimits,
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
    /// `HOOKLINE_RETENTION_SECS` (2,592,000: 30 days, as DynamoDB's time to live on AWS;
    /// 60 s to a year): the embedded store deletes events and deliveries older than this.
    pub retention: Duration,
    /// `HOOKLINE_ISSUER` (http://ADDR): token issuer and metadata base URL.
    pub issuer: Option<String>,
    /// `HOOKLINE_LOG_FORMAT` (text): `text` or `json`.
    pub json_logs: bool,
    /// `HOOKLINE_RATE_LIMIT_PER_SECOND`, `HOOKLINE_RATE_LIMIT_BURST`,
    /// `HOOKLINE_MAX_SUBSCRIPTIONS`, `HOOKLINE_MAX_REPLAY_EVENTS`,
    /// `HOOKLINE_TEST_PINGS_PER_MINUTE`: each client's limits, unless an admin set its own
    /// (see `HandlerConfig::limits_from`).
    pub limits: hookline_domain::Limits,
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

/// A whole number of seconds, from 1 to `max`.
fn secs(name: &'static str, default: u64, max: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(parsed(name, default)?.clamp(1, max)))
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
        let limits = hookline_handlers::HandlerConfig::limits_from(|name| std::env::var(name).ok())
            .map_err(|reason| ConfigError {
                name: "HOOKLINE_RATE_LIMIT_*",
                reason,
            })?;
        Ok(Config {
            limits,
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
            allow_unsafe_destinations: flag("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS", false)?,
            http: HttpLimits {
                header_timeout: secs("HOOKLINE_HTTP_HEADER_TIMEOUT_SECS", 10, 300)?,
                body_timeout: secs("HOOKLINE_HTTP_BODY_TIMEOUT_SECS", 30, 3600)?,
                idle_timeout: secs("HOOKLINE_HTTP_IDLE_TIMEOUT_SECS", 60, 3600)?,
                max_connections: parsed("HOOKLINE_HTTP_MAX_CONNECTIONS", 1024usize)?
                    .clamp(1, 65_536),
            },
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
            retention: Duration::from_secs(
                parsed("HOOKLINE_RETENTION_SECS", 2_592_000u64)?.clamp(60, 31_536_000),
            ),
            issuer: var("HOOKLINE_ISSUER").map(|s| s.trim_end_matches('/').to_string()),
            json_logs,
        })
    }
}

impl Config {
    /// Refuses the laptop defaults that let webhooks reach private addresses or use plain
    /// http (`HOOKLINE_ALLOW_PRIVATE_DESTINATIONS`, `HOOKLINE_ALLOW_HTTP`) where the runner
    /// is more than a laptop's: listening on a non-loopback address, or on the AWS backend.
    /// `HOOKLINE_ALLOW_UNSAFE_DESTINATIONS=true` keeps them there on purpose.
    pub fn check_exposure(&self) -> Result<(), ConfigError> {
        if self.allow_unsafe_destinations || !(self.allow_private || self.allow_http) {
            return Ok(());
        }
        let exposed = if self.backend == Backend::Aws {
            "it runs on the AWS backend (HOOKLINE_BACKEND=aws)".to_string()
        } else if !self.addr.ip().is_loopback() {
            format!(
                "it listens on {}, which is not a loopback address (HOOKLINE_ADDR)",
                self.addr
            )
        } else {
            return Ok(());
        };
        let allowed: Vec<&str> = [
            (self.allow_private, "HOOKLINE_ALLOW_PRIVATE_DESTINATIONS"),
            (self.allow_http, "HOOKLINE_ALLOW_HTTP"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        Err(ConfigError {
            name: allowed[0],
            reason: format!(
                "{} true (the default, meant for a laptop: webhooks may reach private and \
                 loopback addresses or use plain http), but {exposed}. Set {} to false; or, \
                 to keep {} on purpose (a private network, an emulator on this machine), \
                 set HOOKLINE_ALLOW_UNSAFE_DESTINATIONS=true",
                if allowed.len() == 2 {
                    format!("{} are", allowed.join(" and "))
                } else {
                    format!("{} is", allowed[0])
                },
                allowed.join(" and "),
                if allowed.len() == 2 { "them" } else { "it" },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults: embedded, on 127.0.0.1, private destinations and plain http allowed.
    fn laptop() -> Config {
        Config {
            backend: Backend::Embedded,
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from(".hookline"),
            admin: None,
            retry_schedule: RetrySchedule::default(),
            allow_private: true,
            allow_http: true,
            allow_unsafe_destinations: false,
            http: HttpLimits {
                header_timeout: Duration::from_secs(10),
                body_timeout: Duration::from_secs(30),
                idle_timeout: Duration::from_secs(60),
                max_connections: 1024,
            },
            catalog: None,
            token_ttl: Duration::from_secs(900),
            key_activation: Duration::from_secs(3600),
            visibility: Duration::from_secs(60),
            max_receives: 60,
            delivery_concurrency: 64,
            endpoint_concurrency: 32,
            issuer: None,
            json_logs: false,
            states: vec!["*".into()],
            limits: hookline_domain::Limits::default(),
            disable_after: Duration::from_secs(432_000),
            retention: Duration::from_secs(2_592_000),
        }
    }

    #[test]
    fn the_laptop_defaults_are_fine_on_loopback() {
        assert!(laptop().check_exposure().is_ok());
        let v6 = Config {
            addr: "[::1]:3000".parse().expect("an address"),
            ..laptop()
        };
        assert!(v6.check_exposure().is_ok());
    }

    #[test]
    fn unsafe_destinations_off_loopback_are_refused_with_what_to_do() {
        for addr in ["0.0.0.0:3000", "[::]:3000", "192.168.1.5:3000"] {
            let config = Config {
                addr: addr.parse().expect("an address"),
                ..laptop()
            };
            let e = config.check_exposure().expect_err(addr).to_string();
            assert!(e.contains(addr), "{e}");
            assert!(e.contains("not a loopback address"), "{e}");
            assert!(
                e.contains(
                    "Set HOOKLINE_ALLOW_PRIVATE_DESTINATIONS and HOOKLINE_ALLOW_HTTP to false"
                ),
                "{e}"
            );
            assert!(e.contains("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS=true"), "{e}");
        }
    }

    #[test]
    fn unsafe_destinations_on_the_aws_backend_are_refused() {
        let config = Config {
            backend: Backend::Aws,
            allow_http: false,
            ..laptop()
        };
        let e = config.check_exposure().expect_err("refused").to_string();
        assert!(
            e.starts_with("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS: "),
            "{e}"
        );
        assert!(e.contains("HOOKLINE_BACKEND=aws"), "{e}");
        assert!(
            e.contains("Set HOOKLINE_ALLOW_PRIVATE_DESTINATIONS to false"),
            "{e}"
        );
        assert!(!e.contains("HOOKLINE_ALLOW_HTTP"), "{e}");
    }

    #[test]
    fn safe_destinations_or_an_explicit_override_run_anywhere() {
        let exposed = Config {
            backend: Backend::Aws,
            addr: SocketAddr::from(([0, 0, 0, 0], 3000)),
            ..laptop()
        };
        let safe = Config {
            allow_private: false,
            allow_http: false,
            ..exposed.clone()
        };
        assert!(safe.check_exposure().is_ok());
        let overridden = Config {
            allow_unsafe_destinations: true,
            ..exposed
        };
        assert!(overridden.check_exposure().is_ok());
    }
}
