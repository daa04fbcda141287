//! Conformance: events (idempotency claims, the enqueued flag) and the time-range listing.

use hookline_domain::{Event, EventId, StatePattern};
use serde_json::json;

use super::{Run, at_ms, exact_page_sizes, walk};
use crate::error::PortError;
use crate::store::{EventInsert, Store};

pub(super) fn event(run: &Run, source: &str, state: &StatePattern, received_ms: i128) -> Event {
    Event {
        id: run.event_id(),
        event_type: "LotDispatched".to_string(),
        state: state.clone(),
        occurred_at: at_ms(received_ms - 1_000),
        received_at: at_ms(received_ms),
        source: source.to_string(),
        publisher_key: Some(format!("pub-{}", run.tag)),
        recipient: None,
        data: json!({"lotNo": "L-1", "run": run.tag, "n": [1, 2.5, null, {"deep": true}]}),
    }
}

/// Insert with and without idempotency keys, claims per source, `mark_event_enqueued`.
pub(super) async fn events(store: &dyn Store, run: &Run) {
    let source = run.client_id();
    let key = format!("key-{}", run.tag);
    let first = event(run, &source, &run.state, run.start_ms);
    let r = store
        .insert_event(&first, Some(&key))
        .await
        .expect("insert_event");
    assert_eq!(
        r,
        EventInsert::Created,
        "the first insert_event with a key must be Created"
    );
    assert_eq!(
        store
            .get_event(&first.id)
            .await
            .expect("get_event")
            .as_ref(),
        Some(&first),
        "get_event must return the event as inserted"
    );

    let repeat = event(run, &source, &run.state, run.start_ms);
    let r = store
        .insert_event(&repeat, Some(&key))
        .await
        .expect("insert_event (repeat)");
    assert_eq!(
        r,
        EventInsert::Existing {
            event_id: first.id.clone(),
            enqueued: false
        },
        "a repeated (source, key) must return the original id, not yet enqueued"
    );
    assert_eq!(
        store.get_event(&repeat.id).await.expect("get_event"),
        None,
        "a repeated key must write nothing"
    );

    store
        .mark_event_enqueued(&first.id)
        .await
        .expect("mark_event_enqueued");
    let again = event(run, &source, &run.state, run.start_ms);
    let r = store
        .insert_event(&again, Some(&key))
        .await
        .expect("insert_event (repeat after enqueue)");
    assert_eq!(
        r,
        EventInsert::Existing {
            event_id: first.id.clone(),
            enqueued: true
        },
        "a repeated key must report that the original was enqueued"
    );
    assert_eq!(
        store
            .get_event(&first.id)
            .await
            .expect("get_event")
            .as_ref(),
        Some(&first),
        "marking enqueued must not change the event"
    );

    // The claim is per source: another publisher may use the same key.
    let other = event(run, &run.client_id(), &run.state, run.start_ms);
    let r = store
        .insert_event(&other, Some(&key))
        .await
        .expect("insert_event (other source)");
    assert_eq!(
        r,
        EventInsert::Created,
        "the same key from another source must be Created"
    );
    // Without a key nothing is claimed: two inserts are two events.
    for _ in 0..2 {
        let e = event(run, &source, &run.state, run.start_ms);
        let r = store
            .insert_event(&e, None)
            .await
            .expect("insert_event without a key");
        assert_eq!(
            r,
            EventInsert::Created,
            "insert_event without a key must be Created"
        );
        assert_eq!(
            store.get_event(&e.id).await.expect("get_event").as_ref(),
            Some(&e)
        );
    }
    assert_eq!(
        store
            .get_event(&run.event_id())
            .await
            .expect("get_event of an unknown id"),
        None
    );
}

/// `list_events`: `[since, until)`, oldest first, by state or for all states, with cursors.
pub(super) async fn list_events(store: &dyn Store, run: &Run) {
    let source = run.client_id();
    // A window in the past that this run alone fills for its state.
    let since = run.start_ms - 3_600_000;
    let until = since + 10_000;
    let other_state = StatePattern::from_stored(format!("R{}", &run.state[1..]));
    let mut inside = Vec::new();
    for offset in [0, 1_000, 1_000, 2_500, 9_999] {
        inside.push(event(run, &source, &run.state, since + offset));
    }
    let before = event(run, &source, &run.state, since - 1);
    let at_until = event(run, &source, &run.state, until);
    let elsewhere = event(run, &source, &other_state, since + 5_000);
    for e in inside.iter().chain([&before, &at_until, &elsewhere]) {
        store.insert_event(e, None).await.expect("insert_event");
    }
    let mut expected = inside.clone();
    expected.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));

    let (from, to) = (at_ms(since), at_ms(until));
    let state = &run.state;
    let pages = walk("list_events(state)", 2, |cursor| async move {
        store
            .list_events(Some(state), from, to, cursor.as_deref(), 2)
            .await
    })
    .await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        exact_page_sizes(expected.len(), 2),
        "list_events(state) pages must be full until the last, which has no cursor"
    );
    let got: Vec<Event> = pages.into_iter().flatten().collect();
    assert_eq!(
        got.iter().map(|e| &e.id).collect::<Vec<_>>(),
        expected.iter().map(|e| &e.id).collect::<Vec<_>>(),
        "list_events(state) must list exactly the state's events in [since, until), oldest first (ties by id)"
    );
    assert_eq!(got, expected, "list_events must return whole events");

    let pages = walk("list_events(all states)", 3, |cursor| async move {
        store
            .list_events(None, from, to, cursor.as_deref(), 3)
            .await
    })
    .await;
    let all: Vec<Event> = pages.into_iter().flatten().collect();
    assert!(
        all.windows(2)
            .all(|w| (w[0].received_at, &w[0].id) < (w[1].received_at, &w[1].id)),
        "list_events(all states) must be oldest first, without repeats"
    );
    let mine: Vec<&EventId> = all
        .iter()
        .filter(|e| e.source == source.as_str())
        .map(|e| &e.id)
        .collect();
    let mut want: Vec<&Event> = expected.iter().chain([&elsewhere]).collect();
    want.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
    assert_eq!(
        mine,
        want.iter().map(|e| &e.id).collect::<Vec<_>>(),
        "list_events(all states) must list every state's events in the window"
    );

    let bad = store
        .list_events(Some(state), from, to, Some("%%%"), 2)
        .await;
    assert!(
        matches!(bad, Err(PortError::InvalidCursor)),
        "list_events with a garbage cursor must be InvalidCursor, got {bad:?}"
    );
    let empty = store
        .list_events(Some(state), to, to, None, 2)
        .await
        .expect("list_events of an empty window");
    assert!(
        empty.items.is_empty() && empty.next_cursor.is_none(),
        "an empty window must give one empty last page"
    );
}
