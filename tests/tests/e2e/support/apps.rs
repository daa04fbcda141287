//! Integration apps through the API: an app developer publishing definitions, an integrator
//! (a portal for AP with connections) connecting to them with credentials (every credential
//! and secret property is remembered for the log scan), workflows (subscriptions of mode
//! `action`), inbound hooks, and the checks that no secret reaches a response or a record.

use serde_json::{Map, Value, json};

use super::api::{ApiResponse, PORTAL_SCOPES, TestClient};
use super::app::TestApp;
use super::receiver::Receiver;

/// The scopes of an app developer.
pub const DEVELOPER_SCOPES: [&str; 2] = ["apps:read", "apps:write"];

/// Everything an app test needs: a developer who publishes apps, and an integrator for AP
/// who connects to them, runs workflows, and listens to the events its triggers publish.
#[derive(Debug, Clone)]
pub struct AppsSetup {
    /// Publishes and deprecates apps.
    pub developer: TestClient,
    /// A portal for AP that may also read and write connections and read apps.
    pub integrator: TestClient,
}

/// An app definition with a `BASE_URL` environment variable, the auth scheme `auth`, a test
/// request (`GET /ping`) and the generic action `create_item` (`POST /items` with the
/// workflow's `lot` input and the event's id); `extra` (an object) is merged over it.
pub fn definition(key: &str, version: &str, auth: Value, extra: Value) -> Value {
    let mut def = json!({
        "key": key,
        "name": format!("{key} (e2e)"),
        "description": "A third-party tool of the end-to-end tests.",
        "version": version,
        "auth": auth,
        "environment": [{"key": "BASE_URL", "description": "The tool's base URL."}],
        "test": {"method": "GET", "url": "{{ env.BASE_URL }}/ping"},
        "actions": {
            "create_item": {
                "label": "Create an item",
                "kind": "create",
                "inputs": [{"key": "lot", "label": "Lot", "required": true}],
                "request": {
                    "method": "POST",
                    "url": "{{ env.BASE_URL }}/items",
                    "body": {"lot": "{{ input.lot }}", "event": "{{ event.id }}"}
                }
            }
        }
    });
    merge(&mut def, extra);
    def
}

/// Merges the fields of `extra` (an object) into `into`, replacing those it names.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// The session scheme of the third party: `POST /login` with the credentials, the token in
/// `X-Session`.
pub fn session_auth() -> Value {
    json!({
        "type": "session",
        "fields": [
            {"key": "username", "label": "User", "required": true},
            {"key": "password", "label": "Password", "required": true, "secret": true}
        ],
        "login": {
            "method": "POST",
            "url": "{{ env.BASE_URL }}/login",
            "body": {"username": "{{ credentials.username }}", "password": "{{ credentials.password }}"}
        },
        "token": "/token",
        "expires_in": "/expires_in",
        "apply": {"header": "X-Session", "value": "{{ session.token }}"}
    })
}

/// The OAuth 2 client-credentials scheme with the third party's token endpoint.
pub fn oauth2_auth(client_auth: &str) -> Value {
    json!({
        "type": "oauth2_client_credentials",
        "token_url": "{{ env.BASE_URL }}/oauth/token",
        "client_auth": client_auth
    })
}

/// The path (`/hooks/{token}/{trigger}`) of a connection view's hook URL for `trigger`.
pub fn hook_path(connection: &Value, trigger: &str) -> String {
    let url = connection["hook_urls"][trigger]
        .as_str()
        .unwrap_or_else(|| panic!("the connection has a hook URL for {trigger}: {connection}"));
    let at = url
        .find("/hooks/")
        .unwrap_or_else(|| panic!("a hook URL has /hooks/: {url}"));
    url[at..].to_string()
}

/// Lower-case hex of the HMAC-SHA256 of `body` with `key` (a tool signing its webhook).
pub fn hmac_sha256_hex(key: &str, body: &str) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::sign(&key, body.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A connection view's id.
pub fn id_of(view: &Value) -> String {
    view["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id in {view}"))
        .to_string()
}

impl TestApp {
    /// A developer and an AP integrator.
    pub async fn apps_setup(&self) -> AppsSetup {
        let developer = self.client(&DEVELOPER_SCOPES, &["AP"]).await;
        let mut scopes = PORTAL_SCOPES.to_vec();
        scopes.extend(["apps:read", "connections:read", "connections:write"]);
        let integrator = self.client(&scopes, &["AP"]).await;
        AppsSetup {
            developer,
            integrator,
        }
    }

    /// `POST /v1/apps`.
    pub async fn post_app(&self, token: &str, definition: &Value, env: Value) -> ApiResponse {
        self.post(
            "/v1/apps",
            token,
            &json!({"definition": definition, "environment": env}),
        )
        .await
    }

    /// Publishes an app version, asserts 201, returns the view.
    pub async fn publish_app_ok(&self, token: &str, definition: &Value, env: Value) -> Value {
        let resp = self.post_app(token, definition, env).await;
        resp.assert_status(201);
        self.assert_free_of_secrets("the published app's view", &resp.text);
        resp.json
    }

    /// `POST /v1/connections`; every credential and secret-looking property is remembered as
    /// a secret first.
    pub async fn post_connection(&self, token: &str, body: &Value) -> ApiResponse {
        if let Some(creds) = body["credentials"].as_object() {
            self.remember_values("connection credential", creds);
        }
        let resp = self.post("/v1/connections", token, body).await;
        self.assert_free_of_secrets("a connection's view", &resp.text);
        resp
    }

    /// Creates a connection for AP to `app` `version`, asserts 201, returns the view.
    pub async fn connect_ok(
        &self,
        token: &str,
        app: &str,
        version: &str,
        credentials: Value,
        extra: Value,
    ) -> Value {
        let mut body = json!({
            "app": app, "version": version, "name": format!("{app} of AP"),
            "state": "AP", "credentials": credentials,
        });
        merge(&mut body, extra);
        let resp = self.post_connection(token, &body).await;
        resp.assert_status(201);
        resp.json
    }

    /// Remembers every string value of `values` (and of nested objects) as a secret.
    pub fn remember_values(&self, kind: &'static str, values: &Map<String, Value>) {
        for v in values.values() {
            match v {
                Value::String(s) => self.remember_secret(kind, s),
                Value::Object(inner) => self.remember_values(kind, inner),
                _ => {}
            }
        }
    }

    /// Creates a workflow for `event_types` running `actions` (`max_attempts` 50, so that it
    /// keeps retrying while a test fixes things); asserts 201, returns its id.
    pub async fn workflow_ok(&self, token: &str, event_types: &[&str], actions: Value) -> String {
        let resp = self
            .subscribe(
                token,
                &json!({"mode": "action", "event_types": event_types, "actions": actions, "max_attempts": 50}),
            )
            .await;
        resp.assert_status(201);
        id_of(&resp.json)
    }

    /// Subscribes `token` to every event type at `receiver`'s `/hook`, its own events
    /// included: what the triggers of its connections publish (their source is the
    /// connection's client).
    pub async fn listen(&self, token: &str, receiver: &Receiver) {
        self.subscribe_at(
            token,
            &receiver.url("/hook"),
            json!({"include_own_events": true}),
        )
        .await;
    }

    /// Asserts that no secret the test saw appears in `text` (a response or a record).
    #[track_caller]
    pub fn assert_free_of_secrets(&self, what: &str, text: &str) {
        let findings = self.secrets.findings_in(text, what);
        assert!(
            findings.is_empty(),
            "secrets leaked into {what}:\n{}\n{text}",
            findings.join("\n")
        );
    }
}
