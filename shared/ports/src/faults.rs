//! Fault injection for tests: a store and a queue that pass every call through to a real
//! backend, except the calls a test has told to fail. With them, a test can stop a workflow
//! between two of its steps (a record written, its message not sent) as a crash or an outage
//! would, and check that nothing acknowledged is lost.
//!
//! A fault point is a method name (`update_delivery`) or, for a queue, the method and the
//! queue (`send:deliveries`). A point can fail in three ways ([`Fault`]): before the call
//! reaches the backend, after it took effect (the answer lost on its way back), or after a
//! wait, as a call that timed out. [`Faults::record`] lists the points a workflow reaches, so
//! that a test can then fail each of them in turn.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::{Client, Delivery, DeliveryStatus, Event, EventType, Subscription};
use time::OffsetDateTime;

use crate::{
    ClientStore, DeliveryKey, DeliveryStore, EventInsert, EventStore, EventTypeStore, Page,
    PortError, Queue, QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage, Store,
    SubscriptionStore,
};

/// How long a [`Fault::Timeout`] waits before it fails: a test-sized stand-in for an SDK's
/// timeout.
pub const TIMEOUT: Duration = Duration::from_millis(50);

/// How an injected fault fails its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A backend error; the call never reached the backend.
    Fail,
    /// The call took effect, but its caller gets a backend error (the answer was lost).
    FailAfterApplied,
    /// The call waits [`TIMEOUT`], then fails as timed out, without reaching the backend.
    Timeout,
}

impl Fault {
    /// Every kind, for a sweep.
    pub const ALL: [Fault; 3] = [Fault::Fail, Fault::FailAfterApplied, Fault::Timeout];
}

/// The faults planned at one point.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Calls let through before the first failure.
    skip: u32,
    /// Failures still to come.
    times: u32,
    fault: Fault,
}

#[derive(Debug, Default)]
struct State {
    plans: HashMap<String, Plan>,
    /// Every point called, in order, while recording.
    calls: Option<Vec<String>>,
}

/// Which calls fail, and how: each fault point fails as planned, then works. A point may also
/// hold a hook that runs once, just before its next call goes through: a test's stand-in for
/// a concurrent writer that gets in between a read and a write. Clones share their faults.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    hooks: Arc<Mutex<HashMap<String, Hook>>>,
}

/// What runs before a call (see [`Faults::before_next`]).
pub type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("state", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl Faults {
    /// Makes the next `times` calls at `point` fail (before reaching the backend).
    pub fn fail_next(&self, point: &str, times: u32) {
        self.inject(point, Fault::Fail, 0, times);
    }

    /// Lets `skip` calls at `point` through, then fails the `times` after them with `fault`
    /// (replacing what was planned there).
    pub fn inject(&self, point: &str, fault: Fault, skip: u32, times: u32) {
        let plan = Plan { skip, times, fault };
        self.lock().plans.insert(point.to_string(), plan);
    }

    /// Failures still planned at `point`.
    pub fn pending(&self, point: &str) -> u32 {
        self.lock().plans.get(point).map_or(0, |p| p.times)
    }

    /// Starts listing the points called (a fresh list).
    pub fn record(&self) {
        self.lock().calls = Some(Vec::new());
    }

    /// The points called since [`Faults::record`], in order; recording stops.
    pub fn recorded(&self) -> Vec<String> {
        self.lock().calls.take().unwrap_or_default()
    }

    /// Runs `hook` (once) before the next call at `point` reaches the real port.
    pub fn before_next(&self, point: &str, hook: Hook) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(point.to_string(), hook);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault that this call at `point` meets, if any.
    fn take(&self, point: &str) -> Option<Fault> {
        let mut state = self.lock();
        if let Some(calls) = &mut state.calls {
            calls.push(point.to_string());
        }
        let plan = state.plans.get_mut(point)?;
        if plan.skip > 0 {
            plan.skip -= 1;
            return None;
        }
        if plan.times == 0 {
            return None;
        }
        plan.times -= 1;
        Some(plan.fault)
    }

    /// Runs `call` at `point` as its planned fault says.
    async fn around<T>(
        &self,
        point: &str,
        call: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        let injected = |how: &str| PortError::backend(format!("injected fault at {point}: {how}"));
        let hook = self
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(point);
        if let Some(hook) = hook {
            hook().await;
        }
        match self.take(point) {
            None => call.await,
            Some(Fault::Fail) => Err(injected("failed")),
            Some(Fault::FailAfterApplied) => {
                // What the backend did stands; only its answer is lost.
                let _ = call.await;
                Err(injected("answer lost"))
            }
            Some(Fault::Timeout) => {
                tokio::time::sleep(TIMEOUT).await;
                Err(injected("timed out"))
            }
        }
    }
}

/// A [`Store`] whose calls fail where its [`Faults`] say.
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
impl ClientStore for FaultyStore {
    async fn insert_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults
            .around("insert_client", self.inner.insert_client(client))
            .await
    }
    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError> {
        self.faults
            .around(
                "insert_bootstrap_admin",
                self.inner.insert_bootstrap_admin(client),
            )
            .await
    }
    async fn get_client(&self, id: &str) -> Result<Option<Client>, PortError> {
        self.faults
            .around("get_client", self.inner.get_client(id))
            .await
    }
    async fn put_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults
            .around("put_client", self.inner.put_client(client))
            .await
    }
    async fn delete_client(&self, id: &str) -> Result<(), PortError> {
        self.faults
            .around("delete_client", self.inner.delete_client(id))
            .await
    }
    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError> {
        self.faults
            .around("list_clients", self.inner.list_clients(cursor, limit))
            .await
    }
}

