//! The work queues, with SQS semantics: at-least-once, batches, visibility timeout,
//! receive count, change-visibility, and redrive to a dead-letter queue after
//! `max_receives` receives.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::PortError;

/// The queues of one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Accepted events waiting for fan-out.
    Events,
    /// Events that fan-out could not process (poison messages).
    EventsDlq,
    /// Deliveries waiting for an attempt.
    Deliveries,
    /// Deliveries that gave up.
    DeliveriesDlq,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 4] = [
        QueueName::Events,
        QueueName::EventsDlq,
        QueueName::Deliveries,
        QueueName::DeliveriesDlq,
    ];

    /// Stable short name (`events`, `events-dlq`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Events => "events",
            QueueName::EventsDlq => "events-dlq",
            QueueName::Deliveries => "deliveries",
            QueueName::DeliveriesDlq => "deliveries-dlq",
        }
    }

    /// The dead-letter queue of a source queue.
    pub fn dlq(self) -> Option<QueueName> {
        match self {
            QueueName::Events => Some(QueueName::EventsDlq),
            QueueName::Deliveries => Some(QueueName::DeliveriesDlq),
            _ => None,
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// JSON body.
    pub body: String,
    /// Initial invisibility (SQS `DelaySeconds`, at most 15 minutes).
    pub delay: Duration,
}

impl QueueMessage {
    /// A message visible at once.
    pub fn now(body: String) -> Self {
        QueueMessage {
            body,
            delay: Duration::ZERO,
        }
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable message id.
    pub message_id: String,
    /// Handle for delete / change-visibility; valid for this receive only.
    pub receipt_handle: String,
    /// JSON body.
    pub body: String,
    /// How many times it has been received, this one included.
    pub receive_count: u32,
    /// When it was first sent, Unix milliseconds.
    pub sent_at_ms: i64,
}

/// Sending to the queues, and postponing the message being handled: what the functions that
/// Lambda invokes do with queues (Lambda's event source mapping receives and deletes for
/// them).
#[async_trait]
pub trait QueueSender: Send + Sync + 'static {
    /// Sends messages (any number; backends batch by 10 where they must).
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError>;

    /// Makes a received message visible again after `visibility` from now (a retry's delay).
    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError>;
}

/// Receiving from the queues: what a poller (the event source mapping's stand-in), a redrive
/// and an operator's count do.
#[async_trait]
pub trait QueueConsumer: Send + Sync + 'static {
    /// Receives up to `max` (1–10) visible messages, waiting up to `wait` for the first one,
    /// and hides them for `visibility`. A message received more than the queue's
    /// `max_receives` times is moved to the dead-letter queue instead of being returned.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError>;

    /// Deletes received messages (stale handles are ignored).
    async fn delete(&self, queue: QueueName, receipt_handles: Vec<String>)
    -> Result<(), PortError>;

    /// Approximate number of messages (visible and in flight).
    async fn depth(&self, queue: QueueName) -> Result<u64, PortError>;
}

/// A whole queue backend, both halves: what the local runner and the tests hold. Implemented
/// for every type that implements both.
pub trait Queue: QueueSender + QueueConsumer {}

impl<T: QueueSender + QueueConsumer + ?Sized> Queue for T {}
