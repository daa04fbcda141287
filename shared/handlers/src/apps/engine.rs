//! The app engine: what runs an app's requests for a connection (a workflow step, a connection
//! test, a poll) and checks its inbound hooks. Each request is rendered
//! ([`render_request`]), sent with the connection's authentication
//! ([`Authenticator::send`]) and judged into a [`StepOutcome`], whose texts are bounded and
//! redacted before anything keeps them.

use std::time::Duration;

use bytes::Bytes;
use hookline_domain::apps::{AuthScheme, KeyLocation, RequestTemplate};
use hookline_domain::delivery::{RESPONSE_EXCERPT_BYTES, bounded};
use hookline_domain::subscription::REDACTED;
use serde_json::Value;

use super::auth::Authenticator;
use super::render::render_request;
use super::resolve::Resolver;
use super::{RenderedRequest, Resolved};

/// Runs app requests: the connections' authentication and the resolver of connections.
pub struct AppEngine {
    /// Sends requests with a connection's authentication.
    pub auth: Authenticator,
    /// Loads connections with their app version and secrets.
    pub resolver: Resolver,
}

/// What a workflow step, a connection test or a poll's request came to, as an attempt
/// records it: the texts bounded to 1 KiB and every secret of the connection redacted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutcome {
    /// The last response's status, if one arrived.
    pub status: Option<u16>,
    /// Time spent in requests, over every request of the step.
    pub duration_ms: u64,
    /// Why it failed (`None`: it succeeded).
    pub error: Option<String>,
    /// `METHOD url` of the last request, a blank line, and the start of its body.
    pub request_excerpt: String,
    /// The start of the last response's body (or what the step did instead:
    /// `skipped: not found`).
    pub response_excerpt: String,
    /// The last response's `Retry-After`, if any.
    pub retry_after: Option<String>,
    /// Whether trying again cannot help (a template error, an unknown action, a missing
    /// input): the delivery goes to the dead-letter queue at once.
    pub permanent: bool,
}

impl StepOutcome {
    /// Whether the step succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// A failure that no retry can mend; `error` names no secret.
    pub fn permanent(error: impl Into<String>) -> StepOutcome {
        StepOutcome {
            error: Some(error.into()),
            permanent: true,
            ..StepOutcome::default()
        }
    }

    /// This outcome, failed (retryable) for `error` although the request itself succeeded.
    pub(super) fn failed(self, error: impl Into<String>) -> StepOutcome {
        StepOutcome {
            error: Some(error.into()),
            ..self
        }
    }
}

/// One request sent: its outcome, and the response's body for the caller to read.
pub(super) struct Sent {
    pub(super) outcome: StepOutcome,
    pub(super) body: Bytes,
}

impl AppEngine {
    /// The engine over an authenticator and a resolver.
    pub fn new(auth: Authenticator, resolver: Resolver) -> AppEngine {
        AppEngine { auth, resolver }
    }

    /// Renders `tpl` with `ctx` (a failure is permanent, reported with `field`'s path), sends
    /// it for `resolved` within `timeout`, and judges the answer: a 2xx succeeds.
    pub(super) async fn send(
        &self,
        resolved: &Resolved,
        tpl: &RequestTemplate,
        ctx: &Value,
        field: &str,
        timeout: Duration,
    ) -> Sent {
        let request = match render_request(tpl, ctx, field) {
            Ok(request) => request,
            Err(failure) => {
                return Sent {
                    outcome: StepOutcome::permanent(
                        resolved.redact(&format!("template error: {failure}")),
                    ),
                    body: Bytes::new(),
                };
            }
        };
        let request_excerpt = request_excerpt(resolved, &request);
        let exchange = self.auth.send(resolved, request, timeout).await;
        let error = match (&exchange.error, exchange.status) {
            (Some(error), _) => Some(resolved.redact(error)),
            (None, Some(status)) if !(200..300).contains(&status) => Some(format!("HTTP {status}")),
            (None, Some(_)) => None,
            (None, None) => Some("no response".to_string()),
        };
        Sent {
            outcome: StepOutcome {
                status: exchange.status,
                duration_ms: exchange.duration_ms,
                error,
                request_excerpt,
                response_excerpt: kept(resolved, &exchange.body),
                retry_after: exchange.retry_after,
                permanent: false,
            },
            body: exchange.body,
        }
    }
}

/// `METHOD url`, a blank line and the start of the body, as kept: the value of the API key's
/// query parameter and every secret of the connection redacted, at most 1 KiB.
pub(super) fn request_excerpt(resolved: &Resolved, request: &RenderedRequest) -> String {
    let url = match &resolved.app.definition.auth {
        AuthScheme::ApiKey {
            location: KeyLocation::Query,
            name,
        } => without_query_value(&request.url, name),
        _ => request.url.clone(),
    };
    let mut text = format!("{} {url}", request.method.as_str()).into_bytes();
    if let Some((body, _)) = &request.body {
        text.extend_from_slice(b"\n\n");
        let room = RESPONSE_EXCERPT_BYTES + longest_secret(resolved);
        text.extend_from_slice(&body[..body.len().min(room)]);
    }
    kept(resolved, &text)
}

/// `url` with the value of every query parameter named `name` redacted.
fn without_query_value(url: &str, name: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|part| {
            let key = part.split_once('=').map_or(part, |(key, _)| key);
            let decoded: String = url::form_urlencoded::parse(key.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            if decoded == name {
                format!("{key}={REDACTED}")
            } else {
                part.to_string()
            }
        })
        .collect();
    let mut out = format!("{base}?{}", parts.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The start of `raw` as an attempt keeps it: redacted, then at most
/// [`RESPONSE_EXCERPT_BYTES`]. Redaction sees enough past the cut to catch a secret that
/// begins before it.
pub(super) fn kept(resolved: &Resolved, raw: &[u8]) -> String {
    let cut = &raw[..raw
        .len()
        .min(RESPONSE_EXCERPT_BYTES + longest_secret(resolved))];
    let text = String::from_utf8_lossy(cut);
    bounded(&resolved.redact(&text), RESPONSE_EXCERPT_BYTES)
}

/// Length of the connection's longest secret value.
fn longest_secret(resolved: &Resolved) -> usize {
    resolved
        .secret_values()
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
}
