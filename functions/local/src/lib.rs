//! The local runner: every Hookline router and both queue workers in one process, on the
//! embedded backend (SQLite in a data directory). It is what `cargo run` starts, what the
//! end-to-end tests drive as a real process, and the benchmark's system under test. With
//! arguments, the same binary runs an admin command instead (see [`admin`]).

pub mod admin;
mod backend;
pub mod bootstrap;
pub mod config;
mod retention;
pub mod server;
mod workers;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hookline_domain::Catalog;
use hookline_domain::retry::QueueLimits;
use hookline_handlers::apps::scheduler::PollContext;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::delivery::DeliveryContext;
use hookline_handlers::{app, catalog};
use hookline_ports::{Clock, SigningKeys, SystemClock};
use tokio::sync::watch;

pub use config::{Backend, Config};

/// The built-in event catalog (`infra/catalogs/fortification.json`).
pub const DEFAULT_CATALOG: &str = include_str!("../../../infra/catalogs/fortification.json");

/// How long shutdown waits for in-flight batches before leaving them to the queue.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// Why the runner stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// The data directory or the backend could not be opened.
    #[error("storage: {0}")]
    Storage(String),
    /// Another process (a runner, or an admin command) holds the data directory's lock.
    #[error("storage: the data directory {} is in use by another process", .0.display())]
    InUse(std::path::PathBuf),
    /// The catalog file could not be read.
    #[error("reading {}: {}", .0.display(), .1)]
    CatalogFile(std::path::PathBuf, #[source] std::io::Error),
    /// The catalog is invalid.
    #[error("{0}")]
    Catalog(#[source] hookline_domain::catalog::CatalogError),
    /// The address could not be bound.
    #[error("listening on {0}: {1}")]
    Bind(std::net::SocketAddr, std::io::Error),
}

/// The binary's `main`. Without arguments: configuration from the environment, logs,
/// runtime, run. With arguments: the admin command they name ([`admin`]), or the usage text
/// (exit code 2 when the arguments are not understood).
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match admin::parse(&args) {
        Ok(admin::Command::Run) => run_main(),
        Ok(admin::Command::Help) => {
            print!("{}", admin::USAGE);
            ExitCode::SUCCESS
        }
        Ok(admin::Command::Admin(command)) => admin::main(command),
        Err(e) => {
            eprint!("hookline-local: {e}\n\n{}", admin::USAGE);
            ExitCode::from(2)
        }
    }
}

