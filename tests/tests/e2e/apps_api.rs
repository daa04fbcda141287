//! The apps, connections, workflows and inbound hooks API refusing bad input (issue 23):
//! each refusal is a problem+json 4xx naming the offending field, and stores nothing; a
//! connection's secrets never appear in an answer; another client's connection is a 404.

use serde_json::{Value, json};

use crate::support::api::ApiResponse;

use crate::support::{Receiver, TestApp, TestClient};

/// Scopes of a client that publishes apps, connects to them and builds workflows.
const SCOPES: [&str; 6] = [
    "apps:write",
    "connections:write",
    "subscriptions:write",
    "subscriptions:read",
    "events:read",
    "apps:read",
];

/// The secret the test's tool signs its webhooks with (Standard Webhooks).
const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A small app: basic auth, a location property and a secret signing key, a secret
/// environment value, an update action that searches first, a signed hook trigger and a
/// polling trigger.
fn definition(key: &str, version: &str) -> Value {
    json!({
        "key": key,
        "name": "Test shop",
        "version": version,
        "auth": {"type": "basic"},
        "properties": [
            {"key": "location", "label": "Location", "type": "string", "required": true},
            {"key": "signing_key", "label": "Signing key", "type": "string", "required": true, "secret": true},
        ],
        "environment": [
            {"key": "BASE_URL"},
            {"key": "API_TOKEN", "secret": true},
        ],
        "actions": {
            "find": {
                "label": "Find", "kind": "search",
                "inputs": [{"key": "ref", "type": "string", "required": true}],
                "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders", "query": {"ref": "{{ input.ref }}"}},
                "result": "/orders/0",
            },
            "set_status": {
                "label": "Set status", "kind": "update",
                "inputs": [
                    {"key": "ref", "type": "string", "required": true},
                    {"key": "status", "type": "string", "required": true},
                ],
                "search": "find",
                "if_not_found": "skip",
                "request": {"method": "PUT", "url": "{{ env.BASE_URL }}/orders/{{ found.id }}",
                    "body": {"status": "{{ input.status }}"}},
            },
        },
        "triggers": {
            "packed": {
                "label": "Packed", "event_type": "LotDispatched", "kind": "hook",
                "verify": {"type": "standard_webhooks", "secret": "{{ props.signing_key }}"},
                "id": "/id", "data": "/order",
            },
            "orders": {
                "label": "Orders", "event_type": "LotCreated", "kind": "polling",
                "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders"},
                "items": "/orders", "id": "/id", "min_interval_seconds": 60,
            },
        },
    })
}

fn environment() -> Value {
    json!({"BASE_URL": "https://shop.example", "API_TOKEN": "env-secret-token-9d2b"})
}

fn connection(key: &str, version: &str) -> Value {
    json!({
        "app": key, "version": version, "name": "Main", "state": "AP",
        "properties": {"location": "WH-1", "signing_key": HOOK_SECRET},
        "credentials": {"username": "shop-user", "password": "conn-password-41ae"},
        "polling": {"orders": {"enabled": false}},
    })
}

impl TestApp {
    /// A client with [`SCOPES`] for AP, whose test secrets the log scan looks for.
    async fn app_client(&self) -> TestClient {
        self.remember_secret("app environment", "env-secret-token-9d2b");
        self.remember_secret("connection credential", "conn-password-41ae");
        self.remember_secret("hook signing key", HOOK_SECRET);
        self.client(&SCOPES, &["AP"]).await
    }

    /// Publishes `def` with the test's environment; asserts 201.
    async fn publish_app(&self, token: &str, def: Value) -> Value {
        let body = json!({"definition": def, "environment": environment()});
        let resp = self.post("/v1/apps", token, &body).await;
        resp.assert_status(201);
        resp.json
    }

    /// Creates a connection; asserts 201.
    async fn connect(&self, token: &str, body: &Value) -> Value {
        let resp = self.post("/v1/connections", token, body).await;
        resp.assert_status(201);
        resp.json
    }
}

