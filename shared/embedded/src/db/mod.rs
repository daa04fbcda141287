//! The connections to the database file, and the only way port code reaches them.
//!
//! Three parts, each in its own module:
//!
//! - [`writer`]: the one writer connection, owned by a dedicated thread (SQLite admits one
//!   writer at a time anyway, and one connection means no `SQLITE_BUSY` between our own
//!   writers), which group-commits the writes waiting for it.
//! - [`readers`]: a few reader connections, which WAL lets run alongside the writer. A read
//!   that may take a while (a list, a scan) runs on tokio's blocking pool. A point read (a
//!   lookup by key, tens of microseconds from the page cache) runs on the calling thread
//!   when a reader is free — handing it to the pool would cost more than the read — and
//!   goes to the pool only when every reader is taken. Nothing else of SQLite runs on the
//!   async runtime's threads.
//! - [`checkpointer`]: a background thread that copies the write-ahead log into the database
//!   file, so that commits never wait for a checkpoint.

mod checkpointer;
mod readers;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use hookline_ports::PortError;
use rusqlite::Connection;

use crate::error::EmbeddedError;
use crate::schema;

use checkpointer::{Checkpointer, Pause};
use readers::Readers;
use writer::Writer;

/// The writer, the readers and the checkpointer of one database file.
pub(crate) struct Db {
    writer: Writer,
    /// Dropped with the `Db`, which ends the checkpointer.
    _stop_checkpoints: mpsc::Sender<()>,
    readers: Arc<Readers>,
}

/// A handle of the database file beside SQLite's own, for the checkpointer's syncs. Closing
/// any descriptor of a file drops every POSIX lock this process holds on it, SQLite's too, so
/// it may close only once no connection is left: the writer thread, the checkpointer thread
/// and the readers each hold a clone, and drop it after their connections.
#[derive(Clone)]
struct DbFile(Arc<std::fs::File>);

impl Db {
    /// Opens (and if needed creates and migrates) the database file.
    pub(crate) fn open(path: &Path) -> Result<Db, EmbeddedError> {
        let writer = schema::open_writer(path)?;
        let readers = (0..readers::READERS)
            .map(|_| schema::open_reader(path))
            .collect::<Result<Vec<_>, _>>()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(|f| DbFile(Arc::new(f)))
            .map_err(|source| EmbeddedError::DbFile {
                path: path.to_path_buf(),
                source,
            })?;
        let pause = Arc::new(Pause::default());
        let stop_checkpoints = Checkpointer {
            conn: schema::open_checkpointer(path)?,
            file: file.clone(),
            pause: pause.clone(),
        }
        .spawn()?;
        let writer = Writer::spawn(writer, pause, file.clone())?;
        Ok(Db {
            writer,
            _stop_checkpoints: stop_checkpoints,
            readers: Arc::new(Readers::new(readers, file)),
        })
    }

    /// Runs `f` as one atomic write (a savepoint of a group-committed transaction) on the
    /// writer thread; returns once the transaction holding it has committed. If `f` returns
    /// an error, none of its changes are kept.
    pub(crate) async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        self.writer.submit(op, true, f).await
    }

    /// As [`Db::write`], without the savepoint, for a write made of statements each of which
    /// may stand alone: a single statement (SQLite undoes a failed statement's own changes),
    /// or a run of them any prefix of which leaves the data as good as none did — deleting
    /// acknowledged messages, handing out messages that come back when their visibility
    /// timeout ends, inserting deliveries that the caller's retry then finds, sending
    /// messages that the retry sends again (a duplicate, which at-least-once consumers
    /// tolerate). If `f` fails after a statement changed something, that change stays.
    pub(crate) async fn write_each<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        self.writer.submit(op, false, f).await
    }

    /// Runs `f` on a reader connection on the blocking pool (lists, scans).
    pub(crate) async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        Readers::read(&self.readers, op, f).await
    }

    /// Runs a point read on a free reader on the calling thread, or on the blocking pool when
    /// every reader is taken (see [`readers`]).
    pub(crate) async fn lookup<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        Readers::lookup(&self.readers, op, f).await
    }
}

/// Locks a connection or a flag. A panic while a connection was held left no transaction
/// open (dropping a `Transaction` rolls it back), so a poisoned lock still guards a usable
/// connection; the flags and the writer's transaction lock guard no state a panic could
/// break.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Rows of the `meta` table with this key (-1 if the query failed): what the tests wrote.
#[cfg(test)]
fn count(conn: &Connection, key: &str) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .unwrap_or(-1)
}
