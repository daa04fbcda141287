//! Conformance: the queues' SQS semantics — batches, visibility timeout, receive count,
//! change-visibility, stale receipt handles, delay, long polling and redrive.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Run, both, now_ms};
use crate::queue::{Queue, QueueMessage, QueueName, ReceivedMessage};

const SEC: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(30);

/// Runs every queue check. `max_receives_events` and `max_receives_deliveries` are the
/// backend's redrive settings (receives before the next one moves a message to the DLQ).
///
/// The four queues must be the suite's own and start empty; they are left empty.
pub async fn queue_suite(
    queue: &dyn Queue,
    max_receives_events: u32,
    max_receives_deliveries: u32,
) {
    let run = Run::new();
    for q in QueueName::ALL {
        let n = queue.depth(q).await.expect("depth");
        assert_eq!(
            n,
            0,
            "the queue suite needs empty queues of its own; {} holds {n}",
            q.as_str()
        );
    }
    batches(queue, &run).await;
    visibility(queue, &run).await;
    delay(queue, &run).await;
    long_poll(queue, &run).await;
    redrive(queue, &run, QueueName::Events, max_receives_events).await;
    redrive(queue, &run, QueueName::Deliveries, max_receives_deliveries).await;
    for q in QueueName::ALL {
        depth_becomes(queue, q, 0, "at the end of the suite").await;
    }
}

fn body(run: &Run, what: &str, n: usize) -> String {
    json!({"run": run.tag, "what": what, "n": n}).to_string()
}

async fn receive(
    queue: &dyn Queue,
    q: QueueName,
    max: usize,
    wait: Duration,
    visibility: Duration,
) -> Vec<ReceivedMessage> {
    let got = queue
        .receive(q, max, wait, visibility)
        .await
        .expect("receive");
    assert!(
        got.len() <= max,
        "receive(max = {max}) returned {} messages",
        got.len()
    );
    got
}

/// Receives exactly one message, waiting up to 5 s for it.
async fn receive_one(
    queue: &dyn Queue,
    q: QueueName,
    visibility: Duration,
    what: &str,
) -> ReceivedMessage {
    let mut got = receive(queue, q, 1, Duration::from_secs(5), visibility).await;
    assert_eq!(
        got.len(),
        1,
        "{what}: expected one message from {}",
        q.as_str()
    );
    got.remove(0)
}

