//! Conformance: deliveries (insert-if-absent, replace) and their listing by subscription,
//! event, client or all, newest first, with the status filter.

use hookline_domain::delivery::Attempt;
use hookline_domain::{ClientId, Delivery, DeliveryId, DeliveryStatus, EventId, SubscriptionId};

use super::{Run, at_ms, exact_page_sizes, walk};
use crate::error::PortError;
use crate::store::{DeliveryFilter, DeliveryKey, Store};

/// A new delivery of `event` to `sub`.
pub(super) fn delivery(
    event: &EventId,
    sub: &SubscriptionId,
    client: &ClientId,
    created_ms: i128,
) -> Delivery {
    Delivery::new(
        DeliveryId::for_event(event, sub),
        event,
        sub,
        client,
        at_ms(created_ms),
    )
}

fn newest_first(list: &mut [Delivery]) {
    list.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
}

/// A batch insert reports, in order, which deliveries were new, and overwrites none.
pub(super) async fn insert_many(store: &dyn Store, run: &Run) {
    let (event, client) = (run.event_id(), run.client_id());
    let subs: Vec<SubscriptionId> = (0..5).map(|_| run.subscription_id()).collect();
    let first: Vec<Delivery> = subs[..2]
        .iter()
        .map(|s| delivery(&event, s, &client, run.start_ms))
        .collect();
    assert_eq!(
        store
            .insert_deliveries(&first)
            .await
            .expect("insert_deliveries"),
        vec![true, true],
        "new deliveries are reported new"
    );
    let mut all: Vec<Delivery> = subs
        .iter()
        .map(|s| delivery(&event, s, &client, run.start_ms + 1))
        .collect();
    all[0].status = DeliveryStatus::Failed;
    assert_eq!(
        store
            .insert_deliveries(&all)
            .await
            .expect("insert_deliveries"),
        vec![false, false, true, true, true],
        "existing ids are reported, in order, as not new"
    );
    for (i, d) in all.iter().enumerate() {
        let got = store.get_delivery(&d.id).await.expect("get_delivery");
        let want = if i < 2 { &first[i] } else { d };
        assert_eq!(
            got.as_ref(),
            Some(want),
            "insert_deliveries overwrote nothing"
        );
    }
    assert_eq!(
        store
            .insert_deliveries(&[])
            .await
            .expect("insert_deliveries of none"),
        Vec::<bool>::new()
    );
}

