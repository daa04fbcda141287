//! A deployment that cannot know its public URL in advance (API Gateway's generated domain)
//! issues tokens for `https://` + the request's host, and accepts them only on that host.

use std::sync::Arc;

use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{Client, Scope, ids};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_handlers::{AppContext, HandlerConfig, app};
use hookline_ports::SystemClock;
use serde_json::Value;
use time::OffsetDateTime;

fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn empty_issuer_binds_tokens_to_the_request_host() {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let path = dir.path().to_path_buf();
    let backend =
        tokio::task::spawn_blocking(move || EmbeddedBackend::open(&path, QueueOptions::default()))
            .await
            .expect("open task")
            .expect("open the embedded backend");
    let secret = new_client_secret();
    let client = Client {
        id: ids::new_id(ids::CLIENT, 1),
        name: "portal".into(),
        scopes: vec![Scope::SubscriptionsRead],
        states: vec!["AP".into()],
        secret_hash: hash_client_secret(&secret),
        created_at: OffsetDateTime::now_utc(),
        disabled: false,
    };
    backend
        .store()
        .insert_client(&client)
        .await
        .expect("client");
    let ctx = AppContext::new(
        backend.store(),
        backend.queue(),
        backend.keys(),
        Arc::new(SystemClock),
        HandlerConfig::new("", "aws"),
    )
    .await
    .expect("handler context");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app(ctx)).await });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");

    let resp = http
        .post(format!("{base}/oauth/token"))
        .header("host", "abc123.execute-api.ap-south-1.amazonaws.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}",
            client.id
        ))
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200);
    let body: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON");
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert_eq!(
        claims(&token)["iss"],
        "https://abc123.execute-api.ap-south-1.amazonaws.com"
    );

    let on = |host: &'static str| {
        http.get(format!("{base}/v1/subscriptions"))
            .header("host", host)
            .bearer_auth(token.clone())
            .send()
    };
    assert_eq!(
        on("abc123.execute-api.ap-south-1.amazonaws.com")
            .await
            .expect("call")
            .status(),
        200
    );
    assert_eq!(on("other.example.org").await.expect("call").status(), 401);

    let meta: Value = serde_json::from_slice(
        &http
            .get(format!("{base}/.well-known/oauth-authorization-server"))
            .header("host", "abc123.execute-api.ap-south-1.amazonaws.com")
            .send()
            .await
            .expect("metadata")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("JSON");
    assert_eq!(
        meta["issuer"],
        "https://abc123.execute-api.ap-south-1.amazonaws.com"
    );
    assert_eq!(
        meta["token_endpoint"],
        "https://abc123.execute-api.ap-south-1.amazonaws.com/oauth/token"
    );
}
