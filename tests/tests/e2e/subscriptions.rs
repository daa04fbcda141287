//! Subscriptions: create, read, list, update, delete; the signing secret and its rotation;
//! and the walls between clients. What a subscription may not be is in
//! `subscription_validation`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, portal_hook};

#[tokio::test]
async fn created_subscription_has_its_fields_defaults_and_a_whsec_secret() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let resp = app
        .subscribe(
            &portal.token,
            &json!({"url": portal_hook("/qaqc"), "description": "AP lots", "event_types": ["LotDispatched", "LotTest*"]}),
        )
        .await;

    resp.assert_status(201);
    let s = &resp.json;
    assert!(
        s["id"].as_str().is_some_and(|id| id.starts_with("sub_")),
        "{s}"
    );
    assert_eq!(s["client_id"], portal.id.as_str());
    assert_eq!(s["url"], portal_hook("/qaqc"));
    assert_eq!(s["description"], "AP lots");
    assert_eq!(s["event_types"], json!(["LotDispatched", "LotTest*"]));
    assert_eq!(
        s["states"],
        json!(["AP"]),
        "omitted states = all of the client's"
    );
    assert_eq!(s["filter"], Value::Null);
    assert_eq!(s["headers"], json!({}));
    assert_eq!(s["timeout_ms"], 10000);
    assert_eq!(s["max_attempts"], 12);
    assert_eq!(s["enabled"], true);
    assert_eq!(s["disabled_reason"], Value::Null);
    assert_eq!(s["include_own_events"], false);
    assert!(s["created_at"].as_str().is_some() && s["updated_at"].as_str().is_some());
    assert!(
        s["secret"]
            .as_str()
            .is_some_and(|x| x.starts_with("whsec_")),
        "{s}"
    );
}

#[tokio::test]
async fn subscription_secret_is_only_in_the_create_response_and_the_secret_endpoint() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(&portal.token, &portal_hook("/h"), json!({}))
        .await;

    let read = app.get(&sub.path(""), &portal.token).await;
    read.assert_status(200);
    assert!(read.json.get("secret").is_none(), "{}", read.text);
    assert!(!read.text.contains(&sub.secret));
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(!list.text.contains(&sub.secret));

    let secret = app.get(&sub.path("/secret"), &portal.token).await;
    secret.assert_status(200);
    assert_eq!(secret.json["secret"], sub.secret.as_str());
}

#[tokio::test]
async fn clients_list_only_their_own_subscriptions_and_admins_list_any() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ap = app.portal(&["AP"]).await;
    let tg = app.portal(&["TG"]).await;
    let ap_sub = app
        .subscribe_at(&ap.token, &portal_hook("/ap"), json!({}))
        .await;
    let tg_sub = app
        .subscribe_at(&tg.token, &portal_hook("/tg"), json!({}))
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|s| s["id"].as_str().expect("an id").to_string())
            .collect()
    };

    let mine = app.get("/v1/subscriptions", &ap.token).await;
    mine.assert_status(200);
    assert_eq!(ids(&mine.json), vec![ap_sub.id.as_str()]);
    assert!(mine.json.get("next_cursor").is_some());

    let all = app.get("/v1/subscriptions", &admin).await;
    let all_ids = ids(&all.json);
    assert!(
        all_ids.contains(&ap_sub.id) && all_ids.contains(&tg_sub.id),
        "{}",
        all.text
    );

    let only_tg = app
        .get(&format!("/v1/subscriptions?client_id={}", tg.id), &admin)
        .await;
    assert_eq!(ids(&only_tg.json), vec![tg_sub.id.as_str()]);
}

