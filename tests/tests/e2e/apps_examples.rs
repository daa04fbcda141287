//! The example apps of `apps/` (the seeds' integrations), each published as it is checked in
//! and exercised end to end against the third-party tool playing its service: the assessment
//! service's plugin endpoint (API key header), the marketplace's order feed (polled), and
//! the shop whose order status an OAuth 2 action sets after a search.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::apps::{AppsSetup, id_of};
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
async fn assessment_plugin_example_posts_results_with_its_api_key() {
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
            json!({}),
        )
        .await;
    let action = def["actions"]
        .as_object()
        .and_then(|a| a.keys().next().cloned())
        .expect("an action");
    let inputs: serde_json::Map<String, Value> = def["actions"][&action]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["key"].as_str())
        .map(|k| (k.to_string(), json!(format!("{{{{ event.data.{k} }}}}"))))
        .collect();
    app.workflow_ok(
        &setup.integrator.token,
        &["LotTestPassed"],
        json!([{"connection_id": id_of(&connection), "action": action, "input": inputs}]),
    )
    .await;
    let publisher = app.publisher(&["AP"]).await;
    let data: serde_json::Map<String, Value> = inputs
        .keys()
        .map(|k| (k.clone(), json!(format!("{k}-1"))))
        .collect();
    app.publish_event(&publisher.token, "LotTestPassed", "AP", Value::Object(data))
        .await;
    let got = tool
        .wait_for_success("POST", "/plugin/events", 1, WAIT)
        .await;
    assert_eq!(got[0].header("x-api-key"), Some(api_key.as_str()));
}

#[tokio::test]
async fn marketplace_orders_example_publishes_each_new_order_once() {
    let def = example("marketplace-orders");
    let (key, version) = key_version(&def);
    let (trigger, spec) = def["triggers"]
        .as_object()
        .and_then(|t| t.iter().find(|(_, s)| s["kind"] == "polling"))
        .map(|(k, s)| (k.clone(), s.clone()))
        .expect("a polling trigger");
    let api_key = random_string(32);
    let tool = ThirdParty::start(Guard::ApiKeyHeader {
        name: def["auth"]["name"]
            .as_str()
            .unwrap_or("x-api-key")
            .to_ascii_lowercase(),
        key: api_key.clone(),
    })
    .await;
    for r in ["M-1", "M-2", "M-3"] {
        tool.add_order(r, "paid");
    }
    let (app, setup) = published(&def, json!({"BASE_URL": tool.base_url()})).await;
    let receiver = Receiver::start().await;
    app.listen(&setup.integrator.token, &receiver).await;
    let interval = spec["min_interval_seconds"].as_u64().unwrap_or(60);
    app.connect_ok(
        &setup.integrator.token,
        &key,
        &version,
        json!({"api_key": api_key}),
        json!({"polling": {trigger.as_str(): {"enabled": true, "interval_seconds": interval}}}),
    )
    .await;
    let got = receiver
        .wait_for(3, WAIT + Duration::from_secs(interval))
        .await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| {
            r.json()["data"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["ord_1", "ord_2", "ord_3"]);
    assert!(got.iter().all(|r| r.json()["type"] == spec["event_type"]));
}

#[tokio::test]
async fn shop_orders_example_sets_the_found_orders_status_with_oauth2() {
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
    let connection = app
        .connect_ok(
            &setup.integrator.token,
            &key,
            &version,
            json!({"client_id": "shop-client", "client_secret": secret}),
            json!({}),
        )
        .await;
    let action = def["actions"]
        .as_object()
        .and_then(|a| a.iter().find(|(_, s)| s["search"].is_string()))
        .map(|(k, _)| k.clone())
        .expect("an action that searches first");
    app.workflow_ok(
        &setup.integrator.token,
        &["LotDispatched"],
        json!([{"connection_id": id_of(&connection), "action": action,
                "input": {"ref": "{{ event.data.ref }}", "status": "ready_to_ship"}}]),
    )
    .await;
    let publisher = app.publisher(&["AP"]).await;
    app.publish_event(
        &publisher.token,
        "LotDispatched",
        "AP",
        json!({"ref": "S-1"}),
    )
    .await;
    tool.wait_for_success("PUT", "/orders/ord_1/status", 1, WAIT)
        .await;
    assert_eq!(tool.orders()[0]["status"], "ready_to_ship");
    assert_eq!(tool.token_requests(), 1);
    for t in tool.issued_tokens() {
        app.remember_secret("third-party token", &t);
    }
}
