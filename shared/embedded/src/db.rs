//! The connections to the database file, and the only way port code reaches them.
//!
//! SQLite calls block, so they never run on the async runtime's threads: `read` and `write`
//! move a closure onto tokio's blocking pool. There is one writer connection (SQLite admits one
//! writer at a time anyway, and one connection means no `SQLITE_BUSY` between our own writers)
//! and a few readers, which WAL lets run alongside it. Every `write` is one `BEGIN IMMEDIATE`
//! transaction: committed whole or not at all.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hookline_ports::PortError;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{EmbeddedError, sqlite};
use crate::schema;

/// Reader connections; more than the 2–4 cores this runs on buys nothing.
const READERS: usize = 4;

/// The writer and reader connections of one database file.
pub(crate) struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Db {
    /// Opens (and if needed creates and migrates) the database file.
    pub(crate) fn open(path: &Path) -> Result<Db, EmbeddedError> {
        let writer = schema::open_writer(path)?;
        let readers = (0..READERS)
            .map(|_| schema::open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Db {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` in one write transaction on the blocking pool; commits if `f` returns `Ok`.
    pub(crate) async fn write<T, F>(
        self: &Arc<Self>,
        op: &'static str,
        f: F,
    ) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, PortError> + Send + 'static,
    {
        let db = Arc::clone(self);
        blocking(op, move || {
            let mut conn = lock(&db.writer);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| sqlite(op, e))?;
            let out = f(&tx)?;
            tx.commit().map_err(|e| sqlite(op, e))?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        let db = Arc::clone(self);
        blocking(op, move || {
            let conn = db.reader();
            f(&conn)
        })
        .await
    }

    /// A free reader if there is one, else the next in turn (waiting for it).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[i])
    }
}

/// Locks a connection. A panic while it was held left no transaction open (dropping a
/// `Transaction` rolls it back), so a poisoned lock still guards a usable connection.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn blocking<T, F>(op: &'static str, f: F) -> Result<T, PortError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, PortError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        // A panic's message could quote data; say only what happened.
        let what = if e.is_panic() {
            "panicked"
        } else {
            "was cancelled"
        };
        PortError::Backend(format!("sqlite {op}: the worker thread {what}"))
    })?
}
