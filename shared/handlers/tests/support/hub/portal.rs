//! The stack's HTTP API served over a hub's handler context, for a portal that holds one
//! subscription.

use hookline_domain::Subscription;
use hookline_domain::secret::new_client_secret;

use super::Hub;

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
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

impl Hub {
    /// A new client (with `secret`) subscribed to `EVENT_TYPE` in `STATE` at `url`, the HTTP
    /// API served over this hub's context, and a token of that client.
    pub async fn portal(&self, url: &str, max_attempts: u32) -> Portal {
        let secret = new_client_secret();
        let sub = self.subscribe_as(&secret, url, max_attempts).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the API");
        let base = format!("http://{}", listener.local_addr().expect("API address"));
        let app = hookline_handlers::app(self.ctx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let answer = http
            .post(format!("{base}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={secret}",
                sub.client_id
            ))
            .send()
            .await
            .expect("token request")
            .bytes()
            .await
            .expect("token answer");
        let token: serde_json::Value = serde_json::from_slice(&answer).expect("token JSON");
        let token = token["access_token"].as_str().expect("a token").to_string();
        Portal {
            base,
            token,
            sub,
            http,
        }
    }
}
