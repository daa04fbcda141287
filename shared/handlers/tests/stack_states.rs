//! A state's stack serves only its states: events and subscriptions for another state are
//! refused with 403, whatever the client itself is allowed.

use std::sync::Arc;

use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{Client, Scope, ids};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_handlers::{AppContext, HandlerConfig, app};
use hookline_ports::SystemClock;
use serde_json::{Value, json};
use time::OffsetDateTime;

struct Stack {
    base: String,
    http: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

async fn stack_serving(states: &[&str]) -> Stack {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("open task")
            .expect("open the embedded backend");
    let secret = new_client_secret();
    let client = Client {
        id: ids::new_id(ids::CLIENT, 1),
        name: "portal allowed every state".into(),
        scopes: vec![Scope::EventsWrite, Scope::SubscriptionsWrite],
        states: vec!["*".into()],
        secret_hash: hash_client_secret(&secret),
        created_at: OffsetDateTime::now_utc(),
        disabled: false,
    };
    backend
        .store()
        .insert_client(&client)
        .await
        .expect("client");
    backend
        .store()
        .put_event_type(&hookline_domain::EventType {
            name: "LotDispatched".into(),
            description: String::new(),
            schema: None,
        })
        .await
        .expect("event type");
    let mut config = HandlerConfig::new("http://stack.test", "embedded");
    config.states = states.iter().map(|s| s.to_string()).collect();
    config.destinations.allow_http = true;
    let ctx = AppContext::new(
        backend.store(),
        backend.queue(),
        backend.keys(),
        Arc::new(SystemClock),
        config,
    )
    .await
    .expect("handler context");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app(ctx)).await });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let resp = http
        .post(format!("{base}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}",
            client.id
        ))
        .send()
        .await
        .expect("token request");
    let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    Stack {
        base,
        http,
        token,
        _dir: dir,
    }
}

impl Stack {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let body =
            serde_json::from_slice(&resp.bytes().await.expect("body")).unwrap_or(Value::Null);
        (status, body)
    }
}

#[tokio::test]
async fn events_for_a_state_the_stack_does_not_serve_are_refused() {
    let stack = stack_serving(&["AP"]).await;
    let event =
        |state: &str| json!({"type": "LotDispatched", "state": state, "data": {"lotNo": "L-1"}});

    let (status, _) = stack.post("/v1/events", event("AP")).await;
    assert_eq!(status, 202);
    let (status, body) = stack.post("/v1/events", event("TG")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("serves AP")),
        "{body}"
    );
}

#[tokio::test]
async fn subscriptions_for_a_state_the_stack_does_not_serve_are_refused() {
    let stack = stack_serving(&["AP", "TG"]).await;
    let sub = |states: Value| json!({"url": "http://portal.example.org/hook", "event_types": ["*"], "states": states});

    let (status, body) = stack
        .post("/v1/subscriptions", sub(json!(["AP", "TG"])))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = stack
        .post("/v1/subscriptions", sub(json!(["AP", "KA"])))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
}

#[tokio::test]
async fn a_stack_for_every_state_refuses_none() {
    let stack = stack_serving(&["*"]).await;
    let (status, _) = stack
        .post(
            "/v1/events",
            json!({"type": "LotDispatched", "state": "KA", "data": {}}),
        )
        .await;
    assert_eq!(status, 202);
}
