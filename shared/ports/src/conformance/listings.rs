//! Conformance: the filtered listings the console and the CLI read — recent events newest
//! first (by states, type and window) and deliveries narrowed by event type and creation
//! window, combined with the status filter, cursors walking them to the end.
//!
//! Filtered pages may come short (a backend filters what it read), so these checks walk every
//! page and compare what the walk yields.

use hookline_domain::{
    ClientId, Delivery, DeliveryStatus, Event, EventId, StateCode, StatePattern, SubscriptionId,
};

use super::deliveries::delivery;
use super::events::event;
use super::{Run, at_ms, walk};
use crate::error::PortError;
use crate::store::{DeliveryFilter, DeliveryKey, EventListing, Store};

/// Every event a listing yields, walked two at a time.
async fn recent(store: &dyn Store, what: &str, listing: &EventListing) -> Vec<Event> {
    walk(what, 2, |cursor| async move {
        store
            .list_recent_events(listing, cursor.as_deref(), 2)
            .await
    })
    .await
    .into_iter()
    .flatten()
    .collect()
}

fn ids(events: &[&Event]) -> Vec<EventId> {
    events.iter().map(|e| e.id.clone()).collect()
}

/// `list_recent_events`: `[since, until)`, newest first, by states (one, several or all) and
/// type, with cursors.
pub(super) async fn recent_events(store: &dyn Store, run: &Run) {
    let source = run.client_id();
    let since = run.start_ms - 5_400_000;
    let until = since + 10_000;
    let other = StatePattern::from_stored(format!("S{}", &run.state[1..]));
    let mut inside = Vec::new();
    for (i, offset) in [0, 1_000, 1_000, 4_000, 9_999].into_iter().enumerate() {
        let mut e = event(run, &source, &run.state, since + offset);
        if i % 2 == 1 {
            e.event_type = "LotCreated".to_string();
        }
        inside.push(e);
    }
    let elsewhere = event(run, &source, &other, since + 5_000);
    let outside = [
        event(run, &source, &run.state, since - 1),
        event(run, &source, &run.state, until),
    ];
    for e in inside.iter().chain([&elsewhere]).chain(&outside) {
        store.insert_event(e, None).await.expect("insert_event");
    }
    let newest_first = |mut v: Vec<&Event>| {
        v.sort_by(|a, b| (b.received_at, &b.id).cmp(&(a.received_at, &a.id)));
        ids(&v)
    };
    let code = |p: &StatePattern| StateCode::from_stored(p.as_str());
    let listing = |states: Option<Vec<StateCode>>, event_type: Option<&str>| EventListing {
        states,
        event_type: event_type.map(str::to_string),
        since: at_ms(since),
        until: at_ms(until),
    };

    let got = recent(
        store,
        "list_recent_events(state)",
        &listing(Some(vec![code(&run.state)]), None),
    )
    .await;
    assert_eq!(
        ids(&got.iter().collect::<Vec<_>>()),
        newest_first(inside.iter().collect()),
        "list_recent_events(state) must list exactly the state's events in [since, until), newest first (ties by id)"
    );
    assert_eq!(
        got.iter().find(|e| e.id == inside[0].id),
        Some(&inside[0]),
        "list_recent_events must return whole events"
    );

    let got = recent(
        store,
        "list_recent_events(state, type)",
        &listing(Some(vec![code(&run.state)]), Some("LotCreated")),
    )
    .await;
    assert_eq!(
        ids(&got.iter().collect::<Vec<_>>()),
        newest_first(
            inside
                .iter()
                .filter(|e| e.event_type == "LotCreated")
                .collect()
        ),
        "list_recent_events with a type must list only that type's events"
    );

    let both = Some(vec![code(&run.state), code(&other)]);
    let got = recent(store, "list_recent_events(states)", &listing(both, None)).await;
    assert_eq!(
        ids(&got.iter().collect::<Vec<_>>()),
        newest_first(inside.iter().chain([&elsewhere]).collect()),
        "list_recent_events of several states must merge them, newest first"
    );

    let all = recent(store, "list_recent_events(all)", &listing(None, None)).await;
    assert!(
        all.windows(2)
            .all(|w| (w[0].received_at, &w[0].id) > (w[1].received_at, &w[1].id)),
        "list_recent_events(all states) must be newest first, without repeats"
    );
    let mine: Vec<&Event> = all.iter().filter(|e| e.source == source.as_str()).collect();
    assert_eq!(
        ids(&mine),
        newest_first(inside.iter().chain([&elsewhere]).collect()),
        "list_recent_events(all states) must list every state's events in the window"
    );

    let bad = store
        .list_recent_events(&listing(None, None), Some("%%%"), 2)
        .await;
    assert!(
        matches!(bad, Err(PortError::InvalidCursor)),
        "list_recent_events with a garbage cursor must be InvalidCursor, got {bad:?}"
    );
    let mut empty = listing(Some(vec![code(&run.state)]), None);
    empty.since = empty.until;
    let page = store
        .list_recent_events(&empty, None, 2)
        .await
        .expect("list_recent_events of an empty window");
    assert!(
        page.items.is_empty() && page.next_cursor.is_none(),
        "an empty window must give one empty last page"
    );
}

