//! `ThirdParty`: a real third-party tool (axum on 127.0.0.1) that integration apps talk to.
//! It enforces one authentication scheme on its resources ([`Guard`]): HTTP Basic, an API key
//! in a header or a query parameter, OAuth 2 bearer tokens from its own token endpoint
//! (`POST /oauth/token`, client credentials by Basic or form, a configurable lifetime, a
//! counter of token requests), a session token from `POST /login` (`{"token", "expires_in"}`),
//! or RFC 7616 Digest (MD5 or SHA-256, `qop=auth`, nonces it issued, `nc` strictly
//! increasing per nonce). Its resources:
//!
//! - `GET /ping`: 200 (a connection test).
//! - `POST /items`: 201 `{"id", "received"}` (a generic action).
//! - `GET /orders?since=<seq>`: the marketplace feed, `{"orders": [...]}` from the cursor on, a
//!   page at a time; `GET /orders?ref=<ref>`: the shop's search, `{"orders": [matches]}`.
//! - `PUT /orders/{id}/status` `{"status"}`: 200 the order, 404 unknown.
//! - `POST /orders` `{"ref", "status"}`: 201 the new order.
//! - `POST /plugin/events`: the assessment service's plugin endpoint, 202.
//!
//! It records every request it gets, with the status it answered, for tests to assert on.

mod digest;
mod orders;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::secrets::random_string;

pub use digest::{DigestAlgorithm, answer as digest_answer};

/// What the resources require.
#[derive(Debug, Clone)]
pub enum Guard {
    /// Nothing.
    Open,
    /// HTTP Basic with these credentials.
    Basic { username: String, password: String },
    /// `name: key` as a request header.
    ApiKeyHeader { name: String, key: String },
    /// `?name=key` in the query.
    ApiKeyQuery { name: String, key: String },
    /// `Authorization: Bearer` with an unexpired token of `POST /oauth/token`, which issues
    /// tokens to this client living `ttl`.
    OAuth2 {
        client_id: String,
        client_secret: String,
        ttl: Duration,
    },
    /// `Authorization: Bearer` or `X-Session` with an unexpired token of `POST /login`, which
    /// logs these credentials in for `ttl`.
    Session {
        username: String,
        password: String,
        ttl: Duration,
    },
    /// RFC 7616 Digest with these credentials and this algorithm.
    Digest {
        username: String,
        password: String,
        algorithm: DigestAlgorithm,
    },
}

/// A request as the tool got it, and what it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query's parameters (decoded).
    pub query: BTreeMap<String, String>,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The status it answered.
    pub status: u16,
}

