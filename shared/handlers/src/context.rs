//! Everything a handler needs, built once per process (per Lambda instance, or once in the
//! local runner): the ports, the configuration, the JWT keys, and the caches that keep hot
//! paths off the store. What only delivering needs (the webhook client, the attempts under
//! way) is in [`DeliveryContext`](crate::delivery::DeliveryContext).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hookline_domain::{Client, ClientId, Limits};
use hookline_ports::{Clock, PortError, QueueSender, Store};

use crate::auth::JwtKeys;
use crate::auth::keys::KeySource;
use crate::auth::verified::VerifiedTokens;
use crate::catalog::CatalogCache;
use crate::config::HandlerConfig;
use crate::index::IndexCache;
use crate::limits::RateLimiter;
use crate::metrics::{Metrics, NoMetrics};
use crate::recent::RecentEvents;

/// Clients cached at most. Only clients named by a verified token or just authenticated are
/// cached, and a stored client is a few hundred bytes (its fields are validated and bounded):
/// a few MiB at most.
const CLIENT_CACHE_ENTRIES: usize = 4096;

/// Shared state of every handler.
pub struct AppContext {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Work queues: handlers only send (receiving is the poller's or Lambda's job).
    pub queue: Arc<dyn QueueSender>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub config: HandlerConfig,
    /// Token keys.
    pub jwt: JwtKeys,
    /// Event types.
    pub catalog: CatalogCache,
    /// Subscriptions by (state, type), for fan-out and delivery.
    pub index: IndexCache,
    /// Bearer tokens this process has already verified.
    pub tokens: VerifiedTokens,
    /// Events accepted or read lately.
    pub events: RecentEvents,
    /// Each client's request rate, and each client's test pings.
    pub rates: RateLimiter,
    /// Where the handlers' counts go ([`NoMetrics`] unless [`AppContext::with_metrics`]).
    pub metrics: Arc<dyn Metrics>,
    clients: Mutex<HashMap<String, (Instant, Option<Client>)>>,
}

impl AppContext {
    /// Builds the context, creating the JWT signing key on first start.
    pub async fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn QueueSender>,
        keys: KeySource,
        clock: Arc<dyn Clock>,
        config: HandlerConfig,
    ) -> Result<Arc<AppContext>, PortError> {
        let jwt = JwtKeys::load(keys).await?;
        Ok(Arc::new(AppContext {
            store,
            queue,
            clock,
            jwt,
            catalog: CatalogCache::new(config.client_cache_ttl),
            index: IndexCache::default(),
            tokens: VerifiedTokens::default(),
            events: RecentEvents::default(),
            rates: RateLimiter::default(),
            metrics: Arc::new(NoMetrics),
            config,
            clients: Mutex::new(HashMap::new()),
        }))
    }

    /// This context, its counts going to `metrics` (a Lambda function's EMF sink) instead of
    /// nowhere. For a context just built: once its `Arc` is shared, the sink can no longer
    /// change, and this context keeps the one it has (the mistake is logged).
    pub fn with_metrics(mut self: Arc<Self>, metrics: Arc<dyn Metrics>) -> Arc<Self> {
        match Arc::get_mut(&mut self) {
            Some(ctx) => ctx.metrics = metrics,
            None => tracing::error!("the metrics sink of a shared context cannot change"),
        }
        self
    }

    /// A client, from a cache that is at most `client_cache_ttl` old: a disabled or deleted
    /// client's tokens stop working within that time on every instance.
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>, PortError> {
        let ttl = self.config.client_cache_ttl;
        if let Ok(map) = self.clients.lock()
            && let Some((at, c)) = map.get(id.as_str())
            && at.elapsed() < ttl
        {
            return Ok(c.clone());
        }
        self.fresh_client(id).await
    }

    /// A client read from the store (and the cache refreshed). Only for ids a signed token
    /// named: the token endpoint, which sees any id a caller makes up, uses
    /// [`remember_client`](Self::remember_client) once the client has authenticated.
    pub async fn fresh_client(&self, id: &ClientId) -> Result<Option<Client>, PortError> {
        let c = self.store.get_client(id).await?;
        self.cache_client(id, c.clone());
        Ok(c)
    }

    /// Caches a client that has just authenticated with its secret.
    pub fn remember_client(&self, client: &Client) {
        self.cache_client(&client.id, Some(client.clone()));
    }

    fn cache_client(&self, id: &str, client: Option<Client>) {
        if let Ok(mut map) = self.clients.lock() {
            if map.len() >= CLIENT_CACHE_ENTRIES {
                let ttl = self.config.client_cache_ttl;
                map.retain(|_, (at, _)| at.elapsed() < ttl);
                if map.len() >= CLIENT_CACHE_ENTRIES {
                    map.clear();
                }
            }
            map.insert(id.to_string(), (Instant::now(), client));
        }
    }

    /// The token issuer for a request: the configured one, or `https://` + its `Host`.
    pub fn issuer(&self, headers: &axum::http::HeaderMap) -> String {
        if !self.config.issuer.is_empty() {
            return self.config.issuer.clone();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 253
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("localhost");
        format!("https://{host}")
    }

    /// The limits of `client`: the stack's, with what an admin set for it.
    pub fn limits_of(&self, client: &Client) -> Limits {
        self.config.limits.with(&client.limits)
    }

    /// Drops a client from this instance's cache after a write.
    pub fn forget_client(&self, id: &str) {
        if let Ok(mut map) = self.clients.lock() {
            map.remove(id);
        }
    }
}
