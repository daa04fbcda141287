//! What a handler needs, built once per process (per Lambda instance, or once in the local
//! runner), and split by function so that each builds only what it uses:
//!
//! - [`Core`]: what every function holds (the store, the clock, the configuration, the
//!   metrics sink, the client cache);
//! - [`TokenContext`] (token): the core and the JWT keys it signs with; no queue;
//! - [`AppContext`] (ingest, manage): the core, the JWT keys it verifies with, the queue
//!   sender, and the caches of the API (catalog, verified tokens, recent events, rates);
//! - [`WorkerContext`] (fan-out, and under [`DeliveryContext`](crate::delivery::DeliveryContext)
//!   delivery): the core, the queue sender, the subscription index and the recent events;
//! - [`Contexts`]: all of them over one set of ports, sharing what the functions of one
//!   process share (the local runner, and the tests).
//!
//! What only delivering needs (the webhook client, the attempts under way) is in
//! [`DeliveryContext`](crate::delivery::DeliveryContext).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hookline_domain::{Client, ClientId, Limits};
use hookline_ports::{Clock, PortError, QueueSender, Store};

use crate::apps::auth::Authenticator;
use crate::apps::{AppEngine, Resolver};
use crate::auth::JwtKeys;
use crate::auth::keys::KeySource;
use crate::auth::verified::VerifiedTokens;
use crate::catalog::CatalogCache;
use crate::config::HandlerConfig;
use crate::delivery::client::WebhookClient;
use crate::index::IndexCache;
use crate::limits::RateLimiter;
use crate::metrics::{Metrics, NoMetrics};
use crate::recent::RecentEvents;

/// Clients cached at most. Only clients named by a verified token or just authenticated are
/// cached, and a stored client is a few hundred bytes (its fields are validated and bounded):
/// a few MiB at most.
const CLIENT_CACHE_ENTRIES: usize = 4096;

