//! `apps` and `connections`, and a workflow made with `subscriptions create --actions`:
//! an app published from its file, a connection with a write-only API key, its test request
//! and a workflow's action received by a real server, a deprecated version refusing new
//! connections and an upgrade.

use serde_json::{Value, json};

use crate::harness::{Receiver, Reply, WAIT, logged_in};

/// The API key: long enough for the runner's log scan to look for it.
const API_KEY: &str = "cli-api-key-7f3a91c2d4e5";

/// A definition of version `version`: an API key header, a test request and one action.
fn definition(version: &str) -> Value {
    json!({
        "key": "cli-tool",
        "name": "A tool of the CLI tests",
        "version": version,
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "properties": [{"key": "site", "label": "Site", "type": "string", "required": true}],
        "environment": [{"key": "BASE_URL", "description": "The tool's base URL."}],
        "test": {"method": "GET", "url": "{{ env.BASE_URL }}/ping"},
        "actions": {
            "record_lot": {
                "label": "Record a lot",
                "kind": "create",
                "inputs": [{"key": "lot", "label": "Lot", "required": true}],
                "request": {
                    "method": "POST",
                    "url": "{{ env.BASE_URL }}/lots",
                    "body": {"lot": "{{ input.lot }}", "site": "{{ props.site }}"}
                }
            }
        }
    })
}

/// `connections create` of `cli-tool` `version` for AP, site WH-1, with `credentials` (a
/// `--credentials` argument) and `extra` arguments.
fn create_connection<'a>(
    version: &'a str,
    credentials: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "connections",
        "create",
        "--app",
        "cli-tool",
        "--version",
        version,
        "--state",
        "AP",
        "--properties",
        r#"{"site": "WH-1"}"#,
        "--credentials",
        credentials,
    ];
    args.extend(extra);
    args
}