/// Waits (up to 10 s, for backends whose depth is approximate) until `depth(q) == n`.
async fn depth_becomes(queue: &dyn Queue, q: QueueName, n: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = queue.depth(q).await.expect("depth");
        if d == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: depth of {} is {d}, expected {n}",
            q.as_str()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A batch larger than 10 goes in one call and comes out whole, each message once.
async fn batches(queue: &dyn Queue, run: &Run) {
    let q = QueueName::Events;
    let bodies: Vec<String> = (0..12).map(|n| body(run, "batch", n)).collect();
    let t0 = now_ms();
    let msgs = bodies.iter().cloned().map(QueueMessage::now).collect();
    queue.send(q, msgs).await.expect("send of a batch of 12");
    let t1 = now_ms();
    depth_becomes(queue, q, 12, "after sending 12").await;

    let mut got = receive(queue, q, 2, SEC, LONG).await;
    assert!(!got.is_empty(), "receive must return visible messages");
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < bodies.len() && Instant::now() < deadline {
        got.extend(receive(queue, q, 10, SEC, LONG).await);
    }
    let sent: HashSet<&String> = bodies.iter().collect();
    let received: HashSet<&String> = got.iter().map(|m| &m.body).collect();
    assert_eq!(
        got.len(),
        bodies.len(),
        "every message must be received exactly once while hidden"
    );
    assert_eq!(received, sent, "received bodies must be the sent bodies");
    let ids: HashSet<&String> = got.iter().map(|m| &m.message_id).collect();
    assert_eq!(ids.len(), got.len(), "message ids must be distinct");
    for m in &got {
        assert_eq!(
            m.receive_count, 1,
            "a first receive must have receive_count 1"
        );
        let (lo, hi) = (t0 - 5_000, t1 + 5_000);
        let sent_at = i128::from(m.sent_at_ms);
        assert!(
            sent_at >= lo && sent_at <= hi,
            "sent_at_ms {sent_at} is not the send time (~{t0})"
        );
    }
    assert!(
        receive(queue, q, 10, Duration::ZERO, LONG).await.is_empty(),
        "messages in flight must be hidden"
    );
    depth_becomes(queue, q, 12, "messages in flight still count").await;
    queue
        .delete(q, got.into_iter().map(|m| m.receipt_handle).collect())
        .await
        .expect("delete of 12 handles");
    depth_becomes(queue, q, 0, "after deleting every message").await;
}

/// Visibility timeout, receive count, change-visibility, stale receipt handles.
async fn visibility(queue: &dyn Queue, run: &Run) {
    let q = QueueName::Deliveries;
    queue
        .send(q, vec![QueueMessage::now(body(run, "visibility", 0))])
        .await
        .expect("send");
    let t0 = Instant::now();
    let r1 = receive_one(queue, q, SEC, "first receive").await;
    assert_eq!(r1.receive_count, 1);
    assert!(
        receive(queue, q, 10, Duration::ZERO, LONG).await.is_empty(),
        "a received message must be hidden for its visibility timeout"
    );
    let r2 = receive_one(queue, q, LONG, "receive after the visibility timeout").await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "the message came back after {waited:?}, before its 1 s visibility timeout"
    );
    assert!(
        waited < Duration::from_secs(4),
        "the message came back only after {waited:?}, long after its 1 s visibility timeout"
    );
    assert_eq!(
        r2.message_id, r1.message_id,
        "the same message must come back"
    );
    assert_eq!(r2.body, r1.body);
    assert_eq!(
        r2.receive_count, 2,
        "the receive count must count every receive"
    );
    assert_ne!(
        r2.receipt_handle, r1.receipt_handle,
        "every receive must give a new receipt handle"
    );

    // Visibility 0 shows it at once.
    queue
        .change_visibility(q, &r2.receipt_handle, Duration::ZERO)
        .await
        .expect("change_visibility to 0");
    let r3 = receive(queue, q, 1, SEC, Duration::ZERO).await;
    assert_eq!(
        r3.len(),
        1,
        "change_visibility(0) must make the message visible at once"
    );
    let r3 = &r3[0];
    assert_eq!(
        (r3.message_id.as_str(), r3.receive_count),
        (r1.message_id.as_str(), 3)
    );
    // A longer visibility hides it (it was received with visibility 0, so it was visible).
    queue
        .change_visibility(q, &r3.receipt_handle, LONG)
        .await
        .expect("change_visibility to 30 s");
    assert!(
        receive(queue, q, 10, Duration::ZERO, LONG).await.is_empty(),
        "change_visibility(30 s) must hide the message"
    );
    depth_becomes(queue, q, 1, "a hidden message still counts").await;

    // Handles of earlier receives are stale: using them is not an error.
    queue
        .change_visibility(q, &r1.receipt_handle, Duration::ZERO)
        .await
        .expect("change_visibility with a stale handle must not fail");
    queue
        .delete(q, vec![r2.receipt_handle.clone()])
        .await
        .expect("delete with a stale handle must not fail");
    queue
        .delete(q, vec![r3.receipt_handle.clone()])
        .await
        .expect("delete with the current handle");
    depth_becomes(queue, q, 0, "after deleting with the current handle").await;
    queue
        .delete(q, vec![r3.receipt_handle.clone()])
        .await
        .expect("deleting a deleted message must not fail");
    queue
        .change_visibility(q, &r3.receipt_handle, Duration::ZERO)
        .await
        .expect("change_visibility of a deleted message must not fail");
}