/// A filtered listing, and which deliveries it must yield.
type Case<'a> = (
    &'a str,
    DeliveryKey,
    DeliveryFilter,
    Box<dyn Fn(&Delivery) -> bool + 'a>,
);

/// Every delivery a filtered listing yields, walked two at a time.
async fn filtered(
    store: &dyn Store,
    what: &str,
    key: &DeliveryKey,
    filter: &DeliveryFilter,
) -> Vec<Delivery> {
    walk(what, 2, |cursor| async move {
        store
            .list_deliveries(key, filter, cursor.as_deref(), 2)
            .await
    })
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// `list_deliveries` narrowed by event type and creation window, alone and with the status,
/// by subscription, client and all; a delivery without a type matches no type.
pub(super) async fn delivery_filters(store: &dyn Store, run: &Run) {
    let client: ClientId = run.client_id();
    let (s1, s2): (SubscriptionId, SubscriptionId) = (run.subscription_id(), run.subscription_id());
    let t = run.start_ms - 10_800_000;
    let mut made = Vec::new();
    // (subscription, type, offset ms, status)
    let plan = [
        (&s1, Some("LotCreated"), 0, DeliveryStatus::Succeeded),
        (&s1, Some("LotDispatched"), 1_000, DeliveryStatus::Failed),
        (&s1, Some("LotCreated"), 2_000, DeliveryStatus::Failed),
        (&s1, None, 2_500, DeliveryStatus::Failed),
        (&s2, Some("LotCreated"), 3_000, DeliveryStatus::Pending),
        (&s1, Some("LotCreated"), 4_000, DeliveryStatus::Succeeded),
        (&s1, Some("LotCreated"), 9_000, DeliveryStatus::Failed),
    ];
    for (sub, event_type, offset, status) in plan {
        let mut d = delivery(&run.event_id(), sub, &client, t + offset);
        if let Some(event_type) = event_type {
            d = d.with_event_type(event_type);
        }
        d.status = status;
        assert!(store.insert_delivery(&d).await.expect("insert_delivery"));
        made.push(d);
    }
    made.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let window = |since: i128, until: i128| DeliveryFilter {
        since: Some(at_ms(t + since)),
        until: Some(at_ms(t + until)),
        ..DeliveryFilter::default()
    };
    let created = |d: &Delivery, since: i128, until: i128| {
        at_ms(t + since) <= d.created_at && d.created_at < at_ms(t + until)
    };
    let typed = |d: &Delivery, name: &str| d.event_type.as_deref() == Some(name);
    let cases: Vec<Case> = vec![
        (
            "by type",
            DeliveryKey::Subscription(s1.clone()),
            DeliveryFilter {
                event_type: Some("LotCreated".to_string()),
                ..DeliveryFilter::default()
            },
            Box::new(|d| d.subscription_id == s1 && typed(d, "LotCreated")),
        ),
        (
            "by window [1000, 4000)",
            DeliveryKey::Client(client.clone()),
            window(1_000, 4_000),
            Box::new(|d| created(d, 1_000, 4_000)),
        ),
        (
            "by type, status and window",
            DeliveryKey::Client(client.clone()),
            DeliveryFilter {
                status: Some(DeliveryStatus::Failed),
                event_type: Some("LotCreated".to_string()),
                ..window(0, 9_000)
            },
            Box::new(|d| {
                d.status == DeliveryStatus::Failed && typed(d, "LotCreated") && created(d, 0, 9_000)
            }),
        ),
        (
            "since only",
            DeliveryKey::Subscription(s1.clone()),
            DeliveryFilter {
                since: Some(at_ms(t + 2_500)),
                ..DeliveryFilter::default()
            },
            Box::new(|d| d.subscription_id == s1 && d.created_at >= at_ms(t + 2_500)),
        ),
        (
            "until only",
            DeliveryKey::Subscription(s1.clone()),
            DeliveryFilter {
                until: Some(at_ms(t + 2_000)),
                ..DeliveryFilter::default()
            },
            Box::new(|d| d.subscription_id == s1 && d.created_at < at_ms(t + 2_000)),
        ),
    ];
    for (what, key, filter, want) in &cases {
        let got = filtered(store, what, key, filter).await;
        let expected: Vec<Delivery> = made.iter().filter(|d| want(d)).cloned().collect();
        assert_eq!(
            got, expected,
            "list_deliveries {what} must list exactly the matching deliveries, newest first"
        );
    }
    let all = filtered(
        store,
        "all, by type and window",
        &DeliveryKey::All,
        &DeliveryFilter {
            event_type: Some("LotDispatched".to_string()),
            ..window(0, 10_000)
        },
    )
    .await;
    let mine: Vec<Delivery> = all.into_iter().filter(|d| d.client_id == client).collect();
    assert_eq!(
        mine,
        made.iter()
            .filter(|d| typed(d, "LotDispatched"))
            .cloned()
            .collect::<Vec<_>>(),
        "list_deliveries(all) by type and window must hold the matching deliveries"
    );
    let empty = filtered(
        store,
        "an empty window",
        &DeliveryKey::Subscription(s1.clone()),
        &window(5_000, 5_000),
    )
    .await;
    assert!(empty.is_empty(), "an empty window lists nothing");
}
