//! The queue poller that stands in for Lambda's SQS event source mapping wherever there is no
//! Lambda (the local runner, on the embedded queue or on SQS): receive a batch, hand it to a
//! handler as an `SqsEvent` (made by `hookline_handlers::sqs_event`), delete what succeeded,
//! leave the reported failures.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_handlers::sqs_event::{to_sqs_event, to_sqs_message};
use hookline_ports::{QueueConsumer, QueueName, ReceivedMessage};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a poller receives.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// The queue.
    pub queue: QueueName,
    /// Messages per batch (1–10).
    pub batch_size: usize,
    /// Long-poll wait.
    pub wait: Duration,
    /// Visibility timeout of received messages.
    pub visibility: Duration,
    /// Concurrent receive loops.
    pub concurrency: usize,
}

/// One receive of up to `max` messages; after a failure (logged), a pause and nothing.
async fn receive(
    queue: &dyn QueueConsumer,
    config: &PollerConfig,
    max: usize,
) -> Vec<ReceivedMessage> {
    // Not raced against shutdown: a receive cancelled half-way would hide messages for a
    // whole visibility timeout. The wait is short, so shutdown is prompt.
    match queue
        .receive(config.queue, max, config.wait, config.visibility)
        .await
    {
        Ok(messages) => messages,
        Err(e) => {
            tracing::error!(error = %e, queue = config.queue.as_str(), "poller: receive failed");
            tokio::time::sleep(Duration::from_millis(500)).await;
            Vec::new()
        }
    }
}

/// Runs `concurrency` receive loops until `shutdown` turns true; a batch being handled when
/// it does is finished (its messages deleted or left) before the loop ends. Keep
/// `config.wait` short (about a second): it bounds how long shutdown waits for a receive.
pub async fn run_poller<H, F>(
    queue: Arc<dyn QueueConsumer>,
    config: PollerConfig,
    handler: H,
    shutdown: watch::Receiver<bool>,
) where
    H: Fn(SqsEvent) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = SqsBatchResponse> + Send + 'static,
{
    let mut loops = JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let queue = queue.clone();
        let config = config.clone();
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        loops.spawn(async move {
            while !*shutdown.borrow() {
                let messages = receive(queue.as_ref(), &config, config.batch_size).await;
                if messages.is_empty() {
                    continue;
                }
                let response = handler(to_sqs_event(config.queue, &messages)).await;
                let failed: Vec<&str> = response
                    .batch_item_failures
                    .iter()
                    .map(|f| f.item_identifier.as_str())
                    .collect();
                let done: Vec<String> = messages
                    .iter()
                    .filter(|m| !failed.contains(&m.message_id.as_str()))
                    .map(|m| m.receipt_handle.clone())
                    .collect();
                if !done.is_empty()
                    && let Err(e) = queue.delete(config.queue, done).await
                {
                    tracing::error!(error = %e, queue = config.queue.as_str(), "poller: delete failed; messages will be redelivered");
                }
            }
        });
    }
    while loops.join_next().await.is_some() {}
}

/// Runs receive loops that hand every message to `handler` on its own task (as a one-record
/// batch, with what `prepare` made for the batch it came in) and delete it as soon as that one
/// finishes, with at most `in_flight` messages being handled at once. Where `run_poller` waits for a whole batch — as Lambda's event source
/// mapping does — this one lets a receiver that hangs until its timeout hold only its own
/// message: the local runner's delivery worker uses it so that one dead endpoint cannot stall
/// the others. On shutdown, the receive loops stop and the messages in flight are finished.
pub async fn run_message_poller<P, PF, T, H, F>(
    queue: Arc<dyn QueueConsumer>,
    config: PollerConfig,
    in_flight: usize,
    prepare: P,
    handler: H,
    shutdown: watch::Receiver<bool>,
) where
    P: Fn() -> PF + Clone + Send + Sync + 'static,
    PF: Future<Output = Option<T>> + Send + 'static,
    T: Clone + Send + Sync + 'static,
    H: Fn(T, SqsEvent) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = SqsBatchResponse> + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    // Finished messages are deleted in batches by one task, so a delivery's task ends
    // without waiting for its delete. A crash before the delete only means the message is
    // received again, and its finished delivery is then acknowledged without a send.
    let (finished, to_delete) = tokio::sync::mpsc::unbounded_channel::<String>();
    let deleter = tokio::spawn(delete_in_batches(queue.clone(), config.queue, to_delete));
    let mut loops = JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let (queue, config, prepare, handler, shutdown, slots, finished) = (
            queue.clone(),
            config.clone(),
            prepare.clone(),
            handler.clone(),
            shutdown.clone(),
            slots.clone(),
            finished.clone(),
        );
        loops.spawn(async move {
            let mut tasks = JoinSet::new();
            while !*shutdown.borrow() {
                while tasks.try_join_next().is_some() {}
                // A free slot first, then as many more as are free, up to a batch.
                let Ok(first) = slots.clone().acquire_owned().await else {
                    break;
                };
                let mut permits = vec![first];
                while permits.len() < config.batch_size {
                    match slots.clone().try_acquire_owned() {
                        Ok(p) => permits.push(p),
                        Err(_) => break,
                    }
                }
                let messages = receive(queue.as_ref(), &config, permits.len()).await;
                if messages.is_empty() {
                    continue;
                }
                let Some(prepared) = prepare().await else {
                    // Left for the visibility timeout: nothing could be done with them now.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                };
                for (message, permit) in messages.into_iter().zip(permits.drain(..)) {
                    let (handler, name) = (handler.clone(), config.queue);
                    let (prepared, finished) = (prepared.clone(), finished.clone());
                    tasks.spawn(async move {
                        let handle = message.receipt_handle.clone();
                        let mut event = SqsEvent::default();
                        // The message moves into the event: its body is not copied.
                        event.records = vec![to_sqs_message(name, message)];
                        let response = handler(prepared, event).await;
                        if response.batch_item_failures.is_empty() {
                            let _ = finished.send(handle);
                        }
                        drop(permit);
                    });
                }
            }
            while tasks.join_next().await.is_some() {}
        });
    }
    drop(finished);
    while loops.join_next().await.is_some() {}
    // Every task has ended and dropped its sender: the deleter drains what is left and stops.
    let _ = deleter.await;
}

/// Deletes finished messages, up to a batch per call, until every sender is gone.
async fn delete_in_batches(
    queue: Arc<dyn QueueConsumer>,
    name: QueueName,
    mut finished: tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while batch.len() < 10 {
            match finished.try_recv() {
                Ok(handle) => batch.push(handle),
                Err(_) => break,
            }
        }
        if let Err(e) = queue.delete(name, batch).await {
            tracing::error!(error = %e, queue = name.as_str(), "poller: delete failed; the messages will be redelivered");
        }
    }
}
