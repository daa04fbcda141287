//! Subscriptions: create, read, list, update, delete; validation; the signing secret and its
//! rotation; and the walls between clients.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, event};

fn hook(path: &str) -> String {
    format!("https://portal.example.org{path}")
}

#[tokio::test]
async fn created_subscription_has_its_fields_defaults_and_a_whsec_secret() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let resp = app
        .subscribe(
            &portal.token,
            &json!({"url": hook("/qaqc"), "description": "AP lots", "event_types": ["LotDispatched", "LotTest*"]}),
        )
        .await;

    resp.assert_status(201);
    let s = &resp.json;
    assert!(
        s["id"].as_str().is_some_and(|id| id.starts_with("sub_")),
        "{s}"
    );
    assert_eq!(s["client_id"], portal.id.as_str());
    assert_eq!(s["url"], hook("/qaqc"));
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
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["*"]}),
        )
        .await;

    let read = app
        .get(&format!("/v1/subscriptions/{}", sub.id), &portal.token)
        .await;
    read.assert_status(200);
    assert!(read.json.get("secret").is_none(), "{}", read.text);
    assert!(!read.text.contains(&sub.secret));
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(!list.text.contains(&sub.secret));

    let secret = app
        .get(
            &format!("/v1/subscriptions/{}/secret", sub.id),
            &portal.token,
        )
        .await;
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
        .subscribe_ok(
            &ap.token,
            &json!({"url": hook("/ap"), "event_types": ["*"]}),
        )
        .await;
    let tg_sub = app
        .subscribe_ok(
            &tg.token,
            &json!({"url": hook("/tg"), "event_types": ["*"]}),
        )
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
            &json!({"url": hook("/h"), "description": "before", "event_types": ["LotDispatched"]}),
        )
        .await;

    let resp = app
        .patch(
            &format!("/v1/subscriptions/{}", sub.id),
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
    assert_eq!(s["url"], hook("/h"), "fields not in the patch are kept");
    assert_eq!(s["event_types"], json!(["LotDispatched"]));
    assert!(s.get("secret").is_none());
    let read = app
        .get(&format!("/v1/subscriptions/{}", sub.id), &portal.token)
        .await;
    assert_eq!(read.json["description"], "after");
    assert_eq!(read.json["enabled"], false);

    let cleared = app
        .patch(
            &format!("/v1/subscriptions/{}", sub.id),
            &portal.token,
            &json!({"filter": null}),
        )
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.json["filter"], Value::Null);
}

#[tokio::test]
async fn patch_with_an_unknown_field_is_400() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["*"]}),
        )
        .await;

    let resp = app
        .patch(
            &format!("/v1/subscriptions/{}", sub.id),
            &portal.token,
            &json!({"description": "x", "client_id": "cl_someone_else"}),
        )
        .await;

    resp.assert_problem(400, "invalid_request");
    let read = app
        .get(&format!("/v1/subscriptions/{}", sub.id), &portal.token)
        .await;
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
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["*"]}),
        )
        .await;
    let path = format!("/v1/subscriptions/{}", sub.id);

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
        .subscribe_ok(
            &owner.token,
            &json!({"url": hook("/h"), "event_types": ["*"]}),
        )
        .await;
    let base = format!("/v1/subscriptions/{}", sub.id);

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
async fn subscribing_to_states_outside_the_clients_states_is_403() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for states in [json!(["TG"]), json!(["AP", "TG"]), json!(["*"])] {
        let resp = app
            .subscribe(
                &portal.token,
                &json!({"url": hook("/h"), "event_types": ["*"], "states": states}),
            )
            .await;
        resp.assert_problem(403, "forbidden");
    }
    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["*"], "states": ["AP"]}),
        )
        .await;
    app.patch(
        &format!("/v1/subscriptions/{}", sub.id),
        &portal.token,
        &json!({"states": ["KA"]}),
    )
    .await
    .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn unknown_exact_event_type_is_400_but_any_prefix_is_accepted() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    let resp = app
        .subscribe(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["LotDispatched", "LotTeleported"]}),
        )
        .await;
    resp.assert_problem(400, "unknown_event_type");
    assert!(
        resp.text.contains("LotTeleported")
            || resp
                .error_fields()
                .iter()
                .any(|f| f.contains("event_types"))
    );

    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["Lot*", "Future*"]}),
        )
        .await;
    assert_eq!(sub.json["event_types"], json!(["Lot*", "Future*"]));
}

