//! Integration apps at run time: requests rendered from an app's templates ([`RenderedRequest`]),
//! sent with the connection's authentication ([`auth::Authenticator`]) through the SSRF-guarded
//! client, and what came back ([`Exchange`]). The workflow runner, the connection test, the
//! polling triggers and the hook triggers are built on these.

pub mod auth;
mod engine;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod fixtures;
pub mod poll;
pub mod render;
pub mod resolve;
pub mod run;
pub mod scheduler;
pub mod verify;

pub use engine::{AppEngine, StepOutcome};
pub use poll::PollPage;
pub use render::{TemplateFailure, render_request};
pub use resolve::{ResolveError, Resolver};

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use hookline_domain::apps::HttpMethod;
use hookline_domain::apps::{AppVersion, Connection, ConnectionSecrets};

/// Largest response body an app request reads (a search's or a poll's answer, a token).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A request ready to authenticate and send: every template rendered.
#[derive(Clone, PartialEq)]
pub struct RenderedRequest {
    /// Method.
    pub method: HttpMethod,
    /// Absolute URL, the rendered query parameters appended.
    pub url: String,
    /// Headers (no credential: the scheme adds it).
    pub headers: Vec<(String, String)>,
    /// Body bytes (JSON or a form), and its content type.
    pub body: Option<(Bytes, &'static str)>,
}

impl std::fmt::Debug for RenderedRequest {
    /// Method and URL only (a body or a query may hold a secret a template put there).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RenderedRequest({} …)", self.method.as_str())
    }
}

/// What one authenticated request produced (after the scheme's own exchanges: a token
/// fetched, a login, a Digest challenge answered, one resend after a 401).
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// The final response's status, if one arrived.
    pub status: Option<u16>,
    /// Its headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Its body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Bytes,
    /// Time from the first byte sent to the last read, over every exchange.
    pub duration_ms: u64,
    /// Why it failed, if it did (timeout, connection refused, blocked destination, the
    /// token endpoint refusing the credentials …), with no secret in it.
    pub error: Option<String>,
    /// `Retry-After` of the final response, if any.
    pub retry_after: Option<String>,
    /// HTTP requests made (the request itself, and any token, login or challenge request).
    pub requests: u32,
    /// The tokens the scheme sent (an OAuth 2 access token, a session token), for the caller
    /// to redact from what it keeps: a tool may echo them.
    pub tokens: SentTokens,
}

/// Tokens an exchange carried; never printed.
#[derive(Clone, Default)]
pub struct SentTokens(pub Vec<String>);

impl std::fmt::Debug for SentTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SentTokens({})", self.0.len())
    }
}

impl SentTokens {
    /// Remembers the credential header value `value` (`Bearer abc…`): the whole value and its
    /// last word (the token itself).
    pub fn remember(&mut self, value: &http::HeaderValue) {
        if let Ok(text) = value.to_str() {
            let token = text.rsplit(' ').next().unwrap_or(text);
            for s in [text, token] {
                if s.len() >= 4 && !self.0.iter().any(|t| t == s) {
                    self.0.push(s.to_string());
                }
            }
        }
    }
}

/// A connection with everything its requests need: its app version, its secrets and the
/// version's environment (secret values included). Loaded once per (connection id,
/// connection version) and kept briefly; never logged.
pub struct Resolved {
    /// The connection.
    pub connection: Connection,
    /// Its app version.
    pub app: Arc<AppVersion>,
    /// Its credentials and secret properties.
    pub secrets: ConnectionSecrets,
    /// Every environment variable's value, secret ones included.
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("connection", &self.connection.id)
            .field("app", &self.app.key())
            .field("version", &self.app.version())
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// Every secret value of this connection (credentials, secret properties, secret
    /// environment values): what [`Resolved::redact`] removes from any text kept.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out: Vec<String> = self.secrets.credentials.values().cloned().collect();
        out.extend(self.secrets.properties.values().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
        for key in &self.app.secret_environment {
            if let Some(v) = self.env.get(key) {
                out.push(v.clone());
            }
        }
        out.retain(|s| s.len() >= 4);
        out
    }

    /// `text` with every secret value of the connection replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in self.secret_values() {
            if text.contains(&secret) {
                text = text.replace(&secret, hookline_domain::subscription::REDACTED);
            }
        }
        text
    }
}
