//! `ActionFlow`: the set-up of the action tests — a runner, a third-party tool enforcing one
//! scheme, an app version of it published, a connection of the AP integrator, and a workflow
//! running one action for every `LotDispatched`; then publishing lots and reading the
//! deliveries of the workflow.

use std::time::Duration;

use serde_json::{Value, json};

use super::api::TestClient;
use super::app::TestApp;
use super::apps::{AppsSetup, definition, id_of, merge};
use super::deliveries::finished_attempts;
use super::third_party::{Guard, ThirdParty};

/// How long an action test waits for one thing.
pub const WAIT: Duration = Duration::from_secs(30);

/// One workflow of one connection to a tool.
pub struct ActionFlow {
    pub app: TestApp,
    pub setup: AppsSetup,
    pub tool: ThirdParty,
    pub publisher: TestClient,
    /// The connection's view at creation.
    pub connection: Value,
    /// The workflow (a subscription) id.
    pub workflow: String,
}

/// What an [`ActionFlow`] sets up.
pub struct Spec {
    /// The app's auth scheme.
    pub auth: Value,
    /// What the tool enforces.
    pub guard: Guard,
    /// The connection's credentials.
    pub credentials: Value,
    /// Fields merged over the app's definition.
    pub extra: Value,
    /// Environment values besides `BASE_URL`.
    pub environment: Value,
    /// The connection's properties.
    pub properties: Value,
    /// The workflow's action, and its input.
    pub action: &'static str,
    pub input: Value,
    /// The runner's log format.
    pub log_format: &'static str,
}

impl Spec {
    /// The generic action `create_item` (`lot` from the event), nothing else.
    pub fn new(auth: Value, guard: Guard, credentials: Value) -> Spec {
        Spec {
            auth,
            guard,
            credentials,
            extra: json!({}),
            environment: json!({}),
            properties: json!({}),
            action: "create_item",
            input: json!({"lot": "{{ event.data.lotNo }}"}),
            log_format: "text",
        }
    }
}

impl ActionFlow {
    /// A runner (retries every 200 ms), the tool enforcing the spec's guard, the app `tool`
    /// 1.0.0 published, a connection of the AP integrator, and a workflow running the spec's
    /// action for every `LotDispatched`.
    pub async fn start(spec: Spec) -> ActionFlow {
        let app = TestApp::builder()
            .retry_schedule("200ms")
            .log_format(spec.log_format)
            .spawn()
            .await;
        let tool = ThirdParty::start(spec.guard).await;
        let setup = app.apps_setup().await;
        let def = definition("tool", "1.0.0", spec.auth, spec.extra);
        let mut env = json!({"BASE_URL": tool.base_url()});
        merge(&mut env, spec.environment);
        app.publish_app_ok(&setup.developer.token, &def, env).await;
        let connection = app
            .connect_ok(
                &setup.integrator.token,
                "tool",
                "1.0.0",
                spec.credentials,
                json!({"properties": spec.properties}),
            )
            .await;
        let workflow = app
            .workflow_ok(
                &setup.integrator.token,
                &["LotDispatched"],
                json!([{"connection_id": id_of(&connection), "action": spec.action, "input": spec.input}]),
            )
            .await;
        let publisher = app.publisher(&["AP"]).await;
        ActionFlow {
            app,
            setup,
            tool,
            publisher,
            connection,
            workflow,
        }
    }

    /// [`ActionFlow::start`] with the generic action `create_item` (`lot` from the event).
    pub async fn create_items(auth: Value, guard: Guard, credentials: Value) -> ActionFlow {
        ActionFlow::start(Spec::new(auth, guard, credentials)).await
    }

    /// The connection's id.
    pub fn connection_id(&self) -> String {
        id_of(&self.connection)
    }

    /// Publishes a `LotDispatched` for AP with `data`; returns the event id.
    pub async fn dispatch(&self, data: Value) -> String {
        self.app
            .publish_event(&self.publisher.token, "LotDispatched", "AP", data)
            .await
    }

    /// Publishes a `LotDispatched` of lot `lot`; returns the event id.
    pub async fn dispatch_lot(&self, lot: &str) -> String {
        self.dispatch(json!({"lotNo": lot})).await
    }

    /// The workflow's delivery of `event_id`, once `done` holds for it; asserts that the
    /// record holds no secret the test saw.
    pub async fn delivery_when(
        &self,
        event_id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.delivery_of(&self.workflow, event_id, what, done).await
    }

    /// The delivery of `event_id` to `workflow` (one of the integrator's), once `done`
    /// holds for it; asserts that the record holds no secret the test saw.
    pub async fn delivery_of(
        &self,
        workflow: &str,
        event_id: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let token = &self.setup.integrator.token;
        let id = self.app.delivery_id_of(token, workflow, event_id).await;
        let d = self
            .app
            .wait_for_delivery(token, &id, what, WAIT, done)
            .await;
        self.app
            .assert_free_of_secrets("a delivery record", &d.to_string());
        d
    }

    /// The workflow's delivery of `event_id` once it succeeded.
    pub async fn succeeded(&self, event_id: &str) -> Value {
        self.delivery_when(event_id, "succeeded", |d| d["status"] == "succeeded")
            .await
    }

    /// The workflow's delivery of `event_id` once `n` attempts failed and it is retrying.
    pub async fn failing(&self, event_id: &str, n: usize) -> Value {
        self.delivery_when(event_id, &format!("{n} failed attempts"), |d| {
            d["status"] == "retrying" && finished_attempts(d).len() >= n
        })
        .await
    }

    /// `PATCH /v1/connections/{id}` with `credentials` (remembered as secrets); asserts 200.
    pub async fn set_credentials(&self, credentials: Value) {
        if let Some(c) = credentials.as_object() {
            self.app.remember_values("connection credential", c);
        }
        let resp = self
            .app
            .patch(
                &format!("/v1/connections/{}", self.connection_id()),
                &self.setup.integrator.token,
                &json!({"credentials": credentials}),
            )
            .await;
        resp.assert_status(200);
        self.app
            .assert_free_of_secrets("a patched connection's view", &resp.text);
    }

    /// Remembers every token the tool issued as a secret (for the scans that follow).
    pub fn remember_issued_tokens(&self) {
        for t in self.tool.issued_tokens() {
            self.app.remember_secret("third-party token", &t);
        }
    }
}
