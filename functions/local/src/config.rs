//! The runner's configuration, read from the environment through the one parser the Lambda
//! functions use too (`hookline_runtime::env`): what both runtimes read is a
//! [`StackConfig`]; the rest is the runner's own. `hookline_runtime`'s documentation lists
//! every variable with its default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hookline_domain::ClientId;
use hookline_runtime::config::{Runtime, StackConfig};
use hookline_runtime::env::Env;

use crate::server::HttpLimits;

/// A variable that is set but unusable (the runtime crate's error: it names the variable).
pub use hookline_runtime::env::EnvError as ConfigError;

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
    pub admin: Option<(ClientId, String)>,
    /// `HOOKLINE_ALLOW_UNSAFE_DESTINATIONS` (false): keep private destinations and plain http
    /// (the runner's defaults) while listening on a non-loopback address or running on the
    /// AWS backend ([`Config::check_exposure`]).
    pub allow_unsafe_destinations: bool,
    /// `HOOKLINE_HTTP_HEADER_TIMEOUT_SECS` (10), `HOOKLINE_HTTP_BODY_TIMEOUT_SECS` (30),
    /// `HOOKLINE_HTTP_IDLE_TIMEOUT_SECS` (60), `HOOKLINE_HTTP_MAX_CONNECTIONS` (1024).
    pub http: HttpLimits,
    /// `HOOKLINE_CATALOG` (the built-in fortification catalog).
    pub catalog: Option<PathBuf>,
    /// `HOOKLINE_VISIBILITY_TIMEOUT_SECS` (60): how long a received message stays hidden.
    pub visibility: Duration,
    /// `HOOKLINE_DELIVERY_CONCURRENCY` (64): deliveries in flight at once.
    pub delivery_concurrency: usize,
    /// `HOOKLINE_ENDPOINT_CONCURRENCY` (half the delivery concurrency): requests in flight to
    /// one subscription; past it, an attempt is recorded as failed unsent and retried.
    pub endpoint_concurrency: usize,
    /// `HOOKLINE_RETENTION_SECS` (2,592,000: 30 days, as DynamoDB's time to live on AWS;
    /// 60 s to a year): the embedded store deletes events and deliveries older than this.
    pub retention: Duration,
    /// `HOOKLINE_POLL_TICK_MS` (5,000; 100 to 3,600,000): how often the runner looks for
    /// the integration apps' polls that are due (each runs at its own interval).
    pub poll_tick: Duration,
    /// `HOOKLINE_LOG_FORMAT` (text): `text` or `json`.
    pub json_logs: bool,
    /// What the Lambda functions read too, with the runner's defaults (private destinations
    /// and plain http allowed; the issuer `http://ADDR`).
    pub stack: StackConfig,
}