/// Insert (false on an existing id, nothing written), get, put.
pub(super) async fn deliveries(store: &dyn Store, run: &Run) {
    let (event, sub, client) = (run.event_id(), run.subscription_id(), run.client_id());
    let d = delivery(&event, &sub, &client, run.start_ms);
    assert!(
        store.insert_delivery(&d).await.expect("insert_delivery"),
        "insert_delivery of a new id must return true"
    );
    let mut other = d.clone();
    other.status = DeliveryStatus::Failed;
    assert!(
        !store
            .insert_delivery(&other)
            .await
            .expect("insert_delivery of an existing id"),
        "insert_delivery of an existing id must return false"
    );
    let got = store.get_delivery(&d.id).await.expect("get_delivery");
    assert_eq!(
        got.as_ref(),
        Some(&d),
        "insert_delivery of an existing id must not overwrite it"
    );

    let mut next = d.clone();
    next.status = DeliveryStatus::Retrying;
    next.attempts.push(Attempt {
        attempt: 1,
        at: at_ms(run.start_ms + 5),
        status_code: Some(503),
        duration_ms: 12,
        error: Some("HTTP 503".to_string()),
        response_excerpt: "busy".to_string(),
        request_excerpt: String::new(),
    });
    next.next_attempt_at = Some(at_ms(run.start_ms + 5_000));
    next.updated_at = at_ms(run.start_ms + 5);
    store.put_delivery(&next).await.expect("put_delivery");
    let got = store
        .get_delivery(&d.id)
        .await
        .expect("get_delivery after put");
    assert_eq!(
        got.as_ref(),
        Some(&next),
        "put_delivery must replace the delivery"
    );
    let fresh = delivery(&run.event_id(), &sub, &client, run.start_ms);
    store
        .put_delivery(&fresh)
        .await
        .expect("put_delivery of a new id");
    assert_eq!(
        store
            .get_delivery(&fresh.id)
            .await
            .expect("get_delivery")
            .as_ref(),
        Some(&fresh),
        "put_delivery must create a missing delivery"
    );
    assert_eq!(
        store
            .get_delivery(&DeliveryId::new(run.start_ms))
            .await
            .expect("get_delivery of an unknown id"),
        None
    );

    // Optimistic concurrency: two holders of the same version, only the first write wins.
    let held = store
        .get_delivery(&fresh.id)
        .await
        .expect("get_delivery")
        .expect("the fresh delivery");
    let mut first = held.clone();
    first.status = DeliveryStatus::Succeeded;
    assert!(
        store
            .update_delivery(&first)
            .await
            .expect("update_delivery"),
        "update_delivery over the version read must succeed"
    );
    let stored = store
        .get_delivery(&fresh.id)
        .await
        .expect("get_delivery")
        .expect("the updated delivery");
    assert_eq!(
        stored.version,
        held.version + 1,
        "update_delivery bumps the version"
    );
    assert_eq!(stored.status, DeliveryStatus::Succeeded);
    let mut second = held.clone();
    second.status = DeliveryStatus::Failed;
    assert!(
        !store
            .update_delivery(&second)
            .await
            .expect("update_delivery"),
        "update_delivery over a stale version must return false"
    );
    assert_eq!(
        store.get_delivery(&fresh.id).await.expect("get_delivery"),
        Some(stored.clone()),
        "a stale update_delivery must write nothing"
    );
    let mut again = stored.clone();
    again.status = DeliveryStatus::Retrying;
    assert!(
        store
            .update_delivery(&again)
            .await
            .expect("update_delivery")
    );
    let missing = delivery(&run.event_id(), &sub, &client, run.start_ms);
    assert!(
        matches!(
            store.update_delivery(&missing).await,
            Err(PortError::NotFound)
        ),
        "update_delivery of an unknown id must be NotFound"
    );
}

async fn list_exact(store: &dyn Store, key: &DeliveryKey, expected: &[Delivery], what: &str) {
    let pages = walk(what, 2, |cursor| async move {
        store
            .list_deliveries(key, &DeliveryFilter::default(), cursor.as_deref(), 2)
            .await
    })
    .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        exact_page_sizes(expected.len(), 2),
        "{what}: pages must be full until the last, which has no cursor"
    );
    let got: Vec<Delivery> = pages.into_iter().flatten().collect();
    assert_eq!(
        got, expected,
        "{what}: must list exactly the key's deliveries, newest first (ties by id, descending)"
    );
}

