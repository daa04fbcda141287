//! The outbound HTTP client for webhooks, and its SSRF guard.
//!
//! Every resolved address is checked at connect time by a custom DNS resolver, so a host name
//! that resolves (or re-resolves, DNS rebinding) to a private, loopback, link-local or metadata
//! address is never contacted; literal IP URLs are checked before sending. Redirects are not
//! followed, and no proxy is used (a proxy would resolve names where we cannot check them).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hookline_domain::delivery::{RESPONSE_EXCERPT_BYTES, excerpt};
use hookline_domain::destination::{DestinationPolicy, is_forbidden, is_local_name};
use hookline_ports::PortError;
use http::header::{HeaderMap, RETRY_AFTER};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use url::Url;

use crate::config::HandlerConfig;

/// Why a webhook may not go to its destination: refused by the URL check
/// ([`WebhookClient::target`]), or at connect time by the resolver, whose error the send
/// finds in the client error's chain. Its text is what an attempt records: it never quotes
/// the URL, which may carry a credential.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The subscription's URL does not parse.
    #[error("invalid destination URL")]
    InvalidUrl(#[source] url::ParseError),
    /// The URL parses, but not as a request URI.
    #[error("invalid destination URL")]
    InvalidUri(#[source] http::uri::InvalidUri),
    /// A scheme other than `https` (or `http`, where the policy allows it).
    #[error("destination scheme not allowed")]
    SchemeNotAllowed,
    /// The URL names no host.
    #[error("destination has no host")]
    NoHost,
    /// The URL's host is a literal private, loopback, link-local or metadata address.
    #[error("blocked destination: forbidden address")]
    ForbiddenAddress,
    /// The host is a name of the local machine or network (`localhost`, `*.internal`, …).
    #[error("blocked destination: resolves to a forbidden address")]
    LocalName,
    /// Every address the name resolves to is forbidden.
    #[error("blocked destination: resolves to a forbidden address")]
    ResolvesToForbidden,
    /// The name did not resolve. An attempt records what the lookup's error says of the
    /// connection (`connection failed`, `timeout`), as for any failed connection.
    #[error("destination name could not be resolved")]
    Unresolvable(#[source] std::io::Error),
}

impl DestinationError {
    /// Whether the destination is refused by the guard (rather than unreachable).
    pub fn is_blocked(&self) -> bool {
        !matches!(self, DestinationError::Unresolvable(_))
    }
}

/// A name lookup: the system resolver in production, a fixed table in tests.
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The system resolver.
fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Resolves names, then drops forbidden addresses: the connector only ever dials what this
/// returns.
#[derive(Clone)]
struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            Ok(resolve(allow_private, &lookup, host).await?.into_iter())
        })
    }
}

/// The addresses `host` resolves to that may be dialled.
async fn resolve(
    allow_private: bool,
    lookup: &Lookup,
    host: String,
) -> Result<Vec<SocketAddr>, DestinationError> {
    if !allow_private && is_local_name(&host) {
        return Err(DestinationError::LocalName);
    }
    let addrs = lookup(host).await.map_err(DestinationError::Unresolvable)?;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| allow_private || !is_forbidden(a.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(DestinationError::ResolvesToForbidden);
    }
    Ok(allowed)
}

/// A request ready to send (to a [`Target`]).
pub struct OutboundRequest {
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes (shared by every delivery of one event).
    pub body: Bytes,
    /// Timeout for the whole exchange.
    pub timeout: Duration,
}

/// A checked destination ([`WebhookClient::target`]), or why it may not be sent to.
pub type Target = Result<http::Uri, DestinationError>;

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SendResult {
    /// Response status, if one arrived.
    pub status: Option<u16>,
    /// Elapsed time.
    pub duration_ms: u64,
    /// Failure description (no secrets, no payload).
    pub error: Option<String>,
    /// First 1 KiB of the response body.
    pub excerpt: String,
    /// `Retry-After` header value, if any.
    pub retry_after: Option<String>,
}

impl SendResult {
    /// An attempt that was not sent, and why (counts as a failure, like a connection error).
    pub fn not_sent(why: String) -> SendResult {
        SendResult {
            status: None,
            duration_ms: 0,
            error: Some(why),
            excerpt: String::new(),
            retry_after: None,
        }
    }
}

