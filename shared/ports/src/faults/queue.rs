//! The fault-injecting queue: both queue ports, each call a fault point named after its method
//! and its queue.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Faults;
use crate::{
    PortError, Queue, QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage,
};

/// A [`Queue`] whose calls fail where its [`Faults`] say: `send:<queue>` (e.g.
/// `send:deliveries`), `receive:<queue>`, `delete:<queue>`, `change_visibility:<queue>`.
pub struct FaultyQueue {
    inner: Arc<dyn Queue>,
    faults: Faults,
}

impl FaultyQueue {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Queue>, faults: Faults) -> FaultyQueue {
        FaultyQueue { inner, faults }
    }
}

/// The fault point of a queue call: `send:deliveries`.
fn point(what: &str, queue: QueueName) -> String {
    format!("{what}:{}", queue.as_str())
}

#[async_trait]
impl QueueSender for FaultyQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.faults
            .around(&point("send", queue), self.inner.send(queue, messages))
            .await
    }
    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                &point("change_visibility", queue),
                self.inner
                    .change_visibility(queue, receipt_handle, visibility),
            )
            .await
    }
}

#[async_trait]
impl QueueConsumer for FaultyQueue {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        self.faults
            .around(
                &point("receive", queue),
                self.inner.receive(queue, max, wait, visibility),
            )
            .await
    }
    async fn delete(
        &self,
        queue: QueueName,
        receipt_handles: Vec<String>,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                &point("delete", queue),
                self.inner.delete(queue, receipt_handles),
            )
            .await
    }
    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        self.faults
            .around(&point("depth", queue), self.inner.depth(queue))
            .await
    }
}
