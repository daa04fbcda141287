//! Every authentication scheme of an app against a third-party tool that enforces it: a
//! workflow's action succeeds with the right credentials, fails (each attempt recorded,
//! retried) with wrong ones, and succeeds again once the connection's credentials are fixed;
//! OAuth 2 tokens and sessions are reused and fetched again on a 401; Digest answers fresh
//! and stale challenges. No record or response holds a credential.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::apps::{oauth2_auth, session_auth};
use crate::support::flow::{ActionFlow, WAIT};
use crate::support::secrets::random_string;
use crate::support::third_party::DigestAlgorithm;
use crate::support::{Guard, ThirdParty, attempts};

/// A user name short enough not to count as a secret (the scan ignores values under 8).
const USER: &str = "ap-user";

/// Right, then wrong, then right again: the first lot goes through on its first attempt, the
/// second fails and is retried until the credentials are fixed, then goes through.
async fn enforced(auth: Value, guard: Guard, right: Value, wrong: Value) -> ActionFlow {
    let f = ActionFlow::create_items(auth, guard, right.clone()).await;
    let first = f.dispatch_lot("L-1").await;
    let d = f.succeeded(&first).await;
    let tried = attempts(&d);
    assert_eq!(tried.len(), 1, "one attempt: {d}");
    let excerpt = tried[0]["request_excerpt"].as_str().unwrap_or_default();
    assert!(
        excerpt.starts_with("POST ") && excerpt.contains("/items"),
        "the attempt shows the action's request: {excerpt:?}"
    );
    let got = f.tool.wait_for_success("POST", "/items", 1, WAIT).await;
    assert_eq!(got[0].json(), json!({"lot": "L-1", "event": first}));

    f.set_credentials(wrong).await;
    let second = f.dispatch_lot("L-2").await;
    let d = f.failing(&second, 2).await;
    for a in attempts(&d) {
        let status = a["status_code"].as_u64();
        assert!(
            !status.is_some_and(|s| (200..300).contains(&s)),
            "a refused attempt is recorded as failed: {a}"
        );
    }
    assert_eq!(
        f.tool
            .wait_for_success("POST", "/items", 1, WAIT)
            .await
            .len(),
        1,
        "nothing got through with the wrong credentials"
    );

    f.set_credentials(right).await;
    f.succeeded(&second).await;
    let got = f.tool.wait_for_success("POST", "/items", 2, WAIT).await;
    assert_eq!(got[1].json()["lot"], "L-2");
    f.remember_issued_tokens();
    f.app.assert_logs_clean();
    f
}

fn user_password(password: &str) -> Value {
    json!({"username": USER, "password": password})
}

async fn enforced_user_password(auth: Value, guard_for: impl Fn(String) -> Guard) -> ActionFlow {
    let (right, wrong) = (random_string(24), random_string(24));
    enforced(
        auth,
        guard_for(right.clone()),
        user_password(&right),
        user_password(&wrong),
    )
    .await
}

#[tokio::test]
async fn basic_auth_is_enforced() {
    enforced_user_password(json!({"type": "basic"}), |password| Guard::Basic {
        username: USER.into(),
        password,
    })
    .await;
}

/// An API key `in` the header or query parameter `name`, enforced; the flow and the key.
async fn api_key_enforced(location: &str, name: &str) -> (ActionFlow, String) {
    let (right, wrong) = (random_string(32), random_string(32));
    let guard = match location {
        "header" => Guard::ApiKeyHeader {
            name: name.to_ascii_lowercase(),
            key: right.clone(),
        },
        _ => Guard::ApiKeyQuery {
            name: name.into(),
            key: right.clone(),
        },
    };
    let f = enforced(
        json!({"type": "api_key", "in": location, "name": name}),
        guard,
        json!({"api_key": right}),
        json!({"api_key": wrong}),
    )
    .await;
    (f, right)
}

#[tokio::test]
async fn api_key_in_a_header_is_enforced() {
    let (f, key) = api_key_enforced("header", "X-Api-Key").await;
    let got = f.tool.wait_for_success("POST", "/items", 2, WAIT).await;
    assert_eq!(got[0].header("x-api-key"), Some(key.as_str()));
}

#[tokio::test]
async fn api_key_in_the_query_is_enforced_and_redacted_from_attempts() {
    // The attempts' request excerpts show the URL: `enforced` checks them for the key.
    let (f, key) = api_key_enforced("query", "api_key").await;
    let got = f.tool.wait_for_success("POST", "/items", 2, WAIT).await;
    assert_eq!(got[0].query.get("api_key"), Some(&key));
}

fn oauth2_guard(secret: &str, ttl: Duration) -> Guard {
    Guard::OAuth2 {
        client_id: "ap-cli".into(),
        client_secret: secret.into(),
        ttl,
    }
}

fn client_credentials(secret: &str) -> Value {
    json!({"client_id": "ap-cli", "client_secret": secret})
}

async fn oauth2_enforced(client_auth: &str) -> ActionFlow {
    let (right, wrong) = (random_string(32), random_string(32));
    enforced(
        oauth2_auth(client_auth),
        oauth2_guard(&right, Duration::from_secs(3600)),
        client_credentials(&right),
        client_credentials(&wrong),
    )
    .await
}

#[tokio::test]
async fn oauth2_client_credentials_with_client_secret_basic_is_enforced() {
    let f = oauth2_enforced("basic").await;
    let tokens = f.tool.requests_to("POST", "/oauth/token");
    assert!(
        tokens.iter().all(|t| t
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))),
        "client_secret_basic: the client authenticates with Basic"
    );
}

