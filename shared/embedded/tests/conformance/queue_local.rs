//! Queue behaviour the embedded backend promises beyond the portable suite.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_embedded::QueueOptions;
use hookline_ports::{Queue, QueueMessage, QueueName};

use crate::fresh;

const LONG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receivers_never_get_the_same_message_twice() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue: Arc<dyn Queue> = backend.queue();
    let total = 600;
    let msgs = (0..total)
        .map(|i| QueueMessage::now(format!("{{\"n\":{i}}}")))
        .collect();
    queue.send(QueueName::Deliveries, msgs).await.expect("send");
    let mut receivers = Vec::new();
    for _ in 0..8 {
        let queue = Arc::clone(&queue);
        receivers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let got = queue
                    .receive(QueueName::Deliveries, 10, Duration::from_millis(50), LONG)
                    .await
                    .expect("receive");
                if got.is_empty() {
                    return ids;
                }
                ids.extend(got.into_iter().map(|m| m.message_id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut count = 0;
    for r in receivers {
        for id in r.await.expect("receiver task") {
            count += 1;
            assert!(
                seen.insert(id),
                "a message was handed to two receivers within its visibility"
            );
        }
    }
    assert_eq!(count, total, "every message must be received once");
}

#[tokio::test]
async fn stale_receipt_handles_change_nothing() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue = backend.queue();
    let q = QueueName::Events;
    queue
        .send(q, vec![QueueMessage::now("{}".into())])
        .await
        .expect("send");
    let first = queue
        .receive(q, 1, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    let second = queue
        .receive(q, 1, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    let (h1, h2) = (&first[0].receipt_handle, &second[0].receipt_handle);

    queue
        .delete(q, vec![h1.clone(), "never-issued".into()])
        .await
        .expect("delete (stale)");
    assert_eq!(
        queue.depth(q).await.expect("depth"),
        1,
        "a stale handle must not delete"
    );
    queue
        .change_visibility(q, h1, LONG)
        .await
        .expect("change_visibility (stale)");
    let third = queue
        .receive(q, 1, Duration::ZERO, LONG)
        .await
        .expect("receive");
    assert_eq!(third.len(), 1, "a stale handle must not hide the message");
    assert_eq!(third[0].receive_count, 3);
    queue
        .delete(q, vec![h2.clone()])
        .await
        .expect("delete (stale)");
    assert_eq!(queue.depth(q).await.expect("depth"), 1);
    queue
        .delete(q, vec![third[0].receipt_handle.clone()])
        .await
        .expect("delete");
    assert_eq!(queue.depth(q).await.expect("depth"), 0);
}

#[tokio::test]
async fn delays_and_visibility_have_millisecond_precision() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue = backend.queue();
    let q = QueueName::Deliveries;
    let t0 = Instant::now();
    let delayed = QueueMessage {
        body: "{}".into(),
        delay: Duration::from_millis(250),
    };
    queue.send(q, vec![delayed]).await.expect("send");
    let got = queue
        .receive(q, 1, Duration::from_secs(3), Duration::from_millis(200))
        .await
        .expect("receive");
    let waited = t0.elapsed();
    assert_eq!(got.len(), 1);
    assert!(
        waited >= Duration::from_millis(250),
        "delivered after {waited:?}, before its delay"
    );
    assert!(
        waited < Duration::from_secs(3),
        "a 250 ms delay took {waited:?}"
    );

    let t1 = Instant::now();
    let again = queue
        .receive(q, 1, Duration::from_secs(3), LONG)
        .await
        .expect("receive");
    let waited = t1.elapsed();
    assert_eq!(again.len(), 1);
    assert!(
        waited < Duration::from_secs(3),
        "a 200 ms visibility timeout took {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_receives_take_messages_that_become_visible_one_by_one() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue: Arc<dyn Queue> = backend.queue();
    let q = QueueName::Deliveries;
    // Messages due over the next second, each alone (as a busy worker's postponements).
    let total = 20u64;
    let t0 = Instant::now();
    for i in 0..total {
        let message = QueueMessage {
            body: format!("{{\"due_ms\":{}}}", i * 50),
            delay: Duration::from_millis(i * 50),
        };
        queue.send(q, vec![message]).await.expect("send");
    }
    let mut receivers = Vec::new();
    for _ in 0..4 {
        let queue = Arc::clone(&queue);
        receivers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = queue
                    .receive(q, 10, Duration::from_millis(1_500), LONG)
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    return got;
                }
                let at = t0.elapsed();
                got.extend(batch.into_iter().map(|m| (m.body, at)));
            }
        }));
    }
    let mut seen = HashSet::new();
    for r in receivers {
        for (body, at) in r.await.expect("receiver task") {
            let due: serde_json::Value = serde_json::from_str(&body).expect("body");
            let due = Duration::from_millis(due["due_ms"].as_u64().expect("due"));
            assert!(
                at + Duration::from_millis(5) >= due,
                "{body} received at {at:?}, before it was due"
            );
            // One receive naps until each message is due; the others look again within the
            // re-check interval anyway. Nothing waits for the long poll to run out.
            assert!(
                at < due + Duration::from_millis(1_000),
                "{body} waited until {at:?}"
            );
            assert!(seen.insert(body), "received twice");
        }
    }
    assert_eq!(seen.len() as u64, total, "every message is received");
}

