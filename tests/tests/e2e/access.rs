//! Access and secrets: who may read a signing secret, that no cache keeps a secret, the
//! headers of the docs pages, that an event's deliveries are paged from the caller's own
//! only, and which states a subscription gets when it names none.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::api::urlencode;
use crate::support::{PORTAL_SCOPES, Receiver, TestApp, eventually, portal_hook};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_subscriptions_read_token_cannot_read_a_signing_secret() {
    let app = TestApp::spawn().await;
    let scopes = [PORTAL_SCOPES.as_slice(), &["subscriptions:secrets"]].concat();
    let (id, secret) = app.create_client("portal", &scopes, &["AP"]).await;
    let writer = app.token(&id, &secret, Some("subscriptions:write")).await;
    let sub = app
        .subscribe_at(&writer, &portal_hook("/h"), json!({}))
        .await;
    let path = sub.path("/secret");

    let reader = app.token(&id, &secret, Some("subscriptions:read")).await;
    app.get(&sub.path(""), &reader).await.assert_status(200);
    let refused = app.get(&path, &reader).await;
    refused.assert_problem(403, "forbidden");
    assert!(!refused.text.contains(&sub.secret), "{}", refused.text);
    assert!(
        refused.text.contains("subscriptions:secrets"),
        "the problem names the scope: {}",
        refused.text
    );

    let verifier = app.token(&id, &secret, Some("subscriptions:secrets")).await;
    for token in [&verifier, &writer, &app.admin_token().await] {
        let read = app.get(&path, token).await;
        read.assert_status(200);
        assert_eq!(read.json["secret"], sub.secret.as_str());
    }
    // The secrets scope reads secrets and nothing else.
    app.get(&sub.path(""), &verifier)
        .await
        .assert_problem(403, "forbidden");
    app.post(&format!("{path}/rotate"), &verifier, &json!({}))
        .await
        .assert_problem(403, "forbidden");

    let metadata = app
        .send(app.request(
            reqwest::Method::GET,
            "/.well-known/oauth-authorization-server",
        ))
        .await;
    assert!(
        metadata.json["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("subscriptions:secrets"))),
        "{}",
        metadata.text
    );
}

/// The client side (creation, secret reset) is checked in `clients.rs`.
#[tokio::test]
async fn every_response_that_carries_a_signing_secret_or_a_token_is_no_store() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    app.token_request(
        &[("grant_type", "client_credentials")],
        Some((&portal.id, &portal.secret)),
    )
    .await
    .assert_status(200)
    .assert_no_store();

    let sub = app
        .subscribe(
            &portal.token,
            &json!({"url": portal_hook("/h"), "event_types": ["*"]}),
        )
        .await;
    sub.assert_status(201).assert_no_store();
    let path = format!(
        "/v1/subscriptions/{}/secret",
        sub.json["id"].as_str().expect("id")
    );
    app.post(&format!("{path}/rotate"), &portal.token, &json!({}))
        .await
        .assert_status(200)
        .assert_no_store();
    app.get(&path, &portal.token)
        .await
        .assert_status(200)
        .assert_no_store();
}

#[tokio::test]
async fn docs_the_openapi_document_and_the_console_send_the_page_headers() {
    let app = TestApp::spawn().await;
    let browser = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");

    for path in [
        "/docs",
        "/docs/swagger-initializer.js",
        "/openapi.json",
        "/console",
        "/console/app.js",
    ] {
        let resp = browser.get(app.url(path)).send().await.expect("an answer");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in '{csp}'");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
    }
}

/// Pages of `GET /v1/deliveries?{query}` walked with `limit=1`: each page's ids, and the
/// cursors handed out.
async fn walk(app: &TestApp, token: &str, query: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let (mut pages, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut path = format!("/v1/deliveries?{query}&limit=1");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let page = app.get(&path, token).await;
        page.assert_status(200);
        pages.push(
            page.data()
                .iter()
                .map(|d| d["id"].as_str().expect("an id").to_string())
                .collect(),
        );
        match page.json["next_cursor"].as_str() {
            Some(c) => {
                cursors.push(c.to_string());
                cursor = Some(c.to_string());
            }
            None => return (pages, cursors),
        }
    }
    panic!("paging did not end: {pages:?}");
}

