//! A stack of the SQS handlers for tests: the embedded backend in a temporary directory
//! (optionally behind fault-injecting ports), the handlers' context, and the helpers that
//! drive its queues the way Lambda's SQS event source mapping does. Webhook receivers are
//! real HTTP servers on loopback.
#![allow(dead_code)]

mod one_delivery;
mod portal;
mod queues;
mod records;

use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use super::receiver::{Captured, Receiver};
use hookline_domain::RetrySchedule;
use hookline_domain::destination::DestinationPolicy;
use hookline_embedded::EmbeddedBackend;
use hookline_handlers::HandlerConfig;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::delivery::DeliveryContext;
use hookline_handlers::metrics::Metrics;
use hookline_ports::faults::{Faults, FaultyQueue, FaultyStore};
use hookline_ports::{Queue, ShiftedClock, Store};
#[allow(unused_imports)]
pub use one_delivery::OneDelivery;
#[allow(unused_imports)]
pub use portal::Portal;
#[allow(unused_imports)]
pub use queues::{delivery_id_of, event_message, failed_ids};
use tempfile::TempDir;
use time::OffsetDateTime;

pub const STATE: &str = "AP";
pub const EVENT_TYPE: &str = "LotDispatched";
/// Visibility of what a test receives: long, so that a message shows again early only if a
/// handler changed its visibility.
pub const HELD: Duration = Duration::from_secs(30);
/// How long any awaited condition may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// One stack on the embedded backend, with the handlers' context.
pub struct Hub {
    /// Every function's context, as the local runner builds them.
    pub ctx: Contexts,
    /// The delivery handler's context over `ctx.worker`.
    pub deliver: Arc<DeliveryContext>,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// The handlers' clock (the system's, until a test moves it on).
    pub clock: Arc<ShiftedClock>,
    /// The backend itself.
    pub embedded: EmbeddedBackend,
    _dir: TempDir,
}

pub async fn hub() -> Hub {
    hub_with(|_| {}).await
}

/// A hub whose handler configuration `adjust` changes first.
pub async fn hub_with(adjust: impl FnOnce(&mut HandlerConfig)) -> Hub {
    hub_of(adjust, None, None, false).await
}

/// A hub whose handlers count into `metrics`.
pub async fn hub_with_metrics(metrics: Arc<dyn Metrics>) -> Hub {
    hub_of(|_| {}, None, Some(metrics), false).await
}

/// A hub whose handlers reach the store and the queue through fault-injecting ports driven
/// by `faults` (the hub's own `store` and `queue` stay the real ones).
pub async fn faulty_hub(faults: &Faults) -> Hub {
    hub_of(|_| {}, Some(faults), None, false).await
}

/// A [`faulty_hub`] whose store holds the claims of the deliveries it inserts in memory, as
/// the local runner's does (`EmbeddedBackend::holding_claims_in_memory`).
pub async fn hub_holding_claims_in_memory(faults: &Faults) -> Hub {
    hub_of(|_| {}, Some(faults), None, true).await
}

async fn hub_of(
    adjust: impl FnOnce(&mut HandlerConfig),
    faults: Option<&Faults>,
    metrics: Option<Arc<dyn Metrics>>,
    claims_in_memory: bool,
) -> Hub {
    let (backend, dir) = super::embedded_backend().await;
    let backend = match claims_in_memory {
        true => backend.holding_claims_in_memory(),
        false => backend,
    };
    let mut config = HandlerConfig::new("http://test", "embedded");
    config.destinations = DestinationPolicy {
        allow_http: true,
        allow_private: true,
    };
    config.retry_schedule = RetrySchedule::parse("1s").expect("retry schedule");
    adjust(&mut config);
    let (store, queue): (Arc<dyn Store>, Arc<dyn Queue>) = match faults {
        None => (backend.store(), backend.queue()),
        Some(f) => (
            Arc::new(FaultyStore::new(backend.store(), f.clone())),
            Arc::new(FaultyQueue::new(backend.queue(), f.clone())),
        ),
    };
    let keys = super::signing_keys_of(&backend).await;
    let clock = Arc::new(ShiftedClock::default());
    let core = Core::new(store, clock.clone(), config);
    let core = match metrics {
        Some(metrics) => core.with_metrics(metrics),
        None => core,
    };
    let ctx = Contexts::new(Arc::new(core), queue, keys)
        .await
        .expect("handler contexts");
    let deliver = DeliveryContext::new(ctx.worker.clone()).expect("delivery context");
    Hub {
        ctx,
        deliver,
        store: backend.store(),
        queue: backend.queue(),
        clock,
        embedded: backend,
        _dir: dir,
    }
}

pub fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// Polls `check` until it holds, failing the test after `PATIENCE`.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
