//! The engine against a third party on 127.0.0.1: search-then-update, what happens when the
//! search finds nothing, permanent failures, redaction, polling and the connection test.

use std::sync::Arc;
use std::time::Duration;

use hookline_domain::apps::PollState;
use hookline_domain::subscription::ActionStep;
use serde_json::{Value, json};

use super::auth::Authenticator;
use super::fixtures::{CONNECTION, Log, Received, embedded_store, resolved, third_party};
use super::{AppEngine, Resolved, Resolver};
use crate::HandlerConfig;
use crate::delivery::client::WebhookClient;

const TIMEOUT: Duration = Duration::from_secs(5);

/// An engine allowed to reach loopback over http, over a fresh embedded store (the tests
/// resolve their connections themselves: the resolver's tests are its module's).
async fn engine() -> (AppEngine, tempfile::TempDir) {
    let (store, dir) = embedded_store().await;
    let mut config = HandlerConfig::new("http://127.0.0.1", "embedded");
    config.destinations.allow_http = true;
    config.destinations.allow_private = true;
    let client = WebhookClient::new(&config).expect("a client");
    let engine = AppEngine::new(Authenticator::new(client), Resolver::new(store));
    (engine, dir)
}

/// A shop app at `base`: a search by reference, an update of the found order's status that
/// searches first (`if_not_found` as given), a create, and a test request.
fn shop(base: &str, if_not_found: Option<&str>) -> Resolved {
    let mut update = json!({
        "kind": "update",
        "inputs": [
            {"key": "ref", "required": true},
            {"key": "status", "required": true},
            {"key": "quantity", "type": "integer"}
        ],
        "search": "find_order",
        "request": {
            "method": "PUT",
            "url": "{{ env.BASE_URL }}/orders/{{ found.id }}/status",
            "headers": {"X-Location": "{{ props.location_id }}"},
            "body": {"status": "{{ input.status }}", "quantity": "{{ input.quantity }}",
                     "note": "order {{ input.ref }} at {{ props.location_id }}"}
        }
    });
    if let Some(choice) = if_not_found {
        update["if_not_found"] = json!(choice);
    }
    resolved(
        json!({
            "auth": {"type": "basic"},
            "properties": [{"key": "location_id"}, {"key": "api_token", "secret": true}],
            "test": {"method": "GET", "url": "{{ env.BASE_URL }}/me"},
            "actions": {
                "find_order": {
                    "kind": "search",
                    "inputs": [{"key": "ref", "required": true}],
                    "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders",
                                "query": {"ref": "{{ input.ref }}"}},
                    "result": "/items/0"
                },
                "set_status": update,
                "create_order": {
                    "kind": "create",
                    "inputs": [{"key": "ref", "required": true}],
                    "request": {"method": "POST", "url": "{{ env.BASE_URL }}/orders",
                                "body": {"ref": "{{ input.ref }}", "found": "{{ found }}",
                                         "token": "{{ props.api_token }}"}}
                }
            }
        }),
        &[("BASE_URL", base, false)],
        json!({"location_id": "loc 7"}),
        json!({
            "credentials": {"username": "shop-user", "password": "pa55word-of-shop"},
            "properties": {"api_token": "tok-secret-98765"}
        }),
    )
}

fn step(action: &str, input: Value) -> ActionStep {
    serde_json::from_value(json!({
        "connection_id": CONNECTION,
        "action": action,
        "input": input
    }))
    .expect("a step")
}

fn event() -> Value {
    json!({"id": "evt_1", "type": "OrderPacked", "data": {"ref": "R 1/2", "status": "ready", "qty": 3}})
}

fn mapped() -> Value {
    json!({"ref": "{{ event.data.ref }}", "status": "{{ event.data.status }}", "quantity": "{{ event.data.qty }}"})
}

