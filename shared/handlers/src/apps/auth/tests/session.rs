//! Session: a login endpoint that counts logins and a resource that refuses unknown, expired
//! and dropped sessions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hookline_domain::apps::{AuthScheme, FieldSpec, FieldType, RequestTemplate, SessionApply};
use serde_json::{Value, json};

use super::*;
use crate::test_support::serve;

const PASSWORD: &str = "pa55-w0rd!";

struct Site {
    /// Session lifetime it announces (seconds), if it announces one.
    expires_in: Option<u64>,
    logins: AtomicUsize,
    sessions: Mutex<HashMap<String, Instant>>,
}

impl Site {
    fn new(expires_in: Option<u64>) -> Arc<Site> {
        Arc::new(Site {
            expires_in,
            logins: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn logins(&self) -> usize {
        self.logins.load(Ordering::SeqCst)
    }
}

async fn login(State(s): State<Arc<Site>>, axum::Json(body): axum::Json<Value>) -> Response {
    let n = s.logins.fetch_add(1, Ordering::SeqCst) + 1;
    let expected = json!({"user": "ops", "password": PASSWORD, "account": "acme-42"});
    if body != expected {
        return StatusCode::FORBIDDEN.into_response();
    }
    let token = format!("sess-{n}");
    // Unannounced sessions live an hour on the server.
    let lifetime = s.expires_in.unwrap_or(3600);
    s.sessions.lock().expect("sessions").insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    let mut data = json!({ "token": token });
    if let Some(expires_in) = s.expires_in {
        data["expires_in"] = json!(expires_in);
    }
    axum::Json(json!({ "data": data })).into_response()
}

async fn resource(State(s): State<Arc<Site>>, headers: HeaderMap) -> StatusCode {
    let token = headers
        .get("x-session")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "));
    let sessions = s.sessions.lock().expect("sessions");
    match token.and_then(|t| sessions.get(t)) {
        Some(expiry) if *expiry > Instant::now() => StatusCode::OK,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn start(s: &Arc<Site>) -> String {
    let app = axum::Router::new()
        .route("/login", post(login))
        .route("/items", get(resource))
        .with_state(s.clone());
    serve(app).await
}

/// A session app logging in with `POST {{ env.BASE }}/login` and a JSON body of its
/// credentials and the secret property `account`.
fn connection(base: &str, password: &str, expires_in: Option<&str>) -> Resolved {
    let field = |key: &str| FieldSpec {
        key: key.into(),
        label: key.into(),
        kind: FieldType::String,
        required: true,
        choices: None,
        secret: key == "password",
        help: String::new(),
    };
    let login = RequestTemplate {
        method: HttpMethod::Post,
        url: "{{ env.BASE }}/login".into(),
        headers: BTreeMap::new(),
        query: BTreeMap::new(),
        body: Some(json!({
            "user": "{{ credentials.username }}",
            "password": "{{ credentials.password }}",
            "account": "{{ props.account }}",
        })),
        form: None,
    };
    let scheme = AuthScheme::Session {
        fields: vec![field("username"), field("password")],
        login,
        token: "/data/token".into(),
        expires_in: expires_in.map(str::to_string),
        ttl_seconds: None,
        apply: SessionApply {
            header: "X-Session".into(),
            value: "Token {{ session.token }}".into(),
        },
    };
    resolved(
        scheme,
        &[("username", "ops"), ("password", password)],
        &[("BASE", base)],
    )
}

/// A site announcing `expires_in`, its base URL, an authenticator and a connection logging
/// in with `password` and reading the lifetime at `expires_pointer`.
async fn setup(
    expires_in: Option<u64>,
    password: &str,
    expires_pointer: Option<&str>,
) -> (Arc<Site>, String, Authenticator, Resolved) {
    let site = Site::new(expires_in);
    let base = start(&site).await;
    let conn = connection(&base, password, expires_pointer);
    (site, base, authenticator(true), conn)
}

#[tokio::test]
async fn concurrent_sends_log_in_once_and_share_the_session() {
    let (site, base, auth, conn) = setup(Some(3600), PASSWORD, Some("/data/expires_in")).await;
    let all = send_many(&auth, &conn, &format!("{base}/items"), 10).await;
    assert_all_ok(&all);
    assert_eq!(site.logins(), 1);
    assert_eq!(all.iter().map(|ex| ex.requests).sum::<u32>(), 11);
}

#[tokio::test]
async fn an_expired_session_logs_in_again_once() {
    let (site, base, auth, conn) = setup(Some(2), PASSWORD, Some("/data/expires_in")).await;
    let url = format!("{base}/items");
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    assert_eq!(site.logins(), 1);
    // The session's announced lifetime (less its margin) is the condition waited for.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_all_ok(&send_many(&auth, &conn, &url, 5).await);
    assert_eq!(site.logins(), 2);
}

#[tokio::test]
async fn a_dropped_session_is_renewed_once_on_a_401() {
    // No lifetime announced and none declared: the default hour applies.
    let (site, base, auth, conn) = setup(None, PASSWORD, None).await;
    let url = format!("{base}/items");
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    site.sessions.lock().expect("sessions").clear();
    let ex = send(&auth, &conn, &url).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 3));
    assert_eq!(site.logins(), 2);
}

#[tokio::test]
async fn a_refused_login_is_reported_without_the_password() {
    let (site, base, auth, conn) =
        setup(Some(3600), "wrong-password", Some("/data/expires_in")).await;
    let ex = send(&auth, &conn, &format!("{base}/items")).await;
    assert_eq!(outcome(&ex), (None, Some("login answered HTTP 403")));
    assert_eq!(ex.requests, 1);
    assert_no_secret(&ex, &["wrong-password"]);
    assert_eq!(site.logins(), 1);
}
