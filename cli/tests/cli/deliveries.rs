//! `deliveries list|get|retry` and `replay`, with a real receiver.

use serde_json::{Value, json};

use crate::harness::Hookline;
use crate::harness::{Receiver, Reply, TestApp, WAIT, eventually, logged_in};

/// A receiver, a subscription of the admin's to it, and one event a portal published to it
/// (an admin does not receive its own events): the subscription id and the event id.
async fn one_delivered_event(
    app: &TestApp,
    cli: &Hookline,
    receiver: &Receiver,
    extra: &[&str],
) -> (String, String) {
    let url = receiver.url("/in");
    let mut args = vec!["--url", &url, "--events", "LotDispatched"];
    args.extend(extra);
    let created = cli.create_subscription(app, &args).await;
    let sub = created["id"].as_str().expect("an id").to_string();
    let portal = app.portal(&["AP"]).await;
    let event = app
        .publish_ok(
            &portal.token,
            &json!({"type": "LotDispatched", "state": "AP", "data": {"lotNo": "L-1"}}),
        )
        .await;
    (sub, event)
}

async fn deliveries_of(cli: &Hookline, sub: &str) -> Vec<Value> {
    let listed = cli
        .run(&["deliveries", "list", "--subscription", sub, "--json"])
        .await
        .json();
    listed["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_failed_delivery_is_listed_shown_with_its_attempts_and_retried() {
    let (app, cli) = logged_in().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    // One attempt only, so that the delivery fails at once.
    let (sub, event) = one_delivered_event(&app, &cli, &receiver, &["--max-attempts", "1"]).await;
    let failed = eventually(WAIT, "the delivery to fail", || async {
        let list = deliveries_of(&cli, &sub).await;
        list.into_iter().find(|d| d["status"] == "failed")
    })
    .await;
    let id = failed["id"].as_str().unwrap().to_string();
    assert_eq!(failed["event_id"], event.as_str());

    let shown = cli.run(&["deliveries", "get", &id]).await;
    assert!(
        shown.ok().contains("500"),
        "the attempt's status is shown: {shown:?}"
    );
    let table = cli.run(&["deliveries", "list", "--status", "failed"]).await;
    assert!(table.ok().contains(&id), "{table:?}");
    assert!(
        table.stdout.contains("LotDispatched"),
        "the event type column: {table:?}"
    );
    // The filters combine: by event type and creation time.
    let since = crate::harness::rfc3339_now_minus_minutes(10);
    let of_type = |t: &'static str| {
        let since = since.clone();
        let cli = &cli;
        async move {
            let args = [
                "deliveries",
                "list",
                "--type",
                t,
                "--since",
                &since,
                "--json",
            ];
            let listed = cli.run(&args).await.json();
            let ids: Vec<String> = listed["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect();
            ids
        }
    };
    assert_eq!(of_type("LotDispatched").await, vec![id.clone()]);
    assert_eq!(of_type("LotReceived").await, Vec::<String>::new());

    receiver.set_default(Reply::ok());
    let before = receiver.count();
    let retried = cli.run(&["deliveries", "retry", &id]).await;
    assert!(retried.ok().contains(&id), "{retried:?}");
    receiver.wait_for(before + 1, WAIT).await;
    eventually(WAIT, "the retried delivery to succeed", || async {
        let d = cli.run(&["deliveries", "get", &id, "--json"]).await.json();
        (d["status"] == "succeeded").then_some(())
    })
    .await;

    // The hourly statistics count it where it now is.
    let stats = cli
        .run(&["deliveries", "stats", "--subscription", &sub, "--json"])
        .await
        .json();
    let buckets = stats["buckets"].as_array().expect("buckets");
    let total = |status: &str| {
        buckets
            .iter()
            .filter_map(|b| b[status].as_u64())
            .sum::<u64>()
    };
    assert_eq!((total("succeeded"), total("failed")), (1, 0), "{stats}");
    let table = cli.run(&["deliveries", "stats"]).await;
    assert!(table.ok().starts_with(" HOUR"), "{table:?}");
}

#[tokio::test]
async fn replay_redelivers_the_events_of_a_range_and_reports_the_count() {
    let (app, cli) = logged_in().await;
    let receiver = Receiver::start().await;
    let since = crate::harness::rfc3339_now_minus_minutes(5);
    let (sub, event) = one_delivered_event(&app, &cli, &receiver, &[]).await;
    receiver.wait_for(1, WAIT).await;

    let out = cli
        .run(&[
            "replay",
            "--subscription",
            &sub,
            "--since",
            &since,
            "--step-minutes",
            "2",
            "--json",
        ])
        .await
        .json();
    assert_eq!(out["count"], 1, "{out}");
    assert_eq!(out["limit_reached"], false);
    assert!(
        out["steps"].as_u64().unwrap() >= 3,
        "five minutes in steps of two: {out}"
    );
    let again = receiver.wait_for(2, WAIT).await;
    assert_eq!(again[1].webhook_id(), event);

    let human = cli
        .run(&["replay", "--subscription", &sub, "--since", &since])
        .await;
    assert!(human.ok().contains("replayed 1 events"), "{human:?}");
    let out = cli
        .run(&["replay", "--subscription", &sub, "--since", "yesterday"])
        .await;
    assert!(out.failed(2).contains("RFC 3339"), "{out:?}");
}
