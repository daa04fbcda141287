//! The dead-letter queues through the admin commands of `hookline-local`: `dlq count` and
//! `dlq redrive`, run as child processes with the app's environment, on either backend.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::support::app::run_binary;
use crate::support::backend::Backend;
use crate::support::{Receiver, Reply, TestApp};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_redriven_dead_letter_retries_its_delivery_once() {
    let mut app = TestApp::spawn().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let subscriber = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    let t = &subscriber.token;
    let sub = app
        .subscribe_ok(
            t,
            &json!({"url": receiver.url("/hook"), "event_types": ["*"], "max_attempts": 1}),
        )
        .await;
    let id = app
        .publish_event(&publisher.token, "LotCreated", "AP", json!({}))
        .await;
    receiver.wait_for(1, WAIT).await;
    let dlv = app.delivery_of(t, &sub.id, &id).await["id"]
        .as_str()
        .expect("a delivery id")
        .to_string();
    app.wait_for_delivery_status(t, &dlv, "failed", WAIT).await;
    receiver.set_default(Reply::ok());
    assert!(app.stop().await.success(), "the runner stops cleanly");

    assert_eq!(
        app.dlq_count("deliveries").await,
        "1",
        "the delivery that gave up waits in the dead-letter queue"
    );
    assert_eq!(app.dlq_count("events").await, "0");
    let redrive = app.run_command(&["dlq", "redrive", "deliveries"]).await;
    assert_eq!(
        redrive.success(),
        "moved 1 message(s) from deliveries-dlq to deliveries"
    );
    assert_eq!(app.dlq_count("deliveries").await, "0");
    assert_eq!(
        receiver.count(),
        1,
        "nothing is sent while the runner is down"
    );

    app.start_again().await;
    // A new process on a new port: a new issuer, so a new token.
    let t = &app.token(&subscriber.id, &subscriber.secret, None).await;

    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].webhook_id(), id, "the same event, again");
    got[1].assert_signed_by(&sub.secret);
    let done = app
        .wait_for_delivery_status(t, &dlv, "succeeded", WAIT)
        .await;
    let attempts = done["attempts"].as_array().expect("attempts").len();
    assert_eq!(attempts, 2, "the record keeps both attempts: {done}");
    receiver.assert_no_more_requests(2).await;
    assert!(app.stop().await.success(), "the runner stops cleanly");
    assert_eq!(
        app.dlq_count("deliveries").await,
        "0",
        "the retried delivery succeeded and is not dead-lettered again"
    );
    assert_eq!(app.dlq_count("events").await, "0");
}

#[tokio::test]
async fn dlq_commands_beside_a_running_runner_refuse_on_embedded_and_work_on_aws() {
    let app = TestApp::spawn().await;

    let count = app.run_command(&["dlq", "count", "deliveries"]).await;
    let redrive = app.run_command(&["dlq", "redrive", "events"]).await;

    match app.backend() {
        Backend::Embedded => {
            for out in [&count, &redrive] {
                assert_eq!(out.code(), Some(1), "refused: {out:?}");
                assert!(
                    out.stderr.contains("is in use by another process")
                        && out.stderr.contains("Stop the runner first"),
                    "the refusal says why and what to do: {}",
                    out.stderr
                );
                assert_eq!(out.stdout, "", "nothing on stdout");
            }
        }
        Backend::Aws => {
            assert_eq!(count.success(), "0");
            assert_eq!(
                redrive.success(),
                "moved 0 message(s) from events-dlq to events"
            );
        }
    }
    let health = app.send(app.request(reqwest::Method::GET, "/health")).await;
    health.assert_status(200);
}

#[tokio::test]
async fn dlq_commands_check_their_arguments_and_the_data_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).expect("the data directory");
    let env = BTreeMap::from([
        ("HOOKLINE_BACKEND".to_string(), "embedded".to_string()),
        (
            "HOOKLINE_DATA_DIR".to_string(),
            data_dir.display().to_string(),
        ),
    ]);
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env = env.clone();
        let dir = dir.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || run_binary(&args, &env, &dir))
                .await
                .expect("the command's task")
        }
    };

    let help = run(&["--help"]).await;
    assert!(help.success().starts_with("Usage:"), "{}", help.stdout);
    assert!(
        help.stdout
            .contains("dlq redrive <deliveries|events> [--max N]")
    );
    for args in [
        &["serve"][..],
        &["dlq"],
        &["dlq", "count"],
        &["dlq", "count", "orders"],
        &["dlq", "redrive", "deliveries", "--max"],
        &["dlq", "redrive", "deliveries", "--max", "0"],
        &["dlq", "redrive", "deliveries", "--everything"],
    ] {
        let out = run(args).await;
        assert_eq!(out.code(), Some(2), "{args:?} is a usage error: {out:?}");
        assert!(out.stderr.contains("Usage:"), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}: nothing on stdout");
    }

    // A data directory without a database: said plainly, and no empty database is made.
    let out = run(&["dlq", "count", "deliveries"]).await;
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("no Hookline database in"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(&data_dir)
            .expect("the data directory")
            .count(),
        0,
        "the command leaves the directory as it was"
    );
}
