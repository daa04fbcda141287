//! The store as a whole on DynamoDB: the conformance suite, data seen by a second instance,
//! and no method that scans.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_aws::DynamoStore;
use hookline_domain::ids;
use hookline_domain::subscription::new_subscription;
use hookline_ports::SubscriptionStore;
use time::OffsetDateTime;

use super::support::moto::Moto;
use super::{client, new_table};

#[tokio::test]
async fn store_passes_the_conformance_suite_on_dynamodb() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let store = DynamoStore::new(client, table);
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
    let owner = ids::new_id(ids::CLIENT, 1);
    let sub = new_subscription(
        ids::new_id(ids::SUBSCRIPTION, 1),
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

/// Records the `X-Amz-Target` (the DynamoDB operation) of every request a client sends.
#[derive(Debug, Clone, Default)]
struct Operations(Arc<Mutex<BTreeSet<String>>>);

impl Intercept for Operations {
    fn name(&self) -> &'static str {
        "record-dynamodb-operations"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(target) = context.request().headers().get("x-amz-target")
            && let Ok(mut seen) = self.0.lock()
        {
            let op = target.rsplit('.').next().unwrap_or(target);
            seen.insert(op.to_string());
        }
        Ok(())
    }
}

#[tokio::test]
async fn no_store_method_issues_a_scan() {
    let moto = Moto::start();
    let table = new_table(&client(&moto).await).await;
    let ops = Operations::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await)
        .interceptor(ops.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table);
    hookline_ports::conformance::store_suite(&store).await;

    let seen = ops.0.lock().map(|s| s.clone()).unwrap_or_default();
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
