//! The service around the API: health, the OpenAPI document and Swagger UI, request ids,
//! unknown routes, malformed input (never a 5xx), and graceful shutdown.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn health_reports_ok_the_version_and_the_backend() {
    let app = TestApp::spawn().await;

    let resp = app.send(app.request(Method::GET, "/health")).await;

    resp.assert_status(200);
    assert_eq!(resp.json["status"], "ok");
    assert_eq!(resp.json["backend"], app.backend().name());
    assert!(
        resp.json["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{}",
        resp.text
    );
}

#[tokio::test]
async fn openapi_document_is_openapi_3_1_listing_every_api_path() {
    let app = TestApp::spawn().await;

    let resp = app.send(app.request(Method::GET, "/openapi.json")).await;

    resp.assert_status(200);
    let doc = &resp.json;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1: {:?}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].as_str().is_some());
    // Parameter names are the implementation's choice: compare with `{}` in their place.
    let normalise = |p: &str| -> String {
        let mut out = String::new();
        let mut in_param = false;
        for c in p.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                _ if !in_param => out.push(c),
                _ => {}
            }
        }
        out
    };
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|p| normalise(p))
        .collect();
    for expected in [
        "/oauth/token",
        "/v1/clients",
        "/v1/clients/{}",
        "/v1/clients/{}/secret",
        "/v1/event-types",
        "/v1/event-types/{}",
        "/v1/events",
        "/v1/events/{}",
        "/v1/subscriptions",
        "/v1/subscriptions/{}",
        "/v1/subscriptions/{}/secret",
        "/v1/subscriptions/{}/secret/rotate",
        "/v1/subscriptions/{}/test",
        "/v1/subscriptions/{}/replay",
        "/v1/deliveries",
        "/v1/deliveries/{}",
        "/v1/deliveries/{}/retry",
        "/health",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} is documented; paths: {paths:?}"
        );
    }
}

#[tokio::test]
async fn docs_serve_the_swagger_ui() {
    let app = TestApp::spawn().await;
    let browser = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");

    let resp = browser
        .get(app.url("/docs"))
        .send()
        .await
        .expect("an answer");

    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    let html = resp.text().await.expect("a body").to_ascii_lowercase();
    assert!(html.contains("swagger"), "the page is Swagger UI");
}

