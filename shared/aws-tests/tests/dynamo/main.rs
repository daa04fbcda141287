//! `DynamoStore` against moto: the port conformance suite (twice on one table; its secrets in
//! Secrets Manager), data shared
//! between store instances, the table's definition as DynamoDB reports it, the sharded lists
//! (all deliveries; each day of events) written spread and read back merged, and what a list
//! page costs now that the indexes hold keys only (a `Query` per partition, a `BatchGetItem`
//! per 100 items). One test binary (one link) with a module per area.

#[path = "../support/mod.rs"]
mod support;

mod lists;
mod merge;
mod page_cost;
mod shards;
mod store;
mod table;

use hookline_aws::provision::table::create_table;
use hookline_aws::{DynamoStore, ManagedSecrets};
use hookline_domain::{ClientId, Delivery, DeliveryId, DeliveryStatus, EventId, SubscriptionId};
use hookline_ports::{DeliveryFilter, DeliveryKey, DeliveryStore};
use support::moto::{Moto, unique};
use support::stack_on_moto::Operations;
use time::OffsetDateTime;

async fn client(moto: &Moto) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto.sdk_config().await)
}

async fn new_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = unique("hookline-test");
    create_table(client, &table)
        .await
        .expect("create_table on moto");
    table
}

/// Secrets Manager on `moto`, under a prefix of their own.
async fn secrets(moto: &Moto) -> ManagedSecrets {
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    ManagedSecrets::new(client, format!("hookline/{}/", unique("secrets")))
}

/// A store on `table` (its secrets in Secrets Manager) whose every DynamoDB request the
/// recorder returned with it counts.
async fn recorded_store(moto: &Moto, table: &str) -> (DynamoStore, Operations) {
    let ops = Operations::default();
    let client = ops.dynamodb_client(&moto.sdk_config().await);
    let store = DynamoStore::new(client, table).with_secrets(secrets(moto).await);
    (store, ops)
}

/// One page of `key`'s deliveries (of `status`, if given) after `cursor`: their ids, and the
/// next page's cursor.
async fn delivery_ids(
    store: &DynamoStore,
    key: &DeliveryKey,
    status: Option<DeliveryStatus>,
    cursor: Option<&str>,
    limit: usize,
) -> (Vec<String>, Option<String>) {
    let page = store
        .list_deliveries(key, &DeliveryFilter::status(status), cursor, limit)
        .await
        .expect("list_deliveries");
    let ids = page.items.into_iter().map(|d| d.id.into_string());
    (ids.collect(), page.next_cursor)
}

/// A delivery whose ids are made by hand: the table treats them as opaque keys.
fn delivery(id: &str, event: &str, sub: &str, client: &str, at: OffsetDateTime) -> Delivery {
    Delivery::new(
        DeliveryId::from_stored(id),
        &EventId::from_stored(event),
        &SubscriptionId::from_stored(sub),
        &ClientId::from_stored(client),
        at,
    )
}
