//! What the console's admin and catalog pages rely on: disabling and enabling a client by
//! `PATCH /v1/clients/{id}` (its tokens refused while disabled, an admin never disabling
//! itself), and the catalog's examples — every built-in type has one, `PUT` checks a new one
//! against the type's schema.

use std::time::Duration;

use serde_json::json;

use crate::support::app::ADMIN_ID;
use crate::support::{TestApp, eventually};

#[tokio::test]
async fn a_disabled_client_gets_no_tokens_and_its_tokens_stop_working_until_enabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;
    let path = format!("/v1/clients/{}", portal.id);
    app.get(&path, &admin).await.assert_status(200).json["disabled"]
        .as_bool()
        .filter(|d| !d)
        .expect("a new client is enabled");

    let off = app.patch(&path, &admin, &json!({"disabled": true})).await;
    off.assert_status(200);
    assert_eq!(off.json["disabled"], true, "{}", off.text);
    assert_eq!(app.get(&path, &admin).await.json["disabled"], true);
    let listed = app.get("/v1/clients", &admin).await;
    let row = listed
        .data()
        .into_iter()
        .find(|c| c["id"] == portal.id.as_str())
        .expect("the client is listed");
    assert_eq!(row["disabled"], true);
    eventually(
        Duration::from_secs(65),
        "the disabled client's token to be refused",
        || async {
            let resp = app.get("/v1/subscriptions", &portal.token).await;
            (resp.status == 401).then_some(resp)
        },
    )
    .await
    .assert_problem(401, "unauthorized");
    let refused = app
        .token_request(
            &[("grant_type", "client_credentials")],
            Some((&portal.id, &portal.secret)),
        )
        .await;
    refused.assert_status(401);
    assert_eq!(refused.json["error"], "invalid_client");

    let on = app.patch(&path, &admin, &json!({"disabled": false})).await;
    on.assert_status(200);
    assert_eq!(on.json["disabled"], false);
    let token = app.token(&portal.id, &portal.secret, None).await;
    app.get("/v1/subscriptions", &token)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_admin_cannot_disable_itself_and_disabled_must_be_a_boolean() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let own = format!("/v1/clients/{ADMIN_ID}");
    app.patch(&own, &admin, &json!({"disabled": true}))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(app.get(&own, &admin).await.json["disabled"], false);
    app.patch(&own, &admin, &json!({"disabled": false}))
        .await
        .assert_status(200);
    let portal = app.portal(&["AP"]).await;
    let path = format!("/v1/clients/{}", portal.id);
    app.patch(&path, &admin, &json!({"disabled": "yes"}))
        .await
        .assert_problem(400, "invalid_request");
    app.patch(&path, &portal.token, &json!({"disabled": true}))
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn every_catalog_type_has_an_example_and_a_new_one_must_match_its_schema() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;
    let list = app.get("/v1/event-types", &portal.token).await;
    list.assert_status(200);
    let types = list.data();
    assert!(types.len() >= 20, "{}", list.text);
    for t in &types {
        assert!(t["example"].is_object(), "{} has an example", t["name"]);
    }

    let schema = json!({"type": "object", "required": ["lotNo"],
        "properties": {"lotNo": {"type": "string"}, "quantityKg": {"type": "number", "minimum": 0}}});
    let bad = app
        .put(
            "/v1/event-types/LotWeighed",
            &admin,
            &json!({"description": "A lot was weighed.", "schema": schema,
                "example": {"lotNo": "L-1", "quantityKg": -5}}),
        )
        .await;
    bad.assert_problem(422, "schema_mismatch");
    assert_eq!(bad.error_fields(), ["example/quantityKg"], "{}", bad.text);
    let example = json!({"lotNo": "L-1", "quantityKg": 250.5});
    app.put(
        "/v1/event-types/LotWeighed",
        &admin,
        &json!({"description": "A lot was weighed.", "schema": schema, "example": example}),
    )
    .await
    .assert_status(201);
    let listed = app.get("/v1/event-types", &portal.token).await.data();
    let weighed = listed
        .iter()
        .find(|t| t["name"] == "LotWeighed")
        .expect("the new type is listed");
    assert_eq!(weighed["example"], example);
    // The example is what a publisher can send.
    app.publish_event(&portal.token, "LotWeighed", "AP", example.clone())
        .await;
}
