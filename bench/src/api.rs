//! The harness as a user of Hookline's public API: clients, tokens, subscriptions and
//! publishes, exactly as a portal makes them (API.md).

use serde_json::{Value, json};

use crate::process::{ADMIN_ID, Runner};

/// A client of one runner's API.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A registered client with a token.
#[derive(Clone)]
pub struct Portal {
    /// Bearer token.
    pub token: String,
}

impl Api {
    /// An API client for `runner`, keeping up to `connections` connections alive.
    pub fn new(runner: &Runner, connections: usize) -> Api {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .build()
            .unwrap_or_default();
        Api {
            http,
            base: runner.base.clone(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status().as_u16();
        let json = resp.json().await.unwrap_or(Value::Null);
        Ok((status, json))
    }

    /// `POST path` with a JSON body: the HTTP status and the JSON answer.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        self.call(reqwest::Method::POST, path, token, body).await
    }

    /// `POST /oauth/token` (client credentials).
    pub async fn token(&self, id: &str, secret: &str) -> Result<String, String> {
        let resp = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| format!("token: {e}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        body["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("token: HTTP {status}: {body}"))
    }

    /// The bootstrap admin's token.
    pub async fn admin(&self, runner: &Runner) -> Result<String, String> {
        self.token(ADMIN_ID, &runner.admin_secret).await
    }

    /// Registers a client (as admin) and gets it a token.
    pub async fn portal(
        &self,
        admin: &str,
        name: &str,
        scopes: &[&str],
        states: &[&str],
    ) -> Result<Portal, String> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/clients",
                admin,
                &json!({"name": name, "scopes": scopes, "states": states}),
            )
            .await?;
        let (Some(id), Some(secret)) = (body["id"].as_str(), body["client_secret"].as_str()) else {
            return Err(format!("POST /v1/clients: HTTP {status}: {body}"));
        };
        let token = self.token(id, secret).await?;
        Ok(Portal { token })
    }

    /// `POST /v1/subscriptions`; returns the `sub_` id.
    pub async fn subscribe(&self, token: &str, body: &Value) -> Result<String, String> {
        let (status, resp) = self
            .call(reqwest::Method::POST, "/v1/subscriptions", token, body)
            .await?;
        resp["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("POST /v1/subscriptions: HTTP {status}: {resp}"))
    }

    /// `POST /v1/events` (one event); returns the `evt_` id.
    pub async fn publish(&self, token: &str, event: &Value) -> Result<String, String> {
        let (status, resp) = self
            .call(reqwest::Method::POST, "/v1/events", token, event)
            .await?;
        match resp["id"].as_str() {
            Some(id) if status == 202 => Ok(id.to_string()),
            _ => Err(format!("POST /v1/events: HTTP {status}: {resp}")),
        }
    }
}

impl Api {
    /// A publisher allowed `state`, and a subscriber of that state with one subscription to
    /// `url` for its `LotDispatched` events: the publisher, and the subscription's id.
    pub async fn publisher_and_subscription(
        &self,
        admin: &str,
        state: &str,
        url: &str,
    ) -> Result<(Portal, String), String> {
        let publisher = self
            .portal(admin, &format!("{state} publisher"), &PUBLISHER, &[state])
            .await?;
        let tenant = self
            .portal(
                admin,
                &format!("{state} state portal"),
                &SUBSCRIBER,
                &[state],
            )
            .await?;
        let body = json!({"url": url, "event_types": ["LotDispatched"], "states": [state]});
        let sub = self.subscribe(&tenant.token, &body).await?;
        Ok((publisher, sub))
    }

    /// `POST /v1/events` with a batch: the HTTP status and, on 202, the `evt_` ids.
    pub async fn publish_batch(
        &self,
        token: &str,
        events: &[Value],
    ) -> Result<(u16, Vec<String>), String> {
        let (status, resp) = self
            .call(
                reqwest::Method::POST,
                "/v1/events",
                token,
                &json!({ "events": events }),
            )
            .await?;
        let ids = resp["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str().map(str::to_string))
            .collect();
        Ok((status, ids))
    }
}

impl Api {
    /// `GET path`: the HTTP status and the JSON body.
    pub async fn get(&self, path: &str, token: &str) -> Result<(u16, Value), String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// `POST path` of a file: the HTTP status, the `Location` header and the JSON body.
    pub async fn post_file(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Option<String>, Value), String> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((status, location, resp.json().await.unwrap_or(Value::Null)))
    }
}

/// The event every scenario publishes: a lot dispatch as the central platform sends it.
pub fn lot_event(event_type: &str, state: &str, seq: usize) -> Value {
    json!({
        "type": event_type,
        "state": state,
        "data": {
            "lotNo": format!("L-{seq}"),
            "status": "dispatched",
            "quantityKg": 25_000,
            "from": "FRK manufacturer 12",
            "to": "District godown 3"
        }
    })
}

/// Scopes of a portal that subscribes.
pub const SUBSCRIBER: [&str; 2] = ["subscriptions:write", "subscriptions:read"];
/// Scopes of the platform that publishes.
pub const PUBLISHER: [&str; 1] = ["events:write"];
