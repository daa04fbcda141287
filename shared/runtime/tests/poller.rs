//! The queue pollers that stand in for Lambda's SQS event source mapping, over the embedded
//! queue in a temporary directory: what they delete, what they leave, and that one hanging
//! message holds back nothing else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_ports::{Queue, QueueMessage, QueueName};
use hookline_runtime::worker::{PollerConfig, run_message_poller, run_poller};
use tempfile::TempDir;
use tokio::sync::watch;

/// How long any awaited condition may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// An embedded queue, open for as long as its directory lives.
struct Hub {
    queue: Arc<dyn Queue>,
    _dir: TempDir,
}

impl Hub {
    async fn depth(&self, queue: QueueName) -> u64 {
        self.queue.depth(queue).await.expect("depth")
    }
}

async fn hub() -> Hub {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("the open's task")
            .expect("the embedded backend");
    Hub {
        queue: backend.queue(),
        _dir: dir,
    }
}

/// Waits until `check` holds; the test fails after [`PATIENCE`].
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert!(waited.await.is_ok(), "timed out waiting until {what}");
}

/// What a poller's handler saw of each message: (receive count, when), in order.
type Sightings = Arc<Mutex<HashMap<String, Vec<(u32, Instant)>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poller_deletes_successes_and_leaves_failures() {
    let hub = hub().await;
    let visibility = Duration::from_secs(1);
    let seen: Sightings = Arc::default();
    // Fails the odd-numbered messages until released.
    let release = Arc::new(AtomicBool::new(false));
    let handler = {
        let (seen, release) = (seen.clone(), release.clone());
        move |event: SqsEvent| {
            let (seen, release) = (seen.clone(), release.clone());
            async move {
                let mut response = SqsBatchResponse::default();
                for record in event.records {
                    let id = record.message_id.unwrap_or_default();
                    let count = record.attributes.get("ApproximateReceiveCount");
                    let count = count.and_then(|c| c.parse().ok()).unwrap_or(0);
                    let body: serde_json::Value =
                        serde_json::from_str(record.body.as_deref().unwrap_or(""))
                            .unwrap_or_default();
                    let odd = body["n"].as_u64().is_some_and(|n| n % 2 == 1);
                    let mut seen = seen.lock().expect("sightings");
                    seen.entry(id.clone())
                        .or_default()
                        .push((count, Instant::now()));
                    if odd && !release.load(Ordering::SeqCst) {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = id;
                        response.batch_item_failures.push(failure);
                    }
                }
                response
            }
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let config = PollerConfig {
        queue: QueueName::Deliveries,
        batch_size: 10,
        wait: Duration::from_millis(200),
        visibility,
        concurrency: 2,
    };
    let poller = tokio::spawn(run_poller(hub.queue.clone(), config, handler, shutdown));

    let messages = (0..6)
        .map(|n| QueueMessage::now(format!("{{\"n\":{n}}}")))
        .collect();
    hub.queue
        .send(QueueName::Deliveries, messages)
        .await
        .expect("send");
    let count_seen = || seen.lock().expect("sightings").len();
    eventually("every message was handled", async || count_seen() == 6).await;
    eventually("the successes were deleted", async || {
        hub.depth(QueueName::Deliveries).await == 3
    })
    .await;
    let failed_back = || {
        let seen = seen.lock().expect("sightings");
        seen.values().filter(|s| s.len() >= 2).count() == 3
    };
    eventually("the failures came back", async || failed_back()).await;
    {
        let seen = seen.lock().expect("sightings");
        for sightings in seen.values().filter(|s| s.len() >= 2) {
            let (first, second) = (sightings[0], sightings[1]);
            assert_eq!((first.0, second.0), (1, 2), "receive counts");
            let gap = second.1 - first.1;
            assert!(gap >= visibility.mul_f64(0.9), "came back after {gap:?}");
        }
        let once = seen.values().filter(|s| s.len() == 1).count();
        assert_eq!(once, 3, "each success was handled once and deleted");
    }

    release.store(true, Ordering::SeqCst);
    eventually("the failures succeeded on a later receive", async || {
        hub.depth(QueueName::Deliveries).await == 0
    })
    .await;
    stop.send(true).expect("the poller listens");
    let finished = tokio::time::timeout(PATIENCE, poller).await;
    finished
        .expect("the poller stops after shutdown")
        .expect("the poller did not panic");
    let once = seen.lock().expect("sightings");
    assert_eq!(once.values().filter(|s| s.len() == 1).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_poller_lets_no_hanging_message_hold_back_the_others() {
    let hub = hub().await;
    let done: Arc<Mutex<Vec<u64>>> = Arc::default();
    let prepared = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Message 0 hangs (as a receiver that never answers); the others finish at once.
    let handler = {
        let done = done.clone();
        move |batch_no: usize, event: SqsEvent| {
            let done = done.clone();
            async move {
                assert!(batch_no >= 1, "prepared once per received batch");
                assert_eq!(event.records.len(), 1, "one message per call");
                let body: serde_json::Value =
                    serde_json::from_str(event.records[0].body.as_deref().unwrap_or(""))
                        .unwrap_or_default();
                let n = body["n"].as_u64().unwrap_or(u64::MAX);
                if n == 0 {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                done.lock().expect("done").push(n);
                SqsBatchResponse::default()
            }
        }
    };
    let prepare = {
        let prepared = prepared.clone();
        move || {
            let prepared = prepared.clone();
            async move { Some(prepared.fetch_add(1, Ordering::SeqCst) + 1) }
        }
    };
    let (_stop, shutdown) = watch::channel(false);
    let config = PollerConfig {
        queue: QueueName::Deliveries,
        batch_size: 10,
        wait: Duration::from_millis(200),
        visibility: Duration::from_secs(30),
        concurrency: 1,
    };
    // Two slots: the hanging message holds one, and everything else flows through the other.
    tokio::spawn(run_message_poller(
        hub.queue.clone(),
        config,
        2,
        prepare,
        handler,
        shutdown,
    ));
    let messages = (0..25)
        .map(|n| QueueMessage::now(format!("{{\"n\":{n}}}")))
        .collect();
    hub.queue
        .send(QueueName::Deliveries, messages)
        .await
        .expect("send");
    eventually(
        "every message but the hanging one was handled",
        async || done.lock().expect("done").len() == 24,
    )
    .await;
    eventually("and deleted, the hanging one left in flight", async || {
        hub.depth(QueueName::Deliveries).await == 1
    })
    .await;
    assert!(!done.lock().expect("done").contains(&0));
}
