//! The connections to the database file, and the only way port code reaches them.
//!
//! SQLite calls block, so they never run on the async runtime's threads. There is one writer
//! connection, owned by a dedicated writer thread (SQLite admits one writer at a time anyway,
//! and one connection means no `SQLITE_BUSY` between our own writers), and a few readers on
//! tokio's blocking pool, which WAL lets run alongside it.
//!
//! Writes are group-committed: the writer thread takes every write that is waiting (up to
//! [`MAX_GROUP`]) into one `BEGIN IMMEDIATE` transaction, runs each inside its own savepoint —
//! so each is still applied whole or not at all, and one write's failure rolls back only that
//! write — and commits once. A caller's `write` returns only after the commit that holds its
//! change, so an acknowledged write is as durable as before; the batching only shares the
//! commit (and the thread hand-off) among the writes that arrived together.
//!
//! A savepoint is not free: SQLite copies every page the write then changes into a
//! sub-journal. The writes on every delivery's path are single statements, or runs of
//! statements any prefix of which is as good as none (see [`Db::write_each`]); those run
//! without one, protected by SQLite's own statement atomicity.
//!
//! A third thread checkpoints the write-ahead log in the background, so commits never wait
//! for a checkpoint. Under a steady stream of writes, though, no background pass ever copies
//! the whole log (the writer appends while it copies), and SQLite starts the log over only
//! after one does; the log then grew until the writer's own limit, and the writer, inside a
//! commit, copied the rest and synced the database file for every page copied since the last
//! complete pass: 30–60 ms during which no write committed, about every 0.4 s under fan-out
//! load. So once the log is long, the checkpointer syncs the database file itself while the
//! writer goes on, then holds the writer between two transactions for one last pass, which
//! has a few milliseconds of frames left to copy and sync (see [`Pause`]).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};

use hookline_ports::PortError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{EmbeddedError, sqlite};
use crate::schema;

/// Reader connections; more than the 2–4 cores this runs on buys nothing.
const READERS: usize = 4;
/// Most writes one transaction groups.
const MAX_GROUP: usize = 256;
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

/// What the writer thread reports to a write once its group has committed (or failed).
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A write waiting for the writer thread.
trait Job: Send {
    /// Whether the write runs in a savepoint of its own (see [`Db::write_each`]).
    fn guarded(&self) -> bool;
    /// Runs the write; `true` if it succeeded (its savepoint is then released, else rolled
    /// back), and how to tell its caller how the transaction ended.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion);
    /// Tells the caller the write could not run at all.
    fn abort(self: Box<Self>, why: String);
}

struct Write<T, F> {
    op: &'static str,
    guarded: bool,
    f: F,
    done: oneshot::Sender<Result<T, PortError>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
{
    fn guarded(&self) -> bool {
        self.guarded
    }

    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion) {
        let Write { op, f, done, .. } = *self;
        let out = match std::panic::catch_unwind(AssertUnwindSafe(|| f(conn))) {
            Ok(out) => out,
            // A panic's message could quote data; say only what happened.
            Err(_) => Err(PortError::Backend(format!(
                "sqlite {op}: the write panicked"
            ))),
        };
        let ok = out.is_ok();
        let completion: Completion = Box::new(move |committed: Result<(), String>| {
            let out = match (committed, out) {
                (_, Err(e)) => Err(e),
                (Err(why), Ok(_)) => Err(PortError::Backend(format!("sqlite {op}: {why}"))),
                (Ok(()), Ok(v)) => Ok(v),
            };
            // The caller may have stopped waiting; the write stands either way.
            let _ = done.send(out);
        });
        (ok, completion)
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.done.send(Err(PortError::Backend(format!(
            "sqlite {}: {why}",
            self.op
        ))));
    }
}

/// The writer and reader connections of one database file.
pub(crate) struct Db {
    writes: mpsc::Sender<Box<dyn Job>>,
    /// Dropped with the `Db`, which ends the checkpointer.
    _stop_checkpoints: mpsc::Sender<()>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// The checkpointer's handle of the database file, shared so that it closes after every
    /// connection (see [`DbFile`]); last, so that the readers close before it.
    _file: DbFile,
}

/// A handle of the database file beside SQLite's own, for the checkpointer's syncs. Closing
/// any descriptor of a file drops every POSIX lock this process holds on it, SQLite's too, so
/// it may close only once no connection is left: the writer thread, the checkpointer thread
/// and the `Db` (for the readers) each hold a clone, and drop it after their connections.
#[derive(Clone)]
struct DbFile(Arc<std::fs::File>);

