//! The configured backend, opened for the runner and the admin commands alike: SQLite in the
//! data directory, or the AWS resources the environment names.

use std::sync::Arc;

use hookline_embedded::{EmbeddedBackend, EmbeddedError, QueueOptions};
use hookline_ports::{KeyRotation, PublicKeys, Queue, SigningKeys, Store};
use hookline_runtime::env::Env;

use crate::{Backend, Config, RunError};

/// The keys as the runner (and `keys rotate`) hold them: it signs, verifies and rotates.
pub(crate) trait LocalKeys: SigningKeys + PublicKeys + KeyRotation {}
impl<K: SigningKeys + PublicKeys + KeyRotation> LocalKeys for K {}

/// The ports, and the embedded backend itself when it is the one (for its retention).
type Ports = (
    Arc<dyn Store>,
    Arc<dyn Queue>,
    Arc<dyn LocalKeys>,
    Option<EmbeddedBackend>,
);

/// Opens the configured backend: SQLite in the data directory, or the AWS resources named
/// by the environment that `infra/local/bootstrap` prints. The runner and the admin commands
/// both open it here. The embedded backend holds the data directory's lock for as long as a
/// port lives, and fails with [`RunError::InUse`] while another process holds it.
pub(crate) async fn open_backend(config: &Config) -> Result<Ports, RunError> {
    match config.backend {
        Backend::Embedded => {
            let dir = config.data_dir.clone();
            let opts = QueueOptions {
                max_receives_deliveries: config.stack.max_receives,
                ..QueueOptions::default()
            };
            // The embedded store is this process's alone (the data directory's lock), and this
            // process runs every fan-out and delivery worker over it: the claims of the
            // deliveries its fan-out inserts can be held in memory, not written.
            let open =
                move || EmbeddedBackend::open(&dir, opts).map(|b| b.holding_claims_in_memory());
            let backend = tokio::task::spawn_blocking(open)
                .await
                .map_err(|e| RunError::Storage(e.to_string()))?
                .map_err(|e| match e {
                    EmbeddedError::InUse { path } => RunError::InUse(path),
                    e => RunError::Storage(e.to_string()),
                })?;
            let keys: Arc<dyn LocalKeys> = Arc::new(backend.clone());
            Ok((backend.store(), backend.queue(), keys, Some(backend)))
        }
        Backend::Aws => {
            let settings = hookline_runtime::config::aws_settings(&Env::process())?;
            let sdk = hookline_aws::sdk_config().await;
            let p = hookline_runtime::ports(&sdk, &settings);
            tracing::info!(table = %settings.table, "using the AWS backend");
            Ok((p.store, p.queue, Arc::new(p.keys), None))
        }
    }
}
