//! `DynamoStore` against moto: the port conformance suite (twice on one table), data shared
//! between store instances, and the table's definition as DynamoDB reports it.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_domain::{Delivery, DeliveryStatus, Event};
use hookline_ports::{DeliveryKey, Page};
use time::macros::datetime;

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use hookline_aws::DynamoStore;
use hookline_aws::provision::table::{create_table, table_definition};
use hookline_domain::ids;
use hookline_domain::subscription::new_subscription;
use hookline_ports::Store;
use support::moto::{Moto, unique};
use time::OffsetDateTime;

/// A GSI as compared: name, (hash key, range key), projection.
type GsiShape = (
    String,
    (Option<String>, Option<String>),
    Option<ProjectionType>,
);

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

#[tokio::test]
async fn table_definition_has_ttl_and_the_gsis() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let def = table_definition();

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe_table");
    let t = described.table().expect("a table description");
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        let of = |kind: KeyType| {
            schema
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_string())
        };
        (of(KeyType::Hash), of(KeyType::Range))
    };
    assert_eq!(
        keys(t.key_schema()),
        (
            Some(def.partition_key.to_string()),
            Some(def.sort_key.to_string())
        )
    );
    let attrs: BTreeSet<String> = t
        .attribute_definitions()
        .iter()
        .map(|a| a.attribute_name().to_string())
        .collect();
    let want: BTreeSet<String> = def.key_attributes().iter().map(|a| a.to_string()).collect();
    assert_eq!(
        attrs, want,
        "every key attribute is defined, and nothing else"
    );
    assert!(
        t.attribute_definitions()
            .iter()
            .all(|a| a.attribute_type().as_str() == "S"),
        "every key attribute is a string"
    );

    let mut gsis: Vec<GsiShape> = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_string(),
                keys(g.key_schema()),
                g.projection().and_then(|p| p.projection_type().cloned()),
            )
        })
        .collect();
    gsis.sort();
    let mut expected: Vec<GsiShape> = def
        .gsis
        .iter()
        .map(|g| {
            (
                g.name.to_string(),
                (
                    Some(g.partition_key.to_string()),
                    Some(g.sort_key.to_string()),
                ),
                Some(ProjectionType::All),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        gsis, expected,
        "the GSIs are the definition's, projecting everything"
    );
    if let Some(billing) = t.billing_mode_summary().and_then(|b| b.billing_mode()) {
        assert_eq!(billing.as_str(), def.billing_mode);
    }

    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe_time_to_live");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(def.ttl_attribute));
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
        "TransactWriteItems",
    ]
    .map(String::from)
    .into();
    assert!(
        seen.contains("Query"),
        "the recorder saw the store's queries: {seen:?}"
    );
    assert!(
        seen.is_subset(&allowed),
        "the store may only look up keys, query partitions and write conditionally; it used {seen:?}"
    );
}

fn event_at(id: &str, state: &str, received_at: OffsetDateTime) -> Event {
    Event {
        id: id.to_string(),
        event_type: "LotDispatched".to_string(),
        state: state.to_string(),
        occurred_at: received_at,
        received_at,
        source: "cl_daywalk".to_string(),
        publisher_key: None,
        data: serde_json::json!({"at": id}),
    }
}

#[tokio::test]
async fn events_of_all_states_are_walked_across_day_buckets_oldest_first() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let store = DynamoStore::new(client.clone(), new_table(&client).await);
    let (since, until) = (
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-03-04 00:00 UTC),
    );
    // 2026-03-02 holds nothing; the events at `since - 1 ms` and at `until` are outside.
    let plan = [
        ("evt_before", "AP", datetime!(2026-02-28 23:59:59.999 UTC)),
        ("evt_1", "AP", datetime!(2026-03-01 10:00 UTC)),
        ("evt_2", "KA", datetime!(2026-03-01 23:59:59.999 UTC)),
        ("evt_3", "AP", datetime!(2026-03-03 00:00 UTC)),
        ("evt_4", "KA", datetime!(2026-03-03 05:00 UTC)),
        ("evt_until", "AP", until),
    ];
    for (id, state, at) in plan {
        store
            .insert_event(&event_at(id, state, at), None)
            .await
            .expect("insert_event");
    }
    let want = ["evt_1", "evt_2", "evt_3", "evt_4"];
    for limit in [1, 2, 3, 4, 10] {
        let mut cursor: Option<String> = None;
        let mut sizes = Vec::new();
        let mut ids = Vec::new();
        loop {
            let Page { items, next_cursor } = store
                .list_events(None, since, until, cursor.as_deref(), limit)
                .await
                .expect("list_events");
            sizes.push(items.len());
            ids.extend(items.into_iter().map(|e| e.id));
            match next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(
                sizes.len() <= want.len(),
                "the cursor never reached the end"
            );
        }
        assert_eq!(
            ids, want,
            "limit {limit}: the window's events, oldest first"
        );
        let full = want.len() / limit;
        let mut expected = vec![limit; full];
        if !want.len().is_multiple_of(limit) {
            expected.push(want.len() % limit);
        }
        assert_eq!(
            sizes, expected,
            "limit {limit}: full pages, the last without a cursor"
        );
    }
    let ap = store
        .list_events(Some("AP"), since, until, None, 10)
        .await
        .expect("list_events(AP)");
    let ap: Vec<String> = ap.items.into_iter().map(|e| e.id).collect();
    assert_eq!(ap, ["evt_1", "evt_3"]);
}

#[tokio::test]
async fn status_filter_still_fills_pages_when_most_deliveries_do_not_match() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let store = DynamoStore::new(client.clone(), new_table(&client).await);
    let start = datetime!(2026-03-01 00:00 UTC);
    let mut failed = Vec::new();
    for i in 0..25i64 {
        let event = format!("evt_filter{i:02}");
        let mut d = Delivery::new(
            ids::delivery_id(&event, "sub_filter"),
            &event,
            "sub_filter",
            "cl_filter",
            start + time::Duration::seconds(i),
        );
        if i % 5 == 0 {
            d.status = DeliveryStatus::Failed;
            failed.push(d.id.clone());
        }
        assert!(store.insert_delivery(&d).await.expect("insert_delivery"));
    }
    failed.reverse();
    let key = DeliveryKey::Subscription("sub_filter".to_string());
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = store
            .list_deliveries(&key, Some(DeliveryStatus::Failed), cursor.as_deref(), 2)
            .await
            .expect("list_deliveries(status)");
        pages.push(page.items.into_iter().map(|d| d.id).collect::<Vec<_>>());
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(
            pages.len() <= failed.len(),
            "the cursor never reached the end"
        );
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1], "full pages, the last without a cursor");
    assert_eq!(
        pages.concat(),
        failed,
        "exactly the failed deliveries, newest first"
    );
}
