//! Search-then-update: an action that first looks the order up (`GET /orders?ref=`), then
//! changes the order it found (`PUT /orders/{found.id}/status`); when the search finds
//! nothing, it creates the order, skips, or fails (and is retried until the order exists),
//! as the action says. The shop authenticates with OAuth 2 (client_secret_post), one token
//! for the search and the update.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::apps::{id_of, oauth2_auth};
use crate::support::flow::{ActionFlow, Spec, WAIT};
use crate::support::secrets::random_string;
use crate::support::{Guard, attempts, finished_attempts};

fn field(key: &str) -> Value {
    json!({"key": key, "label": key, "required": true})
}

/// An update of the order's status after a search, doing `if_not_found` when there is none.
fn set_status(if_not_found: Option<&str>) -> Value {
    let mut action = json!({
        "label": "Set an order's status",
        "kind": "update",
        "inputs": [field("ref"), field("status")],
        "search": "find_order",
        "request": {
            "method": "PUT",
            "url": "{{ env.BASE_URL }}/orders/{{ found.id }}/status",
            "body": {"status": "{{ input.status }}"}
        }
    });
    if let Some(then) = if_not_found {
        action["if_not_found"] = json!(then);
    }
    action
}

/// The shop's actions.
fn shop_actions() -> Value {
    json!({"actions": {
        "find_order": {
            "label": "Find an order", "kind": "search",
            "inputs": [field("ref")],
            "request": {"method": "GET", "url": "{{ env.BASE_URL }}/orders", "query": {"ref": "{{ input.ref }}"}},
            "result": "/orders/0"
        },
        "create_order": {
            "label": "Create an order", "kind": "create",
            "inputs": [field("ref"), field("status")],
            "request": {"method": "POST", "url": "{{ env.BASE_URL }}/orders",
                        "body": {"ref": "{{ input.ref }}", "status": "{{ input.status }}"}}
        },
        "set_status": set_status(Some("create_order")),
        "set_status_if_found": set_status(Some("skip")),
        "set_status_strict": set_status(None)
    }})
}

/// The shop, and a workflow setting `ready_to_ship` on the `LotDispatched` event's `ref`
/// through `action`.
async fn shop() -> ActionFlow {
    let secret = random_string(32);
    ActionFlow::start(Spec {
        extra: shop_actions(),
        action: "set_status",
        input: json!({"ref": "{{ event.data.ref }}", "status": "ready_to_ship"}),
        ..Spec::new(
            oauth2_auth("body"),
            Guard::OAuth2 {
                client_id: "shop-cli".into(),
                client_secret: secret.clone(),
                ttl: Duration::from_secs(3600),
            },
            json!({"client_id": "shop-cli", "client_secret": secret}),
        )
    })
    .await
}

#[tokio::test]
async fn search_then_update_changes_the_found_order_or_creates_it() {
    let f = shop().await;
    f.tool.add_order("R-1", "packed");

    let id = f.dispatch(json!({"ref": "R-1"})).await;
    let d = f.succeeded(&id).await;
    assert_eq!(attempts(&d).len(), 1);
    let calls: Vec<(String, String)> = f
        .tool
        .requests()
        .iter()
        .filter(|s| s.path != "/oauth/token")
        .map(|s| (s.method.to_string(), s.path.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET".to_string(), "/orders".to_string()),
            ("PUT".to_string(), "/orders/ord_1/status".to_string())
        ]
    );
    assert_eq!(f.tool.requests_to("GET", "/orders")[0].query["ref"], "R-1");
    assert_eq!(f.tool.orders()[0]["status"], "ready_to_ship");

    let id = f.dispatch(json!({"ref": "R-9"})).await;
    f.succeeded(&id).await;
    let created = f.tool.wait_for_success("POST", "/orders", 1, WAIT).await;
    assert_eq!(
        created[0].json(),
        json!({"ref": "R-9", "status": "ready_to_ship"})
    );
    assert_eq!(f.tool.requests_to("PUT", "/orders/ord_2/status").len(), 0);
    assert_eq!(f.tool.orders().len(), 2);
    assert_eq!(
        f.tool.token_requests(),
        1,
        "one token for searches, updates and creates"
    );
    f.remember_issued_tokens();
}

#[tokio::test]
async fn a_search_that_finds_nothing_skips_or_fails_and_retries_as_the_action_says() {
    let f = shop().await;
    let connection = id_of(&f.connection);
    let token = f.setup.integrator.token.clone();
    let step = |action: &str| {
        json!([{"connection_id": connection, "action": action,
                "input": {"ref": "{{ event.data.ref }}", "status": "received"}}])
    };
    let skipping = f
        .app
        .workflow_ok(&token, &["LotReceived"], step("set_status_if_found"))
        .await;
    let strict = f
        .app
        .workflow_ok(&token, &["LotRejected"], step("set_status_strict"))
        .await;

    let received = f
        .app
        .publish_event(
            &f.publisher.token,
            "LotReceived",
            "AP",
            json!({"ref": "R-404"}),
        )
        .await;
    let d = f
        .delivery_of(&skipping, &received, "succeeded", |d| {
            d["status"] == "succeeded"
        })
        .await;
    let a = &attempts(&d)[0];
    assert!(
        a.to_string().contains("skipped: not found"),
        "a skip says so on the attempt: {a}"
    );

    let rejected = f
        .app
        .publish_event(
            &f.publisher.token,
            "LotRejected",
            "AP",
            json!({"ref": "R-405"}),
        )
        .await;
    let d = f
        .delivery_of(&strict, &rejected, "2 failed attempts", |d| {
            d["status"] == "retrying" && finished_attempts(d).len() >= 2
        })
        .await;
    assert!(
        finished_attempts(&d)
            .iter()
            .all(|a| a["error"].as_str().is_some_and(|e| e.contains("not found"))),
        "each attempt failed for want of the order: {d}"
    );
    assert!(
        f.tool.requests_to("POST", "/orders").is_empty(),
        "nothing created"
    );

    f.tool.add_order("R-405", "packed");
    f.delivery_of(&strict, &rejected, "succeeded", |d| {
        d["status"] == "succeeded"
    })
    .await;
    assert_eq!(f.tool.orders()[0]["status"], "received");
    f.remember_issued_tokens();
}
