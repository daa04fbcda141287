//! The embedded store's retention: a background task that deletes events and deliveries
//! older than `HOOKLINE_RETENTION_SECS`, and pull messages past their retention
//! (`HOOKLINE_PULL_RETENTION_DAYS`), as DynamoDB's time to live does on AWS.

use std::sync::Arc;
use std::time::Duration;

use hookline_embedded::EmbeddedBackend;
use hookline_ports::Clock;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the store is pruned at most (and a tenth of the retention, if that is shorter).
const EVERY: Duration = Duration::from_secs(60);

/// Prunes `backend` now and then until `stop` turns true.
pub(crate) fn spawn_pruner(
    backend: EmbeddedBackend,
    clock: Arc<dyn Clock>,
    retention: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let every = EVERY.min(retention / 10).max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            let now = clock.now();
            match backend.prune(now - retention, now).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "retention: deleted events and deliveries"),
                Err(e) => {
                    tracing::warn!(error = %e, "retention: pruning failed; tried again later")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}
