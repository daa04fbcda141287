//! All deliveries, a sharded list, merged newest first: every page full, writes during a walk,
//! a rare status read in several rounds, and cursors that belong to one list.

use std::collections::BTreeSet;

use hookline_aws::DynamoStore;
use hookline_domain::{ClientId, SubscriptionId};
use hookline_domain::{Delivery, DeliveryStatus};
use hookline_ports::{DeliveryKey, DeliveryStore};
use time::macros::datetime;

use super::shards::{SHARDED_PARTITIONS, attr, move_to_unsharded, scan_all};
use super::support::moto::Moto;
use super::support::stack_on_moto::Operations;
use super::{client, new_table, recorded_store};
use super::{delivery, delivery_ids};

/// Walks `list_deliveries(All)` page by page (`between` runs after each page), returning the
/// pages' ids and the `Query` calls of each page.
async fn walk_all_deliveries<F, Fut>(
    store: &DynamoStore,
    calls: &Operations,
    status: Option<DeliveryStatus>,
    limit: usize,
    mut between: F,
) -> (Vec<Vec<String>>, Vec<usize>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut cursor: Option<String> = None;
    let (mut pages, mut queries) = (Vec::new(), Vec::new());
    calls.take();
    loop {
        let (ids, next) =
            delivery_ids(store, &DeliveryKey::All, status, cursor.as_deref(), limit).await;
        queries.push(calls.queries());
        pages.push(ids);
        match next {
            Some(c) => cursor = Some(c),
            None => return (pages, queries),
        }
        assert!(pages.len() <= 100, "the cursor never reached the end");
        between(pages.len()).await;
        calls.take();
    }
}

#[tokio::test]
async fn all_deliveries_are_merged_across_shards_newest_first() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let (store, calls) = recorded_store(&moto, &table).await;
    let start = datetime!(2026-03-01 00:00 UTC);
    // 60 deliveries; every third shares its creation time with the one before (ties go by id,
    // descending); statuses cycle so that a filter keeps a fifth of them.
    let mut all = Vec::new();
    for i in 0..60i64 {
        let at = start + time::Duration::milliseconds(i - i / 3);
        let mut d = delivery(
            &format!("dlv_merge{:02}", (i * 37) % 60),
            &format!("evt_merge{i:02}"),
            &format!("sub_merge{}", i % 4),
            "cl_merge",
            at,
        );
        if i % 5 == 2 {
            d.status = DeliveryStatus::Failed;
        }
        all.push(d);
    }
    assert_eq!(
        store
            .insert_deliveries(&all)
            .await
            .expect("insert_deliveries"),
        vec![true; 60]
    );
    // One delivery written before the list was sharded: still listed, in its place.
    move_to_unsharded(
        &client,
        &table,
        &format!("DELIVERY#{}", all[30].id),
        "DELIVERY",
        "gsi4pk",
        "DELIVERIES",
    )
    .await;
    all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let newest_first: Vec<String> = all.iter().map(|d| d.id.to_string()).collect();
    let failed: Vec<String> = all
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .map(|d| d.id.to_string())
        .collect();
    assert_eq!(failed.len(), 12);

    let stored = scan_all(&client, &table).await;
    let shards: BTreeSet<&str> = stored.iter().map(|i| attr(i, "gsi4pk")).collect();
    assert!(
        shards.len() >= 8 && shards.contains("DELIVERIES"),
        "the deliveries are spread over many shards (and one is unsharded): {shards:?}"
    );

    for (status, want) in [
        (None, &newest_first),
        (Some(DeliveryStatus::Failed), &failed),
    ] {
        let (pages, queries) = walk_all_deliveries(&store, &calls, status, 7, |_| async {}).await;
        let got = pages.concat();
        let unique: BTreeSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "{status:?}: no delivery twice");
        assert_eq!(
            &got, want,
            "{status:?}: every delivery, newest first (ties by id, descending)"
        );
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        let mut expected = vec![7; want.len() / 7];
        if !want.len().is_multiple_of(7) {
            expected.push(want.len() % 7);
        }
        assert_eq!(
            sizes, expected,
            "{status:?}: full pages, the last without a cursor"
        );
        if status.is_none() {
            assert!(
                queries.iter().all(|&c| c <= SHARDED_PARTITIONS),
                "one Query per shard per page: {queries:?}"
            );
        }
    }

    // Deliveries written during the walk: newer ones belong before the first page and never
    // surface on a later one; an older one is still ahead of the cursor and is listed last.
    let newer: Vec<Delivery> = (0..20)
        .map(|i| {
            delivery(
                &format!("dlv_newer{i:02}"),
                "evt_newer",
                "sub_newer",
                "cl_merge",
                start + time::Duration::hours(1),
            )
        })
        .collect();
    let older = delivery(
        "dlv_older",
        "evt_older",
        "sub_newer",
        "cl_merge",
        start - time::Duration::hours(1),
    );
    let (store_ref, newer_ref, older_ref) = (&store, &newer, &older);
    let (pages, _) = walk_all_deliveries(&store, &calls, None, 7, move |n| async move {
        if n == 1 {
            store_ref
                .insert_deliveries(newer_ref)
                .await
                .expect("insert_deliveries during the walk");
            store_ref
                .insert_delivery(older_ref)
                .await
                .expect("insert_delivery during the walk");
        }
    })
    .await;
    let mut want = newest_first.clone();
    want.push(older.id.to_string());
    assert_eq!(
        pages.concat(),
        want,
        "the walk goes on from where its cursor points"
    );

    // A cursor of one list is no cursor of another.
    let page = store
        .list_deliveries(&DeliveryKey::All, &Default::default(), None, 3)
        .await
        .expect("list_deliveries(all)");
    let cursor = page.next_cursor.expect("a next page");
    for key in [
        DeliveryKey::Subscription(SubscriptionId::from_stored("sub_merge0")),
        DeliveryKey::Client(ClientId::from_stored("cl_merge")),
    ] {
        let other = store
            .list_deliveries(&key, &Default::default(), Some(&cursor), 3)
            .await;
        assert!(
            matches!(other, Err(hookline_ports::PortError::InvalidCursor)),
            "{key:?} with a cursor of all deliveries: {other:?}"
        );
    }
}

