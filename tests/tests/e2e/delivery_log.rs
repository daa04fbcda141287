//! The delivery log the console reads: every delivery carries its event's type (fan-out,
//! test pings, replays), the list filters by type and creation window alongside the other
//! filters, `GET /v1/deliveries/stats` counts them per hour by status, and each bad parameter
//! is a 400 naming it. `/v1/deliveries/stats` is a route of its own, not a delivery id.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::api::urlencode;
use crate::support::{Receiver, TestApp, eventually, rfc3339};

const WAIT: Duration = Duration::from_secs(20);

fn ids(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(|d| d["id"].as_str()).collect()
}

#[tokio::test]
async fn deliveries_carry_their_event_type_and_filter_by_type_and_window() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;
    let t = &s.subscriber.token;
    let created = s.publish(&app, "LotCreated", json!({})).await;
    let dispatched = s.publish(&app, "LotDispatched", json!({})).await;
    receiver.wait_for(2, WAIT).await;
    let ping = app.post(&s.sub.path("/test"), t, &json!({})).await;
    ping.assert_status(202);
    let ping_id = ping.json["delivery_id"]
        .as_str()
        .expect("an id")
        .to_string();
    eventually(WAIT, "3 succeeded deliveries", || async {
        (app.deliveries(t, "status=succeeded").await.len() == 3).then_some(())
    })
    .await;

    let of_created = s.delivery_id(&app, &created).await;
    let of_dispatched = s.delivery_id(&app, &dispatched).await;
    let one = app.get(&format!("/v1/deliveries/{of_dispatched}"), t).await;
    one.assert_status(200);
    assert_eq!(one.json["event_type"], "LotDispatched", "{}", one.text);
    let typed = app.deliveries(t, "event_type=LotCreated").await;
    assert_eq!(ids(&typed), [of_created.as_str()]);
    assert_eq!(typed[0]["event_type"], "LotCreated");
    let pings = app.deliveries(t, "event_type=hookline.ping").await;
    assert_eq!(ids(&pings), [ping_id.as_str()]);
    let both = app
        .deliveries(
            t,
            &format!(
                "event_type=LotDispatched&status=succeeded&subscription_id={}",
                s.sub.id
            ),
        )
        .await;
    assert_eq!(ids(&both), [of_dispatched.as_str()]);
    assert!(
        app.deliveries(t, "event_type=LotDispatched&status=failed")
            .await
            .is_empty()
    );

    let now = time::OffsetDateTime::now_utc();
    let hour_ago = urlencode(&rfc3339(now - time::Duration::hours(1)));
    let later = urlencode(&rfc3339(now + time::Duration::minutes(1)));
    let recent = app
        .deliveries(t, &format!("since={hour_ago}&until={later}"))
        .await;
    assert_eq!(recent.len(), 3);
    let before = app.deliveries(t, &format!("until={hour_ago}")).await;
    assert!(before.is_empty(), "nothing was created before an hour ago");
    let since_later = app.deliveries(t, &format!("since={later}")).await;
    assert!(since_later.is_empty());

    // A cursor keeps the filters' walk: one per page, every LotCreated/LotDispatched once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut q = format!("/v1/deliveries?limit=1&since={hour_ago}&status=succeeded");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let page = app.get(&q, t).await;
        page.assert_status(200);
        seen.extend(ids(&page.data()).into_iter().map(str::to_string));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    seen.sort();
    let mut want = vec![of_created, of_dispatched, ping_id];
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn stats_count_deliveries_per_hour_by_status_for_the_callers_own() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let s = app.subscribed(&receiver, json!({})).await;
    let t = &s.subscriber.token;
    let other = app.portal(&["AP"]).await;
    s.publish(&app, "LotCreated", json!({})).await;
    s.publish(&app, "LotDispatched", json!({})).await;
    receiver.wait_for(2, WAIT).await;
    eventually(WAIT, "2 succeeded deliveries", || async {
        (app.deliveries(t, "status=succeeded").await.len() == 2).then_some(())
    })
    .await;

    let stats = app.get("/v1/deliveries/stats", t).await;
    stats.assert_status(200);
    let buckets = stats.json["buckets"].as_array().expect("buckets").clone();
    assert!(
        (24..=25).contains(&buckets.len()),
        "every hour of the last 24 h: {}",
        stats.text
    );
    assert_eq!(stats.json["truncated"], false);
    let total = |field: &str| -> u64 {
        buckets
            .iter()
            .map(|b| b[field].as_u64().expect("a count"))
            .sum()
    };
    assert_eq!(
        (
            total("succeeded"),
            total("failed"),
            total("pending"),
            total("retrying")
        ),
        (2, 0, 0, 0)
    );
    let last = buckets.last().expect("a bucket");
    assert_eq!(
        last["succeeded"], 2,
        "both in the current hour: {}",
        stats.text
    );
    let hours: Vec<&str> = buckets.iter().filter_map(|b| b["hour"].as_str()).collect();
    assert!(hours.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert!(hours.iter().all(|h| h.ends_with(":00:00Z")), "{hours:?}");

    let q = format!(
        "/v1/deliveries/stats?subscription_id={}&event_type=LotCreated",
        s.sub.id
    );
    let typed = app.get(&q, t).await;
    typed.assert_status(200);
    let count: u64 = typed.json["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["succeeded"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(count, 1);
    app.get(&q, &other.token)
        .await
        .assert_problem(404, "not_found");
    let theirs = app.get("/v1/deliveries/stats", &other.token).await;
    theirs.assert_status(200);
    assert!(
        theirs.json["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .all(|b| b["succeeded"] == 0),
        "another client counts none of these: {}",
        theirs.text
    );
}

#[tokio::test]
async fn bad_filters_are_400_on_the_parameter_and_stats_is_not_a_delivery_id() {
    let app = TestApp::spawn().await;
    let portal = app.portal(&["AP"]).await;
    let t = &portal.token;
    for (path, field) in [
        ("/v1/deliveries?event_type=a%20b", "event_type"),
        ("/v1/deliveries?since=yesterday", "since"),
        ("/v1/deliveries?until=2026-02-30T00:00:00Z", "until"),
        ("/v1/deliveries?until=", "until"),
        ("/v1/deliveries?status=lost", "status"),
        (
            "/v1/deliveries/stats?since=2026-01-01T00:00:00Z&until=2026-01-09T00:00:00Z",
            "since",
        ),
        ("/v1/deliveries/stats?until=soon", "until"),
        ("/v1/deliveries/stats?since=", "since"),
        ("/v1/deliveries/stats?event_type=%2F", "event_type"),
    ] {
        let resp = app.get(path, t).await;
        resp.assert_problem(400, "invalid_request");
        assert_eq!(resp.error_fields(), [field], "{path}: {}", resp.text);
    }
    for bad_id in ["nope", ""] {
        app.get(&format!("/v1/deliveries/stats?subscription_id={bad_id}"), t)
            .await
            .assert_problem(400, "invalid_request");
    }
    app.get("/v1/deliveries/stats", &app.publisher(&["AP"]).await.token)
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/deliveries/stats", t).await.assert_status(200);
    app.get("/v1/deliveries/statistics", t)
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/deliveries/stats/x", t)
        .await
        .assert_problem(404, "not_found");
}