/// Starts the runner: what `hookline-local` does without arguments (also what the tests
/// run where they start a test binary as the runner).
pub fn run_main() -> ExitCode {
    let config = match Config::from_env().and_then(|c| c.check_exposure().map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hookline-local: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.json_logs, "info", std::io::stdout);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookline-local: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "hookline-local stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs to `writer` at the level `RUST_LOG` sets (`default` when unset or unreadable), as
/// text or JSON lines.
fn init_logs<W>(json: bool, default: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn load_catalog(path: Option<&Path>) -> Result<Catalog, RunError> {
    let text = match path {
        None => DEFAULT_CATALOG.to_string(),
        Some(p) => std::fs::read_to_string(p).map_err(|e| RunError::CatalogFile(p.into(), e))?,
    };
    Catalog::from_json(&text).map_err(RunError::Catalog)
}

/// Runs `config` (which the caller has checked with [`Config::check_exposure`]) until SIGINT or SIGTERM, then shuts down gracefully: the listener stops accepting,
/// the workers finish the batches they hold (or leave them to the queue), then it returns.
pub async fn run(config: Config) -> Result<(), RunError> {
    let catalog = load_catalog(config.catalog.as_deref())?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| RunError::Storage(format!("{}: {e}", config.data_dir.display())))?;
    let (store, queue, keys, embedded) = backend::open_backend(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| RunError::Bind(config.addr, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| RunError::Bind(config.addr, e))?;

    let mut hc = config.stack.handler_config(
        format!("http://{local}"),
        match config.backend {
            Backend::Embedded => "embedded",
            Backend::Aws => "aws",
        },
    );
    hc.endpoint_concurrency = config.endpoint_concurrency;
    if config.backend == Backend::Embedded {
        // The embedded queue keeps a message until it is deleted or dead-lettered.
        hc.delivery_queue = QueueLimits {
            max_receives: config.stack.max_receives,
            retention: None,
            max_visibility: hookline_domain::retry::MAX_DELAY,
        };
    }
    let storage = |e: hookline_ports::PortError| RunError::Storage(e.to_string());
    let added = catalog::seed(store.as_ref(), &catalog.event_types)
        .await
        .map_err(storage)?;
    if let Some((id, secret)) = bootstrap::ensure_admin(
        store.as_ref(),
        clock.as_ref(),
        &config.data_dir,
        config.admin.as_ref(),
    )
    .await
    .map_err(storage)?
    {
        // Printed once, on the terminal only: it is the one way to learn the secret.
        println!(
            "\nBootstrap admin client created (shown once, store it now):\n  HOOKLINE_ADMIN_CLIENT_ID={id}\n  HOOKLINE_ADMIN_CLIENT_SECRET={secret}\n"
        );
    }
    // A store's first start makes its first signing key, by the same rotation that
    // `hookline-local keys rotate` runs (on AWS: the keys function, at deploy time).
    if let Some(kid) = hookline_handlers::auth::rotation::ensure_first_key(
        keys.as_ref(),
        clock.now().unix_timestamp(),
    )
    .await
    .map_err(storage)?
    {
        tracing::info!(kid, "made the first signing key");
    }
    let signing: Arc<dyn SigningKeys> = keys;
    // Every function's context over the one set of ports, as one process runs them all.
    let core = Arc::new(Core::new(store, clock, hc));
    let ctx = Contexts::new(core.clone(), queue.clone(), KeySource::Signing(signing))
        .await
        .map_err(storage)?;
    // One app engine (its OAuth 2 and session tokens) for the API, the workflows and the polls.
    let deliver_ctx = DeliveryContext::with_engine(ctx.worker.clone(), ctx.api.engine.clone())
        .map_err(storage)?;
    let poll_ctx = PollContext::new(ctx.worker.clone(), ctx.api.engine.clone());

    let allow = config.stack.destinations;
    if allow.allow_private {
        tracing::warn!(
            "HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=true: webhooks may reach private and loopback addresses (fine on a laptop, never in production)"
        );
    }
    if allow.allow_http {
        tracing::warn!("HOOKLINE_ALLOW_HTTP=true: webhooks may use plain http");
    }
    if config.allow_unsafe_destinations && (allow.allow_private || allow.allow_http) {
        tracing::warn!(
            "HOOKLINE_ALLOW_UNSAFE_DESTINATIONS=true: the above holds even off a loopback address or on the AWS backend"
        );
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    // On AWS, DynamoDB's time to live deletes what is past the retention.
    let pruner = embedded.map(|backend| {
        retention::spawn_pruner(
            backend,
            ctx.worker.clock.clone(),
            config.retention,
            stop_rx.clone(),
        )
    });
    let workers = workers::spawn(&queue, &deliver_ctx, &poll_ctx, &config, &stop_rx);

    write_addr_file(&config.data_dir, &local.to_string());
    tracing::info!(
        addr = %local,
        data_dir = %config.data_dir.display(),
        event_types_added = added,
        "hookline-local listening on http://{local} (docs at http://{local}/docs)"
    );

    let mut server_stop = stop_rx.clone();
    let served = server::serve(listener, app(&ctx), config.http, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    });
    let signals = async {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        // Long polls answer now; in-flight requests and deliveries finish.
        core.stop_waiting();
        let _ = stop_tx.send(true);
    };
    let (served, ()) = tokio::join!(served, signals);
    if let Err(e) = served {
        tracing::error!(error = %e, "server error");
    }
    let workers = async {
        workers.finished().await;
        if let Some(pruner) = pruner {
            let _ = pruner.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, workers).await.is_err() {
        tracing::warn!("shutdown grace expired; unfinished messages return to the queue");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Writes the bound address to `DATA_DIR/addr` atomically, for scripts and tests.
fn write_addr_file(dir: &Path, addr: &str) {
    let tmp = dir.join("addr.tmp");
    let res = std::fs::write(&tmp, addr).and_then(|()| std::fs::rename(&tmp, dir.join("addr")));
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not write the addr file");
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