/// The webhook HTTP client: hyper's pooled HTTP/1.1 client over rustls, without the layers
/// a general-purpose client adds per request (redirect and retry policies, cookie and proxy
/// hooks, URL re-parsing, copies of the headers kept for a resend), none of which a webhook
/// uses: it is never redirected, never resent by the client, never proxied.
#[derive(Clone)]
pub struct WebhookClient {
    http: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    policy: DestinationPolicy,
    user_agent: String,
}

impl WebhookClient {
    /// Builds the client from the handler configuration.
    pub fn new(config: &HandlerConfig) -> Result<WebhookClient, PortError> {
        Self::with_lookup(config, system_lookup())
    }

    /// Builds the client with a given name lookup (tests map names to chosen addresses).
    pub fn with_lookup(config: &HandlerConfig, lookup: Lookup) -> Result<WebhookClient, PortError> {
        let mut dial = HttpConnector::new_with_resolver(GuardedResolver {
            allow_private: config.destinations.allow_private,
            lookup,
        });
        // `https` URLs go on to TLS below; the scheme policy is `check_url`'s.
        dial.enforce_http(false);
        dial.set_nodelay(true);
        dial.set_connect_timeout(Some(Duration::from_secs(10)));
        // Certificates are checked as the operating system checks them (its roots, and its
        // revocation data where it has any), as reqwest does.
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| PortError::backend_caused_by(format!("http client: TLS set-up: {e}"), e))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(dial);
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(tls);
        Ok(WebhookClient {
            http,
            policy: config.destinations,
            user_agent: format!("Hookline/{}", config.version),
        })
    }

    /// The `user-agent` sent with every webhook.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// Where a subscription's URL sends to, if it may be sent to at all: the URL parsed and
    /// its scheme and literal address checked (names are checked on their resolved addresses
    /// at connect time, every time). The answer depends only on the URL and this client's
    /// policy, so a caller may keep it for as long as the URL stays the same.
    pub fn target(&self, url: &str) -> Target {
        let url = Url::parse(url).map_err(DestinationError::InvalidUrl)?;
        self.check_url(&url)?;
        http::Uri::try_from(url.as_str()).map_err(DestinationError::InvalidUri)
    }

    /// Sends one webhook request to a [`WebhookClient::target`], which the caller keeps for
    /// as long as its URL stays the same (parsing and checking the URL for every attempt was
    /// 2.5% of a delivery's CPU); never fails, the outcome describes what happened.
    pub async fn send(&self, target: &Target, req: OutboundRequest) -> SendResult {
        let started = Instant::now();
        let fail = |error: String| SendResult {
            status: None,
            duration_ms: started.elapsed().as_millis() as u64,
            error: Some(error),
            excerpt: String::new(),
            retry_after: None,
        };
        let uri = match target {
            Ok(uri) => uri.clone(),
            Err(e) => return fail(e.to_string()),
        };
        // One deadline for the whole exchange, headers and the excerpt of the body alike.
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let resp = match self
            .start(
                http::Method::POST,
                uri,
                req.headers,
                req.body,
                deadline.as_mut(),
            )
            .await
        {
            Ok(resp) => resp,
            Err(e) => return fail(e),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (body, mut error) =
            read_body(resp.into_body(), RESPONSE_EXCERPT_BYTES, deadline.as_mut()).await;
        if error.is_none() && !(200..300).contains(&status) {
            error = Some(format!("HTTP {status}"));
        }
        SendResult {
            status: Some(status),
            duration_ms: started.elapsed().as_millis() as u64,
            error,
            excerpt: excerpt(&body),
            retry_after,
        }
    }

    /// Sends a request to `uri` and waits for the head of its answer until `deadline`; the
    /// error is the secret-free text an attempt records.
    pub(super) async fn start(
        &self,
        method: http::Method,
        uri: http::Uri,
        headers: HeaderMap,
        body: Bytes,
        deadline: Pin<&mut tokio::time::Sleep>,
    ) -> Result<http::Response<Incoming>, String> {
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        tokio::select! {
            resp = self.http.request(request) => resp.map_err(|e| describe(&e)),
            () = deadline => Err("timeout".into()),
        }
    }

    /// Send-time check of the URL itself: scheme, and literal IP hosts (names are checked on
    /// their resolved addresses by the resolver).
    fn check_url(&self, url: &Url) -> Result<(), DestinationError> {
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_http => {}
            _ => return Err(DestinationError::SchemeNotAllowed),
        }
        if self.policy.allow_private {
            return Ok(());
        }
        let ip: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(DestinationError::NoHost),
        };
        match ip {
            Some(ip) if is_forbidden(ip) => Err(DestinationError::ForbiddenAddress),
            _ => Ok(()),
        }
    }
}

