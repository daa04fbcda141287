//! The connection's authentication scheme applied to a request: Basic, API key, OAuth 2
//! client credentials (token cached until expiry, fetched again on a 401), session (login,
//! renewed on a 401 or expiry) and Digest (RFC 7616). Token and login requests go through the
//! same SSRF-guarded client as the request itself.

use std::time::Duration;

use crate::apps::{Exchange, RenderedRequest, Resolved};
use crate::delivery::client::WebhookClient;

/// Sends app requests with their connection's authentication, and keeps what the schemes
/// cache (OAuth 2 tokens, session tokens) per process.
pub struct Authenticator {
    #[allow(dead_code)] // TEMPORARY (issue 23 skeleton)
    http: WebhookClient,
}

impl Authenticator {
    /// An authenticator sending through `http`.
    pub fn new(http: WebhookClient) -> Authenticator {
        Authenticator { http }
    }

    /// Sends `req` for `conn`, authenticated by its app's scheme, within `timeout` for each
    /// exchange. Never fails: the [`Exchange`] says what happened.
    pub async fn send(&self, conn: &Resolved, req: RenderedRequest, timeout: Duration) -> Exchange {
        // TEMPORARY (issue 23 skeleton): the outbound branch implements it.
        let _ = (conn, req, timeout);
        Exchange {
            error: Some("app requests are not available yet".into()),
            ..Exchange::default()
        }
    }
}