/// A shop whose search finds `found` (or nothing), echoing the body of other requests.
async fn shop_server(found: Value) -> (String, Log) {
    third_party(move |r: &Received| match (r.method.as_str(), r.path()) {
        ("GET", "/orders") => (200, json!({"items": found.clone()})),
        ("GET", "/me") => (200, json!({"me": "shop-user"})),
        _ => (200, json!({"ok": true})),
    })
    .await
}

#[tokio::test]
async fn a_found_item_is_what_the_update_changes() {
    let (engine, _dir) = engine().await;
    let (base, log) = shop_server(json!([{"id": 42, "ref": "R 1/2"}])).await;
    let conn = shop(&base, None);
    let outcome = engine
        .run_step(&conn, &step("set_status", mapped()), &event(), TIMEOUT)
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.status, Some(200));
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(
        log[0].uri, "/orders?ref=R+1%2F2",
        "the query value is encoded"
    );
    assert_eq!(log[1].method, "PUT");
    assert_eq!(log[1].uri, "/orders/42/status");
    assert_eq!(log[1].headers["x-location"], "loc 7");
    assert_eq!(
        log[1].json(),
        json!({"status": "ready", "quantity": 3, "note": "order R 1/2 at loc 7"}),
        "a single expression keeps its type"
    );
    assert!(
        log[1].headers.contains_key("authorization"),
        "basic auth applied"
    );
    assert!(
        outcome
            .request_excerpt
            .starts_with(&format!("PUT {base}/orders/42/status\n\n{{")),
        "{}",
        outcome.request_excerpt
    );
    assert!(
        !outcome
            .request_excerpt
            .to_lowercase()
            .contains("authorization")
    );
}

#[tokio::test]
async fn nothing_found_fails_skips_or_creates_as_the_action_says() {
    let (engine, _dir) = engine().await;
    for (choice, requests) in [
        (None, 1),
        (Some("fail"), 1),
        (Some("skip"), 1),
        (Some("create_order"), 2),
    ] {
        let (base, log) = shop_server(json!([])).await;
        let conn = shop(&base, choice);
        let outcome = engine
            .run_step(&conn, &step("set_status", mapped()), &event(), TIMEOUT)
            .await;
        let log = log.lock().expect("log").clone();
        assert_eq!(log.len(), requests, "{choice:?}");
        assert!(!outcome.permanent, "{choice:?}");
        match choice {
            None | Some("fail") => {
                assert_eq!(outcome.error.as_deref(), Some("not found"), "{choice:?}");
                assert!(outcome.request_excerpt.starts_with("GET "), "{outcome:?}");
            }
            Some("skip") => {
                assert!(outcome.succeeded(), "{outcome:?}");
                assert_eq!(outcome.response_excerpt, "skipped: not found");
            }
            _ => {
                assert!(outcome.succeeded(), "{outcome:?}");
                assert_eq!(log[1].method, "POST");
                assert_eq!(log[1].uri, "/orders");
                assert_eq!(
                    log[1].json(),
                    json!({"ref": "R 1/2", "found": null, "token": "tok-secret-98765"})
                );
                assert!(outcome.request_excerpt.starts_with("POST "), "{outcome:?}");
            }
        }
    }
}