#[track_caller]
fn assert_field(resp: &ApiResponse, status: u16, code: &str, field: &str) {
    resp.assert_problem(status, code);
    assert!(
        resp.error_fields().iter().any(|f| f == field),
        "{field} in {:?}: {}",
        resp.error_fields(),
        resp.text
    );
}

#[tokio::test]
async fn a_bad_app_is_refused_with_the_field_path_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let publisher = app.app_client().await;
    let publish = |def: Value, env: Value| {
        let body = json!({"definition": def, "environment": env});
        let token = publisher.token.clone();
        let app = &app;
        async move { app.post("/v1/apps", &token, &body).await }
    };

    let mut bad = definition("bad-shop", "1.0.0");
    bad["actions"]["set_status"]["request"]["url"] = json!("{{ env.BASE_URL }/orders");
    let r = publish(bad, environment()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.error_fields()
            .iter()
            .any(|f| f == "definition.actions.set_status.request.url"),
        "{}",
        r.text
    );

    let mut undeclared = definition("bad-shop", "1.0.0");
    undeclared["actions"]["find"]["request"]["url"] = json!("{{ env.NOT_DECLARED }}/orders");
    let r = publish(undeclared, environment()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.error_fields()
            .iter()
            .any(|f| f == "definition.actions.find.request.url"),
        "{}",
        r.text
    );

    let mut unknown_type = definition("bad-shop", "1.0.0");
    unknown_type["triggers"]["packed"]["event_type"] = json!("NoSuchType");
    let r = publish(unknown_type, environment()).await;
    assert_field(
        &r,
        422,
        "invalid_request",
        "definition.triggers.packed.event_type",
    );

    let r = publish(
        definition("bad-shop", "1.0.0"),
        json!({"BASE_URL": "https://shop.example"}),
    )
    .await;
    assert_field(&r, 422, "invalid_request", "environment.API_TOKEN");
    let mut extra = environment();
    extra["UNDECLARED"] = json!("x");
    let r = publish(definition("bad-shop", "1.0.0"), extra).await;
    assert_field(&r, 422, "invalid_request", "environment.UNDECLARED");

    let r = app
        .get("/v1/apps/bad-shop/versions", &publisher.token)
        .await;
    r.assert_problem(404, "not_found");
    let r = app
        .get("/v1/apps/bad-shop/versions/1.0.0", &publisher.token)
        .await;
    r.assert_problem(404, "not_found");

    // A good one: the secret environment value is never shown.
    let v = app
        .publish_app(&publisher.token, definition("shop", "1.0.0"))
        .await;
    assert_eq!(v["environment"]["API_TOKEN"], "[secret]", "{v}");
    assert_eq!(v["status"], "published");
    let r = app
        .post(
            "/v1/apps",
            &publisher.token,
            &json!({"definition": definition("shop", "1.0.0"), "environment": environment()}),
        )
        .await;
    r.assert_problem(409, "version_exists");

    // Another client may not publish under a key it does not own, nor deprecate its versions.
    let other = app.client(&["apps:write"], &["AP"]).await;
    let r = app
        .post(
            "/v1/apps",
            &other.token,
            &json!({"definition": definition("shop", "1.1.0"), "environment": environment()}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let r = app
        .post(
            "/v1/apps/shop/versions/1.0.0/deprecate",
            &other.token,
            &json!({}),
        )
        .await;
    r.assert_problem(403, "forbidden");
    let reader = app.client(&["events:read"], &["AP"]).await;
    app.get("/v1/apps", &reader.token)
        .await
        .assert_problem(403, "forbidden");
    let listed = app.get("/v1/apps", &publisher.token).await;
    listed.assert_status(200);
    assert!(
        !listed.text.contains("env-secret-token-9d2b"),
        "{}",
        listed.text
    );
    // Path segments that cannot name a version are 404s.
    for path in ["/v1/apps/Shop/versions/1.0.0", "/v1/apps/shop/versions/one"] {
        app.get(path, &publisher.token)
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_bad_connection_is_refused_with_the_field_path_and_secrets_are_never_answered() {
    let app = TestApp::spawn().await;
    let client = app.app_client().await;
    app.publish_app(&client.token, definition("shop", "1.0.0"))
        .await;
    app.publish_app(&client.token, definition("shop", "0.9.0"))
        .await;
    app.post(
        "/v1/apps/shop/versions/0.9.0/deprecate",
        &client.token,
        &json!({}),
    )
    .await
    .assert_status(200);

    let refused = |change: &dyn Fn(&mut Value), field: &'static str| {
        let mut body = connection("shop", "1.0.0");
        change(&mut body);
        let token = client.token.clone();
        let app = &app;
        async move {
            let r = app.post("/v1/connections", &token, &body).await;
            assert_field(&r, 422, "invalid_request", field);
        }
    };
    refused(&|b| b["version"] = json!("9.9.9"), "version").await;
    refused(&|b| b["version"] = json!("0.9.0"), "version").await;
    refused(&|b| b["app"] = json!("no-such-app"), "version").await;
    refused(
        &|b| {
            b["credentials"]
                .as_object_mut()
                .map(|c| c.remove("password"));
        },
        "credentials.password",
    )
    .await;
    refused(
        &|b| b["properties"]["colour"] = json!("blue"),
        "properties.colour",
    )
    .await;
    refused(
        &|b| b["properties"]["location"] = json!(7),
        "properties.location",
    )
    .await;
    refused(
        &|b| b["polling"] = json!({"orders": {"interval_seconds": 5}}),
        "polling.orders.interval_seconds",
    )
    .await;
    refused(
        &|b| b["polling"] = json!({"packed": {"enabled": true}}),
        "polling.packed",
    )
    .await;
    let mut elsewhere = connection("shop", "1.0.0");
    elsewhere["state"] = json!("TG");
    app.post("/v1/connections", &client.token, &elsewhere)
        .await
        .assert_problem(403, "forbidden");
    let listed = app.get("/v1/connections", &client.token).await;
    listed.assert_status(200);
    assert_eq!(listed.data().len(), 0, "nothing stored: {}", listed.text);

    let c = app
        .connect(&client.token, &connection("shop", "1.0.0"))
        .await;
    let text = c.to_string();
    for secret in ["conn-password-41ae", HOOK_SECRET, "env-secret-token-9d2b"] {
        assert!(!text.contains(secret), "no secret value in {text}");
    }
    assert_eq!(
        c["secrets_set"],
        json!(["password", "signing_key", "username"])
    );
    assert_eq!(c["properties"], json!({"location": "WH-1"}));
    let id = c["id"].as_str().expect("an id");
    let path = format!("/v1/connections/{id}");

    // Another client's view of it: none.
    let other = app.client(&SCOPES, &["AP"]).await;
    app.get(&path, &other.token)
        .await
        .assert_problem(404, "not_found");
    app.delete(&path, &other.token)
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/connections/con_nope", &client.token)
        .await
        .assert_problem(404, "not_found");

    let r = app
        .patch(
            &path,
            &client.token,
            &json!({"properties": {"location": null}}),
        )
        .await;
    assert_field(&r, 422, "invalid_request", "properties.location");
    let r = app
        .post(
            &format!("{path}/upgrade"),
            &client.token,
            &json!({"version": "0.9.0"}),
        )
        .await;
    assert_field(&r, 422, "invalid_request", "version");
    let r = app
        .patch(
            &path,
            &client.token,
            &json!({"credentials": {"password": 5}}),
        )
        .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
    let unchanged = app.get(&path, &client.token).await;
    unchanged.assert_status(200);
    assert_eq!(unchanged.json["properties"], json!({"location": "WH-1"}));

    app.delete(&path, &client.token).await.assert_status(204);
    app.get(&path, &client.token)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn workflow_steps_must_name_own_connections_real_actions_and_their_inputs() {
    let app = TestApp::spawn().await;
    let client = app.app_client().await;
    app.publish_app(&client.token, definition("shop", "1.0.0"))
        .await;
    let own = app
        .connect(&client.token, &connection("shop", "1.0.0"))
        .await;
    let other = app.app_client().await;
    let theirs = app
        .connect(&other.token, &connection("shop", "1.0.0"))
        .await;
    let step = |con: &Value, action: &str, input: Value| json!({"connection_id": con["id"], "action": action, "input": input});
    let good_input = json!({"ref": "{{ event.data.lot_id }}", "status": "ready_to_ship"});
    let workflow = |steps: Vec<Value>| json!({"mode": "action", "event_types": ["LotDispatched"], "states": ["AP"], "actions": steps});
    let cases = [
        (
            step(&theirs, "set_status", good_input.clone()),
            "invalid_request",
            "actions[0].connection_id",
        ),
        (
            step(&own, "nope", good_input.clone()),
            "invalid_request",
            "actions[0].action",
        ),
        (
            step(&own, "find", json!({"ref": "x"})),
            "invalid_request",
            "actions[0].action",
        ),
        (
            step(&own, "set_status", json!({"ref": "x"})),
            "invalid_request",
            "actions[0].input.status",
        ),
        (
            step(
                &own,
                "set_status",
                json!({"ref": "x", "status": "y", "colour": "z"}),
            ),
            "invalid_request",
            "actions[0].input.colour",
        ),
    ];
    for (s, code, field) in cases {
        let r = app.subscribe(&client.token, &workflow(vec![s])).await;
        assert_field(&r, 422, code, field);
    }
    let r = app
        .subscribe(
            &client.token,
            &workflow(vec![step(
                &own,
                "set_status",
                json!({"ref": "{{ event.data.lot_id", "status": "x"}),
            )]),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.error_fields().iter().any(|f| f == "actions[0].input.ref"),
        "{}",
        r.text
    );
    let listed = app.get("/v1/subscriptions", &client.token).await;
    assert_eq!(listed.data().len(), 0, "nothing stored: {}", listed.text);

    let created = app
        .subscribe(
            &client.token,
            &workflow(vec![step(&own, "set_status", good_input)]),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.json["mode"], "action");
    assert_eq!(created.json["actions"][0]["action"], "set_status");
}

/// Standard Webhooks headers signing `body` as message `id` with the test's hook secret.
fn signed(id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = time::OffsetDateTime::now_utc();
    let signature = standardwebhooks::Webhook::new(HOOK_SECRET)
        .and_then(|w| w.sign(id, ts.unix_timestamp(), body))
        .expect("a signature");
    vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.unix_timestamp().to_string()),
        ("webhook-signature", signature),
    ]
}

#[tokio::test]
async fn hooks_refuse_unknown_urls_bad_signatures_big_bodies_and_disabled_connections() {
    let app = TestApp::spawn().await;
    let client = app.app_client().await;
    app.publish_app(&client.token, definition("shop", "1.0.0"))
        .await;
    let c = app
        .connect(&client.token, &connection("shop", "1.0.0"))
        .await;
    let url = c["hook_urls"]["packed"]
        .as_str()
        .expect("a hook URL")
        .to_string();
    let path = url
        .find("/hooks/")
        .map(|at| url[at..].to_string())
        .expect("a /hooks/ path");
    let token = path.split('/').nth(2).expect("a token").to_string();
    let http = reqwest::Client::new();
    let send = |path: String, body: Vec<u8>, headers: Vec<(&'static str, String)>| {
        let mut req = http
            .post(app.url(&path))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        app.send(req)
    };
    let body =
        serde_json::to_vec(&json!({"id": "ord-1", "order": {"lot_id": "L-1"}})).expect("JSON");

    send(
        format!("/hooks/{}/packed", "A".repeat(32)),
        body.clone(),
        signed("msg_1", &body),
    )
    .await
    .assert_problem(404, "not_found");
    send(
        format!("/hooks/{token}/nope"),
        body.clone(),
        signed("msg_1", &body),
    )
    .await
    .assert_problem(404, "not_found");
    // A polling trigger has no hook.
    send(
        format!("/hooks/{token}/orders"),
        body.clone(),
        signed("msg_1", &body),
    )
    .await
    .assert_problem(404, "not_found");
    send(path.clone(), body.clone(), Vec::new())
        .await
        .assert_problem(401, "unauthorized");
    send(path.clone(), body.clone(), signed("msg_1", b"another body"))
        .await
        .assert_problem(401, "unauthorized");
    let big = vec![b' '; 256 * 1024 + 1];
    send(path.clone(), big.clone(), signed("msg_2", &big))
        .await
        .assert_problem(413, "payload_too_large");
    let no_id = serde_json::to_vec(&json!({"order": {"lot_id": "L-1"}})).expect("JSON");
    let r = send(path.clone(), no_id.clone(), signed("msg_3", &no_id)).await;
    assert_field(&r, 422, "invalid_request", "id");

    let first = send(path.clone(), body.clone(), signed("msg_1", &body)).await;
    first.assert_status(202);
    assert_eq!(first.json["duplicate"], false, "{}", first.text);
    let again = send(path.clone(), body.clone(), signed("msg_1", &body)).await;
    again.assert_status(202);
    assert_eq!(again.json["duplicate"], true, "{}", again.text);
    assert_eq!(again.json["event_id"], first.json["event_id"]);

    let con_path = format!("/v1/connections/{}", c["id"].as_str().expect("id"));
    app.patch(&con_path, &client.token, &json!({"enabled": false}))
        .await
        .assert_status(200);
    send(path.clone(), body.clone(), signed("msg_1", &body))
        .await
        .assert_problem(409, "conflict");
}

#[tokio::test]
async fn a_connection_test_reaches_the_tool_with_its_credentials_and_answers_no_secret() {
    let app = TestApp::spawn().await;
    let client = app.app_client().await;
    let tool = Receiver::start().await;
    let mut def = definition("shop", "1.0.0");
    def["test"] = json!({"method": "GET", "url": "{{ env.BASE_URL }}/ping"});
    let env = json!({"BASE_URL": tool.url(""), "API_TOKEN": "env-secret-token-9d2b"});
    app.post(
        "/v1/apps",
        &client.token,
        &json!({"definition": def, "environment": env}),
    )
    .await
    .assert_status(201);
    app.publish_app(&client.token, definition("shop", "2.0.0"))
        .await;
    let c = app
        .connect(&client.token, &connection("shop", "1.0.0"))
        .await;
    let path = format!("/v1/connections/{}/test", c["id"].as_str().expect("id"));

    let r = app.post(&path, &client.token, &json!({})).await;
    r.assert_status(200);
    assert_eq!(r.json["ok"], true, "{}", r.text);
    assert_eq!(r.json["status"], 200, "{}", r.text);
    assert!(
        r.json["request_excerpt"]
            .as_str()
            .is_some_and(|e| e.starts_with("GET http://127.0.0.1:")),
        "{}",
        r.text
    );
    for secret in ["conn-password-41ae", "env-secret-token-9d2b"] {
        assert!(!r.text.contains(secret), "no secret in {}", r.text);
    }
    let got = tool.wait_for(1, std::time::Duration::from_secs(10)).await;
    assert!(
        got[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "the test request carries the connection's credentials"
    );

    // A version without a test request has nothing to run.
    let upgraded = app
        .post(
            &format!("/v1/connections/{}/upgrade", c["id"].as_str().expect("id")),
            &client.token,
            &json!({"version": "2.0.0"}),
        )
        .await;
    upgraded.assert_status(200);
    assert_eq!(upgraded.json["version"], "2.0.0");
    let r = app.post(&path, &client.token, &json!({})).await;
    assert_field(&r, 422, "invalid_request", "version");
    // Nor may a reader run it.
    let reader = app.client(&["connections:read"], &["AP"]).await;
    app.post(&path, &reader.token, &json!({}))
        .await
        .assert_problem(403, "forbidden");
}
