//! Talking to the runner's HTTP API: raw requests that return status, headers and body, and
//! typed helpers for the steps most tests share (clients, tokens, events, subscriptions,
//! deliveries). Every response body is scanned for secrets, which the log check then hunts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::app::{ADMIN_ID, TestApp};

mod response;

pub use response::ApiResponse;

/// Every scope a portal (a non-admin integration) may hold.
pub const PORTAL_SCOPES: [&str; 4] = [
    "events:write",
    "events:read",
    "subscriptions:read",
    "subscriptions:write",
];

/// An API client of the test, with a token holding every scope it was given.
#[derive(Debug, Clone)]
pub struct TestClient {
    /// `cl_…`
    pub id: String,
    /// Its client secret.
    pub secret: String,
    /// A bearer token with all its scopes.
    pub token: String,
}

/// A created subscription.
#[derive(Debug, Clone)]
pub struct Sub {
    /// `sub_…`
    pub id: String,
    /// The signing secret (`whsec_…`) from the create response.
    pub secret: String,
    /// The create response body.
    pub json: Value,
}

/// An event body for `POST /v1/events`.
pub fn event(event_type: &str, state: &str, data: Value) -> Value {
    json!({"type": event_type, "state": state, "data": data})
}

/// Percent-encodes everything but the unreserved characters (for queries and forms).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The header and claims of a JWT, decoded without verification.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let decode = |p: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(p)
            .unwrap_or_else(|e| panic!("a JWT part is base64url ({e})"));
        serde_json::from_slice(&bytes).expect("a JWT part is JSON")
    };
    (decode(parts[0]), decode(parts[1]))
}

impl TestApp {
    /// A request to `path` on the runner.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Sends a request and reads the whole response.
    pub async fn send(&self, req: RequestBuilder) -> ApiResponse {
        let resp = req.send().await.expect("the runner answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("a response body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.secrets.harvest(&json);
        ApiResponse {
            status,
            headers,
            text,
            json,
        }
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> ApiResponse {
        self.send(self.request(Method::GET, path).bearer_auth(token))
            .await
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> ApiResponse {
        self.send(self.request(Method::DELETE, path).bearer_auth(token))
            .await
    }

    /// A JSON request with a bearer token.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> ApiResponse {
        self.send(
            self.request(method, path)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> ApiResponse {
        self.send_json(Method::POST, path, token, body).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> ApiResponse {
        self.send_json(Method::PATCH, path, token, body).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> ApiResponse {
        self.send_json(Method::PUT, path, token, body).await
    }

    /// `POST /oauth/token` with a form body, optionally authenticating with HTTP Basic.
    pub async fn token_request(
        &self,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> ApiResponse {
        let mut req = self
            .request(Method::POST, "/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some((id, secret)) = basic {
            self.secrets.remember_basic(id, secret);
            req = req.basic_auth(id, Some(secret));
        }
        self.send(req).await
    }

    /// A token for a client (HTTP Basic), with `scope` or all of the client's scopes.
    pub async fn token(&self, id: &str, secret: &str, scope: Option<&str>) -> String {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        let resp = self.token_request(&pairs, Some((id, secret))).await;
        resp.assert_status(200);
        resp.json["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("a token response has access_token: {}", resp.text))
            .to_string()
    }

    /// A token of the bootstrap admin client.
    pub async fn admin_token(&self) -> String {
        let secret = self.admin_secret().to_string();
        self.token(ADMIN_ID, &secret, Some("admin")).await
    }

    /// Registers a client as admin; returns its id and secret.
    pub async fn create_client(
        &self,
        name: &str,
        scopes: &[&str],
        states: &[&str],
    ) -> (String, String) {
        let admin = self.admin_token().await;
        let resp = self
            .post(
                "/v1/clients",
                &admin,
                &json!({"name": name, "scopes": scopes, "states": states}),
            )
            .await;
        resp.assert_status(201);
        let id = resp.json["id"].as_str().expect("a client id").to_string();
        let secret = resp.json["client_secret"]
            .as_str()
            .expect("a client secret")
            .to_string();
        (id, secret)
    }

    /// A runner with one client registered (a portal for AP holding `scopes`): the app, the
    /// client's id and its secret, for tests of how it gets its tokens.
    pub async fn with_portal_client(scopes: &[&str]) -> (TestApp, String, String) {
        let app = TestApp::spawn().await;
        let (id, secret) = app.create_client("portal", scopes, &["AP"]).await;
        (app, id, secret)
    }

    /// Registers a client and gets it a token with all of `scopes`.
    pub async fn client(&self, scopes: &[&str], states: &[&str]) -> TestClient {
        let name = format!("client for {}", states.join(","));
        let (id, secret) = self.create_client(&name, scopes, states).await;
        let token = self.token(&id, &secret, Some(&scopes.join(" "))).await;
        TestClient { id, secret, token }
    }

    /// A portal: a client with every non-admin scope for `states`.
    pub async fn portal(&self, states: &[&str]) -> TestClient {
        self.client(&PORTAL_SCOPES, states).await
    }

    /// `POST /v1/events`.
    pub async fn publish(&self, token: &str, body: &Value) -> ApiResponse {
        self.post("/v1/events", token, body).await
    }

    /// Publishes one event, asserts 202, returns its `evt_` id.
    pub async fn publish_ok(&self, token: &str, body: &Value) -> String {
        let resp = self.publish(token, body).await;
        resp.assert_status(202);
        assert_eq!(resp.json["status"], "accepted", "{}", resp.text);
        let id = resp.json["id"].as_str().expect("an event id").to_string();
        assert!(id.starts_with("evt_"), "event ids start with evt_: {id}");
        id
    }

    /// `POST /v1/subscriptions`.
    pub async fn subscribe(&self, token: &str, body: &Value) -> ApiResponse {
        self.post("/v1/subscriptions", token, body).await
    }

    /// Creates a subscription, asserts 201, returns its id and secret.
    pub async fn subscribe_ok(&self, token: &str, body: &Value) -> Sub {
        let resp = self.subscribe(token, body).await;
        resp.assert_status(201);
        let id = resp.json["id"]
            .as_str()
            .expect("a subscription id")
            .to_string();
        let secret = resp.json["secret"]
            .as_str()
            .expect("a subscription secret")
            .to_string();
        Sub {
            id,
            secret,
            json: resp.json,
        }
    }
}
