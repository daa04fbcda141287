//! The writer: one connection, owned by a dedicated thread, through which every write goes.
//!
//! Writes are group-committed: the writer thread takes every write that is waiting (up to
//! [`MAX_GROUP`]) into one `BEGIN IMMEDIATE` transaction, runs each inside its own savepoint —
//! so each is still applied whole or not at all, and one write's failure rolls back only that
//! write — and commits once. A caller's write returns only after the commit that holds its
//! change, so an acknowledged write is as durable as before; the batching only shares the
//! commit (and the thread hand-off) among the writes that arrived together.
//!
//! A savepoint is not free: SQLite copies every page the write then changes into a
//! sub-journal. The writes on every delivery's path are single statements, or runs of
//! statements any prefix of which is as good as none (see [`Db::write_each`]); those run
//! without one, protected by SQLite's own statement atomicity.
//!
//! Between two transactions the writer may be held for a moment by the checkpointer (see
//! [`Pause`]).
//!
//! [`Db::write_each`]: super::Db::write_each

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, mpsc};

use hookline_ports::PortError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::DbFile;
use super::checkpointer::Pause;
use crate::error::EmbeddedError;

/// Most writes one transaction groups.
const MAX_GROUP: usize = 256;

/// What the writer thread reports to a write once its group has committed (or failed).
type Completion = Box<dyn FnOnce(Result<(), Failure>) + Send>;

/// Why a group's transaction (or one write's savepoint) failed: the step, and SQLite's error,
/// shared by every write it fails.
#[derive(Clone)]
struct Failure {
    step: &'static str,
    cause: Arc<rusqlite::Error>,
}

impl Failure {
    fn new(step: &'static str, e: rusqlite::Error) -> Failure {
        Failure {
            step,
            cause: Arc::new(e),
        }
    }

    /// The error of write `op`, which this failure undid or kept from running.
    fn of(&self, op: &str) -> PortError {
        let message = format!("sqlite {op}: {}: {}", self.step, self.cause);
        PortError::backend_caused_by(message, self.cause.clone())
    }
}

/// A write waiting for the writer thread.
trait Job: Send {
    /// Whether the write runs in a savepoint of its own (see [`Db::write_each`]).
    fn guarded(&self) -> bool;
    /// Runs the write; `true` if it succeeded (its savepoint is then released, else rolled
    /// back), and how to tell its caller how the transaction ended.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Completion);
    /// Tells the caller the write could not run at all.
    fn abort(self: Box<Self>, why: Failure);
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
            Err(_) => Err(PortError::backend(format!(
                "sqlite {op}: the write panicked"
            ))),
        };
        let ok = out.is_ok();
        let completion: Completion = Box::new(move |committed: Result<(), Failure>| {
            let out = match (committed, out) {
                (_, Err(e)) => Err(e),
                (Err(why), Ok(_)) => Err(why.of(op)),
                (Ok(()), Ok(v)) => Ok(v),
            };
            // The caller may have stopped waiting; the write stands either way.
            let _ = done.send(out);
        });
        (ok, completion)
    }

    fn abort(self: Box<Self>, why: Failure) {
        let _ = self.done.send(Err(why.of(self.op)));
    }
}

/// The writer thread's queue of writes.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread over `conn`; it ends when the `Writer` is dropped, and closes
    /// `file` after `conn`.
    pub(super) fn spawn(
        conn: Connection,
        pause: Arc<Pause>,
        file: DbFile,
    ) -> Result<Writer, EmbeddedError> {
        let (jobs, rx) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("hookline-sqlite-writer".into())
            .spawn(move || {
                write_loop(conn, rx, &pause);
                drop(file);
            })
            .map_err(EmbeddedError::Thread)?;
        Ok(Writer { jobs })
    }

    /// Hands `f` to the writer thread, in a savepoint of its own if `guarded`, and waits for
    /// the commit of the transaction that holds it.
    pub(super) async fn submit<T, F>(
        &self,
        op: &'static str,
        guarded: bool,
        f: F,
    ) -> Result<T, PortError>
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
        if self.jobs.send(job).is_err() {
            return Err(PortError::backend(format!(
                "sqlite {op}: the writer thread has stopped"
            )));
        }
        result.await.unwrap_or_else(|_| {
            Err(PortError::backend(format!(
                "sqlite {op}: the writer thread has stopped"
            )))
        })
    }
}

/// The writer thread: takes the writes waiting, runs them in one transaction (each in its own
/// savepoint), commits, and only then answers each. Ends when the [`Writer`] is dropped.
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
            let why = Failure::new("begin", e);
            group.into_iter().for_each(|job| job.abort(why.clone()));
            continue;
        }
        let mut completions = Vec::with_capacity(group.len());
        let mut rolled_back = false;
        let mut waiting = group.into_iter();
        while let Some(job) = waiting.next() {
            let guarded = job.guarded();
            if guarded && let Err(e) = exec_cached(&conn, "SAVEPOINT op") {
                job.abort(Failure::new("savepoint", e));
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
                    let why = Failure::new("savepoint", e);
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
        let committed = exec_cached(&conn, "COMMIT").map_err(|e| Failure::new("commit", e));
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

/// Runs a statement from the connection's statement cache (no re-parsing per write).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::super::{Db, count};
    use super::*;
    use crate::error::sqlite;

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
                        return Err(PortError::backend("refused"));
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

    #[tokio::test]
    async fn a_failed_statement_keeps_sqlites_error_as_the_cause() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("t.db")).expect("open");
        let insert = |c: &Connection| {
            c.execute("INSERT INTO meta (key, value) VALUES ('k', 1)", [])
                .map_err(|e| sqlite("t", e))
        };
        db.write("t", insert).await.expect("first insert");
        let e = db.write("t", insert).await.expect_err("the key exists");
        assert!(e.to_string().starts_with("backend: sqlite t: "), "{e}");
        let cause = std::error::Error::source(&e).expect("a cause");
        assert!(
            matches!(
                cause.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation
            ),
            "{cause:?}"
        );
    }
}
