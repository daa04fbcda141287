//! A deployment that cannot know its public URL in advance (API Gateway's generated domain)
//! issues tokens for `https://` + the request's host, and accepts them only on that host.

mod support;

use hookline_domain::Scope;
use hookline_handlers::HandlerConfig;
use serde_json::Value;
use support::serve;

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
    let stack = serve(
        HandlerConfig::new("", "aws"),
        vec![Scope::SubscriptionsRead],
        &["AP"],
        &[],
    )
    .await;
    let (http, base) = (&stack.http, &stack.base);

    let resp = stack
        .token_request(Some("abc123.execute-api.ap-south-1.amazonaws.com"))
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
