//! Client registration by admins: create, list, read, rotate the secret, delete.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::app::ADMIN_ID;
use crate::support::{Receiver, TestApp, event, eventually};

#[tokio::test]
async fn admin_registers_a_client_whose_secret_is_shown_only_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let created = app
        .post(
            "/v1/clients",
            &admin,
            &json!({"name": "AP state portal", "scopes": ["events:write", "subscriptions:write", "subscriptions:read"], "states": ["AP"]}),
        )
        .await;

    created.assert_status(201).assert_no_store();
    let c = &created.json;
    let id = c["id"].as_str().expect("an id");
    assert!(id.starts_with("cl_"), "client ids start with cl_: {id}");
    assert_eq!(c["name"], "AP state portal");
    assert_eq!(
        c["scopes"],
        json!(["events:write", "subscriptions:write", "subscriptions:read"])
    );
    assert_eq!(c["states"], json!(["AP"]));
    assert!(
        c["client_secret"].as_str().is_some_and(|s| s.len() >= 20),
        "{c}"
    );
    assert!(c["created_at"].as_str().is_some());

    let read = app.get(&format!("/v1/clients/{id}"), &admin).await;
    read.assert_status(200);
    assert_eq!(read.json["id"], id);
    assert_eq!(read.json["name"], "AP state portal");
    assert!(read.json.get("client_secret").is_none(), "{}", read.text);
    let secret = c["client_secret"].as_str().expect("a secret");
    assert!(
        !read.text.contains(secret),
        "the secret is never shown again"
    );
}

#[tokio::test]
async fn client_list_shows_every_client_without_secrets() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (ap, ap_secret) = app
        .create_client("AP portal", &["events:write"], &["AP"])
        .await;
    let (tg, tg_secret) = app
        .create_client("TG portal", &["events:read"], &["TG"])
        .await;

    let list = app.get("/v1/clients", &admin).await;

    list.assert_status(200);
    assert!(
        list.json.get("next_cursor").is_some(),
        "lists carry next_cursor: {}",
        list.text
    );
    let ids: Vec<&str> = list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for id in [ap.as_str(), tg.as_str(), ADMIN_ID] {
        assert!(ids.contains(&id), "{id} is listed: {}", list.text);
    }
    for secret in [ap_secret.as_str(), tg_secret.as_str(), app.admin_secret()] {
        assert!(!list.text.contains(secret), "no secret in the client list");
    }
    assert!(!list.text.contains("client_secret"));
}

#[tokio::test]
async fn new_client_secret_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, old) = app
        .create_client("portal", &["events:write"], &["AP"])
        .await;

    let rotated = app
        .post(&format!("/v1/clients/{id}/secret"), &admin, &json!({}))
        .await;

    rotated.assert_status(200).assert_no_store();
    let new = rotated.json["client_secret"]
        .as_str()
        .expect("a new client_secret")
        .to_string();
    assert_ne!(new, old);
    let resp = app
        .token_request(&[("grant_type", "client_credentials")], Some((&id, &old)))
        .await;
    resp.assert_status(401);
    assert_eq!(resp.json["error"], "invalid_client");
    let token = app.token(&id, &new, None).await;
    app.publish(&token, &event("LotCreated", "AP", json!({"lotNo": "L-1"})))
        .await
        .assert_status(202);
}

#[tokio::test]
async fn deleted_client_is_not_found_and_gets_no_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, secret) = app
        .create_client("portal", &["events:write"], &["AP"])
        .await;

    app.delete(&format!("/v1/clients/{id}"), &admin)
        .await
        .assert_status(204);

    app.get(&format!("/v1/clients/{id}"), &admin)
        .await
        .assert_problem(404, "not_found");
    let resp = app
        .token_request(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    resp.assert_status(401);
    assert_eq!(resp.json["error"], "invalid_client");
    let list = app.get("/v1/clients", &admin).await;
    assert!(!list.text.contains(&id), "a deleted client is not listed");
}

#[tokio::test]
async fn deleted_clients_tokens_stop_working_within_a_minute() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;
    app.get("/v1/subscriptions", &portal.token)
        .await
        .assert_status(200);

    app.delete(&format!("/v1/clients/{}", portal.id), &admin)
        .await
        .assert_status(204);

    eventually(
        Duration::from_secs(65),
        "the deleted client's token to be refused",
        || async {
            let resp = app.get("/v1/subscriptions", &portal.token).await;
            (resp.status == 401).then_some(resp)
        },
    )
    .await
    .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn only_admins_manage_clients() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["*"]).await;

    app.get("/v1/clients", &portal.token)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/v1/clients",
        &portal.token,
        &json!({"name": "sneaky", "scopes": ["admin"], "states": ["*"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get(&format!("/v1/clients/{}", portal.id), &portal.token)
        .await
        .assert_problem(403, "forbidden");
    app.delete(&format!("/v1/clients/{ADMIN_ID}"), &portal.token)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("/v1/clients/{ADMIN_ID}/secret"),
        &portal.token,
        &json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.admin_token().await;
}

#[tokio::test]
async fn invalid_client_registration_is_400_naming_the_bad_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let cases: [(Value, &str); 5] = [
        (
            json!({"name": "x", "scopes": ["events:fly"], "states": ["AP"]}),
            "scopes",
        ),
        (
            json!({"name": "x", "scopes": ["events:write"], "states": ["andhra pradesh"]}),
            "states",
        ),
        (
            json!({"name": "x", "scopes": [], "states": ["AP"]}),
            "scopes",
        ),
        (
            json!({"name": "", "scopes": ["events:write"], "states": ["AP"]}),
            "name",
        ),
        (
            json!({"name": "x", "scopes": ["events:write"], "states": []}),
            "states",
        ),
    ];
    for (body, field) in cases {
        let resp = app.post("/v1/clients", &admin, &body).await;
        resp.assert_problem(400, "invalid_request");
        assert!(
            resp.error_fields().iter().any(|f| f.starts_with(field)),
            "{body} names {field} in errors: {}",
            resp.text
        );
    }
    app.post("/v1/clients", &admin, &json!({"scopes": ["events:write"]}))
        .await
        .assert_problem(400, "invalid_request");
}

#[tokio::test]
async fn unknown_client_id_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    app.get("/v1/clients/cl_doesnotexist", &admin)
        .await
        .assert_problem(404, "not_found");
    app.delete("/v1/clients/cl_doesnotexist", &admin)
        .await
        .assert_problem(404, "not_found");
    app.post("/v1/clients/cl_doesnotexist/secret", &admin, &json!({}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn deleting_a_client_removes_its_subscriptions_and_stops_its_webhooks() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;

    app.delete(&format!("/v1/clients/{}", s.subscriber.id), &admin)
        .await
        .assert_status(204);

    app.get(&s.sub.path(""), &admin)
        .await
        .assert_problem(404, "not_found");
    let listed = app
        .get(
            &format!("/v1/subscriptions?client_id={}", s.subscriber.id),
            &admin,
        )
        .await;
    assert!(listed.data().is_empty(), "{}", listed.text);
    s.publish(&app, "LotDispatched", json!({"lotNo": "L-1"}))
        .await;
    receiver.assert_no_more_requests(0).await;
}

#[tokio::test]
async fn an_admin_cannot_delete_itself() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    app.delete(&format!("/v1/clients/{ADMIN_ID}"), &admin)
        .await
        .assert_problem(409, "conflict");

    app.get(&format!("/v1/clients/{ADMIN_ID}"), &admin)
        .await
        .assert_status(200);
}