/// Reads at most `limit` bytes of `incoming` until `deadline`, keeping no more of a frame
/// than fits (one frame can hold as much as hyper's read buffer), and "timeout" if the
/// deadline came first. The rest of the body is not read: dropping it unread closes the
/// connection rather than draining it, so a server that streams without end costs `limit`
/// bytes and one connection. A body cut short still leaves what arrived.
pub(super) async fn read_body(
    mut incoming: Incoming,
    limit: usize,
    mut deadline: Pin<&mut tokio::time::Sleep>,
) -> (Vec<u8>, Option<String>) {
    let mut body = Vec::with_capacity(limit.min(64 * 1024));
    while body.len() < limit {
        tokio::select! {
            frame = incoming.frame() => match frame {
                Some(Ok(frame)) => {
                    if let Some(chunk) = frame.data_ref() {
                        let room = limit - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                Some(Err(_)) | None => break,
            },
            () = deadline.as_mut() => return (body, Some("timeout".to_string())),
        }
    }
    (body, None)
}

/// A short, secret-free description of a transport error.
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        // An unresolvable name is described by the lookup's error, further down the chain.
        if let Some(refused) = s.downcast_ref::<DestinationError>()
            && refused.is_blocked()
        {
            return refused.to_string();
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                std::io::ErrorKind::TimedOut => return "timeout".into(),
                _ => {}
            }
        }
        src = s.source();
    }
    if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// A lookup that maps every name to `addr`.
    fn fixed(addr: SocketAddr) -> Lookup {
        Arc::new(move |_host: String| Box::pin(async move { Ok(vec![addr]) }))
    }

    /// A listener on a free port of 127.0.0.1, and its address.
    async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        (listener, addr)
    }

    /// A real HTTP server on loopback that counts the requests it gets.
    async fn counting_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        });
        let (listener, addr) = loopback().await;
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, hits)
    }

    fn config(allow_private: bool) -> HandlerConfig {
        let mut c = HandlerConfig::new("http://test", "embedded");
        c.destinations = DestinationPolicy {
            allow_http: true,
            allow_private,
        };
        c
    }

    fn request() -> OutboundRequest {
        OutboundRequest {
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"{}"),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn name_resolving_to_loopback_is_blocked_at_send_time() {
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::with_lookup(&config(false), fixed(addr)).expect("client");
        let url = format!("http://hooks.example.org:{}/hook", addr.port());
        let r = send(&client, &url, request()).await;
        assert_eq!(r.status, None);
        assert_eq!(
            r.error.as_deref(),
            Some("blocked destination: resolves to a forbidden address")
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "the private address must not be contacted"
        );
    }

    #[tokio::test]
    async fn same_name_is_delivered_when_private_destinations_are_allowed() {
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::with_lookup(&config(true), fixed(addr)).expect("client");
        let url = format!("http://hooks.example.org:{}/hook", addr.port());
        let r = send(&client, &url, request()).await;
        assert_eq!(r.status, Some(200));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_kept_target_still_has_its_resolved_address_checked_on_every_send() {
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::with_lookup(&config(false), fixed(addr)).expect("client");
        let url = format!("http://hooks.example.org:{}/hook", addr.port());
        // A name passes the URL check: what it resolves to is checked at connect time.
        let target = client.target(&url);
        assert!(target.is_ok(), "{target:?}");
        for _ in 0..2 {
            let r = client.send(&target, request()).await;
            assert_eq!(
                r.error.as_deref(),
                Some("blocked destination: resolves to a forbidden address")
            );
        }
        // A literal private address is refused by the check itself, before any connection.
        let literal = format!("http://127.0.0.1:{}/", addr.port());
        let target = client.target(&literal);
        assert!(
            matches!(target, Err(DestinationError::ForbiddenAddress)),
            "{target:?}"
        );
        let r = client.send(&target, request()).await;
        assert_eq!(
            (r.status, r.error.as_deref()),
            (None, Some("blocked destination: forbidden address"))
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn literal_private_and_mapped_addresses_are_blocked() {
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::with_lookup(&config(false), fixed(addr)).expect("client");
        for url in [
            format!("http://127.0.0.1:{}/", addr.port()),
            format!("http://[::ffff:127.0.0.1]:{}/", addr.port()),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            format!("http://localhost:{}/", addr.port()),
        ] {
            let r = send(&client, &url, request()).await;
            assert!(
                r.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("blocked destination")),
                "{url}: {r:?}"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_url_check_names_what_it_refuses() {
        let strict = HandlerConfig::new("http://test", "embedded");
        let client = WebhookClient::new(&strict).expect("client");
        let refused = |url: &str| client.target(url).expect_err(url);
        assert!(matches!(
            refused("not a url"),
            DestinationError::InvalidUrl(_)
        ));
        assert!(matches!(
            refused("http://hooks.example.org/"),
            DestinationError::SchemeNotAllowed
        ));
        assert!(matches!(
            refused("ftp://hooks.example.org/"),
            DestinationError::SchemeNotAllowed
        ));
        assert!(matches!(
            refused("https://10.0.0.1/hook"),
            DestinationError::ForbiddenAddress
        ));
        assert!(client.target("https://hooks.example.org/hook").is_ok());
        // The texts attempts record.
        assert_eq!(refused("not a url").to_string(), "invalid destination URL");
        assert_eq!(
            refused("http://hooks.example.org/").to_string(),
            "destination scheme not allowed"
        );
        let err = refused("https://user:hunter2@10.0.0.1/hook?token=hunter2");
        assert_eq!(err.to_string(), "blocked destination: forbidden address");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn the_resolver_names_what_it_refuses() {
        let (_listener, addr) = loopback().await;
        let unresolvable: Lookup = Arc::new(|_host: String| {
            Box::pin(async { Err(std::io::Error::other("no such host")) })
        });
        let to_loopback = fixed(addr);
        let err = resolve(false, &to_loopback, "hooks.example.org".into())
            .await
            .expect_err("loopback");
        assert!(
            matches!(err, DestinationError::ResolvesToForbidden),
            "{err:?}"
        );
        assert!(err.is_blocked());
        let err = resolve(false, &to_loopback, "localhost".into())
            .await
            .expect_err("local name");
        assert!(matches!(err, DestinationError::LocalName), "{err:?}");
        let err = resolve(false, &unresolvable, "nowhere.example.org".into())
            .await
            .expect_err("no name");
        assert!(matches!(err, DestinationError::Unresolvable(_)), "{err:?}");
        assert!(!err.is_blocked());
        assert_eq!(
            resolve(true, &to_loopback, "localhost".into())
                .await
                .expect("allowed"),
            vec![addr]
        );
        // An unresolvable name is recorded as the failed connection it is, as before.
        let client = WebhookClient::with_lookup(&config(false), unresolvable).expect("client");
        let r = send(&client, "http://nowhere.example.org/", request()).await;
        assert_eq!(
            (r.status, r.error.as_deref()),
            (None, Some("connection failed"))
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (target, hits) = counting_server().await;
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::FOUND,
                [("location", format!("http://{target}/"))],
            )
        });
        let (listener, addr) = loopback().await;
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), request()).await;
        assert_eq!(r.status, Some(302));
        assert_eq!(r.error.as_deref(), Some("HTTP 302"));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    /// Reads the next request on `sock` (requests here carry `{}`: a head, then two bytes of
    /// body), keeping what arrived past it in `seen`; false once the client has gone.
    async fn next_request(sock: &mut tokio::net::TcpStream, seen: &mut Vec<u8>) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n")
                && seen.len() >= end + 4 + 2
            {
                seen.drain(..end + 4 + 2);
                return true;
            }
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A loopback server speaking just enough HTTP/1.1 by hand: for every request on every
    /// connection it reads the head and the body, then writes `reply` (which may stop short,
    /// or never come). Returns the address and the number of connections accepted.
    async fn raw_server(reply: &'static [u8], hold: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
        use tokio::io::AsyncWriteExt;
        let conns = Arc::new(AtomicUsize::new(0));
        let (listener, addr) = loopback().await;
        let counted = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while next_request(&mut sock, &mut seen).await {
                        if sock.write_all(reply).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(hold).await;
                    }
                });
            }
        });
        (addr, conns)
    }

    /// A loopback receiver that answers the first request with `head` and then a body that
    /// never ends: 4 KiB pieces (framed as chunks when `chunked`) for as long as the client
    /// takes them. Returns the address and a flag raised once the client has hung up.
    async fn endless_server(head: &'static str, chunked: bool) -> (SocketAddr, Arc<AtomicBool>) {
        use tokio::io::AsyncWriteExt;
        let hung_up = Arc::new(AtomicBool::new(false));
        let (listener, addr) = loopback().await;
        let flag = hung_up.clone();
        tokio::spawn(async move {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            if !next_request(&mut sock, &mut Vec::new()).await {
                return;
            }
            let piece = if chunked {
                format!("1000\r\n{}\r\n", "x".repeat(4096))
            } else {
                "x".repeat(4096)
            };
            let mut out = sock.write_all(head.as_bytes()).await;
            while out.is_ok() {
                out = sock.write_all(piece.as_bytes()).await;
            }
            flag.store(true, Ordering::SeqCst);
        });
        (addr, hung_up)
    }

    fn timing_out(ms: u64) -> OutboundRequest {
        OutboundRequest {
            timeout: Duration::from_millis(ms),
            ..request()
        }
    }

    /// Checks `url` and sends `req` there, as a worker does on its first attempt.
    async fn send(client: &WebhookClient, url: &str, req: OutboundRequest) -> SendResult {
        client.send(&client.target(url), req).await
    }

    #[tokio::test]
    async fn requests_to_one_endpoint_reuse_its_connection() {
        let (addr, conns) = raw_server(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            Duration::ZERO,
        )
        .await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let url = format!("http://{addr}/hook");
        for _ in 0..5 {
            let r = send(&client, &url, request()).await;
            assert_eq!(
                (r.status, r.error.as_deref(), r.excerpt.as_str()),
                (Some(200), None, "ok")
            );
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1, "one kept-alive connection");
    }

    #[tokio::test]
    async fn the_status_retry_after_and_an_excerpt_of_the_body_are_kept() {
        static REPLY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
            let body = "x".repeat(5000);
            format!(
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 7\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        let (addr, _) = raw_server(&REPLY, Duration::ZERO).await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), request()).await;
        assert_eq!(r.status, Some(503));
        assert_eq!(r.error.as_deref(), Some("HTTP 503"));
        assert_eq!(r.retry_after.as_deref(), Some("7"));
        assert_eq!(r.excerpt, "x".repeat(RESPONSE_EXCERPT_BYTES));
    }

    #[tokio::test]
    async fn an_endpoint_that_never_answers_times_out() {
        let (addr, _) = raw_server(b"", Duration::from_secs(60)).await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), timing_out(200)).await;
        assert_eq!((r.status, r.error.as_deref()), (None, Some("timeout")));
        assert!(r.duration_ms >= 200, "{r:?}");
    }

    #[tokio::test]
    async fn a_body_slower_than_the_timeout_keeps_the_status_that_arrived() {
        let (addr, _) = raw_server(
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part",
            Duration::from_secs(60),
        )
        .await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), timing_out(200)).await;
        assert_eq!((r.status, r.error.as_deref()), (Some(200), Some("timeout")));
        assert_eq!(r.excerpt, "only part");
    }

    /// Sends to a receiver whose body never ends, and checks that the attempt ends as soon
    /// as the excerpt is read, well inside its timeout, and hangs up on the receiver.
    async fn reads_only_the_excerpt_of(head: &'static str, chunked: bool) {
        let (addr, hung_up) = endless_server(head, chunked).await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), timing_out(30_000)).await;
        // Reading on to the end (or to the timeout) would record "timeout" here.
        assert_eq!((r.status, r.error.as_deref()), (Some(200), None), "{r:?}");
        assert_eq!(r.excerpt, "x".repeat(RESPONSE_EXCERPT_BYTES));
        // The rest is neither read nor drained: the connection is closed, and the receiver's
        // writes fail.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !hung_up.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the client kept the endless response open"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn an_endless_chunked_body_is_read_only_as_far_as_the_excerpt() {
        reads_only_the_excerpt_of(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            true,
        )
        .await;
    }

    #[tokio::test]
    async fn a_huge_content_length_is_read_only_as_far_as_the_excerpt() {
        reads_only_the_excerpt_of(
            "HTTP/1.1 200 OK\r\ncontent-length: 1099511627776\r\n\r\n",
            false,
        )
        .await;
    }

    #[tokio::test]
    async fn a_refused_connection_says_so() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("http://{addr}/"), request()).await;
        assert_eq!(
            (r.status, r.error.as_deref()),
            (None, Some("connection refused"))
        );
    }

    #[tokio::test]
    async fn https_urls_are_spoken_to_in_tls() {
        // A plain-HTTP server behind an https URL: the client opens with a TLS handshake,
        // which the server cannot answer, so no request ever reaches it.
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = send(&client, &format!("https://{addr}/hook"), request()).await;
        assert_eq!(r.status, None, "{r:?}");
        assert!(r.error.is_some());
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }
}
