//! Sync requests (seed 002): external sources of a client's resource, a sync requested and
//! ended by the integration that receives its webhook, who may end it, bad references, and
//! the members allocated to a source.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::integration::{Ended, Ending, Integration};
use crate::support::{Receiver, TestApp, TestClient, eventually};

/// How long a webhook may take to arrive (either backend).
const ARRIVAL: Duration = Duration::from_secs(30);

/// Scopes of a client that owns resources and subscribes to their sync events.
const OWNER_SCOPES: [&str; 4] = [
    "sync:write",
    "sync:read",
    "subscriptions:write",
    "subscriptions:read",
];

const FLOW: &str = "/v1/resources/flow-17";

fn sources_path() -> String {
    format!("{FLOW}/external-sources")
}

impl TestApp {
    /// Attaches `reference` to the owner's flow-17 (AP), ended by `integration`; asserts 201.
    async fn attach(&self, owner: &TestClient, reference: &str, integration: &str) -> Value {
        let body = json!({"reference": reference, "code": "FLOW-17", "state": "AP",
            "integration_id": integration});
        let resp = self.post(&sources_path(), &owner.token, &body).await;
        resp.assert_status(201);
        resp.json
    }

    /// Requests a sync of flow-17 (`body`: `{}` or one reference); asserts 202, returns it.
    async fn request_sync(&self, owner: &TestClient, body: Value) -> Value {
        let resp = self
            .post(&format!("{FLOW}/sync"), &owner.token, &body)
            .await;
        resp.assert_status(202);
        resp.json
    }

    /// Waits until the sync request `id` has `status` for `token`; returns it.
    async fn sync_with_status(&self, token: &str, id: &str, status: &str) -> Value {
        let path = format!("/v1/sync-requests/{id}");
        eventually(ARRIVAL, &format!("sync request {id} {status}"), || async {
            let r = self.get(&path, token).await;
            (r.status == 200 && r.json["status"] == status).then_some(r.json)
        })
        .await
    }
}

/// An owner for AP, a subscriber of its own sync endings at `receiver`.
async fn owner_at(app: &TestApp, receiver: &Receiver) -> (TestClient, String) {
    let owner = app.client(&OWNER_SCOPES, &["AP"]).await;
    let sub = app
        .subscribe_ok(
            &owner.token,
            &json!({"url": receiver.url("/hook"), "event_types": ["SyncCompleted", "SyncFailed"]}),
        )
        .await;
    (owner, sub.secret)
}

/// An integration client for AP whose endpoint ends every `SyncRequested` it receives.
async fn integration(app: &TestApp, ending: Ending) -> (TestClient, Integration) {
    let client = app.client(&OWNER_SCOPES, &["AP"]).await;
    let endpoint = Integration::start(&app.url(""), &client.token, ending).await;
    let sub = app
        .subscribe_ok(
            &client.token,
            &json!({"url": endpoint.url(), "event_types": ["SyncRequested"]}),
        )
        .await;
    endpoint.verify_with(&sub.secret);
    (client, endpoint)
}

#[tokio::test]
async fn a_sync_cycle_is_completed_by_the_integration_that_receives_its_webhook() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (owner, owner_secret) = owner_at(&app, &receiver).await;
    let (int_client, endpoint) = integration(&app, Ending::Complete).await;
    app.attach(&owner, "class_A", &int_client.id).await;
    let attached = app.attach(&owner, "class_B", &int_client.id).await;
    assert_eq!(attached["sync"], Value::Null, "{attached}");

    let req = app.request_sync(&owner, json!({})).await;
    let id = req["id"].as_str().expect("a request id").to_string();
    assert!(id.starts_with("sync_"), "{id}");
    assert_eq!(req["status"], "requested");
    assert_eq!(req["references"], json!(["class_A", "class_B"]));

    let ended = endpoint.wait_for_endings(1, ARRIVAL).await;
    assert_eq!(
        ended[0],
        Ended {
            request_id: id.clone(),
            status: 200
        },
        "the integration completed the request it was sent"
    );
    let done = app.sync_with_status(&owner.token, &id, "complete").await;
    assert_eq!(done["history"].as_array().map(Vec::len), Some(2), "{done}");
    assert_eq!(done["history"][1]["by"], int_client.id);
    assert!(done["ended_at"].is_string(), "{done}");

    let got = receiver.wait_for(1, ARRIVAL).await;
    got[0].assert_signed_by(&owner_secret);
    let envelope = got[0].json();
    assert_eq!(envelope["type"], "SyncCompleted");
    assert_eq!(envelope["state"], "AP");
    assert_eq!(envelope["source"], int_client.id);
    assert_eq!(envelope["data"]["request_id"], id);
    assert_eq!(envelope["data"]["resource_id"], "flow-17");
    assert_eq!(envelope["data"]["resource_code"], "FLOW-17");
    assert_eq!(
        envelope["data"]["references"],
        json!(["class_A", "class_B"])
    );

    let sources = app.get(&sources_path(), &owner.token).await;
    sources.assert_status(200);
    for s in sources.data() {
        assert_eq!(s["sync"]["request_id"], id, "{s}");
        assert_eq!(s["sync"]["status"], "complete", "{s}");
    }
    let again = app
        .post(
            &format!("/v1/sync-requests/{id}/complete"),
            &int_client.token,
            &json!({}),
        )
        .await;
    again.assert_problem(409, "conflict");
    receiver.assert_no_more_requests(1).await;
}