/// A delayed message stays invisible for its delay.
async fn delay(queue: &dyn Queue, run: &Run) {
    let q = QueueName::Events;
    let t0 = Instant::now();
    let m = QueueMessage {
        body: body(run, "delay", 0),
        delay: SEC,
    };
    queue
        .send(q, vec![m.clone()])
        .await
        .expect("send with delay");
    assert!(
        receive(queue, q, 10, Duration::ZERO, LONG).await.is_empty(),
        "a delayed message must not be visible before its delay"
    );
    depth_becomes(queue, q, 1, "a delayed message counts").await;
    let r = receive_one(queue, q, LONG, "receive of a delayed message").await;
    let waited = t0.elapsed();
    assert_eq!(r.body, m.body);
    assert!(
        waited >= Duration::from_millis(900),
        "a 1 s delay ended after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "a 1 s delay ended only after {waited:?}"
    );
    queue
        .delete(q, vec![r.receipt_handle])
        .await
        .expect("delete");
}

/// A waiting receive returns as soon as a message arrives, and waits when none does.
async fn long_poll(queue: &dyn Queue, run: &Run) {
    let q = QueueName::Deliveries;
    let t0 = Instant::now();
    let empty = receive(queue, q, 10, SEC, LONG).await;
    let waited = t0.elapsed();
    assert!(empty.is_empty());
    assert!(
        waited >= Duration::from_millis(900),
        "receive(wait = 1 s) on an empty queue returned after {waited:?}"
    );

    let b = body(run, "long poll", 0);
    let t0 = Instant::now();
    let (got, sent) = both(
        receive(queue, q, 10, Duration::from_secs(10), LONG),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            queue.send(q, vec![QueueMessage::now(b.clone())]).await
        },
    )
    .await;
    sent.expect("send during a long poll");
    let waited = t0.elapsed();
    assert_eq!(
        got.iter().map(|m| &m.body).collect::<Vec<_>>(),
        vec![&b],
        "a long poll must return the message sent while it waits"
    );
    assert!(
        waited < Duration::from_secs(5),
        "a long poll returned {waited:?} after it began, not when the message arrived"
    );
    queue
        .delete(q, got.into_iter().map(|m| m.receipt_handle).collect())
        .await
        .expect("delete");
}

/// After `max_receives` receives, the next receive moves the message to the DLQ.
async fn redrive(queue: &dyn Queue, run: &Run, q: QueueName, max_receives: u32) {
    let Some(dlq) = q.dlq() else {
        panic!("{} has no dead-letter queue", q.as_str());
    };
    let b = body(run, "redrive", 0);
    queue
        .send(q, vec![QueueMessage::now(b.clone())])
        .await
        .expect("send");
    let mut id = None;
    for i in 1..=max_receives {
        let r = receive_one(queue, q, Duration::ZERO, "receive before redrive").await;
        assert_eq!(
            r.receive_count,
            i,
            "receive {i} of {max_receives} on {} has the wrong receive count",
            q.as_str()
        );
        assert_eq!(r.body, b);
        id.get_or_insert(r.message_id);
    }
    let more = receive(queue, q, 10, Duration::ZERO, Duration::ZERO).await;
    assert!(
        more.is_empty(),
        "receive {} on {} must move the message to the DLQ, not return it",
        max_receives + 1,
        q.as_str()
    );
    let dead = receive_one(queue, dlq, LONG, "receive from the DLQ").await;
    assert_eq!(
        Some(&dead.message_id),
        id.as_ref(),
        "the DLQ must hold the same message"
    );
    assert_eq!(dead.body, b, "the DLQ must hold the message's body");
    depth_becomes(queue, q, 0, "the source queue after redrive").await;
    depth_becomes(queue, dlq, 1, "the DLQ after redrive").await;
    queue
        .delete(dlq, vec![dead.receipt_handle])
        .await
        .expect("delete from the DLQ");
}
