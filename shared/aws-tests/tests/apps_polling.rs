//! The polling triggers' scheduler on DynamoDB and Secrets Manager (moto), against a tool on
//! loopback: two runners (two processes' engines) racing for one due poll run it once, each
//! new item is published once, and a second run publishes nothing new. The claim is a
//! conditional write of the poll's lease, and a due poll is found through its index: both
//! are the backend's to get right.

mod support;

use hookline_handlers::apps::scheduler::{PollContext, run_due_polls};
use hookline_ports::QueueName;
use serde_json::json;
use support::apps::{Market, plant_client, poll_of};
use support::stack_on_moto::StackOnMoto;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_poll_once_and_each_item_is_published_once_on_dynamodb() {
    let stack = StackOnMoto::start(|_| {}).await;
    let ctx = PollContext::new(stack.ctx.worker.clone(), stack.ctx.api.engine.clone());
    let client = plant_client(stack.store.as_ref()).await;
    let m = Market::plant(stack.store.as_ref(), &client, ctx).await;
    m.lists(&[(1, json!(10)), (2, json!(20))]);
    let now = OffsetDateTime::now_utc();
    let published = m.race_two_runners(stack.ctx.worker.clone(), now).await;
    assert_eq!(published, 2);
    let poll = poll_of(stack.store.as_ref(), &m.connection, "orders").await;
    assert_eq!((&poll.cursor, poll.published), (&Some(json!(2)), 2));
    assert_eq!(poll.lease_until, None);
    assert_eq!(poll.next_run_at, now + time::Duration::seconds(60));

    // Due again: the same list publishes nothing, even with the cursor lost.
    let mut fresh = poll;
    (fresh.cursor, fresh.seen) = (None, Vec::new());
    stack.store.put_poll(&fresh).await.expect("put poll");
    let again = run_due_polls(&m.ctx, now + time::Duration::seconds(61), 10)
        .await
        .expect("run");
    assert_eq!((again.ran, again.published), (1, 0));
    let queued = stack
        .queue
        .depth(QueueName::Events)
        .await
        .expect("the events queue's depth");
    assert_eq!(queued, 2, "two events queued in all");
}
