//! What a list page costs now that the indexes hold keys only: a `Query` per partition and a
//! `BatchGetItem` per 100 items.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_domain::Delivery;
use hookline_domain::subscription::new_subscription;
use hookline_domain::{ClientId, SubscriptionId};
use hookline_ports::{DeliveryKey, DeliveryStore, SubscriptionStore};
use time::macros::datetime;

use super::delivery;
use super::shards::SHARDED_PARTITIONS;
use super::support::moto::Moto;
use super::{client, new_table, recorded_store};

#[tokio::test]
async fn a_page_of_a_hundred_is_a_query_per_partition_and_one_batch_get() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let (store, calls) = recorded_store(&moto, &table).await;
    let now = datetime!(2026-03-01 00:00 UTC);
    let subs: Vec<_> = (0..250)
        .map(|i| {
            new_subscription(
                SubscriptionId::from_stored(format!("sub_page{i:03}")),
                ClientId::from_stored(format!("cl_page{}", i % 2)),
                "whsec_page".to_string(),
                now,
            )
        })
        .collect();
    store
        .import_subscriptions(&subs)
        .await
        .expect("import_subscriptions");
    let deliveries: Vec<Delivery> = (0..250i64)
        .map(|i| {
            delivery(
                &format!("dlv_page{i:03}"),
                &format!("evt_page{i:03}"),
                "sub_page000",
                "cl_page0",
                now + time::Duration::milliseconds(i),
            )
        })
        .collect();
    store
        .insert_deliveries(&deliveries)
        .await
        .expect("insert_deliveries");

    // The index holds keys only: no body, no status.
    let entry = client
        .query()
        .table_name(&table)
        .index_name("gsi2")
        .key_condition_expression("gsi2pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("SUBS".to_string()))
        .limit(1)
        .send()
        .await
        .expect("query gsi2");
    let entry = entry.items().first().expect("an index entry");
    let attrs: BTreeSet<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(
        attrs,
        BTreeSet::from(["pk", "sk", "gsi2pk", "gsi2sk"]),
        "a KEYS_ONLY entry"
    );
    calls.take_dynamodb();

    // One partition: a Query and a BatchGetItem a page; the last page of 50 too.
    let mut cursor: Option<String> = None;
    let mut listed = Vec::new();
    loop {
        let page = store
            .list_subscriptions(None, cursor.as_deref(), 100)
            .await
            .expect("list_subscriptions");
        let c = calls.take_dynamodb();
        assert_eq!(
            (c.get("Query"), c.get("BatchGetItem"), c.len()),
            (Some(&1), Some(&1), 2),
            "page {}: {c:?}",
            listed.len() / 100
        );
        listed.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, subs, "every subscription, by id, with its body");

    // The fan-out index: the whole list in one page of up to 1,000, one Query and a
    // BatchGetItem per 100.
    let all = store
        .list_subscriptions(None, None, 1000)
        .await
        .expect("list_subscriptions");
    assert_eq!(all.items.len(), 250);
    assert_eq!(all.next_cursor, None);
    let c = calls.take_dynamodb();
    assert_eq!(
        (c.get("Query"), c.get("BatchGetItem")),
        (Some(&1), Some(&3)),
        "{c:?}"
    );

    // Sixteen shards and the unsharded partition: at most a Query each, and one BatchGetItem.
    let mut cursor: Option<String> = None;
    let mut ids = Vec::new();
    loop {
        let page = store
            .list_deliveries(
                &DeliveryKey::All,
                &Default::default(),
                cursor.as_deref(),
                100,
            )
            .await
            .expect("list_deliveries(all)");
        let c = calls.take_dynamodb();
        assert!(
            c.get("Query").is_some_and(|&n| n <= SHARDED_PARTITIONS)
                && c.get("BatchGetItem") == Some(&1)
                && c.len() == 2,
            "page {}: {c:?}",
            ids.len() / 100
        );
        ids.extend(page.items.into_iter().map(|d| d.id.into_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let newest_first: Vec<String> = deliveries.iter().rev().map(|d| d.id.to_string()).collect();
    assert_eq!(ids, newest_first);
}