#[async_trait]
impl EventTypeStore for FaultyStore {
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError> {
        self.faults
            .around("list_event_types", self.inner.list_event_types())
            .await
    }
    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError> {
        self.faults
            .around("put_event_type", self.inner.put_event_type(event_type))
            .await
    }
}

#[async_trait]
impl EventStore for FaultyStore {
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        self.faults
            .around(
                "insert_event",
                self.inner.insert_event(event, idempotency_key),
            )
            .await
    }
    async fn mark_event_enqueued(&self, event_id: &str) -> Result<(), PortError> {
        self.faults
            .around(
                "mark_event_enqueued",
                self.inner.mark_event_enqueued(event_id),
            )
            .await
    }
    async fn get_event(&self, id: &str) -> Result<Option<Event>, PortError> {
        self.faults
            .around("get_event", self.inner.get_event(id))
            .await
    }
    async fn list_events(
        &self,
        state: Option<&str>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        self.faults
            .around(
                "list_events",
                self.inner.list_events(state, since, until, cursor, limit),
            )
            .await
    }
}

#[async_trait]
impl SubscriptionStore for FaultyStore {
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError> {
        self.faults
            .around("insert_subscription", self.inner.insert_subscription(sub))
            .await
    }
    async fn get_subscription(&self, id: &str) -> Result<Option<Subscription>, PortError> {
        self.faults
            .around("get_subscription", self.inner.get_subscription(id))
            .await
    }
    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError> {
        self.faults
            .around("update_subscription", self.inner.update_subscription(sub))
            .await
    }
    async fn delete_subscription(&self, id: &str) -> Result<(), PortError> {
        self.faults
            .around("delete_subscription", self.inner.delete_subscription(id))
            .await
    }
    async fn list_subscriptions(
        &self,
        client_id: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError> {
        self.faults
            .around(
                "list_subscriptions",
                self.inner.list_subscriptions(client_id, cursor, limit),
            )
            .await
    }
    async fn subscriptions_generation(&self) -> Result<u64, PortError> {
        self.faults
            .around(
                "subscriptions_generation",
                self.inner.subscriptions_generation(),
            )
            .await
    }
}

#[async_trait]
impl DeliveryStore for FaultyStore {
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults
            .around("insert_delivery", self.inner.insert_delivery(delivery))
            .await
    }
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        self.faults
            .around(
                "insert_deliveries",
                self.inner.insert_deliveries(deliveries),
            )
            .await
    }
    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, PortError> {
        self.faults
            .around("get_delivery", self.inner.get_delivery(id))
            .await
    }
    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError> {
        self.faults
            .around("put_delivery", self.inner.put_delivery(delivery))
            .await
    }
    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults
            .around("update_delivery", self.inner.update_delivery(delivery))
            .await
    }
    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        status: Option<DeliveryStatus>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError> {
        self.faults
            .around(
                "list_deliveries",
                self.inner.list_deliveries(key, status, cursor, limit),
            )
            .await
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn each_fault_fails_its_call_once_after_the_calls_it_lets_through() {
        let faults = Faults::default();
        let applied = AtomicU32::new(0);
        let call = || async {
            applied.fetch_add(1, Ordering::SeqCst);
            Ok::<_, PortError>(())
        };
        faults.record();
        faults.inject("p", Fault::FailAfterApplied, 1, 1);
        assert!(faults.around("p", call()).await.is_ok(), "let through");
        assert!(faults.around("p", call()).await.is_err(), "answer lost");
        assert_eq!(applied.load(Ordering::SeqCst), 2, "yet applied");
        assert!(faults.around("p", call()).await.is_ok(), "then works");

        faults.inject("p", Fault::Timeout, 0, 1);
        assert!(faults.around("p", call()).await.is_err(), "timed out");
        faults.fail_next("q", 1);
        assert!(faults.around("q", call()).await.is_err());
        assert_eq!(applied.load(Ordering::SeqCst), 3, "neither applied");
        assert_eq!(faults.pending("p") + faults.pending("q"), 0);
        assert_eq!(faults.recorded(), ["p", "p", "p", "p", "q"]);
    }
}
