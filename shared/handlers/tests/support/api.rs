//! The stack's HTTP API for tests: served over a handler context on loopback, a client's
//! token from it, and JSON requests to it. (Also used by the AWS backend's tests.)
#![allow(dead_code)]

use hookline_handlers::context::Contexts;
use serde_json::Value;

/// Serves the HTTP API over `ctx` on loopback: its base URL, and an access token of the
/// client `client_id` with `secret`.
pub async fn serve_api(ctx: &Contexts, client_id: &str, secret: &str) -> (String, String) {
    let base = serve(ctx).await;
    let (_, answer) = token_answer(&base, client_id, secret).await;
    let token = answer["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    (base, token)
}

/// Serves the HTTP API over `ctx` on loopback; its base URL.
pub async fn serve(ctx: &Contexts) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the API");
    let base = format!("http://{}", listener.local_addr().expect("API address"));
    let app = hookline_handlers::app(ctx);
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Asks the API at `base` for a token of the client `client_id` with `secret`; the status
/// and the JSON answer (null if none).
pub async fn token_answer(base: &str, client_id: &str, secret: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        ))
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("token answer");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Sends `body` as JSON to `url` with `method` and `token`; the status and the JSON answer
/// (null if none).
pub async fn send_json(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}
