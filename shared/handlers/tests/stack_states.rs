//! A state's stack serves only its states: events and subscriptions for another state are
//! refused with 403, whatever the client itself is allowed.

mod support;

use hookline_domain::Scope;
use hookline_handlers::HandlerConfig;
use serde_json::{Value, json};
use support::{Served, serve};

struct Stack {
    served: Served,
    token: String,
}

async fn stack_serving(states: &[&str]) -> Stack {
    let mut config = HandlerConfig::new("http://stack.test", "embedded");
    config.states = states.iter().map(|s| s.to_string()).collect();
    config.destinations.allow_http = true;
    let served = serve(
        config,
        vec![Scope::EventsWrite, Scope::SubscriptionsWrite],
        &["*"],
        &["LotDispatched"],
    )
    .await;
    let token = served.token().await;
    Stack { served, token }
}

impl Stack {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.served.post(&self.token, path, body).await
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
