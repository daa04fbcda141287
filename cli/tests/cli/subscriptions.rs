//! `subscriptions create|list|get|update|delete|rotate|test` against a real receiver.

use serde_json::Value;

use crate::harness::{Receiver, WAIT, logged_in};

#[tokio::test]
async fn a_subscription_is_created_read_changed_rotated_tested_and_deleted() {
    let (app, cli) = logged_in().await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/hooks");

    let created = cli
        .create_subscription(
            &app,
            &[
                "--url",
                &url,
                "--events",
                "LotDispatched,LotReceived",
                "--states",
                "AP",
                "--description",
                "from the CLI",
            ],
        )
        .await;
    let id = created["id"].as_str().expect("an id").to_string();
    let first_secret = created["secret"].as_str().expect("the secret").to_string();
    assert_eq!(
        created["event_types"],
        serde_json::json!(["LotDispatched", "LotReceived"])
    );

    let table = cli.run(&["subscriptions", "list"]).await;
    assert!(
        table.ok().contains(&id) && table.stdout.contains(&url),
        "{table:?}"
    );
    let got = cli.run(&["subscriptions", "get", &id]).await;
    assert!(got.ok().contains("from the CLI"), "{got:?}");

    let updated = cli
        .run(&[
            "subscriptions",
            "update",
            &id,
            "--description",
            "renamed",
            "--disable",
            "--json",
        ])
        .await
        .json();
    assert_eq!(updated["description"], "renamed");
    assert_eq!(updated["enabled"], false);
    let enabled = cli
        .run(&["subscriptions", "update", &id, "--enable", "--json"])
        .await
        .json();
    assert_eq!(enabled["enabled"], true);

    let rotated = cli
        .run(&["subscriptions", "rotate", &id, "--json"])
        .await
        .json();
    let new_secret = rotated["secret"]
        .as_str()
        .expect("a new secret")
        .to_string();
    app.remember_secret("webhook secret", &new_secret);
    assert_ne!(new_secret, first_secret);
    let read = cli.run(&["subscriptions", "secret", &id]).await;
    assert_eq!(read.ok().trim(), new_secret);

    let tested = cli.run(&["subscriptions", "test", &id]).await;
    assert!(
        tested.ok().starts_with("sent hookline.ping: dlv_"),
        "{tested:?}"
    );
    let pings = receiver.wait_for(1, WAIT).await;
    assert_eq!(pings[0].event_type(), "hookline.ping");
    pings[0].assert_signed_by(&new_secret);

    let deleted = cli.run(&["subscriptions", "delete", &id]).await;
    assert_eq!(deleted.ok().trim(), format!("deleted {id}"));
    let gone = cli.run(&["subscriptions", "get", &id]).await;
    assert!(
        gone.failed(1).starts_with("error 404 not_found"),
        "{gone:?}"
    );
    let listed = cli.run(&["subscriptions", "list", "--json"]).await.json();
    assert_eq!(listed["data"], Value::Array(vec![]));
}

#[tokio::test]
async fn an_invalid_subscription_is_refused_on_one_line_naming_the_field() {
    let (_app, cli) = logged_in().await;
    let out = cli
        .run(&[
            "subscriptions",
            "create",
            "--url",
            "not a url",
            "--events",
            "LotDispatched",
        ])
        .await;
    let line = out.failed(1);
    assert!(line.starts_with("error 400"), "{line}");
    assert!(line.contains("url"), "the field is named: {line}");
    // Neither --url nor --pull: clap's usage error.
    let out = cli
        .run(&["subscriptions", "create", "--events", "LotDispatched"])
        .await;
    assert_eq!(out.code, Some(2), "{out:?}");
}
