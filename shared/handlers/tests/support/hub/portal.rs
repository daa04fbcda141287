//! The stack's HTTP API served over a hub's handler context, for a portal that holds one
//! subscription.

use hookline_domain::Subscription;
use hookline_domain::secret::new_client_secret;

use super::Hub;
use crate::support::api::{send_json, serve_api};

/// A portal that holds a subscription, and the stack's HTTP API served over the hub's own
/// handler context, with a token of that portal.
pub struct Portal {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The portal's access token.
    pub token: String,
    /// Its subscription.
    pub sub: Subscription,
    http: reqwest::Client,
}

impl Portal {
    /// POSTs `body` as JSON; the status and the JSON answer (null if none).
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// Sends `body` as JSON with `method`; the status and the JSON answer (null if none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.base);
        send_json(&self.http, method, &url, &self.token, body).await
    }
}

impl Hub {
    /// A new client (with `secret`) subscribed to `EVENT_TYPE` in `STATE` at `url`, the HTTP
    /// API served over this hub's context, and a token of that client.
    pub async fn portal(&self, url: &str, max_attempts: u32) -> Portal {
        let secret = new_client_secret();
        let sub = self.subscribe_as(&secret, url, max_attempts).await;
        let (base, token) = serve_api(&self.ctx, sub.client_id.as_str(), &secret).await;
        Portal {
            base,
            token,
            sub,
            http: reqwest::Client::new(),
        }
    }
}
