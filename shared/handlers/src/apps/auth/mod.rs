//! The connection's authentication scheme applied to a request: Basic, API key, OAuth 2
//! client credentials (token cached until expiry, fetched again on a 401), session (login,
//! renewed on a 401 or expiry) and Digest (RFC 7616). Token and login requests go through the
//! same SSRF-guarded client as the request itself.
//!
//! Errors name what failed (`token endpoint answered HTTP 401`, `the connection has no
//! password credential`), never a credential, a token or a rendered URL.

mod digest;
mod oauth2;
mod session;
mod templates;
mod tokens;

#[cfg(test)]
mod tests;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use hookline_domain::apps::{AuthScheme, HttpMethod, KeyLocation};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::apps::{Exchange, RenderedRequest, Resolved};
use crate::delivery::client::{OutboundRequest, WebhookClient};

/// Sends app requests with their connection's authentication, and keeps what the schemes
/// cache (OAuth 2 tokens, session tokens, Digest challenges) per process.
pub struct Authenticator {
    http: WebhookClient,
    tokens: tokens::TokenCache,
    digests: digest::ChallengeCache,
}

impl Authenticator {
    /// An authenticator sending through `http`.
    pub fn new(http: WebhookClient) -> Authenticator {
        Authenticator {
            http,
            tokens: tokens::TokenCache::default(),
            digests: digest::ChallengeCache::default(),
        }
    }

    /// The client it sends through (a clone shares its connection pool and TLS set-up).
    pub fn client(&self) -> &WebhookClient {
        &self.http
    }

    /// Sends `req` for `conn`, authenticated by its app's scheme, within `timeout` for each
    /// exchange. Never fails: the [`Exchange`] says what happened. Its `requests` counts every
    /// HTTP request made (token, login, challenge, resend) and `duration_ms` their sum.
    pub async fn send(&self, conn: &Resolved, req: RenderedRequest, timeout: Duration) -> Exchange {
        match &conn.app.definition.auth {
            AuthScheme::None => self.plain(&req, None, timeout).await,
            AuthScheme::Basic => match basic_credential(conn) {
                Ok(value) => {
                    self.plain(&req, Some((AUTHORIZATION, value)), timeout)
                        .await
                }
                Err(why) => failed(why),
            },
            AuthScheme::ApiKey { location, name } => {
                self.api_key(conn, req, *location, name, timeout).await
            }
            AuthScheme::Oauth2ClientCredentials {
                token_url,
                scope,
                client_auth,
            } => {
                let endpoint = oauth2::TokenEndpoint {
                    token_url,
                    scope: scope.as_deref(),
                    client_auth: *client_auth,
                };
                self.with_token(conn, &req, timeout, endpoint).await
            }
            AuthScheme::Session {
                login,
                token,
                expires_in,
                ttl_seconds,
                apply,
                ..
            } => {
                let login = session::Login {
                    login,
                    token,
                    expires_in: expires_in.as_deref(),
                    ttl_seconds: *ttl_seconds,
                    apply,
                };
                self.with_token(conn, &req, timeout, login).await
            }
            AuthScheme::Digest => self.digest(conn, &req, timeout).await,
        }
    }

    /// Sends `req` as it is, with `credential` added to its headers.
    async fn plain(
        &self,
        req: &RenderedRequest,
        credential: Option<(HeaderName, HeaderValue)>,
        timeout: Duration,
    ) -> Exchange {
        let mut headers = match headers_of(req) {
            Ok(headers) => headers,
            Err(why) => return failed(why),
        };
        if let Some((name, value)) = credential {
            headers.insert(name, value);
        }
        let out = OutboundRequest {
            headers,
            body: req
                .body
                .as_ref()
                .map(|(b, _)| b.clone())
                .unwrap_or_default(),
            timeout,
        };
        self.http
            .exchange(&self.http.target(&req.url), method(req.method), out)
            .await
    }

    /// An API key in a header, or appended (percent-encoded) to the URL's query.
    async fn api_key(
        &self,
        conn: &Resolved,
        mut req: RenderedRequest,
        location: KeyLocation,
        name: &str,
        timeout: Duration,
    ) -> Exchange {
        let key = match credential(conn, "api_key") {
            Ok(key) => key,
            Err(why) => return failed(why),
        };
        match location {
            KeyLocation::Header => {
                let header = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("the API key header name {name} is not valid"));
                let value = HeaderValue::from_str(key)
                    .map_err(|_| "the api_key credential is not a valid header value".to_string());
                match (header, value) {
                    (Ok(header), Ok(mut value)) => {
                        value.set_sensitive(true);
                        self.plain(&req, Some((header, value)), timeout).await
                    }
                    (Err(why), _) | (_, Err(why)) => failed(why),
                }
            }
            KeyLocation::Query => {
                let Ok(mut url) = url::Url::parse(&req.url) else {
                    return failed("invalid destination URL".into());
                };
                url.query_pairs_mut().append_pair(name, key);
                req.url = url.into();
                self.plain(&req, None, timeout).await
            }
        }
    }
}

/// The credential `key` of the connection, or an error naming (only) the key.
fn credential<'c>(conn: &'c Resolved, key: &str) -> Result<&'c str, String> {
    conn.secrets
        .credentials
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| format!("the connection has no {key} credential"))
}

/// `Basic base64(username:password)` (RFC 7617).
fn basic_credential(conn: &Resolved) -> Result<HeaderValue, String> {
    let user = credential(conn, "username")?;
    let password = credential(conn, "password")?;
    basic_header(user, password)
}

/// A `Basic` authorization header value, marked sensitive.
fn basic_header(user: &str, password: &str) -> Result<HeaderValue, String> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| "the credentials do not make a header value".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// The request's own headers, and its body's content type.
fn headers_of(req: &RenderedRequest) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::with_capacity(req.headers.len() + 2);
    for (name, value) in &req.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name}"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("invalid value of header {name}"))?;
        headers.append(header, value);
    }
    if let Some((_, content_type)) = &req.body
        && !headers.contains_key(CONTENT_TYPE)
    {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Ok(headers)
}

/// The HTTP method.
fn method(method: HttpMethod) -> http::Method {
    match method {
        HttpMethod::Get => http::Method::GET,
        HttpMethod::Post => http::Method::POST,
        HttpMethod::Put => http::Method::PUT,
        HttpMethod::Patch => http::Method::PATCH,
        HttpMethod::Delete => http::Method::DELETE,
    }
}

/// An exchange that made no request, and why.
fn failed(why: String) -> Exchange {
    Exchange {
        error: Some(why),
        ..Exchange::default()
    }
}

/// What the requests before the final one cost: added to the final [`Exchange`].
#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    requests: u32,
    duration_ms: u64,
}

impl Spent {
    /// Counts `ex`.
    fn add(&mut self, ex: &Exchange) {
        self.requests += ex.requests;
        self.duration_ms += ex.duration_ms;
    }

    /// Counts what `other` spent.
    fn join(&mut self, other: Spent) {
        self.requests += other.requests;
        self.duration_ms += other.duration_ms;
    }

    /// `ex`, with what was spent before it added.
    fn onto(self, mut ex: Exchange) -> Exchange {
        ex.requests += self.requests;
        ex.duration_ms += self.duration_ms;
        ex
    }
}

/// A form body (`application/x-www-form-urlencoded`).
fn form(pairs: &[(&str, &str)]) -> Option<(Bytes, &'static str)> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    Some((
        Bytes::from(out.finish()),
        "application/x-www-form-urlencoded",
    ))
}
