//! `DynamoStore` against moto: the port conformance suite (twice on one table), data shared
//! between store instances, the table's definition as DynamoDB reports it, the sharded lists
//! (all deliveries; each day of events) written spread and read back merged, and what a list
//! page costs now that the indexes hold keys only (a `Query` per partition, a `BatchGetItem`
//! per 100 items).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use hookline_domain::{Delivery, DeliveryStatus, Event, StatePattern};
use hookline_ports::{DeliveryKey, Page};
use time::macros::datetime;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use hookline_aws::DynamoStore;
use hookline_aws::provision::table::{create_table, table_definition};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{ClientId, DeliveryId, EventId, SubscriptionId};
use hookline_ports::{DeliveryStore, EventStore, SubscriptionStore};
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
                Some(ProjectionType::from(def.projection)),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        def.projection, "KEYS_ONLY",
        "a write that changes no key writes no index"
    );
    assert_eq!(
        gsis, expected,
        "the GSIs are the definition's, projecting keys only"
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

fn event_at(id: &str, state: &str, received_at: OffsetDateTime) -> Event {
    Event {
        id: EventId::from_stored(id),
        event_type: "LotDispatched".to_string(),
        state: StatePattern::from_stored(state),
        occurred_at: received_at,
        received_at,
        source: "cl_daywalk".to_string(),
        publisher_key: None,
        recipient: None,
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
            ids.extend(items.into_iter().map(|e| e.id.into_string()));
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
        .list_events(
            Some(&StatePattern::from_stored("AP")),
            since,
            until,
            None,
            10,
        )
        .await
        .expect("list_events(AP)");
    let ap: Vec<String> = ap.items.into_iter().map(|e| e.id.into_string()).collect();
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
        let mut d = delivery(
            &DeliveryId::for_event(
                &EventId::from_stored(event.as_str()),
                &SubscriptionId::from_stored("sub_filter"),
            ),
            &event,
            "sub_filter",
            "cl_filter",
            start + time::Duration::seconds(i),
        );
        if i % 5 == 0 {
            d.status = DeliveryStatus::Failed;
            failed.push(d.id.to_string());
        }
        assert!(store.insert_delivery(&d).await.expect("insert_delivery"));
    }
    failed.reverse();
    let key = DeliveryKey::Subscription(SubscriptionId::from_stored("sub_filter"));
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let page = store
            .list_deliveries(&key, Some(DeliveryStatus::Failed), cursor.as_deref(), 2)
            .await
            .expect("list_deliveries(status)");
        pages.push(
            page.items
                .into_iter()
                .map(|d| d.id.into_string())
                .collect::<Vec<_>>(),
        );
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

/// Shards of a sharded list, plus the unsharded partition read alongside them.
const SHARDED_PARTITIONS: usize = 16 + 1;

/// Every item of the table (a test may scan; the store never does).
async fn scan_all(
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
fn attr<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

/// Moves an item's entry in an index to the unsharded partition `p`, as items written before
/// the list was sharded are.
async fn move_to_unsharded(
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

/// Walks `list_deliveries(All)` page by page (`between` runs after each page), returning the
/// pages' ids and the `Query` calls of each page.
async fn walk_all_deliveries<F, Fut>(
    store: &DynamoStore,
    calls: &Calls,
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
        let page = store
            .list_deliveries(&DeliveryKey::All, status, cursor.as_deref(), limit)
            .await
            .expect("list_deliveries(all)");
        queries.push(calls.queries());
        pages.push(
            page.items
                .into_iter()
                .map(|d| d.id.into_string())
                .collect::<Vec<_>>(),
        );
        match page.next_cursor {
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
    let calls = Calls::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await)
        .interceptor(calls.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table.clone());
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
        .list_deliveries(&DeliveryKey::All, None, None, 3)
        .await
        .expect("list_deliveries(all)");
    let cursor = page.next_cursor.expect("a next page");
    for key in [
        DeliveryKey::Subscription(SubscriptionId::from_stored("sub_merge0")),
        DeliveryKey::Client(ClientId::from_stored("cl_merge")),
    ] {
        let other = store.list_deliveries(&key, None, Some(&cursor), 3).await;
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
    let calls = Calls::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await)
        .interceptor(calls.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table);
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

#[tokio::test]
async fn delivery_writes_spread_over_the_shards() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let now = datetime!(2026-03-01 00:00 UTC);
    let deliveries: Vec<Delivery> = (0..200)
        .map(|i| {
            let event = EventId::new(1_772_323_200_000 + i);
            delivery(
                &DeliveryId::for_event(&event, &SubscriptionId::from_stored("sub_spread")),
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
    let want: Vec<String> = all.iter().map(|e| e.id.to_string()).collect();
    for limit in [1, 7, 50] {
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let Page { items, next_cursor } = store
                .list_events(None, since, until, cursor.as_deref(), limit)
                .await
                .expect("list_events");
            pages.push(
                items
                    .into_iter()
                    .map(|e| e.id.into_string())
                    .collect::<Vec<_>>(),
            );
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

/// Counts the DynamoDB requests a client sends, by operation.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<BTreeMap<String, usize>>>);

impl Calls {
    /// The `Query` requests so far, and every count reset.
    fn queries(&self) -> usize {
        self.take().get("Query").copied().unwrap_or(0)
    }

    /// The counts so far, reset.
    fn take(&self) -> BTreeMap<String, usize> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "count-dynamodb-calls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(target) = context.request().headers().get("x-amz-target")
            && let Ok(mut calls) = self.0.lock()
        {
            let op = target.rsplit('.').next().unwrap_or(target);
            *calls.entry(op.to_string()).or_default() += 1;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_page_of_a_hundred_is_a_query_per_partition_and_one_batch_get() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let calls = Calls::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await)
        .interceptor(calls.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table.clone());
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
    calls.take();

    // One partition: a Query and a BatchGetItem a page; the last page of 50 too.
    let mut cursor: Option<String> = None;
    let mut listed = Vec::new();
    loop {
        let page = store
            .list_subscriptions(None, cursor.as_deref(), 100)
            .await
            .expect("list_subscriptions");
        let c = calls.take();
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
    let c = calls.take();
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
            .list_deliveries(&DeliveryKey::All, None, cursor.as_deref(), 100)
            .await
            .expect("list_deliveries(all)");
        let c = calls.take();
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