impl Seen {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Whether it was answered with a 2xx.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

struct Shared {
    guard: Guard,
    realm: String,
    log: Mutex<Vec<Seen>>,
    arrivals: watch::Sender<usize>,
    /// OAuth access tokens and session tokens it issued, with their expiry.
    tokens: Mutex<HashMap<String, Instant>>,
    token_requests: Mutex<usize>,
    logins: Mutex<usize>,
    digest: Mutex<digest::Nonces>,
    orders: Mutex<orders::Orders>,
    /// Authorized resource requests still to be answered 503 (a tool having a bad moment).
    unavailable: Mutex<usize>,
}

/// The tool's server; stops when dropped.
pub struct ThirdParty {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ThirdParty {
    /// Starts the tool on a free port of 127.0.0.1, enforcing `guard`.
    pub async fn start(guard: Guard) -> ThirdParty {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the third-party server");
        let addr = listener.local_addr().expect("its address");
        let shared = Arc::new(Shared {
            guard,
            realm: "third-party@127.0.0.1".into(),
            log: Mutex::new(Vec::new()),
            arrivals: watch::channel(0).0,
            tokens: Mutex::new(HashMap::new()),
            token_requests: Mutex::new(0),
            logins: Mutex::new(0),
            digest: Mutex::new(digest::Nonces::default()),
            orders: Mutex::new(orders::Orders::new(2)),
            unavailable: Mutex::new(0),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        ThirdParty { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT` (an app's `BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.log.lock().expect("log").clone()
    }

    /// The requests to `method path` so far.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }

    /// How many token requests `POST /oauth/token` got (granted or not).
    pub fn token_requests(&self) -> usize {
        *self.shared.token_requests.lock().expect("counter")
    }

    /// How many logins `POST /login` got (granted or not).
    pub fn logins(&self) -> usize {
        *self.shared.logins.lock().expect("counter")
    }

    /// Every token it issued (OAuth access tokens, session tokens): secrets the runner must
    /// never log.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .tokens
            .lock()
            .expect("tokens")
            .keys()
            .cloned()
            .collect()
    }

    /// Forgets every token it issued, as a tool does when it revokes them early: the next
    /// request with one is answered 401.
    pub fn revoke_tokens(&self) {
        self.shared.tokens.lock().expect("tokens").clear();
    }

    /// Makes every Digest nonce it issued stale: the next answer to one gets a new challenge
    /// with `stale=true`.
    pub fn stale_nonces(&self) {
        self.shared.digest.lock().expect("nonces").make_stale();
    }

    /// Answers the next `n` authorized resource requests with 503.
    pub fn unavailable_for(&self, n: usize) {
        *self.shared.unavailable.lock().expect("counter") = n;
    }

    /// Adds an order to the feed and the shop; returns it.
    pub fn add_order(&self, reference: &str, status: &str) -> Value {
        self.shared
            .orders
            .lock()
            .expect("orders")
            .add(reference, status)
    }

    /// Every order, in feed order.
    pub fn orders(&self) -> Vec<Value> {
        self.shared.orders.lock().expect("orders").all()
    }

    /// Waits until the requests so far satisfy `done`; returns them.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Seen]) -> bool,
    ) -> Vec<Seen> {
        let mut rx = self.shared.arrivals.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let log = self.requests();
            if done(&log) {
                return log;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!(
                    "timed out after {timeout:?} waiting for {what} at the third party; got:\n{}",
                    self.summary().join("\n")
                );
            }
        }
    }

