//! The JWT access tokens, the JWKS and the authorization server metadata, and what `/v1`
//! does with missing, bad and under-scoped tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::jwt_parts;
use crate::support::{TestApp, event};

#[tokio::test]
async fn access_token_is_an_es256_jwt_signed_by_a_key_of_the_jwks() {
    let (app, id, secret) = TestApp::with_portal_client(&["events:write", "events:read"]).await;
    let token = app.token(&id, &secret, Some("events:write")).await;

    let (header, claims) = jwt_parts(&token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(
        header["typ"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("at+jwt")
    );
    let kid = header["kid"].as_str().expect("a kid in the JWT header");
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(claims["scope"], "events:write");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, 900, "tokens live HOOKLINE_TOKEN_TTL_SECS");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((iat - now).abs() < 60, "iat is now: {iat} vs {now}");

    let jwks = app
        .send(app.request(Method::GET, "/.well-known/jwks.json"))
        .await;
    jwks.assert_status(200);
    let keys = jwks.json["keys"].as_array().expect("a JWKS has keys");
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("the token's kid {kid} is in the JWKS: {}", jwks.text));
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    for coord in ["x", "y"] {
        let c = key[coord].as_str().expect("a coordinate");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(c).map(|b| b.len()).ok(),
            Some(32),
            "{coord} is 32 bytes"
        );
    }
    assert!(
        key.get("d").is_none(),
        "the JWKS never publishes the private key"
    );
}

#[tokio::test]
async fn authorization_server_metadata_describes_the_token_endpoint_and_jwks() {
    let app = TestApp::spawn().await;

    let meta = app
        .send(app.request(Method::GET, "/.well-known/oauth-authorization-server"))
        .await;

    meta.assert_status(200);
    let m = &meta.json;
    let issuer = m["issuer"].as_str().expect("an issuer");
    assert!(
        m["token_endpoint"]
            .as_str()
            .is_some_and(|u| u.ends_with("/oauth/token")),
        "{m}"
    );
    assert!(
        m["jwks_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with("/.well-known/jwks.json")),
        "{m}"
    );
    let strings = |field: &str| -> Vec<String> {
        m[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field} is a list: {m}"))
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let grants = strings("grant_types_supported");
    assert!(grants.iter().any(|g| g == "client_credentials"), "{m}");
    let scopes = strings("scopes_supported");
    for s in [
        "events:write",
        "events:read",
        "subscriptions:read",
        "subscriptions:write",
        "admin",
    ] {
        assert!(
            scopes.iter().any(|x| x == s),
            "scope {s} is advertised: {m}"
        );
    }

    let token = app.admin_token().await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["iss"], issuer, "tokens carry the advertised issuer");
}

#[tokio::test]
async fn v1_call_without_a_token_is_401_unauthorized() {
    let app = TestApp::spawn().await;

    for path in [
        "/v1/subscriptions",
        "/v1/event-types",
        "/v1/clients",
        "/v1/deliveries",
    ] {
        let resp = app.send(app.request(Method::GET, path)).await;
        resp.assert_problem(401, "unauthorized");
    }
    let resp = app
        .send(
            app.request(Method::POST, "/v1/events")
                .header("content-type", "application/json")
                .body(event("LotDispatched", "AP", json!({})).to_string()),
        )
        .await;
    resp.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn tampered_forged_or_garbage_tokens_are_401() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let parts: Vec<&str> = portal.token.split('.').collect();
    let mut sig: Vec<char> = parts[2].chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        sig.iter().collect::<String>()
    );

    let (_, mut claims) = jwt_parts(&portal.token);
    claims["scope"] = json!("admin");
    let escalated = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt"}).to_string()),
        parts[1]
    );

    for bad in [
        tampered_sig.as_str(),
        escalated.as_str(),
        unsigned.as_str(),
        "garbage",
        "a.b.c",
    ] {
        let resp = app.get("/v1/subscriptions", bad).await;
        resp.assert_problem(401, "unauthorized");
    }
    let resp = app
        .send(
            app.request(Method::GET, "/v1/subscriptions")
                .header("authorization", format!("Basic {}", portal.token)),
        )
        .await;
    resp.assert_problem(401, "unauthorized");

    app.get("/v1/subscriptions", &portal.token)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn valid_token_without_the_needed_scope_is_403_forbidden() {
    let (app, id, secret) =
        TestApp::with_portal_client(&["events:write", "subscriptions:read"]).await;
    let publish_only = app.token(&id, &secret, Some("events:write")).await;

    app.get("/v1/subscriptions", &publish_only)
        .await
        .assert_problem(403, "forbidden");
    app.subscribe(
        &publish_only,
        &json!({"url": "https://example.org/hook", "event_types": ["*"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get("/v1/clients", &publish_only)
        .await
        .assert_problem(403, "forbidden");
    app.publish(&publish_only, &event("LotDispatched", "AP", json!({})))
        .await
        .assert_status(202);

    let read_only = app.token(&id, &secret, Some("subscriptions:read")).await;
    app.publish(&read_only, &event("LotDispatched", "AP", json!({})))
        .await
        .assert_problem(403, "forbidden");
}
