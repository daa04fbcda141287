//! The pull port: each log in order without gaps (also under concurrent appends), one
//! message per delivery cycle, an acknowledged position that only moves forward, retention,
//! isolation between subscriptions, and the log's deletion.

use futures_util::future::join_all;
use hookline_domain::{DeliveryId, EventId, PullMessage, SubscriptionId};
use time::{Duration, OffsetDateTime};

use super::{Run, at_ms, now_ms};
use crate::pull::{Ack, Appended, PullLog};
use crate::store::Store;

/// Messages appended at once in the concurrency check.
const CONCURRENT: usize = 12;

fn message(sub: &SubscriptionId, n: usize, cycle: u32, kept_for: Duration) -> PullMessage {
    let at = at_ms(now_ms());
    PullMessage {
        subscription_id: sub.clone(),
        position: 0,
        delivery_id: DeliveryId::from_stored(format!("dlv_{sub}_{n}")),
        cycle,
        event_id: EventId::from_stored(format!("evt_{sub}_{n}")),
        event_type: "LotDispatched".into(),
        attempt: 1,
        stored_at: at,
        kept_until: at + kept_for,
    }
}

async fn append(store: &dyn Store, m: &PullMessage) -> Appended {
    match store.append_pull_message(m).await {
        Ok(a) => a,
        Err(e) => panic!("pull: appending {} failed: {e}", m.delivery_id),
    }
}

async fn positions(store: &dyn Store, sub: &SubscriptionId, after: u64, limit: usize) -> Vec<u64> {
    store
        .list_pull_messages(sub, after, limit, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("pull: listing {sub} failed: {e}"))
        .iter()
        .map(|m| m.position)
        .collect()
}

async fn log(store: &dyn Store, sub: &SubscriptionId) -> PullLog {
    store
        .pull_log(sub)
        .await
        .unwrap_or_else(|e| panic!("pull: reading the log of {sub} failed: {e}"))
}

/// Order, one message per cycle, isolation and deletion.
pub(super) async fn order_and_cycles(store: &dyn Store, run: &Run) {
    let (sub, other) = (run.subscription_id(), run.subscription_id());
    let day = Duration::days(1);
    assert_eq!(
        log(store, &sub).await,
        PullLog::default(),
        "a new log is empty"
    );
    for n in 1..=3 {
        assert_eq!(
            append(store, &message(&sub, n, 1, day)).await,
            Appended::New(n as u64)
        );
    }
    let again = append(store, &message(&sub, 2, 1, day)).await;
    assert_eq!(again, Appended::Already(2), "a cycle appends once");
    let next_cycle = append(store, &message(&sub, 2, 2, day)).await;
    assert_eq!(next_cycle, Appended::New(4), "a new cycle appends again");
    let listed = store
        .list_pull_messages(&sub, 0, 10, OffsetDateTime::now_utc())
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|m| m.position).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        (listed[3].delivery_id.as_str(), listed[3].cycle),
        (format!("dlv_{sub}_2").as_str(), 2),
        "the message as appended"
    );
    assert_eq!(
        positions(store, &sub, 1, 2).await,
        vec![2, 3],
        "after, limit"
    );
    assert_eq!(positions(store, &sub, 4, 10).await, Vec::<u64>::new());
    assert_eq!(log(store, &sub).await, PullLog { last: 4, acked: 0 });

    assert_eq!(
        append(store, &message(&other, 9, 1, day)).await,
        Appended::New(1),
        "each subscription has its own positions"
    );
    assert_eq!(positions(store, &other, 0, 10).await, vec![1]);

    store.delete_pull_log(&sub).await.expect("delete the log");
    assert_eq!(positions(store, &sub, 0, 10).await, Vec::<u64>::new());
    assert_eq!(log(store, &sub).await, PullLog::default(), "deleted whole");
    assert_eq!(
        positions(store, &other, 0, 10).await,
        vec![1],
        "the other stays"
    );
    store.delete_pull_log(&other).await.expect("delete the log");
}

/// Concurrent appends to one log take distinct positions, with no gap.
pub(super) async fn concurrent_appends(store: &dyn Store, run: &Run) {
    let sub = run.subscription_id();
    let messages: Vec<PullMessage> = (0..CONCURRENT)
        .map(|n| message(&sub, n, 1, Duration::days(1)))
        .collect();
    let mut got: Vec<u64> = join_all(messages.iter().map(|m| append(store, m)))
        .await
        .into_iter()
        .map(|a| match a {
            Appended::New(p) => p,
            Appended::Already(p) => panic!("pull: a new cycle was found appended at {p}"),
        })
        .collect();
    got.sort_unstable();
    let expected: Vec<u64> = (1..=CONCURRENT as u64).collect();
    assert_eq!(got, expected, "one position each, no gap");
    assert_eq!(positions(store, &sub, 0, 100).await, expected);
    store.delete_pull_log(&sub).await.expect("delete the log");
}

/// The acknowledged position moves forward only, and never past the last message.
pub(super) async fn acknowledgements(store: &dyn Store, run: &Run) {
    let sub = run.subscription_id();
    let sub = &sub;
    let ack = |p| async move { store.ack_pull_messages(sub, p).await.expect("ack") };
    assert_eq!(ack(1).await, Ack::Beyond, "nothing to acknowledge yet");
    for n in 1..=3 {
        append(store, &message(sub, n, 1, Duration::days(1))).await;
    }
    assert_eq!(ack(2).await, Ack::At(2));
    assert_eq!(ack(1).await, Ack::At(2), "an older position leaves it");
    assert_eq!(ack(2).await, Ack::At(2), "the same again");
    assert_eq!(ack(4).await, Ack::Beyond, "past the last message");
    assert_eq!(log(store, sub).await, PullLog { last: 3, acked: 2 });
    assert_eq!(ack(3).await, Ack::At(3));
    store.delete_pull_log(sub).await.expect("delete the log");
}

/// Messages past their retention are not read; reading from before them reads the kept.
pub(super) async fn retention(store: &dyn Store, run: &Run) {
    let sub = run.subscription_id();
    append(store, &message(&sub, 1, 1, Duration::seconds(-1))).await;
    append(store, &message(&sub, 2, 1, Duration::seconds(-1))).await;
    append(store, &message(&sub, 3, 1, Duration::days(1))).await;
    assert_eq!(
        positions(store, &sub, 0, 1).await,
        vec![3],
        "the expired are skipped, even when they fill a page"
    );
    assert_eq!(log(store, &sub).await.last, 3, "positions go on");
    store.delete_pull_log(&sub).await.expect("delete the log");
}
