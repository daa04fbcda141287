//! Conformance: the polling triggers' schedule — put (whatever is stored), get, due polls
//! (the most overdue first, leased ones left out until their lease ends), a claim that only
//! one of two concurrent pollers wins, and a connection's polls deleted together.

use hookline_domain::apps::PollState;
use hookline_domain::{ClientId, ConnectionId};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{Run, at_ms, both, now_ms};
use crate::store::Store;

fn poll(run: &Run, connection: &ConnectionId, trigger: &str, due_in: Duration) -> PollState {
    PollState {
        connection_id: connection.clone(),
        trigger: trigger.to_string(),
        client_id: ClientId::from_stored(format!("cl_{}", run.tag)),
        interval_seconds: 60,
        next_run_at: at_ms(run.start_ms) + due_in,
        cursor: None,
        seen: Vec::new(),
        last_run_at: None,
        last_error: None,
        published: 0,
        lease_until: None,
        version: 0,
    }
}

/// This run's due polls at `now`, as (connection, trigger), in the order listed.
async fn due(
    store: &dyn Store,
    now: OffsetDateTime,
    mine: &[&ConnectionId],
) -> Vec<(ConnectionId, String)> {
    store
        .due_polls(now, 1000)
        .await
        .expect("due_polls")
        .into_iter()
        .filter(|p| mine.contains(&&p.connection_id))
        .map(|p| (p.connection_id, p.trigger))
        .collect()
}

async fn get(store: &dyn Store, connection: &ConnectionId, trigger: &str) -> Option<PollState> {
    store.get_poll(connection, trigger).await.expect("get_poll")
}

/// Put, get, due order, leases, claims, deletion.
pub(super) async fn polls(store: &dyn Store, run: &Run) {
    let (con, other) = (ConnectionId::new(now_ms()), ConnectionId::new(now_ms()));
    let t0 = at_ms(run.start_ms);
    let minute = Duration::minutes(1);
    let orders = poll(run, &con, "orders", -3 * minute);
    let refunds = poll(run, &con, "refunds", -minute);
    let later = poll(run, &other, "orders", Duration::hours(1));
    let mut leased = poll(run, &other, "refunds", -2 * minute);
    leased.lease_until = Some(t0 + minute);
    for p in [&orders, &refunds, &later, &leased] {
        store.put_poll(p).await.expect("put_poll");
    }
    assert_eq!(get(store, &con, "orders").await.as_ref(), Some(&orders));
    assert_eq!(get(store, &con, "missing").await, None);
    let mut replaced = refunds.clone();
    replaced.version = 7;
    replaced.cursor = Some(json!({"since": "2026-01-01"}));
    store.put_poll(&replaced).await.expect("put over");
    assert_eq!(
        get(store, &con, "refunds").await,
        Some(replaced),
        "put replaces whatever is stored"
    );
    store.put_poll(&refunds).await.expect("put back");

    let mine = [&con, &other];
    let pair = |p: &PollState| (p.connection_id.clone(), p.trigger.clone());
    assert_eq!(
        due(store, t0, &mine).await,
        vec![pair(&orders), pair(&refunds)],
        "due at t0: the most overdue first, neither the leased one nor a future one"
    );
    assert_eq!(
        due(store, t0 + 2 * minute, &mine).await,
        vec![pair(&orders), pair(&leased), pair(&refunds)],
        "a poll whose lease ended is due again"
    );
    let one = store.due_polls(t0, 1).await.expect("due_polls");
    assert!(one.len() <= 1, "due_polls returned more than its limit");

    claims(store, &orders).await;

    store.delete_polls(&con).await.expect("delete_polls");
    assert_eq!(get(store, &con, "orders").await, None);
    assert_eq!(get(store, &con, "refunds").await, None);
    assert_eq!(
        get(store, &other, "orders").await.as_ref(),
        Some(&later),
        "another connection's polls stay"
    );
    store.delete_polls(&con).await.expect("delete none");
    store.delete_polls(&other).await.expect("clean up");
    assert_eq!(due(store, t0 + 2 * minute, &mine).await, Vec::new());
}

/// Of two pollers claiming one version at once, exactly one wins; the record of the run
/// goes over the claim's version; a stale or vanished poll is not written.
async fn claims(store: &dyn Store, stored: &PollState) {
    let lease = at_ms(now_ms()) + Duration::minutes(2);
    let claim = PollState {
        lease_until: Some(lease),
        ..stored.clone()
    };
    let (a, b) = both(store.update_poll(&claim), store.update_poll(&claim)).await;
    let won = [a.expect("claim a"), b.expect("claim b")];
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "exactly one of two concurrent claims wins: {won:?}"
    );
    let claimed = get(store, &stored.connection_id, &stored.trigger)
        .await
        .expect("stored");
    assert_eq!(
        (claimed.version, claimed.lease_until),
        (stored.version + 1, Some(lease))
    );
    assert!(
        !store.update_poll(&claim).await.expect("stale"),
        "a claim over a moved version writes nothing"
    );
    let record = PollState {
        lease_until: None,
        cursor: Some(json!(42)),
        seen: vec!["a".to_string(), "b".to_string()],
        published: 2,
        last_run_at: Some(lease),
        next_run_at: stored.next_run_at + Duration::minutes(10),
        ..claimed.clone()
    };
    assert!(store.update_poll(&record).await.expect("record the run"));
    let got = get(store, &stored.connection_id, &stored.trigger)
        .await
        .expect("stored");
    assert_eq!(
        got,
        PollState {
            version: claimed.version + 1,
            ..record.clone()
        }
    );
    let gone = PollState {
        trigger: "vanished".to_string(),
        ..record
    };
    assert!(
        !store.update_poll(&gone).await.expect("gone"),
        "a poll that is not stored is not written"
    );
    assert_eq!(
        get(store, &stored.connection_id, "vanished").await,
        None,
        "nor created"
    );
}
