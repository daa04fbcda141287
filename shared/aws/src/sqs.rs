//! The work queues on SQS: both queue ports over a stack's four queues. SQS already has the
//! semantics the port describes (batches, visibility timeout, receive count, redrive to the
//! dead-letter queue by the queue's `RedrivePolicy`), so this file only translates: durations
//! to whole seconds (rounded up, capped at SQS's limits), batches to chunks of ten, and stale
//! receipt handles to success, as the port promises.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use hookline_ports::{
    PortError, QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage,
};

use crate::settings::{AwsSettings, whole_seconds};

mod errors;
mod redrive;

pub(crate) use errors::sdk_error;
pub use redrive::redrive;

use errors::is_stale_handle;

/// Entries per batch call (SQS's limit).
const BATCH_ENTRIES: usize = 10;
/// Total body bytes per `SendMessageBatch` (SQS's limit since 2025, which moto enforces).
const BATCH_BYTES: usize = 1_048_576;
/// `DelaySeconds` limit.
const MAX_DELAY_SECS: i32 = 900;
/// `WaitTimeSeconds` limit.
const MAX_WAIT_SECS: i32 = 20;
/// `VisibilityTimeout` limit (12 hours).
const MAX_VISIBILITY_SECS: i32 = 43_200;
/// Calls per batch before entries that SQS failed on its side are reported as an error.
const SEND_ATTEMPTS: u32 = 3;
/// `SendMessageBatch` requests of one `send` in flight at once.
const SENDS_IN_FLIGHT: usize = 8;
/// Pause before retrying failed entries, multiplied by the attempt number.
const SEND_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The URLs of a stack's four queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// Accepted events waiting for fan-out.
    pub events: String,
    /// The events queue's dead-letter queue.
    pub events_dlq: String,
    /// Deliveries waiting for an attempt.
    pub deliveries: String,
    /// The deliveries queue's dead-letter queue.
    pub deliveries_dlq: String,
}

impl QueueUrls {
    /// The URLs named in the settings.
    pub fn from_settings(settings: &AwsSettings) -> QueueUrls {
        QueueUrls {
            events: settings.events_queue_url.clone(),
            events_dlq: settings.events_dlq_url.clone(),
            deliveries: settings.deliveries_queue_url.clone(),
            deliveries_dlq: settings.deliveries_dlq_url.clone(),
        }
    }

    /// The URL of one queue.
    pub fn url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Events => &self.events,
            QueueName::EventsDlq => &self.events_dlq,
            QueueName::Deliveries => &self.deliveries,
            QueueName::DeliveriesDlq => &self.deliveries_dlq,
        }
    }
}

/// Both queue ports (`QueueSender`, `QueueConsumer`) over SQS.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    urls: QueueUrls,
}

impl SqsQueue {
    /// A queue backend over the four queues at `urls`.
    pub fn new(client: aws_sdk_sqs::Client, urls: QueueUrls) -> SqsQueue {
        SqsQueue { client, urls }
    }

    /// A queue backend over the queues named in the settings.
    pub fn from_settings(client: aws_sdk_sqs::Client, settings: &AwsSettings) -> SqsQueue {
        SqsQueue::new(client, QueueUrls::from_settings(settings))
    }

    /// The queues' URLs.
    pub fn urls(&self) -> &QueueUrls {
        &self.urls
    }

