//! The manufacturer registry over HTTP: one record per FSSAI licence number, read by anyone
//! holding `manufacturers:read`, written by the registrars of the states that use it, listed
//! by state and by name prefix.

use serde_json::json;

use crate::support::TestApp;
use crate::support::manufacturers::manufacturer;

const NUMBER: &str = "10014011000123";

#[tokio::test]
async fn a_manufacturer_is_registered_read_and_updated_by_its_fssai_number() {
    let app = TestApp::spawn().await;
    let ap = app.registrar(&["AP"]).await;
    let body = manufacturer(NUMBER, "Annapurna FRK Industries", &["AP"]);

    let created = app.register_manufacturer(&ap.token, &body).await;
    created.assert_status(201);
    let record = &created.json;
    assert_eq!(record["fssai_licence"], NUMBER);
    assert_eq!(record["contact"]["phone"], "+919848012345", "normalised");
    assert_eq!(record["states"], json!(["AP"]));
    assert_eq!(
        (record["version"].clone(), record["created_by"].as_str()),
        (json!(1), Some(ap.id.as_str()))
    );

    let read = app.manufacturer(&ap.token, NUMBER).await;
    read.assert_status(200);
    assert_eq!(read.json, created.json);

    let again = app.register_manufacturer(&ap.token, &body).await;
    again.assert_problem(409, "conflict");

    let same = app.put_manufacturer(&ap.token, &body).await;
    same.assert_status(200);
    assert_eq!(same.json["outcome"], "unchanged");
    assert_eq!(same.json["manufacturer"]["version"], 1);

    let mut moved = body.clone();
    moved["contact"]["phone"] = json!("9000000001");
    let updated = app.put_manufacturer(&ap.token, &moved).await;
    updated.assert_status(200);
    assert_eq!(updated.json["outcome"], "updated");
    assert_eq!(updated.json["manufacturer"]["version"], 2);
    let read = app.manufacturer(&ap.token, NUMBER).await;
    assert_eq!(read.json["contact"]["phone"], "9000000001");

    // PUT registers a number it does not know; the body may leave the number to the path.
    let mut fresh = manufacturer("10014011000999", "Second Mills", &["AP"]);
    fresh.as_object_mut().map(|o| o.remove("fssai_licence"));
    let put = app
        .put("/v1/manufacturers/10014011000999", &ap.token, &fresh)
        .await;
    put.assert_status(201);
    assert_eq!(put.json["outcome"], "created");

    app.manufacturer(&ap.token, "10014011000000")
        .await
        .assert_problem(404, "not_found");
    for malformed in ["1001401100012", "1001401100012x", "cl_1"] {
        app.manufacturer(&ap.token, malformed)
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn manufacturers_are_listed_by_state_and_name_prefix_page_by_page() {
    let app = TestApp::spawn().await;
    let (ap, tg) = (app.registrar(&["AP"]).await, app.registrar(&["TG"]).await);
    for (i, name) in [
        "delta Foods",
        "Alpha Premix",
        "charlie Rice",
        "Bravo Kernels",
    ]
    .iter()
    .enumerate()
    {
        let body = manufacturer(&format!("1001401100010{i}"), name, &["AP"]);
        app.register_manufacturer(&ap.token, &body)
            .await
            .assert_status(201);
    }
    let tg_only = manufacturer("10014011000200", "Alpha Two", &["TG"]);
    app.register_manufacturer(&tg.token, &tg_only)
        .await
        .assert_status(201);

    let (names, sizes) = app.manufacturer_names(&tg.token, "state=AP", 3).await;
    assert_eq!(
        names,
        [
            "Alpha Premix",
            "Bravo Kernels",
            "charlie Rice",
            "delta Foods"
        ],
        "by name, case ignored"
    );
    assert_eq!(sizes, [3, 1]);
    let (names, _) = app.manufacturer_names(&ap.token, "state=TG", 10).await;
    assert_eq!(names, ["Alpha Two"]);
    let (names, _) = app
        .manufacturer_names(&ap.token, "name_prefix=ALPHA", 1)
        .await;
    assert_eq!(names, ["Alpha Premix", "Alpha Two"], "every state's");
    let (names, _) = app
        .manufacturer_names(&ap.token, "state=AP&name_prefix=alpha", 10)
        .await;
    assert_eq!(names, ["Alpha Premix"]);
    let (names, _) = app
        .manufacturer_names(&ap.token, "name_prefix=zulu", 10)
        .await;
    assert!(names.is_empty());

    for bad in ["state=ap", "limit=0", "cursor=not-a-cursor"] {
        app.get(&format!("/v1/manufacturers?{bad}"), &ap.token)
            .await
            .assert_problem(400, "invalid_request");
    }
}

#[tokio::test]
async fn bad_fields_are_a_422_listing_every_one_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let ap = app.registrar(&["AP"]).await;
    let mut body = manufacturer(NUMBER, " ", &["AP", "ap"]);
    body["licence_valid_until"] = json!("31/03/2027");
    body["pincode"] = json!("52001");
    body["contact"]["email"] = json!("nobody");
    body["commodity"] = json!("rice");

    let refused = app.register_manufacturer(&ap.token, &body).await;
    refused.assert_problem(422, "invalid_request");
    assert_eq!(
        refused.error_fields(),
        [
            "name",
            "licence_valid_until",
            "pincode",
            "contact.email",
            "commodity",
            "states[1]"
        ]
    );
    app.put_manufacturer(&ap.token, &body)
        .await
        .assert_problem(422, "invalid_request");
    let mut other_number = manufacturer(NUMBER, "Annapurna", &["AP"]);
    other_number["fssai_licence"] = json!("10014011000124");
    let mismatch = app
        .put(
            &format!("/v1/manufacturers/{NUMBER}"),
            &ap.token,
            &other_number,
        )
        .await;
    mismatch.assert_problem(422, "invalid_request");
    assert_eq!(mismatch.error_fields(), ["fssai_licence"]);

    app.manufacturer(&ap.token, NUMBER)
        .await
        .assert_problem(404, "not_found");
    let (names, _) = app.manufacturer_names(&ap.token, "state=AP", 10).await;
    assert!(names.is_empty(), "nothing stored: {names:?}");
}

#[tokio::test]
async fn scopes_and_states_bound_who_reads_and_writes_the_registry() {
    let app = TestApp::spawn().await;
    let ap = app.registrar(&["AP"]).await;
    let body = manufacturer(NUMBER, "Annapurna FRK Industries", &["AP"]);

    let portal = app.portal(&["AP"]).await;
    app.manufacturer(&portal.token, NUMBER)
        .await
        .assert_problem(403, "forbidden");
    app.register_manufacturer(&portal.token, &body)
        .await
        .assert_problem(403, "forbidden");
    let reader = app.client(&["manufacturers:read"], &["AP"]).await;
    app.register_manufacturer(&reader.token, &body)
        .await
        .assert_problem(403, "forbidden");

    // A registrar speaks for its own states only.
    let for_tg = manufacturer(NUMBER, "Annapurna FRK Industries", &["AP", "TG"]);
    let refused = app.register_manufacturer(&ap.token, &for_tg).await;
    refused.assert_problem(403, "forbidden");
    assert_eq!(refused.error_fields(), ["states[1]"]);

    app.register_manufacturer(&ap.token, &body)
        .await
        .assert_status(201);
    app.manufacturer(&reader.token, NUMBER)
        .await
        .assert_status(200);

    // Another state's registrar: the same business joins; another one is a conflict.
    let tg = app.registrar(&["TG"]).await;
    let claim = manufacturer(NUMBER, "Someone Else Ltd", &["TG"]);
    let conflict = app.put_manufacturer(&tg.token, &claim).await;
    conflict.assert_problem(409, "conflict");
    assert_eq!(conflict.error_fields(), ["name"]);
    let mut joined = manufacturer(NUMBER, "ANNAPURNA frk industries", &["TG"]);
    joined["contact"]["phone"] = json!("9000000002");
    let join = app.put_manufacturer(&tg.token, &joined).await;
    join.assert_status(200);
    let record = &join.json["manufacturer"];
    assert_eq!(record["states"], json!(["AP", "TG"]));
    assert_eq!(record["name"], "Annapurna FRK Industries", "AP's to change");
    assert_eq!(record["contact"]["phone"], "+919848012345");

    // Only the registry publishes its events.
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let forged = json!({"type": "ManufacturerCreated", "state": "AP", "data": {}});
    app.publish(&publisher.token, &forged)
        .await
        .assert_problem(403, "forbidden");

    // An admin writes for every state.
    let admin = app.admin_token().await;
    let mut renamed = body.clone();
    renamed["name"] = json!("Annapurna Foods");
    let by_admin = app.put_manufacturer(&admin, &renamed).await;
    by_admin.assert_status(200);
    assert_eq!(by_admin.json["manufacturer"]["states"], json!(["AP"]));
}
