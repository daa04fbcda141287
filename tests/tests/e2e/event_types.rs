//! The event catalog: the default fortification catalog, a catalog file, and types added by
//! admins with `PUT /v1/event-types/{name}`.

use serde_json::{Value, json};

use reqwest::Method;

use crate::support::{FORTIFICATION_TYPES, TestApp, event};

fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("an event type list has data: {list}"))
        .iter()
        .map(|t| t["name"].as_str().expect("a type name").to_string())
        .collect()
}

#[tokio::test]
async fn default_catalog_lists_the_fortification_event_types() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let list = app.get("/v1/event-types", &portal.token).await;

    list.assert_status(200);
    let names = names(&list.json);
    for t in FORTIFICATION_TYPES {
        assert!(
            names.iter().any(|n| n == t),
            "{t} is in the default catalog: {names:?}"
        );
    }
    for t in list.json["data"].as_array().expect("data") {
        assert!(
            t.get("description").is_some(),
            "every type has a description: {t}"
        );
        assert!(
            t.get("schema").is_some(),
            "every type has a schema or null: {t}"
        );
    }
}

#[tokio::test]
async fn admin_adds_an_event_type_that_can_then_be_published_and_subscribed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;

    let put = app
        .put(
            "/v1/event-types/ManufacturerRegistered",
            &admin,
            &json!({"description": "A manufacturer joined the registry", "schema": null}),
        )
        .await;

    assert!(
        matches!(put.status, 200 | 201),
        "PUT answers 200 or 201: {}",
        put.text
    );
    let list = app.get("/v1/event-types", &portal.token).await;
    let added = list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|t| t["name"] == "ManufacturerRegistered")
        .cloned()
        .unwrap_or_else(|| panic!("the new type is listed: {}", list.text));
    assert_eq!(added["description"], "A manufacturer joined the registry");
    app.subscribe_at(
        &portal.token,
        "https://example.org/hook",
        json!({"event_types": ["ManufacturerRegistered"]}),
    )
    .await;
    app.publish_event(
        &portal.token,
        "ManufacturerRegistered",
        "AP",
        json!({"fssai": "10012345000123"}),
    )
    .await;
}

#[tokio::test]
async fn put_replaces_an_existing_types_description_and_schema() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let schema = json!({"type": "object", "required": ["lotNo"], "properties": {"lotNo": {"type": "string"}}});

    let put = app
        .put(
            "/v1/event-types/LotDispatched",
            &admin,
            &json!({"description": "A lot left the mill", "schema": schema}),
        )
        .await;

    assert!(matches!(put.status, 200 | 201), "{}", put.text);
    let list = app.get("/v1/event-types", &admin).await;
    let t = list.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|t| t["name"] == "LotDispatched")
        .cloned()
        .expect("LotDispatched is listed");
    assert_eq!(t["description"], "A lot left the mill");
    assert_eq!(t["schema"], schema);
    assert_eq!(
        names(&list.json)
            .iter()
            .filter(|n| *n == "LotDispatched")
            .count(),
        1,
        "a type is listed once"
    );
}

#[tokio::test]
async fn only_admins_put_event_types_and_bad_ones_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["*"]).await;

    app.put(
        "/v1/event-types/Sneaky",
        &portal.token,
        &json!({"description": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.put(
        "/v1/event-types/BrokenSchema",
        &admin,
        &json!({"description": "x", "schema": {"type": 12}}),
    )
    .await
    .assert_problem(400, "invalid_request");
    // `true` and `false` are JSON Schemas, but not of an event's fields.
    for schema in [json!(false), json!(true), json!("object")] {
        app.put(
            "/v1/event-types/BooleanSchema",
            &admin,
            &json!({"description": "x", "schema": schema}),
        )
        .await
        .assert_problem(400, "invalid_request");
    }
    app.put(
        "/v1/event-types/bad%20name%21",
        &admin,
        &json!({"description": "x"}),
    )
    .await
    .assert_problem(400, "invalid_request");

    let list = app.get("/v1/event-types", &admin).await;
    for refused in ["Sneaky", "BrokenSchema", "BooleanSchema", "bad name!"] {
        assert!(
            !names(&list.json).iter().any(|n| n == refused),
            "{refused} was not added"
        );
    }
}

#[tokio::test]
async fn catalog_file_replaces_the_default_catalog() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("catalog.json");
    std::fs::write(
        &path,
        json!({"event_types": [
            {"name": "OrderPlaced", "description": "An order was placed"},
            {"name": "OrderShipped", "description": "An order left the warehouse",
             "schema": {"type": "object", "required": ["orderNo"]}}
        ]})
        .to_string(),
    )
    .expect("the catalog file");
    let app = TestApp::builder()
        .env("HOOKLINE_CATALOG", &path.display().to_string())
        .spawn()
        .await;
    let portal = app.portal(&["KA"]).await;

    let list = app.get("/v1/event-types", &portal.token).await;

    list.assert_status(200);
    let mut got = names(&list.json);
    got.sort();
    assert_eq!(got, ["OrderPlaced", "OrderShipped"]);
    app.publish_event(
        &portal.token,
        "OrderPlaced",
        "KA",
        json!({"orderNo": "O-1"}),
    )
    .await;
    app.publish(&portal.token, &event("LotDispatched", "KA", json!({})))
        .await
        .assert_problem(400, "unknown_event_type");
    app.publish(&portal.token, &event("OrderShipped", "KA", json!({})))
        .await
        .assert_problem(422, "schema_mismatch");
}

#[tokio::test]
async fn the_served_document_describes_each_catalog_type_as_a_webhook() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let schema = json!({"type": "object", "required": ["fssai"], "properties": {"fssai": {"type": "string"}}});
    let put = app
        .put(
            "/v1/event-types/ManufacturerRegistered",
            &admin,
            &json!({"description": "A manufacturer joined the registry", "schema": schema}),
        )
        .await;
    assert!(matches!(put.status, 200 | 201), "{}", put.text);

    let doc = app.send(app.request(Method::GET, "/openapi.json")).await;

    doc.assert_status(200);
    let webhooks = doc.json["webhooks"].as_object().expect("webhooks");
    // The built-in catalog's types, the generic request and the system events.
    for name in ["LotDispatched", "event", "hookline.subscription.disabled"] {
        assert!(webhooks.contains_key(name), "{name}: {:?}", webhooks.keys());
    }
    let added = &webhooks["ManufacturerRegistered"]["post"];
    assert_eq!(added["summary"], "A manufacturer joined the registry");
    let body = &added["requestBody"]["content"]["application/json"]["schema"]["allOf"];
    assert_eq!(body[1]["properties"]["data"], schema);
    assert_eq!(
        body[1]["properties"]["type"]["enum"],
        json!(["ManufacturerRegistered"])
    );
}
