//! Versions: a new version is published beside the old; a deprecated version keeps running
//! for its connections and refuses new ones (and upgrades to it); a connection upgraded to
//! the new version runs the new version's requests from its next delivery on. Only the
//! publisher of a key (or an admin) publishes and deprecates its versions.

use serde_json::json;

use crate::support::apps::{definition, id_of};
use crate::support::flow::{ActionFlow, WAIT};
use crate::support::{Guard, TestClient};

/// Version 2.0.0 of the tool: the same action, whose body also says `"schema": 2`.
fn version_two() -> serde_json::Value {
    definition(
        "tool",
        "2.0.0",
        json!({"type": "none"}),
        json!({"actions": {"create_item": {
            "label": "Create an item", "kind": "create",
            "inputs": [{"key": "lot", "label": "Lot", "required": true}],
            "request": {"method": "POST", "url": "{{ env.BASE_URL }}/items",
                        "body": {"lot": "{{ input.lot }}", "event": "{{ event.id }}", "schema": 2}}
        }}}),
    )
}

#[tokio::test]
async fn deprecated_version_keeps_its_connections_refuses_new_ones_and_upgrade_moves_on() {
    let f = ActionFlow::create_items(json!({"type": "none"}), Guard::Open, json!({})).await;
    let (app, dev) = (&f.app, &f.setup.developer);
    let env = json!({"BASE_URL": f.tool.base_url()});
    app.publish_app_ok(&dev.token, &version_two(), env.clone())
        .await;
    app.post_app(&dev.token, &version_two(), env.clone())
        .await
        .assert_problem(409, "version_exists");

    let deprecate = "/v1/apps/tool/versions/1.0.0/deprecate";
    for _ in 0..2 {
        let resp = app.post(deprecate, &dev.token, &json!({})).await;
        resp.assert_status(200);
        assert_eq!(resp.json["status"], "deprecated", "{}", resp.text);
    }
    let listed = app.get("/v1/apps", &f.setup.integrator.token).await;
    listed.assert_status(200);
    let tool = listed
        .data()
        .into_iter()
        .find(|i| i["key"] == "tool")
        .unwrap_or_else(|| panic!("the tool is listed: {}", listed.text));
    assert_eq!(tool["latest_version"], "2.0.0");
    let mut versions: Vec<String> = tool["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("versions: {tool}"))
        .iter()
        .map(|v| format!("{} {}", v["version"], v["status"]))
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        [r#""1.0.0" "deprecated""#, r#""2.0.0" "published""#]
    );

    let refused = app
        .post_connection(
            &f.setup.integrator.token,
            &json!({"app": "tool", "version": "1.0.0", "name": "late", "state": "AP", "credentials": {}}),
        )
        .await;
    refused.assert_status(422);
    assert!(
        refused.error_fields().contains(&"version".to_string()),
        "{}",
        refused.text
    );

    // The old connection still runs on 1.0.0.
    let first = f.dispatch_lot("L-1").await;
    f.succeeded(&first).await;
    let got = f.tool.wait_for_success("POST", "/items", 1, WAIT).await;
    assert_eq!(got[0].json(), json!({"lot": "L-1", "event": first}));

    let upgrade = format!("/v1/connections/{}/upgrade", f.connection_id());
    let token = &f.setup.integrator.token;
    for version in ["9.9.9", "1.0.0"] {
        let resp = app
            .post(&upgrade, token, &json!({"version": version}))
            .await;
        resp.assert_status(422);
        assert!(
            resp.error_fields().contains(&"version".to_string()),
            "{}",
            resp.text
        );
    }
    let upgraded = app
        .post(&upgrade, token, &json!({"version": "2.0.0"}))
        .await;
    upgraded.assert_status(200);
    assert_eq!(upgraded.json["version"], "2.0.0");
    assert_eq!(upgraded.json["id"], id_of(&f.connection).as_str());

    let second = f.dispatch_lot("L-2").await;
    f.succeeded(&second).await;
    let got = f.tool.wait_for_success("POST", "/items", 2, WAIT).await;
    assert_eq!(
        got[1].json(),
        json!({"lot": "L-2", "event": second, "schema": 2})
    );

    // A connection to the new version can be made.
    let fresh = app
        .connect_ok(token, "tool", "2.0.0", json!({}), json!({}))
        .await;
    assert_eq!(fresh["version"], "2.0.0");
}

#[tokio::test]
async fn only_the_publisher_of_an_app_key_publishes_and_deprecates_its_versions() {
    let f = ActionFlow::create_items(json!({"type": "none"}), Guard::Open, json!({})).await;
    let other: TestClient = f
        .app
        .client(&crate::support::apps::DEVELOPER_SCOPES, &["AP"])
        .await;
    f.app
        .post_app(
            &other.token,
            &version_two(),
            json!({"BASE_URL": f.tool.base_url()}),
        )
        .await
        .assert_status(403);
    f.app
        .post(
            "/v1/apps/tool/versions/1.0.0/deprecate",
            &other.token,
            &json!({}),
        )
        .await
        .assert_status(403);
    let view = f
        .app
        .get("/v1/apps/tool/versions/1.0.0", &f.setup.developer.token)
        .await;
    view.assert_status(200);
    assert_eq!(view.json["status"], "published");
    assert_eq!(view.json["published_by"], f.setup.developer.id.as_str());
}
