//! Hook triggers: the tool POSTs to a connection's inbound URL; a request that verifies (an
//! HMAC header, Standard Webhooks, a shared token) becomes one event of the trigger's type for
//! the connection's state, published by the connection's client; one that does not is 401 and
//! publishes nothing; a repeated hook id is published once.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::ApiResponse;
use crate::support::apps::{AppsSetup, definition, hmac_sha256_hex, hook_path};
use crate::support::flow::WAIT;
use crate::support::secrets::random_string;
use crate::support::{Receiver, TestApp};

/// The app `hooked`: three hook triggers, one per verification, their secrets in secret
/// properties.
fn hooked_definition() -> Value {
    let secret_prop =
        |key: &str| json!({"key": key, "label": key, "required": true, "secret": true});
    definition(
        "hooked",
        "1.0.0",
        json!({"type": "none"}),
        json!({
            "properties": [secret_prop("hmac_key"), secret_prop("whsec"), secret_prop("shared_token")],
            "triggers": {
                "hmac_order": {
                    "label": "Order (HMAC)", "kind": "hook", "event_type": "LotDispatched",
                    "verify": {"type": "hmac", "header": "X-Signature", "secret": "{{ props.hmac_key }}", "prefix": "sha256="},
                    "id": "/id", "data": "/data"
                },
                "sw_order": {
                    "label": "Order (Standard Webhooks)", "kind": "hook", "event_type": "LotReceived",
                    "verify": {"type": "standard_webhooks", "secret": "{{ props.whsec }}"},
                    "data": "/data"
                },
                "token_order": {
                    "label": "Order (token)", "kind": "hook", "event_type": "LotCreated",
                    "verify": {"type": "token", "header": "X-Hook-Token", "secret": "{{ props.shared_token }}"},
                    "id": "/id"
                }
            }
        }),
    )
}

/// A runner, the app `hooked` (three hook triggers, one per verification) and a connection
/// of the AP integrator to it, whose events a receiver gets.
struct Hooked {
    app: TestApp,
    setup: AppsSetup,
    connection: Value,
    receiver: Receiver,
    hmac_key: String,
    whsec: String,
    shared_token: String,
}

impl Hooked {
    async fn start() -> Hooked {
        let app = TestApp::spawn().await;
        let setup = app.apps_setup().await;
        let def = hooked_definition();
        app.publish_app_ok(
            &setup.developer.token,
            &def,
            json!({"BASE_URL": "http://127.0.0.1:9"}),
        )
        .await;
        let hmac_key = random_string(32);
        let whsec = format!("whsec_{}", STANDARD.encode(random_string(24)));
        let shared_token = random_string(32);
        for s in [&hmac_key, &whsec, &shared_token] {
            app.remember_secret("hook verification secret", s);
        }
        let connection = app
            .connect_ok(
                &setup.integrator.token,
                "hooked",
                "1.0.0",
                json!({}),
                json!({"properties": {"hmac_key": hmac_key, "whsec": whsec, "shared_token": shared_token}}),
            )
            .await;
        let receiver = Receiver::start().await;
        app.listen(&setup.integrator.token, &receiver).await;
        Hooked {
            app,
            setup,
            connection,
            receiver,
            hmac_key,
            whsec,
            shared_token,
        }
    }

    /// `POST` of `body` to the hook of `trigger` with `headers`.
    async fn post(&self, trigger: &str, headers: &[(&str, String)], body: &str) -> ApiResponse {
        let mut req = self
            .app
            .request(Method::POST, &hook_path(&self.connection, trigger))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = self.app.send(req).await;
        self.app
            .assert_free_of_secrets("a hook's answer", &resp.text);
        resp
    }

    /// Asserts a 202 and returns `(event_id, duplicate)`.
    #[track_caller]
    fn accepted(resp: &ApiResponse) -> (String, bool) {
        resp.assert_status(202);
        let id = resp.json["event_id"]
            .as_str()
            .unwrap_or_else(|| panic!("an event_id: {}", resp.text));
        (
            id.to_string(),
            resp.json["duplicate"]
                .as_bool()
                .unwrap_or_else(|| panic!("a duplicate flag: {}", resp.text)),
        )
    }

    /// The one event the receiver got: its envelope, after checking its source and state.
    async fn the_event(&self, event_id: &str) -> Value {
        let got = self.receiver.wait_for(1, WAIT).await;
        let envelope = got[0].json();
        assert_eq!(envelope["id"], event_id);
        assert_eq!(envelope["state"], "AP");
        assert_eq!(envelope["source"], self.setup.integrator.id.as_str());
        self.receiver.assert_no_more_requests(1).await;
        envelope
    }
}

