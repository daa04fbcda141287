//! `events send|list|get`, and a schema error shown as one line.

use serde_json::json;

use crate::harness::{Hookline, Run, logged_in};

#[tokio::test]
async fn a_sent_event_is_listed_and_read_back() {
    let (_app, cli) = logged_in().await;
    let out = cli.send_lot(&["--data", r#"{"lotNo": "L-7"}"#]).await;
    let line = out.ok().trim().to_string();
    let (id, status) = line.split_once("  ").expect("`evt_…  accepted`");
    assert!(id.starts_with("evt_") && status == "accepted", "{line}");

    let listed = cli
        .run(&["events", "list", "--json", "--type", "LotDispatched"])
        .await
        .json();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id], "{listed}");
    let table = cli.run(&["events", "list"]).await;
    assert!(
        table.ok().contains(id) && table.stdout.contains("LotDispatched"),
        "{table:?}"
    );

    let event = cli.run(&["events", "get", id, "--json"]).await.json();
    assert_eq!(event["data"], json!({"lotNo": "L-7"}));
    assert_eq!(event["state"], "AP");
}

#[tokio::test]
async fn data_that_fails_the_schema_is_exit_1_with_the_field_on_one_line() {
    let (app, cli) = logged_in().await;
    let admin = app.admin_token().await;
    let schema = json!({"type": "object", "required": ["lotNo"], "properties": {"lotNo": {"type": "string"}}});
    let put = app
        .put(
            "/v1/event-types/CliChecked",
            &admin,
            &json!({"description": "checked", "schema": schema}),
        )
        .await;
    assert!(matches!(put.status, 200 | 201), "{}", put.text);
    let out = send_checked(&cli, r#"{"other": 1}"#).await;
    let line = out.failed(1);
    assert!(line.starts_with("error 422 schema_mismatch"), "{line}");
    assert!(line.contains("lotNo"), "the failing field is named: {line}");

    let out = send_checked(&cli, "not json").await;
    assert!(out.failed(2).contains("--data is not JSON"), "{out:?}");
}

/// `events send` of a `CliChecked` event with `data`.
async fn send_checked(cli: &Hookline, data: &str) -> Run {
    cli.run(&[
        "events",
        "send",
        "-t",
        "CliChecked",
        "-s",
        "AP",
        "--data",
        data,
    ])
    .await
}

#[tokio::test]
async fn the_catalog_lists_every_type_and_shows_one() {
    let (_app, cli) = logged_in().await;
    let listed = cli.run(&["catalog", "--json"]).await.json();
    let names: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"LotDispatched"), "{names:?}");
    let table = cli.run(&["catalog"]).await;
    assert!(table.ok().contains("LotDispatched"), "{table:?}");
    let one = cli.run(&["catalog", "LotDispatched"]).await;
    assert!(
        one.ok().starts_with("LotDispatched: A lot was dispatched"),
        "{one:?}"
    );
    let shown = cli
        .run(&["catalog", "LotDispatched", "--json"])
        .await
        .json();
    assert!(shown["example"].is_object(), "the type's example: {shown}");
    let missing = cli.run(&["catalog", "NoSuchType"]).await;
    assert!(
        missing.failed(1).contains("no event type 'NoSuchType'"),
        "{missing:?}"
    );
}
