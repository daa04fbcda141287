//! The token endpoint: OAuth 2.0 client credentials over HTTP Basic, a form or a JSON body,
//! and every way a token request is refused.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, event};

fn scopes_of(resp: &Value) -> Vec<String> {
    let mut s: Vec<String> = resp["scope"]
        .as_str()
        .unwrap_or_else(|| panic!("a token response has a scope string: {resp}"))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    s.sort();
    s
}

#[tokio::test]
async fn client_secret_basic_gets_a_bearer_token_with_all_its_scopes() {
    let (app, id, secret) =
        TestApp::with_portal_client(&["events:write", "subscriptions:read"]).await;

    let resp = app
        .token_request(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;

    resp.assert_status(200);
    assert_eq!(resp.json["token_type"], "Bearer");
    assert_eq!(resp.json["expires_in"], 900);
    assert!(
        resp.json["access_token"]
            .as_str()
            .is_some_and(|t| t.len() > 20)
    );
    assert_eq!(
        scopes_of(&resp.json),
        ["events:write", "subscriptions:read"]
    );
    assert!(
        resp.header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "token responses are not cached: {:?}",
        resp.headers
    );
}

#[tokio::test]
async fn client_secret_post_gets_a_token_for_the_requested_scope() {
    let (app, id, secret) =
        TestApp::with_portal_client(&["events:write", "subscriptions:read"]).await;

    let resp = app
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "events:write"),
            ],
            None,
        )
        .await;

    resp.assert_status(200);
    assert_eq!(scopes_of(&resp.json), ["events:write"]);
}

#[tokio::test]
async fn token_endpoint_accepts_a_json_body() {
    let (app, id, secret) = TestApp::with_portal_client(&["events:write"]).await;

    let resp = app
        .send(
            app.request(Method::POST, "/oauth/token")
                .header("content-type", "application/json")
                .body(
                    json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret})
                        .to_string(),
                ),
        )
        .await;

    resp.assert_status(200);
    assert_eq!(resp.json["token_type"], "Bearer");
    let token = resp.json["access_token"].as_str().expect("a token");
    let published = app
        .publish(
            token,
            &event("LotDispatched", "AP", json!({"lotNo": "L-1"})),
        )
        .await;
    published.assert_status(202);
}

#[tokio::test]
async fn wrong_secret_over_basic_is_invalid_client_with_www_authenticate() {
    let (app, id, _secret) = TestApp::with_portal_client(&["events:write"]).await;

    let resp = app
        .token_request(
            &[("grant_type", "client_credentials")],
            Some((&id, "not-the-secret-at-all-0123456789")),
        )
        .await;

    resp.assert_status(401);
    assert_eq!(resp.json["error"], "invalid_client", "{}", resp.text);
    assert!(
        resp.header("www-authenticate")
            .is_some_and(|h| h.to_ascii_lowercase().starts_with("basic")),
        "a failed Basic authentication gets a Basic challenge: {:?}",
        resp.headers
    );
}

#[tokio::test]
async fn unknown_client_or_wrong_secret_in_the_body_is_invalid_client() {
    let (app, id, _secret) = TestApp::with_portal_client(&["events:write"]).await;

    for (client_id, secret) in [
        (id.as_str(), "wrong-secret-0123456789abcdef"),
        ("cl_nobody", "wrong-secret-0123456789abcdef"),
    ] {
        let resp = app
            .token_request(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                ],
                None,
            )
            .await;
        resp.assert_status(401);
        assert_eq!(resp.json["error"], "invalid_client", "{}", resp.text);
        assert!(resp.json.get("access_token").is_none());
    }
}

#[tokio::test]
async fn unsupported_grant_type_and_missing_grant_type_are_rejected() {
    let (app, id, secret) = TestApp::with_portal_client(&["events:write"]).await;

    let resp = app
        .token_request(&[("grant_type", "password")], Some((&id, &secret)))
        .await;
    resp.assert_status(400);
    assert_eq!(
        resp.json["error"], "unsupported_grant_type",
        "{}",
        resp.text
    );

    let resp = app.token_request(&[], Some((&id, &secret))).await;
    resp.assert_status(400);
    assert_eq!(resp.json["error"], "invalid_request", "{}", resp.text);
}

#[tokio::test]
async fn requesting_a_scope_the_client_does_not_hold_is_invalid_scope() {
    let (app, id, secret) = TestApp::with_portal_client(&["events:write"]).await;

    for scope in ["admin", "events:write subscriptions:write", "no-such-scope"] {
        let resp = app
            .token_request(
                &[("grant_type", "client_credentials"), ("scope", scope)],
                Some((&id, &secret)),
            )
            .await;
        resp.assert_status(400);
        assert_eq!(
            resp.json["error"], "invalid_scope",
            "scope {scope}: {}",
            resp.text
        );
    }
}