#[tokio::test]
async fn a_failed_sync_carries_its_reason_to_the_requester() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (owner, _) = owner_at(&app, &receiver).await;
    let (int_client, endpoint) = integration(&app, Ending::Fail("exam not found".into())).await;
    app.attach(&owner, "class_A", &int_client.id).await;
    app.attach(&owner, "class_B", &int_client.id).await;

    let req = app
        .request_sync(&owner, json!({"reference": "class_B"}))
        .await;
    assert_eq!(req["references"], json!(["class_B"]), "one source only");
    let id = req["id"].as_str().expect("an id").to_string();
    assert_eq!(endpoint.wait_for_endings(1, ARRIVAL).await[0].status, 200);

    let failed = app.sync_with_status(&owner.token, &id, "failed").await;
    assert_eq!(failed["reason"], "exam not found");
    let got = receiver.wait_for(1, ARRIVAL).await;
    let envelope = got[0].json();
    assert_eq!(envelope["type"], "SyncFailed");
    assert_eq!(envelope["data"]["reason"], "exam not found");
    assert_eq!(envelope["data"]["references"], json!(["class_B"]));
    let sources = app.get(&sources_path(), &owner.token).await.data();
    assert_eq!(sources[0]["sync"], Value::Null, "class_A was not synced");
    assert_eq!(sources[1]["sync"]["status"], "failed");
}

#[tokio::test]
async fn only_the_integration_ends_a_sync_request_and_only_once() {
    let app = TestApp::spawn().await;
    let owner = app.client(&OWNER_SCOPES, &["AP"]).await;
    let int_client = app.client(&["sync:write"], &["AP"]).await;
    let stranger = app.client(&OWNER_SCOPES, &["AP"]).await;
    app.attach(&owner, "EXAM-1", &int_client.id).await;
    let id = app.request_sync(&owner, json!({})).await["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let path = |end: &str| format!("/v1/sync-requests/{id}{end}");

    let open = app.get(&path(""), &owner.token).await;
    open.assert_status(200);
    assert_eq!(
        open.json["status"], "requested",
        "never completed: {}",
        open.text
    );
    assert_eq!(open.json["ended_at"], Value::Null);
    assert!(
        open.json["age_seconds"].as_i64().is_some_and(|a| a >= 0),
        "{}",
        open.text
    );

    // Another client neither sees it nor ends it; the owner sees it but is not its integration.
    app.get(&path(""), &stranger.token)
        .await
        .assert_problem(404, "not_found");
    app.post(&path("/complete"), &stranger.token, &json!({}))
        .await
        .assert_problem(404, "not_found");
    app.post(&path("/complete"), &owner.token, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.get(&sources_path(), &stranger.token)
        .await
        .assert_status(200);
    assert!(
        app.get(&sources_path(), &stranger.token)
            .await
            .data()
            .is_empty()
    );
    app.post(&format!("{FLOW}/sync"), &stranger.token, &json!({}))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&path(""), &owner.token).await.json["status"],
        "requested",
        "the refused calls changed nothing"
    );

    let done = app
        .post(&path("/complete"), &int_client.token, &json!({}))
        .await;
    done.assert_status(200);
    assert_eq!(done.json["status"], "complete");
    app.post(&path("/complete"), &int_client.token, &json!({}))
        .await
        .assert_problem(409, "conflict");
    app.post(
        &path("/fail"),
        &int_client.token,
        &json!({"reason": "late"}),
    )
    .await
    .assert_problem(409, "conflict");
    assert_eq!(
        app.get(&path(""), &owner.token).await.json["status"],
        "complete"
    );
}