/// `list_deliveries` by each key, newest first, and filtered by status.
pub(super) async fn list_deliveries(store: &dyn Store, run: &Run) {
    let (c1, c2) = (run.client_id(), run.client_id());
    let (s1, s2, s3) = (
        run.subscription_id(),
        run.subscription_id(),
        run.subscription_id(),
    );
    let events: Vec<EventId> = (0..4).map(|_| run.event_id()).collect();
    let t = run.start_ms - 7_200_000;
    let mut all = Vec::new();
    // s1 and s2 belong to c1, s3 to c2; the first two deliveries share a creation time.
    let plan = [
        (&s1, &c1, 0, 0),
        (&s1, &c1, 1, 0),
        (&s1, &c1, 2, 10),
        (&s1, &c1, 3, 20),
        (&s2, &c1, 0, 15),
        (&s3, &c2, 0, 5),
        (&s3, &c2, 1, 30),
    ];
    for (i, (sub, client, ev, offset)) in plan.into_iter().enumerate() {
        let mut d = delivery(&events[ev], sub, client, t + offset);
        d.status = [
            DeliveryStatus::Pending,
            DeliveryStatus::Failed,
            DeliveryStatus::Succeeded,
        ][i % 3];
        assert!(store.insert_delivery(&d).await.expect("insert_delivery"));
        all.push(d);
    }
    newest_first(&mut all);
    let pick =
        |f: &dyn Fn(&Delivery) -> bool| all.iter().filter(|d| f(d)).cloned().collect::<Vec<_>>();

    let key = DeliveryKey::Subscription(s1.clone());
    list_exact(
        store,
        &key,
        &pick(&|d| d.subscription_id == s1),
        "list_deliveries(subscription)",
    )
    .await;
    let key = DeliveryKey::Event(events[0].clone());
    list_exact(
        store,
        &key,
        &pick(&|d| d.event_id == events[0]),
        "list_deliveries(event)",
    )
    .await;
    let key = DeliveryKey::Client(c1.clone());
    list_exact(
        store,
        &key,
        &pick(&|d| d.client_id == c1),
        "list_deliveries(client)",
    )
    .await;
    let key = DeliveryKey::Client(run.client_id());
    list_exact(store, &key, &[], "list_deliveries(client without any)").await;

    let pages = walk("list_deliveries(all)", 3, |cursor| async move {
        store
            .list_deliveries(
                &DeliveryKey::All,
                &DeliveryFilter::default(),
                cursor.as_deref(),
                3,
            )
            .await
    })
    .await;
    let everything: Vec<Delivery> = pages.into_iter().flatten().collect();
    assert!(
        everything
            .windows(2)
            .all(|w| (w[0].created_at, &w[0].id) > (w[1].created_at, &w[1].id)),
        "list_deliveries(all) must be newest first, without repeats"
    );
    let mine: Vec<Delivery> = everything
        .into_iter()
        .filter(|d| d.client_id == c1 || d.client_id == c2)
        .collect();
    assert_eq!(
        mine, all,
        "list_deliveries(all) must include every delivery"
    );

    // Status is a filter: pages may come short (DynamoDB filters after the limit), but walking
    // them yields exactly the matching deliveries, in order.
    let mut changed = all
        .iter()
        .find(|d| d.client_id == c1 && d.status == DeliveryStatus::Pending)
        .cloned()
        .expect("a pending delivery of c1");
    changed.status = DeliveryStatus::Failed;
    store
        .put_delivery(&changed)
        .await
        .expect("put_delivery (status change)");
    let now: Vec<Delivery> = all
        .iter()
        .map(|d| {
            if d.id == changed.id {
                changed.clone()
            } else {
                d.clone()
            }
        })
        .collect();
    for status in [
        DeliveryStatus::Failed,
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
    ] {
        let key = DeliveryKey::Client(c1.clone());
        let key = &key;
        let pages = walk("list_deliveries(client, status)", 2, |cursor| async move {
            store
                .list_deliveries(
                    key,
                    &DeliveryFilter::status(Some(status)),
                    cursor.as_deref(),
                    2,
                )
                .await
        })
        .await;
        let got: Vec<Delivery> = pages.into_iter().flatten().collect();
        let want: Vec<Delivery> = now
            .iter()
            .filter(|d| d.client_id == c1 && d.status == status)
            .cloned()
            .collect();
        assert_eq!(
            got, want,
            "list_deliveries with status {status:?} must list exactly the deliveries now in that status, newest first"
        );
    }

    let bad = store
        .list_deliveries(
            &DeliveryKey::All,
            &DeliveryFilter::default(),
            Some("garbage"),
            2,
        )
        .await;
    assert!(
        matches!(bad, Err(PortError::InvalidCursor)),
        "list_deliveries with a garbage cursor must be InvalidCursor, got {bad:?}"
    );
}
