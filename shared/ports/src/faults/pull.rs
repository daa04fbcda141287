//! The fault-injecting store's pull port: each call a fault point named after its method.

use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::{PullMessage, SubscriptionId};
use time::OffsetDateTime;

use super::FaultyStore;
use crate::{Ack, Appended, PortError, PullLog, PullStore};

#[async_trait]
impl PullStore for FaultyStore {
    async fn append_pull_message(&self, message: &PullMessage) -> Result<Appended, PortError> {
        self.faults
            .around(
                "append_pull_message",
                self.inner.append_pull_message(message),
            )
            .await
    }
    async fn list_pull_messages(
        &self,
        subscription: &SubscriptionId,
        after: u64,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<PullMessage>, PortError> {
        self.faults
            .around(
                "list_pull_messages",
                self.inner
                    .list_pull_messages(subscription, after, limit, now),
            )
            .await
    }
    async fn pull_log(&self, subscription: &SubscriptionId) -> Result<PullLog, PortError> {
        self.faults
            .around("pull_log", self.inner.pull_log(subscription))
            .await
    }
    async fn ack_pull_messages(
        &self,
        subscription: &SubscriptionId,
        position: u64,
    ) -> Result<Ack, PortError> {
        self.faults
            .around(
                "ack_pull_messages",
                self.inner.ack_pull_messages(subscription, position),
            )
            .await
    }
    async fn delete_pull_log(&self, subscription: &SubscriptionId) -> Result<(), PortError> {
        self.faults
            .around("delete_pull_log", self.inner.delete_pull_log(subscription))
            .await
    }
    fn pull_appends_seen(&self) -> u64 {
        self.inner.pull_appends_seen()
    }
    async fn await_pull_append(&self, seen: u64, max: Duration) {
        self.inner.await_pull_append(seen, max).await
    }
}