#[tokio::test]
async fn request_id_is_echoed_when_the_caller_sends_one() {
    let app = TestApp::spawn().await;

    for path in ["/health", "/no-such-route", "/v1/subscriptions"] {
        let resp = app
            .send(
                app.request(Method::GET, path)
                    .header("x-request-id", "portal-req-4711"),
            )
            .await;
        assert_eq!(
            resp.header("x-request-id"),
            Some("portal-req-4711"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn request_id_is_generated_on_every_response() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let responses = [
        app.send(app.request(Method::GET, "/health")).await,
        app.send(app.request(Method::GET, "/no-such-route")).await,
        app.send(app.request(Method::GET, "/v1/subscriptions"))
            .await,
        app.get("/v1/clients", &admin).await,
        app.token_request(&[("grant_type", "password")], None).await,
    ];

    let mut ids: Vec<String> = responses
        .iter()
        .map(|r| {
            r.header("x-request-id")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| panic!("HTTP {} has an x-request-id: {:?}", r.status, r.headers))
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), responses.len(), "request ids are unique");
}

#[tokio::test]
async fn unknown_route_is_a_problem_json_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    app.send(app.request(Method::GET, "/no-such-route"))
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/no-such-resource", &admin)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn malformed_bodies_never_yield_a_5xx() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(&portal.token, "https://portal.example.org/hook", json!({}))
        .await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    // Bodies no endpoint can accept: not JSON, not an object, or every field mistyped.
    let everywhere: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"1e999999".to_vec(),
        b"{\"a\": 1, \"a\": 2".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        deep.into_bytes(),
        br#"{"type": ["x"], "state": {}, "data": 1, "url": 5, "event_types": "x", "events": "x", "name": [], "scopes": 3, "states": null, "since": [], "until": {}, "only_failed": "x", "description": 5, "schema": 7}"#.to_vec(),
    ];
    let sub_path = sub.path("");
    // Each endpoint with bodies that are well-formed JSON but invalid for it in particular.
    let targets: Vec<(Method, String, &str, Vec<&[u8]>)> = vec![
        (Method::POST, "/v1/events".into(), portal.token.as_str(), vec![
            br#"{"events": [1, null, "x", []]}"#,
            br#"{"type": "LotCreated", "state": "AP", "data": {}, "occurred_at": "last tuesday"}"#,
        ]),
        (Method::POST, "/v1/subscriptions".into(), portal.token.as_str(), vec![
            br#"{"url": "http://[::1", "event_types": ["*"]}"#,
            br#"{"url": "https://portal.example.org/h", "event_types": ["*"], "filter": {"$or": 5}}"#,
            br#"{"url": "https://portal.example.org/h", "event_types": ["*"], "timeout_ms": -1}"#,
            br#"{"url": "https://portal.example.org/h", "event_types": ["*"], "max_attempts": 1e100}"#,
        ]),
        (Method::PATCH, sub_path.clone(), portal.token.as_str(), vec![
            br#"{"events": [1]}"#,
            br#"{"filter": {"$or": 5}}"#,
            br#"{"enabled": "yes"}"#,
        ]),
        (Method::POST, format!("{sub_path}/replay"), portal.token.as_str(), vec![
            br#"{"since": "last tuesday"}"#,
        ]),
        (Method::POST, "/v1/clients".into(), admin.as_str(), vec![
            br#"{"name": "x", "scopes": "admin", "states": "AP"}"#,
        ]),
        (Method::PUT, "/v1/event-types/LotCreated".into(), admin.as_str(), vec![
            br#"{"description": "x", "schema": {"type": "no-such-type"}}"#,
        ]),
    ];

    // Every violation is collected, so one run shows them all.
    let mut violations = Vec::new();
    for (method, path, token, specific) in &targets {
        // Every field of a replay is optional, so an empty body is a valid replay request.
        let empty_ok = path.ends_with("/replay");
        let bodies = everywhere
            .iter()
            .map(Vec::as_slice)
            .filter(|b| !(empty_ok && b.is_empty()))
            .chain(specific.iter().copied());
        for body in bodies {
            for content_type in ["application/json", "text/plain"] {
                let resp = app
                    .send(
                        app.request(method.clone(), path)
                            .bearer_auth(token)
                            .header("content-type", content_type)
                            .body(body.to_vec()),
                    )
                    .await;
                let ok = (400..500).contains(&resp.status)
                    && resp.content_type() == "application/problem+json";
                if !ok {
                    let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
                    violations.push(format!(
                        "{method} {path} ({content_type}) with {shown:?} → {} {}: {}",
                        resp.status,
                        resp.content_type(),
                        resp.text
                    ));
                }
            }
        }
    }
    for body in &everywhere {
        let resp = app
            .send(
                app.request(Method::POST, "/oauth/token")
                    .header("content-type", "application/json")
                    .body(body.clone()),
            )
            .await;
        if !((400..500).contains(&resp.status) && resp.json["error"].is_string()) {
            violations.push(format!(
                "POST /oauth/token → {}: {}",
                resp.status, resp.text
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "malformed bodies must get a 4xx problem (never a 5xx, never a success):\n{}",
        violations.join("\n")
    );

    app.send(app.request(Method::GET, "/health"))
        .await
        .assert_status(200);
    assert!(!app.output().contains("panicked"), "no handler panicked");
}

#[tokio::test]
async fn malformed_query_and_path_parameters_are_4xx_problems() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for path in [
        "/v1/deliveries?limit=abc",
        "/v1/deliveries?limit=-1",
        "/v1/deliveries?status=bogus",
        "/v1/deliveries?cursor=%FF%FE-not-a-cursor",
        "/v1/subscriptions?cursor=garbage",
        "/v1/events/%00",
        "/v1/subscriptions/..%2F..%2Fetc%2Fpasswd",
    ] {
        let resp = app.get(path, &portal.token).await;
        assert!(
            (400..500).contains(&resp.status),
            "{path} → {}: {}",
            resp.status,
            resp.text
        );
        assert_eq!(
            resp.content_type(),
            "application/problem+json",
            "{path}: {}",
            resp.text
        );
    }
    let resp = app
        .send(
            app.request(Method::DELETE, "/v1/events")
                .bearer_auth(&portal.token),
        )
        .await;
    assert!(
        (400..500).contains(&resp.status),
        "a wrong method is a 4xx: {}",
        resp.status
    );
}

#[tokio::test]
async fn empty_query_values_are_the_defaults_and_ids_are_checked_for_every_caller() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for path in [
        "/v1/subscriptions?cursor=",
        "/v1/deliveries?cursor=&status=",
        "/v1/clients?cursor=",
    ] {
        let token = if path.starts_with("/v1/clients") {
            app.admin_token().await
        } else {
            portal.token.clone()
        };
        let resp = app.get(path, &token).await;
        resp.assert_status(200);
        assert!(resp.json["data"].is_array(), "{path}: {}", resp.text);
        assert!(resp.json["next_cursor"].is_null(), "{path}: {}", resp.text);
    }
    // An empty `limit` is no number.
    app.get("/v1/deliveries?limit=", &portal.token)
        .await
        .assert_problem(400, "invalid_request");
    // A portal's `client_id` is ignored, but it is still checked as an admin's would be.
    app.get("/v1/subscriptions?client_id=", &portal.token)
        .await
        .assert_problem(400, "invalid_request");
}

#[tokio::test]
async fn sigterm_shuts_the_runner_down_with_exit_code_zero() {
    let mut app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.get("/v1/clients", &admin).await.assert_status(200);

    let status = app.stop().await;

    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn a_second_runner_on_the_same_data_directory_is_refused_and_the_first_carries_on() {
    let app = TestApp::spawn().await;
    if app.backend() != crate::support::backend::Backend::Embedded {
        // On the AWS backend the data directory holds no store.
        return;
    }
    let admin = app.admin_token().await;

    let (status, output) = app.run_beside();

    let status = status.expect("the second runner exits by itself");
    assert!(!status.success(), "refused with a failure status: {output}");
    assert!(
        output.contains("in use by another process"),
        "says why: {output}"
    );
    app.get("/v1/clients", &admin).await.assert_status(200);
}
