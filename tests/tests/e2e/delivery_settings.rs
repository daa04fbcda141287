//! Per-subscription delivery settings: its own retry schedule (followed as the stored records
//! show), and the receiver's write-only credential (sent, never shown, never logged).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::secrets::random_string;
use crate::support::{Receiver, Reply, TestApp, attempts, eventually, parse_rfc3339};

const WAIT: Duration = Duration::from_secs(30);

fn time_of(v: &Value) -> OffsetDateTime {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
}

#[tokio::test]
async fn a_subscriptions_own_retry_schedule_is_followed() {
    // The stack retries after 200 ms; this subscription after 2 s, then 4 s.
    let app = TestApp::spawn().await;
    let receiver = Receiver::answering(Reply::status(500)).await;
    let retry =
        json!({"backoff": "exponential", "initial_delay_s": 2, "multiplier": 2, "max_delay_s": 4});
    let s = app
        .subscribed(&receiver, json!({"retry": retry, "max_attempts": 3}))
        .await;
    assert_eq!(s.sub.json["retry"], retry);
    let read = app.get(&s.sub.path(""), &s.subscriber.token).await;
    assert_eq!(read.json["retry"], retry, "as stored");

    let event_id = s.publish(&app, "LotDispatched", json!({})).await;
    let delivery_id = s.delivery_id(&app, &event_id).await;
    let path = format!("/v1/deliveries/{delivery_id}");
    // Every retrying state the record passes through: (attempts made, next attempt due).
    let seen: RefCell<BTreeSet<(usize, String)>> = RefCell::default();
    let done = eventually(WAIT, "the delivery fails after 3 attempts", || async {
        let d = app.get(&path, &s.subscriber.token).await.json;
        if d["status"] == "retrying" {
            let next = d["next_attempt_at"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            seen.borrow_mut().insert((attempts(&d).len(), next));
        }
        (d["status"] == "failed").then_some(d)
    })
    .await;
    let seen = seen.into_inner();
    let tried = attempts(&done);
    assert_eq!(tried.len(), 3, "max_attempts: {done}");
    for (k, base) in [(1usize, 2.0f64), (2, 4.0)] {
        let (_, next) = seen
            .iter()
            .find(|(n, _)| *n == k)
            .unwrap_or_else(|| panic!("the record after attempt {k} was seen: {seen:?}"));
        let made = &tried[k - 1];
        let waited = (parse_rfc3339(next) - time_of(&made["at"])).as_seconds_f64();
        let took = made["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0;
        assert!(
            waited >= 0.8 * base && waited <= 1.2 * base + took + 1.0,
            "after attempt {k}: next attempt due {waited} s after it, the schedule says {base} s ±20%"
        );
        let gap = (time_of(&tried[k]["at"]) - time_of(&made["at"])).as_seconds_f64();
        assert!(
            gap >= 0.8 * base,
            "attempt {} came {gap} s after attempt {k}",
            k + 1
        );
    }
}

#[tokio::test]
async fn a_retry_schedule_outside_the_stacks_limits_is_422_on_its_field() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    for (retry, field) in [
        (
            json!({"backoff": "explicit", "delays_s": [10, 43201]}),
            "retry.delays_s[1]",
        ),
        (
            json!({"backoff": "exponential", "initial_delay_s": 0}),
            "retry.initial_delay_s",
        ),
    ] {
        let resp = app
            .subscribe(
                &portal.token,
                &json!({"url": "https://portal.example.org/h", "event_types": ["*"], "retry": retry}),
            )
            .await;
        resp.assert_problem(422, "invalid_retry_schedule");
        assert_eq!(resp.error_fields(), [field]);
    }
}

#[tokio::test]
async fn the_receivers_credential_is_sent_and_never_shown_recorded_or_logged() {
    let mut app = TestApp::spawn().await;
    let key = random_string(32);
    app.remember_secret("outbound API key", &key);
    // The first answer echoes the key back, as some receivers' error pages do.
    let receiver = Receiver::scripted(
        vec![Reply::status(401).body(format!("bad key {key}"))],
        Reply::ok(),
    )
    .await;
    let auth = json!({"type": "api_key", "header": "X-Api-Key", "value": key});
    let s = app
        .subscribed(
            &receiver,
            json!({"auth": auth, "retry": {"backoff": "explicit", "delays_s": [1]}}),
        )
        .await;
    let token = &s.subscriber.token;
    let shown = json!({"type": "api_key", "header": "X-Api-Key", "set": true});
    assert_eq!(s.sub.json["auth"], shown);

    let event_id = s.publish(&app, "LotDispatched", json!({})).await;
    let done = s
        .delivery_with_status(&app, &event_id, "succeeded", WAIT)
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    for req in &got {
        assert_eq!(req.header("x-api-key"), Some(key.as_str()));
        req.assert_signed_by(&s.sub.secret);
    }
    assert_eq!(
        attempts(&done)[0]["response_excerpt"],
        "bad key [redacted]",
        "the echo is redacted on record"
    );

    let patched = app
        .patch(&s.sub.path(""), token, &json!({"description": "patched"}))
        .await;
    patched.assert_status(200);
    let views = [
        s.sub.json.to_string(),
        patched.text.clone(),
        app.get(&s.sub.path(""), token).await.text,
        app.get("/v1/subscriptions", token).await.text,
        app.get(
            &format!("/v1/deliveries?subscription_id={}", s.sub.id),
            token,
        )
        .await
        .text,
        done.to_string(),
    ];
    for view in &views {
        assert!(!view.contains(&key), "the credential is shown: {view}");
    }
    assert_eq!(
        patched.json["auth"], shown,
        "kept by a patch that does not name it"
    );

    let removed = app
        .patch(&s.sub.path(""), token, &json!({"auth": null}))
        .await;
    removed.assert_status(200);
    assert_eq!(removed.json["auth"], Value::Null);

    app.stop().await;
    app.assert_logs_clean();
}