    /// Sends one batch (at most ten messages), retrying only the entries SQS failed on its
    /// side; an entry rejected as the sender's fault fails at once.
    async fn send_batch(&self, queue: QueueName, batch: &[QueueMessage]) -> Result<(), PortError> {
        let mut pending: Vec<(String, &QueueMessage)> = batch
            .iter()
            .enumerate()
            .map(|(i, m)| (i.to_string(), m))
            .collect();
        let mut last_code = String::new();
        for attempt in 1..=SEND_ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(id, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(&m.body)
                        .delay_seconds(whole_seconds(m.delay).min(MAX_DELAY_SECS))
                        .build()
                        .map_err(|e| PortError::backend(format!("send entry: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(self.urls.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error(&format!("send to {}", queue.as_str()), e))?;
            let failed = out.failed();
            if failed.is_empty() {
                return Ok(());
            }
            if let Some(f) = failed.iter().find(|f| f.sender_fault()) {
                return Err(PortError::backend(format!(
                    "send to {}: {} of {} messages rejected ({})",
                    queue.as_str(),
                    failed.len(),
                    pending.len(),
                    f.code()
                )));
            }
            let failed_ids: HashSet<&str> = failed.iter().map(|f| f.id()).collect();
            pending.retain(|(id, _)| failed_ids.contains(id.as_str()));
            last_code = failed[0].code().to_owned();
            tracing::warn!(
                queue = queue.as_str(),
                failed = pending.len(),
                code = %last_code,
                attempt,
                "SQS failed some entries of a batch"
            );
            if attempt < SEND_ATTEMPTS {
                tokio::time::sleep(SEND_RETRY_PAUSE * attempt).await;
            }
        }
        Err(PortError::backend(format!(
            "send to {}: {} messages still failing after {SEND_ATTEMPTS} attempts ({last_code})",
            queue.as_str(),
            pending.len()
        )))
    }

    /// Deletes one handle, ignoring a stale one.
    async fn delete_one(&self, queue: QueueName, receipt_handle: &str) -> Result<(), PortError> {
        match self
            .client
            .delete_message()
            .queue_url(self.urls.url(queue))
            .receipt_handle(receipt_handle)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_stale_handle(e.code(), e.message()) => Ok(()),
            Err(e) => Err(sdk_error(&format!("delete from {}", queue.as_str()), e)),
        }
    }
}

#[async_trait]
impl QueueSender for SqsQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        // A few batches in flight at once: fan-out queues thousands of deliveries per event.
        for group in batches(&messages).chunks(SENDS_IN_FLIGHT) {
            let sent = futures_util::future::join_all(
                group.iter().map(|batch| self.send_batch(queue, batch)),
            )
            .await;
            sent.into_iter().collect::<Result<Vec<()>, _>>()?;
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        let result = self
            .client
            .change_message_visibility()
            .queue_url(self.urls.url(queue))
            .receipt_handle(receipt_handle)
            .visibility_timeout(whole_seconds(visibility).min(MAX_VISIBILITY_SECS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_stale_handle(e.code(), e.message()) => Ok(()),
            Err(e) => Err(sdk_error(
                &format!("change visibility on {}", queue.as_str()),
                e,
            )),
        }
    }
}

#[async_trait]
impl QueueConsumer for SqsQueue {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let max = i32::try_from(max.min(BATCH_ENTRIES)).unwrap_or(1);
        let out = self
            .client
            .receive_message()
            .queue_url(self.urls.url(queue))
            .max_number_of_messages(max)
            .wait_time_seconds(whole_seconds(wait).min(MAX_WAIT_SECS))
            .visibility_timeout(whole_seconds(visibility).min(MAX_VISIBILITY_SECS))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("receive from {}", queue.as_str()), e))?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| received(queue, m))
            .collect()
    }

    async fn delete(
        &self,
        queue: QueueName,
        receipt_handles: Vec<String>,
    ) -> Result<(), PortError> {
        for chunk in receipt_handles.chunks(BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| PortError::backend(format!("delete entry: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let result = self
                .client
                .delete_message_batch()
                .queue_url(self.urls.url(queue))
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(out) => {
                    let other = out
                        .failed()
                        .iter()
                        .find(|f| !is_stale_handle(Some(f.code()), f.message()));
                    if let Some(f) = other {
                        return Err(PortError::backend(format!(
                            "delete from {}: {}",
                            queue.as_str(),
                            f.code()
                        )));
                    }
                }
                // A whole-call stale-handle error does not say which handle: delete one by one
                // so the valid ones still go.
                Err(e) if is_stale_handle(e.code(), e.message()) => {
                    for handle in chunk {
                        self.delete_one(queue, handle).await?;
                    }
                }
                Err(e) => return Err(sdk_error(&format!("delete from {}", queue.as_str()), e)),
            }
        }
        Ok(())
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        let counts = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(self.urls.url(queue))
            .set_attribute_names(Some(counts.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("depth of {}", queue.as_str()), e))?;
        let mut total = 0u64;
        for name in &counts {
            let Some(value) = out.attributes.as_ref().and_then(|a| a.get(name)) else {
                continue;
            };
            let n: u64 = value.parse().map_err(|_| {
                PortError::backend(format!(
                    "depth of {}: {name} is not a count",
                    queue.as_str()
                ))
            })?;
            total = total.saturating_add(n);
        }
        Ok(total)
    }
}

/// Splits messages into batches SQS accepts: at most ten, and at most `BATCH_BYTES` of
/// bodies unless one message alone is larger (SQS then rejects that one).
fn batches(messages: &[QueueMessage]) -> Vec<&[QueueMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let n = i - start;
        if n > 0 && (n == BATCH_ENTRIES || bytes + m.body.len() > BATCH_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += m.body.len();
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

/// The port's view of an SQS message.
fn received(queue: QueueName, m: Message) -> Result<ReceivedMessage, PortError> {
    let missing = |what: &str| {
        PortError::backend(format!(
            "receive from {}: a message without {what}",
            queue.as_str()
        ))
    };
    let attribute = |name: MessageSystemAttributeName| {
        m.attributes
            .as_ref()
            .and_then(|a| a.get(&name))
            .map(String::as_str)
    };
    let receive_count: u32 = attribute(MessageSystemAttributeName::ApproximateReceiveCount)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| missing("ApproximateReceiveCount"))?;
    let sent_at_ms: i64 = attribute(MessageSystemAttributeName::SentTimestamp)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| missing("SentTimestamp"))?;
    Ok(ReceivedMessage {
        message_id: m.message_id.ok_or_else(|| missing("a message id"))?,
        receipt_handle: m
            .receipt_handle
            .ok_or_else(|| missing("a receipt handle"))?,
        body: m.body.ok_or_else(|| missing("a body"))?,
        receive_count,
        sent_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_ten_messages_and_one_mebibyte() {
        let small: Vec<QueueMessage> = (0..23).map(|n| QueueMessage::now(n.to_string())).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let big: Vec<QueueMessage> = (0..5)
            .map(|_| QueueMessage::now("x".repeat(400_000)))
            .collect();
        let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(batches(&[]).is_empty());
    }
}