#[tokio::test]
async fn patch_updates_the_given_fields_only() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP", "TG"]).await;
    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": portal_hook("/h"), "description": "before", "event_types": ["LotDispatched"]}),
        )
        .await;

    let resp = app
        .patch(
            &sub.path(""),
            &portal.token,
            &json!({"description": "after", "states": ["TG"], "filter": {"data": {"status": ["dispatched"]}},
                    "headers": {"X-Portal-Key": "abc"}, "timeout_ms": 5000, "max_attempts": 3, "enabled": false}),
        )
        .await;

    resp.assert_status(200);
    let s = &resp.json;
    assert_eq!(s["description"], "after");
    assert_eq!(s["states"], json!(["TG"]));
    assert_eq!(s["filter"], json!({"data": {"status": ["dispatched"]}}));
    assert_eq!(s["headers"], json!({"X-Portal-Key": "abc"}));
    assert_eq!(s["timeout_ms"], 5000);
    assert_eq!(s["max_attempts"], 3);
    assert_eq!(s["enabled"], false);
    assert_eq!(
        s["url"],
        portal_hook("/h"),
        "fields not in the patch are kept"
    );
    assert_eq!(s["event_types"], json!(["LotDispatched"]));
    assert!(s.get("secret").is_none());
    let read = app.get(&sub.path(""), &portal.token).await;
    assert_eq!(read.json["description"], "after");
    assert_eq!(read.json["enabled"], false);

    let cleared = app
        .patch(&sub.path(""), &portal.token, &json!({"filter": null}))
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.json["filter"], Value::Null);
}

#[tokio::test]
async fn patch_with_an_unknown_field_is_400() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(&portal.token, &portal_hook("/h"), json!({}))
        .await;

    let resp = app
        .patch(
            &sub.path(""),
            &portal.token,
            &json!({"description": "x", "client_id": "cl_someone_else"}),
        )
        .await;

    resp.assert_problem(400, "invalid_request");
    let read = app.get(&sub.path(""), &portal.token).await;
    assert_eq!(
        read.json["description"], "",
        "a refused patch changes nothing"
    );
    assert_eq!(read.json["client_id"], portal.id.as_str());
}

#[tokio::test]
async fn deleted_subscription_is_gone() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(&portal.token, &portal_hook("/h"), json!({}))
        .await;
    let path = sub.path("");

    app.delete(&path, &portal.token).await.assert_status(204);

    app.get(&path, &portal.token)
        .await
        .assert_problem(404, "not_found");
    app.delete(&path, &portal.token)
        .await
        .assert_problem(404, "not_found");
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(list.data().is_empty(), "{}", list.text);
}

#[tokio::test]
async fn another_clients_subscription_is_404_everywhere() {
    let app = TestApp::spawn().await;
    let owner = app.portal(&["AP"]).await;
    let intruder = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_at(&owner.token, &portal_hook("/h"), json!({}))
        .await;
    let base = sub.path("");

    let t = &intruder.token;
    for resp in [
        app.get(&base, t).await,
        app.patch(&base, t, &json!({"description": "mine now"}))
            .await,
        app.get(&format!("{base}/secret"), t).await,
        app.post(&format!("{base}/secret/rotate"), t, &json!({}))
            .await,
        app.post(&format!("{base}/test"), t, &json!({})).await,
        app.post(&format!("{base}/replay"), t, &json!({})).await,
        app.delete(&base, t).await,
    ] {
        resp.assert_problem(404, "not_found");
        assert!(!resp.text.contains(&sub.secret));
    }
    let list = app
        .get(&format!("/v1/deliveries?subscription_id={}", sub.id), t)
        .await;
    assert!(
        list.status == 404 || (list.status == 200 && list.data().is_empty()),
        "another client's deliveries are not listed: {}",
        list.text
    );
    let still = app.get(&base, &owner.token).await;
    still.assert_status(200);
    assert_eq!(still.json["description"], "");
}

#[tokio::test]
async fn rotated_secret_signs_alongside_the_previous_one() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;

    let new = app.rotate_secret(&s.subscriber.token, &s.sub).await;

    assert!(new.starts_with("whsec_"));
    assert_ne!(new, s.sub.secret);
    let current = app.get(&s.sub.path("/secret"), &s.subscriber.token).await;
    assert_eq!(
        current.json["secret"],
        new.as_str(),
        "the secret endpoint shows the new one"
    );

    s.publish(&app, "LotCreated", json!({"lotNo": "L-1"})).await;
    let got = receiver.wait_for(1, Duration::from_secs(15)).await;
    let req = &got[0];
    let signatures = req.required_header("webhook-signature");
    assert_eq!(
        signatures
            .split(' ')
            .filter(|s| s.starts_with("v1,"))
            .count(),
        2,
        "during rotation two signatures are sent: {signatures}"
    );
    req.assert_signed_by(&new);
    req.assert_signed_by(&s.sub.secret);
}