#[tokio::test]
async fn hmac_signed_hook_is_published_once_and_a_bad_signature_publishes_nothing() {
    let h = Hooked::start().await;
    let body = json!({"id": "h-1", "data": {"lotNo": "L-1"}}).to_string();
    let sign = |b: &str| {
        vec![(
            "X-Signature",
            format!("sha256={}", hmac_sha256_hex(&h.hmac_key, b)),
        )]
    };

    let forged = json!({"id": "h-2", "data": {"lotNo": "L-666"}}).to_string();
    for headers in [
        vec![],
        vec![("X-Signature", "sha256=00".to_string())],
        vec![(
            "X-Signature",
            format!("sha256={}", hmac_sha256_hex(&random_string(32), &forged)),
        )],
        sign(&body),
    ] {
        // Every one of these is refused: no signature, a made-up one, another key's, and
        // the right body's signature on another body.
        h.post("hmac_order", &headers, &forged)
            .await
            .assert_status(401);
    }

    let (first, duplicate) = Hooked::accepted(&h.post("hmac_order", &sign(&body), &body).await);
    assert!(!duplicate);
    let (again, duplicate) = Hooked::accepted(&h.post("hmac_order", &sign(&body), &body).await);
    assert!(duplicate, "the same hook id again is a duplicate");
    assert_eq!(again, first);

    let envelope = h.the_event(&first).await;
    assert_eq!(envelope["type"], "LotDispatched");
    assert_eq!(
        envelope["data"],
        json!({"lotNo": "L-1"}),
        "the data pointer's value"
    );
}

#[tokio::test]
async fn standard_webhooks_hook_is_verified_and_a_repeated_webhook_id_published_once() {
    let h = Hooked::start().await;
    let body = json!({"data": {"lotNo": "L-2"}}).to_string();
    let signed = |secret: &str, id: &str, b: &str| {
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let sig = standardwebhooks::Webhook::new(secret)
            .and_then(|w| w.sign(id, ts, b.as_bytes()))
            .expect("a signature");
        vec![
            ("webhook-id", id.to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ]
    };
    let other = format!("whsec_{}", STANDARD.encode(random_string(24)));
    h.post("sw_order", &signed(&other, "msg_1", &body), &body)
        .await
        .assert_status(401);
    let tampered = json!({"data": {"lotNo": "L-666"}}).to_string();
    h.post("sw_order", &signed(&h.whsec, "msg_1", &body), &tampered)
        .await
        .assert_status(401);

    let (first, duplicate) = Hooked::accepted(
        &h.post("sw_order", &signed(&h.whsec, "msg_1", &body), &body)
            .await,
    );
    assert!(!duplicate);
    let (again, duplicate) = Hooked::accepted(
        &h.post("sw_order", &signed(&h.whsec, "msg_1", &body), &body)
            .await,
    );
    assert!(duplicate, "the same webhook-id again is a duplicate");
    assert_eq!(again, first);

    let envelope = h.the_event(&first).await;
    assert_eq!(envelope["type"], "LotReceived");
    assert_eq!(envelope["data"], json!({"lotNo": "L-2"}));
}

#[tokio::test]
async fn token_hook_is_verified_and_unknown_or_disabled_hooks_are_refused() {
    let h = Hooked::start().await;
    let body = json!({"id": "t-1", "lotNo": "L-3"}).to_string();
    h.post("token_order", &[("X-Hook-Token", random_string(32))], &body)
        .await
        .assert_status(401);
    h.post("token_order", &[], &body).await.assert_status(401);

    let token = vec![("X-Hook-Token", h.shared_token.clone())];
    let (first, duplicate) = Hooked::accepted(&h.post("token_order", &token, &body).await);
    assert!(!duplicate);
    let (again, duplicate) = Hooked::accepted(&h.post("token_order", &token, &body).await);
    assert!(duplicate);
    assert_eq!(again, first);
    let envelope = h.the_event(&first).await;
    assert_eq!(envelope["type"], "LotCreated");
    assert_eq!(
        envelope["data"],
        json!({"id": "t-1", "lotNo": "L-3"}),
        "the whole body"
    );

    let path = hook_path(&h.connection, "token_order");
    let unknown_token = path.replacen("/hooks/", "/hooks/x", 1);
    let unknown_trigger = format!("{}nope", path);
    for p in [unknown_token, unknown_trigger] {
        let resp = h
            .app
            .send(
                h.app
                    .request(Method::POST, &p)
                    .header("X-Hook-Token", &h.shared_token)
                    .body(body.clone()),
            )
            .await;
        resp.assert_status(404);
    }

    let id = h.connection["id"].as_str().expect("an id");
    h.app
        .patch(
            &format!("/v1/connections/{id}"),
            &h.setup.integrator.token,
            &json!({"enabled": false}),
        )
        .await
        .assert_status(200);
    let other = json!({"id": "t-2"}).to_string();
    h.post("token_order", &token, &other)
        .await
        .assert_status(409);
    h.receiver.assert_no_more_requests(1).await;
}