impl Config {
    /// Reads the configuration from the process's environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::read(&Env::process())
    }

    /// Reads the configuration from `env`.
    pub fn read(env: &Env) -> Result<Config, ConfigError> {
        let admin = match (
            env.text("HOOKLINE_ADMIN_CLIENT_ID"),
            env.text("HOOKLINE_ADMIN_CLIENT_SECRET"),
        ) {
            (Some(id), Some(secret)) => {
                let Some(id) = ClientId::parse(&id) else {
                    return Err(ConfigError::new(
                        "HOOKLINE_ADMIN_CLIENT_ID",
                        "must be 1-128 letters, digits, '_', '-' or '.'",
                    ));
                };
                if secret.len() < 16 {
                    return Err(ConfigError::new(
                        "HOOKLINE_ADMIN_CLIENT_SECRET",
                        "must be at least 16 characters",
                    ));
                }
                Some((id, secret))
            }
            (None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    "HOOKLINE_ADMIN_CLIENT_ID",
                    "set both HOOKLINE_ADMIN_CLIENT_ID and HOOKLINE_ADMIN_CLIENT_SECRET, or neither",
                ));
            }
        };
        let json_logs = env
            .parsed("HOOKLINE_LOG_FORMAT", |v| match v {
                "json" => Ok(true),
                "text" => Ok(false),
                other => Err(format!("'{other}' is not text or json")),
            })?
            .unwrap_or(false);
        let backend = env
            .parsed("HOOKLINE_BACKEND", |v| match v {
                "embedded" => Ok(Backend::Embedded),
                "aws" => Ok(Backend::Aws),
                other => Err(format!("'{other}' is not embedded or aws")),
            })?
            .unwrap_or(Backend::Embedded);
        let delivery_concurrency = env.number("HOOKLINE_DELIVERY_CONCURRENCY", 64, 1..=1024)?;
        let endpoint_concurrency = env.number(
            "HOOKLINE_ENDPOINT_CONCURRENCY",
            (delivery_concurrency / 2).max(1),
            1..=1024,
        )?;
        Ok(Config {
            stack: StackConfig::from_env(env, Runtime::Runner)?,
            backend,
            addr: env.value(
                "HOOKLINE_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
                "an address and port (127.0.0.1:3000)",
            )?,
            data_dir: env
                .text("HOOKLINE_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".hookline")),
            admin,
            allow_unsafe_destinations: env.flag("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS", false)?,
            http: HttpLimits {
                header_timeout: env.secs("HOOKLINE_HTTP_HEADER_TIMEOUT_SECS", 10, 1..=300)?,
                body_timeout: env.secs("HOOKLINE_HTTP_BODY_TIMEOUT_SECS", 30, 1..=3600)?,
                idle_timeout: env.secs("HOOKLINE_HTTP_IDLE_TIMEOUT_SECS", 60, 1..=3600)?,
                max_connections: env.number("HOOKLINE_HTTP_MAX_CONNECTIONS", 1024, 1..=65_536)?,
            },
            catalog: env.text("HOOKLINE_CATALOG").map(PathBuf::from),
            visibility: env.secs("HOOKLINE_VISIBILITY_TIMEOUT_SECS", 60, 1..=43_200)?,
            delivery_concurrency,
            endpoint_concurrency,
            retention: env.secs("HOOKLINE_RETENTION_SECS", 2_592_000, 60..=31_536_000)?,
            poll_tick: Duration::from_millis(env.number(
                "HOOKLINE_POLL_TICK_MS",
                5_000,
                100..=3_600_000,
            )?),
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
        let allow = self.stack.destinations;
        if self.allow_unsafe_destinations || !(allow.allow_private || allow.allow_http) {
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
            (allow.allow_private, "HOOKLINE_ALLOW_PRIVATE_DESTINATIONS"),
            (allow.allow_http, "HOOKLINE_ALLOW_HTTP"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        Err(ConfigError::new(
            allowed[0],
            format!(
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
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults: embedded, on 127.0.0.1, private destinations and plain http allowed.
    fn laptop() -> Config {
        read(&[]).expect("the defaults")
    }

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::read(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let c = laptop();
        assert_eq!(c.backend, Backend::Embedded);
        assert_eq!(c.addr, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert_eq!(c.data_dir, PathBuf::from(".hookline"));
        assert!(c.admin.is_none() && c.catalog.is_none() && !c.json_logs);
        assert!(c.stack.destinations.allow_private && c.stack.destinations.allow_http);
        assert!(!c.allow_unsafe_destinations);
        assert_eq!(c.http.header_timeout, Duration::from_secs(10));
        assert_eq!(c.http.max_connections, 1024);
        assert_eq!(c.visibility, Duration::from_secs(60));
        assert_eq!((c.delivery_concurrency, c.endpoint_concurrency), (64, 32));
        assert_eq!(c.retention, Duration::from_secs(2_592_000));
        assert_eq!(c.poll_tick, Duration::from_millis(5_000));
        assert_eq!(c.stack.token_ttl, Duration::from_secs(900));
        assert_eq!(c.stack.key_activation, Duration::from_secs(3600));
        assert_eq!(c.stack.max_receives, 60);
        assert_eq!(c.stack.disable_after, Duration::from_secs(432_000));
        assert_eq!(c.stack.issuer, None);
    }

    #[test]
    fn flags_are_read_as_the_lambda_functions_read_them() {
        let c = read(&[
            ("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "no"),
            ("HOOKLINE_ALLOW_HTTP", "OFF"),
            ("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS", "1"),
        ])
        .expect("flags");
        assert!(!c.stack.destinations.allow_private && !c.stack.destinations.allow_http);
        assert!(c.allow_unsafe_destinations);
        let e = read(&[("HOOKLINE_ALLOW_HTTP", "nope")]).expect_err("not a flag");
        assert_eq!(
            e.to_string(),
            "HOOKLINE_ALLOW_HTTP: 'nope' is not true or false"
        );
    }

    #[test]
    fn an_unusable_value_is_refused_naming_its_variable() {
        for (name, value) in [
            ("HOOKLINE_ADDR", "localhost"),
            ("HOOKLINE_BACKEND", "dynamo"),
            ("HOOKLINE_LOG_FORMAT", "xml"),
            ("HOOKLINE_DELIVERY_CONCURRENCY", "lots"),
            ("HOOKLINE_HTTP_BODY_TIMEOUT_SECS", "30s"),
            ("HOOKLINE_RETENTION_SECS", "-1"),
            ("HOOKLINE_POLL_TICK_MS", "5s"),
            ("HOOKLINE_RATE_LIMIT_PER_SECOND", "fast"),
        ] {
            let e = read(&[(name, value)]).expect_err(name);
            assert_eq!(e.name(), name, "{e}");
        }
    }

    #[test]
    fn the_admin_secret_is_checked_but_never_shown() {
        let short = [
            ("HOOKLINE_ADMIN_CLIENT_ID", "admin"),
            ("HOOKLINE_ADMIN_CLIENT_SECRET", "tooshort"),
        ];
        let e = read(&short).expect_err("short").to_string();
        assert!(
            e.contains("at least 16 characters") && !e.contains("tooshort"),
            "{e}"
        );
        let e = read(&short[..1]).expect_err("half").to_string();
        assert!(e.contains("or neither"), "{e}");
    }

    #[test]
    fn values_out_of_range_are_brought_to_the_nearest_bound() {
        let c = read(&[
            ("HOOKLINE_DELIVERY_CONCURRENCY", "5000"),
            ("HOOKLINE_HTTP_HEADER_TIMEOUT_SECS", "0"),
            ("HOOKLINE_TOKEN_TTL_SECS", "999999"),
        ])
        .expect("clamped");
        assert_eq!(c.delivery_concurrency, 1024);
        assert_eq!(c.endpoint_concurrency, 512, "half the delivery concurrency");
        assert_eq!(c.http.header_timeout, Duration::from_secs(1));
        assert_eq!(c.stack.token_ttl, Duration::from_secs(86_400));
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
        let mut config = Config {
            backend: Backend::Aws,
            ..laptop()
        };
        config.stack.destinations.allow_http = false;
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
        let mut safe = exposed.clone();
        safe.stack.destinations.allow_private = false;
        safe.stack.destinations.allow_http = false;
        assert!(safe.check_exposure().is_ok());
        let overridden = Config {
            allow_unsafe_destinations: true,
            ..exposed
        };
        assert!(overridden.check_exposure().is_ok());
    }
}
