//! What only the functions that deliver hold (the `deliver` Lambda function and the local
//! runner): the webhook client and the per-process state of the attempts under way. The other
//! functions build an [`AppContext`] alone, and so never a webhook client.

use std::ops::Deref;
use std::sync::Arc;

use hookline_ports::PortError;

use crate::context::AppContext;
use crate::delivery::client::WebhookClient;
use crate::delivery::health::KeysInFlight;
use crate::delivery::in_flight::InFlight;
use crate::delivery::pacer::Pacer;

/// The delivery handler's context: the shared [`AppContext`] (which it derefs to) and what
/// delivering adds to it.
pub struct DeliveryContext {
    /// What every handler shares.
    pub app: Arc<AppContext>,
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
    /// Builds the delivery context over `app`, with a webhook client made from its
    /// configuration.
    pub fn new(app: Arc<AppContext>) -> Result<Arc<DeliveryContext>, PortError> {
        let http = WebhookClient::new(&app.config)?;
        Ok(Arc::new(DeliveryContext {
            app,
            http,
            in_flight: InFlight::default(),
            pacer: Pacer::default(),
            health_writes: KeysInFlight::default(),
        }))
    }
}

impl Deref for DeliveryContext {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        &self.app
    }
}
