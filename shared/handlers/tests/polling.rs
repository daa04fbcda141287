//! The polling triggers' scheduler against a tool on loopback: each new item is published
//! once (a second run publishes nothing new, and neither does a run that lost its cursor:
//! the items' idempotency keys hold), two runners never run one poll together, a failing poll
//! keeps its cursor and runs again at its next interval, an item that is not a valid event is
//! skipped and said so, and a disabled connection is not polled.

mod support;

use axum::http::StatusCode;
use hookline_domain::StatePattern;
use hookline_handlers::apps::scheduler::{PollContext, PollRun, run_due_polls};
use hookline_handlers::messages::EventMessage;
use hookline_ports::QueueName;
use serde_json::{Value, json};
use time::OffsetDateTime;

use support::apps::{Market, ORDER_PLACED, ORDERS, poll_of};
use support::hub::*;

/// The market of `support::apps`, planted for a new client of `hub`, polled by a runner over
/// the hub's context.
async fn market(hub: &Hub) -> Market {
    let client = hub.subscribe("", 5).await.client_id;
    let ctx = PollContext::new(hub.ctx.worker.clone(), hub.ctx.api.engine.clone());
    Market::plant(hub.store.as_ref(), &client, ctx).await
}

/// `at` seconds from now.
fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::seconds(secs)
}

async fn run(m: &Market, now: OffsetDateTime) -> PollRun {
    run_due_polls(&m.ctx, now, 10)
        .await
        .expect("run the due polls")
}

