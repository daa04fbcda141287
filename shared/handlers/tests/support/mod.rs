//! An in-process stack for handler tests: the embedded backend in a temporary directory, one
//! client, and the whole router served on a loopback port. Each test binary uses some of it.
#![allow(dead_code)]

pub mod api;
pub mod apps;
pub mod hub;
pub mod receiver;
pub mod tool;

use std::sync::Arc;

use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{Client, ClientId, EventType, Scope, StatePattern};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::context::{Contexts, Core};
use hookline_handlers::{HandlerConfig, app};
use hookline_ports::{Queue, Store, SystemClock};
use serde_json::Value;
use time::OffsetDateTime;

/// A served stack and its one client's credentials.
pub struct Served {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The client's id.
    pub client_id: ClientId,
    /// The client's secret.
    pub secret: String,
    /// The stack's store, for what a test must plant or inspect directly.
    #[allow(dead_code)]
    pub store: Arc<dyn Store>,
    /// The stack's queue (no workers consume it).
    #[allow(dead_code)]
    pub queue: Arc<dyn Queue>,
    _dir: tempfile::TempDir,
}

/// The embedded backend in a new temporary directory (which lives as long as the handle).
pub async fn embedded_backend() -> (EmbeddedBackend, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("open task")
            .expect("open the embedded backend");
    (backend, dir)
}

/// Serves the router with `config`, one client holding `scopes` for `states`, and the event
/// types named.
pub async fn serve(
    config: HandlerConfig,
    scopes: Vec<Scope>,
    states: &[&str],
    event_types: &[&str],
) -> Served {
    let (backend, dir) = embedded_backend().await;
    let store = backend.store();
    let (client, secret) = client("portal", scopes, states);
    store.insert_client(&client).await.expect("client");
    for name in event_types {
        let t = EventType {
            name: name.to_string(),
            description: String::new(),
            schema: None,
            example: None,
        };
        store.put_event_type(&t).await.expect("event type");
    }
    let core = Core::new(store.clone(), Arc::new(SystemClock), config);
    let ctx = Contexts::new(
        Arc::new(core),
        backend.queue(),
        signing_keys_of(&backend).await,
    )
    .await
    .expect("handler contexts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app(&ctx)).await });
    Served {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        client_id: client.id,
        secret,
        store,
        queue: backend.queue(),
        _dir: dir,
    }
}

/// The backend's private key set, with its first key made if it has none.
pub async fn signing_keys_of(backend: &EmbeddedBackend) -> KeySource {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    hookline_handlers::auth::rotation::ensure_first_key(backend, now)
        .await
        .expect("a signing key");
    KeySource::Signing(backend.signing_keys())
}

/// A client with a fresh secret, and that secret.
pub fn client(name: &str, scopes: Vec<Scope>, states: &[&str]) -> (Client, String) {
    let secret = new_client_secret();
    let client = Client {
        id: ClientId::new(1),
        name: name.into(),
        scopes,
        states: states
            .iter()
            .map(|s| StatePattern::from_stored(*s))
            .collect(),
        secret_hash: hash_client_secret(&secret),
        created_at: OffsetDateTime::now_utc(),
        disabled: false,
        limits: Default::default(),
    };
    (client, secret)
}

// Each test binary uses some of these helpers.
#[allow(dead_code)]
impl Served {
    /// A client-credentials token request, optionally with a `Host` header.
    pub fn token_request(&self, host: Option<&str>) -> reqwest::RequestBuilder {
        self.token_request_for(&self.client_id, &self.secret, host)
    }

    fn token_request_for(
        &self,
        id: &str,
        secret: &str,
        host: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={id}&client_secret={secret}"
            ));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        req
    }

    /// An access token of the stack's client.
    pub async fn token(&self) -> String {
        self.token_of(self.token_request(None)).await
    }

    /// Adds another client holding `scopes` for `states`; an access token of it.
    pub async fn other_client_token(&self, scopes: Vec<Scope>, states: &[&str]) -> String {
        let (client, secret) = client("other", scopes, states);
        self.store.insert_client(&client).await.expect("client");
        self.token_of(self.token_request_for(&client.id, &secret, None))
            .await
    }

    async fn token_of(&self, request: reqwest::RequestBuilder) -> String {
        let resp = request.send().await.expect("token request");
        let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// POSTs `body` as JSON with `token`; the status and the JSON answer (null if none).
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        api::send_json(&self.http, reqwest::Method::POST, &url, token, body).await
    }
}
