//! Sharded lists: writes spread over the shards, a day's events read back merged, and the
//! helpers that look at the table beneath the store.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_aws::DynamoStore;
use hookline_domain::{Delivery, ids};
use hookline_ports::{DeliveryStore, EventStore, Page};
use time::macros::datetime;

use super::lists::event_at;
use super::support::moto::Moto;
use super::{client, new_table};

/// Shards of a sharded list, plus the unsharded partition read alongside them.
pub(super) const SHARDED_PARTITIONS: usize = 16 + 1;

/// Every item of the table (a test may scan; the store never does).
pub(super) async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

/// The string attribute `name` of an item.
pub(super) fn attr<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

/// Moves an item's entry in an index to the unsharded partition `p`, as items written before
/// the list was sharded are.
pub(super) async fn move_to_unsharded(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk: &str,
    attribute: &str,
    p: &str,
) {
    client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_string()))
        .key("sk", AttributeValue::S(sk.to_string()))
        .update_expression("SET #a = :p")
        .expression_attribute_names("#a", attribute)
        .expression_attribute_values(":p", AttributeValue::S(p.to_string()))
        .send()
        .await
        .expect("update_item");
}

#[tokio::test]
async fn delivery_writes_spread_over_the_shards() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let now = datetime!(2026-03-01 00:00 UTC);
    let deliveries: Vec<Delivery> = (0..200)
        .map(|i| {
            let event = ids::new_id(ids::EVENT, 1_772_323_200_000 + i);
            Delivery::new(
                ids::delivery_id(&event, "sub_spread"),
                &event,
                "sub_spread",
                "cl_spread",
                now,
            )
        })
        .collect();
    assert_eq!(
        store
            .insert_deliveries(&deliveries)
            .await
            .expect("insert_deliveries"),
        vec![true; 200]
    );
    let mut per_shard: BTreeMap<String, usize> = BTreeMap::new();
    for item in scan_all(&client, &table).await {
        if attr(&item, "sk") == "DELIVERY" {
            *per_shard
                .entry(attr(&item, "gsi4pk").to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(per_shard.values().sum::<usize>(), 200);
    assert!(
        per_shard.keys().all(|p| p
            .strip_prefix("DELIVERIES#")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n < 16)),
        "every delivery is in a shard DELIVERIES#0..15: {per_shard:?}"
    );
    assert!(
        per_shard.len() >= 12 && per_shard.values().all(|&n| n <= 200 / 3),
        "no shard holds more than a third of the deliveries: {per_shard:?}"
    );
}

#[tokio::test]
async fn events_of_a_day_are_merged_across_shards_oldest_first() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let (since, until) = (
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-03-03 00:00 UTC),
    );
    // 50 events over two days, every fourth sharing its time with the one before.
    let mut all = Vec::new();
    for i in 0..50i64 {
        let at = since + time::Duration::minutes(55 * (i - i / 4));
        let e = event_at(&format!("evt_day{:02}", (i * 13) % 50), "AP", at);
        store.insert_event(&e, None).await.expect("insert_event");
        all.push(e);
    }
    // One event written before the days were sharded.
    let moved = &all[7];
    move_to_unsharded(
        &client,
        &table,
        &format!("EVENT#{}", moved.id),
        "EVENT",
        "gsi2pk",
        &format!("EVENTS#{}", moved.received_at.date()),
    )
    .await;
    let shards: BTreeSet<String> = scan_all(&client, &table)
        .await
        .iter()
        .map(|i| attr(i, "gsi2pk").to_string())
        .collect();
    assert!(
        shards.len() >= 10,
        "the events are spread over the days' shards: {shards:?}"
    );
    all.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
    let want: Vec<String> = all.iter().map(|e| e.id.clone()).collect();
    for limit in [1, 7, 50] {
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let Page { items, next_cursor } = store
                .list_events(None, since, until, cursor.as_deref(), limit)
                .await
                .expect("list_events");
            pages.push(items.into_iter().map(|e| e.id).collect::<Vec<_>>());
            match next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(pages.len() <= 60, "the cursor never reached the end");
        }
        assert_eq!(
            pages.concat(),
            want,
            "limit {limit}: every event of the window, oldest first (ties by id)"
        );
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert!(
            sizes[..sizes.len() - 1].iter().all(|&n| n == limit),
            "limit {limit}: full pages until the last: {sizes:?}"
        );
    }
}
