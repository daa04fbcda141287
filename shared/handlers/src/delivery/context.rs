//! What only the functions that deliver hold (the `deliver` Lambda function and the local
//! runner): the webhook client and the per-process state of the attempts under way. The other
//! functions never build one, and so never a webhook client.

use std::ops::Deref;
use std::sync::Arc;

use hookline_ports::PortError;

use crate::apps::AppEngine;
use crate::context::WorkerContext;
use crate::delivery::client::WebhookClient;
use crate::delivery::health::KeysInFlight;
use crate::delivery::in_flight::InFlight;
use crate::delivery::pacer::Pacer;

/// The delivery handler's context: the queue workers' [`WorkerContext`] (which it derefs to)
/// and what delivering adds to it.
pub struct DeliveryContext {
    /// What the queue workers share.
    pub worker: Arc<WorkerContext>,
    /// Outbound webhook client (SSRF-guarded).
    pub http: WebhookClient,
    /// Webhook requests in flight, by subscription.
    pub in_flight: InFlight,
    /// The send rate of subscriptions that set one.
    pub pacer: Pacer,
    /// Subscriptions whose health this process is writing.
    pub health_writes: KeysInFlight,
    /// Runs the workflows' steps (over the same webhook client).
    pub engine: Arc<AppEngine>,
}

impl DeliveryContext {
    /// Builds the delivery context over `worker`, with a webhook client made from its
    /// configuration, and an app engine sending through it.
    pub fn new(worker: Arc<WorkerContext>) -> Result<Arc<DeliveryContext>, PortError> {
        let http = WebhookClient::new(&worker.config)?;
        let engine = worker.app_engine(http.clone());
        Ok(Self::with_parts(worker, http, engine))
    }

    /// Builds the delivery context over `worker` with the process's app engine (the local
    /// runner's, shared with the API and the poller), and its webhook client: one connection
    /// pool and one TLS set-up for every outbound request of the process.
    pub fn with_engine(
        worker: Arc<WorkerContext>,
        engine: Arc<AppEngine>,
    ) -> Result<Arc<DeliveryContext>, PortError> {
        let http = engine.auth.client().clone();
        Ok(Self::with_parts(worker, http, engine))
    }

    fn with_parts(
        worker: Arc<WorkerContext>,
        http: WebhookClient,
        engine: Arc<AppEngine>,
    ) -> Arc<DeliveryContext> {
        Arc::new(DeliveryContext {
            engine,
            worker,
            http,
            in_flight: InFlight::default(),
            pacer: Pacer::default(),
            health_writes: KeysInFlight::default(),
        })
    }
}

impl Deref for DeliveryContext {
    type Target = WorkerContext;

    fn deref(&self) -> &WorkerContext {
        &self.worker
    }
}