impl Db {
    /// Opens (and if needed creates and migrates) the database file.
    pub(crate) fn open(path: &Path) -> Result<Db, EmbeddedError> {
        let writer = schema::open_writer(path)?;
        let readers = (0..READERS)
            .map(|_| schema::open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(|f| DbFile(Arc::new(f)))
            .map_err(|source| EmbeddedError::DbFile {
                path: path.to_path_buf(),
                source,
            })?;
        let checkpointer = Checkpointer {
            conn: schema::open_checkpointer(path)?,
            file: file.clone(),
            pause: Arc::new(Pause::default()),
        };
        let pause = checkpointer.pause.clone();
        let (stop_checkpoints, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("hookline-sqlite-checkpoint".into())
            .spawn(move || checkpointer.run(stopped))
            .map_err(EmbeddedError::Thread)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("hookline-sqlite-writer".into())
            .spawn({
                let file = file.clone();
                move || {
                    write_loop(writer, rx, &pause);
                    drop(file);
                }
            })
            .map_err(EmbeddedError::Thread)?;
        Ok(Db {
            writes: tx,
            _stop_checkpoints: stop_checkpoints,
            readers,
            next_reader: AtomicUsize::new(0),
            _file: file,
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
        self.submit(op, true, f).await
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
        self.submit(op, false, f).await
    }

    async fn submit<T, F>(&self, op: &'static str, guarded: bool, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        let (done, result) = oneshot::channel::<Result<T, PortError>>();
        let job: Box<dyn Job> = Box::new(Write {
            op,
            guarded,
            f,
            done,
        });
        if self.writes.send(job).is_err() {
            return Err(PortError::Backend(format!(
                "sqlite {op}: the writer thread has stopped"
            )));
        }
        result.await.unwrap_or_else(|_| {
            Err(PortError::Backend(format!(
                "sqlite {op}: the writer thread has stopped"
            )))
        })
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

    /// Runs a point read — a lookup by key, tens of microseconds from the page cache — on a
    /// free reader right on the calling thread: handing it to the blocking pool would cost two
    /// thread wake-ups, several times the read itself, on the path of every delivery. Only
    /// when every reader is taken does it go to the pool (to wait there, not here).
    pub(crate) async fn lookup<T, F>(
        self: &Arc<Self>,
        op: &'static str,
        f: F,
    ) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, PortError> + Send + 'static,
    {
        let Some(conn) = self.readers.iter().find_map(|r| r.try_lock().ok()) else {
            return self.read(op, f).await;
        };
        // A panic in `f` is a bug; it becomes this call's error, as on the pool.
        std::panic::catch_unwind(AssertUnwindSafe(|| f(&conn))).unwrap_or_else(|_| {
            Err(PortError::Backend(format!(
                "sqlite {op}: the read panicked"
            )))
        })
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

/// The writer thread: takes the writes waiting, runs them in one transaction (each in its own
/// savepoint), commits, and only then answers each. Ends when the `Db` is dropped.
///
/// `BEGIN IMMEDIATE` and `COMMIT` come from the statement cache: `Transaction` would parse
/// both again for every group, thousands of times a second under load.
fn write_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn Job>>, pause: &Pause) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let _in_transaction = pause.begin();
        if let Err(e) = exec_cached(&conn, "BEGIN IMMEDIATE") {
            let why = sqlite("begin", e).to_string();
            group.into_iter().for_each(|job| job.abort(why.clone()));
            continue;
        }
        let mut completions = Vec::with_capacity(group.len());
        let mut rolled_back = false;
        let mut waiting = group.into_iter();
        while let Some(job) = waiting.next() {
            let guarded = job.guarded();
            if guarded && let Err(e) = exec_cached(&conn, "SAVEPOINT op") {
                job.abort(sqlite("savepoint", e).to_string());
                continue;
            }
            let (ok, completion) = job.run(&conn);
            let end = if conn.is_autocommit() {
                // Some errors (a full disk, an I/O error) make SQLite roll back the whole
                // transaction: every write of the group so far is gone.
                Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT_ROLLBACK),
                    Some("the transaction was rolled back".into()),
                ))
            } else if !guarded {
                Ok(())
            } else if ok {
                exec_cached(&conn, "RELEASE op")
            } else {
                exec_cached(&conn, "ROLLBACK TO op").and_then(|()| exec_cached(&conn, "RELEASE op"))
            };
            match end {
                Ok(()) => completions.push(completion),
                // The savepoint's fate is unknown: the whole group must not commit.
                Err(e) => {
                    let why = sqlite("savepoint", e).to_string();
                    completion(Err(why.clone()));
                    completions
                        .into_iter()
                        .for_each(|c: Completion| c(Err(why.clone())));
                    completions = Vec::new();
                    waiting.by_ref().for_each(|job| job.abort(why.clone()));
                    rollback(&conn);
                    rolled_back = true;
                    break;
                }
            }
        }
        if rolled_back {
            continue;
        }
        let committed = exec_cached(&conn, "COMMIT").map_err(|e| sqlite("commit", e).to_string());
        if committed.is_err() {
            // A failed COMMIT may leave the transaction open; nothing of it may stay.
            rollback(&conn);
        }
        for completion in completions {
            completion(committed.clone());
        }
    }
}

/// Ends the open transaction, if any, keeping none of it.
fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Holds the writer between two of its transactions, for the checkpointer: the writer takes
/// `transaction` for each of its transactions, the checkpointer takes it to keep the writer
/// out. A flag makes the writer wait its turn, so that a writer that goes straight from one
/// transaction to the next cannot take the lock back before the checkpointer gets it.
#[derive(Default)]
struct Pause {
    /// Held by the writer for each transaction, and by the checkpointer to keep it out.
    transaction: Mutex<()>,
    /// Whether the checkpointer is taking (or holds) `transaction`: the writer waits for
    /// `over` before its next one instead of racing it for the lock.
    wanted: Mutex<bool>,
    over: Condvar,
}

impl Pause {
    /// The writer's hold for one transaction (after any pause of the checkpointer's).
    fn begin(&self) -> MutexGuard<'_, ()> {
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
struct Checkpointer {
    conn: Connection,
    file: DbFile,
    pause: Arc<Pause>,
}

impl Checkpointer {
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

/// Runs a statement from the connection's statement cache (no re-parsing per write).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Locks a connection or a flag. A panic while a connection was held left no transaction
/// open (dropping a `Transaction` rolls it back), so a poisoned lock still guards a usable
/// connection; the flags and the writer's transaction lock guard no state a panic could
/// break.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // page, its leaf): three times the writer's own limit in all, with no pause for a
        // background pass to catch up in.
        let limit = schema::WRITER_CHECKPOINT_PAGES;
        let mut frames = 0;
        let mut k = 0;
        while frames < 3 * limit {
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
            frames += 3;
        }
        // The log file keeps the length of the longest log: had only the writer's own
        // checkpoints started it over, it would have reached `limit` frames. The
        // checkpointer starts it over from `RESTART_FROM` on, plus what is written until its
        // next pass and during it (about 4,000 frames at this test's rate; more on a busy
        // machine, hence the margin).
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .expect("wal")
            .len();
        let frame = 4096 + 24;
        assert!(
            wal < (limit * 3 / 4) as u64 * frame,
            "the log reached {} frames",
            wal / frame
        );
    }

