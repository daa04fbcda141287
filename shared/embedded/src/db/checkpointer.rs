//! The checkpointer: a thread that copies the write-ahead log into the database file in the
//! background, so that commits never wait for a checkpoint.
//!
//! Under a steady stream of writes, though, no background pass ever copies the whole log (the
//! writer appends while it copies), and SQLite starts the log over only after one does; the
//! log then grew until the writer's own limit, and the writer, inside a commit, copied the rest
//! and synced the database file for every page copied since the last complete pass: 30–60 ms
//! during which no write committed, about every 0.4 s under fan-out load. So once the log is
//! long, the checkpointer syncs the database file itself while the writer goes on, then holds
//! the writer between two transactions for one last pass, which has a few milliseconds of
//! frames left to copy and sync (see [`Pause`]).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};

use rusqlite::Connection;

use super::{DbFile, lock};
use crate::error::{EmbeddedError, sqlite};

/// How often the background checkpointer copies the log into the database file. Often, so
/// that each pass (and its fsync) is short and little is left for the writer's own
/// checkpoints, which hold up every write behind them; a pass with nothing new to copy costs
/// next to nothing. Against every 250 ms: fanout-100 6–10% faster, and the noisy-neighbour
/// p99 ratio about 1.2 instead of 3.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// Frames in the log (16 MB of 4 KiB pages) from which the checkpointer holds the writer for a
/// pass that completes, so that the writer's next transaction starts the log over. The log
/// grows on until that pass (by 2,500 frames per `CHECKPOINT_EVERY` in fanout-100, twice that
/// in a test of back-to-back writes), so the writer's own limit
/// (`schema::WRITER_CHECKPOINT_PAGES`) is well above it, and reached only if the checkpointer
/// falls behind. 8,192 did no better in fanout-100 or throughput-1.
const RESTART_FROM: i64 = 4096;

/// Holds the writer between two of its transactions, for the checkpointer: the writer takes
/// `transaction` for each of its transactions, the checkpointer takes it to keep the writer
/// out. A flag makes the writer wait its turn, so that a writer that goes straight from one
/// transaction to the next cannot take the lock back before the checkpointer gets it.
#[derive(Default)]
pub(super) struct Pause {
    /// Held by the writer for each transaction, and by the checkpointer to keep it out.
    transaction: Mutex<()>,
    /// Whether the checkpointer is taking (or holds) `transaction`: the writer waits for
    /// `over` before its next one instead of racing it for the lock.
    wanted: Mutex<bool>,
    over: Condvar,
}

impl Pause {
    /// The writer's hold for one transaction (after any pause of the checkpointer's).
    pub(super) fn begin(&self) -> MutexGuard<'_, ()> {
        let mut wanted = lock(&self.wanted);
        while *wanted {
            wanted = self.over.wait(wanted).unwrap_or_else(|p| p.into_inner());
        }
        drop(wanted);
        lock(&self.transaction)
    }

    /// Runs `f` while the writer is between transactions.
    fn hold<T>(&self, f: impl FnOnce() -> T) -> T {
        /// Lets the writer go on when the hold ends, even by a panic.
        struct Release<'a>(&'a Pause);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *lock(&self.0.wanted) = false;
                self.0.over.notify_all();
            }
        }
        *lock(&self.wanted) = true;
        let _release = Release(self);
        let _writer_out = lock(&self.transaction);
        f()
    }
}

/// The checkpointer thread's connection, and its handle of the database file (a field after
/// the connection, so dropped after it).
pub(super) struct Checkpointer {
    pub(super) conn: Connection,
    pub(super) file: DbFile,
    pub(super) pause: Arc<Pause>,
}