#[tokio::test]
async fn oauth2_client_credentials_with_client_secret_post_is_enforced() {
    let f = oauth2_enforced("body").await;
    for t in f.tool.requests_to("POST", "/oauth/token") {
        let form = String::from_utf8_lossy(&t.body).into_owned();
        assert!(
            form.contains("client_id=ap-cli") && form.contains("client_secret="),
            "client_secret_post: the credentials are in the form: {form}"
        );
        assert_eq!(t.header("authorization"), None);
    }
}

/// `n` lots go through on one token (or session); then the tool revokes it, and the next
/// lot goes through in one attempt all the same, on a new one. `issued` counts the tool's
/// token requests (or logins).
async fn reused_then_renewed(f: &ActionFlow, n: usize, issued: impl Fn(&ThirdParty) -> usize) {
    for i in 1..=n {
        let id = f.dispatch_lot(&format!("L-{i}")).await;
        f.succeeded(&id).await;
    }
    assert_eq!(issued(&f.tool), 1, "one token for {n} actions");
    f.remember_issued_tokens();
    f.tool.revoke_tokens();
    let id = f.dispatch_lot("L-last").await;
    let d = f.succeeded(&id).await;
    assert_eq!(
        attempts(&d).len(),
        1,
        "a 401 is answered by a new token and one resend, in the same attempt: {d}"
    );
    assert_eq!(issued(&f.tool), 2);
    let statuses: Vec<u16> = f
        .tool
        .requests_to("POST", "/items")
        .iter()
        .map(|s| s.status)
        .collect();
    let mut expected = vec![201; n];
    expected.extend([401, 201]);
    assert_eq!(statuses, expected);
    f.remember_issued_tokens();
}

#[tokio::test]
async fn oauth2_token_is_reused_and_fetched_again_after_a_401() {
    let secret = random_string(32);
    let f = ActionFlow::create_items(
        oauth2_auth("basic"),
        oauth2_guard(&secret, Duration::from_secs(3600)),
        client_credentials(&secret),
    )
    .await;
    reused_then_renewed(&f, 3, ThirdParty::token_requests).await;
}

#[tokio::test]
async fn session_login_is_enforced() {
    enforced_user_password(session_auth(), |password| {
        session_guard(&password, Duration::from_secs(3600))
    })
    .await;
}

fn session_guard(password: &str, ttl: Duration) -> Guard {
    Guard::Session {
        username: USER.into(),
        password: password.into(),
        ttl,
    }
}

#[tokio::test]
async fn session_is_reused_and_renewed_after_a_401() {
    let password = random_string(24);
    let f = ActionFlow::create_items(
        session_auth(),
        session_guard(&password, Duration::from_secs(3600)),
        user_password(&password),
    )
    .await;
    reused_then_renewed(&f, 2, ThirdParty::logins).await;
}

#[tokio::test]
async fn an_expired_session_is_renewed() {
    let password = random_string(24);
    let f = ActionFlow::create_items(
        session_auth(),
        session_guard(&password, Duration::from_secs(1)),
        user_password(&password),
    )
    .await;
    let id = f.dispatch_lot("L-1").await;
    f.succeeded(&id).await;
    assert_eq!(f.tool.logins(), 1);
    // Past the session's one second of life (the tool refuses it from then on).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = f.dispatch_lot("L-2").await;
    f.succeeded(&id).await;
    assert_eq!(f.tool.logins(), 2, "one new login for the expired session");
    f.remember_issued_tokens();
}

async fn digest_enforced(algorithm: DigestAlgorithm) -> ActionFlow {
    enforced_user_password(json!({"type": "digest"}), move |password| Guard::Digest {
        username: USER.into(),
        password,
        algorithm,
    })
    .await
}

#[tokio::test]
async fn digest_md5_is_enforced() {
    digest_enforced(DigestAlgorithm::Md5).await;
}

#[tokio::test]
async fn digest_sha256_is_enforced_and_a_stale_nonce_is_answered_again() {
    let f = digest_enforced(DigestAlgorithm::Sha256).await;
    f.tool.stale_nonces();
    let id = f.dispatch_lot("L-3").await;
    let d = f.succeeded(&id).await;
    assert_eq!(attempts(&d).len(), 1, "a stale nonce is re-answered: {d}");
    let answered = f.tool.wait_for_success("POST", "/items", 3, WAIT).await;
    assert!(
        answered.iter().all(|s| s
            .header("authorization")
            .is_some_and(|a| a.starts_with("Digest ") && a.contains("algorithm=SHA-256"))),
        "every accepted request answered a SHA-256 challenge"
    );
}

#[tokio::test]
async fn connection_test_reports_the_tools_answer_without_secrets() {
    let password = random_string(24);
    let f = ActionFlow::create_items(
        json!({"type": "basic"}),
        Guard::Basic {
            username: USER.into(),
            password: password.clone(),
        },
        user_password(&password),
    )
    .await;
    let path = format!("/v1/connections/{}/test", f.connection_id());
    let ok = f
        .app
        .post(&path, &f.setup.integrator.token, &json!({}))
        .await;
    ok.assert_status(200);
    assert_eq!(ok.json["ok"], true, "{}", ok.text);
    assert_eq!(ok.json["status"], 200);
    assert_eq!(f.tool.requests_to("GET", "/ping").len(), 1);

    f.set_credentials(user_password(&random_string(24))).await;
    let refused = f
        .app
        .post(&path, &f.setup.integrator.token, &json!({}))
        .await;
    refused.assert_status(200);
    assert_eq!(refused.json["ok"], false, "{}", refused.text);
    assert_eq!(refused.json["status"], 401);
    f.app
        .assert_free_of_secrets("a connection test's answer", &refused.text);
}