#[tokio::test]
async fn template_errors_unknown_actions_and_missing_inputs_are_permanent_and_send_nothing() {
    let (engine, _dir) = engine().await;
    let (base, log) = shop_server(json!([{"id": 42}])).await;
    let conn = shop(&base, None);

    let broken = json!({"ref": "R-1", "status": "{{ event.data.missing.deeper }}"});
    let outcome = engine
        .run_step(&conn, &step("set_status", broken), &event(), TIMEOUT)
        .await;
    assert!(outcome.permanent, "{outcome:?}");
    let error = outcome.error.unwrap_or_default();
    assert!(error.contains("input.status"), "{error}");

    for (action, input, error) in [
        (
            "set_status",
            json!({"ref": "R-1"}),
            "missing required input status",
        ),
        (
            "delete_everything",
            mapped(),
            "unknown action delete_everything",
        ),
    ] {
        let outcome = engine
            .run_step(&conn, &step(action, input), &event(), TIMEOUT)
            .await;
        assert!(outcome.permanent, "{outcome:?}");
        assert_eq!(outcome.error.as_deref(), Some(error));
    }
    assert!(log.lock().expect("log").is_empty(), "nothing was sent");

    // An undefined variable in the action's own template: found after the search, before the
    // update is sent.
    let mut conn = shop(&base, None);
    let mut app = (*conn.app).clone();
    if let Some(action) = app.definition.actions.get_mut("set_status") {
        action.request.body =
            Some(json!({"status": "{{ input.status }}", "where": "{{ props.nowhere }}"}));
    }
    conn.app = Arc::new(app);
    let outcome = engine
        .run_step(&conn, &step("set_status", mapped()), &event(), TIMEOUT)
        .await;
    assert!(outcome.permanent, "{outcome:?}");
    let error = outcome.error.clone().unwrap_or_default();
    assert!(
        error.contains("actions.set_status.request.body.where"),
        "{error}"
    );
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 1, "only the search went out");
    assert!(
        outcome.request_excerpt.starts_with("GET "),
        "the last request sent: {}",
        outcome.request_excerpt
    );
}

