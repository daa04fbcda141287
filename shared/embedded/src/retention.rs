//! Retention: events and deliveries older than the stack's retention are deleted, as
//! DynamoDB's time to live deletes them on the AWS backend, so that the data directory stops
//! growing once it holds one retention's worth. SQLite reuses the pages freed; the file keeps
//! its largest size, and no longer grows past it.
//!
//! Deletes go in small batches, each its own write, so that the writer is never held for
//! long and the deliveries of the moment pass between them.

use rusqlite::{Connection, params};

use hookline_ports::PortError;

use crate::error::sqlite;

/// Rows deleted per write (per table).
pub const BATCH: i64 = 1_000;

/// Deletes up to [`BATCH`] deliveries created before `before_ns`, up to [`BATCH`] events
/// received before it (with their idempotency claims), and up to [`BATCH`] pull messages kept
/// until before `now_ns`. Returns the rows deleted: fewer than one batch means nothing older
/// is left.
pub(crate) fn prune_batch(
    conn: &Connection,
    before_ns: i64,
    now_ns: i64,
) -> Result<usize, PortError> {
    const OP: &str = "prune";
    let deliveries = conn
        .prepare_cached(
            "DELETE FROM deliveries WHERE id IN \
             (SELECT id FROM deliveries WHERE created_at_ns < ?1 ORDER BY created_at_ns LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![before_ns, BATCH]))
        .map_err(|e| sqlite(OP, e))?;
    conn.prepare_cached(
        "DELETE FROM idempotency WHERE event_id IN \
             (SELECT id FROM events WHERE received_at_ns < ?1 ORDER BY received_at_ns LIMIT ?2)",
    )
    .and_then(|mut s| s.execute(params![before_ns, BATCH]))
    .map_err(|e| sqlite(OP, e))?;
    let events = conn
        .prepare_cached(
            "DELETE FROM events WHERE id IN \
             (SELECT id FROM events WHERE received_at_ns < ?1 ORDER BY received_at_ns LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![before_ns, BATCH]))
        .map_err(|e| sqlite(OP, e))?;
    let pulled = conn
        .prepare_cached(
            "DELETE FROM pull_messages WHERE (subscription_id, position) IN \
             (SELECT subscription_id, position FROM pull_messages \
              WHERE kept_until_ns < ?1 ORDER BY kept_until_ns LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![now_ns, BATCH]))
        .map_err(|e| sqlite(OP, e))?;
    Ok(deliveries + events + pulled)
}

#[cfg(test)]
mod tests {
    use hookline_domain::{
        ClientId, Delivery, DeliveryId, Event, EventId, StatePattern, SubscriptionId,
    };
    use hookline_ports::{DeliveryStore, EventStore};
    use time::{Duration, OffsetDateTime};

    use crate::{EmbeddedBackend, QueueOptions};

    fn event(id: &str, received_at: OffsetDateTime) -> Event {
        Event {
            id: EventId::from_stored(id),
            event_type: "LotCreated".into(),
            state: StatePattern::from_stored("AP"),
            occurred_at: received_at,
            received_at,
            source: "cl_1".into(),
            publisher_key: Some(format!("key-{id}")),
            recipient: None,
            data: serde_json::json!({}),
        }
    }

    #[tokio::test]
    async fn what_is_older_than_the_cutoff_goes_with_its_claims_and_the_rest_stays() {
        let dir = tempfile::tempdir().expect("dir");
        let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("open");
        let now = OffsetDateTime::now_utc();
        let old = now - Duration::days(31);
        let mut made = Vec::new();
        for (id, at) in [("evt_old", old), ("evt_new", now)] {
            let e = event(id, at);
            backend
                .insert_event(&e, e.publisher_key.as_deref())
                .await
                .expect("insert");
            let d = Delivery::new(
                DeliveryId::from_stored(format!("dlv_{id}")),
                &e.id,
                &SubscriptionId::from_stored("sub_1"),
                &ClientId::from_stored("cl_1"),
                at,
            );
            backend.insert_delivery(&d).await.expect("delivery");
            made.push((e.id, d.id));
        }
        let gone = backend
            .prune(now - Duration::days(30), now)
            .await
            .expect("prune");
        assert_eq!(gone, 2, "one event and one delivery");
        for ((event, delivery), kept) in made.iter().zip([false, true]) {
            let e = backend.get_event(event).await.expect("get event");
            let d = backend.get_delivery(delivery).await.expect("get delivery");
            assert_eq!((e.is_some(), d.is_some()), (kept, kept), "{event}");
        }
        // The old event's idempotency claim went with it: its key is free again.
        let again = event("evt_again", now);
        let inserted = backend
            .insert_event(&again, Some("key-evt_old"))
            .await
            .expect("insert");
        assert!(
            matches!(inserted, hookline_ports::EventInsert::Created),
            "{inserted:?}"
        );
        assert_eq!(
            backend
                .prune(now - Duration::days(30), now)
                .await
                .expect("prune"),
            0
        );
    }
}
