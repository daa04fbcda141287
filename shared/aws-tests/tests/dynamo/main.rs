//! `DynamoStore` against moto: the port conformance suite (twice on one table), data shared
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
use support::moto::{Moto, unique};

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
