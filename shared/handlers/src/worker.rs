//! The queue poller that stands in for Lambda's SQS event source mapping wherever there is no
//! Lambda (the local runner, on the embedded queue or on SQS): receive a batch, hand it to a
//! handler as an `SqsEvent`, delete what succeeded, leave the reported failures.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_ports::{Queue, QueueName, ReceivedMessage};
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

/// Turns received messages into the event Lambda would pass.
pub fn to_sqs_event(queue: QueueName, messages: &[ReceivedMessage]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut r = SqsMessage::default();
            r.message_id = Some(m.message_id.clone());
            r.receipt_handle = Some(m.receipt_handle.clone());
            r.body = Some(m.body.clone());
            let mut attrs = HashMap::new();
            attrs.insert(
                "ApproximateReceiveCount".to_string(),
                m.receive_count.to_string(),
            );
            attrs.insert("SentTimestamp".to_string(), m.sent_at_ms.to_string());
            r.attributes = attrs;
            r.event_source = Some("aws:sqs".into());
            r.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{}", queue.as_str()));
            r
        })
        .collect();
    event
}

/// Runs `concurrency` receive loops until `shutdown` turns true; a batch being handled when
/// it does is finished (its messages deleted or left) before the loop ends. Keep
/// `config.wait` short (about a second): it bounds how long shutdown waits for a receive.
pub async fn run_poller<H, F>(
    queue: Arc<dyn Queue>,
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
                // Not raced against shutdown: a receive cancelled half-way would hide messages
                // for a whole visibility timeout. The wait is short, so shutdown is prompt.
                let received = queue
                    .receive(config.queue, config.batch_size, config.wait, config.visibility)
                    .await;
                let messages = match received {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::error!(error = %e, queue = config.queue.as_str(), "poller: receive failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
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