/// The ids of a client's deliveries of `event_id`, once `count` of them have succeeded.
async fn own_deliveries(app: &TestApp, token: &str, event_id: &str, count: usize) -> Vec<String> {
    let query = format!("event_id={event_id}&status=succeeded&limit=100");
    eventually(
        WAIT,
        &format!("{count} deliveries of {event_id}"),
        || async {
            let list = app.deliveries(token, &query).await;
            (list.len() == count).then(|| {
                list.iter()
                    .map(|d| d["id"].as_str().expect("an id").to_string())
                    .collect::<Vec<_>>()
            })
        },
    )
    .await
}

#[tokio::test]
async fn an_events_deliveries_are_paged_from_the_callers_own_only() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let mine = app.portal(&["AP"]).await;
    let theirs = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    for (client, n) in [(&mine, 3), (&theirs, 3)] {
        for i in 0..n {
            app.subscribe_ok(
                &client.token,
                &json!({"url": receiver.url(&format!("/{}/{i}", client.id)), "event_types": ["*"]}),
            )
            .await;
        }
    }
    let id = app
        .publish_event(&publisher.token, "LotCreated", "AP", json!({}))
        .await;
    let my_ids = own_deliveries(&app, &mine.token, &id, 3).await;
    let their_ids = own_deliveries(&app, &theirs.token, &id, 3).await;

    let (pages, cursors) = walk(&app, &mine.token, &format!("event_id={id}")).await;
    assert!(
        pages.iter().all(|p| p.len() == 1),
        "every page is full of the caller's own: {pages:?}"
    );
    let mut seen: Vec<String> = pages.concat();
    seen.sort();
    let mut expected = my_ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "paging walks each own delivery once");
    for cursor in &cursors {
        let text = URL_SAFE_NO_PAD
            .decode(cursor)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        for other in &their_ids {
            assert!(
                !cursor.contains(other.as_str()) && !text.contains(other.as_str()),
                "cursor {cursor} ({text}) names another client's delivery"
            );
        }
    }

    // The status and subscription filters page the same way; an admin sees every client's.
    let (pages, _) = walk(
        &app,
        &mine.token,
        &format!("event_id={id}&status=succeeded"),
    )
    .await;
    assert!(pages.iter().all(|p| p.len() == 1), "{pages:?}");
    let admin = app.admin_token().await;
    let (pages, _) = walk(&app, &admin, &format!("event_id={id}")).await;
    assert_eq!(pages.concat().len(), 6, "{pages:?}");
    app.get(
        "/v1/deliveries?event_id=evt_x&cursor=bm90LWEtY3Vyc29y",
        &mine.token,
    )
    .await
    .assert_problem(400, "invalid_request");
}

#[tokio::test]
async fn a_subscription_naming_no_states_gets_the_allowed_ones_the_stack_serves() {
    let app = TestApp::builder()
        .env("HOOKLINE_STATES", "AP,KA")
        .spawn()
        .await;
    let body = |states: Option<Value>| {
        let mut b = json!({"url": portal_hook("/h"), "event_types": ["*"]});
        if let Some(s) = states {
            b["states"] = s;
        }
        b
    };

    let several = app.portal(&["AP", "TG", "KA"]).await;
    let sub = app.subscribe_ok(&several.token, &body(None)).await;
    assert_eq!(sub.json["states"], json!(["AP", "KA"]), "{}", sub.json);
    app.subscribe(&several.token, &body(Some(json!(["TG"]))))
        .await
        .assert_problem(403, "forbidden");
    app.subscribe(&several.token, &body(Some(json!(["MH"]))))
        .await
        .assert_problem(403, "forbidden");

    let elsewhere = app.portal(&["TG", "MH"]).await;
    let refused = app.subscribe(&elsewhere.token, &body(None)).await;
    refused.assert_problem(403, "forbidden");
    assert_eq!(refused.error_fields(), ["states"], "{}", refused.text);

    let everywhere = app.portal(&["*"]).await;
    let sub = app.subscribe_ok(&everywhere.token, &body(None)).await;
    assert_eq!(sub.json["states"], json!(["*"]), "{}", sub.json);
}