    fn count(conn: &Connection, key: &str) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap_or(-1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failed_write_rolls_back_alone_and_the_rest_of_its_group_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Db::open(&dir.path().join("t.db")).expect("open"));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let db = db.clone();
            tasks.spawn(async move {
                db.write("t", move |c| {
                    c.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, 1)",
                        [format!("k{i}")],
                    )
                    .map_err(|e| sqlite("t", e))?;
                    if i % 7 == 0 {
                        // Written, then refused: none of it may stay.
                        return Err(PortError::Backend("refused".into()));
                    }
                    if i % 11 == 0 {
                        panic!("a write that panics");
                    }
                    Ok(i)
                })
                .await
            });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            if r.expect("task").is_ok() {
                ok += 1;
            }
        }
        let expected_ok = (0..200).filter(|i| i % 7 != 0 && i % 11 != 0).count();
        assert_eq!(ok, expected_ok);
        let kept = db
            .read("t", |c| {
                Ok((0..200)
                    .map(|i| (i, count(c, &format!("k{i}"))))
                    .collect::<Vec<_>>())
            })
            .await
            .expect("read");
        for (i, n) in kept {
            let should = i64::from(i % 7 != 0 && i % 11 != 0);
            assert_eq!(n, should, "write {i}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writes_without_a_savepoint_keep_their_applied_statements_and_their_group_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Db::open(&dir.path().join("t.db")).expect("open"));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            let db = db.clone();
            tasks.spawn(async move {
                let insert = move |c: &Connection, key: String| {
                    c.execute("INSERT INTO meta (key, value) VALUES (?1, 1)", [key])
                        .map_err(|e| sqlite("t", e))
                };
                if i % 2 == 0 {
                    // Guarded: all of it or none.
                    db.write("t", move |c| {
                        insert(c, format!("g{i}"))?;
                        insert(c, format!("g{i}"))
                    })
                    .await
                } else {
                    // Unguarded: the first statement stands, the failing second undoes itself.
                    db.write_each("t", move |c| {
                        insert(c, format!("u{i}"))?;
                        insert(c, format!("u{i}"))
                    })
                    .await
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            assert!(r.expect("task").is_err(), "the duplicate insert fails");
        }
        let (guarded, unguarded) = db
            .read("t", |c| {
                let n = |prefix: &str| {
                    c.query_row(
                        "SELECT COUNT(*) FROM meta WHERE key LIKE ?1",
                        [format!("{prefix}%")],
                        |r| r.get::<_, i64>(0),
                    )
                    .map_err(|e| sqlite("t", e))
                };
                Ok((n("g")?, n("u")?))
            })
            .await
            .expect("read");
        assert_eq!(guarded, 0, "a failed guarded write leaves nothing");
        assert_eq!(
            unguarded, 50,
            "each unguarded write kept its first statement"
        );
    }

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
        let held: Vec<_> = db.readers.iter().map(lock).collect();
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
            matches!(panicked, Err(PortError::Backend(_))),
            "{panicked:?}"
        );
        assert_eq!(
            db.lookup("t", |c| Ok(count(c, "k"))).await.expect("read"),
            1,
            "the reader is still usable"
        );
    }
}
