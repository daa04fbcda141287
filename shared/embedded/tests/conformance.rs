//! The embedded backend against the port conformance suite, plus what only a local,
//! durable backend promises: data survives a restart and a `kill -9`, concurrent receivers
//! never share a message, stale receipt handles do nothing, delays have millisecond precision.

#[path = "conformance/durability.rs"]
mod durability;
#[path = "conformance/queue_local.rs"]
mod queue_local;

use std::path::Path;

use hookline_embedded::{EmbeddedBackend, EmbeddedError, QueueOptions};
use hookline_ports::conformance;
use tempfile::TempDir;

/// A backend on a fresh data directory (kept alive by the returned `TempDir`).
pub fn fresh(opts: QueueOptions) -> (TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = EmbeddedBackend::open(dir.path(), opts).expect("open the embedded backend");
    (dir, backend)
}

#[tokio::test]
async fn store_passes_the_conformance_suite() {
    let (_dir, backend) = fresh(QueueOptions::default());
    conformance::store_suite(&*backend.store()).await;
    // Twice on one store: the suite must not depend on a fresh store.
    conformance::store_suite(&*backend.store()).await;
}

#[tokio::test]
async fn store_holding_claims_in_memory_passes_the_conformance_suite() {
    // The local runner's: the claims of the deliveries it inserts are not written.
    let (_dir, backend) = fresh(QueueOptions::default());
    let backend = backend.holding_claims_in_memory();
    conformance::store_suite(&*backend.store()).await;
}

#[tokio::test]
async fn the_fault_injecting_store_passes_every_call_through_as_its_own_fault_point() {
    use hookline_ports::faults::{Faults, FaultyStore};
    let (_dir, backend) = fresh(QueueOptions::default());
    let faults = Faults::default();
    let store = FaultyStore::new(backend.store(), faults.clone());
    faults.record();
    conformance::store_suite(&store).await;
    let points = faults.recorded().join(" ");
    let expected = "insert_app_version list_app_versions insert_connection connection_by_hook \
                    update_poll due_polls put_secret delete_secret";
    for point in expected.split_whitespace() {
        assert!(
            points.split(' ').any(|p| p == point),
            "no call reached the fault point {point}"
        );
    }
}

#[tokio::test]
async fn queue_passes_the_conformance_suite() {
    let opts = QueueOptions::default();
    let (_dir, backend) = fresh(opts);
    conformance::queue_suite(
        &*backend.queue(),
        opts.max_receives_events,
        opts.max_receives_deliveries,
    )
    .await;
}

#[tokio::test]
async fn queue_passes_the_conformance_suite_with_other_redrive_limits() {
    let opts = QueueOptions {
        max_receives_events: 1,
        max_receives_deliveries: 3,
    };
    let (_dir, backend) = fresh(opts);
    conformance::queue_suite(&*backend.queue(), 1, 3).await;
}

#[tokio::test]
async fn keys_pass_the_conformance_suite() {
    let (_dir, backend) = fresh(QueueOptions::default());
    conformance::keys_suite(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suites_pass_on_a_multi_threaded_runtime() {
    // The flavour the local runner uses.
    let (_dir, backend) = fresh(QueueOptions::default());
    conformance::store_suite(&*backend.store()).await;
    conformance::keys_suite(&backend).await;
    let opts = backend.queue_options();
    conformance::queue_suite(
        &*backend.queue(),
        opts.max_receives_events,
        opts.max_receives_deliveries,
    )
    .await;
}

#[test]
fn a_data_dir_is_open_in_one_place_at_a_time() {
    let (dir, backend) = fresh(QueueOptions::default());
    let store = backend.store();
    let second = EmbeddedBackend::open(dir.path(), QueueOptions::default()).err();
    assert!(
        matches!(second, Some(EmbeddedError::InUse { .. })),
        "got {second:?}"
    );
    drop(backend);
    assert!(
        EmbeddedBackend::open(dir.path(), QueueOptions::default()).is_err(),
        "held while any handle lives"
    );
    drop(store);
    let again = EmbeddedBackend::open(dir.path(), QueueOptions::default());
    assert!(
        again.is_ok(),
        "free once every handle is gone: {:?}",
        again.err()
    );
}

#[test]
fn open_refuses_a_data_dir_that_is_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let err = EmbeddedBackend::open(&file, QueueOptions::default()).err();
    assert!(
        matches!(err, Some(EmbeddedError::DataDir { .. })),
        "got {err:?}"
    );
}

#[test]
fn open_refuses_a_database_from_a_newer_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: &Path = dir.path();
    {
        let conn =
            rusqlite::Connection::open(path.join(hookline_embedded::DB_FILE)).expect("sqlite");
        conn.pragma_update(None, "user_version", 99)
            .expect("user_version");
    }
    let err = EmbeddedBackend::open(path, QueueOptions::default()).err();
    assert!(
        matches!(err, Some(EmbeddedError::SchemaTooNew { found: 99, .. })),
        "got {err:?}"
    );
}

#[test]
fn reopening_keeps_the_schema_version() {
    let (dir, backend) = fresh(QueueOptions::default());
    drop(backend);
    let again = EmbeddedBackend::open(dir.path(), QueueOptions::default());
    assert!(again.is_ok(), "reopen: {:?}", again.err());
    let conn =
        rusqlite::Connection::open(dir.path().join(hookline_embedded::DB_FILE)).expect("sqlite");
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    assert_eq!(v, hookline_embedded::SCHEMA_VERSION);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn the_subscription_generation_known_in_memory_carries_on_from_the_stored_one() {
    use hookline_domain::subscription::new_subscription;
    let sub = |n: u32| {
        new_subscription(
            hookline_domain::SubscriptionId::new(i128::from(n)),
            hookline_domain::ClientId::new(0),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            time::OffsetDateTime::now_utc(),
        )
    };
    let (dir, backend) = fresh(QueueOptions::default());
    let store = backend.store();
    let before = store.subscriptions_generation().await.expect("generation");
    let first_sub = sub(1);
    store.insert_subscription(&first_sub).await.expect("insert");
    let first = store.subscriptions_generation().await.expect("generation");
    assert!(first > before, "a write moves it");
    drop((store, backend));

    let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("reopen");
    let store = backend.store();
    assert_eq!(
        store.subscriptions_generation().await.expect("generation"),
        first,
        "a restart reads the stored generation"
    );
    store.insert_subscription(&sub(2)).await.expect("insert");
    let second = store.subscriptions_generation().await.expect("generation");
    assert!(second > first, "and moves on from it, never back");
    store
        .delete_subscription(&first_sub.id)
        .await
        .expect("delete");
    assert!(store.subscriptions_generation().await.expect("generation") > second);
}
