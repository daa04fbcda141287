//! `verify`: a request a receiver saved, checked with the subscription's secret.

use serde_json::json;

use crate::harness::{Receiver, WAIT, logged_in};

#[tokio::test]
async fn a_received_request_verifies_and_a_changed_one_does_not() {
    let (app, cli) = logged_in().await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/in");
    let created = cli
        .create_subscription(&app, &["--url", &url, "--events", "*"])
        .await;
    let secret = created["secret"].as_str().expect("a secret").to_string();
    let id = created["id"].as_str().unwrap().to_string();
    cli.run(&["subscriptions", "test", &id]).await.ok();
    let got = receiver.wait_for(1, WAIT).await.remove(0);
    let body = String::from_utf8(got.body.to_vec()).expect("a text body");

    // As raw HTTP, the way a receiver might dump it.
    let mut raw = format!("POST {} HTTP/1.1\r\n", got.path);
    for (name, value) in &got.headers {
        raw.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    raw.push_str("\r\n");
    let head = raw.clone();
    raw.push_str(&body);
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("request.http");
    std::fs::write(&raw_path, &raw).unwrap();
    let raw_file = raw_path.to_str().unwrap();
    let out = cli
        .run(&["verify", "--secret", &secret, "--request", raw_file])
        .await;
    assert_eq!(out.ok().trim(), "valid");

    // As JSON, the shape of a pull message.
    let headers: serde_json::Map<String, serde_json::Value> = got
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap())))
        .collect();
    let json_path = dir.path().join("request.json");
    std::fs::write(
        &json_path,
        json!({"headers": headers, "body": body}).to_string(),
    )
    .unwrap();
    let json_file = json_path.to_str().unwrap();
    cli.run(&["verify", "--secret", &secret, "--request", json_file])
        .await
        .ok();

    // One byte changed in the body.
    let changed_path = dir.path().join("changed.http");
    std::fs::write(
        &changed_path,
        format!(
            "{head}{}",
            body.replacen("hookline.ping", "hookline.pong", 1)
        ),
    )
    .unwrap();
    let out = cli
        .run(&[
            "verify",
            "--secret",
            &secret,
            "--request",
            changed_path.to_str().unwrap(),
        ])
        .await;
    assert!(
        out.failed(1).starts_with("invalid: no signature"),
        "{out:?}"
    );

    // Another secret.
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let out = cli
        .run(&["verify", "--secret", other, "--request", raw_file])
        .await;
    assert!(out.failed(1).starts_with("invalid:"), "{out:?}");
    let out = cli
        .run(&["verify", "--secret", "whsec_!!", "--request", raw_file])
        .await;
    assert_eq!(out.code, Some(2), "{out:?}");
}
