//! What only the functions that deliver hold (the `deliver` Lambda function and the local
//! runner): the webhook client and the per-process state of the attempts under way. The other
//! functions never build one, and so never a webhook client.

use std::ops::Deref;
use std::sync::Arc;

use hookline_ports::PortError;

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
}

impl DeliveryContext {
    /// Builds the delivery context over `worker`, with a webhook client made from its
    /// configuration.
    pub fn new(worker: Arc<WorkerContext>) -> Result<Arc<DeliveryContext>, PortError> {
        let http = WebhookClient::new(&worker.config)?;
        Ok(Arc::new(DeliveryContext {
            worker,
            http,
            in_flight: InFlight::default(),
            pacer: Pacer::default(),
            health_writes: KeysInFlight::default(),
        }))
    }
}

impl Deref for DeliveryContext {
    type Target = WorkerContext;

    fn deref(&self) -> &WorkerContext {
        &self.worker
    }
}
