//! Fault injection for tests: a store and a queue that pass every call through to a real
//! backend, except the calls a test has told to fail. With them, a test can stop a workflow
//! between two of its steps (a record written, its message not sent) as a crash or an outage
//! would, and check that nothing acknowledged is lost.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::{Client, Delivery, DeliveryStatus, Event, EventType, Subscription};
use time::OffsetDateTime;

use crate::{
    DeliveryKey, EventInsert, Page, PortError, Queue, QueueMessage, QueueName, ReceivedMessage,
    Store,
};

/// Which calls fail: each fault point (a method name, e.g. `update_delivery`, or
/// `send:deliveries` for a queue) fails its next `n` calls with a backend error, then works.
/// `update_subscription` may also hold a hook that runs once, just before its next call goes
/// through: a test's stand-in for a concurrent writer that gets in between a read and a write.
/// Clones share their faults.
#[derive(Clone, Default)]
pub struct Faults {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    hooks: Arc<Mutex<HashMap<String, Hook>>>,
}

/// What runs before a call (see [`Faults::before_next`]).
pub type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("counts", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl Faults {
    /// Makes the next `times` calls at `point` fail.
    pub fn fail_next(&self, point: &str, times: u32) {
        self.lock().insert(point.to_string(), times);
    }

    /// Failures still planned at `point`.
    pub fn pending(&self, point: &str) -> u32 {
        self.lock().get(point).copied().unwrap_or(0)
    }

    /// Runs `hook` (once) before the next call at `point` reaches the real port.
    pub fn before_next(&self, point: &str, hook: Hook) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(point.to_string(), hook);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self, point: &str) -> Result<(), PortError> {
        let mut faults = self.lock();
        match faults.get_mut(point) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(PortError::Backend(format!("injected fault at {point}")))
            }
            _ => Ok(()),
        }
    }

    /// [`Faults::check`], after running the point's hook, if it has one.
    async fn pass(&self, point: &str) -> Result<(), PortError> {
        let hook = self
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(point);
        if let Some(hook) = hook {
            hook().await;
        }
        self.check(point)
    }
}

/// A [`Store`] whose calls fail where its [`Faults`] say, before reaching the real store.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    faults: Faults,
}

impl FaultyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, faults: Faults) -> FaultyStore {
        FaultyStore { inner, faults }
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn insert_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults.check("insert_client")?;
        self.inner.insert_client(client).await
    }
    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError> {
        self.faults.check("insert_bootstrap_admin")?;
        self.inner.insert_bootstrap_admin(client).await
    }
    async fn get_client(&self, id: &str) -> Result<Option<Client>, PortError> {
        self.faults.check("get_client")?;
        self.inner.get_client(id).await
    }
    async fn put_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults.check("put_client")?;
        self.inner.put_client(client).await
    }
    async fn delete_client(&self, id: &str) -> Result<(), PortError> {
        self.faults.check("delete_client")?;
        self.inner.delete_client(id).await
    }
    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError> {
        self.faults.check("list_clients")?;
        self.inner.list_clients(cursor, limit).await
    }
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError> {
        self.faults.check("list_event_types")?;
        self.inner.list_event_types().await
    }
    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError> {
        self.faults.check("put_event_type")?;
        self.inner.put_event_type(event_type).await
    }
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        self.faults.check("insert_event")?;
        self.inner.insert_event(event, idempotency_key).await
    }
    async fn mark_event_enqueued(&self, event_id: &str) -> Result<(), PortError> {
        self.faults.check("mark_event_enqueued")?;
        self.inner.mark_event_enqueued(event_id).await
    }
    async fn get_event(&self, id: &str) -> Result<Option<Event>, PortError> {
        self.faults.check("get_event")?;
        self.inner.get_event(id).await
    }
    async fn list_events(
        &self,
        state: Option<&str>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        self.faults.check("list_events")?;
        self.inner
            .list_events(state, since, until, cursor, limit)
            .await
    }
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError> {
        self.faults.check("insert_subscription")?;
        self.inner.insert_subscription(sub).await
    }
    async fn get_subscription(&self, id: &str) -> Result<Option<Subscription>, PortError> {
        self.faults.check("get_subscription")?;
        self.inner.get_subscription(id).await
    }
    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError> {
        self.faults.pass("update_subscription").await?;
        self.inner.update_subscription(sub).await
    }
    async fn delete_subscription(&self, id: &str) -> Result<(), PortError> {
        self.faults.check("delete_subscription")?;
        self.inner.delete_subscription(id).await
    }
    async fn list_subscriptions(
        &self,
        client_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError> {
        self.faults.check("list_subscriptions")?;
        self.inner
            .list_subscriptions(client_id, cursor, limit)
            .await
    }
    async fn subscriptions_generation(&self) -> Result<u64, PortError> {
        self.faults.check("subscriptions_generation")?;
        self.inner.subscriptions_generation().await
    }
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults.check("insert_delivery")?;
        self.inner.insert_delivery(delivery).await
    }
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        self.faults.check("insert_deliveries")?;
        self.inner.insert_deliveries(deliveries).await
    }
    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, PortError> {
        self.faults.check("get_delivery")?;
        self.inner.get_delivery(id).await
    }
    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError> {
        self.faults.check("put_delivery")?;
        self.inner.put_delivery(delivery).await
    }
    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults.check("update_delivery")?;
        self.inner.update_delivery(delivery).await
    }
    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        status: Option<DeliveryStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError> {
        self.faults.check("list_deliveries")?;
        self.inner.list_deliveries(key, status, cursor, limit).await
    }
}

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

    fn check(&self, what: &str, queue: QueueName) -> Result<(), PortError> {
        self.faults.check(&format!("{what}:{}", queue.as_str()))
    }
}

#[async_trait]
impl Queue for FaultyQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.check("send", queue)?;
        self.inner.send(queue, messages).await
    }
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        self.check("receive", queue)?;
        self.inner.receive(queue, max, wait, visibility).await
    }
    async fn delete(
        &self,
        queue: QueueName,
        receipt_handles: Vec<String>,
    ) -> Result<(), PortError> {
        self.check("delete", queue)?;
        self.inner.delete(queue, receipt_handles).await
    }
    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.check("change_visibility", queue)?;
        self.inner
            .change_visibility(queue, receipt_handle, visibility)
            .await
    }
    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        self.check("depth", queue)?;
        self.inner.depth(queue).await
    }
}
