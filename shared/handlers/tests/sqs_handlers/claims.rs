//! Claims: a new delivery's message carries it, a repeat of a message sends nothing twice, a
//! message waits while another worker holds the delivery; and on the local runner's store,
//! which holds the first claims of the deliveries it inserts in memory, the same, with the
//! claim's write saved.

use std::collections::BTreeSet;
use std::time::Duration;

use hookline_domain::{Delivery, DeliveryStatus};
use hookline_handlers::messages::{DeliveryMessage, to_body};
use hookline_ports::faults::{Fault, Faults};
use hookline_ports::{QueueMessage, QueueName, ReceivedMessage};
use time::OffsetDateTime;

use crate::support::hub::*;

/// A repeat of a delivered message (SQS delivers at least once): resends it as it was.
async fn repeat(hub: &Hub, message: &ReceivedMessage) -> Vec<ReceivedMessage> {
    hub.queue
        .send(
            QueueName::Deliveries,
            vec![QueueMessage::now(message.body.clone())],
        )
        .await
        .expect("send");
    hub.receive_exactly(QueueName::Deliveries, 1).await
}

/// Checks that a finished delivery is not sent again: its receiver got one request, and the
/// stored delivery is still `delivered`.
async fn sent_once_and_left_as(hub: &Hub, one: &OneDelivery, delivered: &Delivery) {
    assert_eq!(
        one.receiver.count(),
        1,
        "a finished delivery is not sent again"
    );
    assert_eq!(&hub.delivery(&one.id).await, delivered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deliverys_message_carries_it_and_a_repeat_of_it_sends_nothing() {
    let hub = hub().await;
    let one = hub.fanned_out_delivery().await;
    let msg: DeliveryMessage = serde_json::from_str(&one.batch[0].body).expect("a message body");
    assert_eq!(
        msg.created_delivery().as_ref(),
        Some(&hub.delivery(&one.id).await),
        "the message carries the delivery exactly as stored"
    );

    hub.deliver_done(&one.batch).await;
    assert_eq!(one.receiver.count(), 1);
    let delivered = hub.delivery(&one.id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);

    // Its copy is stale now: the claim over version 0 fails, the stored delivery is read,
    // and the message is acknowledged without a second request.
    let again = repeat(&hub, &one.batch[0]).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    sent_once_and_left_as(&hub, &one, &delivered).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_deliverys_message_waits_while_another_worker_holds_the_delivery() {
    let hub = hub().await;
    let one = hub.fanned_out_delivery().await;
    // Another worker (a repeat of this message, a manual retry) claimed it first.
    let mut held = hub.delivery(&one.id).await;
    held.next_attempt_at = Some(OffsetDateTime::now_utc() + Duration::from_secs(60));
    assert!(hub.store.update_delivery(&held).await.expect("claim"));
    let held = hub.delivery(&one.id).await;

    let response = hub.deliver(&one.batch).await;
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([one.batch[0].message_id.clone()]),
        "left in the queue for when the claim ends"
    );
    assert_eq!(
        one.receiver.count(),
        0,
        "never sent beside the worker holding it"
    );
    assert_eq!(hub.delivery(&one.id).await, held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_message_of_a_finished_delivery_whose_subscription_went_is_acknowledged() {
    let hub = hub().await;
    let one = hub.fanned_out_delivery().await;
    let response = hub.deliver(&one.batch).await;
    hub.acknowledge(QueueName::Deliveries, &one.batch, &response)
        .await;
    let delivered = hub.delivery(&one.id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    hub.store
        .delete_subscription(&one.sub.id)
        .await
        .expect("delete subscription");

    // Ending a delivery is decided on the stored copy, which is finished: nothing changes,
    // and the message does not come back forever.
    let again = repeat(&hub, &one.batch[0]).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    sent_once_and_left_as(&hub, &one, &delivered).await;
}

/// A hub whose store holds claims in memory (the local runner's), the faults of its
/// handlers' ports, and one delivery it fanned out, not attempted yet.
async fn one_delivery_holding_claims_in_memory() -> (Hub, Faults, OneDelivery) {
    let faults = Faults::default();
    let hub = hub_holding_claims_in_memory(&faults).await;
    let one = hub.fanned_out_delivery().await;
    (hub, faults, one)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_held_in_memory_sends_a_fresh_delivery_once_and_ends_as_a_written_one() {
    let (hub, _, one) = one_delivery_holding_claims_in_memory().await;
    assert_eq!(
        hub.embedded.claims_in_memory(),
        1,
        "fan-out's insert is remembered"
    );

    // The creation message and a repeat of it, attempted side by side.
    let twin = repeat(&hub, &one.batch[0]).await;
    let both = [one.batch[0].clone(), twin[0].clone()];
    let response = hub.deliver(&both).await;
    assert_eq!(one.receiver.count(), 1, "sent once, whichever came first");
    let delivered = hub.delivery(&one.id).await;
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    assert_eq!(
        delivered.version, 2,
        "the version a written claim and the outcome give, though only the outcome was written"
    );
    assert_eq!(hub.embedded.claims_in_memory(), 0, "and the claim ended");

    // A message left waiting (it found the attempt under way) now finds the delivery done.
    let waiting: Vec<ReceivedMessage> = both
        .iter()
        .filter(|m| failed_ids(&response).contains(&m.message_id))
        .cloned()
        .collect();
    assert!(waiting.len() <= 1, "{response:?}");
    if !waiting.is_empty() {
        let again = hub.receive_at_least(QueueName::Deliveries, 1).await;
        let response = hub.deliver(&again).await;
        assert!(failed_ids(&response).is_empty(), "{response:?}");
    }
    sent_once_and_left_as(&hub, &one, &delivered).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_held_in_memory_holds_off_a_message_that_came_first_by_id() {
    let (hub, _, one) = one_delivery_holding_claims_in_memory().await;
    // A message naming the delivery (as a fan-out re-run queues) is attempted first, from the
    // stored copy: it claims, so the creation message, which comes later, sends nothing.
    hub.queue
        .send(
            QueueName::Deliveries,
            vec![QueueMessage::now(to_body(&DeliveryMessage::id(&one.id)))],
        )
        .await
        .expect("send");
    let by_id = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&by_id).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(one.receiver.count(), 1);
    assert_eq!(
        hub.delivery(&one.id).await.version,
        2,
        "claimed, then recorded"
    );

    let response = hub.deliver(&one.batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(one.receiver.count(), 1, "the creation message sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_ends_unattempted_leaves_nothing_in_memory() {
    let (hub, _, one) = one_delivery_holding_claims_in_memory().await;
    assert_eq!(hub.embedded.claims_in_memory(), 1);
    hub.store
        .delete_subscription(&one.sub.id)
        .await
        .expect("delete subscription");

    // The subscription went while the delivery waited: it is abandoned, never sent.
    let response = hub.deliver(&one.batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(one.receiver.count(), 0);
    assert_eq!(
        hub.embedded.claims_in_memory(),
        0,
        "the abandoning write ended what was remembered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_lost_after_a_claim_held_in_memory_is_on_record_before_the_next_attempt() {
    let (hub, faults, one) = one_delivery_holding_claims_in_memory().await;
    // The outcome's write fails: the request went out, nothing of it is stored.
    faults.inject("update_delivery", Fault::Fail, 0, 1);
    let response = hub.deliver(&one.batch).await;
    assert_eq!(one.receiver.count(), 1);
    assert_eq!(
        failed_ids(&response),
        BTreeSet::from([one.batch[0].message_id.clone()]),
        "the message stays"
    );
    // The message comes back after the claim's lease.
    hub.clock.advance(Duration::from_secs(60));
    // Its copy claims over the version before the lost claim, which is written now: the copy
    // is stale, and the attempt goes on from the stored delivery.
    let again = repeat(&hub, &one.batch[0]).await;
    let response = hub.deliver(&again).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    let delivered = hub.delivery(&one.id).await;
    assert_eq!(one.receiver.count(), 2, "sent again, once");
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    assert_eq!(delivered.attempt_count(), 2);
    assert!(
        delivered.attempts[0].error.is_some(),
        "the lost attempt is on record, saying why a second request went out: {delivered:?}"
    );
}