/// The events the runs queued for fan-out since the last call, as (key, data) by id order.
async fn published(hub: &Hub, n: usize) -> Vec<Value> {
    let batch = hub.receive_exactly(QueueName::Events, n).await;
    let mut out = Vec::new();
    for message in &batch {
        let msg: EventMessage = serde_json::from_str(&message.body).expect("an event message");
        let event = hub
            .store
            .get_event(&msg.event_id)
            .await
            .expect("read the event")
            .expect("the event is stored");
        assert_eq!(event.event_type, ORDER_PLACED);
        assert_eq!(event.state, StatePattern::from_stored(STATE));
        out.push(json!({
            "source": event.source,
            "key": event.publisher_key,
            "data": event.data,
        }));
    }
    hub.queue
        .delete(
            QueueName::Events,
            batch.iter().map(|m| m.receipt_handle.clone()).collect(),
        )
        .await
        .expect("delete");
    out.sort_by_key(|e| e["data"]["id"].as_u64());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_publishes_each_new_item_once_and_a_second_run_nothing_new() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10)), (2, json!(20))]);

    let first = at(0);
    let ran = run(&m, first).await;
    assert_eq!((ran.ran, ran.published, ran.failed), (1, 2, 0));
    let events = published(&hub, 2).await;
    let con = &m.connection.id;
    assert_eq!(
        events[0]["source"],
        m.connection.client_id.as_str(),
        "the connection's client"
    );
    assert_eq!(events[0]["key"], format!("poll:{con}:orders:1"));
    assert_eq!(events[1]["key"], format!("poll:{con}:orders:2"));
    assert_eq!(events[1]["data"], json!({ "id": 2, "seq": 2, "total": 20 }));
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    assert_eq!(poll.cursor, Some(json!(2)));
    assert_eq!(poll.seen, ["2"]);
    assert_eq!(poll.published, 2);
    assert_eq!(poll.last_error, None);
    assert_eq!(poll.last_run_at, Some(first));
    assert_eq!(poll.next_run_at, first + time::Duration::seconds(60));
    assert_eq!(poll.lease_until, None, "the lease is freed");

    // Not due before its interval; then the same list again: nothing new.
    assert_eq!(run(&m, at(30)).await.ran, 0, "not due yet");
    let ran = run(&m, at(61)).await;
    assert_eq!((ran.ran, ran.published), (1, 0));
    assert_eq!(hub.depth(QueueName::Events).await, 0, "nothing queued");
    let asked = m.tool.requests_to(ORDERS);
    assert_eq!(asked.len(), 2);
    assert_eq!(
        asked[1].query.as_deref(),
        Some("since=2"),
        "from the cursor"
    );

    // A schedule that lost its cursor (put again, as a connection update does) finds the
    // same items new, and publishes none twice: their keys are already taken.
    let mut fresh = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    (fresh.cursor, fresh.seen) = (None, Vec::new());
    hub.store.put_poll(&fresh).await.expect("put poll");
    let ran = run(&m, at(200)).await;
    assert_eq!((ran.ran, ran.published), (1, 0));
    assert_eq!(hub.depth(QueueName::Events).await, 0, "no duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_never_run_one_poll_together() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10))]);
    let published_events = m.race_two_runners(hub.ctx.worker.clone(), at(0)).await;
    assert_eq!(published_events, 1);
    assert_eq!(published(&hub, 1).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_poll_keeps_its_cursor_and_runs_again_at_its_next_interval() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10)), (2, json!(20))]);
    run(&m, at(0)).await;
    published(&hub, 2).await;

    m.tool.answer(
        ORDERS,
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "error": "down" }),
    );
    let failed_at = at(61);
    let ran = run(&m, failed_at).await;
    assert_eq!((ran.ran, ran.published, ran.failed), (1, 0, 1));
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    assert_eq!(poll.cursor, Some(json!(2)), "the cursor stays");
    assert_eq!(poll.seen, ["2"]);
    assert_eq!(poll.published, 2);
    let error = poll.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("500"), "{error}");
    assert_eq!(poll.next_run_at, failed_at + time::Duration::seconds(60));

    // Back up, with a new order: it is published, from the kept cursor.
    m.lists(&[(2, json!(20)), (3, json!(30))]);
    let ran = run(&m, at(122)).await;
    assert_eq!((ran.ran, ran.published, ran.failed), (1, 1, 0));
    let events = published(&hub, 1).await;
    assert_eq!(events[0]["data"]["id"], 3);
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    assert_eq!((poll.cursor, poll.last_error), (Some(json!(3)), None));
    assert_eq!(
        m.tool.requests_to(ORDERS)[2].query.as_deref(),
        Some("since=2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_is_not_a_valid_event_is_skipped_and_said_so() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10)), (2, json!("lots"))]);

    let ran = run(&m, at(0)).await;
    assert_eq!((ran.ran, ran.published, ran.failed), (1, 1, 0));
    let events = published(&hub, 1).await;
    assert_eq!(events[0]["data"]["id"], 1);
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    let error = poll.last_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("1 of 2 items skipped"), "{error}");
    assert_eq!(poll.cursor, Some(json!(2)), "not polled again");
    assert_eq!(poll.published, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_connection_is_not_polled_but_rescheduled() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10))]);
    let mut connection = m.connection.clone();
    connection.enabled = false;
    assert!(
        hub.store
            .update_connection(&connection)
            .await
            .expect("update")
    );

    let now = at(0);
    let ran = run(&m, now).await;
    assert_eq!((ran.ran, ran.published), (1, 0));
    assert_eq!(m.tool.count(), 0, "not polled");
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    assert_eq!(poll.next_run_at, now + time::Duration::seconds(60));
    assert_eq!((poll.last_run_at, poll.cursor), (None, None));
    assert_eq!(hub.depth(QueueName::Events).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_may_no_longer_publish_for_the_state_keeps_its_cursor() {
    let hub = hub().await;
    let m = market(&hub).await;
    m.lists(&[(1, json!(10))]);
    let id = &m.connection.client_id;
    let mut owner = hub
        .store
        .get_client(id)
        .await
        .expect("read")
        .expect("the client");
    owner.states = vec![StatePattern::from_stored("TG")];
    hub.store.put_client(&owner).await.expect("put client");

    let ran = run(&m, at(0)).await;
    assert_eq!((ran.ran, ran.published, ran.failed), (1, 0, 1));
    let poll = poll_of(hub.store.as_ref(), &m.connection, "orders").await;
    assert_eq!(poll.cursor, None, "nothing skipped: the items wait");
    let error = poll.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("may no longer publish for AP"), "{error}");
    assert_eq!(hub.depth(QueueName::Events).await, 0);
}
