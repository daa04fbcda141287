//! The store as a whole on DynamoDB: the conformance suite, data seen by a second instance,
//! and no method that scans.

use std::collections::BTreeSet;

use hookline_aws::DynamoStore;
use hookline_domain::subscription::new_subscription;
use hookline_domain::{ClientId, SubscriptionId};
use hookline_ports::SubscriptionStore;
use time::OffsetDateTime;

use super::support::moto::Moto;
use super::{client, new_table, recorded_store, secrets};

#[tokio::test]
async fn store_passes_the_conformance_suite_on_dynamodb() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let store = DynamoStore::new(client, table).with_secrets(secrets(&moto).await);
    hookline_ports::conformance::store_suite(&store).await;
    // The suite only asserts on what each run wrote, so a second run on the same (now
    // populated) table must pass too.
    hookline_ports::conformance::store_suite(&store).await;
}

#[tokio::test]
async fn data_is_visible_to_a_second_store_instance() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let writer = DynamoStore::new(client.clone(), table.clone());
    let reader = DynamoStore::new(client, table);

    let before = reader.subscriptions_generation().await.expect("generation");
    let now = OffsetDateTime::now_utc();
    let owner = ClientId::new(1);
    let sub = new_subscription(
        SubscriptionId::new(1),
        owner.clone(),
        "whsec_secondinstance".to_string(),
        now,
    );
    writer
        .insert_subscription(&sub)
        .await
        .expect("insert_subscription");

    let after = reader.subscriptions_generation().await.expect("generation");
    assert!(
        after > before,
        "the reader must see the generation move ({before} -> {after})"
    );
    let listed = reader
        .list_subscriptions(Some(&owner), None, 10)
        .await
        .expect("list_subscriptions");
    assert_eq!(listed.items, vec![sub.clone()]);
    assert_eq!(listed.next_cursor, None);
    assert_eq!(
        reader
            .get_subscription(&sub.id)
            .await
            .expect("get_subscription"),
        Some(sub)
    );
}

#[tokio::test]
async fn no_store_method_issues_a_scan() {
    let moto = Moto::start();
    let table = new_table(&client(&moto).await).await;
    let (store, ops) = recorded_store(&moto, &table).await;
    hookline_ports::conformance::store_suite(&store).await;

    let seen: BTreeSet<String> = ops.take_dynamodb().into_keys().collect();
    let allowed: BTreeSet<String> = [
        "GetItem",
        "PutItem",
        "DeleteItem",
        "UpdateItem",
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
    ]
    .map(String::from)
    .into();
    assert!(
        seen.contains("Query") && seen.contains("BatchGetItem"),
        "the recorder saw the store's queries and the reads of their items: {seen:?}"
    );
    assert!(
        seen.is_subset(&allowed),
        "the store may only look up keys, query partitions and write conditionally; it used {seen:?}"
    );
}
