//! Ids no resource can have, on every by-id route and id filter, and header values no HTTP
//! request can carry: a 4xx problem on both backends, never a 5xx. (On DynamoDB a key over
//! 2,048 bytes is a service error: such an id must never reach the store.)

use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

/// Ids that cannot be Hookline's: too long for a DynamoDB key, control characters, a slash.
fn impossible_ids() -> Vec<String> {
    vec![
        format!("sub_{}", "a".repeat(3000)),
        "sub_%01%02".to_string(),
        "sub_%2Fother".to_string(),
        "%20".to_string(),
    ]
}

#[tokio::test]
async fn every_by_id_route_answers_an_impossible_id_with_a_404_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let routes = [
        (Method::GET, "/v1/clients/{}"),
        (Method::DELETE, "/v1/clients/{}"),
        (Method::POST, "/v1/clients/{}/secret"),
        (Method::GET, "/v1/subscriptions/{}"),
        (Method::PATCH, "/v1/subscriptions/{}"),
        (Method::DELETE, "/v1/subscriptions/{}"),
        (Method::GET, "/v1/subscriptions/{}/secret"),
        (Method::POST, "/v1/subscriptions/{}/secret/rotate"),
        (Method::POST, "/v1/subscriptions/{}/test"),
        (Method::POST, "/v1/subscriptions/{}/replay"),
        (Method::GET, "/v1/deliveries/{}"),
        (Method::POST, "/v1/deliveries/{}/retry"),
        (Method::GET, "/v1/events/{}"),
    ];
    for id in impossible_ids() {
        for (method, route) in &routes {
            let path = route.replace("{}", &id);
            let resp = app
                .send_json(method.clone(), &path, &admin, &json!({"enabled": true}))
                .await;
            assert!(
                resp.status < 500,
                "{method} {}: {} {}",
                &path[..path.len().min(60)],
                resp.status,
                resp.text
            );
            resp.assert_problem(404, "not_found");
        }
    }
}

#[tokio::test]
async fn an_impossible_id_as_a_list_filter_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let long = "evt_".to_string() + &"0".repeat(3000);
    for query in [
        format!("/v1/deliveries?event_id={long}"),
        format!("/v1/deliveries?subscription_id={long}"),
        format!("/v1/deliveries/stats?subscription_id={long}"),
        "/v1/deliveries?event_id=evt%01".to_string(),
        format!("/v1/subscriptions?client_id={long}"),
    ] {
        app.get(&query, &admin)
            .await
            .assert_problem(400, "invalid_request");
    }
}

#[tokio::test]
async fn a_header_value_no_request_can_carry_is_refused_when_the_subscription_is_written() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let body = |value: &str| {
        json!({
            "url": "https://portal.example.org/hook",
            "event_types": ["LotDispatched"],
            "headers": {"X-Trace": value},
        })
    };
    for value in ["a\u{1}b", "tab\tand\u{7f}", "bell\u{7}"] {
        let resp = app.subscribe(&portal.token, &body(value)).await;
        resp.assert_problem(400, "invalid_request");
        assert_eq!(
            resp.json["errors"][0]["field"], "headers.X-Trace",
            "{}",
            resp.text
        );
    }
    let sub = app.subscribe_ok(&portal.token, &body("tab\tok é")).await;
    let resp = app
        .patch(
            &sub.path(""),
            &portal.token,
            &json!({"headers": {"X-Trace": "cr\rlf"}}),
        )
        .await;
    resp.assert_problem(400, "invalid_request");
    assert_eq!(
        resp.json["errors"][0]["field"], "headers.X-Trace",
        "{}",
        resp.text
    );
}
