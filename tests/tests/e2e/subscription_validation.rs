//! What a subscription may not be: states outside the client's, unknown event types, bad
//! destinations, missing or out-of-range fields, reserved request headers.

use serde_json::{Value, json};

use crate::support::{TestApp, portal_hook};

#[tokio::test]
async fn subscribing_to_states_outside_the_clients_states_is_403() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for states in [json!(["TG"]), json!(["AP", "TG"]), json!(["*"])] {
        let resp = app
            .subscribe(
                &portal.token,
                &json!({"url": portal_hook("/h"), "event_types": ["*"], "states": states}),
            )
            .await;
        resp.assert_problem(403, "forbidden");
    }
    let sub = app
        .subscribe_at(&portal.token, &portal_hook("/h"), json!({"states": ["AP"]}))
        .await;
    app.patch(&sub.path(""), &portal.token, &json!({"states": ["KA"]}))
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn unknown_exact_event_type_is_400_but_any_prefix_is_accepted() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let resp = app
        .subscribe(
            &portal.token,
            &json!({"url": portal_hook("/h"), "event_types": ["LotDispatched", "LotTeleported"]}),
        )
        .await;
    resp.assert_problem(400, "unknown_event_type");
    assert!(
        resp.text.contains("LotTeleported")
            || resp
                .error_fields()
                .iter()
                .any(|f| f.contains("event_types"))
    );

    let sub = app
        .subscribe_at(
            &portal.token,
            &portal_hook("/h"),
            json!({"event_types": ["Lot*", "Future*"]}),
        )
        .await;
    assert_eq!(sub.json["event_types"], json!(["Lot*", "Future*"]));
}

#[tokio::test]
async fn invalid_destinations_are_400_invalid_destination() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for url in [
        "ftp://x",
        "/relative/hook",
        "https://u:p@example.org/",
        "not a url",
        "http://",
    ] {
        let resp = app
            .subscribe(&portal.token, &json!({"url": url, "event_types": ["*"]}))
            .await;
        resp.assert_problem(400, "invalid_destination");
    }
    let sub = app
        .subscribe_at(&portal.token, &portal_hook("/h"), json!({}))
        .await;
    app.patch(&sub.path(""), &portal.token, &json!({"url": "ftp://x"}))
        .await
        .assert_problem(400, "invalid_destination");
}

#[tokio::test]
async fn missing_or_out_of_range_fields_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let url = portal_hook("/h");

    let cases: Vec<(Value, &str)> = vec![
        (json!({"event_types": ["*"]}), "url"),
        (json!({"url": url}), "event_types"),
        (json!({"url": url, "event_types": []}), "event_types"),
        (
            json!({"url": url, "event_types": ["*"], "max_attempts": 51}),
            "max_attempts",
        ),
        (
            json!({"url": url, "event_types": ["*"], "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"url": url, "event_types": ["*"], "timeout_ms": 0}),
            "timeout_ms",
        ),
        (
            json!({"url": url, "event_types": ["*"], "timeout_ms": 600000}),
            "timeout_ms",
        ),
        (
            json!({"url": url, "event_types": ["*"], "filter": {"data": "x"}}),
            "filter",
        ),
        (
            json!({"url": url, "event_types": ["*"], "filter": {"$or": [{"state": ["AP"]}]}}),
            "filter",
        ),
        (
            json!({"url": url, "event_types": ["*"], "states": ["andhra"]}),
            "states",
        ),
        // An unknown field: refused, whatever the problem names.
        (
            json!({"url": url, "event_types": ["*"], "colour": "blue"}),
            "",
        ),
    ];
    for (body, field) in cases {
        let resp = app.subscribe(&portal.token, &body).await;
        resp.assert_problem(400, "invalid_request");
        if !field.is_empty() {
            assert!(
                resp.error_fields().iter().any(|f| f.starts_with(field)),
                "{body}: errors name {field}: {}",
                resp.text
            );
        }
    }
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(list.data().is_empty(), "nothing invalid was created");
}

/// A new subscription's body with one custom header.
fn with_header(name: &str, value: &str) -> Value {
    json!({"url": portal_hook("/h"), "event_types": ["*"], "headers": {name: value}})
}

#[tokio::test]
async fn reserved_request_headers_are_refused() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for name in [
        "Host",
        "Content-Length",
        "Content-Type",
        "webhook-id",
        "Webhook-Signature",
    ] {
        let resp = app.subscribe(&portal.token, &with_header(name, "x")).await;
        resp.assert_problem(400, "invalid_request");
    }
    app.subscribe_at(
        &portal.token,
        &portal_hook("/h"),
        json!({"headers": {"X-Portal-Key": "abc", "X-Trace": "qaqc"}}),
    )
    .await;
}

#[tokio::test]
async fn credentials_in_custom_headers_are_refused_and_pointed_to_auth() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for name in ["Authorization", "Cookie", "X-Api-Key", "X-Auth-Token"] {
        let resp = app
            .subscribe(&portal.token, &with_header(name, "portal-side-credential"))
            .await;
        resp.assert_problem(422, "credential_in_headers");
        assert_eq!(resp.error_fields(), [format!("headers.{name}")]);
        assert!(
            resp.json["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("`auth`"),
            "{}",
            resp.text
        );
        assert!(
            !resp.text.contains("portal-side-credential"),
            "{}",
            resp.text
        );
    }
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(list.data().is_empty(), "nothing was stored");
}
