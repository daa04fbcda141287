//! The third-party tool of the app tests enforces what it says it does (so that an action
//! test passing means the runner authenticated, not that the tool let it through).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::support::third_party::DigestAlgorithm;
use crate::support::{Guard, ThirdParty};

async fn call(
    tool: &ThirdParty,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value, Option<String>) {
    let mut req = Client::new()
        .request(method, format!("{}{path}", tool.base_url()))
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the tool answers");
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.bytes().await.expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        challenge,
    )
}

/// Just the status of [`call`].
async fn status_of(
    tool: &ThirdParty,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> u16 {
    call(tool, method, path, headers, body).await.0
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test]
async fn basic_and_api_keys_are_enforced() {
    let tool = ThirdParty::start(Guard::Basic {
        username: "u".into(),
        password: "p".into(),
    })
    .await;
    let ok = basic("u", "p");
    let wrong = basic("u", "x");
    assert_eq!(status_of(&tool, Method::GET, "/ping", &[], "").await, 401);
    assert_eq!(
        status_of(
            &tool,
            Method::GET,
            "/ping",
            &[("authorization", &wrong)],
            ""
        )
        .await,
        401
    );
    assert_eq!(
        status_of(&tool, Method::GET, "/ping", &[("authorization", &ok)], "").await,
        200
    );

    let tool = ThirdParty::start(Guard::ApiKeyQuery {
        name: "api_key".into(),
        key: "k 1".into(),
    })
    .await;
    assert_eq!(
        status_of(&tool, Method::GET, "/ping?api_key=k2", &[], "").await,
        401
    );
    assert_eq!(
        status_of(&tool, Method::GET, "/ping?api_key=k%201", &[], "").await,
        200
    );
    assert_eq!(tool.requests().len(), 2, "every request is recorded");
}

#[tokio::test]
async fn oauth2_tokens_are_counted_checked_and_expire() {
    let tool = ThirdParty::start(Guard::OAuth2 {
        client_id: "c".into(),
        client_secret: "s".into(),
        ttl: Duration::from_secs(1),
    })
    .await;
    let form = "grant_type=client_credentials";
    let refused = call(
        &tool,
        Method::POST,
        "/oauth/token",
        &[("authorization", &basic("c", "x"))],
        form,
    )
    .await;
    assert_eq!(refused.0, 401);
    let (status, body, _) = call(
        &tool,
        Method::POST,
        "/oauth/token",
        &[],
        "grant_type=client_credentials&client_id=c&client_secret=s",
    )
    .await;
    assert_eq!(status, 200, "client_secret_post: {body}");
    assert_eq!(body["expires_in"], 1);
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("a token"));
    let item = async || {
        let auth = [("authorization", bearer.as_str())];
        status_of(&tool, Method::POST, "/items", &auth, "{}").await
    };
    assert_eq!(item().await, 201);
    assert_eq!(tool.token_requests(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(item().await, 401, "expired");
}

#[tokio::test]
async fn session_login_gives_a_token_until_revoked() {
    let tool = ThirdParty::start(Guard::Session {
        username: "u".into(),
        password: "p".into(),
        ttl: Duration::from_secs(60),
    })
    .await;
    let bad = call(
        &tool,
        Method::POST,
        "/login",
        &[],
        &json!({"username": "u", "password": "x"}).to_string(),
    )
    .await;
    assert_eq!(bad.0, 401);
    let (status, body, _) = call(
        &tool,
        Method::POST,
        "/login",
        &[],
        &json!({"username": "u", "password": "p"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 60);
    let token = body["token"].as_str().expect("a token").to_string();
    assert_eq!(
        status_of(&tool, Method::GET, "/ping", &[("x-session", &token)], "").await,
        200
    );
    tool.revoke_tokens();
    assert_eq!(
        status_of(&tool, Method::GET, "/ping", &[("x-session", &token)], "").await,
        401
    );
    assert_eq!(tool.logins(), 2);
}

#[tokio::test]
async fn digest_challenges_and_checks_answers_over_http() {
    use crate::support::third_party::digest_answer;
    for algorithm in [DigestAlgorithm::Md5, DigestAlgorithm::Sha256] {
        let tool = ThirdParty::start(Guard::Digest {
            username: "u".into(),
            password: "p".into(),
            algorithm,
        })
        .await;
        let (status, _, challenge) = call(&tool, Method::POST, "/items?x=1", &[], "{}").await;
        assert_eq!(status, 401);
        let challenge = challenge.expect("a WWW-Authenticate challenge");
        assert!(
            challenge.starts_with("Digest ") && challenge.contains("qop=\"auth\""),
            "{challenge}"
        );
        let answer = digest_answer(&challenge, "u", "p", "POST", "/items?x=1", 1);
        let auth = [("authorization", answer.as_str())];
        let ok = status_of(&tool, Method::POST, "/items?x=1", &auth, "{}").await;
        assert_eq!(ok, 201, "{algorithm:?}");
        let replay = status_of(&tool, Method::POST, "/items?x=1", &auth, "{}").await;
        assert_eq!(replay, 401, "a replayed nc is refused");
    }
}

#[tokio::test]
async fn the_order_feed_pages_from_the_cursor_and_the_shop_searches_updates_and_creates() {
    let tool = ThirdParty::start(Guard::Open).await;
    for r in ["A", "B", "C"] {
        tool.add_order(r, "new");
    }
    let ids = |v: &Value| -> Vec<String> {
        v["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        ids(&call(&tool, Method::GET, "/orders", &[], "").await.1),
        ["ord_1", "ord_2"]
    );
    assert_eq!(
        ids(&call(&tool, Method::GET, "/orders?since=2", &[], "").await.1),
        ["ord_2", "ord_3"]
    );
    assert_eq!(
        ids(&call(&tool, Method::GET, "/orders?ref=B", &[], "").await.1),
        ["ord_2"]
    );
    assert_eq!(
        status_of(
            &tool,
            Method::PUT,
            "/orders/ord_2/status",
            &[],
            r#"{"status":"shipped"}"#
        )
        .await,
        200
    );
    assert_eq!(
        status_of(
            &tool,
            Method::PUT,
            "/orders/ord_9/status",
            &[],
            r#"{"status":"shipped"}"#
        )
        .await,
        404
    );
    assert_eq!(
        status_of(
            &tool,
            Method::POST,
            "/orders",
            &[],
            r#"{"ref":"D","status":"new"}"#
        )
        .await,
        201
    );
    assert_eq!(tool.orders()[1]["status"], "shipped");
    assert_eq!(tool.orders().len(), 4);
}
