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
use std::time::{Duration, Instant};

use hookline_domain::delivery::{RESPONSE_EXCERPT_BYTES, excerpt};
use hookline_domain::destination::{DestinationPolicy, is_forbidden, is_local_name};
use hookline_ports::PortError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::config::HandlerConfig;

/// Marker error of a blocked destination, found in the reqwest error chain.
#[derive(Debug)]
struct BlockedDestination;

impl std::fmt::Display for BlockedDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("destination resolves to a forbidden address")
    }
}

impl std::error::Error for BlockedDestination {}

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

/// Resolves names, then drops forbidden addresses.
struct GuardedResolver {
    allow_private: bool,
    lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            if !allow_private && is_local_name(&host) {
                return Err(
                    Box::new(BlockedDestination) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            let addrs: Vec<SocketAddr> = lookup(host)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow_private || !is_forbidden(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(
                    Box::new(BlockedDestination) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            let it: Addrs = Box::new(allowed.into_iter());
            Ok(it)
        })
    }
}

/// A request ready to send.
pub struct OutboundRequest<'a> {
    /// Destination.
    pub url: &'a str,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Timeout for the whole exchange.
    pub timeout: Duration,
}

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

/// The webhook HTTP client.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
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
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: config.destinations.allow_private,
                lookup,
            }))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| PortError::Backend(format!("http client: {e}")))?;
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

    /// Sends one webhook request; never fails, the outcome describes what happened.
    pub async fn send(&self, req: OutboundRequest<'_>) -> SendResult {
        let started = Instant::now();
        let fail = |error: String| SendResult {
            status: None,
            duration_ms: started.elapsed().as_millis() as u64,
            error: Some(error),
            excerpt: String::new(),
            retry_after: None,
        };
        let url = match Url::parse(req.url) {
            Ok(u) => u,
            Err(_) => return fail("invalid destination URL".into()),
        };
        if let Err(e) = self.check_url(&url) {
            return fail(e);
        }
        let sent = self
            .http
            .post(url)
            .timeout(req.timeout)
            .headers(req.headers)
            .body(req.body)
            .send();
        let mut resp = match sent.await {
            Ok(r) => r,
            Err(e) => return fail(describe(&e)),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut error = None;
        // Read at most the excerpt; the rest of the body is not our business.
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() >= RESPONSE_EXCERPT_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    if e.is_timeout() {
                        error = Some("timeout".to_string());
                    }
                    break;
                }
            }
        }
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

    /// Send-time check of the URL itself: scheme, and literal IP hosts (names are checked on
    /// their resolved addresses by the resolver).
    fn check_url(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_http => {}
            _ => return Err("destination scheme not allowed".into()),
        }
        if self.policy.allow_private {
            return Ok(());
        }
        let ip: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("destination has no host".into()),
        };
        match ip {
            Some(ip) if is_forbidden(ip) => Err("blocked destination: forbidden address".into()),
            _ => Ok(()),
        }
    }
}

/// A short, secret-free description of a transport error.
fn describe(e: &reqwest::Error) -> String {
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if s.is::<BlockedDestination>() {
            return "blocked destination: resolves to a forbidden address".into();
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
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A lookup that maps every name to `addr`.
    fn fixed(addr: SocketAddr) -> Lookup {
        Arc::new(move |_host: String| Box::pin(async move { Ok(vec![addr]) }))
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
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

    fn request(url: &str) -> OutboundRequest<'_> {
        OutboundRequest {
            url,
            headers: reqwest::header::HeaderMap::new(),
            body: b"{}".to_vec(),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn name_resolving_to_loopback_is_blocked_at_send_time() {
        let (addr, hits) = counting_server().await;
        let client = WebhookClient::with_lookup(&config(false), fixed(addr)).expect("client");
        let url = format!("http://hooks.example.org:{}/hook", addr.port());
        let r = client.send(request(&url)).await;
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
        let r = client.send(request(&url)).await;
        assert_eq!(r.status, Some(200));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
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
            let r = client.send(request(&url)).await;
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
    async fn redirects_are_not_followed() {
        let (target, hits) = counting_server().await;
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::FOUND,
                [("location", format!("http://{target}/"))],
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = WebhookClient::new(&config(true)).expect("client");
        let r = client.send(request(&format!("http://{addr}/"))).await;
        assert_eq!(r.status, Some(302));
        assert_eq!(r.error.as_deref(), Some("HTTP 302"));
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }
}