#[tokio::test]
async fn invalid_destinations_are_400_invalid_destination() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for url in [
        "ftp://x",
        "/relative/hook",
        "https://u:p@example.org/",
        "not a url",
        "http://",
    ] {
        let resp = app
            .subscribe(&portal.token, &json!({"url": url, "event_types": ["*"]}))
            .await;
        resp.assert_problem(400, "invalid_destination");
    }
    let sub = app
        .subscribe_ok(
            &portal.token,
            &json!({"url": hook("/h"), "event_types": ["*"]}),
        )
        .await;
    app.patch(
        &format!("/v1/subscriptions/{}", sub.id),
        &portal.token,
        &json!({"url": "ftp://x"}),
    )
    .await
    .assert_problem(400, "invalid_destination");
}

#[tokio::test]
async fn missing_or_out_of_range_fields_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let url = hook("/h");

    let cases: Vec<(Value, &str)> = vec![
        (json!({"event_types": ["*"]}), "url"),
        (json!({"url": url}), "event_types"),
        (json!({"url": url, "event_types": []}), "event_types"),
        (
            json!({"url": url, "event_types": ["*"], "max_attempts": 51}),
            "max_attempts",
        ),
        (
            json!({"url": url, "event_types": ["*"], "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"url": url, "event_types": ["*"], "timeout_ms": 0}),
            "timeout_ms",
        ),
        (
            json!({"url": url, "event_types": ["*"], "timeout_ms": 600000}),
            "timeout_ms",
        ),
        (
            json!({"url": url, "event_types": ["*"], "filter": {"data": "x"}}),
            "filter",
        ),
        (
            json!({"url": url, "event_types": ["*"], "filter": {"$or": [{"state": ["AP"]}]}}),
            "filter",
        ),
        (
            json!({"url": url, "event_types": ["*"], "states": ["andhra"]}),
            "states",
        ),
        // An unknown field: refused, whatever the problem names.
        (
            json!({"url": url, "event_types": ["*"], "colour": "blue"}),
            "",
        ),
    ];
    for (body, field) in cases {
        let resp = app.subscribe(&portal.token, &body).await;
        resp.assert_problem(400, "invalid_request");
        if !field.is_empty() {
            assert!(
                resp.error_fields().iter().any(|f| f.starts_with(field)),
                "{body}: errors name {field}: {}",
                resp.text
            );
        }
    }
    let list = app.get("/v1/subscriptions", &portal.token).await;
    assert!(list.data().is_empty(), "nothing invalid was created");
}

#[tokio::test]
async fn reserved_request_headers_are_refused() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;

    for name in [
        "Host",
        "Content-Length",
        "Content-Type",
        "webhook-id",
        "Webhook-Signature",
    ] {
        let resp = app
            .subscribe(
                &portal.token,
                &json!({"url": hook("/h"), "event_types": ["*"], "headers": {name: "x"}}),
            )
            .await;
        resp.assert_problem(400, "invalid_request");
    }
    app.subscribe_ok(
        &portal.token,
        &json!({"url": hook("/h"), "event_types": ["*"], "headers": {"X-Portal-Key": "abc", "Authorization": "Bearer portal-side"}}),
    )
    .await;
}

#[tokio::test]
async fn rotated_secret_signs_alongside_the_previous_one() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.client(&["events:write"], &["AP"]).await;
    let sub = app
        .subscribe_ok(
            &subscriber.token,
            &json!({"url": receiver.url("/hook"), "event_types": ["*"]}),
        )
        .await;

    let rotated = app
        .post(
            &format!("/v1/subscriptions/{}/secret/rotate", sub.id),
            &subscriber.token,
            &json!({}),
        )
        .await;

    rotated.assert_status(200);
    let new = rotated.json["secret"]
        .as_str()
        .expect("the new secret")
        .to_string();
    assert!(new.starts_with("whsec_"));
    assert_ne!(new, sub.secret);
    let current = app
        .get(
            &format!("/v1/subscriptions/{}/secret", sub.id),
            &subscriber.token,
        )
        .await;
    assert_eq!(
        current.json["secret"],
        new.as_str(),
        "the secret endpoint shows the new one"
    );

    app.publish_ok(
        &publisher.token,
        &event("LotCreated", "AP", json!({"lotNo": "L-1"})),
    )
    .await;
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
    req.assert_signed_by(&sub.secret);
}