#[tokio::test]
async fn an_app_is_published_connected_tested_run_by_a_workflow_deprecated_and_upgraded() {
    let (app, cli) = logged_in().await;
    app.remember_secret("connection credential", API_KEY);
    let tool = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let env = json!({"BASE_URL": tool.url("")}).to_string();

    let v1 = file("v1.json", &definition("1.0.0"));
    let published = cli
        .run(&["apps", "publish", &v1, "--env", &env, "--json"])
        .await
        .json();
    assert_eq!(published["status"], "published", "{published}");
    let list = cli.run(&["apps", "list"]).await;
    assert!(
        list.ok().contains("cli-tool") && list.stdout.contains("1.0.0"),
        "{list:?}"
    );

    let credentials = file("credentials.json", &json!({"api_key": API_KEY}));
    let credentials = format!("@{credentials}");
    let created = cli
        .run(&create_connection(
            "1.0.0",
            &credentials,
            &["--name", "Main tool", "--json"],
        ))
        .await;
    let connection = created.json();
    assert!(!created.stdout.contains(API_KEY), "{created:?}");
    assert_eq!(
        connection["secrets_set"],
        json!(["api_key"]),
        "{connection}"
    );
    let id = connection["id"].as_str().expect("an id").to_string();
    let shown = cli.run(&["connections", "get", &id]).await;
    assert!(
        shown.ok().contains("Main tool") && !shown.stdout.contains(API_KEY),
        "{shown:?}"
    );

    let tested = cli.run(&["connections", "test", &id]).await;
    assert!(tested.ok().contains("GET "), "{tested:?}");
    let ping = tool.wait_for(1, WAIT).await;
    assert_eq!(ping[0].path, "/ping");
    assert_eq!(ping[0].header("x-api-key"), Some(API_KEY));

    let steps = json!([{"connection_id": id, "action": "record_lot",
                        "input": {"lot": "{{ event.data.lotNo }}"}}])
    .to_string();
    let workflow = cli
        .run(&[
            "subscriptions",
            "create",
            "--actions",
            &steps,
            "--events",
            "LotDispatched",
            "--states",
            "AP",
            "--json",
        ])
        .await
        .json();
    assert_eq!(workflow["mode"], "action", "{workflow}");
    if let Some(secret) = workflow["secret"].as_str() {
        app.remember_secret("webhook secret", secret);
    }
    cli.send_lot(&["--data", r#"{"lotNo": "L-CLI-1"}"#])
        .await
        .ok();
    let got = tool.wait_for(2, WAIT).await;
    assert_eq!(got[1].path, "/lots");
    assert_eq!(got[1].header("x-api-key"), Some(API_KEY));
    let body: Value = serde_json::from_slice(&got[1].body).expect("JSON");
    assert_eq!(body, json!({"lot": "L-CLI-1", "site": "WH-1"}));

    // 1.1.0 published, 1.0.0 deprecated: no new connection to it, and the existing one moves.
    let v2 = file("v2.json", &definition("1.1.0"));
    cli.run(&["apps", "publish", &v2, "--env", &env]).await.ok();
    let deprecated = cli
        .run(&["apps", "deprecate", "cli-tool", "1.0.0", "--json"])
        .await
        .json();
    assert_eq!(deprecated["status"], "deprecated");
    let versions = cli.run(&["apps", "versions", "cli-tool"]).await;
    assert!(versions.ok().contains("deprecated"), "{versions:?}");
    let refused = cli
        .run(&create_connection("1.0.0", &credentials, &[]))
        .await;
    let line = refused.failed(1);
    assert!(line.contains("422") && line.contains("version"), "{line}");
    let upgraded = cli
        .run(&["connections", "upgrade", &id, "1.1.0", "--json"])
        .await
        .json();
    assert_eq!(upgraded["version"], "1.1.0", "{upgraded}");

    let table = cli.run(&["connections", "list"]).await;
    assert!(table.ok().contains(&id), "{table:?}");
    cli.run(&["connections", "delete", &id]).await.ok();
    let gone = cli.run(&["connections", "get", &id]).await;
    assert!(gone.failed(1).contains("404"), "{gone:?}");
}

#[tokio::test]
async fn a_bad_definition_names_its_field_and_a_failing_test_request_is_exit_1() {
    let (app, cli) = logged_in().await;
    app.remember_secret("connection credential", API_KEY);
    let tool = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut bad = definition("1.0.0");
    bad["actions"]["record_lot"]["request"]["url"] = json!("{{ env.NOWHERE }}/lots");
    let path = dir.path().join("bad.json");
    std::fs::write(&path, bad.to_string()).unwrap();
    let env = json!({"BASE_URL": tool.url("")}).to_string();
    let out = cli
        .run(&["apps", "publish", path.to_str().unwrap(), "--env", &env])
        .await;
    let line = out.failed(1);
    assert!(
        line.contains("422") && line.contains("definition.actions.record_lot.request.url"),
        "{line}"
    );
    let missing = cli.run(&["apps", "publish", "/nonexistent/app.json"]).await;
    assert!(
        missing.failed(2).contains("/nonexistent/app.json"),
        "{missing:?}"
    );
    let not_a_version = cli.run(&["apps", "get", "cli-tool", ".."]).await;
    assert!(not_a_version.failed(2).contains("not a version"));

    // Credentials from standard input; the tool answers 503 to the test request: the
    // command prints the outcome and fails with exit 1.
    let good = dir.path().join("good.json");
    std::fs::write(&good, definition("1.0.0").to_string()).unwrap();
    cli.run(&["apps", "publish", good.to_str().unwrap(), "--env", &env])
        .await
        .ok();
    let create = create_connection("1.0.0", "-", &["--json"]);
    let empty = cli.run(&create).await;
    assert!(
        empty.failed(2).contains("--credentials is not JSON"),
        "nothing on standard input: a usage error before any request: {empty:?}"
    );
    let connection = cli
        .run_stdin(&create, &json!({"api_key": API_KEY}).to_string())
        .await
        .json();
    let id = connection["id"].as_str().expect("an id");
    tool.set_default(Reply::status(503));
    let tested = cli.run(&["connections", "test", id]).await;
    let line = tested.failed(1);
    assert!(line.contains("HTTP 503"), "{line}");
    assert!(
        tested.stdout.contains("false"),
        "the outcome is printed: {tested:?}"
    );
    assert_eq!(tool.wait_for(1, WAIT).await[0].path, "/ping");
}