#[tokio::test]
async fn an_invalid_reference_is_422_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let owner = app.client(&OWNER_SCOPES, &["AP"]).await;
    let too_long = "r".repeat(129);
    for bad in ["a b", "a/b", "EXAM#1", "é", "", too_long.as_str()] {
        let resp = app
            .post(
                &sources_path(),
                &owner.token,
                &json!({"reference": bad, "code": "FLOW-17", "state": "AP"}),
            )
            .await;
        resp.assert_problem(422, "invalid_request");
        assert_eq!(resp.error_fields(), ["reference"], "{bad:?}: {}", resp.text);
    }
    let other_state = app
        .post(
            &sources_path(),
            &owner.token,
            &json!({"reference": "ok", "code": "FLOW-17", "state": "TG"}),
        )
        .await;
    other_state.assert_problem(403, "forbidden");
    let forged = app
        .post(
            "/v1/events",
            &app.client(&["events:write"], &["AP"]).await.token,
            &json!({"type": "SyncCompleted", "state": "AP", "data": {}}),
        )
        .await;
    forged.assert_problem(403, "forbidden");
    let listed = app.get(&sources_path(), &owner.token).await;
    listed.assert_status(200);
    assert!(listed.data().is_empty(), "nothing stored: {}", listed.text);

    app.post(
        &sources_path(),
        &owner.token,
        &json!({"reference": "EXAM-1", "code": "F", "state": "AP"}),
    )
    .await
    .assert_status(201);
    let bad_sync = app
        .post(
            &format!("{FLOW}/sync"),
            &owner.token,
            &json!({"reference": "a b"}),
        )
        .await;
    bad_sync.assert_problem(422, "invalid_request");
    assert!(
        app.get(&format!("{FLOW}/sync-requests"), &owner.token)
            .await
            .data()
            .is_empty(),
        "no sync request stored"
    );
}

#[tokio::test]
async fn allocations_are_added_idempotently_and_removed_one_or_all() {
    let app = TestApp::spawn().await;
    let owner = app.client(&OWNER_SCOPES, &["AP"]).await;
    app.attach(&owner, "class_A", &owner.id).await;
    let alloc = format!("{}/class_A/allocations", sources_path());

    for (add, all) in [
        (json!(["p3", "p1", "p2"]), json!(["p1", "p2", "p3"])),
        (json!(["p2", "p4", "p4"]), json!(["p1", "p2", "p3", "p4"])),
    ] {
        let added = app
            .post(&alloc, &owner.token, &json!({"member_ids": add}))
            .await;
        added.assert_status(200);
        assert_eq!(added.json["member_ids"], all, "after adding {add}");
    }
    let bad = app
        .post(
            &alloc,
            &owner.token,
            &json!({"member_ids": ["ok", "not ok"]}),
        )
        .await;
    bad.assert_problem(422, "invalid_request");
    assert_eq!(bad.error_fields(), ["member_ids[1]"]);

    app.delete(&format!("{alloc}/p2"), &owner.token)
        .await
        .assert_status(204);
    app.delete(&format!("{alloc}/p2"), &owner.token)
        .await
        .assert_problem(404, "not_found");
    let listed = app.get(&alloc, &owner.token).await;
    assert_eq!(listed.json["member_ids"], json!(["p1", "p3", "p4"]));

    app.delete(&alloc, &owner.token).await.assert_status(204);
    assert_eq!(
        app.get(&alloc, &owner.token).await.json["member_ids"],
        json!([])
    );
    app.get(
        &format!("{}/class_B/allocations", sources_path()),
        &owner.token,
    )
    .await
    .assert_problem(404, "not_found");
    app.delete(&format!("{}/class_A", sources_path()), &owner.token)
        .await
        .assert_status(204);
    app.get(&alloc, &owner.token)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_default_catalog_has_the_sync_events_with_their_schemas() {
    let app = TestApp::spawn().await;
    let owner = app.client(&OWNER_SCOPES, &["AP"]).await;
    let types = app.get("/v1/event-types", &owner.token).await.data();
    for name in ["SyncRequested", "SyncCompleted", "SyncFailed"] {
        let t = types
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} is in the default catalog"));
        let required = t["schema"]["required"].as_array().expect("a schema");
        assert!(required.contains(&json!("request_id")), "{t}");
        assert!(required.contains(&json!("references")), "{t}");
    }
}