#[tokio::test]
async fn a_rare_status_is_merged_across_shards_read_in_several_rounds() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let (store, calls) = recorded_store(&moto, &table).await;
    // 400 deliveries, about 25 a shard, 14 of them failed, mostly in one cluster: a filtered
    // page reads each shard a dozen items at a time, so shards must be read again before the
    // merge may take what the others showed.
    let start = datetime!(2026-03-01 00:00 UTC);
    let mut all: Vec<Delivery> = (0..400i64)
        .map(|i| {
            let mut d = delivery(
                &format!("dlv_rare{i:03}"),
                &format!("evt_rare{i:03}"),
                "sub_rare",
                "cl_rare",
                start + time::Duration::seconds(i / 2),
            );
            if i % 97 == 3 || (100..110).contains(&i) {
                d.status = DeliveryStatus::Failed;
            }
            d
        })
        .collect();
    store
        .insert_deliveries(&all)
        .await
        .expect("insert_deliveries");
    all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let failed: Vec<String> = all
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .map(|d| d.id.to_string())
        .collect();
    for limit in [3, 10, 100] {
        let (pages, queries) = walk_all_deliveries(
            &store,
            &calls,
            Some(DeliveryStatus::Failed),
            limit,
            |_| async {},
        )
        .await;
        assert_eq!(
            pages.concat(),
            failed,
            "limit {limit}: exactly the failed deliveries, newest first"
        );
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert!(
            sizes[..sizes.len() - 1].iter().all(|&n| n == limit),
            "limit {limit}: full pages until the last: {sizes:?}"
        );
        if limit == 3 {
            assert!(
                queries.iter().any(|&c| c > SHARDED_PARTITIONS),
                "some page reads shards again: {queries:?}"
            );
        }
    }
}
