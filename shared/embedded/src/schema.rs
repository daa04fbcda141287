//! The database file: connection settings and the schema, versioned by `user_version`.
//!
//! Every domain object is stored whole as a JSON text column (`body`), next to the few
//! columns the store's access patterns filter and sort on, so the schema only changes when an
//! access pattern does. Times that are compared are Unix nanoseconds (`*_ns`) or, in the
//! queue, milliseconds (`*_ms`).

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::EmbeddedError;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "hookline.db";

/// The schema version this build writes; `user_version` of an up-to-date file.
pub const SCHEMA_VERSION: i64 = 10;

/// How long a statement waits for a lock held by another connection (or process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Size of a lookaside slot: SQLite's default.
const LOOKASIDE_SLOT_BYTES: u16 = 1_200;
/// Lookaside slots per connection (SQLite's default is 40): about 600 KB each, for the writer,
/// the checkpointer and the readers.
const LOOKASIDE_SLOTS: u16 = 512;

/// Prepared statements kept per connection; the store and queue use fewer than this.
const STATEMENT_CACHE: usize = 96;

/// Version 1: every table of the store, the queue and the key store.
const V1: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('subscriptions_generation', 0);

CREATE TABLE IF NOT EXISTS clients (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS event_types (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    id             TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    received_at_ns INTEGER NOT NULL,
    enqueued       INTEGER NOT NULL DEFAULT 0,
    body           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_state ON events (state, received_at_ns, id);
CREATE INDEX IF NOT EXISTS events_by_time ON events (received_at_ns, id);

CREATE TABLE IF NOT EXISTS idempotency (
    source   TEXT NOT NULL,
    key      TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS subscriptions (
    id        TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_client ON subscriptions (client_id, id);

CREATE TABLE IF NOT EXISTS deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at_ns   INTEGER NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_subscription
    ON deliveries (subscription_id, created_at_ns, id);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id, created_at_ns, id);
CREATE INDEX IF NOT EXISTS deliveries_by_client ON deliveries (client_id, created_at_ns, id);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (created_at_ns, id);

CREATE TABLE IF NOT EXISTS messages (
    seq            INTEGER PRIMARY KEY,
    queue          TEXT NOT NULL,
    message_id     TEXT NOT NULL UNIQUE,
    body           TEXT NOT NULL,
    visible_at_ms  INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    sent_at_ms     INTEGER NOT NULL,
    receipt_handle TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at_ms, seq);
CREATE INDEX IF NOT EXISTS messages_receipt ON messages (receipt_handle)
    WHERE receipt_handle IS NOT NULL;

CREATE TABLE IF NOT EXISTS signing_keys (
    kid        TEXT PRIMARY KEY,
    pkcs8      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Version 2: the queue's messages lose two indexes that every message paid for in writes and
/// nothing read. A receipt handle now starts with the row's key (see `messages`), so the index
/// of handles goes, and with it the handles of messages in flight: those messages are
/// received again when their visibility timeout ends. Message ids are unique by construction
/// (time plus 80 random bits) and never looked up, so the table is rebuilt without the unique
/// index on them.
const V2: &str = r#"
DROP INDEX IF EXISTS messages_receipt;
CREATE TABLE messages_v2 (
    seq            INTEGER PRIMARY KEY,
    queue          TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    visible_at_ms  INTEGER NOT NULL,
    receive_count  INTEGER NOT NULL DEFAULT 0,
    sent_at_ms     INTEGER NOT NULL,
    receipt_handle TEXT
);
INSERT INTO messages_v2
    (seq, queue, message_id, body, visible_at_ms, receive_count, sent_at_ms, receipt_handle)
    SELECT seq, queue, message_id, body, visible_at_ms, receive_count, sent_at_ms, NULL
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
CREATE INDEX messages_visible ON messages (queue, visible_at_ms, seq);
"#;

/// Version 3: a delivery's optimistic-concurrency version gets a column of its own. Every
/// attempt writes its delivery twice over the version it read (the claim, then the outcome),
/// and the check read the version out of the stored JSON body, parsing it each time: 2% of
/// the runner's CPU in fan-out. Existing rows take their body's version.
const V3: &str = r#"
ALTER TABLE deliveries ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET version = coalesce(json_extract(body, '$.version'), 0)
    WHERE coalesce(json_extract(body, '$.version'), 0) <> 0;
"#;

/// Version 4: keys rotate. A signing key signs from `not_before` on (NULL: from its creation),
/// the public halves of the keys are published in `public_keys` (written with the set by
/// rotation, read by verifiers).
const V4: &str = r#"
ALTER TABLE signing_keys ADD COLUMN not_before INTEGER;
CREATE TABLE IF NOT EXISTS public_keys (
    kid TEXT PRIMARY KEY,
    x   TEXT NOT NULL,
    y   TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// Version 5: events and deliveries past the retention are deleted (see `retention`); an
/// event's idempotency claim goes with it, found by the event's id.
const V5: &str = r#"
CREATE INDEX IF NOT EXISTS idempotency_by_event ON idempotency (event_id);
"#;

/// Version 6: the national manufacturer registry, keyed by FSSAI licence number (the primary
/// key is what keeps a number unique), listed by `sort_key` (name key, `\u{1}`, number: see
/// `hookline_ports::manufacturer_sort_key`) in all and, through `manufacturer_states`, by each
/// state that uses the manufacturer.
const V6: &str = r#"
CREATE TABLE IF NOT EXISTS manufacturers (
    fssai    TEXT PRIMARY KEY,
    sort_key TEXT NOT NULL,
    version  INTEGER NOT NULL,
    body     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manufacturers_by_name ON manufacturers (sort_key);
CREATE TABLE IF NOT EXISTS manufacturer_states (
    state    TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    fssai    TEXT NOT NULL,
    PRIMARY KEY (state, sort_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manufacturer_states_by_fssai ON manufacturer_states (fssai);
"#;

/// Version 7: the manufacturer registry's bulk imports, and the recorded outcome of each
/// chunk of their rows (written once: a redelivered chunk finds its row).
const V7: &str = r#"
CREATE TABLE IF NOT EXISTS imports (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS import_chunks (
    import_id TEXT NOT NULL,
    chunk     INTEGER NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (import_id, chunk)
) WITHOUT ROWID;
"#;

/// Version 8: sync requests (seed 002). External sources of a client's resources, the
/// members allocated to each, and sync requests listed per resource by id (time-ordered).
const V8: &str = r#"
CREATE TABLE IF NOT EXISTS external_sources (
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    reference   TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (owner, resource_id, reference)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS source_allocations (
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    reference   TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    PRIMARY KEY (owner, resource_id, reference, member_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sync_requests (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_requests_by_resource ON sync_requests (owner, resource_id, id);
"#;

/// Version 9: pull subscriptions' message logs (see `pull`): each log's last and acknowledged
/// positions, and its messages by position, each once per delivery cycle (`append_key`).
const V9: &str = r#"
CREATE TABLE IF NOT EXISTS pull_logs (
    subscription_id TEXT PRIMARY KEY,
    last_position   INTEGER NOT NULL,
    acked_position  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS pull_messages (
    subscription_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    append_key      TEXT NOT NULL,
    kept_until_ns   INTEGER NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (subscription_id, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS pull_messages_by_append ON pull_messages (subscription_id, append_key);
CREATE INDEX IF NOT EXISTS pull_messages_by_expiry ON pull_messages (kept_until_ns);
"#;

/// Version 10: integration apps (see `apps`, `apps_polls`, `secrets`). Published app
/// versions by (key, version), listed by key then `sort_key` (`hookline_ports::version_sort_key`,
/// semver order); connections, whose hook token is unique; each connection's polling
/// triggers, found due by `next_run_ns`; and the secret store's values, encrypted (AES-256-GCM,
/// the nonce beside the ciphertext and its tag).
const V10: &str = r#"
CREATE TABLE IF NOT EXISTS app_versions (
    key      TEXT NOT NULL,
    version  TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (key, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS app_versions_in_order ON app_versions (key, sort_key, version);

CREATE TABLE IF NOT EXISTS connections (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    hook_token TEXT NOT NULL UNIQUE,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_by_client ON connections (client_id, id);

CREATE TABLE IF NOT EXISTS polls (
    connection_id  TEXT NOT NULL,
    trigger_key    TEXT NOT NULL,
    next_run_ns    INTEGER NOT NULL,
    lease_until_ns INTEGER,
    version        INTEGER NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (connection_id, trigger_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS polls_due ON polls (next_run_ns, connection_id, trigger_key);

CREATE TABLE IF NOT EXISTS secrets (
    name       TEXT PRIMARY KEY,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL
) WITHOUT ROWID;
"#;

/// WAL pages past which the writer checkpoints in its own commit (~80 MB): a backstop, as the
/// background checkpointer has the log started over from 4,096 pages (see `db`), and a
/// checkpoint inside a commit holds up every write for tens of milliseconds. Before the
/// checkpointer did, a limit of 100,000 let the log grow for as long as the load lasted, and
/// in the noisy-neighbour benchmark the healthy receiver's p99 rose from about 2 ms to
/// 100 ms.
pub(crate) const WRITER_CHECKPOINT_PAGES: i64 = 20_000;

/// Opens the connection that checkpoints the log in the background.
pub fn open_checkpointer(path: &Path) -> Result<Connection, EmbeddedError> {
    configure_library();
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens the writer connection, configures it and brings the schema up to date.
pub fn open_writer(path: &Path) -> Result<Connection, EmbeddedError> {
    configure_library();
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    // WAL lets the readers run while the writer commits, and a commit is one append to the
    // log. synchronous=NORMAL syncs the log only at checkpoints: a killed process (kill -9)
    // loses nothing, because every committed transaction is already in the log file in the OS
    // page cache; only a power loss or OS crash can roll back the last few commits. FULL would
    // add an fsync to every commit, which caps the queue at a few hundred transactions per
    // second on ordinary disks, for a guarantee the design does not ask of the local backend.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; running without it");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Checkpoints run on their own connection and thread (see `db`), so that no commit waits
    // for one; the writer checkpoints itself only if the log outgrows this many pages.
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a reader connection (after the writer has created the schema).
pub fn open_reader(path: &Path) -> Result<Connection, EmbeddedError> {
    configure_library();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn)?;
    // A reader never writes; make a bug that tries fail loudly instead of taking the lock.
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Settings of the SQLite library itself, made once per process before its first connection.
///
/// Memory statistics off: with them on (the bundled build's default), every allocation
/// SQLite makes takes one process-wide mutex to count it, on the writer, the checkpointer
/// and the readers alike. Nothing here reads `sqlite3_status`.
///
/// Each connection's lookaside (its own pool for small allocations, tried before `malloc`)
/// has [`LOOKASIDE_SLOTS`] slots instead of the default 40, so that fewer of the writer's
/// allocations fall through to the C allocator.
///
/// SQLite answers `SQLITE_MISUSE` if the library was already initialised (a connection
/// opened elsewhere in the process first); its defaults then stay, which changes only speed.
fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY (both calls): `sqlite3_config` gets the arguments each option takes (one int;
        // two ints); before the library is initialised it only sets a global, and after, it
        // returns SQLITE_MISUSE and changes nothing. `Once` keeps two threads from racing here.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                std::ffi::c_int::from(0u8),
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics left on");
        }
        // SAFETY: as above.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_LOOKASIDE,
                std::ffi::c_int::from(LOOKASIDE_SLOT_BYTES),
                std::ffi::c_int::from(LOOKASIDE_SLOTS),
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite lookaside left at its default");
        }
    });
}

fn configure(conn: &Connection) -> Result<(), EmbeddedError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The bundled SQLite is built with STAT4, under which binding a new value to some
    // parameters (an `= ?` that may be 0 or 1, a range bound, a LIMIT) marks a cached
    // statement for re-preparation, so hot statements were parsed and planned again on
    // most runs. The query planner stability guarantee keeps each statement's first plan;
    // the schema has one obvious index per access pattern and never runs ANALYZE, so that
    // plan is the one a re-preparation would choose anyway.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Applies every migration above the file's `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), EmbeddedError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(EmbeddedError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < 1 {
        tx.execute_batch(V1)?;
        tx.pragma_update(None, "user_version", 1)?;
        tracing::info!(version = 1, "created the embedded database schema");
    }
    if found < 2 {
        tx.execute_batch(V2)?;
        tx.pragma_update(None, "user_version", 2)?;
        tracing::info!(version = 2, "migrated the embedded database schema");
    }
    if found < 3 {
        tx.execute_batch(V3)?;
        tx.pragma_update(None, "user_version", 3)?;
        tracing::info!(version = 3, "migrated the embedded database schema");
    }
    if found < 4 {
        tx.execute_batch(V4)?;
        tx.pragma_update(None, "user_version", 4)?;
        tracing::info!(version = 4, "migrated the embedded database schema");
    }
    if found < 5 {
        tx.execute_batch(V5)?;
        tx.pragma_update(None, "user_version", 5)?;
        tracing::info!(version = 5, "migrated the embedded database schema");
    }
    if found < 6 {
        tx.execute_batch(V6)?;
        tx.pragma_update(None, "user_version", 6)?;
        tracing::info!(version = 6, "migrated the embedded database schema");
    }
    if found < 7 {
        tx.execute_batch(V7)?;
        tx.pragma_update(None, "user_version", 7)?;
        tracing::info!(version = 7, "migrated the embedded database schema");
    }
    if found < 8 {
        tx.execute_batch(V8)?;
        tx.pragma_update(None, "user_version", 8)?;
        tracing::info!(version = 8, "migrated the embedded database schema");
    }
    if found < 9 {
        tx.execute_batch(V9)?;
        tx.pragma_update(None, "user_version", 9)?;
        tracing::info!(version = 9, "migrated the embedded database schema");
    }
    if found < 10 {
        tx.execute_batch(V10)?;
        tx.pragma_update(None, "user_version", 10)?;
        tracing::info!(version = 10, "migrated the embedded database schema");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hookline_ports::{QueueConsumer, QueueName};

    use super::*;
    use crate::{EmbeddedBackend, QueueOptions};

    #[test]
    fn the_library_counts_no_memory_and_gives_each_connection_its_larger_lookaside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join(DB_FILE)).expect("open");
        // A parse tree of 3,000 small nodes, all alive at once while the statement is
        // prepared: SQLite's default lookaside (40 × 1,200 bytes) holds at most 375 of them.
        let list: Vec<String> = (0..3_000).map(|i| i.to_string()).collect();
        let sql = format!("SELECT 1 IN ({})", list.join(", "));
        let stmt = conn.prepare(&sql).expect("prepare");
        // SAFETY: plain status reads of a global and of this open connection.
        let (used, lookaside_peak) = unsafe {
            let (mut current, mut peak) = (0, 0);
            let rc = rusqlite::ffi::sqlite3_db_status(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_LOOKASIDE_USED,
                &mut current,
                &mut peak,
                0,
            );
            assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
            (rusqlite::ffi::sqlite3_memory_used(), peak)
        };
        drop(stmt);
        assert_eq!(used, 0, "memory statistics are off");
        // The default pool's 40 × 1,200 bytes, carved into SQLite's smallest (128-byte) slots.
        let default_max = 40 * i32::from(LOOKASIDE_SLOT_BYTES) / 128;
        assert!(
            lookaside_peak > default_max,
            "{lookaside_peak} lookaside slots in use at once: no more than the default allows"
        );
    }

    /// A connection that skips the store's settings, to build or inspect a file by hand.
    /// The library is still configured first: under `cargo test` every test shares one
    /// process, and a bare first connection would leave SQLite's defaults to all of them.
    fn raw_connection(path: &Path) -> Connection {
        configure_library();
        Connection::open(path).expect("sqlite")
    }

    fn indexes_of_messages(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn statements_are_not_prepared_again_when_new_values_are_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join(DB_FILE)).expect("open");
        // A LIMIT and an `= ?` that moves off 0 and 1 would each mark the statement for
        // re-preparation on the next run, were the planner free to re-plan.
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq FROM messages WHERE queue = ?1 AND receive_count = ?2
                 ORDER BY visible_at_ms, seq LIMIT ?3",
            )
            .expect("prepare");
        for (count, limit) in [(0, 1), (1, 10), (2, 3), (0, 7), (5, 10)] {
            let rows: Vec<i64> = stmt
                .query_map(rusqlite::params!["deliveries", count, limit], |r| r.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            assert!(rows.is_empty());
        }
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "re-prepared on a new binding"
        );
    }

    #[tokio::test]
    async fn a_version_2_file_keeps_each_deliverys_version_for_the_next_conditional_write() {
        use hookline_domain::{ClientId, Delivery, DeliveryId, EventId, SubscriptionId};
        use hookline_ports::DeliveryStore;
        let dir = tempfile::tempdir().expect("tempdir");
        let now = time::OffsetDateTime::now_utc();
        let (event, client) = (EventId::new(1), ClientId::new(1));
        let (sub_1, sub_2) = (SubscriptionId::new(1), SubscriptionId::new(2));
        let mut moved = Delivery::new(DeliveryId::new(1), &event, &sub_1, &client, now);
        moved.version = 3;
        let fresh = Delivery::new(DeliveryId::new(2), &event, &sub_2, &client, now);
        {
            let conn = raw_connection(&dir.path().join(DB_FILE));
            conn.execute_batch(V1).expect("v1");
            conn.execute_batch(V2).expect("v2");
            conn.pragma_update(None, "user_version", 2)
                .expect("version");
            for d in [&moved, &fresh] {
                conn.execute(
                    "INSERT INTO deliveries
                         (id, subscription_id, event_id, client_id, status, created_at_ns, body)
                     VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5)",
                    rusqlite::params![
                        d.id.as_str(),
                        d.subscription_id.as_str(),
                        d.event_id.as_str(),
                        d.client_id.as_str(),
                        serde_json::to_string(d).expect("json")
                    ],
                )
                .expect("insert");
            }
        }
        let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("open");
        let stale = Delivery {
            version: 2,
            ..moved.clone()
        };
        assert!(!backend.update_delivery(&stale).await.expect("stale"));
        assert!(backend.update_delivery(&moved).await.expect("current"));
        assert!(!backend.update_delivery(&moved).await.expect("moved on"));
        let got = backend
            .get_delivery(&moved.id)
            .await
            .expect("get")
            .expect("some");
        assert_eq!(got.version, 4);
        assert!(backend.update_delivery(&fresh).await.expect("version 0"));
        assert!(
            backend
                .update_delivery(&Delivery {
                    version: 1,
                    ..fresh
                })
                .await
                .expect("version 1")
        );
    }

    #[tokio::test]
    async fn a_version_1_file_keeps_its_messages_and_loses_the_indexes_nothing_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = raw_connection(&dir.path().join(DB_FILE));
            conn.execute_batch(V1).expect("v1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            // One waiting message and one in flight under a version-1 (all random) handle.
            conn.execute_batch(
                "INSERT INTO messages (queue, message_id, body, visible_at_ms, receive_count, sent_at_ms, receipt_handle)
                 VALUES ('deliveries', 'msg_a', '{\"n\":1}', 0, 0, 0, NULL),
                        ('deliveries', 'msg_b', '{\"n\":2}', 0, 1, 0, 'deadbeef');",
            )
            .expect("messages");
            assert_eq!(
                indexes_of_messages(&conn).len(),
                3,
                "version 1 indexes handles and ids"
            );
        }

        let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("open");
        {
            let conn = raw_connection(&dir.path().join(DB_FILE));
            let v: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .expect("version");
            assert_eq!(v, SCHEMA_VERSION);
            assert_eq!(indexes_of_messages(&conn), vec!["messages_visible"]);
        }
        // The old handle no longer deletes anything, and both messages are still there.
        backend
            .delete(QueueName::Deliveries, vec!["deadbeef".into()])
            .await
            .expect("delete");
        let got = backend
            .receive(
                QueueName::Deliveries,
                10,
                Duration::ZERO,
                Duration::from_secs(30),
            )
            .await
            .expect("receive");
        let mut bodies: Vec<_> = got.iter().map(|m| m.body.as_str()).collect();
        bodies.sort_unstable();
        assert_eq!(bodies, vec!["{\"n\":1}", "{\"n\":2}"]);
        let in_flight = got.iter().find(|m| m.body == "{\"n\":2}").expect("b");
        assert_eq!(in_flight.receive_count, 2, "its receives are still counted");
    }
}
