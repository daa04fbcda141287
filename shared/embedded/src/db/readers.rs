//! The reader pool: a few read-only connections that WAL lets run alongside the writer.
//!
//! Where a read runs depends on its kind. [`Readers::read`] (lists, scans: anything that may
//! take a while) always runs on tokio's blocking pool. [`Readers::lookup`] (a point read by
//! key, tens of microseconds from the page cache) runs on a free reader right on the calling
//! thread: handing it to the blocking pool would cost two thread wake-ups, several times the
//! read itself, on the path of every delivery. Only when every reader is taken does a lookup
//! go to the pool, to wait there rather than on the runtime's thread.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hookline_ports::PortError;
use rusqlite::Connection;

use super::{DbFile, lock};

/// Reader connections; more than the 2–4 cores this runs on buys nothing.
pub(super) const READERS: usize = 4;

/// The reader connections of one database file.
pub(super) struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    /// Closed after the connections (a field after them), see [`DbFile`].
    _file: DbFile,
}

impl Readers {
    /// A pool of these connections; `file` stays open while any of them is.
    pub(super) fn new(conns: Vec<Connection>, file: DbFile) -> Readers {
        Readers {
            conns: conns.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
            _file: file,
        }
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub(super) async fn read<T, F>(
        readers: &Arc<Readers>,
        op: &'static str,
        f: F,
    ) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        let readers = Arc::clone(readers);
        blocking(op, move || {
            let conn = readers.reader();
            f(&conn)
        })
        .await
    }

    /// Runs a point read on a free reader on the calling thread; on the blocking pool (as
    /// [`Readers::read`]) when every reader is taken.
    pub(super) async fn lookup<T, F>(
        readers: &Arc<Readers>,
        op: &'static str,
        f: F,
    ) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        let Some(conn) = readers.conns.iter().find_map(|r| r.try_lock().ok()) else {
            return Readers::read(readers, op, f).await;
        };
        // A panic in `f` is a bug; it becomes this call's error, as on the pool.
        std::panic::catch_unwind(AssertUnwindSafe(|| f(&conn))).unwrap_or_else(|_| {
            Err(PortError::backend(format!(
                "sqlite {op}: the read panicked"
            )))
        })
    }

    /// A free reader if there is one, else the next in turn (waiting for it).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.conns {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        lock(&self.conns[i])
    }
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
        PortError::backend(format!("sqlite {op}: the worker thread {what}"))
    })?
}

#[cfg(test)]
mod tests {
    use super::super::{Db, count};
    use super::*;
    use crate::error::sqlite;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lookup_runs_with_every_reader_taken_and_a_panicking_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Db::open(&dir.path().join("t.db")).expect("open"));
        db.write("t", |c| {
            c.execute("INSERT INTO meta (key, value) VALUES ('k', 1)", [])
                .map_err(|e| sqlite("t", e))
        })
        .await
        .expect("write");
        assert_eq!(
            db.lookup("t", |c| Ok(count(c, "k"))).await.expect("read"),
            1
        );

        // Every reader held (as by long list reads): the lookup waits for one on the pool.
        let held: Vec<_> = db.readers.conns.iter().map(lock).collect();
        let waiting = {
            let db = db.clone();
            tokio::spawn(async move { db.lookup("t", |c| Ok(count(c, "k"))).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "no reader was free");
        drop(held);
        assert_eq!(waiting.await.expect("task").expect("read"), 1);

        let panicked = db
            .lookup("t", |_| -> Result<(), PortError> {
                panic!("a read that panics")
            })
            .await;
        assert!(
            matches!(panicked, Err(PortError::Backend { .. })),
            "{panicked:?}"
        );
        assert_eq!(
            db.lookup("t", |c| Ok(count(c, "k"))).await.expect("read"),
            1,
            "the reader is still usable"
        );
    }
}