/// What every function holds: the store, the clock, the configuration, the metrics sink and
/// the clients this process has read lately.
pub struct Core {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Configuration.
    pub config: HandlerConfig,
    /// Where the handlers' counts go ([`NoMetrics`] unless [`Core::with_metrics`]).
    pub metrics: Arc<dyn Metrics>,
    clients: Mutex<HashMap<String, (Instant, Option<Client>)>>,
    /// Set once the process is shutting down ([`Core::stop_waiting`]).
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Core {
    /// The core over `store`, its counts going nowhere.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: HandlerConfig) -> Core {
        Core {
            store,
            clock,
            config,
            metrics: Arc::new(NoMetrics),
            clients: Mutex::new(HashMap::new()),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Ends every wait a request makes for something to happen (a long poll for pull
    /// messages), now and from now on: the runner calls it when it starts shutting down, so
    /// that a waiting request answers with what there is instead of holding the shutdown for
    /// up to its `wait`. A Lambda function never calls it.
    pub fn stop_waiting(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`Core::stop_waiting`] has been called (at once if it has been).
    pub async fn stopped_waiting(&self) {
        let mut stopping = self.stopping.subscribe();
        // The sender lives as long as `self`: this cannot fail while it is borrowed.
        let _ = stopping.wait_for(|s| *s).await;
    }

    /// This core, its counts going to `metrics` (a Lambda function's EMF sink).
    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Core {
        self.metrics = metrics;
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

    /// An app engine over this core's store, sending through `http`: what runs the
    /// integration apps' requests (workflow steps, connection tests, polls) and checks their
    /// hooks. A process builds one and shares it, and with it its OAuth 2 and session tokens.
    pub fn app_engine(&self, http: WebhookClient) -> Arc<AppEngine> {
        Arc::new(AppEngine::new(
            Authenticator::new(http),
            Resolver::new(self.store.clone()),
        ))
    }

    /// Drops a client from this instance's cache after a write.
    pub fn forget_client(&self, id: &str) {
        if let Ok(mut map) = self.clients.lock() {
            map.remove(id);
        }
    }
}

/// The token function's context: the core and the JWT keys it signs with. It sends nothing to
/// any queue, and holds no queue sender.
pub struct TokenContext {
    /// What every function holds.
    pub core: Arc<Core>,
    /// Token keys.
    pub jwt: Arc<JwtKeys>,
}

impl TokenContext {
    /// The token context over `core`, reading the keys from `keys` (the private key set).
    pub async fn new(core: Arc<Core>, keys: KeySource) -> Result<Arc<TokenContext>, PortError> {
        let jwt = Arc::new(JwtKeys::load(keys).await?);
        Ok(Arc::new(TokenContext { core, jwt }))
    }
}

/// The API's context (the ingest and manage functions): the core, the JWT keys it verifies
/// with, the queue sender and the API's caches.
pub struct AppContext {
    /// What every function holds.
    pub core: Arc<Core>,
    /// Work queues: the API only sends (receiving is the poller's or Lambda's job).
    pub queue: Arc<dyn QueueSender>,
    /// Token keys.
    pub jwt: Arc<JwtKeys>,
    /// Event types.
    pub catalog: CatalogCache,
    /// Bearer tokens this process has already verified.
    pub tokens: VerifiedTokens,
    /// Events accepted or read lately.
    pub events: Arc<RecentEvents>,
    /// Each client's request rate, and each client's test pings.
    pub rates: RateLimiter,
    /// The integration apps' engine: connection tests, inbound hooks.
    pub engine: Arc<AppEngine>,
}

impl AppContext {
    /// The API's context over `core` and `queue`, reading the keys from `keys` (the published
    /// public keys, or in the local runner the private key set).
    pub async fn new(
        core: Arc<Core>,
        queue: Arc<dyn QueueSender>,
        keys: KeySource,
    ) -> Result<Arc<AppContext>, PortError> {
        let jwt = Arc::new(JwtKeys::load(keys).await?);
        let engine = core.app_engine(WebhookClient::new(&core.config)?);
        Ok(Self::with_parts(core, queue, jwt, Arc::default(), engine))
    }

    fn with_parts(
        core: Arc<Core>,
        queue: Arc<dyn QueueSender>,
        jwt: Arc<JwtKeys>,
        events: Arc<RecentEvents>,
        engine: Arc<AppEngine>,
    ) -> Arc<AppContext> {
        Arc::new(AppContext {
            engine,
            catalog: CatalogCache::new(core.config.client_cache_ttl),
            core,
            queue,
            jwt,
            tokens: VerifiedTokens::default(),
            events,
            rates: RateLimiter::default(),
        })
    }
}

/// The context of the queue workers: the fan-out function, and under
/// [`DeliveryContext`](crate::delivery::DeliveryContext) the delivery function. No JWT keys:
/// they verify no token.
pub struct WorkerContext {
    /// What every function holds.
    pub core: Arc<Core>,
    /// Work queues: the workers only send (Lambda's event source mappings, or the runner's
    /// pollers, receive).
    pub queue: Arc<dyn QueueSender>,
    /// Subscriptions by (state, type), for fan-out and delivery.
    pub index: IndexCache,
    /// Events accepted or read lately.
    pub events: Arc<RecentEvents>,
}

impl WorkerContext {
    /// The workers' context over `core` and `queue`.
    pub fn new(core: Arc<Core>, queue: Arc<dyn QueueSender>) -> Arc<WorkerContext> {
        Self::with_events(core, queue, Arc::default())
    }

    fn with_events(
        core: Arc<Core>,
        queue: Arc<dyn QueueSender>,
        events: Arc<RecentEvents>,
    ) -> Arc<WorkerContext> {
        Arc::new(WorkerContext {
            core,
            queue,
            index: IndexCache::default(),
            events,
        })
    }
}

/// Every function's context over one set of ports, as one process runs them all (the local
/// runner, and the tests): they share the core, the JWT keys, and the recent events (an event
/// the API has just accepted is fanned out without a read).
pub struct Contexts {
    /// The token endpoints'.
    pub token: Arc<TokenContext>,
    /// The API's.
    pub api: Arc<AppContext>,
    /// The queue workers'.
    pub worker: Arc<WorkerContext>,
}

impl Contexts {
    /// Builds every context over `core` and `queue`; the keys come from `keys` (in one
    /// process, the private key set: it signs and verifies).
    pub async fn new(
        core: Arc<Core>,
        queue: Arc<dyn QueueSender>,
        keys: KeySource,
    ) -> Result<Contexts, PortError> {
        let jwt = Arc::new(JwtKeys::load(keys).await?);
        let events = Arc::<RecentEvents>::default();
        // One engine (one webhook client, one cache of tokens) for every function here: the
        // delivery and polling contexts take it from the API's (`api.engine`).
        let engine = core.app_engine(WebhookClient::new(&core.config)?);
        Ok(Contexts {
            token: Arc::new(TokenContext {
                core: core.clone(),
                jwt: jwt.clone(),
            }),
            api: AppContext::with_parts(core.clone(), queue.clone(), jwt, events.clone(), engine),
            worker: WorkerContext::with_events(core, queue, events),
        })
    }
}

macro_rules! derefs_to_core {
    ($($context:ty),*) => {$(
        impl Deref for $context {
            type Target = Core;

            fn deref(&self) -> &Core {
                &self.core
            }
        }
    )*};
}

derefs_to_core!(TokenContext, AppContext, WorkerContext);
