//! The app engine: what runs an app's requests for a connection (a workflow step, a connection
//! test, a poll) and checks its inbound hooks. Each request is rendered
//! ([`render_request`]), sent with the connection's authentication
//! ([`Authenticator::send`]) and judged into a [`StepOutcome`], whose texts are bounded and
//! redacted before anything keeps them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
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
            (Some(error), _) => Some(redact_tokens(&resolved.redact(error), &exchange.tokens.0)),
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
                response_excerpt: kept_without(resolved, &exchange.body, &exchange.tokens.0),
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
    kept_without(resolved, raw, &[])
}

/// [`kept`], with the `tokens` the request carried (an OAuth 2 or session token) redacted
/// too.
fn kept_without(resolved: &Resolved, raw: &[u8], tokens: &[String]) -> String {
    let longest_token = tokens.iter().map(String::len).max().unwrap_or(0);
    let cut = &raw[..raw
        .len()
        .min(RESPONSE_EXCERPT_BYTES + longest_secret(resolved).max(longest_token))];
    let mut text = resolved.redact(&String::from_utf8_lossy(cut));
    let derived = derived_secrets(resolved);
    text = redact_tokens(&text, &derived);
    text = redact_tokens(&text, tokens);
    bounded(&text, RESPONSE_EXCERPT_BYTES)
}

/// `text` with each of `secrets` replaced by `[redacted]`.
fn redact_tokens(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// What the credentials become on the wire and a tool may echo (an `Authorization: Basic`
/// value, as httpbin-like endpoints answer it).
fn derived_secrets(resolved: &Resolved) -> Vec<String> {
    let credentials = &resolved.secrets.credentials;
    match (credentials.get("username"), credentials.get("password")) {
        (Some(user), Some(password)) => {
            vec![STANDARD.encode(format!("{user}:{password}"))]
        }
        _ => vec![],
    }
}

/// Length of the longest text [`kept`] redacts.
fn longest_secret(resolved: &Resolved) -> usize {
    resolved
        .secret_values()
        .into_iter()
        .chain(derived_secrets(resolved))
        .map(|s| s.len())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use hookline_domain::apps::HttpMethod;
    use serde_json::json;

    use super::*;
    use crate::apps::fixtures::resolved;

    fn key_in_query() -> Resolved {
        resolved(
            json!({"auth": {"type": "api_key", "in": "query", "name": "api key"}}),
            &[],
            json!({}),
            json!({"credentials": {"api_key": "the-key-0042"}}),
        )
    }

    fn request(url: &str, body: Option<&str>) -> RenderedRequest {
        RenderedRequest {
            method: HttpMethod::Post,
            url: url.into(),
            headers: vec![],
            body: body.map(|b| (Bytes::from(b.to_string()), "application/json")),
        }
    }

    #[test]
    fn the_request_excerpt_hides_the_api_key_parameter_and_secrets() {
        let conn = key_in_query();
        let excerpt = request_excerpt(
            &conn,
            &request(
                "https://tool.example/o?a=1&api+key=abc&b=the-key-0042#top",
                Some(r#"{"k":"the-key-0042"}"#),
            ),
        );
        assert_eq!(
            excerpt,
            "POST https://tool.example/o?a=1&api+key=[redacted]&b=[redacted]#top\n\n{\"k\":\"[redacted]\"}"
        );
        let plain = request_excerpt(&conn, &request("https://tool.example/o", None));
        assert_eq!(plain, "POST https://tool.example/o");
    }

    #[test]
    fn excerpts_are_bounded_and_a_secret_across_the_bound_is_still_redacted() {
        let conn = key_in_query();
        // The secret begins just before the 1 KiB bound and ends after it.
        let body = format!(
            "{}the-key-0042{}",
            "x".repeat(RESPONSE_EXCERPT_BYTES - 4),
            "y".repeat(5000)
        );
        let kept = kept(&conn, body.as_bytes());
        assert!(kept.len() <= RESPONSE_EXCERPT_BYTES);
        assert!(!kept.contains("the-"), "no part of the secret is kept");
        let excerpt = request_excerpt(&conn, &request("https://t.example/", Some(&body)));
        assert!(excerpt.len() <= RESPONSE_EXCERPT_BYTES);
        assert!(!excerpt.contains("the-"), "{excerpt}");
    }
}
