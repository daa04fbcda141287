//! OAuth 2 client credentials against a token endpoint that counts its token requests and a
//! resource that refuses unknown, expired and revoked tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use hookline_domain::apps::{AuthScheme, ClientAuth};

use super::*;
use crate::test_support::serve;

const CLIENT_ID: &str = "shop-client";
const CLIENT_SECRET: &str = "s3cr3t:with&odd=chars";

/// The token endpoint and the resource of one test.
struct Provider {
    /// Lifetime of the tokens it issues (seconds).
    expires_in: u64,
    /// How clients must authenticate.
    client_auth: ClientAuth,
    /// The scope a token request must ask for, if any.
    scope: Option<&'static str>,
    /// Token requests received (good or bad).
    token_requests: AtomicUsize,
    /// Issued tokens and when they expire.
    tokens: Mutex<HashMap<String, Instant>>,
    /// Resource requests that answered 200.
    served: AtomicUsize,
    /// Whether the resource refuses every token (credentials accepted, access denied).
    refuse_all: std::sync::atomic::AtomicBool,
}

impl Provider {
    fn new(expires_in: u64, client_auth: ClientAuth, scope: Option<&'static str>) -> Arc<Self> {
        Arc::new(Provider {
            expires_in,
            client_auth,
            scope,
            token_requests: AtomicUsize::new(0),
            tokens: Mutex::new(HashMap::new()),
            served: AtomicUsize::new(0),
            refuse_all: false.into(),
        })
    }

    fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// Forgets every token issued so far.
    fn revoke_all(&self) {
        self.tokens.lock().expect("tokens").clear();
    }

    fn client_authenticated(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
        match self.client_auth {
            ClientAuth::Basic => {
                let Some(encoded) = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Basic "))
                else {
                    return false;
                };
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                    return false;
                };
                // RFC 6749 §2.3.1: id and secret form-encoded, then joined.
                let expected = format!(
                    "{}:{}",
                    url::form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>(),
                    url::form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes())
                        .collect::<String>()
                );
                decoded == expected.as_bytes() && !form.contains_key("client_secret")
            }
            ClientAuth::Body => {
                form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                    && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
                    && !headers.contains_key("authorization")
            }
        }
    }
}

async fn token(State(p): State<Arc<Provider>>, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let n = p.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let grant_ok = form.get("grant_type").map(String::as_str) == Some("client_credentials");
    let scope_ok = form.get("scope").map(String::as_str) == p.scope;
    if !grant_ok || !scope_ok || !p.client_authenticated(&headers, &form) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#).into_response();
    }
    let token = format!("tok-{n}");
    let expires = Instant::now() + Duration::from_secs(p.expires_in);
    p.tokens
        .lock()
        .expect("tokens")
        .insert(token.clone(), expires);
    axum::Json(serde_json::json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": p.expires_in,
    }))
    .into_response()
}

async fn resource(State(p): State<Arc<Provider>>, headers: HeaderMap) -> StatusCode {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        let tokens = p.tokens.lock().expect("tokens");
        tokens.get(t).is_some_and(|expiry| *expiry > Instant::now())
    });
    if valid && !p.refuse_all.load(Ordering::SeqCst) {
        p.served.fetch_add(1, Ordering::SeqCst);
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// Serves `p`; returns its base URL.
async fn start(p: &Arc<Provider>) -> String {
    let app = axum::Router::new()
        .route("/oauth/token", post(token))
        .route("/orders", get(resource))
        .with_state(p.clone());
    serve(app).await
}

/// A connection whose token URL is `{{ env.AUTH_BASE }}/oauth/token`.
fn connection(base: &str, client_auth: ClientAuth, scope: Option<&str>) -> Resolved {
    let scheme = AuthScheme::Oauth2ClientCredentials {
        token_url: "{{ env.AUTH_BASE }}/oauth/token".into(),
        scope: scope.map(str::to_string),
        client_auth,
    };
    resolved(
        scheme,
        &[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)],
        &[("AUTH_BASE", base)],
    )
}

/// A provider issuing tokens for `expires_in` seconds to clients authenticating with
/// `client_auth` for `scope`, its base URL, an authenticator and a connection to it.
async fn setup(
    expires_in: u64,
    client_auth: ClientAuth,
    scope: Option<&'static str>,
) -> (Arc<Provider>, String, Authenticator, Resolved) {
    let p = Provider::new(expires_in, client_auth, scope);
    let base = start(&p).await;
    let conn = connection(&base, client_auth, scope);
    (p, base, authenticator(true), conn)
}

#[tokio::test]
async fn concurrent_sends_make_one_token_request_and_share_its_token() {
    let (p, base, auth, conn) = setup(3600, ClientAuth::Basic, None).await;
    let all = send_many(&auth, &conn, &format!("{base}/orders"), 20).await;
    assert_all_ok(&all);
    assert_eq!(p.token_requests(), 1);
    // One of them made the token request as well as its own.
    let requests: u32 = all.iter().map(|ex| ex.requests).sum();
    assert_eq!(requests, 21);
    // Later sends reuse the token.
    let ex = send(&auth, &conn, &format!("{base}/orders")).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 1));
    assert_eq!(p.token_requests(), 1);
    assert_eq!(p.served.load(Ordering::SeqCst), 21);
}

