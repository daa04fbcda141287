//! Lists walked page by page: events across day buckets (oldest first, and newest first), and
//! a status filter that still fills its pages.

use hookline_aws::DynamoStore;
use hookline_domain::{DeliveryId, EventId, StateCode, StatePattern, SubscriptionId};
use hookline_domain::{DeliveryStatus, Event};
use hookline_ports::{DeliveryKey, DeliveryStore, EventListing, EventStore, Page};
use time::OffsetDateTime;
use time::macros::datetime;

use super::support::moto::Moto;
use super::{client, new_table};
use super::{delivery, delivery_ids};

pub(super) fn event_at(id: &str, state: &str, received_at: OffsetDateTime) -> Event {
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

/// A store holding events across day buckets: 2026-03-02 holds nothing, and the events at
/// `since - 1 ms` and at `until` are outside the window returned.
async fn day_walk(moto: &Moto) -> (DynamoStore, OffsetDateTime, OffsetDateTime) {
    let client = client(moto).await;
    let store = DynamoStore::new(client.clone(), new_table(&client).await);
    let (since, until) = (
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-03-04 00:00 UTC),
    );
    let plan = [
        ("evt_before", "AP", datetime!(2026-02-28 23:59:59.999 UTC)),
        ("evt_1", "AP", datetime!(2026-03-01 10:00 UTC)),
        ("evt_2", "KA", datetime!(2026-03-01 23:59:59.999 UTC)),
        ("evt_3", "AP", datetime!(2026-03-03 00:00 UTC)),
        ("evt_4", "KA", datetime!(2026-03-03 05:00 UTC)),
        ("evt_5", "TG", datetime!(2026-03-03 06:00 UTC)),
        ("evt_until", "AP", until),
    ];
    for (id, state, at) in plan {
        store
            .insert_event(&event_at(id, state, at), None)
            .await
            .expect("insert_event");
    }
    (store, since, until)
}

/// Every event id a list yields page after page, and the pages' sizes.
async fn walk_ids<F, Fut>(mut page: F) -> (Vec<String>, Vec<usize>)
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<Event>, hookline_ports::PortError>>,
{
    let mut cursor: Option<String> = None;
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let Page { items, next_cursor } = page(cursor.take()).await.expect("a page");
        sizes.push(items.len());
        ids.extend(items.into_iter().map(|e| e.id.into_string()));
        match next_cursor {
            Some(c) => cursor = Some(c),
            None => return (ids, sizes),
        }
        assert!(sizes.len() <= 20, "the cursor never reached the end");
    }
}

#[tokio::test]
async fn events_of_all_states_are_walked_across_day_buckets_oldest_first() {
    let moto = Moto::start();
    let (store, since, until) = day_walk(&moto).await;
    let want = ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5"];
    for limit in [1, 2, 3, 5, 10] {
        let store = &store;
        let (ids, sizes) = walk_ids(|cursor| async move {
            store
                .list_events(None, since, until, cursor.as_deref(), limit)
                .await
        })
        .await;
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
async fn recent_events_are_walked_across_day_buckets_newest_first() {
    let moto = Moto::start();
    let (store, since, until) = day_walk(&moto).await;
    let code = |c: &str| StateCode::from_stored(c);
    let cases = [
        (None, vec!["evt_5", "evt_4", "evt_3", "evt_2", "evt_1"]),
        (Some(vec![code("AP")]), vec!["evt_3", "evt_1"]),
        (
            Some(vec![code("AP"), code("KA")]),
            vec!["evt_4", "evt_3", "evt_2", "evt_1"],
        ),
    ];
    for (states, want) in cases {
        let listing = EventListing {
            states,
            event_type: None,
            since,
            until,
        };
        for limit in [1, 2, 10] {
            let (store, listing) = (&store, &listing);
            let (ids, _) = walk_ids(|cursor| async move {
                store
                    .list_recent_events(listing, cursor.as_deref(), limit)
                    .await
            })
            .await;
            assert_eq!(ids, want, "limit {limit}, {:?}", listing.states);
        }
    }
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
        let failed_only = Some(DeliveryStatus::Failed);
        let (ids, next) = delivery_ids(&store, &key, failed_only, cursor.as_deref(), 2).await;
        pages.push(ids);
        match next {
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