    /// Waits until `n` requests to `method path` were answered with a 2xx; returns them.
    pub async fn wait_for_success(
        &self,
        method: &str,
        path: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Seen> {
        let ok = |s: &Seen| s.method == method && s.path == path && s.succeeded();
        self.wait_until(&format!("{n} successful {method} {path}"), timeout, |log| {
            log.iter().filter(|s| ok(s)).count() >= n
        })
        .await
        .into_iter()
        .filter(ok)
        .collect()
    }

    /// One line per request, for failure messages.
    pub fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|s| format!("{} {} {:?} → {}", s.method, s.path, s.query, s.status))
            .collect()
    }
}

impl Drop for ThirdParty {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A JSON answer.
fn answer(status: u16, body: Value) -> (u16, Vec<(String, String)>, Value) {
    (status, Vec::new(), body)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| serde_urlencoded_pairs(q).into_iter().collect())
        .unwrap_or_default();
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let (status, extra, json) = match (method.as_str(), path.as_str()) {
        ("POST", "/oauth/token") => token_endpoint(&shared, &headers, &body),
        ("POST", "/login") => login(&shared, &body),
        _ => match authorize(&shared, &method, &path_and_query, &query, &headers) {
            Err(challenge) => (401, challenge, json!({"error": "unauthorized"})),
            Ok(()) => resource(&shared, &method, &path, &query, &body),
        },
    };
    let seen = Seen {
        method,
        path,
        query,
        headers,
        body,
        status,
    };
    shared.log.lock().expect("log").push(seen);
    shared.arrivals.send_modify(|n| *n += 1);
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in extra {
        builder = builder.header(k, v);
    }
    builder
        .body(Body::from(json.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// `a=1&b=x%20y` → pairs, decoded.
fn serde_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding (and `+` as a space, as forms write it).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `user:password` of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

fn issue(shared: &Shared, ttl: Duration) -> (String, u64) {
    let token = format!("tp_{}", random_string(32));
    shared
        .tokens
        .lock()
        .expect("tokens")
        .insert(token.clone(), Instant::now() + ttl);
    (token, ttl.as_secs())
}

fn valid_token(shared: &Shared, token: &str) -> bool {
    shared
        .tokens
        .lock()
        .expect("tokens")
        .get(token)
        .is_some_and(|expiry| *expiry > Instant::now())
}

/// `POST /oauth/token`: client credentials by `client_secret_basic` or `client_secret_post`.
fn token_endpoint(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Value) {
    *shared.token_requests.lock().expect("counter") += 1;
    let Guard::OAuth2 {
        client_id,
        client_secret,
        ttl,
    } = &shared.guard
    else {
        return answer(404, json!({"error": "no token endpoint"}));
    };
    let form: BTreeMap<String, String> = serde_urlencoded_pairs(&String::from_utf8_lossy(body))
        .into_iter()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return answer(400, json!({"error": "unsupported_grant_type"}));
    }
    let given = basic_credentials(headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    if given != Some((client_id.clone(), client_secret.clone())) {
        return answer(401, json!({"error": "invalid_client"}));
    }
    let (token, expires_in) = issue(shared, *ttl);
    answer(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

/// `POST /login` `{"username", "password"}` → `{"token", "expires_in"}`.
fn login(shared: &Shared, body: &[u8]) -> (u16, Vec<(String, String)>, Value) {
    *shared.logins.lock().expect("counter") += 1;
    let Guard::Session {
        username,
        password,
        ttl,
    } = &shared.guard
    else {
        return answer(404, json!({"error": "no login"}));
    };
    let given: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if given["username"] != username.as_str() || given["password"] != password.as_str() {
        return answer(401, json!({"error": "bad credentials"}));
    }
    let (token, expires_in) = issue(shared, *ttl);
    answer(200, json!({"token": token, "expires_in": expires_in}))
}

/// Whether the request satisfies the guard; `Err` with the headers of the 401 otherwise.
fn authorize(
    shared: &Shared,
    method: &Method,
    path_and_query: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<(), Vec<(String, String)>> {
    let ok = match &shared.guard {
        Guard::Open => true,
        Guard::Basic { username, password } => {
            basic_credentials(headers) == Some((username.clone(), password.clone()))
        }
        Guard::ApiKeyHeader { name, key } => {
            headers.get(name.as_str()).and_then(|v| v.to_str().ok()) == Some(key.as_str())
        }
        Guard::ApiKeyQuery { name, key } => query.get(name) == Some(key),
        Guard::OAuth2 { .. } => bearer(headers).is_some_and(|t| valid_token(shared, &t)),
        Guard::Session { .. } => bearer(headers)
            .or_else(|| {
                headers
                    .get("x-session")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
            .is_some_and(|t| valid_token(shared, &t)),
        Guard::Digest {
            username,
            password,
            algorithm,
        } => {
            let mut nonces = shared.digest.lock().expect("nonces");
            return digest::check(
                &mut nonces,
                digest::Expected {
                    realm: &shared.realm,
                    username,
                    password,
                    algorithm: *algorithm,
                    method: method.as_str(),
                    uri: path_and_query,
                },
                headers,
            );
        }
    };
    if ok { Ok(()) } else { Err(Vec::new()) }
}

/// The resources, once authorized.
fn resource(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Value) {
    {
        let mut unavailable = shared.unavailable.lock().expect("counter");
        if *unavailable > 0 {
            *unavailable -= 1;
            return answer(503, json!({"error": "try again later"}));
        }
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut orders = shared.orders.lock().expect("orders");
    let (status, json) = match (method.as_str(), path) {
        ("GET", "/ping") => (200, json!({"ok": true})),
        ("POST", "/items") => (
            201,
            json!({"id": format!("item_{}", random_string(8)), "received": body}),
        ),
        ("POST", "/plugin/events") => (202, json!({"accepted": true})),
        ("GET", "/orders") => match query.get("ref") {
            Some(reference) => (200, json!({"orders": orders.search(reference)})),
            None => (200, json!({"orders": orders.feed(query.get("since"))})),
        },
        ("POST", "/orders") => match body["ref"].as_str() {
            Some(reference) => (
                201,
                orders.add(reference, body["status"].as_str().unwrap_or("new")),
            ),
            None => (422, json!({"error": "ref is required"})),
        },
        ("PUT", p) => match p
            .strip_prefix("/orders/")
            .and_then(|rest| rest.strip_suffix("/status"))
        {
            Some(_) if !body["status"].is_string() => (422, json!({"error": "status is required"})),
            Some(id) => match orders.set_status(id, &body["status"]) {
                Some(order) => (200, order),
                None => (404, json!({"error": "no such order"})),
            },
            None => (404, json!({"error": "not found"})),
        },
        _ => (404, json!({"error": "not found"})),
    };
    answer(status, json)
}