#[tokio::test]
async fn an_expired_token_is_fetched_again_exactly_once() {
    // A 2 s token is used for 1 s (half its lifetime: short tokens keep half as margin).
    let (p, base, auth, conn) = setup(2, ClientAuth::Basic, None).await;
    let url = format!("{base}/orders");
    let ex = send(&auth, &conn, &url).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 2));
    assert_eq!(p.token_requests(), 1);
    // The token's own expiry is the condition waited for.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_all_ok(&send_many(&auth, &conn, &url, 10).await);
    assert_eq!(p.token_requests(), 2);
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_on_a_401_and_the_request_sent_again() {
    let (p, base, auth, conn) = setup(3600, ClientAuth::Basic, None).await;
    let url = format!("{base}/orders");
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    p.revoke_all();
    // Several sends find the token refused at once: one renewal serves them all.
    let all = send_many(&auth, &conn, &url, 5).await;
    assert_all_ok(&all);
    assert_eq!(p.token_requests(), 2);
    let requests: u32 = all.iter().map(|ex| ex.requests).sum();
    assert_eq!(requests, 5 * 2 + 1, "each 401, one renewal, each resend");
}

#[tokio::test]
async fn a_401_with_a_fresh_token_is_not_retried_again() {
    let p = Provider::new(3600, ClientAuth::Basic, None);
    p.refuse_all.store(true, Ordering::SeqCst);
    let base = start(&p).await;
    let auth = authenticator(true);
    let conn = connection(&base, ClientAuth::Basic, None);
    let ex = send(&auth, &conn, &format!("{base}/orders")).await;
    assert_eq!(outcome(&ex), (Some(401), None));
    // Token, request, token again, request again: then the 401 stands.
    assert_eq!(ex.requests, 4);
    assert_eq!(p.token_requests(), 2);
}

#[tokio::test]
async fn client_secret_post_and_a_scope_are_what_the_endpoint_gets() {
    let (p, base, auth, conn) = setup(3600, ClientAuth::Body, Some("orders:write")).await;
    let ex = send(&auth, &conn, &format!("{base}/orders")).await;
    assert_eq!(outcome(&ex), (Some(200), None));
    // Basic client authentication is refused by this endpoint.
    let other = authenticator(true);
    let basic = connection(&base, ClientAuth::Basic, Some("orders:write"));
    let ex = send(&other, &basic, &format!("{base}/orders")).await;
    assert_eq!(
        outcome(&ex),
        (None, Some("token endpoint answered HTTP 401"))
    );
    assert_eq!(p.token_requests(), 2);
}

#[tokio::test]
async fn a_refusing_token_endpoint_is_reported_without_secrets_and_asked_once_per_burst() {
    // The endpoint wants client_secret_post; the connection sends Basic.
    let (p, base, auth, _) = setup(3600, ClientAuth::Body, None).await;
    let conn = connection(&base, ClientAuth::Basic, None);
    let all = send_many(&auth, &conn, &format!("{base}/orders"), 5).await;
    for ex in &all {
        assert_eq!(
            outcome(ex),
            (None, Some("token endpoint answered HTTP 401")),
            "{ex:?}"
        );
        assert_no_secret(ex, &[CLIENT_SECRET, CLIENT_ID]);
    }
    assert_eq!(p.token_requests(), 1, "those waiting share the failure");
    assert_eq!(all.iter().map(|ex| ex.requests).sum::<u32>(), 1);
    // A later send tries again.
    send(&auth, &conn, &format!("{base}/orders")).await;
    assert_eq!(p.token_requests(), 2);
    assert_eq!(p.served.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_guard_blocks_a_token_url_on_a_forbidden_address() {
    let (p, base, _, conn) = setup(3600, ClientAuth::Basic, None).await;
    // Private destinations not allowed: the loopback token endpoint is never contacted.
    let auth = authenticator(false);
    let ex = send(&auth, &conn, "https://shop.example.org/orders").await;
    assert_eq!(
        outcome(&ex),
        (
            None,
            Some("token endpoint: blocked destination: forbidden address")
        )
    );
    assert_eq!(p.token_requests(), 0);
    assert_no_secret(&ex, &[CLIENT_SECRET, &base]);
}

#[tokio::test]
async fn a_token_url_template_error_names_the_field() {
    let auth = authenticator(true);
    let scheme = AuthScheme::Oauth2ClientCredentials {
        token_url: "{{ env.MISSING }}/token".into(),
        scope: None,
        client_auth: ClientAuth::Basic,
    };
    let conn = resolved(
        scheme,
        &[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)],
        &[],
    );
    let ex = send(&auth, &conn, "http://127.0.0.1:9/orders").await;
    let error = ex.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("auth.token_url: "), "{error}");
    assert_eq!((ex.status, ex.requests), (None, 0));
}