#[tokio::test]
async fn a_secret_the_server_echoes_is_redacted_from_the_outcome() {
    let (engine, _dir) = engine().await;
    // The server answers with the request's body and its Authorization header (as httpbin
    // does): the secret property is in the body, and so is the password, which a (careless)
    // workflow mapped into an input.
    let (base, _log) = third_party(|r: &Received| {
        let authorization = r.headers["authorization"].to_str().unwrap_or_default();
        (
            200,
            json!({"json": r.json(), "authorization": authorization}),
        )
    })
    .await;
    let conn = shop(&base, None);
    let input = json!({"ref": "pa55word-of-shop"});
    let outcome = engine
        .run_step(&conn, &step("create_order", input), &event(), TIMEOUT)
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    for text in [&outcome.request_excerpt, &outcome.response_excerpt] {
        assert!(!text.contains("tok-secret-98765"), "{text}");
        assert!(!text.contains("pa55word-of-shop"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
    assert!(
        outcome
            .response_excerpt
            .contains(r#""authorization":"Basic [redacted]""#),
        "{}",
        outcome.response_excerpt
    );
}

#[tokio::test]
async fn an_oauth_token_the_server_echoes_is_redacted_from_the_outcome() {
    let (engine, _dir) = engine().await;
    // The token endpoint issues a token the connection's secrets do not hold; the resource
    // echoes the Authorization header it was sent, and fails once so the error path is seen.
    let (base, _log) = third_party(|r: &Received| match r.path() {
        "/oauth/token" => (
            200,
            json!({"access_token": "at-issued-4f2a9c71", "token_type": "Bearer", "expires_in": 3600}),
        ),
        _ => {
            let authorization = r.headers["authorization"].to_str().unwrap_or_default();
            (500, json!({"you sent": authorization}))
        }
    })
    .await;
    let conn = resolved(
        json!({
            "auth": {"type": "oauth2_client_credentials", "token_url": "{{ env.BASE_URL }}/oauth/token"},
            "actions": {"notify": {"kind": "create",
                "request": {"method": "POST", "url": "{{ env.BASE_URL }}/notify", "body": {"a": 1}}}}
        }),
        &[("BASE_URL", &base, false)],
        json!({}),
        json!({"credentials": {"client_id": "shop-client", "client_secret": "cs-very-secret-1"}}),
    );
    let outcome = engine
        .run_step(&conn, &step("notify", json!({})), &event(), TIMEOUT)
        .await;
    assert_eq!(outcome.status, Some(500), "{outcome:?}");
    let text = format!("{outcome:?}");
    assert!(!text.contains("at-issued-4f2a9c71"), "{text}");
    assert!(
        outcome.response_excerpt.contains("[redacted]"),
        "{}",
        outcome.response_excerpt
    );
}

#[tokio::test]
async fn a_connection_test_is_its_apps_test_request() {
    let (engine, _dir) = engine().await;
    let (base, log) = shop_server(json!([])).await;
    let outcome = engine.test_connection(&shop(&base, None), TIMEOUT).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.request_excerpt, format!("GET {base}/me"));
    assert_eq!(log.lock().expect("log").len(), 1);

    let (refusing, _) = third_party(|_: &Received| (401, json!({"error": "who?"}))).await;
    let outcome = engine
        .test_connection(&shop(&refusing, None), TIMEOUT)
        .await;
    assert_eq!(outcome.error.as_deref(), Some("HTTP 401"));
    assert_eq!(outcome.status, Some(401));
    assert!(!outcome.permanent);
}

/// A marketplace whose order feed lists, `since` a sequence number (inclusive), the orders
/// at or after it.
fn marketplace(base: &str) -> Resolved {
    resolved(
        json!({
            "key": "market",
            "triggers": {
                "orders": {
                    "event_type": "OrderPlaced",
                    "kind": "polling",
                    "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders",
                                "query": {"since": "{{ cursor }}"}},
                    "items": "/orders",
                    "id": "/id",
                    "cursor": {"field": "/seq"},
                    "min_interval_seconds": 60
                },
                "hook": {"event_type": "OrderPlaced", "kind": "hook"}
            }
        }),
        &[("BASE_URL", base, false)],
        json!({}),
        json!({}),
    )
}

#[tokio::test]
async fn polls_publish_each_item_once() {
    let (engine, _dir) = engine().await;
    let orders = Arc::new(std::sync::Mutex::new(vec![
        json!({"id": "o-1", "seq": 1}),
        json!({"id": 2, "seq": 2}),
    ]));
    let feed = orders.clone();
    let (base, log) = third_party(move |r: &Received| {
        let since: i64 = r
            .query()
            .and_then(|q| q.strip_prefix("since="))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let list: Vec<Value> = feed
            .lock()
            .expect("feed")
            .iter()
            .filter(|o| o["seq"].as_i64().unwrap_or(0) >= since)
            .cloned()
            .collect();
        (200, json!({"orders": list}))
    })
    .await;
    let conn = marketplace(&base);
    let mut state: PollState = serde_json::from_value(json!({
        "connection_id": CONNECTION, "trigger": "orders", "client_id": "cl_1",
        "interval_seconds": 60, "next_run_at": "2026-01-01T00:00:00Z"
    }))
    .expect("a poll state");
    let mut published = Vec::new();
    for round in 0..3 {
        if round == 1 {
            orders
                .lock()
                .expect("feed")
                .push(json!({"id": "o-3", "seq": 2}));
        }
        if round == 2 {
            orders
                .lock()
                .expect("feed")
                .push(json!({"id": "o-4", "seq": 5}));
        }
        let page = engine
            .poll(&conn, "orders", &state, TIMEOUT)
            .await
            .expect("a page");
        published.extend(page.items.iter().map(|(id, _)| id.clone()));
        state.cursor = page.cursor;
        state.seen = page.seen;
    }
    assert_eq!(published, ["o-1", "2", "o-3", "o-4"]);
    let uris: Vec<String> = log
        .lock()
        .expect("log")
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(
        uris,
        ["/orders?since=", "/orders?since=2", "/orders?since=2"]
    );
    assert_eq!(state.cursor, Some(json!(5)));

    let err = engine
        .poll(&conn, "hook", &state, TIMEOUT)
        .await
        .expect_err("a hook trigger");
    assert!(err.permanent);
    let (down, _) = third_party(|_: &Received| (503, json!({}))).await;
    let err = engine
        .poll(&marketplace(&down), "orders", &state, TIMEOUT)
        .await
        .expect_err("down");
    assert_eq!(err.error.as_deref(), Some("HTTP 503"));
    assert!(!err.permanent);
}
