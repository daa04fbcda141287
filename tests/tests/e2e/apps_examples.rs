//! The example apps of `apps/` (the seeds' integrations), each published as it is checked in
//! and exercised end to end against the third-party tool playing its service: the assessment
//! service's plugin endpoint (API key header), the marketplace's order feed (polled), and
//! the shop whose order status an OAuth 2 action sets after a search.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::apps::{AppsSetup, hmac_sha256_hex, hook_path, id_of};
use crate::support::flow::WAIT;
use crate::support::secrets::random_string;
use crate::support::{Guard, Receiver, TestApp, ThirdParty};

/// `apps/{name}.json`.
fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../apps/{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the example app {} ({e})", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is JSON: {e}", path.display()))
}

/// The app's key and version.
fn key_version(def: &Value) -> (String, String) {
    (
        def["key"].as_str().expect("a key").to_string(),
        def["version"].as_str().expect("a version").to_string(),
    )
}

/// A runner polling every 200 ms, the developer and the integrator, and `def` published with
/// `env`.
async fn published(def: &Value, env: Value) -> (TestApp, AppsSetup) {
    let app = TestApp::builder()
        .retry_schedule("200ms")
        .env("HOOKLINE_POLL_TICK_MS", "200")
        .spawn()
        .await;
    let setup = app.apps_setup().await;
    app.publish_app_ok(&setup.developer.token, def, env).await;
    (app, setup)
}

#[tokio::test]
async fn assessment_plugin_example_posts_events_with_its_api_key() {
    let def = example("assessment-plugin");
    let (key, version) = key_version(&def);
    let api_key = random_string(32);
    let tool = ThirdParty::start(Guard::ApiKeyHeader {
        name: "x-api-key".into(),
        key: api_key.clone(),
    })
    .await;
    let (app, setup) = published(&def, json!({"BASE_URL": tool.base_url()})).await;
    let connection = app
        .connect_ok(
            &setup.integrator.token,
            &key,
            &version,
            json!({"api_key": api_key}),
            json!({"properties": {"party": "AP-FRK-PARTY"}}),
        )
        .await;
    app.workflow_ok(
        &setup.integrator.token,
        &["LotTestPassed"],
        json!([{"connection_id": id_of(&connection), "action": "send_event", "input": {}}]),
    )
    .await;
    let publisher = app.publisher(&["AP"]).await;
    let data = json!({"lotNo": "L-1", "result": "pass"});
    let id = app
        .publish_event(&publisher.token, "LotTestPassed", "AP", data.clone())
        .await;
    let got = tool
        .wait_for_success("POST", "/plugin/events", 1, WAIT)
        .await;
    assert_eq!(got[0].header("x-api-key"), Some(api_key.as_str()));
    let body = got[0].json();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["name"], "LotTestPassed");
    assert_eq!(
        body["context"],
        json!({"organisationId": "AP-FRK-PARTY", "state": "AP"})
    );
    assert_eq!(body["data"], data, "the event's data, as JSON");
    assert!(body["timestamp"].is_string(), "{body}");
}

#[tokio::test]
async fn marketplace_orders_example_publishes_each_new_order_once() {
    let def = example("marketplace-orders");
    let (key, version) = key_version(&def);
    let api_key = random_string(32);
    let tool = ThirdParty::start(Guard::ApiKeyQuery {
        name: "api_key".into(),
        key: api_key.clone(),
    })
    .await;
    for r in ["M-1", "M-2", "M-3"] {
        tool.add_order(r, "paid");
    }
    let (app, setup) = published(&def, json!({"BASE_URL": tool.base_url()})).await;
    let receiver = Receiver::start().await;
    app.listen(&setup.integrator.token, &receiver).await;
    app.connect_ok(
        &setup.integrator.token,
        &key,
        &version,
        json!({"api_key": api_key}),
        json!({"properties": {"location_id": "WH-7"},
               "polling": {"new_order": {"enabled": true, "interval_seconds": 1}}}),
    )
    .await;
    let got = receiver.wait_for(3, WAIT).await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            let e = r.json();
            assert_eq!(e["type"], "LotCreated");
            e["data"]["id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["ord_1", "ord_2", "ord_3"]);
    let polls = tool.requests_to("GET", "/orders");
    assert!(
        polls
            .iter()
            .all(|p| p.query.get("location").map(String::as_str) == Some("WH-7"))
    );
    let reads = polls.len();
    tool.wait_for_success("GET", "/orders", reads + 2, WAIT)
        .await;
    receiver.assert_no_more_requests(3).await;
}

#[tokio::test]
async fn shop_orders_example_sets_statuses_after_a_search_and_hears_signed_webhooks() {
    let def = example("shop-orders");
    let (key, version) = key_version(&def);
    let secret = random_string(32);
    let tool = ThirdParty::start(Guard::OAuth2 {
        client_id: "shop-client".into(),
        client_secret: secret.clone(),
        ttl: Duration::from_secs(3600),
    })
    .await;
    tool.add_order("S-1", "packed");
    let (app, setup) = published(&def, json!({"BASE_URL": tool.base_url()})).await;
    let webhook_secret = random_string(32);
    app.remember_secret("shop webhook secret", &webhook_secret);
    let connection = app
        .connect_ok(
            &setup.integrator.token,
            &key,
            &version,
            json!({"client_id": "shop-client", "client_secret": secret}),
            json!({"properties": {"location_id": "LOC-1", "webhook_secret": webhook_secret}}),
        )
        .await;
    app.workflow_ok(
        &setup.integrator.token,
        &["LotDispatched"],
        json!([{"connection_id": id_of(&connection), "action": "update_status",
                "input": {"reference": "{{ event.data.ref }}", "status": "ready_to_ship"}}]),
    )
    .await;
    let publisher = app.publisher(&["AP"]).await;
    for r in ["S-1", "S-2"] {
        app.publish_event(&publisher.token, "LotDispatched", "AP", json!({"ref": r}))
            .await;
    }
    tool.wait_for_success("PUT", "/orders/ord_1/status", 1, WAIT)
        .await;
    let created = tool.wait_for_success("POST", "/orders", 1, WAIT).await;
    assert_eq!(
        created[0].json(),
        json!({"ref": "S-2", "status": "ready_to_ship", "location": "LOC-1"})
    );
    assert_eq!(tool.orders()[0]["status"], "ready_to_ship");
    assert_eq!(tool.token_requests(), 1);
    for t in tool.issued_tokens() {
        app.remember_secret("third-party token", &t);
    }

    // The shop's signed webhook becomes one LotReceived with the order as its data.
    let receiver = Receiver::start().await;
    app.listen(&setup.integrator.token, &receiver).await;
    let body = json!({"id": "wh-1", "topic": "orders/updated", "order": {"id": "ord_1", "status": "shipped"}})
        .to_string();
    let signature = format!("sha256={}", hmac_sha256_hex(&webhook_secret, &body));
    let path = hook_path(&connection, "order_updated");
    for sig in [
        format!("sha256={}", "0".repeat(64)),
        signature.clone(),
        signature,
    ] {
        app.send(
            app.request(Method::POST, &path)
                .header("content-type", "application/json")
                .header("X-Shop-Signature", sig)
                .body(body.clone()),
        )
        .await;
    }
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].json()["type"], "LotReceived");
    assert_eq!(
        got[0].json()["data"],
        json!({"id": "ord_1", "status": "shipped"})
    );
    receiver.assert_no_more_requests(1).await;
}
