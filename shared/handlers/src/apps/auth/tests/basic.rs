//! None, Basic and API key (header and query parameter).

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use hookline_domain::apps::{AuthScheme, KeyLocation};

use super::*;
use crate::test_support::serve;

const API_KEY: &str = "k&y =1/é+secret";

/// `/basic` wants `Aladdin:open sesame`; `/header` the key in `X-Api-Key`; `/query` the key
/// in `api_key` and `page=2`; `/open` reports whether any authorization came.
async fn server() -> String {
    let app = axum::Router::new()
        .route(
            "/basic",
            get(|headers: HeaderMap| async move {
                // base64("Aladdin:open sesame"), RFC 7617's example.
                match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                    Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
        .route(
            "/header",
            get(|headers: HeaderMap| async move {
                match headers.get("x-api-key").map(|v| v.as_bytes()) {
                    Some(key) if key == API_KEY.as_bytes() => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
        .route(
            "/query",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let key_ok = q.get("api_key").map(String::as_str) == Some(API_KEY);
                if key_ok && q.get("page").map(String::as_str) == Some("2") {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }),
        )
        .route(
            "/open",
            get(|headers: HeaderMap| async move {
                let any =
                    headers.contains_key("authorization") || headers.contains_key("x-api-key");
                if any { "credentials" } else { "none" }
            }),
        );
    serve(app).await
}

#[tokio::test]
async fn no_scheme_sends_no_credential() {
    let base = server().await;
    let auth = authenticator(true);
    let conn = resolved(AuthScheme::None, &[], &[]);
    let ex = send(&auth, &conn, &format!("{base}/open")).await;
    assert_eq!(outcome(&ex), (Some(200), None));
    assert_eq!(&ex.body[..], b"none");
    assert_eq!(ex.requests, 1);
}

#[tokio::test]
async fn basic_sends_the_username_and_password() {
    let base = server().await;
    let auth = authenticator(true);
    let creds = [("username", "Aladdin"), ("password", "open sesame")];
    let conn = resolved(AuthScheme::Basic, &creds, &[]);
    let ex = send(&auth, &conn, &format!("{base}/basic")).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 1));

    // The server enforces it: a wrong password is its 401, passed on as an answer.
    let wrong = resolved(
        AuthScheme::Basic,
        &[("username", "Aladdin"), ("password", "open barley")],
        &[],
    );
    let ex = send(&auth, &wrong, &format!("{base}/basic")).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(401), None), 1));
}

#[tokio::test]
async fn a_missing_credential_sends_nothing_and_names_only_its_key() {
    let base = server().await;
    let auth = authenticator(true);
    let conn = resolved(AuthScheme::Basic, &[("username", "Aladdin")], &[]);
    let ex = send(&auth, &conn, &format!("{base}/basic")).await;
    assert_eq!(
        (outcome(&ex), ex.requests),
        ((None, Some("the connection has no password credential")), 0)
    );
}

/// Sends with the API key in `location` `name` to `url` (whose server enforces it), then
/// with a wrong key.
async fn the_api_key_is_enforced(location: KeyLocation, name: &str, url: &str) {
    let auth = authenticator(true);
    let scheme = AuthScheme::ApiKey {
        location,
        name: name.into(),
    };
    let conn = resolved(scheme.clone(), &[("api_key", API_KEY)], &[]);
    assert_eq!(outcome(&send(&auth, &conn, url).await), (Some(200), None));
    let wrong = resolved(scheme, &[("api_key", "nope")], &[]);
    assert_eq!(outcome(&send(&auth, &wrong, url).await), (Some(401), None));
}

#[tokio::test]
async fn an_api_key_goes_in_the_named_header() {
    let base = server().await;
    the_api_key_is_enforced(KeyLocation::Header, "X-Api-Key", &format!("{base}/header")).await;
}

#[tokio::test]
async fn an_api_key_goes_percent_encoded_in_the_named_query_parameter() {
    let base = server().await;
    // The URL's own query is kept.
    let url = format!("{base}/query?page=2");
    the_api_key_is_enforced(KeyLocation::Query, "api_key", &url).await;
}