impl Checkpointer {
    /// Starts the checkpointer thread; it ends when the returned sender is dropped.
    pub(super) fn spawn(self) -> Result<mpsc::Sender<()>, EmbeddedError> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("hookline-sqlite-checkpoint".into())
            .spawn(move || self.run(stopped))
            .map_err(EmbeddedError::Thread)?;
        Ok(stop)
    }

    /// A PASSIVE checkpoint every `CHECKPOINT_EVERY`, which copies what it can of the log
    /// into the database file without blocking the writer or the readers (an auto-checkpoint
    /// would run inside some unlucky commit and hold up every write behind it); and once the
    /// log is `RESTART_FROM` frames long, the pass that lets SQLite start it over.
    fn run(self, stop: mpsc::Receiver<()>) {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
            match self.passive() {
                Ok((log, _)) if log >= RESTART_FROM => self.complete(),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %sqlite("checkpoint", e), "sqlite checkpoint failed; the writer's own checkpoints still bound the log");
                }
            }
        }
    }

    /// Copies the rest of the log with the writer held. A pass that does not copy the whole
    /// log leaves the pages it copied unsynced, and SQLite syncs them all at the end of the
    /// pass that does; syncing them here first, while the writer goes on, leaves that pass a
    /// few milliseconds of frames to copy and sync. It may still fall short (a reader on an
    /// older snapshot keeps the frames after it); the next round tries again.
    fn complete(&self) {
        if let Err(e) = self.file.0.sync_data() {
            tracing::warn!(error = %e, "syncing the sqlite database file failed; the checkpoint syncs it instead");
        }
        if let Err(e) = self.pause.hold(|| self.passive()) {
            tracing::warn!(error = %sqlite("checkpoint", e), "sqlite checkpoint failed; the writer's own checkpoints still bound the log");
        }
    }

    /// One PASSIVE checkpoint: the frames in the log, and how many of them are in the
    /// database file now.
    fn passive(&self) -> rusqlite::Result<(i64, i64)> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Db;
    use super::*;
    use crate::schema;

    #[test]
    fn a_hold_waits_for_the_writers_transaction_and_the_writer_for_the_hold() {
        let pause = Arc::new(Pause::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_transaction = pause.begin();
        let (started, hold_started) = mpsc::channel();
        let checkpointer = {
            let (pause, seen) = (pause.clone(), seen.clone());
            std::thread::spawn(move || {
                pause.hold(|| {
                    lock(&seen).push("hold");
                    started.send(()).expect("send");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    lock(&seen).push("hold ends");
                })
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        lock(&seen).push("commit");
        drop(in_transaction);
        hold_started
            .recv()
            .expect("the hold starts once the transaction ends");
        let next = pause.begin();
        lock(&seen).push("next transaction");
        drop(next);
        checkpointer.join().expect("checkpointer");
        assert_eq!(
            *lock(&seen),
            ["commit", "hold", "hold ends", "next transaction"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_writes_the_log_starts_over_before_the_writers_own_limit() {
        // On tmpfs where there is one: an fsync there costs nothing, so a disk busy with the
        // other tests cannot hold the checkpointer's sync up for the hundreds of
        // milliseconds in which the writer appends ten thousand frames (as it did in CI).
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("tempdir");
        let path = dir.path().join("t.db");
        let db = Db::open(&path).expect("open");
        db.write("t", |c| {
            c.execute_batch("CREATE TABLE blobs (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
                .map_err(|e| sqlite("t", e))
        })
        .await
        .expect("create");
        // One transaction after another, each a few frames (a row spilling onto an overflow
        // page, its leaf), with no pause for a background pass to catch up in, until the log
        // has grown past `RESTART_FROM` and then started over (its header's checkpoint
        // sequence number changed). While it is short a passive pass may catch up and start
        // it over: that is not what is tested here.
        let limit = schema::WRITER_CHECKPOINT_PAGES as u64;
        let wal = dir.path().join("t.db-wal");
        let frames = || std::fs::metadata(&wal).expect("wal").len() / (4096 + 24);
        let mut grown = None;
        let mut k: i64 = 0;
        loop {
            let sequence = checkpoint_sequence(&wal);
            match grown {
                None if frames() >= RESTART_FROM as u64 => grown = Some(sequence),
                Some(at) if sequence != at => break,
                _ => {}
            }
            // The log file keeps the length of the longest log: had only the writer's own
            // checkpoint started it over, it would have reached `limit` frames first. No
            // bound on time: a loaded machine makes the writer slower too.
            assert!(
                frames() < limit,
                "the log reached {} frames before it started over",
                frames()
            );
            k += 1;
            db.write_each("t", move |c| {
                c.execute(
                    "INSERT OR REPLACE INTO blobs (k, v) VALUES (?1, zeroblob(6000))",
                    [k % 500],
                )
                .map_err(|e| sqlite("t", e))
            })
            .await
            .expect("write");
        }
    }

    /// The checkpoint sequence number in a write-ahead log's header, which SQLite increments
    /// each time it starts the log over.
    fn checkpoint_sequence(wal: &std::path::Path) -> u32 {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(wal)
            .and_then(|mut f| f.read_exact(&mut header))
            .expect("wal header");
        u32::from_be_bytes([header[12], header[13], header[14], header[15]])
    }
}