#[tokio::test]
async fn a_receive_skips_dead_letters_and_still_fills_its_batch() {
    let opts = QueueOptions {
        max_receives_events: 1,
        max_receives_deliveries: 1,
    };
    let (_dir, backend) = fresh(opts);
    let queue = backend.queue();
    let q = QueueName::Events;
    let first: Vec<QueueMessage> = (0..3)
        .map(|i| QueueMessage::now(format!("{{\"old\":{i}}}")))
        .collect();
    queue.send(q, first).await.expect("send");
    let got = queue
        .receive(q, 10, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    assert_eq!(got.len(), 3);
    let fresh_msgs: Vec<QueueMessage> = (0..2)
        .map(|i| QueueMessage::now(format!("{{\"new\":{i}}}")))
        .collect();
    queue.send(q, fresh_msgs).await.expect("send");
    // The three old ones are now poison and sort first: they move, the two new ones come back.
    let got = queue
        .receive(q, 10, Duration::ZERO, LONG)
        .await
        .expect("receive");
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["{\"new\":0}", "{\"new\":1}"]);
    assert_eq!(queue.depth(QueueName::EventsDlq).await.expect("depth"), 3);
}

#[tokio::test]
async fn a_waiting_dlq_receive_wakes_when_a_message_is_moved() {
    let opts = QueueOptions {
        max_receives_events: 1,
        max_receives_deliveries: 1,
    };
    let (_dir, backend) = fresh(opts);
    let queue = backend.queue();
    queue
        .send(QueueName::Deliveries, vec![QueueMessage::now("{}".into())])
        .await
        .expect("send");
    queue
        .receive(QueueName::Deliveries, 1, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    let waiter = {
        let queue = backend.queue();
        tokio::spawn(async move {
            queue
                .receive(QueueName::DeliveriesDlq, 10, Duration::from_secs(10), LONG)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t0 = Instant::now();
    let moved = queue
        .receive(QueueName::Deliveries, 1, Duration::ZERO, LONG)
        .await
        .expect("receive");
    assert!(moved.is_empty());
    let dead = waiter.await.expect("waiter").expect("receive from the DLQ");
    assert_eq!(dead.len(), 1);
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn empty_batches_and_out_of_range_arguments_are_harmless() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue = backend.queue();
    let q = QueueName::Events;
    queue.send(q, Vec::new()).await.expect("send of nothing");
    queue
        .delete(q, Vec::new())
        .await
        .expect("delete of nothing");
    let msgs = (0..12).map(|i| QueueMessage::now(format!("{i}"))).collect();
    queue.send(q, msgs).await.expect("send");
    let got = queue
        .receive(q, 0, Duration::ZERO, LONG)
        .await
        .expect("receive(max 0)");
    assert_eq!(got.len(), 1, "max 0 is read as 1");
    let got = queue
        .receive(q, 500, Duration::ZERO, Duration::MAX)
        .await
        .expect("receive(max 500)");
    assert_eq!(got.len(), 10, "max is capped at 10, as in SQS");
    let long = QueueMessage {
        body: "{}".into(),
        delay: Duration::MAX,
    };
    queue
        .send(q, vec![long])
        .await
        .expect("send with a huge delay");
    assert_eq!(queue.depth(q).await.expect("depth"), 13);
}

/// Not a check: prints how many messages per second go through send → receive → delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture (best with --release)"]
async fn queue_throughput() {
    let (_dir, backend) = fresh(QueueOptions::default());
    let queue = backend.queue();
    let total: usize = 20_000;
    let t0 = Instant::now();
    for chunk in 0..total / 10 {
        let msgs = (0..10)
            .map(|i| QueueMessage::now(format!("{{\"n\":{}}}", chunk * 10 + i)))
            .collect();
        queue.send(QueueName::Deliveries, msgs).await.expect("send");
    }
    let sent = t0.elapsed();
    let t1 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let queue = backend.queue();
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            loop {
                let got = queue
                    .receive(QueueName::Deliveries, 10, Duration::ZERO, LONG)
                    .await
                    .expect("receive");
                if got.is_empty() {
                    return n;
                }
                n += got.len();
                let handles = got.into_iter().map(|m| m.receipt_handle).collect();
                queue
                    .delete(QueueName::Deliveries, handles)
                    .await
                    .expect("delete");
            }
        }));
    }
    let mut done = 0;
    for w in workers {
        done += w.await.expect("worker");
    }
    let drained = t1.elapsed();
    assert_eq!(done, total);
    println!(
        "send: {:.0} msg/s in batches of 10; receive+delete: {:.0} msg/s with 4 consumers",
        total as f64 / sent.as_secs_f64(),
        total as f64 / drained.as_secs_f64()
    );
}
