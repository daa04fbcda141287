//! Hookline's embedded backend: the store, the queues and the signing keys in one SQLite file
//! (`hookline.db`, WAL mode) inside a data directory, so that `cargo run` on a fresh machine
//! needs no cloud service and a restart, even a `kill -9`, loses nothing.
//!
//! [`EmbeddedBackend`] implements the `Store`, `Queue` and key ports of
//! `hookline-ports`; it is cheap to clone, and every clone shares the same connections. Writes
//! run on a writer thread and lists on tokio's blocking pool; only point reads by key run on
//! the calling thread, and only while a reader connection is free (see `db`).
//!
//! Opened by the local runner, which is the only process over its data directory, it may hold
//! the first claim of a delivery it inserted in memory instead of writing it (see `claims`).

mod apps;
mod apps_polls;
mod claims;
mod clients;
mod codec;
mod cursor;
mod db;
mod deliveries;
mod error;
mod event_types;
mod events;
mod imports;
mod keys;
mod manufacturers;
mod messages;
mod pull;
mod queue;
mod retention;
mod schema;
mod secrets;
mod store;
mod subscriptions;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hookline_ports::{KeyRotation, PortError, PublicKeys, Queue, SigningKeys, Store};

pub use error::EmbeddedError;
pub use queue::{MAX_BATCH, MAX_DELAY, MAX_VISIBILITY, MAX_WAIT, QueueOptions};
pub use schema::{DB_FILE, SCHEMA_VERSION};
pub use secrets::{SECRETS_KEY_ENV, SECRETS_KEY_FILE};

use claims::Claims;
use db::Db;
use queue::Signals;
use secrets::SecretsKey;

/// The embedded backend of one data directory; implements `Store`, `Queue` and the key ports
/// (`SigningKeys`, `PublicKeys`, `KeyRotation`).
#[derive(Clone)]
pub struct EmbeddedBackend {
    db: Arc<Db>,
    signals: Arc<Signals>,
    opts: QueueOptions,
    path: Arc<PathBuf>,
    /// The data directory's lock, held while any handle to this backend lives.
    _lock: Arc<std::fs::File>,
    /// The newest subscription generation this process has read or committed (0: none yet).
    generation: Arc<AtomicU64>,
    /// Claims held in memory (none unless [`EmbeddedBackend::holding_claims_in_memory`]).
    claims: Arc<Claims>,
    /// Appends to pull logs so far, for the readers that wait for one.
    pull_appends: Arc<tokio::sync::watch::Sender<u64>>,
    /// The secret store's key (see `secrets`).
    secrets: Arc<SecretsKey>,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend")
            .field("path", &self.path)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Deletes the events received and the deliveries created before `before`, and the pull
    /// messages kept until before `now`, a batch per write (see [`retention`]); returns how
    /// many rows went.
    pub async fn prune(
        &self,
        before: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<usize, PortError> {
        let before_ns = codec::unix_ns(before);
        let now_ns = codec::unix_ns(now);
        let mut total = 0;
        loop {
            let n = self
                .db
                .write("prune", move |tx| {
                    retention::prune_batch(tx, before_ns, now_ns)
                })
                .await?;
            total += n;
            if n < retention::BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Opens the backend in `data_dir` (created if missing), creating or migrating the schema.
    /// The secret store's key is `HOOKLINE_SECRETS_KEY` (checked now) if set, else the data
    /// directory's `secrets.key`, created at the first use of a secret.
    ///
    /// This blocks for as long as SQLite takes to open and migrate the file; call it at
    /// start-up (or inside `spawn_blocking`), not from a busy async task.
    pub fn open(data_dir: &Path, opts: QueueOptions) -> Result<EmbeddedBackend, EmbeddedError> {
        std::fs::create_dir_all(data_dir).map_err(|source| EmbeddedError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let lock = lock_dir(data_dir)?;
        let secrets = SecretsKey::from_env(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let db = Db::open(&path)?;
        tracing::info!(path = %path.display(), "opened the embedded database");
        Ok(EmbeddedBackend {
            db: Arc::new(db),
            signals: Arc::new(Signals::default()),
            opts,
            path: Arc::new(path),
            _lock: Arc::new(lock),
            generation: Arc::new(AtomicU64::new(0)),
            claims: Arc::default(),
            pull_appends: Arc::new(tokio::sync::watch::Sender::new(0)),
            secrets: Arc::new(secrets),
        })
    }

    /// This backend, answering the claim of a delivery it inserted itself, not written
    /// since, from memory instead of with a write (see [`claims`]). Only for the process that
    /// runs every fan-out and delivery worker over this store (the local runner: the data
    /// directory's lock keeps other processes out). Call it on the backend just opened: the
    /// clones made before it keep writing every claim.
    pub fn holding_claims_in_memory(mut self) -> EmbeddedBackend {
        self.claims = Arc::new(Claims::enabled());
        self
    }

    /// How many deliveries this backend remembers in memory: inserted and not yet claimed
    /// or written, or claimed without a write and their outcome not yet written.
    pub fn claims_in_memory(&self) -> usize {
        self.claims.len()
    }

    /// Records a subscription generation read or committed; returns the newest known.
    fn committed_generation(&self, generation: u64) -> u64 {
        self.generation
            .fetch_max(generation, Ordering::AcqRel)
            .max(generation)
    }

    /// Path of the database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    /// The queue options this backend was opened with.
    pub fn queue_options(&self) -> QueueOptions {
        self.opts
    }

    /// This backend as the store port.
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.clone())
    }

    /// This backend as the queue port.
    pub fn queue(&self) -> Arc<dyn Queue> {
        Arc::new(self.clone())
    }

    /// This backend's private key set.
    pub fn signing_keys(&self) -> Arc<dyn SigningKeys> {
        Arc::new(self.clone())
    }

    /// This backend's published public keys.
    pub fn public_keys(&self) -> Arc<dyn PublicKeys> {
        Arc::new(self.clone())
    }

    /// This backend's key rotation.
    pub fn key_rotation(&self) -> Arc<dyn KeyRotation> {
        Arc::new(self.clone())
    }
}

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "hookline.lock";

/// Takes the data directory's exclusive lock (released when the file closes, and by the
/// operating system if the process dies): a second process on the same directory is refused
/// at start, rather than sharing a store whose workers count on being its only ones.
fn lock_dir(data_dir: &Path) -> Result<std::fs::File, EmbeddedError> {
    let failed = |source| EmbeddedError::Lock {
        path: data_dir.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EmbeddedError::InUse {
            path: data_dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
    }
}
